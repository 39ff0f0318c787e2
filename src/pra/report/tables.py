"""Publication tables: a small table model, five renderers and one builder per table of the study.

Why hand formatting: pyfixest's ``etable`` (and ``maketables.ETable``) format *fitted model
objects*; the pipeline keeps only the tidy estimates store (one row per coefficient, written by
many Snakemake jobs), so there is no fitted model to pass them. ``maketables.MTable`` renders a
generic DataFrame to LaTeX/HTML/Word but has no Markdown, CSV or Excel output and its HTML goes
through great-tables; one renderer set over one table model keeps the five formats identical
(same rows, same stars, same notes), which the tests check cell by cell.

The model (:class:`Table`): a title, column heads (optionally grouped by a spanning head), rows
and notes. A row has a label, one text cell per column and a ``kind``:

* ``coef``  coefficient with stars (:func:`pra.did.stars`: * 10%, ** 5%, *** 1%); the raw
  estimate, SE and p-value of each cell are kept in ``Row.values`` so tests can check the stars;
* ``se``    the standard error in parentheses, directly below its ``coef`` row (empty label);
* ``stat``  N, R² and other numbers;  ``yesno``  fixed effects / control groups (Yes/No);
* ``panel`` a panel heading spanning the table (e.g. "a) By education of the head");
* ``text``  plain cells (descriptive tables).

Every builder takes the inputs as DataFrames (the estimates store, the stage CSVs) and returns a
:class:`Table`; :func:`build_all` builds every table the inputs allow.
"""
from __future__ import annotations

import csv
import html
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import pandas as pd

from pra.did import stars
from pra.did.subgroups import SUBGROUPS, in_table, level_label, level_order
from pra.geo.sample import SAMPLE_HEADS, SAMPLE_LABELS, SAMPLES
from pra.report import TABLE_NAMES
from pra.report.design import (OUTCOME_LABELS, STAR_NOTE, DDDesign, MatchingDesign,  # noqa: F401
                               cluster_text, dd_design, km, matching_design, ordered_outcomes, outcome_label,
                               period_text)

ROW_KINDS = ("coef", "se", "stat", "yesno", "panel", "text")
FORMATS = ("tex", "html", "md", "csv")  # = pra.report.TABLE_FORMATS

# Control rows of the models (Annex A, Table 6's Yes/No rows): label per store term.
TERM_LABELS = {
    "D": "Post", "head_female": "Female head", "head_age": "Age of head",
    "educ_2": "Incomplete primary", "educ_3": "Complete primary", "educ_4": "Incomplete secondary",
    "educ_5": "Complete secondary", "educ_6": "Higher non-university", "educ_7": "University",
    "head_married": "Married or partnered", "head_migrant": "Migrant head",
    "electricity": "Electricity", "no_water": "No public water", "no_sanitation": "No sanitation service",
    "cook_firewood": "Cooks with firewood/coal/manure", "wall_brick": "Brick walls",
    "floor_finished": "Finished floor", "roof_concrete_tile": "Concrete/tile roof",
    "head_native_lang": "Native language (Quechua/Aymara)", "has_laborer": "Has laborer member",
    "rural": "Rural", "altitude": "Altitude", "coast": "Coast", "selva": "Selva",
}
# Summary rows: the two subjective poverty measures are numbered as in the study's summary.
SUMMARY_LABELS = {"subj_poor_self": "Subjective poverty 1 (self-definition)",
                  "subj_poor_living": "Subjective poverty 2 (living conditions)"}
# Why an outcome of the matching design has no spatial DD estimate (a fact of ENAHO's questionnaires).
NO_DD_REASON = {"subj_poor_self": "ENAHO 2012 does not ask it"}


class TableError(ValueError):
    """Bad or missing input for a table: the message names the file/column/rows."""


@dataclass
class Row:
    label: str
    cells: list[str]
    kind: str = "text"
    # per cell: (estimate, se, pvalue) for coef rows, None elsewhere
    values: list[tuple[float, float, float] | None] | None = None

    def __post_init__(self):
        if self.kind not in ROW_KINDS:
            raise ValueError(f"Row {self.label!r}: kind {self.kind!r} not in {ROW_KINDS}")


@dataclass
class Table:
    name: str            # file stem: table6, annexA, summary
    title: str
    columns: list[str]   # heads of the data columns (the label column is ``stub``)
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stub: str = ""
    groups: list[tuple[str, int]] | None = None  # spanning heads over the columns: (text, width)

    def add(self, label: str, cells: Sequence[str], kind: str = "text", values=None) -> None:
        cells = [str(c) for c in cells]
        if len(cells) != len(self.columns):
            raise ValueError(f"{self.name}: row {label!r} has {len(cells)} cells, table has "
                             f"{len(self.columns)} columns {self.columns}")
        self.rows.append(Row(label, cells, kind, values))

    def panel(self, label: str) -> None:
        self.rows.append(Row(label, [""] * len(self.columns), "panel"))

    def add_estimates(self, label: str, ests: Sequence[dict | pd.Series | None], digits: int = 4) -> None:
        """A coefficient row (estimate + stars) and its SE row below; ``None`` → empty cell."""
        cells, ses, vals = [], [], []
        for e in ests:
            if e is None:
                cells.append(""), ses.append(""), vals.append(None)
                continue
            b, s, p = float(e["coef"]), float(e["se"]), float(e["pvalue"])
            cells.append(fmt_coef(b, p, digits))
            ses.append(fmt_se(s, digits))
            vals.append((b, s, p))
        self.add(label, cells, "coef", vals)
        self.add("", ses, "se")

    def frame(self) -> pd.DataFrame:
        """The rendered table as a DataFrame: ``row`` (label), ``kind``, then one column per head."""
        cols = unique_heads(self.columns)
        return pd.DataFrame([[r.label, r.kind, *r.cells] for r in self.rows], columns=["row", "kind", *cols])


def unique_heads(columns: Sequence[str]) -> list[str]:
    """Column heads made unique (repeated heads under different spanning groups get ' [2]')."""
    seen: dict[str, int] = {}
    out = []
    for c in columns:
        seen[c] = seen.get(c, 0) + 1
        out.append(c if seen[c] == 1 else f"{c} [{seen[c]}]")
    return out


