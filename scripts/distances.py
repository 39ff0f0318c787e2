"""Snakemake script: nearest geo-referenced PRA-II locality of every household-year (DuckDB spatial).

input: harmonised (pooled enaho.parquet), localities
output: distances (hh_id, dist_km, nearest_id, beyond, reason)
params: max_km (optional; default None = exact nearest distance for every household)
threads: passed to DuckDB
"""
import sys

import pandas as pd

from pra.geo.distance import connect, nearest_locality
from pra.io import write_parquet_atomic

smk = snakemake  # noqa: F821
hh = pd.read_parquet(smk.input.harmonised, columns=["hh_id", "latitude", "longitude"])
localities = pd.read_parquet(smk.input.localities)
max_km = getattr(smk.params, "max_km", None) if hasattr(smk, "params") else None
con = connect(threads=getattr(smk, "threads", None))
try:
    dist = nearest_locality(hh, localities, max_km=max_km, con=con)
finally:
    con.close()
write_parquet_atomic(dist, smk.output.distances)
bad = dist.loc[dist["reason"] != "", "reason"].value_counts()
print(f"distances: {len(dist)} household-years; without usable coordinates: {bad.to_dict()}",
      file=sys.stderr)
