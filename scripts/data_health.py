"""The data-health table (rule data_health): every year's entries, the register/centre-map
entries of geo-referencing and the programme survey's, in one CSV for the report's data chapter.

input: years (report_<year>.json), georef (json), programme (json), each holding ``health``;
output[0]: results/harmonised/health.csv. Each entry above zero is a warning in the log.
"""
import json
import logging

from pra.ingest.health import health_table, warnings_of
from pra.io import write_csv_atomic


def main(smk) -> None:
    rows = []
    for path in list(smk.input.years) + [smk.input.georef, smk.input.programme]:
        with open(path, encoding="utf-8") as fh:
            rows += json.load(fh).get("health", [])
    table = health_table(rows)
    write_csv_atomic(table, smk.output[0])
    warn = warnings_of(table)
    for r in warn.itertuples(index=False):
        logging.warning("data health: %s %s%s: %s: %d (%s) %s",
                        "" if r.year is None or str(r.year) == "<NA>" else r.year, r.file,
                        f", column {r.column}" if r.column else "", r.item, r.count,
                        r.action or "reported", r.examples)
    logging.info("data health: %d entries, %d above zero (warnings); %d rows read in all",
                 len(table), len(warn), int(table.loc[table["item"] == "rows read", "count"].sum()))


if "snakemake" in globals():
    from pra.runlog import run

    run(main, snakemake)  # noqa: F821
