"""Nearest geo-referenced PRA-II locality of every household-year, with DuckDB spatial (rule distances).

input: harmonised (pooled enaho.parquet), localities; output: distances (hh_id, dist_km,
nearest_id, beyond, reason); params: max_km (optional; default None = the exact nearest distance
for every household); threads: passed to DuckDB.
"""
import logging

import pandas as pd

from pra.geo.distance import connect, nearest_locality
from pra.io import write_parquet_atomic


def main(smk) -> None:
    hh = pd.read_parquet(smk.input.harmonised, columns=["hh_id", "latitude", "longitude"])
    localities = pd.read_parquet(smk.input.localities)
    logging.info("%d household-years, %d locality rows", len(hh), len(localities))
    con = connect(threads=smk.threads)
    try:
        dist = nearest_locality(hh, localities, max_km=smk.params.get("max_km"), con=con)
    finally:
        con.close()
    write_parquet_atomic(dist, smk.output.distances)
    bad = dist.loc[dist["reason"] != "", "reason"].value_counts()
    logging.info("distances: %d household-years; without usable coordinates: %s", len(dist),
                 bad.to_dict())


if "snakemake" in globals():
    from pra.runlog import run

    run(main, snakemake)  # noqa: F821