# --------------------------------------------------------------------------------------------
# number formats
def _finite(x) -> bool:
    try:
        return x is not None and not pd.isna(x) and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def fmt_coef(b: float, p: float, digits: int = 4) -> str:
    if not _finite(b):
        return ""
    return f"{b:.{digits}f}{stars(float(p)) if _finite(p) else ''}"


def fmt_se(s: float, digits: int = 4) -> str:
    return f"({s:.{digits}f})" if _finite(s) else ""


def fmt_int(n) -> str:
    return f"{int(round(float(n))):,}" if _finite(n) else ""


def fmt_num(x, digits: int = 3) -> str:
    return f"{float(x):,.{digits}f}" if _finite(x) else ""


# --------------------------------------------------------------------------------------------
# renderers
_TEX_ESCAPE = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
               "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}",
               "≤": r"$\leq$", "≥": r"$\geq$", "×": r"$\times$", "²": r"$^2$", "–": "--", "—": "---",
               "−": "-", "Ñ": r"\~N", "ñ": r"\~n", "á": r"\'a", "é": r"\'e", "í": r"\'{\i}",
               "ó": r"\'o", "ú": r"\'u"}


def tex_escape(text: str) -> str:
    return "".join(_TEX_ESCAPE.get(ch, ch) for ch in str(text))


def _tex_cell(text: str) -> str:
    # stars as superscripts, as in the published tables
    t = str(text)
    core = t.rstrip("*")
    n = len(t) - len(core)
    return tex_escape(core) + (f"$^{{{'*' * n}}}$" if n and core else tex_escape("*" * n) if n else "")


def to_latex(t: Table) -> str:
    """A standalone-includable booktabs ``table`` environment (needs ``\\usepackage{booktabs}``)."""
    ncol = len(t.columns)
    lines = [r"\begin{table}[htbp]", r"\centering", rf"\caption{{{tex_escape(t.title)}}}",
             rf"\label{{tab:{t.name}}}"]
    # wide tables (Tables 1, 8, 12: nine columns) in a smaller font with tighter columns
    lines += [r"\small"] if ncol <= 6 else [r"\scriptsize", r"\setlength{\tabcolsep}{3pt}"]
    lines += [rf"\begin{{tabular}}{{l{'c' * ncol}}}", r"\toprule"]
    if t.groups:
        heads, rules, pos = [], [], 2
        for text, width in t.groups:
            heads.append(rf"\multicolumn{{{width}}}{{c}}{{{tex_escape(text)}}}" if text else
                         " & ".join([""] * width) if width > 1 else "")
            if text:
                rules.append(rf"\cmidrule(lr){{{pos}-{pos + width - 1}}}")
            pos += width
        lines.append(" & ".join([""] + heads) + r" \\")
        if rules:
            lines.append(" ".join(rules))
    lines.append(" & ".join([tex_escape(t.stub)] + [tex_escape(c) for c in t.columns]) + r" \\")
    lines.append(r"\midrule")
    for r in t.rows:
        if r.kind == "panel":
            lines.append(rf"\multicolumn{{{ncol + 1}}}{{l}}{{\textit{{{tex_escape(r.label)}}}}} \\")
        else:
            if r.kind in ("stat", "yesno") and lines[-1] != r"\midrule" and \
                    not any(x.kind in ("stat", "yesno") for x in [_prev(t, r)] if x is not None):
                lines.append(r"\midrule")
            lines.append(" & ".join([tex_escape(r.label)] + [_tex_cell(c) for c in r.cells]) + r" \\")
    lines.append(r"\bottomrule")
    lines.append(r"\end{tabular}")
    if t.notes:
        lines.append(r"\par\smallskip\parbox{\linewidth}{\footnotesize " +
                     " ".join(tex_escape(n) for n in t.notes) + "}")
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def _prev(t: Table, row: Row) -> Row | None:
    i = next(k for k, r in enumerate(t.rows) if r is row)
    return t.rows[i - 1] if i > 0 else None


def to_html(t: Table, standalone: bool = False) -> str:
    """An HTML ``<table>`` (class ``pra-table``); ``standalone`` wraps it in a minimal page."""
    e = html.escape
    out = [f'<table class="pra-table" id="{e(t.name)}">', f"<caption>{e(t.title)}</caption>", "<thead>"]
    if t.groups:
        out.append("<tr><th></th>" + "".join(
            f'<th colspan="{w}" class="group">{e(txt)}</th>' for txt, w in t.groups) + "</tr>")
    out.append(f"<tr><th>{e(t.stub)}</th>" + "".join(f"<th>{e(c)}</th>" for c in t.columns) + "</tr>")
    out.append("</thead>")
    out.append("<tbody>")
    for r in t.rows:
        if r.kind == "panel":
            out.append(f'<tr class="panel"><td colspan="{len(t.columns) + 1}"><em>{e(r.label)}</em></td></tr>')
        else:
            out.append(f'<tr class="{r.kind}"><td>{e(r.label)}</td>' +
                       "".join(f"<td>{e(c)}</td>" for c in r.cells) + "</tr>")
    out.append("</tbody>")
    if t.notes:
        out.append(f'<tfoot><tr><td colspan="{len(t.columns) + 1}" class="notes">'
                   + " ".join(e(n) for n in t.notes) + "</td></tr></tfoot>")
    out.append("</table>")
    body = "\n".join(out) + "\n"
    if not standalone:
        return body
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
            f"<title>{e(t.title)}</title><style>{HTML_CSS}</style></head><body>\n{body}</body></html>\n")


HTML_CSS = ("body{font-family:sans-serif;margin:1em}table.pra-table{border-collapse:collapse;"
            "border-top:2px solid #000;border-bottom:2px solid #000}table.pra-table caption"
            "{font-weight:bold;text-align:left;padding:.3em 0}table.pra-table th{border-bottom:"
            "1px solid #000;padding:.2em .6em}table.pra-table td{padding:.1em .6em;text-align:center}"
            "table.pra-table td:first-child{text-align:left;white-space:nowrap}tr.se td{color:#333}tr.panel td"
            "{text-align:left;padding-top:.5em}table.pra-table td.notes{font-size:80%;text-align:left;"
            "white-space:normal;max-width:60em;border-top:1px solid #000}th.group{border-bottom:1px solid #999}")


def _md_cell(text: str) -> str:
    # a literal '*' would start emphasis in Markdown
    return str(text).replace("|", r"\|").replace("*", r"\*")


