# Publication tables (LaTeX, HTML, Markdown, CSV, Excel), specification curves, the results index
# results/README.md, and the report() annotations of the Snakemake report (`snakemake --report
# results/report.html`), grouped by chapter. Captions: report/*.rst (paths relative to this file).
from types import SimpleNamespace

from pra.report import CHAPTERS, TABLE_CHAPTER, TABLE_FORMATS, TABLE_NAMES
from pra.report.design import caption_texts
from pra.report.index import index_notes

SPECCURVE_OUTCOMES = list(config["did"]["outcomes"])
TABLE_TITLES = {
    "summary": "Executive summary", "annexA": "Annex A",
    **{f"table{k}": f"Table {k}" for k in range(1, 17)},
}
TABLE_CONTENTS = {
    "summary": "DD vs matching DD", "table1": "geo-referencing", "table2": "DD sample sizes",
    "table3": "matching sample sizes", "table4": "DD sample descriptives",
    "table5": "matching sample descriptives", "table6": "base DD estimates", "table7": "by semester",
    "table8": "placebo start dates", "table9": "heterogeneity: household head",
    "table10": "heterogeneity: locality", "table11": "non-contamination ring",
    "table12": "laborer households", "table13": "poverty gap", "table14": "participation probit",
    "table15": "balance", "table16": "matching DD", "annexA": "all coefficients of Table 6",
}


def _table_outputs():
    """Named outputs {name}_{fmt}; the HTML rendering of each table goes into the report."""
    out = {}
    for name in TABLE_NAMES:
        for fmt in TABLE_FORMATS:
            path = f"results/tables/{name}.{fmt}"
            if fmt == "html":
                path = report(path, caption=f"../report/{name}.rst",
                              category=CHAPTERS[TABLE_CHAPTER[name]], subcategory="Tables",
                              # "no." keeps the report's list in the study's order (it sorts text)
                              labels={"no.": f"{TABLE_NAMES.index(name) + 1:02d}",
                                      "table": TABLE_TITLES[name], "content": TABLE_CONTENTS[name]})
            out[f"{name}_{fmt}"] = path
    return out


def _raw_inputs():
    """Every data file the workflow reads (for the checksums of the results index)."""
    files = [f for y in YEARS for f in year_inputs(SimpleNamespace(year=str(y)))]
    files += deflator_inputs()
    files += [input_file(k) for k in ("centres", "register", "programme_survey", "sample_frame")]
    return list(dict.fromkeys(files))


REPORT_STAGE_INPUTS = {
    "store": "results/estimates/estimates.parquet",
    "matching_store": "results/matching/estimates.parquet",
    "table1": "results/geo/table1.csv",
    "table2": "results/geo/table2.csv",
    "dd_sample": "results/geo/sample.parquet",
    "table3": "results/matching/table3.csv",
    "table5": "results/matching/table5.csv",
    "table14": "results/matching/table14.csv",
    "table15": "results/matching/table15.csv",
    "table16": "results/matching/table16.csv",
}
TABLE_FILES = [f"results/tables/{n}.{fmt}" for n in TABLE_NAMES for fmt in TABLE_FORMATS]
SPECCURVE_FILES = expand("results/figures/speccurve_{outcome}.{ext}", outcome=SPECCURVE_OUTCOMES,
                         ext=["png", "pdf", "csv"])


def report_outputs():
    return (TABLE_FILES + ["results/tables/tables.xlsx"] + SPECCURVE_FILES + ["results/README.md",
            "results/harmonised/health.csv"])


rule report_tables:
    input:
        **REPORT_STAGE_INPUTS,
    output:
        **_table_outputs(),
        xlsx=report("results/tables/tables.xlsx", caption="../report/tables_xlsx.rst",
                    category=CHAPTERS["summary"], subcategory="Downloads",
                    labels={"file": "tables.xlsx", "content": "every table, one sheet each"}),
    params:
        out_dir="results/tables",
        # the captions' words for this run's design (report/table*.rst); the tables' own notes
        # come from the design recorded in the estimates stores
        captions=caption_texts(config),
    log:
        "logs/report_tables.log",
    script:
        "../scripts/report_tables.py"


def _speccurve_outputs():
    """Named outputs {outcome}_{png,pdf,csv}; the PNG of each curve goes into the report."""
    out = {}
    for y in SPECCURVE_OUTCOMES:
        out[f"{y}_png"] = report(f"results/figures/speccurve_{y}.png", caption="../report/speccurve.rst",
                                 category=CHAPTERS["robustness"], subcategory="Specification curves",
                                 labels={"figure": "Specification curve", "outcome": y})
        out[f"{y}_pdf"] = f"results/figures/speccurve_{y}.pdf"
        out[f"{y}_csv"] = f"results/figures/speccurve_{y}.csv"
    return out


# One job draws every outcome's curve: they read the same store, so they always rerun together,
# and one job start-up (~1.5 s) instead of one per outcome.
rule report_speccurve:
    input:
        store="results/estimates/estimates.parquet",
    output:
        **_speccurve_outputs(),
    params:
        outcomes=SPECCURVE_OUTCOMES,
    log:
        "logs/report_speccurve.log",
    script:
        "../scripts/report_speccurve.py"


rule results_index:
    input:
        tables=TABLE_FILES + ["results/tables/tables.xlsx"],
        figures=SPECCURVE_FILES,
        stage=list(REPORT_STAGE_INPUTS.values()) + did_outputs()[1:] + [
            "results/geo/map1.png", "results/geo/map1.pdf", "results/matching/figure9.png",
            "results/matching/figure9.pdf", "results/matching/map2.png", "results/matching/map2.pdf",
            "results/harmonised/enaho.parquet", "results/ledger/ledger.csv"],
        raw=_raw_inputs(),
        health="results/harmonised/health.csv",
    output:
        "results/README.md",
    params:
        input_sha256=lambda w: input_sha256(_raw_inputs()),
        chapters={
            "Publication tables (LaTeX, HTML, Markdown, CSV, Excel)": TABLE_FILES + ["results/tables/tables.xlsx"],
            "Specification curves": SPECCURVE_FILES,
        },
        notes=index_notes(config),
    log:
        "logs/results_index.log",
    script:
        "../scripts/report_index.py"
