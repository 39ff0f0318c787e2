# Monte Carlo validation (docs/validation.md): not part of `all`; `snakemake --cores N montecarlo`.
# Draws run in chunks of validation.chunk_size (one job each, so the rule fans out on SLURM);
# the aggregate job writes the draws, the summary, its table in five formats and the figure.
from pra.report import CHAPTERS
from pra.validate.chunks import chunk_ids, chunk_draws

VALIDATION = config["validation"]
VALIDATION_CHUNKS = chunk_ids(VALIDATION["draws"], VALIDATION["chunk_size"])
VALIDATION_CHAPTER = CHAPTERS["validation"]
# What a draw depends on: every setting its estimators and its data read (a change reruns it).
VALIDATION_DESIGN = {k: config[k] for k in ("seed", "years", "post_start", "spatial", "did", "matching")
                     + (("inference",) if "inference" in VALIDATION["estimators"] else ())}


def validation_outputs():
    tables = expand("results/validation/validation.{fmt}", fmt=["tex", "html", "md", "csv", "xlsx"])
    return (["results/validation/draws.parquet", "results/validation/summary.csv"] + tables
            + ["results/validation/distributions.png", "results/validation/distributions.pdf"])


rule validation_chunk:
    output:
        "results/validation/chunks/{chunk}.parquet",
    wildcard_constraints:
        chunk=r"\d{4}",
    params:
        draws=lambda w: chunk_draws(w.chunk, VALIDATION["draws"], VALIDATION["chunk_size"]),
        validation={k: v for k, v in VALIDATION.items() if k not in ("draws", "chunk_size")},
        design=VALIDATION_DESIGN,
        data=config["data"],
    log:
        "logs/validation/chunk_{chunk}.log",
    script:
        "../scripts/validation_chunk.py"


rule validation_summary:
    input:
        chunks=expand("results/validation/chunks/{chunk}.parquet", chunk=VALIDATION_CHUNKS),
    output:
        draws="results/validation/draws.parquet",
        summary="results/validation/summary.csv",
        tex="results/validation/validation.tex",
        html=report("results/validation/validation.html", caption="../report/validation.rst",
                    category=VALIDATION_CHAPTER, subcategory="Tables",
                    labels={"table": "Monte Carlo", "content": "bias, coverage, size and power"}),
        md="results/validation/validation.md",
        csv="results/validation/validation.csv",
        xlsx="results/validation/validation.xlsx",
        png=report("results/validation/distributions.png", caption="../report/validation_figure.rst",
                   category=VALIDATION_CHAPTER, subcategory="Figures",
                   labels={"figure": "Monte Carlo", "content": "sampling distributions"}),
        pdf="results/validation/distributions.pdf",
    params:
        validation=VALIDATION,
        seed=config["seed"],
    log:
        "logs/validation/summary.log",
    script:
        "../scripts/validation_summary.py"


rule montecarlo:
    input:
        validation_outputs(),
