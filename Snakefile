# PRA-II impact evaluation (Macroconsult 2014) as a Snakemake workflow.
# Stages: synthesize (embedded data) -> ingest -> geo -> did / matching -> tables, figures, report.
import os
import sys

from snakemake.utils import min_version

min_version("9.0")

# Parse with the workflow's own package, as its jobs do (PYTHONPATH below).
sys.path.insert(0, os.path.join(workflow.basedir, "src"))
import pra.config
import pra.threads


configfile: os.path.join(workflow.basedir, "config.yaml")


report: "report/workflow.rst"


# Jobs import the workflow's own package (also when it is not pip-installed, e.g. in the conda
# environment of `--sdm conda`): put src/ first on their PYTHONPATH.
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (os.path.join(workflow.basedir, "src"), os.environ.get("PYTHONPATH")) if p
)


# One BLAS/OpenMP/numba thread per job (Snakemake does this for shell jobs, not script jobs): jobs
# run side by side without oversubscribing the cores, and pyfixest's numba reductions give the
# same digits on every machine. Rules that use more threads pass them explicitly (DuckDB).
pra.threads.single_threaded()


conda: "envs/pra.yaml"


# The whole config is checked here, before any rule exists and so before the first job: the
# schema (unknown keys, types, defaults), the cross-key checks, the names against the harmonised
# table and the years against the data (pra.config.workflow_config). A mistake stops the run
# with one line naming the key, not a traceback.
try:
    config.update(pra.config.workflow_config(config))
except pra.config.ConfigError as err:
    from snakemake.logging import logger

    logger.error(f"Configuration error: {err}")
    raise SystemExit(1) from None


include: "rules/common.smk"
include: "rules/synthesize.smk"
include: "rules/ingest.smk"
include: "rules/geo.smk"
include: "rules/did.smk"
include: "rules/grid.smk"
include: "rules/matching.smk"
include: "rules/report.smk"
include: "rules/inference.smk"
include: "rules/validation.smk"


# On a cluster these run on the submitting host: they only gather files (no queue wait for them).
localrules: all, did_store, results_index


# The "Robustness and inference" chapter is its own target (`snakemake inference`, README): it
# would add more than a minute to the pipeline at the study's size on 2 cores.
rule all:
    default_target: True
    input:
        final_outputs(),
        grid_outputs(),  # empty unless did.grid: full
