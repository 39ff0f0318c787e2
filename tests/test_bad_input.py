"""Bad-input catalogue (issue 9): every case gives a clear error naming file, column and rows (and
what was expected), or a counted, reported exclusion; pipeline-level cases leave no partial output.

Inputs are the tiny hand-built ENAHO years of ``fixtures_ingest`` (five raw households a year), so
each case is one corruption of a known-good file. Cases already covered elsewhere are not repeated:
config (unknown key, radius beyond the sample space, ring past the sample space, placebo outside
the pre-period, bands, post_start): ``tests/test_config.py::test_bad_config_names_the_key``;
invalid coordinates at the distance function: ``tests/test_geo.py::
test_invalid_coordinates_reported_not_dropped``; probit separation / collinearity:
``tests/test_matching.py``. Here the same faults are followed through the stages a user runs.

Issue 16 adds its classes 4-6 (sections 6, 9, 10): config mistakes stop before the first job
naming the key and the value; a file's content, not its timestamp, decides what reruns; a failing
script says why in one line, on the terminal and at the end of its log.

Catalogue (CATALOGUE below lists the test of every case; ``test_catalogue_size`` counts them).
"""
from __future__ import annotations

import copy
import functools
import json
import os
import re
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import fixtures_ingest as F
from workflow import ROOT, TEST_CONFIG, snakemake

import pra.config as pc
from pra import ledger as L
from pra.geo.distance import nearest_locality
from pra.geo.georef import georeference
from pra.geo.sample import spatial_sample
from pra.ingest.harmonise import harmonise_year
from pra.ingest.readers import IngestError

KEYS = ["conglome", "vivienda", "hogar"]
# canonical keys of the fixture households (fixtures_ingest.H1, H2, H5 are kept)
H1K, H2K, H5K = ("000005", "001", "11"), ("000005", "002", "11"), ("000012", "004", "11")


@pytest.fixture(scope="module")
def deflators(tmp_path_factory):
    return F.write_deflators(tmp_path_factory.mktemp("defl"))


def _rows(df: pd.DataFrame, key: tuple) -> pd.Series:
    """Mask of the fixture table rows of household ``key`` (integer ids in fixture tables)."""
    c, v, h = (int(k) for k in key)
    return df["conglome"].eq(c) & df["vivienda"].eq(v) & df["hogar"].eq(h)


def _harmonise(root: Path, year: int, deflators, tabs=None, checks=None):
    F.write_year(root, year, tabs=tabs)
    return harmonise_year(root, deflators, year, F.centres(), checks=checks)


def _row(table: pd.DataFrame, key: tuple) -> pd.Series:
    return table.set_index(KEYS).loc[key]


# =============================================================================================
# 1. files and columns
# =============================================================================================
def test_missing_module_file(tmp_path, deflators):
    F.write_year(tmp_path, 2008)
    (tmp_path / "2008" / "sumaria-2008.csv").unlink()
    with pytest.raises(FileNotFoundError) as err:
        harmonise_year(tmp_path, deflators, 2008, F.centres())
    msg = str(err.value)
    assert "year 2008" in msg and "'sumaria-2008'" in msg and str(tmp_path / "2008") in msg


def test_missing_column(tmp_path, deflators):
    tabs = F.tables(2012)
    tabs["sumaria"] = tabs["sumaria"].drop(columns="gashog2d")
    with pytest.raises(IngestError) as err:
        _harmonise(tmp_path, 2012, deflators, tabs)
    msg = str(err.value)
    assert "year 2012" in msg and "sumaria-2012.dta" in msg and "['gashog2d']" in msg


def test_renamed_column(tmp_path, deflators):
    # a user's re-export renamed p208a (age): the message names the missing and the present names
    tabs = F.tables(2007)
    tabs["200"] = tabs["200"].rename(columns={"p208a": "edad"})
    with pytest.raises(IngestError) as err:
        _harmonise(tmp_path, 2007, deflators, tabs)
    msg = str(err.value)
    assert "enaho01-2007-200.dta" in msg and "['p208a']" in msg and "'edad'" in msg


def test_text_in_numeric_column(tmp_path, deflators):
    # wrong type: text in gashog2d -> counted with its value, flagged on the household, outcome
    # missing (so the DD counts it as missing:ln_pc_exp), never read as 0 or silently dropped
    tabs = F.tables(2012)
    s = tabs["sumaria"]
    s["gashog2d"] = s["gashog2d"].astype(object)
    s.loc[_rows(s, H2K), "gashog2d"] = "n/a"
    # tolerated here (data.checks; the default stops: tests/test_bad_input_read.py)
    table, led, rep = _harmonise(tmp_path, 2012, deflators, tabs,
                                 checks={"max_parse_failures": {"expenditure": 1}})
    assert rep["unknown_codes"].get("sumaria.gashog2d") == {"n/a": 1}
    h2 = _row(table, H2K)
    assert "sumaria.gashog2d=n/a" in h2["unknown_codes"]
    assert np.isnan(h2["pc_exp_real"]) and np.isnan(h2["ln_pc_exp"])
    assert len(table) == 3 and _row(table, H1K)["unknown_codes"] == ""


