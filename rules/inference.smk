# The "Robustness and inference" chapter (issue 17; docs/inference.md): the study's estimates
# under every inference method of pra.inference. Alone: `snakemake --cores N inference`.
# Numbers: inference_se (Tables 6 and 16 row b under every SE type), inference_multiple
# (Romano–Wolf / Westfall–Young), inference_ri_chunk (placebo maps, one job per chunk, {chunk} =
# 10 hex digits from pra.inference.ri_chunks: they fan out on a cluster) + inference_ri,
# inference_curve (effect over distance), inference_honest (HonestDiD); inference_report renders
# the tables (five formats) and the figures. Not part of the default target: it adds more than a
# minute at the study's size on 2 cores (README).
import pra.validate.inference
import pra.validate.curve
from pra.inference import INFERENCE_FIGURES, INFERENCE_TABLES, inference_captions, ri_chunks

INF_DIR = "results/inference"
RI_CHUNKS = ri_chunks(config)  # {chunk id: (first map, count)}
# the settings every inference job reads (a change reruns them): the run's design and the block
INF_CONFIG = {k: config[k] for k in ("seed", "years", "post_start", "spatial", "did", "matching", "inference")}
INF_TABLE_FILES = [f"{INF_DIR}/tables/{n}.{fmt}" for n in INFERENCE_TABLES for fmt in TABLE_FORMATS]
INF_FIGURE_FILES = [f"{INF_DIR}/figures/{n}.{ext}" for n in INFERENCE_FIGURES for ext in ("png", "pdf")]
INF_CHAPTER = CHAPTERS["inference"]


# The Monte Carlo coverage of every inference method, measured with the validation harness and
# shipped with the project (docs/inference.md; remade by `python -m pra.validate.inference`)
INF_COVERAGE = {k: os.path.join(workflow.basedir, "docs", "validation", f"coverage.{k}") for k in ("csv", "json")}
INF_COVERAGE["curve"] = os.path.join(workflow.basedir, "docs", "validation", "curve_coverage.csv")
INF_COVERAGE_FILES = [f"{INF_DIR}/tables/inference_coverage.{fmt}" for fmt in TABLE_FORMATS + ["xlsx"]]


def inference_outputs():
    """Every file of the chapter (the `inference` target)."""
    return INF_TABLE_FILES + [f"{INF_DIR}/tables/inference.xlsx"] + INF_FIGURE_FILES + INF_COVERAGE_FILES


rule inference_coverage:
    input:
        **INF_COVERAGE,
    output:
        **{fmt: (report(path, caption="../report/inference/coverage.rst", category=INF_CHAPTER, subcategory="Tables",
                        labels={"no.": f"{len(INFERENCE_TABLES) + 1:02d}", "table": "inference_coverage"})
                 if fmt == "html" else path)
           for fmt, path in zip(TABLE_FORMATS + ["xlsx"], INF_COVERAGE_FILES)},
    params:
        # the caption's words come from the shipped study itself, not from this run's config
        words={**pra.validate.inference.coverage_words(INF_COVERAGE["csv"], INF_COVERAGE["json"]),
               "curve": pra.validate.curve.band_words(INF_COVERAGE["curve"])},
    log:
        "logs/inference_coverage.log",
    script:
        "../scripts/inference_coverage.py"


rule inference_se:
    input:
        sample="results/geo/sample.parquet",
        matching_sample="results/matching/sample.parquet",
    output:
        table6=f"{INF_DIR}/se_table6.parquet",
        table16=f"{INF_DIR}/se_table16.parquet",
    params:
        config=INF_CONFIG,
    log:
        "logs/inference_se.log",
    script:
        "../scripts/inference_se.py"


rule inference_multiple:
    input:
        sample="results/geo/sample.parquet",
    output:
        f"{INF_DIR}/multiple.parquet",
    params:
        config=INF_CONFIG,
    log:
        "logs/inference_multiple.log",
    script:
        "../scripts/inference_multiple.py"


