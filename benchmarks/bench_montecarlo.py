"""Benchmark: seconds per Monte Carlo draw, split into drawing the households, building the
samples, the spatial DD and the matching DD, and the projected time of the full Monte Carlo.

The geography is built once (as each chunk job does) and not counted per draw; the first draw
is a warm-up (numba compilation, imports) and not counted either. Projection: draws × seconds
per draw / cores + one geography per chunk on each core. Target (issue 15): 200 draws at scale 1
with 200 bootstrap replications in ≤ 20 minutes on 2 cores (≈ 12 core-seconds per draw).

Run: python benchmarks/bench_montecarlo.py [--scale 1] [--draws 2] [--reps 200] [--cores 2]
"""
from __future__ import annotations

from pra.threads import single_threaded

single_threaded()  # as every Snakemake job (a chunk job is what is timed); before numpy is imported

import argparse  # noqa: E402
import copy  # noqa: E402
import os  # noqa: E402
import time
from pathlib import Path

import yaml

from pra.validate import frames as F
from pra.validate.draw import DrawTimes, Settings, run_draw

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--draws", type=int, default=2, help="timed draws (after one warm-up draw)")
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--total", type=int, default=200, help="draws of the projected Monte Carlo")
    ap.add_argument("--chunk-size", type=int, default=10)
    args = ap.parse_args()

    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    config = copy.deepcopy(config)
    config["validation"].update(scale=args.scale, bootstrap_reps=args.reps)
    settings = Settings.from_config(config)
    t0 = time.perf_counter()
    fixed = F.fixed_geography(settings.scale, settings.seed)
    fixed.needed(float(config["spatial"]["sample_space_km"]), int(config["matching"]["baseline_year"]))
    geo_s = time.perf_counter() - t0
    run_draw(fixed, settings, 10_000)  # warm-up: compilation and first imports
    times = DrawTimes()
    t1 = time.perf_counter()
    for d in range(args.draws):
        run_draw(fixed, settings, d, times)
    per_draw = (time.perf_counter() - t1) / args.draws
    n = args.draws
    print(f"machine: {os.cpu_count()} cores visible, load average {os.getloadavg()[0]:.1f}")
    print(f"scale {args.scale:g}, {args.reps} bootstrap reps, {n} timed draws")
    print(f"geography (once per chunk job): {geo_s:.1f} s")
    print(f"seconds per draw: {per_draw:.1f} = drawing {times.drawing / n:.1f} + sample building "
          f"{times.building / n:.1f} + DD {times.dd / n:.1f} + matching {times.matching / n:.1f}")
    chunks = -(-args.total // args.chunk_size)
    projected = (args.total * per_draw + chunks * geo_s) / args.cores
    print(f"projected: {args.total} draws on {args.cores} cores ({chunks} chunks of {args.chunk_size}): "
          f"{projected / 60:.1f} min (target 20 min: ≈ {20 * 60 * args.cores / args.total:.0f} "
          "core-seconds per draw)")


if __name__ == "__main__":
    main()
