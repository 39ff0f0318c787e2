"""Run the workflow in a scratch directory, as a user would from a clone."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST_CONFIG = ROOT / "tests" / "config_test.yaml"


def snakemake(workdir: Path, *args: str, configfiles=(TEST_CONFIG,), env: dict | None = None,
              check: bool = True, timeout: int = 1800) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(workdir)]
    if configfiles:
        cmd += ["--configfile", *map(str, configfiles)]
    cmd += list(args)
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=full_env, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"
        )
    return proc
