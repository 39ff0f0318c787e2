"""Geo-reference the PRA-II register (rule georeference): localities and Table 1.

input: register (pra2_localidades.csv), centres (centros_poblados.csv);
output: localities (parquet), table1 (csv).
"""
import logging

import pandas as pd

from pra.geo.georef import georeference, unmatched_report
from pra.io import write_csv_atomic, write_parquet_atomic

CODES = {"codccpp": str, "ubigeo": str}


def main(smk) -> None:
    register = pd.read_csv(smk.input.register, dtype=CODES, encoding="utf-8")
    centres = pd.read_csv(smk.input.centres, dtype=CODES, encoding="utf-8")
    localities, table1 = georeference(register, centres)
    write_parquet_atomic(localities, smk.output.localities)
    write_csv_atomic(table1, smk.output.table1, float_format="%.1f")
    counts = localities.drop_duplicates("id_localidad")["match"].value_counts().sort_index()
    logging.info("%d register rows, %d centres -> %d locality rows; localities by match: %s",
                 len(register), len(centres), len(localities), counts.to_dict())
    logging.info("not geo-referenced:\n%s", unmatched_report(localities).to_string(index=False))


if "snakemake" in globals():
    from pra.runlog import run

    run(main, snakemake)  # noqa: F821