def to_markdown(t: Table) -> str:
    """A GitHub-flavoured Markdown table with the title above and the notes below."""
    heads = [t.stub] + list(t.columns)
    if t.groups:  # flatten spanning heads into the column heads
        flat = []
        for txt, w in t.groups:
            flat += [txt] * w
        heads = [t.stub] + [f"{g}: {c}" if g else c for g, c in zip(flat, t.columns)]
    lines = [f"**{_md_cell(t.title)}**", "", "| " + " | ".join(_md_cell(h) for h in heads) + " |",
             "|" + "|".join([":---"] + ["---:"] * len(t.columns)) + "|"]
    for r in t.rows:
        label = f"*{_md_cell(r.label)}*" if r.kind == "panel" else _md_cell(r.label)
        lines.append("| " + " | ".join([label] + [_md_cell(c) for c in r.cells]) + " |")
    if t.notes:
        lines += [""] + [_md_cell(n) for n in t.notes]
    return "\n".join(lines) + "\n"


def to_csv(t: Table) -> str:
    """The rendered cells: columns ``row``, ``kind``, then the (unique) column heads."""
    buf = io.StringIO()
    t.frame().to_csv(buf, index=False, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    return buf.getvalue()


RENDERERS = {"tex": to_latex, "html": to_html, "md": to_markdown, "csv": to_csv}


def render(t: Table, fmt: str) -> str:
    if fmt not in RENDERERS:
        raise ValueError(f"render: unknown format {fmt!r} (known: {list(RENDERERS)})")
    return RENDERERS[fmt](t)


def write_excel(tables: Sequence[Table], path: str | Path) -> None:
    """One workbook, one sheet per table (title row, heads, rows, notes), written atomically.

    Byte-stable between runs: openpyxl stamps the current time into docProps/core.xml (fixed
    created/modified here) and zipfile dates every entry by the clock (rewritten to 1980-01-01).
    """
    import datetime as dt

    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    from pra.io import atomic_path

    wb = Workbook()
    wb.remove(wb.active)
    names = set()
    for t in tables:
        sheet = t.name[:31]
        if sheet in names:
            raise ValueError(f"write_excel: duplicate sheet name {sheet!r}")
        names.add(sheet)
        ws = wb.create_sheet(sheet)
        ws.append([t.title])
        ws["A1"].font = Font(bold=True)
        if t.groups:
            flat = [""]
            for txt, w in t.groups:
                flat += [txt] + [""] * (w - 1)
            ws.append(flat)
        ws.append([t.stub] + list(t.columns))
        for c in ws[ws.max_row]:
            c.font = Font(bold=True)
        for r in t.rows:
            ws.append([r.label] + list(r.cells))
            if r.kind == "panel":
                ws.cell(ws.max_row, 1).font = Font(italic=True)
        for n in t.notes:
            ws.append([n])
        ws.column_dimensions["A"].width = 44
        for row in ws.iter_rows(min_row=2, min_col=2):
            for c in row:
                c.alignment = Alignment(horizontal="center")
    fixed = dt.datetime(2014, 1, 1)
    wb.properties.created = fixed
    wb.properties.modified = fixed
    wb.properties.creator = "pra"
    buf = io.BytesIO()
    wb.save(buf)
    with atomic_path(path) as tmp:
        tmp.write_bytes(_fixed_zip_times(buf.getvalue()))


ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def _fixed_zip_times(data: bytes) -> bytes:
    """Rewrite an .xlsx (a zip) with every entry dated 1980-01-01: zipfile stamps the clock."""
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=ZIP_EPOCH)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl sets 'modified' to now on save
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                              rb"\g<1>2014-01-01T00:00:00Z\g<2>", data)
            dst.writestr(fixed, data)
    return out.getvalue()


# --------------------------------------------------------------------------------------------
# store access
# what the tables read from the store (pra.store.STORE_COLUMNS has more)
STORE_REQUIRED = ["spec_id", "family", "outcome", "model", "term", "role", "coef", "se", "pvalue",
                  "nobs", "r2", "radius_km", "ring", "sample", "placebo_start", "subgroup",
                  "post_start", "sample_space_km", "cluster", "years"]


def check_columns(df: pd.DataFrame, required: Iterable[str], where: str) -> None:
    miss = [c for c in required if c not in df.columns]
    if miss:
        raise TableError(f"{where}: missing column(s) {miss} (has {sorted(map(str, df.columns))})")


class Store:
    """The DD estimates store with lookups that name what is missing or duplicated."""

    def __init__(self, df: pd.DataFrame, where: str = "results/estimates/estimates.parquet"):
        check_columns(df, STORE_REQUIRED, where)
        self.df = df
        self.where = where
        self.missing: list[str] = []  # cells left empty because the grid has no such estimate
        self._design: DDDesign | None = None
        self.design  # noqa: B018  (read now: a store of two designs stops before any table)

    @property
    def design(self) -> DDDesign:
        """The design of the base specification (radius, sample, post period, cluster, years)."""
        if self._design is None:
            try:
                self._design = dd_design(self.df, where=self.where)
            except ValueError as err:
                raise TableError(str(err)) from None
        return self._design

    def rows(self, family: str, role: str = "treatment", **eq) -> pd.DataFrame:
        m = (self.df["family"] == family) & (self.df["role"] == role)
        for k, v in eq.items():
            col = self.df[k]
            m &= col.isna() if v is None else (col == v)
        return self.df[m]

    def one(self, family: str, term: str, **eq) -> pd.Series | None:
        """The unique row of ``family`` and ``term`` matching ``eq``; None (recorded) if absent."""
        r = self.rows(family, **eq)
        r = r[r["term"] == term]
        if len(r) > 1:
            raise TableError(f"{self.where}: {len(r)} rows for family={family} term={term} {eq} "
                             f"(spec_ids {sorted(r['spec_id'].unique())}): expected one")
        if r.empty:
            self.missing.append(f"{family}/{term}/" + ",".join(f"{k}={v}" for k, v in eq.items()))
            return None
        return r.iloc[0]

    def spec_stat(self, family: str, stat: str, **eq) -> float | None:
        r = self.rows(family, **eq)
        if r.empty:
            return None
        vals = r.drop_duplicates("spec_id")[stat]
        if len(vals) > 1:
            raise TableError(f"{self.where}: {len(vals)} specs for family={family} {eq}: expected one")
        return vals.iloc[0]

    def model_text(self, family: str) -> str:
        """"model 3" (or "models 1–3") as the store records the family's specifications."""
        ms = sorted(int(m) for m in self.rows(family)["model"].dropna().unique())
        if not ms:
            return "model (none estimated)"
        return f"model {ms[0]}" if len(ms) == 1 else f"models {period_text(ms)}"

    def family_models(self, family: str) -> list[int]:
        return sorted(int(m) for m in self.rows(family)["model"].dropna().unique())


