"""Merge the DD batches into the estimates store (rule did_store).

input.batches: every batch parquet of rule did_batch; output[0]: the store, rows in
``pra.did.batch.order_store`` order (so the store does not depend on batch order), atomically.
"""
import logging

import pandas as pd

from pra.did.batch import order_store
from pra.io import write_parquet_atomic


def main(smk) -> None:
    parts = [pd.read_parquet(p) for p in smk.input.batches]
    store = order_store(pd.concat(parts, ignore_index=True)) if parts else pd.DataFrame()
    write_parquet_atomic(store, smk.output[0])
    n_specs = store["spec_id"].nunique() if len(store) else 0
    logging.info("store: %d rows, %d specifications from %d batches", len(store), n_specs, len(parts))


if "snakemake" in globals():
    from pra.runlog import run

    run(main, snakemake)  # noqa: F821
