"""Assemble the sample ledger from every stage, check it balances, write it (rule ledger)."""
import sys

import pandas as pd

from pra import ledger
from pra.io import write_parquet_atomic, write_csv_atomic

sys.stderr = open(snakemake.log[0], "w", buffering=1)

frames = [pd.read_parquet(p) for p in list(snakemake.input.ingest) + [snakemake.input.spatial]]
full = pd.concat(frames, ignore_index=True)
ledger.check_balance(full)
write_parquet_atomic(full, snakemake.output.households)
write_csv_atomic(ledger.summarise(full), snakemake.output.summary)
