# Shared input functions and constants. Kept light: every job re-parses this file.
from pathlib import Path

from snakemake.exceptions import WorkflowError

from pra.digests import input_digests
from pra.embedded import layout

# The config was checked in full by the Snakefile (pra.config.workflow_config) before this file.
YEARS = sorted(config["years"])
EMBEDDED = config["data"]["source"] == "embedded"
DATA_DIR = config["data"]["embedded"]["dir"] if EMBEDDED else None
FILES = config["data"].get("files", {})

wildcard_constraints:
    year=r"\d{4}",
    chunk=r"[0-9a-f]{10}",


def enaho_dir():
    return f"{DATA_DIR}/enaho" if EMBEDDED else FILES["enaho_dir"]


def deflator_dir():
    return f"{DATA_DIR}/enaho/2012" if EMBEDDED else FILES["deflator_dir"]


def input_file(name):
    """A non-ENAHO input: centres, register, programme_survey, sample_frame."""
    embedded_names = {
        "centres": "centros_poblados.csv",
        "register": "pra2_localidades.csv",
        "programme_survey": "encuesta_pra2_2012.dta",
        "sample_frame": "marco_muestral_2012.csv",
    }
    return f"{DATA_DIR}/{embedded_names[name]}" if EMBEDDED else FILES[name]


def year_inputs(wildcards):
    """The module files of one year: a fix to one year's file reruns only that year."""
    year = int(wildcards.year)
    if EMBEDDED:
        return [f"{DATA_DIR}/{f}" for f in layout.year_files(year)]
    folder = Path(FILES["enaho_dir"]) / str(year)
    if not folder.is_dir():
        raise WorkflowError(f"data.files.enaho_dir: no folder {folder} for year {year}")
    # INEI's downloads as a user has them: module files or their zips, in any sub-folder
    return sorted(str(p) for p in folder.rglob("*")
                  if p.is_file() and p.suffix.lower() in (".dta", ".sav", ".csv", ".zip"))


def deflator_inputs():
    if EMBEDDED:
        return [f"{DATA_DIR}/{f}" for f in layout.deflator_files()]
    return sorted(str(p) for p in Path(FILES["deflator_dir"]).rglob("*")
                  if p.is_file() and p.suffix.lower() in (".dta", ".zip"))


def input_sha256(paths):
    """Params value of a rule that reads raw inputs: their SHA-256, so that a change of content
    reruns the job whatever the file's timestamp (pra.digests). Pass a function of the
    wildcards only (a param that takes `input` is not compared by Snakemake). Embedded inputs are
    outputs of rule synthesize, which Snakemake tracks itself: nothing to add."""
    return {} if EMBEDDED else input_digests(paths)


def final_outputs():
    out = [
        expand("results/harmonised/enaho_{year}.parquet", year=YEARS),
        "results/harmonised/enaho.parquet",
        "results/harmonised/dictionary.csv",
        "results/geo/table1.csv",
        "results/geo/table2.csv",
        "results/geo/map1.png",
        "results/ledger/ledger.csv",
    ]
    return out + did_outputs() + matching_outputs() + report_outputs()