def _missing_note(t: Table, store: Store, before: int) -> None:
    miss = store.missing[before:]
    if miss:
        t.notes.append(f"Empty cells: {len(miss)} estimate(s) not in the estimates store for this "
                       f"configuration ({'; '.join(miss[:6])}{' …' if len(miss) > 6 else ''}).")


def _stat_row(t: Table, label: str, values: Sequence, kind_fmt=fmt_int) -> None:
    t.add(label, [kind_fmt(v) if v is not None else "" for v in values], "stat")


MODEL_YESNO = [
    ("Fixed locality effects", (1, 1, 1)),
    ("Fixed time effects", (1, 1, 1)),
    ("Locality characteristics × year", (1, 1, 1)),
    ("Household head characteristics", (0, 1, 1)),
    ("Household and housing characteristics", (0, 0, 1)),
]


def _yesno(t: Table, models: Sequence[int]) -> None:
    for label, flags in MODEL_YESNO:
        t.add(label, ["Yes" if flags[int(m) - 1] else "No" for m in models], "yesno")


def _models(store: Store) -> list[int]:
    ms = store.family_models("base")
    return ms or [1, 2, 3]


def _outcomes(store: Store, family: str = "base") -> list[str]:
    present = set(store.rows(family)["outcome"])
    return ordered_outcomes(present or set(store.rows("base")["outcome"]))


def _one_model(store: Store, family: str, n: int) -> list[int]:
    """The model of a single-model family, repeated for ``n`` columns (Yes/No rows)."""
    ms = store.family_models(family)
    if len(ms) > 1:
        raise TableError(f"{store.where}: family {family!r} has models {ms}; its table shows one")
    return [ms[0] if ms else _models(store)[-1]] * n


def _semester_label(term: str) -> str:
    # store term 'semester::2010-II:treated' -> 'Post × 2010-II'
    return "Post × " + term.split("::", 1)[1].rsplit(":", 1)[0]


def _sem_key(term: str) -> tuple[int, int]:
    s = term.split("::", 1)[1].rsplit(":", 1)[0]
    year, half = s.split("-")
    return int(year), 0 if half == "I" else 1


def _omitted_semester(store: Store, family: str = "semester") -> str:
    """The reference semester as the specification wrote it (``ref="2007-I"``)."""
    terms = store.rows(family)["terms"].dropna().unique() if "terms" in store.df.columns else []
    for t in terms:
        m = re.search(r'ref="([^"]+)"', str(t))
        if m:
            return m.group(1)
    return store.design.first_semester


def _level(term: str) -> float:
    # 'educ_group::3.0:D' -> 3.0
    return float(term.split("::", 1)[1].rsplit(":", 1)[0])


def _dd_note(store: Store, what: str = "") -> str:
    """``what`` (the table's own design sentence), then the SEs and stars of this run."""
    return (what + " " if what else "") + store.design.se_note()


# --------------------------------------------------------------------------------------------
# DD tables (store)
def _base_table(store: Store, name: str, title: str, controls: bool) -> tuple[Table, int]:
    """Table 6 (``controls`` False) or Annex A (every control coefficient too): one panel per
    outcome, one column per model. Returns the table and the count of missing cells before it."""
    models = _models(store)
    t = Table(name, title, [f"Model ({m})" for m in models])
    n0 = len(store.missing)
    for y in _outcomes(store):
        t.panel(outcome_label(y))
        t.add_estimates("Post", [store.one("base", "D", outcome=y, model=m) for m in models])
        ctrl = store.rows("base", role="control", outcome=y) if controls else store.df.iloc[0:0]
        for term in sorted(set(ctrl["term"]), key=_control_key):
            ests = []
            for m in models:
                r = ctrl[(ctrl["term"] == term) & (ctrl["model"] == m)]
                ests.append(r.iloc[0] if len(r) else None)  # a control absent from a model: empty
            t.add_estimates(_control_label(term), ests)
        _stat_row(t, "Observations", [store.spec_stat("base", "nobs", outcome=y, model=m) for m in models])
        _stat_row(t, "R²", [store.spec_stat("base", "r2", outcome=y, model=m) for m in models], fmt_num)
    _yesno(t, models)
    return t, n0


def table6(store: Store) -> Table:
    t, n0 = _base_table(store, "table6", "Table 6. Base estimations for the DD estimator", controls=False)
    d = store.design
    t.notes.append(_dd_note(store, f"{d.post_definition()}; {d.sample_label} within "
                                   f"{km(d.sample_space_km)} km, years {period_text(d.years)}."))
    _missing_note(t, store, n0)
    return t


def table7(store: Store) -> Table:
    outs = [y for y in _outcomes(store, "semester") if y != "poverty_gap"]  # the gap: Table 13b
    t = Table("table7", "Table 7. Dynamics of impacts by semester",
              [f"{outcome_label(y)} ({i})" for i, y in enumerate(outs, 1)])
    n0 = len(store.missing)
    terms = sorted(set(store.rows("semester")["term"]), key=_sem_key)
    for term in terms:
        t.add_estimates(_semester_label(term), [store.one("semester", term, outcome=y) for y in outs])
    _stat_row(t, "Observations", [store.spec_stat("semester", "nobs", outcome=y) for y in outs])
    _stat_row(t, "R²", [store.spec_stat("semester", "r2", outcome=y) for y in outs], fmt_num)
    _yesno(t, _one_model(store, "semester", len(outs)))
    t.notes.append(_dd_note(store, f"Treated × semester dummies, first semester ({_omitted_semester(store)}) "
                                   f"omitted; {store.model_text('semester')}."))
    _missing_note(t, store, n0)
    return t


