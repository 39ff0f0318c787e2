"""Pool the per-year harmonised tables into one (rule pool_years)."""
import sys

import pandas as pd

from pra.io import write_parquet_atomic

sys.stderr = open(snakemake.log[0], "w", buffering=1)

frames = [pd.read_parquet(p) for p in snakemake.input]
pooled = pd.concat(frames, ignore_index=True).sort_values("hh_id", kind="stable").reset_index(drop=True)
write_parquet_atomic(pooled, snakemake.output[0])
print(f"pooled {len(pooled)} household-years from {len(frames)} years", file=sys.stderr)
