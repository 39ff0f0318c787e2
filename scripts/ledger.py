"""Assemble the sample ledger from every stage, check that it balances, write it (rule ledger).

input: ingest (one parquet per year), spatial; output: households (parquet), summary (csv).
"""
import logging

import pandas as pd

from pra import ledger
from pra.io import write_csv_atomic, write_parquet_atomic


def main(smk) -> None:
    frames = [pd.read_parquet(p) for p in list(smk.input.ingest) + [smk.input.spatial]]
    full = pd.concat(frames, ignore_index=True)
    ledger.check_balance(full)
    summary = ledger.summarise(full)
    write_parquet_atomic(full, smk.output.households)
    write_csv_atomic(summary, smk.output.summary)
    logging.info("ledger: %d entries from %d stage files; it balances; summary %d rows",
                 len(full), len(frames), len(summary))


if "snakemake" in globals():
    from pra.runlog import run

    run(main, snakemake)  # noqa: F821