def table8(store: Store) -> Table:
    models = _models(store)
    outs = _outcomes(store, "placebo")
    cols, groups = [], []
    k = 0
    for y in outs:
        groups.append((outcome_label(y), len(models)))
        for m in models:
            k += 1
            cols.append(f"Model {m} ({k})")
    t = Table("table8", "Table 8. Falsification of the results (placebo start dates, pre-period data)",
              cols, groups=groups)
    n0 = len(store.missing)
    starts = sorted(int(p) for p in store.rows("placebo")["placebo_start"].dropna().unique())
    for i, p in enumerate(starts):
        t.panel(f"{'abcdefgh'[i]}) False treatment: start of intervention in {p}")
        keys = [(y, m) for y in outs for m in models]
        t.add_estimates("Post", [store.one("placebo", "D", outcome=y, model=m, placebo_start=p) for y, m in keys])
        _stat_row(t, "Observations", [store.spec_stat("placebo", "nobs", outcome=y, model=m, placebo_start=p) for y, m in keys])
        _stat_row(t, "R²", [store.spec_stat("placebo", "r2", outcome=y, model=m, placebo_start=p) for y, m in keys], fmt_num)
    if not starts:
        t.notes.append("No placebo specification in this configuration (did.placebo_starts is empty).")
    t.notes.append(_dd_note(store, f"Pre-period years only ({period_text(store.design.pre_years)}); "
                                   "Post = treated × (year ≥ false start)."))
    _missing_note(t, store, n0)
    return t


def _subgroup_table(store: Store, name: str, title: str) -> Table:
    outs = _outcomes(store, "subgroup")
    t = Table(name, title, [f"{outcome_label(y)} ({i})" for i, y in enumerate(outs, 1)])
    n0 = len(store.missing)
    for letter, group in zip("abcdefgh", in_table(name)):
        t.panel(f"{letter}) {group.heading}")
        rows = store.rows("subgroup", subgroup=group.name)
        if rows.empty:
            store.missing.append(f"subgroup/{group.name}")
            continue
        for term in sorted(set(rows["term"]), key=lambda x: level_order(group.name, _level(x))):
            lab = level_label(group.name, _level(term))
            t.add_estimates(f"Post × {lab}", [store.one("subgroup", term, outcome=y, subgroup=group.name) for y in outs])
        _stat_row(t, "Observations", [store.spec_stat("subgroup", "nobs", outcome=y, subgroup=group.name) for y in outs])
        _stat_row(t, "R²", [store.spec_stat("subgroup", "r2", outcome=y, subgroup=group.name) for y in outs], fmt_num)
    t.notes.append(_dd_note(store, f"Post interacted with the group dummies; {store.model_text('subgroup')}."))
    _missing_note(t, store, n0)
    return t


def table9(store: Store) -> Table:
    return _subgroup_table(store, "table9", "Table 9. Heterogeneity of impacts by characteristics of the household head")


def table10(store: Store) -> Table:
    return _subgroup_table(store, "table10", "Table 10. Heterogeneity of impacts by characteristics of the locality")


def table11(store: Store) -> Table:
    outs = _outcomes(store, "ring")
    t = Table("table11", "Table 11. Impacts excluding the observations in the non-contamination ring",
              [f"{outcome_label(y)} ({i})" for i, y in enumerate(outs, 1)])
    n0 = len(store.missing)
    rings = sorted(set(store.rows("ring")["ring"].dropna()), key=lambda r: float(r.split("-")[0]))
    for ring in rings:
        t.panel(f"Excluding households {ring.replace('-', '–')} km from the nearest PRA-II locality")
        t.add_estimates("Post", [store.one("ring", "D", outcome=y, ring=ring) for y in outs])
        _stat_row(t, "Observations", [store.spec_stat("ring", "nobs", outcome=y, ring=ring) for y in outs])
        _stat_row(t, "R²", [store.spec_stat("ring", "r2", outcome=y, ring=ring) for y in outs], fmt_num)
    if not rings:
        t.notes.append("No ring specification in this configuration (did.rings_km is empty).")
    _yesno(t, _one_model(store, "ring", len(outs)))
    t.notes.append(_dd_note(store, f"{store.model_text('ring').capitalize()}; treated within "
                                   f"{km(store.design.radius_km)} km."))
    _missing_note(t, store, n0)
    return t


def _sample_blocks(store: Store) -> list[tuple[str, str | None]]:
    """Table 12's column blocks: each household sample of the grid (``did.samples``), then each
    sample split by a subgroup (D × has_laborer)."""
    rows = store.rows("sample")
    pairs = {(str(s), None if pd.isna(g) else str(g)) for s, g in zip(rows["sample"], rows["subgroup"])}
    order = {s: i for i, s in enumerate(SAMPLES)}
    return sorted(pairs, key=lambda p: (p[1] is not None, p[1] or "", order.get(p[0], 99), p[0]))


def table12(store: Store) -> Table:
    outs = _outcomes(store, "sample")
    blocks = _sample_blocks(store)
    cols, groups, spans, k = [], [], [], 0
    for sample, sub in blocks:
        head = SAMPLE_HEADS.get(sample, sample)
        if sub is not None:
            head += f", by {SUBGROUPS[sub].short if sub in SUBGROUPS else sub}"
        groups.append((head, len(outs)))
        spans.append((k + 1, k + len(outs), sample, sub))
        for y in outs:
            k += 1
            cols.append(f"{outcome_label(y, short=True)} ({k})")
    t = Table("table12", "Table 12. Impacts including households with laborer members", cols or ["(none)"],
              groups=groups or None)
    if not blocks:
        t.notes.append("No household-sample specification in this configuration (did.samples is empty).")
    parts = []
    for lo, hi, sample, sub in spans:
        what = SAMPLE_LABELS.get(sample, sample)
        if sub is not None:
            what += f" with Post split {SUBGROUPS[sub].heading[0].lower() + SUBGROUPS[sub].heading[1:] if sub in SUBGROUPS else 'by ' + sub}"
        parts.append(f"{what} (columns {lo}–{hi})" if hi > lo else f"{what} (column {lo})")
    if parts:
        t.notes.append("Samples: " + "; ".join(parts) + ".")
    n0 = len(store.missing)
    cells = [(s, g, y) for s, g in blocks for y in outs]
    if cells:
        def get(term, s, g, y, want):
            return store.one("sample", term, outcome=y, sample=s, subgroup=g) if want else None

        t.add_estimates("Post", [get("D", s, g, y, g is None) for s, g, y in cells])
        for sub in dict.fromkeys(g for _, g in blocks if g is not None):
            inter = store.rows("sample", subgroup=sub)
            for term in sorted(set(inter["term"]), key=lambda x: level_order(sub, _level(x))):
                t.add_estimates(f"Post × {level_label(sub, _level(term))}",
                                [get(term, s, g, y, g == sub) for s, g, y in cells])
        _stat_row(t, "Observations", [store.spec_stat("sample", "nobs", outcome=y, sample=s, subgroup=g) for s, g, y in cells])
        _stat_row(t, "R²", [store.spec_stat("sample", "r2", outcome=y, sample=s, subgroup=g) for s, g, y in cells], fmt_num)
    t.notes.append(_dd_note(store, f"{store.model_text('sample').capitalize()}."))
    _missing_note(t, store, n0)
    return t


