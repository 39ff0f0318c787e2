"""Same inputs, same bytes; and the sample ledger balances (issue 9, parts 2 and 3).

Two clean runs of the test-size workflow, in separate scratch directories, one with
``PYTHONHASHSEED=0 --cores 2`` and one with ``PYTHONHASHSEED=4242 --cores 1``, must give
byte-identical files under ``results/`` and ``resources/embedded/``. The two runs execute at the
same time (two subprocesses) to keep the wall time near one run; every test here shares them.

The ledger tests read the first run's ``results/ledger/ledger.parquet`` and recount the raw
module-100 and sumaria households from the embedded files the run wrote.
"""
from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from workflow import ROOT, TEST_CONFIG

from pra import ledger as L
from pra.embedded import layout
from pra.ingest import schemas as S
from pra.ingest.readers import find_module, read_module

pytestmark = pytest.mark.workflow  # every test here reads the two Snakemake runs

HASHED = ("results", "resources/embedded")
TARGETS = [  # the targets that exist now; estimates join through the default target when wired
    "results/ledger/ledger.csv", "results/geo/table1.csv", "results/geo/table2.csv",
    "results/geo/map1.png", "results/harmonised/enaho.parquet",
]
YEARS = list(range(2007, 2013))
RUNS = {"a": {"PYTHONHASHSEED": "0", "cores": "2"}, "b": {"PYTHONHASHSEED": "4242", "cores": "1"}}


ESTIMATES = "results/estimates/estimates.parquet"
# A smaller DD grid than tests/config_test.yaml, still with every family (radius, band, semester,
# placebo, subgroup, ring, sample): determinism does not depend on the grid's size, time does.
SMALL_GRID = {"did": {"radii_km": [8, 12], "placebo_starts": [2009], "subgroups": ["head_female"],
                      "samples": ["laborers_only"], "rings_km": [[9, 11]]}}


def _cmd(workdir: Path, *args: str) -> list[str]:
    """snakemake in ``workdir`` with the test config and the small grid; ``args`` may start with
    further config files (they continue the --configfile list, merged in order)."""
    small = workdir / "small_grid.yaml"  # beside results/, not hashed
    if not small.exists():
        small.write_text(yaml.safe_dump(SMALL_GRID), encoding="utf-8")
    return [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(workdir),
            "--configfile", str(TEST_CONFIG), str(small), *args]


def targets(workdir: Path) -> list[str]:
    """TARGETS, plus the estimates store once the default target (rule all) asks for it."""
    dry = subprocess.run(_cmd(workdir, "-n"), capture_output=True, text=True, timeout=300)
    assert dry.returncode == 0, dry.stdout[-3000:] + dry.stderr[-3000:]
    return TARGETS + ([ESTIMATES] if ESTIMATES in dry.stdout else [])


