"""Benchmark: the whole DD grid on study-size embedded data.

Times (1) the grid through Snakemake with --cores 2 (every did_batch job, the store, the
figures: per-job start-up included) and (2) the same specifications in one warm Python process
(the floor), and prints both and their ratio.

    python benchmarks/bench_did.py [--scale 1.0] [--workdir /tmp/pra-bench-did]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import pra.config  # noqa: E402
from pra.did.batch import run_batch  # noqa: E402
from pra.did.specs import build_specs, chunks_by_id  # noqa: E402


def smk(workdir: Path, config: Path, *args: str) -> float:
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(workdir),
           "--configfile", str(config), "--quiet", "all", *args]
    t = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/pra-bench-did"))
    a = ap.parse_args()
    a.workdir.mkdir(parents=True, exist_ok=True)
    cfg_path = a.workdir / "bench_config.yaml"
    cfg_path.write_text(f"data:\n  embedded:\n    scale: {a.scale}\n")

    # inputs of the grid (not timed)
    smk(a.workdir, cfg_path, "--cores", "2", "results/geo/sample_space.parquet")
    targets = ["results/estimates/estimates.parquet", "results/figures/figure8.png"]
    wall_smk = smk(a.workdir, cfg_path, "--cores", "2", "--forcerun", "did_batch", *targets)

    config = pra.config.load(overrides={"data": {"embedded": {"scale": a.scale}}})
    data = pd.read_parquet(a.workdir / "results/geo/sample_space.parquet")
    chunks = chunks_by_id(build_specs(config), config["did"]["batch_size"])
    t = time.perf_counter()
    parts = [run_batch(data, specs, cluster=config["did"]["cluster"]) for specs in chunks.values()]
    wall_warm = time.perf_counter() - t
    n_specs = sum(len(v) for v in chunks.values())

    print(f"DD grid, scale {a.scale}: {n_specs} specifications in {len(chunks)} jobs, "
          f"{len(data)} household-years in the sample space")
    print(f"  snakemake --cores 2 (jobs + store + figures): {wall_smk:8.1f} s")
    print(f"  one warm Python process (estimation only):    {wall_warm:8.1f} s")
    print(f"  ratio:                                         {wall_smk / wall_warm:8.2f}")
    print(f"  rows in the store: {sum(len(p) for p in parts)}")


if __name__ == "__main__":
    main()
