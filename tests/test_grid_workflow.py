"""The reduced full grid (tests/config_grid.yaml) through Snakemake, on top of the session's
test-size run: only the grid's jobs run (the default run's outputs are untouched); locally and
through the one-node SLURM cluster the stores, curves and explorer are identical; an added radius
reruns only that radius's chunks (plus the store and the report that gather them)."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from test_slurm import SLURM_ARGS, slurm_cluster  # noqa: F401  (the cluster fixture)
from workflow import ROOT, TEST_CONFIG, snakemake

pytestmark = pytest.mark.workflow

GRID_CONFIG = ROOT / "tests" / "config_grid.yaml"
TARGETS = ["results/grid/explorer.html", "results/grid/dropped.csv"]
LOCAL_PROFILE = str(ROOT / "profiles" / "local")


def _files(workdir: Path) -> dict[str, tuple[int, bytes]]:
    return {str(p.relative_to(workdir)): (p.stat().st_mtime_ns, p.read_bytes())
            for p in sorted((workdir / "results" / "grid").rglob("*")) if p.is_file()}


GRID_RULES = {"grid_sample", "grid_chunk", "grid_store", "grid_report"}


def _copy_upstream(src: Path, dst: Path) -> None:
    """A finished run's inputs and upstream results with Snakemake's records (mtimes kept),
    without grid outputs: the grid's jobs are then exactly what is left to do."""
    shutil.copytree(src, dst, dirs_exist_ok=True, symlinks=True,
                    ignore=shutil.ignore_patterns("grid", "grid_*", "locks", "incomplete", "log"))


def _rules_run(log: str) -> set[str]:
    return set(re.findall(r"^(?:local)?rule (\w+):", log, re.M))


@pytest.fixture(scope="module")
def local(pipeline_run, tmp_path_factory) -> Path:
    """The reduced grid on top of the session's test-size run (tests/conftest.py)."""
    wd = tmp_path_factory.mktemp("grid_local")
    _copy_upstream(pipeline_run, wd)
    proc = snakemake(wd, "--workflow-profile", LOCAL_PROFILE, *TARGETS, configfiles=(TEST_CONFIG, GRID_CONFIG),
                     timeout=900)
    assert _rules_run(proc.stdout + proc.stderr) == GRID_RULES  # the default run's outputs stay as they are
    return wd


def test_reduced_grid_outputs(local):
    store = pd.read_parquet(local / "results/grid/estimates.parquet")
    grid = yaml.safe_load(GRID_CONFIG.read_text())["did"]["full_grid"]
    assert len(store) == 3 * 2 * 2 * 2 * 2 * 2 and store["spec_id"].is_unique
    assert set(store["radius_km"]) == {8.0, 10.0, 12.0} and (store["status"] == "ok").all()
    chunks = sorted((local / "results/grid/chunks").glob("*.parquet"))
    assert len(chunks) == 6 and all(len(pd.read_parquet(c)) == grid["chunk_size"] for c in chunks)
    joint = pd.read_csv(local / "results/grid/joint.csv")
    assert sorted(joint["outcome"]) == ["ln_pc_exp", "subj_poor_living"] and (joint["draws"] == 200).all()
    for y in grid["outcomes"]:
        assert (local / f"results/grid/speccurve_{y}.png").read_bytes()[:4] == b"\x89PNG"


def test_slurm_grid_equals_local(local, slurm_cluster, tmp_path_factory):
    # the same starting point as the local run (upstream stages: tests/test_slurm.py)
    cluster = tmp_path_factory.mktemp("grid_slurm")
    _copy_upstream(local, cluster)
    assert not (cluster / "results/grid").exists()
    proc = snakemake(cluster, *SLURM_ARGS, *TARGETS, configfiles=(TEST_CONFIG, GRID_CONFIG), timeout=900)
    log = proc.stdout + proc.stderr
    assert _rules_run(log) == GRID_RULES, log[-3000:]
    ids = re.findall(r"has been submitted with SLURM jobid (\d+)", log)
    assert len(ids) == 1 + 6 + 1 + 1, log[-3000:]
    a, b = _files(local), _files(cluster)
    assert sorted(a) == sorted(b)
    for rel in a:
        if rel.endswith(".parquet"):
            pd.testing.assert_frame_equal(pd.read_parquet(cluster / rel), pd.read_parquet(local / rel), obj=rel)
        else:  # csv, npy, png, pdf, html: byte-identical
            assert a[rel][1] == b[rel][1], f"{rel} differs between the SLURM and the local run"


def test_added_radius_reruns_only_its_chunks(local, tmp_path):
    grid = yaml.safe_load(GRID_CONFIG.read_text())
    grid["did"]["full_grid"]["radii_km"] = [8, 10, 12, 14]
    more = tmp_path / "config_grid_14.yaml"
    more.write_text(yaml.safe_dump(grid))
    cfg = (TEST_CONFIG, more)
    before = _files(local)
    dry = snakemake(local, "--workflow-profile", LOCAL_PROFILE, "--dry-run", *TARGETS, configfiles=cfg)
    text = dry.stdout + dry.stderr
    jobs = re.findall(r"^(?:local)?rule (\w+):\n(?:[ \t]+\S.*\n)*?[ \t]+wildcards: chunk=(\w+)", text, re.M)
    rules = re.findall(r"^(?:local)?rule (\w+):", text, re.M)
    assert sorted(rules) == ["grid_chunk", "grid_chunk", "grid_report", "grid_store"], text[-3000:]
    new_chunks = {c for _, c in jobs}
    assert len(new_chunks) == 2 and not any(c in k for c in new_chunks for k in before)
    snakemake(local, "--workflow-profile", LOCAL_PROFILE, *TARGETS, configfiles=cfg, timeout=900)
    after = _files(local)
    old_chunks = [k for k in before if "/chunks/" in k]
    assert all(after[k] == before[k] for k in old_chunks)  # not rewritten: same mtime and bytes
    assert {k for k in after if "/chunks/" in k} - set(old_chunks) == \
        {f"results/grid/chunks/{c}.{ext}" for c in new_chunks for ext in ("parquet", "npy")}
    store = pd.read_parquet(local / "results/grid/estimates.parquet")
    assert set(store["radius_km"]) == {8.0, 10.0, 12.0, 14.0} and len(store) == 4 * 32
