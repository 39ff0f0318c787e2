"""Benchmark of the geo stage: DuckDB-spatial nearest locality vs a plain NumPy haversine.

    python benchmarks/bench_distance.py [--scales 1 10] [--seed 20140601] [--threads N]

Synthetic data (fixed seed): 878 geo-referenced localities and ENAHO-like conglomerates along
Peru's Andes; households share their conglomerate's coordinates as in ENAHO (about 10
household-years per conglomerate). Scale 1 ≈ 60,000 household-years, scale 10 ≈ 600,000.
At scale 10 it also times register matching (1,000 register rows, half name-only, with spelling
noise) against a 150,000-centre populated-centre map. Targets: < 5 s (scale 1) and < 60 s
(scale 10) for the distance step.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from pra.geo.distance import connect, nearest_locality

# the brute-force NumPy reference is test code (tests/helpers.py), not part of the package
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from helpers import nearest_haversine_numpy  # noqa: E402
from pra.geo.georef import georeference

N_LOCALITIES = 878
HH_PER_SCALE = 60_000
HH_PER_CONGLOMERATE = 10


def andes_points(rng: np.random.Generator, n: int, spread_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Points around the Andes axis (Cajamarca to Puno), clipped to Peru's box."""
    t = rng.uniform(0, 1, n)
    lat = -5.0 - 11.0 * t + rng.normal(0, spread_deg, n)
    lon = -79.3 + 9.3 * t + rng.normal(0, spread_deg, n)
    return np.clip(lat, -18.3, -0.1), np.clip(lon, -81.3, -68.7)


def synthetic(scale: float, rng: np.random.Generator):
    llat, llon = andes_points(rng, N_LOCALITIES, 0.6)
    locs = pd.DataFrame({"id_localidad": np.arange(1, N_LOCALITIES + 1), "latitude": llat,
                         "longitude": llon, "match": "code"})
    n_hh = int(HH_PER_SCALE * scale)
    n_cong = max(1, n_hh // HH_PER_CONGLOMERATE)
    clat, clon = andes_points(rng, n_cong, 1.2)
    which = rng.integers(0, n_cong, n_hh)
    hh = pd.DataFrame({"hh_id": np.char.add("hh", np.arange(n_hh).astype(str)),
                       "latitude": clat[which], "longitude": clon[which]})
    return hh, locs


def synthetic_register(rng: np.random.Generator, n_centres: int = 150_000, n_register: int = 1_000):
    from pra.names import add_spelling_noise

    syll = np.array(["HUA", "CHA", "PAM", "PA", "TA", "QUI", "LLA", "CCO", "RI", "MAR", "CA", "YA",
                     "PU", "SAN", "TO", "RO", "SA", "NI", "CU", "LI"])
    k = rng.integers(2, 5, n_centres)
    parts = rng.choice(syll, size=(n_centres, 4))
    names = ["".join(p[:j]) for p, j in zip(parts, k)]
    n_districts = 1_800
    ubigeo = np.char.zfill(rng.integers(10101, 259999, n_districts).astype(str), 6)
    dist = ubigeo[rng.integers(0, n_districts, n_centres)]
    lat, lon = andes_points(rng, n_centres, 1.5)
    centres = pd.DataFrame({"ubigeo": dist, "nomccpp": names, "latitud": lat, "longitud": lon})
    centres["codccpp"] = centres["ubigeo"] + (centres.groupby("ubigeo").cumcount() + 1).astype(str).str.zfill(4)
    pick = rng.choice(n_centres, n_register, replace=False)
    reg = centres.iloc[pick].reset_index(drop=True)
    name_only = rng.random(n_register) < 0.5
    register = pd.DataFrame({
        "id_localidad": np.arange(1, n_register + 1), "departamento": "PUNO",
        "ubigeo": reg["ubigeo"], "codccpp": np.where(name_only, "", reg["codccpp"]),
        "localidad": [add_spelling_noise(n, rng) if no else n for n, no in zip(reg["nomccpp"], name_only)],
    })
    return register, centres


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=float, nargs="+", default=[1, 10])
    ap.add_argument("--seed", type=int, default=20140601)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--skip-numpy", action="store_true", help="skip the all-pairs NumPy haversine")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    targets = {1: 5.0, 10: 60.0}
    for scale in args.scales:
        hh, locs = synthetic(scale, rng)
        con = connect(threads=args.threads)
        t0 = time.perf_counter()
        res = nearest_locality(hh, locs, con=con)
        t_duck = time.perf_counter() - t0
        con.close()
        n_pts = hh[["latitude", "longitude"]].drop_duplicates().shape[0]
        target = targets.get(int(scale)) if scale == int(scale) else None
        flag = "" if target is None else (" (target < %.0f s: %s)" % (target, "OK" if t_duck < target else "MISSED"))
        print(f"scale {scale:g}: {len(hh):,} household-years, {n_pts:,} distinct points, "
              f"{len(locs)} localities")
        print(f"  DuckDB spatial (ST_Distance_Spheroid, bbox prefilter): {t_duck:.2f} s{flag}; "
              f"within 20 km: {(res['dist_km'] <= 20).sum():,}")
        if not args.skip_numpy:
            t0 = time.perf_counter()
            d, n = nearest_haversine_numpy(hh["latitude"].to_numpy(), hh["longitude"].to_numpy(),
                                           locs["latitude"].to_numpy(), locs["longitude"].to_numpy(),
                                           locs["id_localidad"].to_numpy())
            t_np = time.perf_counter() - t0
            rel = np.abs(res["dist_km"].to_numpy() / d - 1)
            same = (res["nearest_id"].to_numpy() == n).mean()
            print(f"  NumPy haversine, all {len(hh) * len(locs):,} pairs: {t_np:.2f} s; "
                  f"max relative difference {rel.max():.4%}, same nearest id {same:.2%}")
        if scale >= 10:
            register, centres = synthetic_register(rng)
            t0 = time.perf_counter()
            loc, _ = georeference(register, centres)
            t_match = time.perf_counter() - t0
            counts = loc.drop_duplicates("id_localidad")["match"].value_counts().to_dict()
            print(f"  register matching, {len(register):,} rows vs {len(centres):,} centres: "
                  f"{t_match:.2f} s; {counts}")


if __name__ == "__main__":
    main()
