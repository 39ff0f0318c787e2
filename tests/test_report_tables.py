"""Publication tables: the table model and renderers on a small synthetic store, then every table
of a test-size workflow run in every format (CSV, Markdown, HTML, LaTeX, Excel).

The workflow run is shared with tests/test_report_html.py (:func:`report_run`). Set
the session's shared test-size run (``pipeline_run`` in conftest.py).
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pra.did import stars
from pra.report import TABLE_FORMATS, TABLE_NAMES
from pra.report import tables as T


COEF_RE = re.compile(r"^-?\d[\d,]*\.\d+(\*{0,3})$")
SE_RE = re.compile(r"^\(\d+\.\d+\)$")


# ----------------------------------------------------------------------------- shared run
@pytest.fixture(scope="module")
def run_dir(pipeline_run) -> Path:
    """The session's complete test-size run (tests/conftest.py)."""
    return pipeline_run


# ----------------------------------------------------------------------------- synthetic store
YEARS = "2007,2008,2009,2010,2011,2012"


def _store(post_start: int = 2010, cluster: str = "locality", years: str = YEARS, radius: float = 10.0,
           space: float = 20.0, sample: str = "producers") -> pd.DataFrame:
    """Base (3 outcomes × 3 models, plus two controls) and semester rows with known p-values, with
    the design columns of pra.store (the study's design unless told otherwise)."""
    rows = []
    rng = np.random.default_rng(7)
    pvals = [0.2, 0.07, 0.03, 0.004, 0.5, 0.099, 0.049, 0.0099, 0.9]
    design = dict(post_start=post_start, sample_space_km=space, cluster=cluster, years=years, sample=sample,
                  ring=None, placebo_start=pd.NA, subgroup=None)
    first = years.split(",")[0]
    k = 0
    for y in ["ln_pc_exp", "poor", "subj_poor_living"]:
        for m in (1, 2, 3):
            sid = f"base-{y}-{m}"
            common = dict(spec_id=sid, family="base", outcome=y, model=m, nobs=1000 + m, nclusters=50,
                          r2=0.3 + m / 100, r2_within=0.1, radius_km=radius, terms="D", **design)
            p = pvals[k]
            k += 1
            rows.append({**common, "term": "D", "role": "treatment", "coef": (-1) ** k * 0.05, "se": 0.02,
                         "pvalue": p, "ci_low": -0.1, "ci_high": 0.1})
            for term in (["head_age"] if m >= 2 else []) + [f"year::{int(first) + 1}:rural"]:
                rows.append({**common, "term": term, "role": "control", "coef": rng.normal(), "se": 0.1,
                             "pvalue": 0.5, "ci_low": -1, "ci_high": 1})
    for y in ["ln_pc_exp", "poor", "subj_poor_living", "poverty_gap"]:
        for j, sem in enumerate(["2010-II", "2007-II", "2011-I"]):
            rows.append(dict(spec_id=f"sem-{y}", family="semester", outcome=y, model=3, nobs=900,
                             nclusters=50, r2=0.4, r2_within=0.1, radius_km=radius, **design,
                             terms=f'i(semester, treated, ref="{first}-I")',
                             term=f"semester::{sem}:treated", role="treatment", coef=0.01 * (j + 1),
                             se=0.005, pvalue=[0.001, 0.3, 0.02][j], ci_low=0, ci_high=0.02))
    return pd.DataFrame(rows)


def test_table6_structure_on_synthetic_store():
    t = T.table6(T.Store(_store()))
    assert t.columns == ["Model (1)", "Model (2)", "Model (3)"]
    kinds = [r.kind for r in t.rows]
    assert kinds.count("panel") == 3 and kinds.count("coef") == 3 and kinds.count("se") == 3
    assert kinds[-5:] == ["yesno"] * 5
    for i, r in enumerate(t.rows):
        if r.kind == "coef":
            assert t.rows[i + 1].kind == "se"  # SE directly below its coefficient
            for cell, v, se_cell in zip(r.cells, r.values, t.rows[i + 1].cells):
                b, s, p = v
                assert cell == f"{b:.4f}{stars(p)}" and se_cell == f"({s:.4f})"
    post = [r for r in t.rows if r.kind == "coef"]
    assert [c for r in post for c in r.cells] == ["-0.0500", "0.0500*", "-0.0500**", "0.0500***", "-0.0500",
                                                  "0.0500*", "-0.0500**", "0.0500***", "-0.0500"]
    yes = {r.label: r.cells for r in t.rows if r.kind == "yesno"}
    assert yes["Household head characteristics"] == ["No", "Yes", "Yes"]
    assert yes["Household and housing characteristics"] == ["No", "No", "Yes"]
    obs = [r for r in t.rows if r.label == "Observations"][0]
    assert obs.cells == ["1,001", "1,002", "1,003"]
    assert not any("Empty cells" in n for n in t.notes)


