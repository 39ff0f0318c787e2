"""Benchmark of the Conley spatial-HAC variance at the study's size.

    python benchmarks/bench_conley.py [--rows 20000] [--cutoffs 5 10 20 50] [--seed 20140601]

Synthetic sample (fixed seed): ``--rows`` household-years over 2007–2012 along Peru's Andes
(Cajamarca to Puno). Two layouts: "conglomerates" (households share their conglomerate's
coordinates, about 10 household-years per conglomerate, as in ENAHO) and "distinct" (every row at
its own coordinates: the worst case for the neighbour search). The DD has locality + year FE.
Target: ≤ 5 s per cutoff at 50 km for the study size (~20,000 rows), conglomerate layout.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from pra.inference.conley import conley_vcov, neighbour_pairs
from pra.inference.design import build_design

YEARS = np.arange(2007, 2013)


def sample(rows: int, distinct: bool, rng: np.random.Generator) -> pd.DataFrame:
    n_cong = max(rows // 10, 1)
    t = rng.uniform(0, 1, n_cong)
    clat = np.clip(-5.0 - 11.0 * t + rng.normal(0, 0.6, n_cong), -18.3, -0.1)
    clon = np.clip(-79.3 + 9.3 * t + rng.normal(0, 0.6, n_cong), -81.3, -68.7)
    c = rng.integers(0, n_cong, rows)
    lat, lon = clat[c], clon[c]
    if distinct:
        lat = lat + rng.normal(0, 0.02, rows)
        lon = lon + rng.normal(0, 0.02, rows)
    year = rng.choice(YEARS, rows)
    treated = (rng.random(n_cong) < 0.3)[c]
    D = (treated & (year >= 2010)).astype(float)
    y = rng.normal(0, 0.3, n_cong)[c] + 0.1 * D + rng.normal(0, 0.5, rows)
    return pd.DataFrame({"locality": c, "year": year, "latitude": lat, "longitude": lon,
                         "D": D, "ln_pc_exp": y})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--cutoffs", type=float, nargs="+", default=[5, 10, 20, 50])
    ap.add_argument("--seed", type=int, default=20140601)
    a = ap.parse_args()
    for distinct in (False, True):
        rng = np.random.default_rng(a.seed)
        df = sample(a.rows, distinct, rng)
        t0 = time.perf_counter()
        d = build_design(df, "ln_pc_exp", ["D"], ("locality", "year"), keep=["latitude", "longitude"])
        t_design = time.perf_counter() - t0
        layout = "distinct" if distinct else "conglomerates"
        print(f"{layout}: {d.n} rows, design (demeaning) {t_design:.2f} s")
        for c in a.cutoffs:
            t0 = time.perf_counter()
            V = conley_vcov(d, c)
            dt = time.perf_counter() - t0
            f = d.frame
            npairs = sum(len(neighbour_pairs(g["latitude"].to_numpy(), g["longitude"].to_numpy(), c)[0])
                         for _, g in f.drop_duplicates(["year", "latitude", "longitude"]).groupby("year"))
            print(f"  cutoff {c:>4g} km: {dt:.3f} s  (point pairs within year: {npairs:,}; "
                  f"SE {np.sqrt(V[0, 0]):.5f})")


if __name__ == "__main__":
    main()