def test_missing_id_value(tmp_path, deflators):
    F.write_year(tmp_path, 2011)
    raw = F.quirk(F.tables(2011)["300"], 2011, "300", "dta110")
    raw.loc[2, "codperso"] = ""  # a blank person id on the third data row
    F.write_frame(raw, tmp_path / "2011" / "enaho01a-2011-300.dta", "dta110")
    with pytest.raises(IngestError) as err:
        harmonise_year(tmp_path, deflators, 2011, F.centres())
    msg = str(err.value)
    assert "enaho01a-2011-300.dta" in msg and "codperso" in msg and "[3]" in msg


# =============================================================================================
# 2. keys
# =============================================================================================
def test_duplicated_household_key_module_100(tmp_path, deflators):
    tabs = F.tables(2009)
    tabs["100"] = pd.concat([tabs["100"], tabs["100"][_rows(tabs["100"], H5K)]], ignore_index=True)
    with pytest.raises(IngestError) as err:
        _harmonise(tmp_path, 2009, deflators, tabs)
    msg = str(err.value)
    assert "enaho01-2009-100.dta" in msg and "duplicated key (conglome, vivienda, hogar)" in msg
    assert "rows [5, 6]" in msg


def test_duplicated_person_key(tmp_path, deflators):
    tabs = F.tables(2010)
    tabs["500"] = pd.concat([tabs["500"], tabs["500"].iloc[[2]]], ignore_index=True)
    with pytest.raises(IngestError) as err:
        _harmonise(tmp_path, 2010, deflators, tabs)
    msg = str(err.value)
    assert "enaho01a-2010-500.sav" in msg and "codperso" in msg and "rows [3, 6]" in msg


def test_sumaria_household_absent_from_module_100(tmp_path, deflators):
    tabs = F.tables(2008)
    tabs["100"] = tabs["100"][~_rows(tabs["100"], H1K)]
    table, led, rep = _harmonise(tmp_path, 2008, deflators, tabs)
    assert rep["ledger"]["in sumaria, not in module 100"] == 1
    lost = led[led["reason"] == "in sumaria, not in module 100"]
    assert lost[KEYS].apply(tuple, axis=1).tolist() == [H1K]
    assert H1K not in set(table[KEYS].apply(tuple, axis=1))
    L.check_balance(led)


def test_module_100_household_absent_from_sumaria(tmp_path, deflators):
    tabs = F.tables(2011)
    tabs["sumaria"] = tabs["sumaria"][~_rows(tabs["sumaria"], H5K)]
    # tolerated here (data.checks; the default stops: tests/test_bad_input_read.py)
    table, led, rep = _harmonise(tmp_path, 2011, deflators, tabs,
                                 checks={"max_missing_households": 2})
    # H4 (fixture) and H5 now: complete interviews without a sumaria row, each counted
    assert rep["ledger"]["complete interview not in sumaria"] == 2
    assert len(table) == 2 and len(led) == 5
    L.check_balance(led)


# =============================================================================================
# 3. impossible values and unknown codes: counted, reported, flagged on the household
# =============================================================================================
def test_negative_expenditure(tmp_path, deflators):
    tabs = F.tables(2009)
    tabs["sumaria"].loc[_rows(tabs["sumaria"], H5K), "gashog2d"] = -2400.0
    table, _, rep = _harmonise(tmp_path, 2009, deflators, tabs)
    assert rep["out_of_range"]["sumaria.gashog2d"] == {"-2400": 1}
    h5 = _row(table, H5K)
    assert "sumaria.gashog2d=-2400" in h5["unknown_codes"]
    assert np.isnan(h5["pc_exp_real"]) and np.isnan(h5["ln_pc_exp"])


def test_household_size_zero(tmp_path, deflators):
    tabs = F.tables(2010)
    tabs["sumaria"].loc[_rows(tabs["sumaria"], H2K), "mieperho"] = 0
    table, _, rep = _harmonise(tmp_path, 2010, deflators, tabs)
    assert rep["out_of_range"]["sumaria.mieperho"] == {"0": 1}
    h2 = _row(table, H2K)
    assert "sumaria.mieperho=0" in h2["unknown_codes"]
    # no division by zero: per-capita values are missing, not inf
    for c in ("hh_size", "pc_exp_real", "persons_per_room"):
        assert np.isnan(h2[c]), c
    assert np.isfinite(table["pc_exp_real"].dropna()).all()