def test_semester_order_and_annex_empty_cells():
    s = T.Store(_store())
    t7 = T.table7(s)
    assert [r.label for r in t7.rows if r.kind == "coef"] == ["Post × 2007-II", "Post × 2010-II", "Post × 2011-I"]
    assert "poverty_gap" not in " ".join(t7.columns) and len(t7.columns) == 3
    a = T.annex_a(T.Store(_store()))
    head = [r for r in a.rows if r.label == "Age of head"]
    assert len(head) == 3 and all(r.cells[0] == "" and r.cells[1] and r.cells[2] for r in head)
    assert [r.label for r in a.rows if r.kind == "coef"][:3] == ["Post", "Rural × 2008", "Age of head"]


def test_missing_estimates_are_named_not_hidden():
    store = _store()
    store = store[~((store["outcome"] == "poor") & (store["model"] == 2) & (store["family"] == "base"))]
    t = T.table6(T.Store(store))
    poor = [r for r in t.rows if r.kind == "coef"][1]
    assert poor.cells[1] == "" and poor.cells[0] and poor.cells[2]
    assert any("Empty cells: 1 estimate(s)" in n and "outcome=poor,model=2" in n for n in t.notes)


def test_bad_input_raises_clear_errors():
    with pytest.raises(T.TableError, match=r"estimates.parquet: missing column\(s\) \['pvalue'\]"):
        T.Store(_store().drop(columns="pvalue"))
    dup = pd.concat([_store(), _store().iloc[[0]]])
    with pytest.raises(T.TableError, match="2 rows for family=base term=D"):
        T.table6(T.Store(dup))
    with pytest.raises(T.TableError, match="table1.csv"):
        T.table1(pd.DataFrame({"departamento": ["X"]}))


def test_renderers_agree_on_synthetic_table(tmp_path):
    t = T.table6(T.Store(_store()))
    _check_all_formats(t, {fmt: T.render(t, fmt) for fmt in TABLE_FORMATS})
    T.write_excel([t], tmp_path / "x.xlsx")
    T.write_excel([t], tmp_path / "y.xlsx")
    _check_excel(tmp_path / "x.xlsx", [t])
    # the same tables give the same bytes: no clock in the zip entries or the document properties
    assert (tmp_path / "x.xlsx").read_bytes() == (tmp_path / "y.xlsx").read_bytes()
    import zipfile

    with zipfile.ZipFile(tmp_path / "x.xlsx") as z:
        assert {i.date_time for i in z.infolist()} == {T.ZIP_EPOCH}
        core = z.read("docProps/core.xml").decode()
        stamps = re.findall(r"<dcterms:(created|modified)[^>]*>([^<]*)<", core)
        assert stamps == [("created", "2014-01-01T00:00:00Z"), ("modified", "2014-01-01T00:00:00Z")], core


# ----------------------------------------------------------------------------- the design in the notes
def _matching_store(baseline_year=2009, months=(7, 8, 9, 10, 11), followup_year=2012, kernel="gaussian",
                    bandwidth=0.06, common_support="none", trim_pct=None, reps=200, seed=20140601) -> pd.DataFrame:
    from pra.store import join_ints, store_frame

    rows = []
    for y, b in [("ln_pc_exp", 0.1), ("poor", -0.05), ("subj_poor_self", -0.02), ("subj_poor_living", -0.03)]:
        for model, term in ((1, "att_dd"), (2, "dd")):
            rows.append(dict(spec_id=f"matching-{term}-{y}", family="matching", outcome=y, model=model, term=term,
                             role="treatment", coef=b, se=0.02, pvalue=0.01, ci_low=b - 0.04, ci_high=b + 0.04,
                             nobs=600, nclusters=80, sample="matching", cluster="locality",
                             years=join_ints([baseline_year, followup_year]), baseline_year=baseline_year,
                             baseline_months=join_ints(months), followup_year=followup_year, kernel=kernel,
                             bandwidth=bandwidth, common_support=common_support, trim_pct=trim_pct,
                             bootstrap_reps=reps, seed=seed, dropped="{}"))
    return store_frame(rows)


