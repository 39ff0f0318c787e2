"""A run killed mid-way (SIGKILL of the whole process group) and rerun gives what an uninterrupted
run gives, and no truncated or temporary file survives (issue 9, part 4).

The killed run and the uninterrupted reference run execute at the same time in separate scratch
directories. The kill comes once ``results/harmonised`` holds at least one year but before the
targets are done. The rerun does what a user would: run the same command, and when snakemake
refuses, follow its message (``--unlock`` for the stale lock, ``--rerun-incomplete`` for outputs of
killed jobs); the test asserts that each such step was named in snakemake's own message.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from test_determinism import TARGETS, _cmd, tree_hashes

# Four years instead of six keep the two runs short; the kill/rerun logic does not depend on them
# (2009 stays: the matching baseline; no placebo start fits a one-year pre-period).
SHORT = {"years": [2009, 2010, 2011, 2012], "did": {"placebo_starts": []}}

# The remedies snakemake documents in its refusal messages, in the order a user meets them.
REMEDIES = {"--unlock": "--unlock", "--rerun-incomplete": "--rerun-incomplete"}


def _hidden_or_temp(workdir: Path) -> list[str]:
    """Leftovers of atomic writers (pra.io.atomic_path: '.<name>.<random><suffix>') or temp dirs."""
    out = []
    for top in ("results", "resources"):
        for p in (workdir / top).rglob("*"):
            name = p.name
            if name.startswith(".") or name.endswith((".tmp", ".part")) or "tmp" in name.lower():
                out.append(str(p.relative_to(workdir)))
    return sorted(out)


def _unreadable_parquet(workdir: Path) -> list[str]:
    """Parquet outputs that cannot be read (writers' hidden temp files are _hidden_or_temp's job)."""
    bad = []
    for top in ("results", "resources"):
        for p in sorted((workdir / top).rglob("*.parquet")):
            if p.name.startswith("."):
                continue
            try:
                pq.read_table(p)
            except Exception as err:  # noqa: BLE001 - any failure means a truncated file
                bad.append(f"{p.relative_to(workdir)}: {type(err).__name__}")
    return bad


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory):
    base = tmp_path_factory.mktemp("interrupt")
    ref, work = base / "reference", base / "killed"
    ref.mkdir()
    work.mkdir()
    short = base / "short.yaml"
    short.write_text(yaml.safe_dump(SHORT), encoding="utf-8")
    # _cmd gives --configfile tests/config_test.yaml <small grid>; more files continue the list.
    # The kill lands in the ingest stage, so the DD store (test_determinism) is not needed here.
    targets = list(TARGETS)
    cmd = _cmd(work, str(short), "--cores", "2", *targets)
    t0 = time.perf_counter()
    reference = subprocess.Popen(_cmd(ref, str(short), "--cores", "2", *targets), text=True,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    killed = subprocess.Popen(cmd, text=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)  # own process group: kill it whole
    harmonised = work / "results" / "harmonised"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and killed.poll() is None:
        if harmonised.is_dir() and any(harmonised.glob("enaho_*.parquet")):
            break
        time.sleep(0.05)
    finished_before_kill = killed.poll() is not None
    if not finished_before_kill:
        os.killpg(killed.pid, signal.SIGKILL)
    killed.wait(timeout=60)
    after_kill = {
        "unreadable": _unreadable_parquet(work),
        "leftovers": _hidden_or_temp(work),
        "done": [t for t in targets if (work / t).exists()],
    }
    ref_out = reference.communicate(timeout=900)[0]
    assert reference.returncode == 0, ref_out[-6000:]

    # rerun as a user would: same command; on refusal, apply the remedy snakemake names
    steps, extra = [], []
    for _ in range(4):
        proc = subprocess.run(cmd + extra, capture_output=True, text=True, timeout=900)
        if proc.returncode == 0:
            break
        msg = proc.stdout + proc.stderr
        remedy = next((r for r in REMEDIES if r in msg), None)
        assert remedy is not None, f"rerun failed without a documented remedy:\n{msg[-6000:]}"
        steps.append(remedy)
        if remedy == "--unlock":
            subprocess.run(_cmd(work, str(short), "--unlock"), capture_output=True, text=True, timeout=300, check=True)
        else:
            extra.append(remedy)
    else:
        pytest.fail(f"no successful rerun after {steps}")
    print(f"interrupt: killed={not finished_before_kill}; done at kill {after_kill['done']}; "
          f"user steps {steps}; {time.perf_counter() - t0:.1f} s")
    return {"ref": ref, "work": work, "killed": not finished_before_kill, "after_kill": after_kill,
            "steps": steps, "targets": targets}


@pytest.mark.workflow
def test_the_run_was_killed_mid_way(interrupted):
    assert interrupted["killed"], "the workflow finished before the kill: nothing was tested"
    assert len(interrupted["after_kill"]["done"]) < len(interrupted["targets"])


@pytest.mark.workflow
def test_nothing_truncated_after_the_kill(interrupted):
    # atomic writers: whatever exists right after SIGKILL is whole
    assert interrupted["after_kill"]["unreadable"] == []


@pytest.mark.workflow
def test_rerun_needs_only_documented_steps(interrupted):
    # every step beyond "run the same command again" was named in snakemake's refusal message
    assert set(interrupted["steps"]) <= set(REMEDIES)


@pytest.mark.workflow
def test_no_partial_or_temporary_file_survives(interrupted):
    work = interrupted["work"]
    assert _unreadable_parquet(work) == []
    assert _hidden_or_temp(work) == [], (
        "temporary files of writers killed mid-write survive the rerun (pra.io.atomic_path)")
    assert not any((work / ".snakemake" / "incomplete").glob("*"))


@pytest.mark.workflow
def test_rerun_equals_uninterrupted_run(interrupted):
    ha, hb = tree_hashes(interrupted["ref"]), tree_hashes(interrupted["work"])
    assert sorted(ha) == sorted(hb), set(ha) ^ set(hb)
    differ = sorted(k for k in ha if ha[k] != hb[k])
    assert not differ, f"files differing from the uninterrupted run: {differ}"


# ----------------------------------------------------------------------------- the writer alone
KILLED_WRITER = """
import os, signal, sys
import pandas as pd
from pra.io import atomic_path
with atomic_path(sys.argv[1]) as tmp:
    pd.DataFrame({"x": range(1000)}).to_parquet(tmp)
    os.kill(os.getpid(), signal.SIGKILL)  # dies inside the block, as a killed job does
"""


def test_killed_atomic_write_leaves_no_output_and_next_write_cleans_up(tmp_path):
    """Deterministic form of the race above: a writer killed inside ``atomic_path``.

    The output must not appear (it does not: the rename never happens); the killed writer's
    temp file cannot be removed by the dead process, so the next write of the same output (the
    rerun) must remove it, or it survives for ever beside the output.
    """
    import pandas as pd

    from pra.io import write_parquet_atomic

    out = tmp_path / "table.parquet"
    proc = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(out)], capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists()  # no truncated output under the real name
    write_parquet_atomic(pd.DataFrame({"x": [1, 2]}), out)  # the rerun's write
    assert pd.read_parquet(out)["x"].tolist() == [1, 2]
    left = sorted(p.name for p in tmp_path.iterdir() if p.name != out.name)
    assert left == [], f"temp files of the killed writer survive the rerun: {left}"