def tree_hashes(workdir: Path) -> dict[str, str]:
    """sha256 of every file under the hashed folders, by path relative to ``workdir``."""
    out = {}
    for top in HASHED:
        for p in sorted((workdir / top).rglob("*")):
            if p.is_file():
                out[str(p.relative_to(workdir))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("determinism")
    procs, dirs, t0 = {}, {}, time.perf_counter()
    want = targets(base)
    for name, opt in RUNS.items():
        dirs[name] = base / name
        dirs[name].mkdir()
        env = {**os.environ, "PYTHONHASHSEED": opt["PYTHONHASHSEED"]}
        procs[name] = subprocess.Popen(_cmd(dirs[name], "--cores", opt["cores"], *want), env=env,
                                       text=True,
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    outs = {name: p.communicate(timeout=900)[0] for name, p in procs.items()}
    for name, p in procs.items():
        assert p.returncode == 0, f"run {name} failed:\n{outs[name][-6000:]}"
    print(f"two concurrent test-size runs: {time.perf_counter() - t0:.1f} s; targets {want}")
    dirs["targets"] = want
    return dirs


def test_targets_exist(runs):
    for t in runs["targets"]:
        assert (runs["a"] / t).is_file(), t


def test_byte_identical_across_hash_seeds_and_cores(runs):
    ha, hb = tree_hashes(runs["a"]), tree_hashes(runs["b"])
    assert len(ha) > 20  # inputs, harmonised years, geo tables, ledger
    assert sorted(ha) == sorted(hb), set(ha) ^ set(hb)
    differ = sorted(k for k in ha if ha[k] != hb[k])
    assert not differ, f"files differing between the two runs: {differ}"


def test_outputs_readable_by_users(runs):
    # the ledger and tables are outputs users open: files must follow the umask like any other
    # tool's output (pra.io.atomic_path writes through mkstemp, which creates mode 0600)
    umask = os.umask(0)
    os.umask(umask)
    want = 0o666 & ~umask
    bad = []
    for t in runs["targets"]:
        mode = stat.S_IMODE((runs["a"] / t).stat().st_mode)
        if mode & want != want:
            bad.append(f"{t}: {oct(mode)}")
    assert not bad, f"expected mode {oct(want)} (umask {oct(umask)}): {bad}"


# ----------------------------------------------------------------------------- the ledger
@pytest.fixture(scope="module")
def ledger(runs):
    return pd.read_parquet(runs["a"] / "results" / "ledger" / "ledger.parquet")


def test_ledger_balances(ledger):
    L.check_balance(ledger)  # each stage's entrants = the previous stage's kept rows
    assert list(dict.fromkeys(ledger["stage"])) == ["ingest", "spatial", "sample"]
    assert set(ledger["outcome"]) == {"kept", "dropped"}
    assert not ledger["reason"].isna().any() and (ledger["reason"] != "").all()
    assert (ledger.loc[ledger["outcome"] == "kept", "reason"] == "kept").all()
    assert (ledger.loc[ledger["outcome"] == "dropped", "reason"] != "kept").all()


def _raw_households(embedded: Path, year: int) -> tuple[int, int]:
    """(module-100 rows, households of sumaria absent from module 100), recounted from the files."""
    yd = embedded / "enaho" / str(year)
    m100 = read_module(find_module(yd, S.MODULE_STEMS["100"].format(year=year)), S.HH_KEYS, year=year)
    sm = read_module(find_module(yd, S.MODULE_STEMS["sumaria"].format(year=year)), S.HH_KEYS, year=year)
    only_sm = sm.merge(m100.drop_duplicates(), on=S.HH_KEYS, how="left", indicator=True)
    return len(m100), int((only_sm["_merge"] == "left_only").sum())


@pytest.mark.parametrize("year", YEARS)
def test_ledger_counts_every_raw_household(runs, ledger, year):
    n100, only_sumaria = _raw_households(runs["a"] / "resources" / "embedded", year)
    led = ledger[ledger["year"] == year]
    ingest = led[led["stage"] == "ingest"]
    # every raw module-100 row is in the ledger once, kept or dropped with a reason
    assert len(ingest) == n100 + only_sumaria
    assert int((ingest["reason"] != "in sumaria, not in module 100").sum()) == n100
    # at every stage: entered = kept + dropped by reason, and the next stage's entrants = kept
    entered = len(ingest)
    for stage in ["ingest", "spatial", "sample"]:
        part = led[led["stage"] == stage]
        assert len(part) == entered, (stage, len(part), entered)
        by_reason = part.groupby("reason").size()
        assert int(by_reason.sum()) == entered
        entered = int(by_reason.get("kept", 0))
    # the estimation sample the geo stage wrote is exactly the last stage's kept rows
    sample = pd.read_parquet(runs["a"] / "results" / "geo" / "sample.parquet", columns=["year"])
    assert int((sample["year"] == year).sum()) == entered


def test_ledger_summary_is_the_parquet_summed(runs, ledger):
    csv = pd.read_csv(runs["a"] / "results" / "ledger" / "ledger.csv")
    assert list(csv.columns) == ["stage", "year", "outcome", "reason", "households"]
    again = L.summarise(ledger)
    pd.testing.assert_frame_equal(csv, again.astype({"year": csv["year"].dtype}), check_dtype=False)
    assert int(csv.loc[csv["stage"] == "ingest", "households"].sum()) == int((ledger["stage"] == "ingest").sum())


def test_embedded_files_are_the_listed_layout(runs):
    # the hashed input tree is the complete layout (so a missing input could not hide a difference)
    files = {str(p.relative_to(runs["a"] / "resources" / "embedded"))
             for p in (runs["a"] / "resources" / "embedded").rglob("*") if p.is_file()}
    assert set(layout.all_files()) <= files
