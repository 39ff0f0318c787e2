"""Estimate one batch of DD specifications (rule did_batch).

input.sample: the sample-space parquet; params.specs: the batch's specification dicts
(``pra.did.specs.chunk_specs``); params.cluster: the cluster column (config ``did.cluster``);
output[0]: the batch's tidy estimates (``pra.did.batch.STORE_COLUMNS``), written atomically.
"""
import logging

import pandas as pd

from pra.did.batch import run_batch
from pra.io import write_parquet_atomic


def main(smk) -> None:
    sample_path = smk.input.sample
    data = pd.read_parquet(sample_path)
    specs = list(smk.params.specs)
    logging.info("sample: %d household-years; %d specifications", len(data), len(specs))
    try:
        out = run_batch(data, specs, cluster=smk.params.cluster)
    except (KeyError, ValueError) as e:
        raise type(e)(f"{sample_path}: {e}") from e
    write_parquet_atomic(out, smk.output[0])
    logging.info("%d estimate rows from %d specifications", len(out), out["spec_id"].nunique())


if "snakemake" in globals():
    from pra.runlog import run

    run(main, snakemake)  # noqa: F821
