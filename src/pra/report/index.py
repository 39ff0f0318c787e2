"""The results index ``results/README.md``: what each output is, the configuration that produced
it and the SHA-256 of every file it lists (stage outputs and raw inputs).

Deterministic: no clock, no host name; files in the order given; the configuration is dumped as
YAML with sorted keys; package versions are recorded (they change the numbers, not the layout).
"""
from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd
import yaml

from pra.digests import sha256  # one home for file digests
from pra.io import write_text_atomic

PACKAGES = ["pra", "snakemake", "pyfixest", "pandas", "numpy", "statsmodels", "duckdb", "matplotlib",
            "pyreadstat", "openpyxl"]

# Descriptions by path pattern (first match wins); fnmatch-style patterns on the relative path.
# ``{key}`` is filled with the run's design words (pra.report.design.design_words).
DESCRIPTIONS: list[tuple[str, str]] = [
    ("results/tables/summary.*", "Executive summary: DD (Table 6, model 1) vs matching DD (Table 16 a)"),
    ("results/tables/table1.*", "Table 1: geo-referencing of the PRA-II register by department"),
    ("results/tables/table2.*", "Table 2: households by distance to the nearest PRA-II locality and year"),
    ("results/tables/table3.*", "Table 3: matching-DD sample sizes"),
    ("results/tables/table4.*", "Table 4: descriptive statistics of the DD sample"),
    ("results/tables/table5.*", "Table 5: descriptive statistics of the matching-DD sample"),
    ("results/tables/table6.*", "Table 6: base DD estimates, models 1-3"),
    ("results/tables/table7.*", "Table 7: DD impacts by semester"),
    ("results/tables/table8.*", "Table 8: placebo (false start) DD estimates"),
    ("results/tables/table9.*", "Table 9: heterogeneity by household-head characteristics"),
    ("results/tables/table10.*", "Table 10: heterogeneity by locality characteristics"),
    ("results/tables/table11.*", "Table 11: DD excluding the non-contamination ring"),
    ("results/tables/table12.*", "Table 12: DD with laborer households"),
    ("results/tables/table13.*", "Table 13: DD on the poverty gap"),
    ("results/tables/table14.*", "Table 14: probit of participation by year"),
    ("results/tables/table15.*", "Table 15: balance before/after matching"),
    ("results/tables/table16.*", "Table 16: matching DD and DD without matching"),
    ("results/tables/annexA.*", "Annex A: every coefficient of the three base models"),
    ("results/tables/tables.xlsx", "Every table, one sheet per table"),
    ("results/figures/speccurve_*", "Specification curve of one outcome (every single-effect DD estimate)"),
    ("results/figures/figure6.*", "Figure 6: DD estimate by treatment radius and by distance band"),
    ("results/figures/figure7.*", "Figure 7: conditional mean of ln expenditure by year, treated (within "
                                  "{radius} km) vs control"),
    ("results/figures/figure8.*", "Figure 8: DD impacts by semester"),
    ("results/geo/map1.*", "Map 1: PRA-II localities and ENAHO conglomerates"),
    ("results/geo/table1.csv", "Geo stage: Table 1 data"),
    ("results/geo/table2.csv", "Geo stage: Table 2 data"),
    ("results/geo/sample.parquet", "Spatial DD sample ({sample} within {space} km, ENAHO {years})"),
    ("results/geo/sample_space.parquet", "Every household-year within {space} km (the DD grid's input)"),
    ("results/estimates/estimates.parquet", "DD estimates store (one row per coefficient of every specification)"),
    ("results/matching/estimates.parquet", "Matching-design rows of the estimates store"),
    ("results/matching/figure9.*", "Figure 9: propensity-score densities before/after matching"),
    ("results/matching/map2.*", "Map 2: the programme survey's districts"),
    ("results/matching/table*.csv", "Matching stage: table data"),
    ("results/harmonised/health.csv", "Data health: rows read, parse failures, repairs, households "
                                      "dropped or incomplete, per year and file"),
    ("results/harmonised/*", "Harmonised ENAHO household table"),
    ("results/ledger/*", "Sample ledger: row counts with reasons"),
]


def describe(path: str, words: Mapping[str, str] | None = None) -> str:
    """What ``path`` is; ``words``: the run's design words (needed by the descriptions that name
    the design, which are left out without them)."""
    from fnmatch import fnmatch

    for pattern, text in DESCRIPTIONS:
        if fnmatch(path, pattern):
            if "{" not in text:
                return text
            return text.format(**words) if words else ""
    return ""