rule inference_ri_chunk:
    input:
        sample="results/geo/sample.parquet",
        localities="results/geo/localities.parquet",
        centres=input_file("centres"),
    output:
        f"{INF_DIR}/ri/{{chunk}}.parquet",
    params:
        config=INF_CONFIG,
        maps=lambda wildcards: RI_CHUNKS[wildcards.chunk],  # (first map, count)
        input_sha256=lambda w: input_sha256([input_file("centres")]),
    log:
        "logs/inference_ri_chunk/{chunk}.log",
    script:
        "../scripts/inference_ri_chunk.py"


rule inference_ri:
    input:
        chunks=expand(f"{INF_DIR}/ri/{{c}}.parquet", c=RI_CHUNKS),
        store="results/estimates/estimates.parquet",
    output:
        draws=f"{INF_DIR}/ri_draws.parquet",
        summary=f"{INF_DIR}/ri_summary.csv",
    params:
        config=INF_CONFIG,
    log:
        "logs/inference_ri.log",
    script:
        "../scripts/inference_ri.py"


rule inference_curve:
    input:
        sample="results/geo/sample.parquet",
    output:
        bins=f"{INF_DIR}/curve.csv",
        meta=f"{INF_DIR}/curve.json",
    params:
        config=INF_CONFIG,
    log:
        "logs/inference_curve.log",
    script:
        "../scripts/inference_curve.py"


rule inference_honest:
    input:
        sample="results/geo/sample.parquet",
    output:
        ci=f"{INF_DIR}/honest.csv",
        breakdown=f"{INF_DIR}/honest_breakdown.csv",
    params:
        config=INF_CONFIG,
    log:
        "logs/inference_honest.log",
    script:
        "../scripts/inference_honest.py"


def _stem(name: str) -> str:
    """report/inference/<stem>.rst of a table or figure named inference_<stem>."""
    return name[len("inference_"):]


def _inference_report_outputs():
    """Named outputs {name}_{fmt} and the figures; the HTML tables and PNG figures go into the
    report's chapter."""
    out = {}
    for i, name in enumerate(INFERENCE_TABLES, 1):
        for fmt in TABLE_FORMATS:
            path = f"{INF_DIR}/tables/{name}.{fmt}"
            if fmt == "html":
                path = report(path, caption=f"../report/inference/{_stem(name)}.rst", category=INF_CHAPTER,
                              subcategory="Tables", labels={"no.": f"{i:02d}", "table": name})
            out[f"{name}_{fmt}"] = path
    for i, name in enumerate(INFERENCE_FIGURES, 1):
        out[f"{name}_png"] = report(f"{INF_DIR}/figures/{name}.png", caption=f"../report/inference/{_stem(name)}.rst",
                                    category=INF_CHAPTER, subcategory="Figures",
                                    labels={"no.": f"{i:02d}", "figure": name})
        out[f"{name}_pdf"] = f"{INF_DIR}/figures/{name}.pdf"
    return out


rule inference_report:
    input:
        se6=f"{INF_DIR}/se_table6.parquet",
        se16=f"{INF_DIR}/se_table16.parquet",
        multiple=f"{INF_DIR}/multiple.parquet",
        ri_draws=f"{INF_DIR}/ri_draws.parquet",
        ri_summary=f"{INF_DIR}/ri_summary.csv",
        curve=f"{INF_DIR}/curve.csv",
        curve_meta=f"{INF_DIR}/curve.json",
        honest=f"{INF_DIR}/honest.csv",
        honest_breakdown=f"{INF_DIR}/honest_breakdown.csv",
        store="results/estimates/estimates.parquet",
    output:
        **_inference_report_outputs(),
        xlsx=f"{INF_DIR}/tables/inference.xlsx",
    params:
        config=INF_CONFIG,
        # the words of this run's settings for the captions (report/inference/*.rst)
        captions=inference_captions(config),
    log:
        "logs/inference_report.log",
    script:
        "../scripts/inference_report.py"


rule inference:
    input:
        inference_outputs(),