def _table16_csv(reps_ok=190) -> pd.DataFrame:
    rows = []
    for row, label in (("a", "matching DD"), ("b", "DD without matching")):
        for y in ["ln_pc_exp", "poor", "subj_poor_self", "subj_poor_living"]:
            rows.append(dict(row=row, label=label, outcome=y, estimate=0.1, se=0.05, pvalue=0.04, reps_ok=reps_ok,
                             n_treated_baseline=300, n_control_baseline=200, n_treated_followup=310,
                             n_control_followup=190))
    return pd.DataFrame(rows)


def _design_tables(store: pd.DataFrame, matching: pd.DataFrame, years=(2009, 2012),
                   reps_ok=190) -> dict[str, T.Table]:
    s = T.Store(store)
    m = T.matching_design(matching)
    t3 = pd.DataFrame({"year": [str(years[0]), str(years[1]), "Total"], "controls": [1, 2, 3],
                       "treated": [1, 1, 2], "total": [2, 3, 5]})
    t15 = pd.DataFrame({"period": [years[1]], "variable": ["head_age"], "mean_t_before": [40.0],
                        "mean_c_before": [41.0], "diff_before": [-1.0], "p_before": [0.2], "mean_t_after": [40.0],
                        "mean_c_after": [40.5], "diff_after": [-0.5], "p_after": [0.5]})
    return {"table6": T.table6(s), "table7": T.table7(s), "table8": T.table8(s), "annexA": T.annex_a(s),
            "table11": T.table11(s), "table12": T.table12(s), "table13": T.table13(s),
            "summary": T.summary_table(s, matching), "table3": T.table3(t3, m), "table15": T.table15(t15, m),
            "table16": T.table16(_table16_csv(reps_ok=reps_ok), m),
            "table2": T.table2(pd.DataFrame({"year": ["2010"], "0-2": [3]}), s.design)}


def _notes(tables: dict[str, T.Table], names=None) -> str:
    return " ".join(n for k, t in tables.items() if names is None or k in names for n in t.notes)


DD_TABLES = ["table6", "table7", "table8", "annexA", "table11", "table12", "table13", "summary", "table2"]
# what the notes say for the study's design: none of it may appear when the design differs
DEFAULT_DD_TEXT = ["2010–2012", "2007–2009", "clustered by locality", "within 10 km", "within 20 km",
                   "producer households"]
DEFAULT_MATCHING_TEXT = ["July–November", "ENAHO 2009", "2012 survey", "Gaussian", "bandwidth 0.06",
                         "200 bootstrap", "seed 20140601", "no common-support restriction"]


def test_notes_describe_the_default_design():
    """Positive control for the test below: the study's design is what the notes say by default."""
    notes = _design_tables(_store(), _matching_store())
    dd, match = _notes(notes, DD_TABLES), _notes(notes, ["table3", "table15", "table16", "summary"])
    for text in DEFAULT_DD_TEXT:
        assert text in dd, text
    for text in DEFAULT_MATCHING_TEXT:
        assert text in match, text
    assert "first semester (2007-I) omitted" in notes["table7"].notes[-1]
    assert "Treated, 2009" in [r.label for r in notes["table16"].rows]


