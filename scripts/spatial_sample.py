"""Snakemake script: the spatial sample, its ledger and Table 2.

input: harmonised (pooled enaho.parquet), distances
output: sample (the configured sample), sample_space (every household-year within the sample
        space, all household types, for the estimation grid), ledger (parquet), table2 (csv)
params: spatial (config['spatial']), post_start, years
"""
import pandas as pd

from pra.geo.sample import attach_distances, spatial_sample, table2
from pra.io import write_csv_atomic, write_parquet_atomic


def main(smk) -> None:
    sp = dict(smk.params.spatial)
    hh = pd.read_parquet(smk.input.harmonised)
    dist = pd.read_parquet(smk.input.distances)
    sample, ledger = spatial_sample(
        hh, dist,
        sample_space_km=sp["sample_space_km"], treatment_radius_km=sp["treatment_radius_km"],
        ring_km=sp.get("ring_km"), bands_km=sp["bands_km"], post_start=smk.params.post_start,
        sample=sp.get("sample", "producers"),
    )
    with_dist = attach_distances(hh, dist)
    # Table 2 counts the configured household sample (the DD sample), by distance band
    t2 = table2(with_dist, sp["bands_km"], sp["sample_space_km"], smk.params.years,
                sample=sp.get("sample", "producers"))
    # The grid varies radius, ring and household sample, so it starts from the whole sample space.
    space = with_dist[with_dist["dist_km"] <= sp["sample_space_km"]].reset_index(drop=True)
    write_parquet_atomic(sample, smk.output.sample)
    write_parquet_atomic(space, smk.output.sample_space)
    write_parquet_atomic(ledger, smk.output.ledger)
    write_csv_atomic(t2, smk.output.table2)


if "snakemake" in globals():
    from pra.runlog import run

    run(main, snakemake)  # noqa: F821
