"""Benchmark: the 200-replication cluster bootstrap of the matching DD, four outcomes, at study size.

Synthetic data shaped like Design 2 (docs/study.md, Table 3): baseline 1,124 households (690
treated, 434 control), follow-up 6,375 (2,356 treated, 4,019 control), ~400 populated centres,
15 covariates. Target (issue 6): under 10 s on 2 cores. Run: python benchmarks/bench_matching.py

--scale 10 multiplies every count by 10 (the embedded data's scale runs); --method chooses how
the Gaussian kernel sums are computed: direct (n_t x n_c exponentials, quadratic), fast (the fast
Gauss transform of pra.matching.gausssum, linear) or auto (the estimator's own choice: direct up
to pra.matching.kernel.FAST_GAUSS_ABOVE pairs a period).
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd

from pra.matching import kernel_did

OUTCOMES = ["ln_pc_exp", "poor", "subj_poor_self", "subj_poor_living"]


def synthetic(seed: int = 0, n_cov: int = 15, scale: float = 1.0) -> pd.DataFrame:
    """Two periods of households in populated centres; treatment depends on covariates."""
    rng = np.random.default_rng(seed)
    parts = []
    # (period, treated, controls, centres) as in Table 3; centres split ~100 / ~300
    for year, n_t, n_c, n_cent in ((2009, 690, 434, 100), (2012, 2356, 4019, 300)):
        n_t, n_c, n_cent = (int(round(v * scale)) for v in (n_t, n_c, n_cent))
        n = n_t + n_c
        d = np.r_[np.ones(n_t, int), np.zeros(n_c, int)]
        centre = rng.integers(0, n_cent, n)
        X = rng.normal(size=(n, n_cov)) + 0.3 * d[:, None]  # selection on observables
        X[:, :5] = (X[:, :5] > 0.5).astype(float)  # some dummies, like the study's covariates
        lin = X @ rng.normal(0, 0.2, n_cov) + rng.normal(0, 0.3, n_cent)[centre]
        post = year == 2012
        y = 5.6 + lin + 0.1 * d * post + rng.normal(0, 0.6, n)
        df = pd.DataFrame(X, columns=[f"x{k}" for k in range(n_cov)])
        df["year"] = year
        df["treated"] = d
        df["centre"] = [f"{year}-{c:04d}" for c in centre]
        df["ln_pc_exp"] = y
        df["poor"] = (y < 5.6).astype(float)
        df["subj_poor_self"] = (y + rng.normal(0, 0.5, n) < 5.5).astype(float)
        df["subj_poor_living"] = (y + rng.normal(0, 0.5, n) < 5.4).astype(float)
        parts.append(df)
    return pd.concat(parts, ignore_index=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--kernel", default="gaussian")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--method", choices=["auto", "direct", "fast"], default="auto")
    args = ap.parse_args()
    import pra.matching.kernel as K

    K.FAST_GAUSS_ABOVE = {"auto": K.FAST_GAUSS_ABOVE, "direct": float("inf"), "fast": 0}[args.method]
    df = synthetic(args.seed, scale=args.scale)
    covs = [c for c in df.columns if c.startswith("x")]
    t0, c0 = time.perf_counter(), time.process_time()
    res = kernel_did(df, OUTCOMES, "treated", "year", covs, "centre", kernel=args.kernel,
                     bandwidth=0.06, reps=args.reps, seed=args.seed)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(res.counts.to_string(index=False))
    print(res.table[["estimator", "outcome", "estimate", "se", "reps_ok"]].to_string(index=False))
    print(f"kernel_did ({args.method} kernel sums), scale {args.scale:g}, {len(OUTCOMES)} outcomes, {args.reps} replications, {len(df)} rows, "
          f"{df['centre'].nunique()} centres, {len(covs)} covariates: {elapsed:.2f} s wall, "
          f"{cpu:.2f} s CPU (all threads); load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