def test_age_150(tmp_path, deflators):
    tabs = F.tables(2012)
    m = tabs["200"]
    m.loc[_rows(m, H5K) & m["codperso"].eq(1), "p208a"] = 150
    table, _, rep = _harmonise(tmp_path, 2012, deflators, tabs)
    assert rep["out_of_range"]["200.p208a"] == {"150": 1}
    h5 = _row(table, H5K)
    assert "200.p208a=150" in h5["unknown_codes"] and np.isnan(h5["head_age"])


def test_unknown_code_in_outcome(tmp_path, deflators):
    tabs = F.tables(2007)
    tabs["sumaria"].loc[_rows(tabs["sumaria"], H2K), "pobreza"] = 9
    tabs["100"].loc[_rows(tabs["100"], H2K), "p103"] = 99
    table, _, rep = _harmonise(tmp_path, 2007, deflators, tabs)
    assert rep["unknown_codes"]["sumaria.pobreza"] == {"9": 1}
    assert "sumaria.pobreza" not in rep["out_of_range"]  # counted once, as a code
    assert rep["unknown_codes"]["100.p103"] == {"99": 1}
    h2 = _row(table, H2K)
    assert "sumaria.pobreza=9" in h2["unknown_codes"] and "100.p103=99" in h2["unknown_codes"]
    assert np.isnan(h2["poor"]) and np.isnan(h2["floor_dirt"])


def test_unknown_interview_result(tmp_path, deflators):
    # result outside 1-7: the household is excluded with its own reason, not taken as complete
    tabs = F.tables(2008)
    tabs["100"].loc[_rows(tabs["100"], H2K), "result"] = 9
    table, led, rep = _harmonise(tmp_path, 2008, deflators, tabs)
    assert rep["unknown_codes"]["100.result"] == {"9": 1}
    assert rep["ledger"]["result missing or unknown code"] == 1
    assert len(table) == 2
    L.check_balance(led)


