"""Harmonise the programme's 2012 survey, the follow-up of the matching design (rule matching_programme).

input: survey, frame, centres (+ deflator files); params: deflator_dir;
output: table (parquet), counts (csv: reason, rows), report (json).
"""
import logging

from pra.ingest import read_centres
from pra.ingest.programme import harmonise_programme_survey, read_frame
from pra.io import write_csv_atomic, write_json_atomic, write_parquet_atomic


def main(smk) -> None:
    table, counts, report = harmonise_programme_survey(
        smk.input.survey, read_frame(smk.input.frame), deflator_dir=smk.params.deflator_dir,
        centres=read_centres(smk.input.centres))
    write_parquet_atomic(table, smk.output.table)
    write_csv_atomic(counts, smk.output.counts)
    write_json_atomic(report, smk.output.report)
    logging.info("programme survey: %d rows read, %d kept; %s", report["rows_read"], len(table),
                 counts.to_dict("records"))


if "snakemake" in globals():
    from pra.runlog import run

    run(main, snakemake)  # noqa: F821
