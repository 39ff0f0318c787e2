"""HonestDiD robust CIs for Table 7's post semesters (rule inference_honest).

input: sample; params.config; output: ci (CSV), breakdown (CSV).
"""
import logging

import pandas as pd

from pra.inference.outputs import honest_frames
from pra.io import write_csv_atomic


def main(smk) -> None:
    ci, bd = honest_frames(pd.read_parquet(smk.input.sample), smk.params.config)
    write_csv_atomic(ci, smk.output.ci)
    write_csv_atomic(bd, smk.output.breakdown)
    logging.info("breakdown values:\n%s", bd.to_string(index=False))


if "snakemake" in globals():
    from pra.runlog import run

    run(main, snakemake)  # noqa: F821
