"""Snakemake script: geo-reference the PRA-II register (results/geo/localities.parquet, table1.csv).

input: register (pra2_localidades.csv), centres (centros_poblados.csv)
output: localities, table1
"""
import sys

import pandas as pd

from pra.geo.georef import georeference, unmatched_report
from pra.io import write_csv_atomic, write_parquet_atomic

smk = snakemake  # noqa: F821  (injected by Snakemake)
CODES = {"codccpp": str, "ubigeo": str}
register = pd.read_csv(smk.input.register, dtype=CODES, encoding="utf-8")
centres = pd.read_csv(smk.input.centres, dtype=CODES, encoding="utf-8")
localities, table1 = georeference(register, centres)
write_parquet_atomic(localities, smk.output.localities)
write_csv_atomic(table1, smk.output.table1, float_format="%.1f")
counts = localities.drop_duplicates("id_localidad")["match"].value_counts().sort_index()
print(f"geo-referencing: {len(register)} register rows -> {len(localities)} rows; localities by "
      f"match: {counts.to_dict()}", file=sys.stderr)
print(unmatched_report(localities).to_string(index=False), file=sys.stderr)