def table13(store: Store) -> Table:
    t = Table("table13", "Table 13. Impacts on the monetary poverty gap", ["Poverty gap"])
    n0 = len(store.missing)
    t.panel("a) Average results")
    t.add_estimates("Post", [store.one("gap", "D", outcome="poverty_gap")])
    _stat_row(t, "Observations", [store.spec_stat("gap", "nobs", outcome="poverty_gap")])
    _stat_row(t, "R²", [store.spec_stat("gap", "r2", outcome="poverty_gap")], fmt_num)
    t.panel("b) Results by semester")
    sem = store.rows("semester", outcome="poverty_gap")
    for term in sorted(set(sem["term"]), key=_sem_key):
        t.add_estimates(_semester_label(term), [store.one("semester", term, outcome="poverty_gap")])
    _stat_row(t, "Observations", [store.spec_stat("semester", "nobs", outcome="poverty_gap")])
    _stat_row(t, "R²", [store.spec_stat("semester", "r2", outcome="poverty_gap")], fmt_num)
    t.notes.append(_dd_note(store, "Poverty gap = (z − y)/z for poor households, 0 otherwise; "
                                   f"{store.model_text('gap')}; b) first semester ({_omitted_semester(store)}) "
                                   "omitted."))
    _missing_note(t, store, n0)
    return t


def _control_label(term: str) -> str:
    if term.startswith("year::"):  # 'year::2008:rural' -> 'Rural × 2008'
        year, var = term[len("year::"):].split(":", 1)
        return f"{TERM_LABELS.get(var, var)} × {year}"
    return TERM_LABELS.get(term, term)


def _control_key(term: str) -> tuple:
    if term.startswith("year::"):
        year, var = term[len("year::"):].split(":", 1)
        return (0, ["rural", "altitude", "coast", "selva"].index(var) if var in ("rural", "altitude", "coast", "selva") else 9, year)
    order = list(TERM_LABELS)
    return (1, order.index(term) if term in order else 999, term)


def annex_a(store: Store) -> Table:
    t, n0 = _base_table(store, "annexA", "Annex A. Base estimations: every coefficient of the three models",
                        controls=True)
    ref = min(store.design.years)
    t.notes.append(_dd_note(store, "Empty cells: the control is not in that model. Locality and year fixed "
                                   "effects absorb the constant. Education dummies against 'no education'; "
                                   f"locality characteristics × year against {ref}. "
                                   f"{store.design.post_definition()}."))
    _missing_note(t, store, n0)
    return t


# --------------------------------------------------------------------------------------------
# descriptive tables (stage CSVs)
def table1(df: pd.DataFrame) -> Table:
    check_columns(df, ["departamento", "no", "yes", "total", "no_vpct", "yes_vpct", "total_vpct",
                       "no_hpct", "yes_hpct", "total_hpct"], "results/geo/table1.csv")
    t = Table("table1", "Table 1. Results of geo-referencing the populated centres of PRA-II",
              ["No", "Yes", "Total"] * 3, stub="Department",
              groups=[("Geo-referenced (number)", 3), ("Vertical %", 3), ("Horizontal %", 3)])
    for r in df.itertuples(index=False):
        t.add(str(r.departamento), [fmt_int(r.no), fmt_int(r.yes), fmt_int(r.total)]
              + [fmt_num(v, 1) for v in (r.no_vpct, r.yes_vpct, r.total_vpct, r.no_hpct, r.yes_hpct, r.total_hpct)])
    t.notes.append("Register rows after matching to INEI's populated-centre map (by code, else by name within "
                   "the district; names matching several centres keep every candidate).")
    return t


def table2(df: pd.DataFrame, design: DDDesign) -> Table:
    check_columns(df, ["year"], "results/geo/table2.csv")
    cols = [c for c in df.columns if c != "year"]
    t = Table("table2", "Table 2. DD sample sizes: households by distance to the nearest PRA-II locality (km)",
              cols, stub="Year")
    for r in df.itertuples(index=False):
        t.add(str(r[0]), [fmt_int(v) for v in r[1:]])
    t.notes.append(f"{design.sample_label.capitalize()} by distance band; sample space: within "
                   f"{km(design.sample_space_km)} km of a geo-referenced PRA-II locality. Treated: within "
                   f"{km(design.radius_km)} km.")
    return t


def table3(df: pd.DataFrame, design: MatchingDesign) -> Table:
    check_columns(df, ["year", "controls", "treated", "total"], "results/matching/table3.csv")
    t = Table("table3", "Table 3. Matching-DD sample sizes", ["Controls", "Treated", "Total"], stub="Year")
    for r in df.itertuples(index=False):
        t.add(str(r.year), [fmt_int(r.controls), fmt_int(r.treated), fmt_int(r.total)])
    t.notes.append(f"Baseline: {design.baseline_text()} in the sample-frame districts; follow-up: the "
                   f"programme's {design.followup} survey. Treated: corridor (beneficiary) districts.")
    return t


