"""Snakemake script: Map 1 (PNG and PDF).

input: harmonised (pooled enaho.parquet), distances, localities
output: png, pdf
params: spatial (config['spatial'])
"""
import pandas as pd

from pra.geo.maps import map1


def main(smk) -> None:
    sp = dict(smk.params.spatial)
    hh = pd.read_parquet(smk.input.harmonised, columns=["hh_id", "latitude", "longitude"])
    dist = pd.read_parquet(smk.input.distances, columns=["hh_id", "dist_km"])
    hh = hh.merge(dist, on="hh_id", how="left", validate="one_to_one")
    map1(hh, pd.read_parquet(smk.input.localities), sample_space_km=sp["sample_space_km"],
         treatment_radius_km=sp["treatment_radius_km"], paths=[smk.output.png, smk.output.pdf])


if "snakemake" in globals():
    from pra.runlog import run

    run(main, snakemake)  # noqa: F821
