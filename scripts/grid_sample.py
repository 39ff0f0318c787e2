"""Snakemake script: the full grid's sample table (every household type within the largest
sample space of did.full_grid, with its distance).

input: harmonised (pooled enaho.parquet), distances; params: max_space_km; output[0]: parquet.
"""
import sys

import pandas as pd

from pra.grid.estimate import grid_sample
from pra.io import write_parquet_atomic


def main(smk) -> None:
    if smk.params.max_space_km is None:
        raise ValueError("results/grid/ is built with did.grid: full (docs/grid.md); this run has did.grid: study")
    hh = pd.read_parquet(smk.input.harmonised)
    dist = pd.read_parquet(smk.input.distances)
    out = grid_sample(hh, dist, smk.params.max_space_km)
    write_parquet_atomic(out, smk.output[0])
    print(f"grid sample: {len(out)} of {len(hh)} household-years within {smk.params.max_space_km:g} km",
          file=sys.stderr)


if "snakemake" in globals():
    from pra.runlog import run

    run(main, snakemake)  # noqa: F821