VARIABLE_LABELS = {
    "pc_exp_real": "Per capita monthly expenditure (2012 Lima soles)", "ln_pc_exp": "Ln(per capita expenditure)",
    "poor": "Monetary poverty", "subj_poor_living": "Subjective poverty (living conditions)",
    "subj_poor_self": "Subjective poverty (self-definition)", "head_female": "Female head",
    "head_age": "Age of head", "head_married": "Married or partnered", "head_migrant": "Migrant head",
    "head_native_lang": "Native language", "hh_size": "Household members", "n_0_5": "Members 0–5",
    "n_6_14": "Members 6–14", "n_65plus": "Members 65+", "persons_per_room": "Persons per room",
    "floor_dirt": "Dirt floor", "electricity": "Electricity", "water_public": "Public water",
    "sanitation_public": "Public sanitation", "cook_firewood": "Cooks with firewood/coal/manure",
    "wall_brick": "Brick walls", "roof_concrete_tile": "Concrete/tile roof", "altitude": "Altitude (m)",
    "rural": "Rural", "households_2007": "Households in the locality (2007)", "agri": "Agricultural",
    "livestock": "Livestock", "forestry": "Forestry", "prod_value": "Gross production value",
    "sales": "Sales", "own_consumption": "Own consumption", "titled_plots": "Titled plots",
    "hectares": "Hectares", "rainfed_plots": "Rainfed plots",
}


def _var_label(v: str) -> str:
    for prefix in ("head_educ_", "educ_"):
        if v.startswith(prefix) and not v[len(prefix):].isdigit():
            lab = v[len(prefix):].replace("nonuniv", "non-university").replace("_", " ")
            return "Head education: " + lab
    return VARIABLE_LABELS.get(v, PROBIT_LABELS.get(v, TERM_LABELS.get(v, v)))


def table4(sample: pd.DataFrame, design: DDDesign) -> Table:
    """Table 4 from the DD sample (results/geo/sample.parquet) via pra.ingest.describe."""
    from pra.ingest.describe import describe_by_year, table4_wide

    check_columns(sample, ["year"], "results/geo/sample.parquet")
    wide = table4_wide(describe_by_year(sample))
    years = [c for c in wide.columns if c.startswith("mean_") and c != "mean"]
    t = Table("table4", "Table 4. Descriptive statistics in the DD sample",
              ["Obs", "Mean", "SD"] + [c[len("mean_"):] for c in years], stub="Variable",
              groups=[("Pooled", 3), ("Mean by year", len(years))])
    for r in wide.itertuples(index=False):
        d = r._asdict()
        t.add(_var_label(d["variable"]), [fmt_int(d["obs"]), fmt_num(d["mean"]), fmt_num(d["sd"])]
              + [fmt_num(d[c]) for c in years])
    t.notes.append(f"Unweighted; {design.sample_label} within {km(design.sample_space_km)} km of a "
                   f"geo-referenced PRA-II locality (N = {len(sample):,}). Empty cells: variable not observed "
                   "that year.")
    return t


def table5(df: pd.DataFrame) -> Table:
    check_columns(df, ["group", "variable", "year", "obs", "mean"], "results/matching/table5.csv")
    years = sorted(y for y in df["year"].astype(str).unique() if y != "all")
    cols, groups = ["All"], [("Pooled", 1)]
    for y in years:
        cols += ["All", "Treated", "Control"]
        groups.append((y, 3))
    t = Table("table5", "Table 5. Descriptive statistics in the matching-DD sample (means)", cols,
              stub="Variable", groups=groups)
    idx = df.assign(year=df["year"].astype(str)).set_index(["variable", "group", "year"])["mean"]
    if idx.index.duplicated().any():
        dup = idx.index[idx.index.duplicated()].tolist()[:5]
        raise TableError(f"results/matching/table5.csv: duplicate (variable, group, year) rows {dup}")
    for v in dict.fromkeys(df["variable"]):
        cells = [fmt_num(idx.get((v, "all", "all")))]
        for y in years:
            cells += [fmt_num(idx.get((v, g, y))) for g in ("all", "treated", "control")]
        t.add(_var_label(v), cells)
    n = df[(df["group"] == "all") & (df["year"].astype(str) == "all")]["obs"].max()
    t.notes.append(f"Unweighted means (N = {fmt_int(n)} households). Empty cells: not observed in that survey.")
    return t


PROBIT_LABELS = {"const": "Constant", "Intercept": "Constant", "head_single": "Single head",
                 "age": "Age of head", "age2": "Age of head squared", "head_age2": "Age of head squared",
                 "ln_altitude": "Ln(altitude)", "floor_finished": "Finished floor"}


def table14(df: pd.DataFrame) -> Table:
    check_columns(df, ["period", "term", "coef", "se", "pvalue", "n"], "results/matching/table14.csv")
    periods = sorted(df["period"].unique(), reverse=True)  # the report shows 2012 first
    t = Table("table14", "Table 14. Probit of participation in the programme, by year",
              [str(int(p)) for p in periods])
    terms = list(dict.fromkeys(df["term"]))
    terms = [x for x in terms if x not in ("const", "Intercept")] + [x for x in terms if x in ("const", "Intercept")]
    by = df.set_index(["term", "period"])
    for term in terms:
        ests = [by.loc[(term, p)] if (term, p) in by.index else None for p in periods]
        t.add_estimates(PROBIT_LABELS.get(term, _var_label(term)), ests)
    first = df.drop_duplicates("period").set_index("period")
    _stat_row(t, "Observations", [first.loc[p, "n"] for p in periods])
    if "pseudo_r2" in df.columns:
        _stat_row(t, "Pseudo R²", [first.loc[p, "pseudo_r2"] for p in periods], fmt_num)
    t.notes.append("Probit of treatment (corridor district) on pre-determined characteristics, per year. "
                   "Standard errors in parentheses. " + STAR_NOTE)
    return t


def table15(df: pd.DataFrame, design: MatchingDesign) -> Table:
    need = ["period", "variable", "mean_t_before", "mean_c_before", "diff_before", "p_before",
            "mean_t_after", "mean_c_after", "diff_after", "p_after"]
    check_columns(df, need, "results/matching/table15.csv")
    cols = ["Treated", "Control", "Difference"] * 2
    t = Table("table15", "Table 15. Balance of the variables before and after matching", cols,
              stub="Variable", groups=[("Before matching", 3), ("After matching", 3)])
    for p in sorted(df["period"].unique(), reverse=True):
        t.panel(f"{int(p)}")
        for r in df[df["period"] == p].itertuples(index=False):
            vals = [None, None, (r.diff_before, float("nan"), r.p_before), None, None, (r.diff_after, float("nan"), r.p_after)]
            t.add(_var_label(r.variable), [fmt_num(r.mean_t_before), fmt_num(r.mean_c_before),
                                           fmt_coef(r.diff_before, r.p_before, 3), fmt_num(r.mean_t_after),
                                           fmt_num(r.mean_c_after), fmt_coef(r.diff_after, r.p_after, 3)],
                  "coef", vals)
    t.notes.append(f"Means by group; 'after' weights controls by the kernel weights ({design.kernel_text()}). "
                   f"Tests of equal means with standard errors clustered by {cluster_text(design.cluster)}. "
                   + STAR_NOTE)
    return t