def test_notes_follow_another_design():
    """Another post start, cluster, radius, sample space, household sample, baseline months and
    matching settings in the stores: every note says so, and none keeps the study's words."""
    store = _store(post_start=2011, cluster="ubigeo", years="2008,2009,2010,2011,2012", radius=12.0,
                   space=25.0, sample="producers_and_laborers")
    matching = _matching_store(baseline_year=2010, months=(1, 2, 3), followup_year=2013, kernel="epanechnikov",
                               bandwidth=0.1, common_support="trim", trim_pct=10.0, reps=99, seed=7)
    tabs = _design_tables(store, matching, years=(2010, 2013), reps_ok=95)
    dd, match = _notes(tabs, DD_TABLES), _notes(tabs, ["table3", "table15", "table16", "summary"])
    for text in ["post period (2011–2012)", "district (ubigeo)", "Pre-period years only (2008–2010)",
                 "within 12 km", "within 25 km", "producer and laborer households", "years 2008–2012"]:
        assert text in dd, text
    assert "first semester (2008-I) omitted" in tabs["table7"].notes[-1]
    assert "locality characteristics × year against 2008" in tabs["annexA"].notes[-1]
    for text in ["ENAHO 2010 producer households interviewed January–March", "programme's 2013 survey",
                 "Epanechnikov kernel", "bandwidth 0.1", "trimmed at 10%", "99 bootstrap replications",
                 "seed 7", "95 of 99 replications succeeded"]:
        assert text in match, text
    assert [r.label for r in tabs["table16"].rows if r.kind == "stat"] == [
        "Treated, 2010", "Controls, 2010", "Treated, 2013", "Controls, 2013"]
    for text in DEFAULT_DD_TEXT:
        assert text not in dd, text
    for text in DEFAULT_MATCHING_TEXT:
        assert text not in match, text


def test_one_table_one_design():
    """Rows of one table recorded under two designs: an error naming the column, not a note
    that describes one of them."""
    mixed = pd.concat([_store(), _store(cluster="ubigeo").assign(spec_id=lambda d: d["spec_id"] + "x")])
    with pytest.raises(T.TableError, match="'cluster' takes 2 values"):
        T.table6(T.Store(mixed))
    old = _store().drop(columns=["years"])
    with pytest.raises(T.TableError, match=r"missing column\(s\) \['years'\]"):
        T.Store(old)


def test_design_words():
    from pra.report.design import months_text, period_text

    assert period_text([2012, 2010, 2011]) == "2010–2012" and period_text([2012]) == "2012"
    assert period_text([2007, 2009]) == "2007, 2009"
    assert months_text([7, 8, 9, 10, 11]) == "July–November" and months_text([1, 3]) == "January and March"
    assert months_text([12]) == "December" and months_text([1, 2, 5]) == "January, February and May"


def test_cluster_labels_cover_the_schema():
    """Every did.cluster the schema allows has the words the notes use for it."""
    import yaml

    from pra.config import SCHEMA
    from pra.report.design import CLUSTER_LABELS

    schema = yaml.safe_load(SCHEMA.read_text(encoding="utf-8"))
    assert schema["properties"]["did"]["properties"]["cluster"]["enum"] == list(CLUSTER_LABELS)


CAPTION_OVERRIDE = {"post_start": 2011, "did": {"cluster": "ubigeo"},
                    "matching": {"baseline_months": [1, 2, 3], "kernel": "epanechnikov", "bandwidth": 0.1}}


def _render_captions(config) -> dict[str, str]:
    """Every report/*.rst caption rendered as Snakemake renders it (Jinja with ``snakemake``)."""
    from types import SimpleNamespace

    import jinja2

    from pra.report.design import caption_texts

    # the params the rules pass to their captions (validation_summary: the validation block, seed)
    params = SimpleNamespace(captions=caption_texts(config), validation=config["validation"],
                             seed=config["seed"])
    smk = SimpleNamespace(config=config, params=params,
                          wildcards=SimpleNamespace(outcome="ln_pc_exp"))
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    out = {}
    for p in sorted((Path(__file__).parents[1] / "report").glob("*.rst")):
        out[p.stem] = env.from_string(p.read_text(encoding="utf-8")).render(snakemake=smk)
    return out


def test_captions_follow_the_configuration():
    """The report's captions come from the configuration: another post start, cluster, baseline
    months and kernel give captions that say so and keep none of the study's words."""
    import pra.config as pc

    default = _render_captions(pc.load())
    assert "post period (2010–2012)" in default["table6"] and "July–November" in default["table3"]
    other = _render_captions(pc.load(overrides=CAPTION_OVERRIDE))
    text = " ".join(other.values())
    for words in ["post period (2011–2012)", "district (ubigeo)", "Pre-period data only (2007–2010)",
                  "January–March", "Epanechnikov kernel", "bandwidth 0.1"]:
        assert words in text, words
    for words in ["2010–2012", "2007–2009", "July–November", "Gaussian", "0.06"]:
        assert words not in text, words
    # the matching design's balance tests stay clustered by populated centre (Table 15)
    assert "clustered by locality" in other["table15"]
    assert not [k for k, v in other.items() if "clustered by locality" in v and k != "table15"]


