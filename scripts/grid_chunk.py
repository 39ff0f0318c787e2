"""Snakemake script: estimate one chunk of the full grid (pra.grid.estimate.run_grid).

input: sample (the grid sample table); params: specs (one chunk of pra.grid.specs.chunk_grid),
post_start, years, se_clusters, alpha. output: estimates (store rows, parquet), influence (.npy:
specs × clusters of the primary SE kind, rows in the order of the estimates).
"""
import sys

import numpy as np
import pandas as pd

from pra.grid.estimate import run_grid
from pra.io import atomic_path, write_parquet_atomic


def main(smk) -> None:
    data = pd.read_parquet(smk.input.sample)
    specs = list(smk.params.specs)
    try:
        store, psi = run_grid(data, specs, post_start=smk.params.post_start, years=smk.params.years,
                              se_kinds=smk.params.se_clusters, alpha=smk.params.alpha)
    except (KeyError, ValueError) as e:
        raise type(e)(f"{smk.input.sample}: {e}") from e
    write_parquet_atomic(store, smk.output.estimates)
    with atomic_path(smk.output.influence) as tmp:
        np.save(tmp, psi, allow_pickle=False)
    bad = store.loc[store["status"] != "ok", "status"].value_counts().to_dict()
    print(f"grid chunk: {len(store)} specifications, not estimated: {bad}", file=sys.stderr)


if "snakemake" in globals():
    from pra.runlog import run

    run(main, snakemake)  # noqa: F821