# =============================================================================================
# 4. coordinates, followed from module 100 to the spatial ledger
# =============================================================================================
def _through_geo(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Distances to one locality near the fixture's Cusco households, then the spatial sample."""
    locs = pd.DataFrame({"id_localidad": [1, 2], "latitude": [-13.45, -3.70],
                         "longitude": [-71.90, -73.20]})
    dist = nearest_locality(table, locs)
    return spatial_sample(table, dist, sample_space_km=20, treatment_radius_km=10, ring_km=None,
                          bands_km=[0, 2, 4, 6, 8, 10, 15, 20], post_start=2010,
                          sample="producers_and_laborers")


def _spatial_reason(led: pd.DataFrame, key: tuple) -> str:
    s = led[(led["stage"] == "spatial") & (led[KEYS].apply(tuple, axis=1) == key)]
    assert len(s) == 1
    return str(s["reason"].iloc[0])


def test_coordinates_missing(tmp_path, deflators):
    tabs = F.tables(2009)
    tabs["100"].loc[_rows(tabs["100"], H2K), ["latitud", "longitud"]] = np.nan
    table, _, _ = _harmonise(tmp_path, 2009, deflators, tabs)
    sample, led = _through_geo(table)
    assert _spatial_reason(led, H2K) == "no usable coordinates: missing coordinates"
    assert _spatial_reason(led, H5K) == "kept"
    L.check_balance(led)


def test_coordinates_swapped(tmp_path, deflators):
    # lat/lon exchanged in module 100: excluded, and the ledger must say why (swapped, or the
    # module-100 values out of range), not "missing coordinates" as if the survey left them blank
    tabs = F.tables(2010)
    tabs["100"].loc[_rows(tabs["100"], H2K), ["latitud", "longitud"]] = [-71.90, -13.50]
    table, _, rep = _harmonise(tmp_path, 2010, deflators, tabs)
    assert rep["out_of_range"]["100.latitud"] == {"-71.9": 1}
    assert "100.latitud=-71.9" in _row(table, H2K)["unknown_codes"]
    _, led = _through_geo(table)
    reason = _spatial_reason(led, H2K)
    assert reason.startswith("no usable coordinates")
    assert "swapped" in reason or "latitud" in reason, reason


def test_coordinates_outside_peru(tmp_path, deflators):
    tabs = F.tables(2012)
    tabs["100"].loc[_rows(tabs["100"], H5K), ["latitud", "longitud"]] = [40.42, -3.70]  # Madrid
    table, _, rep = _harmonise(tmp_path, 2012, deflators, tabs)
    assert rep["out_of_range"]["100.latitud"] == {"40.42": 1}
    _, led = _through_geo(table)
    reason = _spatial_reason(led, H5K)
    assert reason.startswith("no usable coordinates")
    assert "outside Peru" in reason or "latitud" in reason, reason


# =============================================================================================
# 5. the PRA-II register
# =============================================================================================
def _centres():
    return pd.DataFrame({"codccpp": ["0801010001", "0801010002"], "ubigeo": ["080101", "080101"],
                         "nomccpp": ["SANTA ROSA", "HUAYLLA"], "latitud": [-13.5, -13.6],
                         "longitud": [-72.0, -72.1]})


def test_register_unknown_district(tmp_path):
    reg = pd.DataFrame({"id_localidad": [1, 2], "departamento": ["CUSCO", "CUSCO"],
                        "ubigeo": ["080101", "089999"], "codccpp": ["", ""],
                        "localidad": ["Santa Rosa", "Santa Rosa"], "cadena": ["cuy", "cuy"]})
    loc, t1 = georeference(reg, _centres())
    r2 = loc[loc["id_localidad"] == 2].iloc[0]
    assert (r2["match"], r2["reason"]) == ("unmatched", "unknown district")
    assert np.isnan(r2["latitude"])
    tot = t1.set_index("departamento").loc["Total"]
    assert (tot["no"], tot["yes"]) == (1, 1)  # counted in Table 1, not dropped


def test_register_without_any_match():
    reg = pd.DataFrame({"id_localidad": [1, 2], "departamento": ["PUNO", "PUNO"],
                        "ubigeo": ["210101", "210101"], "codccpp": ["", "2101019999"],
                        "localidad": ["X", "Y"]})
    loc, t1 = georeference(reg, _centres())
    assert (loc["match"] == "unmatched").all() and len(loc) == 2
    assert t1.set_index("departamento").loc["Total", "yes"] == 0
    hh = pd.DataFrame({"hh_id": ["a"], "latitude": [-13.5], "longitude": [-72.0]})
    with pytest.raises(ValueError, match="no geo-referenced locality"):
        nearest_locality(hh, loc)


def test_register_missing_column():
    reg = pd.DataFrame({"id_localidad": [1], "departamento": ["CUSCO"], "ubigeo": ["080101"],
                        "localidad": ["Santa Rosa"]})  # codccpp missing
    with pytest.raises(ValueError) as err:
        georeference(reg, _centres())
    assert "pra2_localidades.csv" in str(err.value) and "'codccpp'" in str(err.value)


def test_register_duplicated_ids():
    reg = pd.DataFrame({"id_localidad": [7, 7], "departamento": ["CUSCO"] * 2,
                        "ubigeo": ["080101"] * 2, "codccpp": ["", ""], "localidad": ["A", "B"]})
    with pytest.raises(ValueError, match=r"id_localidad: duplicated ids \[7\]"):
        georeference(reg, _centres())


# =============================================================================================
# 6. configuration (what tests/test_config.py does not cover)
# =============================================================================================
@functools.cache
def _parsed_config():
    with open(ROOT / "config.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _raw_config():
    # parsed once per module (41 tests read it), a fresh copy each: tests edit what they get
    return copy.deepcopy(_parsed_config())


@pytest.mark.parametrize(
    "override, key",
    [
        ({"spatial": {"ring_km": [10, 12]}}, "spatial.ring_km"),  # ring starts at the radius
        ({"spatial": {"ring_km": [5, 25]}}, "spatial.ring_km"),  # ring wider than the space
        ({"did": {"subgroups": ["head_height"]}}, "did.subgroups"),  # unknown subgroup
        ({"did": {"rings_km": [[11, 9]]}}, "did.rings_km"),  # inverted ring
        ({"spatial": {"sample_space_km": 10}}, "spatial.treatment_radius_km"),  # radius == space
    ],
)
def test_config_errors_not_in_test_config(override, key):
    with pytest.raises(pc.ConfigError) as err:
        pc.validate(pc.deep_merge(_raw_config(), override))
    assert key in str(err.value)


# Class 5 of issue 16: every config mistake stops before the first job, naming the key and the
# value (pra.config.workflow_config is what the Snakefile runs at parse time; the dry runs below
# prove the wiring). (override, key, what the message must also hold)
GRID_FULL = {"grid": "full"}
CONFIG_MISTAKES = [
    ({"did": {"outcomes": ["ln_pc_exp", "consumo"]}}, "did.outcomes", "'consumo'"),
    ({"did": {"outcomes": ["ln_pc_expp"]}}, "did.outcomes", "did you mean 'ln_pc_exp'"),
    ({"did": {"outcomes": ["region"]}}, "did.outcomes", "numeric column"),  # a text column
    ({"did": {"outcomes": []}}, "did.outcomes", "non-empty"),
    ({"did": {"outcomes": ["poor", "poor"]}}, "did.outcomes", "'poor' is listed twice"),
    ({"did": {"cluster": "distrito"}}, "did.cluster", "'distrito'"),
    ({"did": {"radii_km": [8, 10, 10]}}, "did.radii_km", "10 is listed twice"),
    ({"did": {"radii_km": [10, 10.0]}}, "did.radii_km", "listed twice"),
    ({"did": {"radii_km": []}}, "did.radii_km", "at least one value"),
    ({"did": {"models": []}}, "did.models", "non-empty"),
    ({"did": {"models": [3, 3]}}, "did.models", "3 is listed twice"),
    ({"did": {"models": [1, 4]}}, "did.models[1]", "4 is not one of [1, 2, 3]"),
    ({"did": {"placebo_starts": [2008, 2008]}}, "did.placebo_starts", "2008 is listed twice"),
    ({"did": {"rings_km": [[9, 11], [9, 11]]}}, "did.rings_km", "listed twice"),
    ({"did": {"subgroups": ["head_female", "head_female"]}}, "did.subgroups", "listed twice"),
    ({"did": {"samples": ["laborers_only", "laborers_only"]}}, "did.samples", "listed twice"),
    ({"did": {"band_width_km": 25}}, "did.band_width_km", "25"),
    ({"did": {**GRID_FULL, "full_grid": {"outcomes": ["pobreza"]}}}, "did.full_grid.outcomes", "'pobreza'"),
    ({"did": {**GRID_FULL, "full_grid": {"weights": ["none", "factor08"]}}}, "did.full_grid.weights",
     "did you mean 'factor07'"),
    ({"did": {**GRID_FULL, "full_grid": {"post_periods": [[2009, 2012]]}}}, "did.full_grid.post_periods",
     "[2009, 2012]"),
    ({"matching": {"followup_year": 2011}}, "matching.followup_year", "2011"),
    ({"matching": {"baseline_year": 2013}}, "matching.baseline_year", "2013"),
    ({"matching": {"baseline_months": []}}, "matching.baseline_months", "non-empty"),
    ({"matching": {"baseline_months": [7, 13]}}, "matching.baseline_months[1]", "13"),
    ({"matching": {"outcomes": ["ln_pc_exp", "pobre"]}}, "matching.outcomes", "'pobre'"),
    ({"matching": {"outcomes": []}}, "matching.outcomes", "at least one value"),
    ({"years": [2005, 2006, 2007, 2008, 2009, 2010, 2011, 2012]}, "years", "[2005, 2006]"),
    ({"years": [2007, 2008, 2009, 2010, 2011, 2012, 2013]}, "years", "[2013]"),
    ({"years": [2007, 2008, 2009, 2011, 2012]}, "post_start", "2010 is not one of years"),
    ({"years": [2007, 2007, 2012]}, "years", "non-unique"),
]


@pytest.mark.parametrize("override, key, text", CONFIG_MISTAKES, ids=[k for _, k, _ in CONFIG_MISTAKES])
def test_config_mistake_names_key_and_value(override, key, text):
    with pytest.raises(pc.ConfigError) as err:
        pc.workflow_config(pc.deep_merge(_raw_config(), override))
    msg = str(err.value)
    assert msg.startswith(f"config key {key}: ") and text in msg, msg
    assert "\n" not in msg  # one line


def _files_data(root: Path, years=range(2007, 2013)) -> dict:
    """A files-mode config over folders that exist (nothing is read by the checks)."""
    for y in years:
        (root / "enaho" / str(y)).mkdir(parents=True)
    (root / "centros_poblados.csv").write_text("x\n")
    files = {"enaho_dir": root / "enaho", "deflator_dir": root / "enaho" / "2012",
             "centres": root / "centros_poblados.csv", "register": root / "r.csv",
             "programme_survey": root / "p.dta", "sample_frame": root / "f.csv"}
    return {"data": {"source": "files", "files": {k: str(v) for k, v in files.items()}}}


@pytest.mark.parametrize("damage, key", [
    (lambda root: (root / "enaho" / "2009").rmdir(), "years"),  # a configured year with no data
    (lambda root: (root / "enaho" / "2012").rename(root / "enaho" / "2012 copy"), "data.files.deflator_dir"),
    (lambda root: (root / "centros_poblados.csv").unlink(), "data.files.centres"),
], ids=["year_without_folder", "deflator_dir_missing", "centres_missing"])
def test_files_config_against_the_data(tmp_path, damage, key):
    over = _files_data(tmp_path)
    pc.workflow_config(pc.deep_merge(_raw_config(), over))  # the intact folders pass
    damage(tmp_path)
    with pytest.raises(pc.ConfigError) as err:
        pc.workflow_config(pc.deep_merge(_raw_config(), over))
    assert str(err.value).startswith(f"config key {key}: ")
    if key == "years":
        assert "[2009]" in str(err.value) and str(tmp_path / "enaho") in str(err.value)


@pytest.mark.workflow
@pytest.mark.parametrize("override, key", [
    ({"did": {"outcomes": ["consumo"]}}, "did.outcomes"),
    ({"matching": {"followup_year": 2011}}, "matching.followup_year"),
    ({"did": {"radii_km": [8, 10, 10]}}, "did.radii_km"),
], ids=["outcome", "followup_year", "duplicate_radii"])
def test_config_mistake_stops_dry_run_in_one_line(tmp_path, override, key):
    # the wiring: the dry run stops at parse time, with one line naming the key and no traceback,
    # and creates no file (no input generated, no result, no log)
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml.safe_dump(override), encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    proc = snakemake(work, "-n", configfiles=(TEST_CONFIG, cfg), check=False, timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1
    line = next(ln for ln in out.splitlines() if "config key" in ln)
    assert line.startswith(f"Configuration error: config key {key}: "), out
    assert "Traceback" not in out and 'File "' not in out, out
    assert sorted(p.name for p in work.iterdir() if p.name != ".snakemake") == []


@pytest.mark.workflow
def test_bad_config_stops_workflow_before_any_output(tmp_path):
    # pipeline level: a radius larger than the sample space stops the dry run, names the key,
    # and creates neither inputs nor results
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml.safe_dump({"spatial": {"treatment_radius_km": 25}}), encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    proc = snakemake(work, "-n", configfiles=(TEST_CONFIG, cfg), check=False, timeout=120)
    assert proc.returncode != 0
    assert "spatial.treatment_radius_km" in proc.stdout + proc.stderr
    assert sorted(p.name for p in work.iterdir() if p.name != ".snakemake") == []


# =============================================================================================
# 7. estimation: probit, clusters, subgroups
# =============================================================================================
def test_probit_cannot_converge():
    from pra.matching.pscore import PscoreError, fit_probit

    rng = np.random.default_rng(7)
    n = 200
    x1 = rng.normal(size=n)
    x2 = rng.normal(size=n)
    # treated exactly when x1 + x2 > 0: separated by a combination, no single covariate does it
    d = pd.DataFrame({"t": (x1 + x2 > 0).astype(int), "x1": x1, "x2": x2})
    with pytest.raises(PscoreError) as err:
        fit_probit(d, "t", ["x1", "x2"], label="year 2009")
    assert str(err.value).startswith("year 2009: ")


def _panel(n_clusters: int, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n_clusters):
        for year in (2008, 2011):
            for i in range(10):
                # treatment varies within a cluster too, so D is identified in any one cluster
                rows.append((f"loc{c}", year, float((c + i) % 2), float(year >= 2010)))
    df = pd.DataFrame(rows, columns=["locality", "year", "treated", "post"])
    df["D"] = df["treated"] * df["post"]
    df["y"] = rng.normal(size=len(df)) + 0.2 * df["D"]
    return df


def test_too_few_clusters_to_estimate():
    # a subgroup that lives in a single cluster: a clustered SE does not exist (pyfixest returns
    # se = inf, p = NaN with only a RuntimeWarning); estimate must stop naming the clusters
    from pra.did import estimate

    one = _panel(2)
    one = one[one["locality"] == "loc1"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(ValueError) as err:
            r = estimate(one, "y", "D", fixed_effects=["year"], cluster="locality")
            pytest.fail(f"estimated with 1 cluster: coef {r.coef}, se {r.se}, p {r.pvalue}")
    msg = str(err.value)
    assert "cluster" in msg and "locality" in msg and "1" in msg


def test_empty_subgroup():
    # a subgroup level with no households (e.g. no female heads in the sample): the store must not
    # silently carry only the other level's coefficient. Accepted: a ValueError naming the
    # subgroup, or a store row for the empty level (coef NaN) whose ``dropped`` says why.
    from pra.did import run_batch
    from pra.did.specs import _spec

    df = _panel(12)
    df["hh_id"] = [f"h{i}" for i in range(len(df))]
    df["semester"] = df["year"].astype(str) + "-I"
    df["dist_km"] = np.where(df["treated"] == 1, 5.0, 15.0)
    df["producer"] = 1.0
    df["head_female"] = 0.0  # the female group is empty
    rng = np.random.default_rng(1)
    for c in ["rural", "altitude", "coast", "selva"]:  # model-1 locality controls
        df[c] = rng.normal(size=len(df))
    spec = _spec("subgroup", "y", 1, "i(head_female, D)", radius_km=10, ring=None,
                 sample="producers", post_start=2010, sample_space_km=20, subgroup="head_female")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = run_batch(df, [spec])
        except ValueError as err:
            assert "head_female" in str(err)
            return
    empty = out[out["term"].str.startswith("head_female::1")]
    assert len(empty) == 1, f"empty subgroup head_female=1 not reported: terms {out['term'].tolist()}"
    assert np.isnan(empty["coef"].iloc[0]) and "head_female" in str(empty["dropped"].iloc[0])


# =============================================================================================
# 8. pipeline level: a broken year fails alone, named, with no partial output
# =============================================================================================
@pytest.mark.workflow
def test_missing_module_file_in_workflow(tmp_path):
    data = tmp_path / "data"
    for y in range(2007, 2013):  # the workflow lists every configured year's folder when parsed
        F.write_year(data / "enaho", y)
    F.write_deflators(data / "enaho" / "2012")
    F.centres().to_csv(data / "centros_poblados.csv", index=False)
    (data / "enaho" / "2009" / "enaho01a-2009-500.dta").unlink()
    cfg = tmp_path / "files.yaml"
    files = {"enaho_dir": str(data / "enaho"), "deflator_dir": str(data / "enaho" / "2012"),
             "centres": str(data / "centros_poblados.csv")}
    for k in ("register", "programme_survey", "sample_frame"):  # not read by these targets
        files[k] = str(data / f"{k}.csv")
    cfg.write_text(yaml.safe_dump({"data": {"source": "files", "files": files}}), encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    targets = ["results/harmonised/enaho_2008.parquet", "results/harmonised/enaho_2009.parquet"]
    proc = snakemake(work, "--cores", "1", "--keep-going", *targets, configfiles=(TEST_CONFIG, cfg),
                     check=False, timeout=300)
    assert proc.returncode != 0
    log = (work / "logs" / "harmonise_2009.log").read_text(encoding="utf-8")
    assert "year 2009: no file for module 'enaho01a-2009-500'" in log
    assert "harmonise_2009.log" in proc.stderr + proc.stdout  # snakemake points the user to it
    # the good year is complete; the broken year left nothing behind (not even a temp file)
    assert (work / "results/harmonised/enaho_2008.parquet").is_file()
    pd.read_parquet(work / "results/harmonised/enaho_2008.parquet")
    left = sorted(p.name for p in (work / "results").rglob("*") if "2009" in p.name or p.name.startswith("."))
    assert left == [], left


# =============================================================================================
# 9. a fix Snakemake would not see (issue 16, class 4): content digests of the raw inputs
#    (the workflow case, a corrected file restored with cp -p: tests/test_reruns.py::test_d)
# =============================================================================================
def _same_stamp(src: Path, dst: Path) -> None:
    st = src.stat()
    os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_digest_sees_content_behind_an_old_timestamp(tmp_path):
    from pra.digests import input_digests

    cache = tmp_path / "cache.json"
    good, bad = tmp_path / "good.csv", tmp_path / "data.csv"
    good.write_text("id,result\n1,1\n")
    bad.write_text("id,result\n1,4\n")  # same size, one wrong value
    _same_stamp(good, bad)
    first = input_digests([bad], cache=cache)[str(bad)]
    shutil.copy2(good, bad)  # cp -p: the good file with the good file's (old) mtime
    _same_stamp(good, bad)
    assert bad.stat().st_size == good.stat().st_size
    assert input_digests([bad], cache=cache)[str(bad)] != first
    assert input_digests([bad], cache=cache)[str(bad)] == input_digests([good], cache=cache)[str(good)]


def test_digest_cache_hashes_a_file_once(tmp_path, monkeypatch):
    import pra.digests as D

    cache = tmp_path / "cache.json"
    f = tmp_path / "big.dta"
    f.write_bytes(b"x" * 4096)
    calls = []
    real = D.sha256
    monkeypatch.setattr(D, "sha256", lambda p: calls.append(p) or real(p))
    a = D.input_digests([f], cache=cache)
    assert D.input_digests([f], cache=cache) == a and len(calls) == 2  # changed < 2 s ago: racy
    monkeypatch.setattr(D, "RACY_NS", 0)  # as if written long before it was hashed
    assert D.input_digests([f], cache=cache) == a and len(calls) == 2
    D._memo.clear()  # a new process: the cache file is read again
    assert D.input_digests([f], cache=cache) == a and len(calls) == 2
    os.utime(f, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns))  # touched: ctime changes, rehash
    assert D.input_digests([f], cache=cache) == a and len(calls) == 3
    assert D.input_digests([tmp_path / "absent.csv"], cache=cache) == {str(tmp_path / "absent.csv"): D.MISSING}


def test_digest_cache_damaged_or_unwritable(tmp_path):
    import pra.digests as D

    f = tmp_path / "a.csv"
    f.write_text("1")
    cache = tmp_path / "cache.json"
    cache.write_text("{not json")
    D._memo.clear()
    assert D.input_digests([f], cache=cache)[str(f)] == D.sha256(f)[:D.HEX]
    assert json.loads(cache.read_text())  # rewritten whole
    D._memo.clear()
    blocked = tmp_path / "file_not_dir" / "cache.json"
    (tmp_path / "file_not_dir").write_text("")
    assert D.input_digests([f], cache=blocked)[str(f)] == D.sha256(f)[:D.HEX]


RAW_INPUT_CALLS = re.compile(r"\b(input_file|year_inputs|deflator_inputs|_raw_inputs)\b")


def test_every_rule_reading_raw_inputs_carries_their_digests():
    """A rule whose input lists raw files must carry ``input_sha256`` of them (a function of the
    wildcards only: Snakemake does not compare params that take ``input``)."""
    checked = []
    for path in sorted((ROOT / "rules").glob("*.smk")):
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"^rule (\w+):\n((?:[ \t]+.*\n|\n)*)", text, re.M):
            body = m.group(2)
            inputs = re.search(r"^    input:\n((?:        .*\n)*)", body, re.M)
            if m.group(1) == "synthesize" or not inputs or not RAW_INPUT_CALLS.search(inputs.group(1)):
                continue
            checked.append(m.group(1))
            assert re.search(r"^        input_sha256=lambda w: input_sha256\(", body, re.M), (path.name, m.group(1))
    assert {"harmonise_year", "georeference", "matching_programme", "results_index"} <= set(checked), checked


# =============================================================================================
# 10. tracebacks and empty logs (issue 16, class 6, the scripts' side)
# =============================================================================================
FAILING_SCRIPT = """
import types
from pra.runlog import run
from pra.ingest.readers import IngestError

def main(smk):
    raise IngestError("year 2009: enaho01-2009-100.dta: column 'result' missing")

smk = types.SimpleNamespace(rule="harmonise_year", input=[], output=[], log=[{log!r}])
run(main, smk)
"""


def test_script_failure_is_one_line_on_the_terminal_and_last_in_the_log(tmp_path):
    import subprocess
    import sys

    log = tmp_path / "logs" / "harmonise_2009.log"
    script = tmp_path / "script.py"
    script.write_text(FAILING_SCRIPT.format(log=str(log)), encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert proc.returncode == 1
    line = ("harmonise_year failed: IngestError: year 2009: enaho01-2009-100.dta: column 'result' "
            f"missing (traceback in {log})")
    assert proc.stderr.strip() == line, proc.stderr  # one line, no traceback on the terminal
    text = log.read_text(encoding="utf-8")
    assert "Traceback" in text and text.rstrip().endswith(line)  # the log has both


def test_failure_line_for_an_exception_without_message():
    from pra.runlog import failure_line

    assert failure_line("ledger", KeyError("year")) == "ledger failed: KeyError: 'year'"
    assert failure_line("x", RuntimeError()) == "x failed: RuntimeError: (no message)"
    assert failure_line("x", ValueError("a\n  b"), "logs/x.log") == "x failed: ValueError: a b (traceback in logs/x.log)"


# =============================================================================================
CATALOGUE = [
    test_missing_module_file, test_missing_column, test_renamed_column, test_text_in_numeric_column,
    test_missing_id_value, test_duplicated_household_key_module_100, test_duplicated_person_key,
    test_sumaria_household_absent_from_module_100, test_module_100_household_absent_from_sumaria,
    test_negative_expenditure, test_household_size_zero, test_age_150, test_unknown_code_in_outcome,
    test_unknown_interview_result, test_coordinates_missing, test_coordinates_swapped,
    test_coordinates_outside_peru, test_register_unknown_district, test_register_without_any_match,
    test_register_missing_column, test_register_duplicated_ids, test_config_errors_not_in_test_config,
    test_bad_config_stops_workflow_before_any_output, test_probit_cannot_converge,
    test_too_few_clusters_to_estimate, test_empty_subgroup, test_missing_module_file_in_workflow,
    test_config_mistake_names_key_and_value, test_files_config_against_the_data,
    test_config_mistake_stops_dry_run_in_one_line, test_digest_sees_content_behind_an_old_timestamp,
    test_digest_cache_hashes_a_file_once, test_digest_cache_damaged_or_unwritable,
    test_every_rule_reading_raw_inputs_carries_their_digests,
    test_script_failure_is_one_line_on_the_terminal_and_last_in_the_log,
    test_failure_line_for_an_exception_without_message,
]


def cases(test) -> int:
    """The cases a catalogue test runs: the product of its parametrisations' lengths."""
    n = 1
    for mark in getattr(test, "pytestmark", []):
        if mark.name == "parametrize":
            n *= len(mark.args[1])
    return n


def test_catalogue_size():
    # issue 9 asked for 20 cases (31 here); issue 16 for 60 across its classes: 42 more here
    # (config, digests, failure lines), with tests/test_bad_input_read.py (the readers' cases)
    # and tests/test_reruns.py::test_d (a corrected file restored with its old timestamp)
    names = [f.__name__ for f in CATALOGUE]
    assert len(set(names)) == len(names)
    assert cases(test_config_errors_not_in_test_config) == 5
    assert sum(cases(f) for f in CATALOGUE) >= 73
