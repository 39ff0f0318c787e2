"""results/README.md, the results index: outputs, inputs, checksums, config (rule results_index).

input: tables, figures, stage, raw (named lists); params: chapters (heading -> list of files),
notes; health (the data-health table, summarised in the index); output[0]: the index.
"""
import logging

import pandas as pd

from pra.report.index import write_index


def main(smk) -> None:
    chapters = {h: list(files) for h, files in smk.params.chapters.items()}
    text = write_index(smk.output[0], outputs=chapters, stage_inputs=list(smk.input.stage),
                       raw_inputs=list(smk.input.raw), config=smk.config, notes=smk.params.notes,
                       health=pd.read_csv(smk.input.health) if "health" in smk.input.keys() else None)
    logging.info("results index: %d lines", text.count("\n"))


if "snakemake" in globals():
    from pra.runlog import run

    run(main, snakemake)  # noqa: F821
