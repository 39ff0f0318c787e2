"""Harmonise the programme's 2012 survey, the follow-up of the matching design (rule matching_programme).

input: survey, frame, centres (+ deflator files); params: deflator_dir;
output: table (parquet), counts (csv: reason, rows), report (json, with the data-health
entries; each above zero is a warning in the log). Thresholds: config data.checks.
"""
import logging

from pra.ingest import read_centres
from pra.ingest.health import Health
from pra.ingest.programme import harmonise_programme_survey, read_frame
from pra.io import write_csv_atomic, write_json_atomic, write_parquet_atomic


def main(smk) -> None:
    checks = dict((smk.config.get("data") or {}).get("checks") or {})
    table, counts, report = harmonise_programme_survey(
        smk.input.survey, read_frame(smk.input.frame, checks=checks),
        deflator_dir=smk.params.deflator_dir,
        centres=read_centres(smk.input.centres, checks=checks), checks=checks)
    write_parquet_atomic(table, smk.output.table)
    write_csv_atomic(counts, smk.output.counts)
    write_json_atomic(report, smk.output.report)
    logging.info("programme survey: %d rows read, %d kept; %s", report["rows_read"], len(table),
                 counts.to_dict("records"))
    Health(rows=report["health"]).warn()


if "snakemake" in globals():
    from pra.runlog import run

    run(main, snakemake)  # noqa: F821