# the real workflow on another design: post start, cluster and baseline months overridden
OTHER_DESIGN = {"post_start": 2011, "did": {"cluster": "ubigeo", "radii_km": [10, 12]},
                "matching": {"baseline_months": [1, 2, 3, 4, 5, 6], "bootstrap_reps": 20}}


def _md_notes(path: Path) -> str:
    """The notes of a Markdown table: the lines after its last table row."""
    lines = path.read_text(encoding="utf-8").splitlines()
    last = max(i for i, ln in enumerate(lines) if ln.startswith("|"))
    return " ".join(ln for ln in lines[last + 1:] if ln.strip())


@pytest.mark.workflow
def test_workflow_tables_describe_another_design(tmp_path):
    """`--configfile` with another post start, cluster and baseline months: the stores record the
    design and every table's notes describe it, with none of the study's words left."""
    import yaml

    from workflow import TEST_CONFIG, snakemake

    other = tmp_path / "other_design.yaml"
    other.write_text(yaml.safe_dump(OTHER_DESIGN), encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    snakemake(work, "--cores", "2", "results/tables/tables.xlsx", configfiles=(TEST_CONFIG, other))
    res = work / "results"
    dd = pd.read_parquet(res / "estimates/estimates.parquet")
    assert set(dd["post_start"]) == {2011} and set(dd["cluster"]) == {"ubigeo"}
    m = pd.read_parquet(res / "matching/estimates.parquet")
    assert set(m["baseline_months"]) == {"1,2,3,4,5,6"} and set(m["bootstrap_reps"]) == {20}
    notes = {n: _md_notes(res / "tables" / f"{n}.md") for n in TABLE_NAMES}
    dd_tables = ["table6", "table7", "table8", "table9", "table10", "table11", "table12", "table13", "annexA"]
    for n in dd_tables:
        assert "clustered by district (ubigeo)" in notes[n], (n, notes[n])
        assert "clustered by locality" not in notes[n], (n, notes[n])
    for n in ["table6", "annexA"]:
        assert "post period (2011–2012)" in notes[n], (n, notes[n])
    assert "Pre-period years only (2007–2010)" in notes["table8"]
    assert "post period 2011–2012" in notes["summary"] and "district (ubigeo)" in notes["summary"]
    assert "interviewed January–June" in notes["table3"]
    assert "20 bootstrap replications" in notes["table16"]
    every = " ".join(notes.values())
    for text in ["2010–2012", "2007–2009", "July–November", "200 bootstrap"]:
        assert text not in every, text


# ----------------------------------------------------------------------------- format checks
class _HTMLTable(HTMLParser):
    def __init__(self):
        super().__init__()
        self.section, self.rows, self.heads, self.caption, self._cell, self._in = None, [], [], "", None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("thead", "tbody", "tfoot"):
            self.section = tag
        elif tag == "tr":
            self._row = {"class": a.get("class"), "cells": [], "span": []}
        elif tag in ("td", "th"):
            self._cell = ""
            self._span = int(a.get("colspan", 1))
        elif tag == "caption":
            self._in = "caption"

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self._row["cells"].append(self._cell)
            self._row["span"].append(self._span)
            self._cell = None
        elif tag == "tr":
            (self.rows if self.section == "tbody" else self.heads).append(self._row)
        elif tag == "caption":
            self._in = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data
        elif self._in == "caption":
            self.caption += data


def _md_cells(line: str) -> list[str]:
    parts = re.split(r"(?<!\\)\|", line.strip())[1:-1]
    return [p.strip().replace("\\|", "|").replace("\\*", "*") for p in parts]


def _check_all_formats(t: T.Table, text: dict[str, str]) -> None:
    """Structure of each rendering against the table model (rows, columns, stars, SEs)."""
    n, ncol = len(t.rows), len(t.columns)
    # the model itself: stars from p-values, SE in parentheses below each coefficient row
    for i, r in enumerate(t.rows):
        assert len(r.cells) == ncol, (t.name, r.label)
        if r.kind == "coef":
            for cell, v in zip(r.cells, r.values):
                if v is None:  # no estimate: empty, or a plain number (Table 15's means)
                    assert not cell.endswith("*"), (t.name, r.label, cell)
                    continue
                b, s, p = v
                m = COEF_RE.match(cell)
                assert m, (t.name, r.label, cell)
                assert m.group(1) == stars(p), (t.name, r.label, cell, p)
            if i + 1 < n and t.rows[i + 1].kind == "se":
                for cell, v in zip(t.rows[i + 1].cells, r.values):
                    assert (cell == "") == (v is None) and (cell == "" or SE_RE.match(cell)), (t.name, cell)
        if r.kind == "se":
            assert t.rows[i - 1].kind == "coef", (t.name, i)
    # CSV: row, kind, heads; cells identical to the model
    csv = pd.read_csv(__import__("io").StringIO(text["csv"]), dtype=str, keep_default_na=False)
    assert list(csv.columns) == ["row", "kind"] + T.unique_heads(t.columns)
    assert len(csv) == n
    assert csv["kind"].tolist() == [r.kind for r in t.rows]
    assert csv.iloc[:, 2:].values.tolist() == [r.cells for r in t.rows]
    # Markdown: title, head, rule, one line per row (panel rows italic), escaped stars
    lines = [ln for ln in text["md"].splitlines() if ln.startswith("|")]
    assert len(lines) == n + 2, (t.name, len(lines), n)
    body = [_md_cells(ln) for ln in lines[2:]]
    assert all(len(c) == ncol + 1 for c in body), t.name
    assert [c[1:] for c in body] == [r.cells for r in t.rows]
    assert text["md"].splitlines()[0] == f"**{T._md_cell(t.title)}**"
    # HTML: caption, one body row per model row, colspan covering the table
    p = _HTMLTable()
    p.feed(text["html"])
    assert p.caption == t.title
    assert len(p.rows) == n
    for hr, r in zip(p.rows, t.rows):
        assert hr["class"] == r.kind
        assert sum(hr["span"]) == ncol + 1
        if r.kind != "panel":
            assert hr["cells"] == [r.label] + r.cells
    # LaTeX: booktabs rules, one line per row, stars as superscripts matching the model
    tex = text["tex"]
    for rule in (r"\toprule", r"\midrule", r"\bottomrule", r"\begin{tabular}{l" + "c" * ncol + "}"):
        assert rule in tex, (t.name, rule)
    row_lines = tex.split(r"\midrule", 1)[1].split(r"\bottomrule")[0]
    row_lines = [ln for ln in row_lines.splitlines() if ln.endswith(r"\\")]
    assert len(row_lines) == n, (t.name, len(row_lines), n)
    for ln, r in zip(row_lines, t.rows):
        if r.kind == "coef":
            got = re.findall(r"\$\^\{(\*+)\}\$", ln)
            assert got == [c[len(c.rstrip("*")):] for c in r.cells if c.endswith("*")], (t.name, ln)
        if r.kind == "se":
            assert ln.count("(") == sum(c != "" for c in r.cells)


def _check_excel(path: Path, tables) -> None:
    from openpyxl import load_workbook

    wb = load_workbook(path)
    assert wb.sheetnames == [t.name for t in tables]
    for t in tables:
        ws = wb[t.name]
        values = [[("" if v is None else str(v)) for v in row] for row in ws.iter_rows(values_only=True)]
        assert values[0][0] == t.title
        head_at = 2 if t.groups else 1
        assert values[head_at][1:1 + len(t.columns)] == list(t.columns)
        body = values[head_at + 1: head_at + 1 + len(t.rows)]
        assert [row[:1 + len(t.columns)] for row in body] == [[r.label] + r.cells for r in t.rows]


# ----------------------------------------------------------------------------- real run
def _inputs(run_dir: Path) -> dict:
    r = run_dir / "results"
    return dict(store=pd.read_parquet(r / "estimates/estimates.parquet"),
                matching_store=pd.read_parquet(r / "matching/estimates.parquet"),
                table1_csv=pd.read_csv(r / "geo/table1.csv"), table2_csv=pd.read_csv(r / "geo/table2.csv"),
                dd_sample=pd.read_parquet(r / "geo/sample.parquet"),
                table3_csv=pd.read_csv(r / "matching/table3.csv"), table5_csv=pd.read_csv(r / "matching/table5.csv"),
                table14_csv=pd.read_csv(r / "matching/table14.csv"),
                table15_csv=pd.read_csv(r / "matching/table15.csv"),
                table16_csv=pd.read_csv(r / "matching/table16.csv"))


@pytest.fixture(scope="module")
def built(run_dir):
    return T.build_all(**_inputs(run_dir))


@pytest.mark.workflow
def test_every_table_in_every_format(run_dir, built):
    out = run_dir / "results" / "tables"
    assert [t.name for t in built] == TABLE_NAMES
    for t in built:
        text = {fmt: (out / f"{t.name}.{fmt}").read_text(encoding="utf-8") for fmt in TABLE_FORMATS}
        # the files are the rendering of the same model
        for fmt in ("tex", "md", "csv"):
            assert text[fmt] == T.render(t, fmt), (t.name, fmt)
        _check_all_formats(t, text)
        assert len(t.rows) > 0 and t.notes, t.name
    _check_excel(out / "tables.xlsx", built)


@pytest.mark.workflow
def test_coefficients_and_stars_match_the_store(run_dir):
    """Table 6 cells re-derived from the estimates store, read back from the CSV output."""
    store = pd.read_parquet(run_dir / "results/estimates/estimates.parquet")
    csv = pd.read_csv(run_dir / "results/tables/table6.csv", dtype=str, keep_default_na=False)
    panel, checked = None, 0
    for i, r in csv.iterrows():
        if r["kind"] == "panel":
            panel = {v: k for k, v in T.OUTCOME_LABELS.items()}[r["row"]]
        if r["kind"] == "coef":
            for m in (1, 2, 3):
                e = store[(store.family == "base") & (store.term == "D") & (store.outcome == panel)
                          & (store.model == m)].iloc[0]
                assert r[f"Model ({m})"] == f"{e.coef:.4f}{stars(e.pvalue)}"
                assert csv.loc[i + 1, f"Model ({m})"] == f"({e.se:.4f})"
                checked += 1
    assert checked == 9
    t16 = pd.read_csv(run_dir / "results/matching/table16.csv")
    out16 = pd.read_csv(run_dir / "results/tables/table16.csv", dtype=str, keep_default_na=False)
    a = out16[out16["row"].str.startswith("a)")].iloc[0]
    for j, y in enumerate(T.ordered_outcomes(t16["outcome"].unique()), 1):
        e = t16[(t16.row == "a") & (t16.outcome == y)].iloc[0]
        assert a[f"{T.OUTCOME_LABELS[y]} ({j})"] == f"{e.estimate:.4f}{stars(e.pvalue)}"


def _num(cell: str) -> float:
    return float(cell.rstrip("*").strip("()"))


@pytest.mark.workflow
def test_executive_summary_shows_planted_effects(run_dir):
    """Embedded data: ln expenditure up, monetary poverty down in the DD; every estimate of both
    designs within 3 standard errors of the planted effect (truth.json)."""
    truth = json.loads((run_dir / "resources/embedded/truth.json").read_text())["params"]
    planted = {("DD", "Ln(per capita expenditure)"): truth["planted"]["spatial_dd_ln_exp"],
               ("DD", "Monetary poverty"): truth["planted"]["spatial_dd_poverty_realised"],
               ("DD", "Subjective poverty 2 (living conditions)"): truth["planted"]["spatial_dd_subjective"],
               ("Matching DD", "Ln(per capita expenditure)"): truth["matching"]["att_dd_ln_exp"],
               ("Matching DD", "Monetary poverty"): truth["matching"]["att_dd_poverty"],
               ("Matching DD", "Subjective poverty 1 (self-definition)"): truth["matching"]["att_dd_self"],
               ("Matching DD", "Subjective poverty 2 (living conditions)"): truth["matching"]["att_dd_living"]}
    csv = pd.read_csv(run_dir / "results/tables/summary.csv", dtype=str, keep_default_na=False)
    assert csv["row"].tolist()[::2] == ["Ln(per capita expenditure)", "Monetary poverty",
                                        "Subjective poverty 1 (self-definition)",
                                        "Subjective poverty 2 (living conditions)"]
    assert csv.loc[5, "DD"] == "" and csv.loc[4, "DD"] == ""  # self-definition: not in ENAHO 2012
    # Signs for the DD only: at test scale the matching DD's SE (~0.2 on ln expenditure, about
    # twice the planted 0.102) makes its sign a coin flip across seeds; it is held to the planted
    # value by the 3-SE check below, and its recovery at study scale by test_matching_embedded.
    assert _num(csv.loc[0, "DD"]) > 0, "DD: ln expenditure effect should be positive"
    assert _num(csv.loc[2, "DD"]) < 0, "DD: monetary poverty effect should be negative"
    for (col, label), value in planted.items():
        i = csv.index[csv["row"] == label][0]
        est, se = _num(csv.loc[i, col]), _num(csv.loc[i + 1, col])
        assert abs(est - value) <= 3 * se, f"{col} {label}: {est} vs planted {value:.4f} (SE {se})"


TEX_ENGINES = ["pdflatex", "lualatex", "tectonic"]


@pytest.mark.workflow
def test_latex_compiles(run_dir, tmp_path):
    engine = next((e for e in TEX_ENGINES if shutil.which(e)), None)
    if engine is None:
        pytest.skip(f"no TeX engine on PATH: none of {TEX_ENGINES} found; LaTeX structure is still "
                    "checked in test_every_table_in_every_format")
    body = "\n".join(f"\\input{{{(run_dir / 'results/tables' / f'{n}.tex').as_posix()}}}\n\\clearpage"
                     for n in TABLE_NAMES)
    doc = tmp_path / "tables.tex"
    doc.write_text("\\documentclass{article}\n\\usepackage[T1]{fontenc}\n\\usepackage[utf8]{inputenc}\n"
                   "\\usepackage{booktabs}\n\\usepackage[landscape,margin=1cm]{geometry}\n"
                   "\\begin{document}\n" + body + "\n\\end{document}\n")
    cmd = [engine, str(doc)] if engine == "tectonic" else [engine, "-interaction=nonstopmode", "-halt-on-error", doc.name]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert (tmp_path / "tables.pdf").stat().st_size > 1000
    # every table fits a landscape page (1 cm margins): no box overfull by more than 20 pt
    log = (tmp_path / "tables.log").read_text(errors="replace")
    wide = [float(w) for w in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]
    assert all(w <= 20 for w in wide), f"tables wider than the page by {wide} pt (see {tmp_path / 'tables.log'})"


@pytest.mark.workflow
def test_speccurve_outputs(run_dir):
    from pra.report.speccurve import curve_data

    store = pd.read_parquet(run_dir / "results/estimates/estimates.parquet")
    for y in ["ln_pc_exp", "poor", "subj_poor_living"]:
        csv = pd.read_csv(run_dir / f"results/figures/speccurve_{y}.csv")
        assert csv["coef"].is_monotonic_increasing and csv["rank"].tolist() == list(range(1, len(csv) + 1))
        d, left = curve_data(store, y)
        assert csv["spec_id"].tolist() == d["spec_id"].tolist()
        t = store[(store.outcome == y) & (store.role == "treatment")]
        assert len(d) + sum(left.values()) == len(t)  # every treatment row drawn or counted
        assert {"base", "radius", "ring", "sample"} <= set(d["family"])
        assert "placebo" not in set(d["family"])  # effect specifications only (issue 18)
        assert left["family:placebo (placebo, not an effect specification)"] > 0
        png = (run_dir / f"results/figures/speccurve_{y}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and (run_dir / f"results/figures/speccurve_{y}.pdf").stat().st_size > 0


@pytest.mark.workflow
def test_results_index(run_dir):
    text = (run_dir / "results" / "README.md").read_text()
    import hashlib

    for rel in ["results/tables/table6.tex", "results/tables/tables.xlsx", "results/estimates/estimates.parquet",
                "results/figures/speccurve_poor.png", "resources/embedded/centros_poblados.csv"]:
        h = hashlib.sha256((run_dir / rel).read_bytes()).hexdigest()
        assert f"| `{rel}` |" in text and f"`{h}`" in text, rel
    assert "## Configuration" in text and "treatment_radius_km: 10" in text
    assert not re.search(r"20\d\d-\d\d-\d\dT\d\d:\d\d", text)  # no timestamps: deterministic
