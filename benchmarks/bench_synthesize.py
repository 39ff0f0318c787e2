"""Wall time of the embedded data generator (target: scale 1 in under 60 s on 2 cores).

Usage: python benchmarks/bench_synthesize.py [--scale10] [--seed N]
Prints one line per scale: scale, wall seconds, files, total MB.
"""
from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

from pra.embedded.synthesize import synthesize


def run(scale: float, seed: int) -> tuple[float, int, float]:
    with tempfile.TemporaryDirectory(prefix="bench_synth_") as tmp:
        out = Path(tmp) / "embedded"
        t0 = time.perf_counter()
        synthesize(out, scale=scale, seed=seed)
        wall = time.perf_counter() - t0
        files = [p for p in out.rglob("*") if p.is_file()]
        return wall, len(files), sum(p.stat().st_size for p in files) / 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scale10", action="store_true", help="also run scale 10")
    ap.add_argument("--seed", type=int, default=20140601)
    ap.add_argument("-v", action="store_true", help="log stage timings")
    args = ap.parse_args()
    if args.v:
        logging.basicConfig(level=logging.INFO)
    scales = [0.1, 1.0] + ([10.0] if args.scale10 else [])
    print(f"{'scale':>6} {'wall_s':>8} {'files':>6} {'MB':>8}")
    for s in scales:
        wall, n, mb = run(s, args.seed)
        flag = "  (target < 60 s)" if s == 1.0 else ""
        print(f"{s:>6} {wall:>8.1f} {n:>6} {mb:>8.1f}{flag}", flush=True)


if __name__ == "__main__":
    main()
