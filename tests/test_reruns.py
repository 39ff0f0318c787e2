"""Incremental reruns (issue 8, part 3): what a data fix or a config change reruns, and what not.

One test-size run in a module-scoped scratch directory, then, in order:
  (a) nothing changed: the dry run and a real run do nothing and touch no file;
  (b) one year's ENAHO module is fixed (one household of 2010 becomes a refusal): only the 2010
      harmonisation and the jobs downstream of it rerun, and the tables change only in the rows
      that depend on that household;
  (c) one radius of the DD grid changes in the config: only the jobs of that radius rerun.
The plan is read from the jobs and rerun reasons of `--dry-run`; the real behaviour after the
run is checked on the files (bytes and mtimes).
Snakemake's triggers (docs: rerun-triggers): mtime (+ checksum below 1 MB), params, input set,
code (the profile used here, profiles/local, keeps all four). Each step leaves the workdir up
to date; the next step's exact job set would show any leftover job.
  (d) with real input files (data.source: files), a corrected file restored with its old
      timestamp (cp -p) reruns what depends on it: the mtime trigger cannot see it, the SHA-256
      params of pra.digests do; the tables are byte for byte the clean run's.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest
import yaml

from pra.embedded.synthesize import write_sav

from workflow import ROOT, TEST_CONFIG, snakemake

pytestmark = pytest.mark.workflow

LOCAL_PROFILE = str(ROOT / "profiles" / "local")
TARGETS = [
    "results/geo/table1.csv",
    "results/geo/table2.csv",
    "results/geo/map1.png",
    "results/ledger/ledger.csv",
    "results/estimates/estimates.parquet",
]
# A small DD grid keeps the test fast: 3 batches (base/semester/gap/means at the study radius,
# the radius sweep, the bands), each its own job (pra.did.specs.JOB_GROUPS).
RADII = [8, 12]
SMALL_GRID = {"did": {"outcomes": ["ln_pc_exp"], "models": [3], "radii_km": RADII,
                      "placebo_starts": [], "rings_km": [], "samples": [], "subgroups": []}}
FIXED_YEAR = 2010
MODULE_100 = f"resources/embedded/enaho/{FIXED_YEAR}/enaho01-{FIXED_YEAR}-100.sav"


def grid_config(workdir: Path, name: str = "grid", **did) -> tuple[Path, Path]:
    """--configfile list: the test config, then the small grid (with `did` overrides)."""
    path = workdir.parent / f"{workdir.name}_{name}.yaml"
    path.write_text(yaml.safe_dump({"did": {**SMALL_GRID["did"], **did}}))
    return (TEST_CONFIG, path)


def batches(workdir: Path) -> set[str]:
    return {p.stem for p in (workdir / "results/estimates/batches").glob("*.parquet")}


def run(workdir: Path, *args: str, configfiles=None):
    return snakemake(workdir, "--workflow-profile", LOCAL_PROFILE, *args, *TARGETS,
                     configfiles=configfiles or grid_config(workdir), timeout=600)


def dry_run(workdir: Path, configfiles=None) -> tuple[set[str], str]:
    """The jobs `--dry-run` plans, named `rule` or `rule[wildcard value]`, and its full text."""
    proc = run(workdir, "--dry-run", configfiles=configfiles)
    text = proc.stdout + proc.stderr
    jobs = set()
    # Each planned job is a block "rule NAME:" (or "localrule NAME:") with indented fields.
    for m in re.finditer(r"^(?:local)?rule (\w+):\n((?:[ \t]+\S.*\n?)*)", text, re.M):
        rule, body = m.group(1), m.group(2)
        wc = re.search(r"^\s*wildcards: \w+=(\S+)$", body, re.M)
        jobs.add(f"{rule}[{wc.group(1)}]" if wc else rule)
    if not jobs and "Nothing to be done" not in text:
        raise AssertionError(f"cannot read the dry run:\n{text[-3000:]}")
    return jobs, text


def results_state(workdir: Path) -> dict[str, tuple[int, bytes]]:
    """mtime and bytes of every file under results/ and resources/."""
    state = {}
    for sub in ("results", "resources"):
        for p in sorted((workdir / sub).rglob("*")):
            if p.is_file():
                state[str(p.relative_to(workdir))] = (p.stat().st_mtime_ns, p.read_bytes())
    return state


def assert_up_to_date(workdir: Path, configfiles=None):
    jobs, text = dry_run(workdir, configfiles)
    assert not jobs and "Nothing to be done" in text, f"still to do: {sorted(jobs)}\n{text[-3000:]}"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    wd = tmp_path_factory.mktemp("reruns")
    run(wd)  # the profile gives --cores 2
    for t in TARGETS:
        assert (wd / t).is_file(), f"first run did not write {t}"
    assert len(batches(wd)) == 3, sorted(batches(wd))
    return wd


def test_a_nothing_changed_does_nothing(workdir):
    assert_up_to_date(workdir)
    before = results_state(workdir)
    real = run(workdir)
    out = real.stdout + real.stderr
    assert "Nothing to be done" in out, out[-3000:]
    assert not re.search(r"^\s*(local)?rule \w+:", out, re.M), f"a job ran:\n{out[-3000:]}"
    after = results_state(workdir)
    changed = sorted(k for k in before if before[k] != after.get(k))
    assert after.keys() == before.keys() and not changed, f"files changed: {changed[:10]}"


def _refuse_one_household(workdir: Path) -> str:
    """Data fix in one module file: one 2010 sample household's interview becomes a refusal
    (result 1|2 -> 4). Rewritten with the generator's own .sav writer, which round-trips the
    file byte for byte, so nothing else in the file changes."""
    sample = pd.read_parquet(workdir / "results/geo/sample.parquet")
    hh = sample[sample["year"] == FIXED_YEAR].sort_values("hh_id").iloc[0]
    path = workdir / MODULE_100
    df, meta = pyreadstat.read_sav(str(path))
    ids = {k: df[k.upper()].astype(str).str.strip().str.lstrip("0") for k in ("conglome", "vivienda", "hogar")}
    hit = (ids["conglome"] == hh["conglome"].lstrip("0")) & (ids["vivienda"] == hh["vivienda"].lstrip("0")) \
        & (ids["hogar"] == hh["hogar"].lstrip("0"))
    assert hit.sum() == 1, f"{MODULE_100}: {int(hit.sum())} rows for household {hh['hh_id']}"
    assert df.loc[hit, "RESULT"].isin([1, 2]).all(), df.loc[hit, "RESULT"]
    original = path.read_bytes()
    write_sav(df, path, meta.variable_value_labels)
    assert path.read_bytes() == original, "the .sav writer does not round-trip this file"
    df.loc[hit, "RESULT"] = 4.0
    write_sav(df, path, meta.variable_value_labels)
    assert path.stat().st_size < 1_000_000  # below --max-checksum-file-size: the checksum decides
    return hh["hh_id"]


def test_b_one_year_fix_reruns_that_year_only(workdir):
    # Starts from the state test (a) checked to be up to date.
    before = results_state(workdir)
    old = {n: pd.read_parquet(workdir / f"results/{n}.parquet")
           for n in ("harmonised/enaho_2010", "harmonised/enaho", "geo/sample")}
    old_t2 = pd.read_csv(workdir / "results/geo/table2.csv", dtype={"year": str})
    old_led = pd.read_csv(workdir / "results/ledger/ledger.csv")
    hh_id = _refuse_one_household(workdir)

    # The plan: the 2010 harmonisation and what is downstream of it, nothing else.
    jobs, dry = dry_run(workdir)
    assert jobs == {f"harmonise_year[{FIXED_YEAR}]", "pool_years", "distances", "spatial_sample",
                    "map1", "ledger", "did_store"} | {f"did_batch[{c}]" for c in batches(workdir)}, \
        sorted(jobs)
    assert f"reason: Updated input files: {MODULE_100}" in dry, dry[-3000:]

    run(workdir)
    after = results_state(workdir)
    changed = {k for k in before if before[k] != after[k]}
    # Not rerun: the generator's other files, other years, the register's georeferencing.
    untouched = [k for k in before if k.startswith("resources/") and k != MODULE_100] + [
        f"results/{kind}_{y}.{ext}" for y in (2007, 2008, 2009, 2011, 2012)
        for kind, ext in (("harmonised/enaho", "parquet"), ("ledger/ingest", "parquet"),
                          ("harmonised/report", "json"))
    ] + ["results/geo/table1.csv", "results/geo/localities.parquet"]
    assert not changed & set(untouched), sorted(changed & set(untouched))
    assert f"results/harmonised/enaho_{FIXED_YEAR}.parquet" in changed

    # Tables: exactly the refused household is gone, every other row is as before.
    for name, frame in old.items():
        new = pd.read_parquet(workdir / f"results/{name}.parquet")
        assert hh_id in set(frame["hh_id"]) and hh_id not in set(new["hh_id"]), name
        kept = frame[frame["hh_id"] != hh_id].reset_index(drop=True)
        pd.testing.assert_frame_equal(new.reset_index(drop=True), kept, obj=name)

    # Table 2: only the 2010 row and the total move, by one household in its band.
    band = old["geo/sample"].set_index("hh_id").loc[hh_id, "band"]
    new_t2 = pd.read_csv(workdir / "results/geo/table2.csv", dtype={"year": str})
    diff = (new_t2.set_index("year") - old_t2.set_index("year"))
    expected = pd.DataFrame(0, index=diff.index, columns=diff.columns)
    for row in (str(FIXED_YEAR), "Total"):
        for col in (band, "sample space", "total ENAHO"):
            expected.loc[row, col] = -1
    pd.testing.assert_frame_equal(diff, expected, check_dtype=False)

    # The ledger: the refusal is counted as a drop in 2010; other years identical.
    keys = ["stage", "year", "outcome", "reason"]
    new_led = pd.read_csv(workdir / "results/ledger/ledger.csv")
    m = old_led.merge(new_led, on=keys, how="outer", suffixes=("_old", "_new")).fillna(0)
    m["delta"] = m["households_new"] - m["households_old"]
    moved = {tuple(r[k] for k in keys): int(r["delta"]) for _, r in m[m["delta"] != 0].iterrows()}
    assert moved == {
        ("ingest", FIXED_YEAR, "dropped", "non-response (result=4)"): 1,
        ("ingest", FIXED_YEAR, "kept", "kept"): -1,
        ("spatial", FIXED_YEAR, "kept", "kept"): -1,
        ("sample", FIXED_YEAR, "kept", "kept"): -1,
    }, moved
    # Up to date again: test (c)'s exact job set would show any leftover job.


def test_c_one_radius_change_reruns_only_its_jobs(workdir):
    # Starts from the state test (b) left up to date. did.radii_km [8, 12] -> [8, 13].
    old_r, new_r = RADII[-1], RADII[-1] + 1
    cfg = grid_config(workdir, "grid_new_radius", radii_km=[*RADII[:-1], new_r])
    before = results_state(workdir)
    old_batches = batches(workdir)
    old_est = pd.read_parquet(workdir / "results/estimates/estimates.parquet")

    # The plan: one new batch (the radius sweep's job, a new chunk id) and the store; the other
    # batches keep their ids and params, the spatial stage does not read did.radii_km.
    jobs, dry = dry_run(workdir, configfiles=cfg)
    new_batch = [j for j in jobs if j.startswith("did_batch[")]
    assert len(new_batch) == 1 and jobs == {new_batch[0], "did_store"}, sorted(jobs)
    new_chunk = new_batch[0][len("did_batch["):-1]
    assert new_chunk not in old_batches
    assert "Set of input files has changed since last execution" in dry, dry[-3000:]

    run(workdir, configfiles=cfg)
    after = results_state(workdir)
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {"results/estimates/estimates.parquet"}, sorted(changed)
    assert set(after) - set(before) == {f"results/estimates/batches/{new_chunk}.parquet"}

    # Estimates: the old radius's rows are replaced by the new radius's; every other row is equal.
    new_est = pd.read_parquet(workdir / "results/estimates/estimates.parquet")

    def without(est, r):
        keep = ~((est["family"] == "radius") & (est["radius_km"] == r))
        return est[keep].sort_values(["spec_id", "term"]).reset_index(drop=True)

    assert ((old_est["family"] == "radius") & (old_est["radius_km"] == old_r)).any()
    assert ((new_est["family"] == "radius") & (new_est["radius_km"] == new_r)).any()
    assert not ((new_est["family"] == "radius") & (new_est["radius_km"] == old_r)).any()
    pd.testing.assert_frame_equal(without(new_est, new_r), without(old_est, old_r))
    assert_up_to_date(workdir, configfiles=cfg)


# =============================================================================================
# (d) content, not timestamps: real input files (data.source: files) restored with an old mtime
# =============================================================================================
FILES_TARGETS = ["results/harmonised/enaho.parquet", "results/geo/table1.csv", "results/geo/table2.csv",
                 "results/ledger/ledger.csv"]
FIXED_CSV = "enaho/2008/enaho01-2008-100.csv"


def files_config(data: Path, path: Path) -> tuple[Path, Path]:
    files = {"enaho_dir": data / "enaho", "deflator_dir": data / "enaho" / "2012",
             "centres": data / "centros_poblados.csv", "register": data / "pra2_localidades.csv",
             "programme_survey": data / "encuesta_pra2_2012.dta",
             "sample_frame": data / "marco_muestral_2012.csv"}
    # three years keep the test short (the fixed file is of 2008)
    path.write_text(yaml.safe_dump({"years": [2008, 2009, 2010], "did": {"placebo_starts": []},
                                    "data": {"source": "files", "files": {k: str(v) for k, v in files.items()}}}))
    return (TEST_CONFIG, path)


def _tables(workdir: Path) -> dict[str, bytes]:
    return {t: (workdir / t).read_bytes() for t in FILES_TARGETS}


def _damage(path: Path) -> None:
    """The first household of the file becomes a refusal (result 1 -> 4): a wrong file."""
    lines = path.read_text(encoding="utf-8").split("\n")
    header = lines[0].split(",")
    fields = lines[1].split(",")
    assert fields[header.index("result")] == "1", lines[1]
    fields[header.index("result")] = "4"
    lines[1] = ",".join(fields)
    path.write_text("\n".join(lines), encoding="utf-8")


def test_d_corrected_input_with_old_timestamp_reruns(tmp_path, embedded_tree):
    import shutil

    data = tmp_path / "data with space ñ"  # the user's folder, as users name them
    shutil.copytree(embedded_tree, data)
    backup = tmp_path / "backup.csv"
    shutil.copy2(data / FIXED_CSV, backup)  # the good file, with its old timestamp
    cfg = files_config(data, tmp_path / "files.yaml")
    work = tmp_path / "work"

    def smk(*args):
        return snakemake(work, "--cores", "2", *args, *FILES_TARGETS, configfiles=cfg, timeout=900)

    smk()
    clean = _tables(work)

    _damage(data / FIXED_CSV)  # a wrong file (newer than the outputs: the mtime trigger sees it)
    smk()
    damaged = _tables(work)
    assert damaged["results/harmonised/enaho.parquet"] != clean["results/harmonised/enaho.parquet"]
    assert damaged["results/ledger/ledger.csv"] != clean["results/ledger/ledger.csv"]  # counted as a refusal

    # The fix: the good file copied back from the backup with its timestamp (cp -p), older than
    # every output, so Snakemake's mtime trigger alone would keep the damaged tables.
    shutil.copy2(backup, data / FIXED_CSV)
    old = (data / FIXED_CSV).stat().st_mtime
    assert all(old < (work / t).stat().st_mtime for t in FILES_TARGETS)
    proc = smk("--dry-run")
    dry = proc.stdout + proc.stderr
    assert re.search(r"rule harmonise_year:\n(?:\s+.*\n)*?\s+wildcards: year=2008", dry), dry[-3000:]
    assert "Params have changed since last execution" in dry and "year=2009" not in dry, dry[-3000:]
    smk()
    assert _tables(work) == clean  # byte for byte the clean run's tables
    proc = smk("--dry-run")
    assert "Nothing to be done" in proc.stdout + proc.stderr  # and the digests are stable
