"""Geo-reference the PRA-II register (rule georeference): localities and Table 1.

input: register (pra2_localidades.csv), centres (centros_poblados.csv);
output: localities (parquet), table1 (csv), health (json: data-health entries of the two files,
each above zero a warning in the log). Both CSVs in any encoding and delimiter, mojibake repaired
or stopped, values that fail to parse counted (``pra.ingest.health``; config data.checks).
"""
import logging
from pathlib import Path

from pra.geo.georef import georeference, unmatched_report
from pra.ingest.health import Health, merge_checks, read_csv_file
from pra.io import write_csv_atomic, write_json_atomic, write_parquet_atomic

CODES = {"codccpp": str, "ubigeo": str}


def _read(path, what: str, checks: dict, health: Health):
    df = read_csv_file(path, what, dtype=CODES, checks=checks)
    df.attrs["source"] = Path(path).name
    health.extend(df.attrs["health"])
    health.rows_read(Path(path).name, len(df))
    return df


def main(smk) -> None:
    checks = dict((smk.config.get("data") or {}).get("checks") or {})
    health = Health(checks=merge_checks(checks))
    register = _read(smk.input.register, "register", checks, health)
    centres = _read(smk.input.centres, "populated-centre map", checks, health)
    localities, table1 = georeference(register, centres, health=health)
    write_parquet_atomic(localities, smk.output.localities)
    write_csv_atomic(table1, smk.output.table1, float_format="%.1f")
    if "health" in smk.output.keys():
        write_json_atomic({"health": health.rows}, smk.output.health)
    health.warn()
    counts = localities.drop_duplicates("id_localidad")["match"].value_counts().sort_index()
    logging.info("%d register rows, %d centres -> %d locality rows; localities by match: %s",
                 len(register), len(centres), len(localities), counts.to_dict())
    logging.info("not geo-referenced:\n%s", unmatched_report(localities).to_string(index=False))


if "snakemake" in globals():
    from pra.runlog import run

    run(main, snakemake)  # noqa: F821
