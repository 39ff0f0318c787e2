"""Pool the per-year harmonised tables into one, ordered by household id (rule pool_years).

input: the per-year parquets; output[0]: the pooled parquet.
"""
import logging

import pandas as pd

from pra.io import write_parquet_atomic


def main(smk) -> None:
    frames = [pd.read_parquet(p) for p in smk.input]
    pooled = (pd.concat(frames, ignore_index=True).sort_values("hh_id", kind="stable")
              .reset_index(drop=True))
    write_parquet_atomic(pooled, smk.output[0])
    logging.info("pooled %d household-years from %d years (%s)", len(pooled), len(frames),
                 ", ".join(f"{len(f)}" for f in frames))


if "snakemake" in globals():
    from pra.runlog import run

    run(main, snakemake)  # noqa: F821
