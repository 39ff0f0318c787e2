"""Romano–Wolf and Westfall–Young adjusted p-values (rule inference_multiple).

input: sample (DD sample); params.config; output: one parquet, one row per hypothesis.
"""
import logging

import pandas as pd

from pra.inference.outputs import multiple_frame
from pra.io import write_parquet_atomic


def main(smk) -> None:
    out = multiple_frame(pd.read_parquet(smk.input.sample), smk.params.config)
    write_parquet_atomic(out, smk.output[0])
    logging.info("%d hypotheses in %d families", len(out), out[["family", "outcome"]].drop_duplicates().shape[0])


if "snakemake" in globals():
    from pra.runlog import run

    run(main, snakemake)  # noqa: F821