def table16(df: pd.DataFrame, design: MatchingDesign) -> Table:
    check_columns(df, ["row", "label", "outcome", "estimate", "se", "pvalue"], "results/matching/table16.csv")
    outs = ordered_outcomes(df["outcome"].unique())
    t = Table("table16", "Table 16. Results of the matching-DD exercise",
              [f"{outcome_label(y)} ({i})" for i, y in enumerate(outs, 1)])
    for row in sorted(df["row"].unique()):
        sub = df[df["row"] == row].set_index("outcome")
        ests = [None if y not in sub.index else {"coef": sub.loc[y, "estimate"], "se": sub.loc[y, "se"],
                                                 "pvalue": sub.loc[y, "pvalue"]} for y in outs]
        t.add_estimates(f"{row}) {sub['label'].iloc[0]}", ests, digits=4)
    first = df.iloc[0]
    for col, lab in [("n_treated_baseline", f"Treated, {design.baseline}"),
                     ("n_control_baseline", f"Controls, {design.baseline}"),
                     ("n_treated_followup", f"Treated, {design.followup}"),
                     ("n_control_followup", f"Controls, {design.followup}")]:
        if col in df.columns:
            _stat_row(t, lab, [first[col]] * len(outs))
    ok = (f"{int(first['reps_ok'])} of {design.bootstrap_reps} replications succeeded; "
          if "reps_ok" in df.columns and design.bootstrap_reps is not None else "")
    t.notes.append(f"Bootstrap standard errors in parentheses ({design.bootstrap_text()}; {ok}"
                   f"{design.kernel_text()}). Baseline {design.baseline}, follow-up {design.followup}. "
                   + STAR_NOTE)
    return t


def summary_table(store: Store, matching: pd.DataFrame, dd_model: int = 1) -> Table:
    """Executive summary: the DD (Table 6, model ``dd_model``, as the report's summary) vs the
    matching DD (Table 16 row a), one row per outcome of either design. ``matching`` = the
    matching store rows (results/matching/estimates.parquet)."""
    check_columns(matching, ["family", "outcome", "model", "coef", "se", "pvalue"],
                  "results/matching/estimates.parquet")
    t = Table("summary", "Executive summary. Impacts of PRA-II by method",
              ["DD", "Matching DD"], stub="Variable")
    n0 = len(store.missing)
    mrow = matching[(matching["family"] == "matching") & (matching["model"] == 1)].set_index("outcome")
    dd_outcomes = set(store.rows("base")["outcome"])
    outs = ordered_outcomes(dd_outcomes | set(mrow.index))
    for y in outs:
        dd = store.one("base", "D", outcome=y, model=dd_model) if y in dd_outcomes else None
        md = mrow.loc[y] if y in mrow.index else None
        t.add_estimates(SUMMARY_LABELS.get(y, outcome_label(y)), [dd, md])
    d, m = store.design, matching_design(matching)
    absent = [f"{SUMMARY_LABELS.get(y, outcome_label(y))} has no spatial DD estimate (not a DD outcome"
              + (f": {NO_DD_REASON[y]}" if y in NO_DD_REASON else "") + ")" for y in outs if y not in dd_outcomes]
    t.notes.append(f"DD: Table 6, model {dd_model} (spatial DD on ENAHO {period_text(d.years)}, post period "
                   f"{period_text(d.post_years)}, treated within {km(d.radius_km)} km, SE clustered by "
                   f"{cluster_text(d.cluster)}). Matching DD: Table 16 row a (kernel matching DD, baseline "
                   f"{m.baseline}, follow-up {m.followup}, bootstrap SE). "
                   + "".join(a + ". " for a in absent) + STAR_NOTE)
    _missing_note(t, store, n0)
    return t


def build_all(*, store: pd.DataFrame, matching_store: pd.DataFrame, table1_csv: pd.DataFrame,
              table2_csv: pd.DataFrame, dd_sample: pd.DataFrame, table3_csv: pd.DataFrame,
              table5_csv: pd.DataFrame, table14_csv: pd.DataFrame, table15_csv: pd.DataFrame,
              table16_csv: pd.DataFrame) -> list[Table]:
    """Every table, in :data:`TABLE_NAMES` order. Every design fact in a note (post period,
    clustering, radius, sample, baseline months, kernel, ...) comes from the design columns of
    the two estimates stores (:mod:`pra.report.design`), so a table describes the run that made
    its estimates."""
    s = Store(store)
    m = matching_design(matching_store)  # the design of the matching estimates (Tables 3, 15, 16)
    built = {
        "summary": summary_table(s, matching_store), "table1": table1(table1_csv),
        "table2": table2(table2_csv, s.design), "table3": table3(table3_csv, m),
        "table4": table4(dd_sample, s.design), "table5": table5(table5_csv),
        "table6": table6(s), "table7": table7(s), "table8": table8(s), "table9": table9(s),
        "table10": table10(s), "table11": table11(s), "table12": table12(s), "table13": table13(s),
        "table14": table14(table14_csv), "table15": table15(table15_csv, m), "table16": table16(table16_csv, m),
        "annexA": annex_a(s),
    }
    return [built[n] for n in TABLE_NAMES]


def write_tables(tables: Sequence[Table], out_dir: str | Path, formats: Sequence[str] = FORMATS) -> list[Path]:
    """Write ``{out_dir}/{name}.{fmt}`` for every table and format (atomically); HTML standalone."""
    from pra.io import write_text_atomic

    out = []
    for t in tables:
        for fmt in formats:
            p = Path(out_dir) / f"{t.name}.{fmt}"
            write_text_atomic(to_html(t, standalone=True) if fmt == "html" else render(t, fmt), p)
            out.append(p)
    return out