def index_notes(config: Mapping) -> list[str]:
    """The index's notes, in this configuration's words."""
    from pra.report import TABLE_NAMES
    from pra.report.design import design_words

    w = design_words(config)
    return [
        "Tables: results/tables/NAME.tex, .html, .md, .csv; NAME = " + ", ".join(TABLE_NAMES) + ".",
        "Stars: * p < 0.10, ** p < 0.05, *** p < 0.01; standard errors in parentheses below each coefficient "
        f"(DD: clustered by {w['cluster']}; matching: bootstrap resampling clusters of {w['matching_cluster']}).",
        "The HTML report: `snakemake --report results/report.html` (not part of `all`).",
    ]


def _version(pkg: str) -> str:
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return "not installed"


def _table(paths: Sequence[str], with_description: bool = True, words: Mapping[str, str] | None = None) -> list[str]:
    lines = (["| file | what it is | sha256 |", "|---|---|---|"] if with_description
             else ["| file | sha256 |", "|---|---|"])
    for p in paths:
        if not Path(p).is_file():
            raise FileNotFoundError(f"results index: {p} does not exist (listed as an output or input)")
        d = describe(str(p), words).replace("|", "/")
        lines.append(f"| `{p}` | {d} | `{sha256(p)}` |" if with_description else f"| `{p}` | `{sha256(p)}` |")
    return lines


def health_summary(health) -> list[str]:
    """The index's data-health section: rows read, and every entry above zero (the warnings)."""
    from pra.ingest.health import warnings_of

    warn = warnings_of(health)
    read = health[health["item"] == "rows read"]
    lines = ["## Data health", "",
             f"{int(read.groupby('file')['count'].max().sum()):,} rows read from "
             f"{read['file'].nunique()} files; "
             f"{len(warn)} entr{'y' if len(warn) == 1 else 'ies'} above zero "
             "(parse failures, repairs, households dropped or incomplete; non-response excepted). "
             "Full table: `results/harmonised/health.csv`.", ""]
    if len(warn):
        lines += ["| year | file | column | what | count | action |", "|---|---|---|---|---|---|"]
        for r in warn.itertuples(index=False):
            year = "" if pd.isna(r.year) else int(r.year)
            col = "" if pd.isna(r.column) else r.column
            lines.append(f"| {year} | {r.file} | {col} | {r.item} | {int(r.count)} | "
                         f"{'' if pd.isna(r.action) else r.action} |".replace("\n", " "))
        lines.append("")
    return lines


def render_index(*, outputs: Mapping[str, Sequence[str]], stage_inputs: Sequence[str],
                 raw_inputs: Sequence[str], config: Mapping, notes: Sequence[str] = (),
                 health=None) -> str:
    """The README text. ``outputs``: chapter heading → files written by the report stage;
    ``stage_inputs``: files of earlier stages the tables and figures were built from;
    ``raw_inputs``: the data files the workflow read (ENAHO modules, register, …)."""
    from pra.report.design import design_words

    words = design_words(config)
    lines = ["# Results index", "",
             "Written by the workflow (rule `results_index`); do not edit. Every file below with its",
             "SHA-256; the configuration and package versions that produced them are at the end.", ""]
    for heading, files in outputs.items():
        lines += [f"## {heading}", ""] + _table(list(files), words=words) + [""]
    lines += ["## Inputs of the tables and figures (earlier stages)", ""] + _table(list(stage_inputs), words=words) + [""]
    lines += ["## Raw inputs", ""] + _table(list(raw_inputs), with_description=False) + [""]
    if health is not None:
        lines += health_summary(health)
    if notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    cfg = yaml.safe_dump(_plain(config), sort_keys=True, default_flow_style=False, allow_unicode=True)
    lines += ["## Configuration", "", "```yaml", cfg.rstrip("\n"), "```", ""]
    lines += ["## Software", "", "| package | version |", "|---|---|"]
    lines += [f"| {p} | {_version(p)} |" for p in PACKAGES] + [""]
    return "\n".join(lines)


def _plain(obj):
    """Snakemake's config is a nested dict subclass; make it plain for yaml."""
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def write_index(path: str | Path, **kwargs) -> str:
    text = render_index(**kwargs)
    write_text_atomic(text, path)
    return text
