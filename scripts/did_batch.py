"""Snakemake script: estimate one batch of DD specifications, or merge batches into the store.

Batch mode:  input.sample (spatial sample parquet), params.specs (list of spec dicts from
             pra.did.specs.chunk_specs), optional params.cluster (default "locality")
             -> output[0] (tidy estimates parquet for this batch).
Merge mode:  input.batches (list of batch parquets) -> output[0] (the estimates store, rows in
             pra.did.batch.order_store order).
Writes atomically (temporary file in the output folder, then os.replace).
"""
import pandas as pd

from pra.did.batch import order_store, run_batch
from pra.io import write_parquet_atomic as write_atomic


def main(smk) -> None:
    keys = list(smk.input.keys())
    if "batches" in keys:
        parts = [pd.read_parquet(p) for p in smk.input.batches]
        store = order_store(pd.concat(parts, ignore_index=True)) if parts else pd.DataFrame()
        write_atomic(store, smk.output[0])
        return
    sample_path = smk.input.sample
    data = pd.read_parquet(sample_path)
    specs = list(smk.params.specs)
    cluster = smk.params.get("cluster", "locality") if hasattr(smk.params, "get") else "locality"
    try:
        out = run_batch(data, specs, cluster=cluster or "locality")
    except (KeyError, ValueError) as e:
        raise type(e)(f"{sample_path}: {e}") from e
    write_atomic(out, smk.output[0])


if "snakemake" in globals():
    main(snakemake)  # noqa: F821  (injected by Snakemake)
