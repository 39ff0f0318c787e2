"""Benchmark: the no-op rerun of the default target with content digests of the raw inputs.

The rules that read raw inputs carry their SHA-256 as a param (``pra.digests``; issue 16,
class 4), so every DAG build digests the inputs, through a cache keyed by each file's size,
mtime, ctime and inode. This measures what that costs where it matters, with real input files
(``data.source: files``, the embedded data of the given scale copied as a user's folder):

- the first run of ``all`` (for scale; not the target);
- the no-op rerun, several times (target <= 3 s at scale 1): the cache is warm;
- the no-op rerun with the cache deleted: every input hashed again;
- the no-op rerun without the params trigger (``--rerun-triggers mtime input code``): params,
  and so digests, are not evaluated; the difference to the first no-op is what digests cost;
- the digests alone, in one process: cold (every file hashed) and warm (stat only).

    python benchmarks/bench_noop.py [--scale 1] [--repeats 3] [--workdir /tmp/pra-bench-noop] [--reuse]

``--reuse``: keep the data and results of a previous call (only the no-op reruns are timed).
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


CPU: list[float] = []  # CPU seconds (user + system) of each call: less sensitive to a busy machine


def smk(workdir: Path, config: Path, *args: str) -> tuple[float, str]:
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(workdir),
           "--configfile", str(config), "--cores", "2", "all", *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(cmd, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall, proc.stdout + proc.stderr


def raw_files(data: Path) -> list[Path]:
    return sorted(p for p in data.rglob("*") if p.is_file() and not p.name.startswith("truth"))


def main() -> None:
    from pra import digests
    from pra.embedded.synthesize import synthesize

    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/pra-bench-noop"))
    ap.add_argument("--reuse", action="store_true")
    a = ap.parse_args()
    wd = a.workdir / f"scale-{a.scale:g}"
    data, work = wd / "data", wd / "work"
    if not a.reuse:
        shutil.rmtree(wd, ignore_errors=True)
        synthesize(data, scale=a.scale, seed=20140601)
    files = {"enaho_dir": data / "enaho", "deflator_dir": data / "enaho" / "2012",
             "centres": data / "centros_poblados.csv", "register": data / "pra2_localidades.csv",
             "programme_survey": data / "encuesta_pra2_2012.dta", "sample_frame": data / "marco_muestral_2012.csv"}
    cfg = wd / "files.yaml"
    cfg.write_text(yaml.safe_dump({"data": {"source": "files", "files": {k: str(v) for k, v in files.items()}}}))
    inputs = raw_files(data)
    size = sum(p.stat().st_size for p in inputs) / 1e6
    print(f"scale {a.scale:g}: {len(inputs)} raw input files, {size:.1f} MB (data.source: files)", flush=True)

    if not a.reuse:
        full, _ = smk(work, cfg)
        print(f"first run of all: {full:.1f} s", flush=True)

    def noop(*args: str) -> float:
        t, out = smk(work, cfg, *args)
        assert "Nothing to be done" in out, out[-2000:]
        return t

    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    for _ in range(a.repeats):
        warm = noop()
        cpu_warm = CPU[-1]
        plain = noop("--rerun-triggers", "mtime", "input", "code")
        print(f"no-op rerun: {warm:.1f} s, {cpu_warm:.1f} s CPU (target <= 3 s); without the params "
              f"trigger (no digests) {plain:.1f} s, {CPU[-1]:.1f} s CPU", flush=True)
    (work / digests.CACHE).unlink()
    t = noop()
    print(f"no-op rerun, digest cache deleted (every input hashed again): {t:.1f} s", flush=True)

    cache = wd / "bench_cache.json"
    cache.unlink(missing_ok=True)
    t0 = time.perf_counter()
    digests.input_digests(inputs, cache=cache)
    cold = time.perf_counter() - t0
    digests._memo.clear()
    digests.RACY_NS = 0  # the files were written seconds ago: trust the entries just made
    digests.input_digests(inputs, cache=cache)
    digests._memo.clear()
    t0 = time.perf_counter()
    digests.input_digests(inputs, cache=cache)
    warm = time.perf_counter() - t0
    print(f"digests alone, one process: cold {cold:.3f} s ({size / max(cold, 1e-9):.0f} MB/s), "
          f"warm cache {warm * 1000:.1f} ms", flush=True)


if __name__ == "__main__":
    main()
