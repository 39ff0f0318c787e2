"""Snakemake script: harmonise the programme's 2012 survey (follow-up of the matching design).

input: survey, frame, centres (+ deflator files); params: deflator_dir
output: table (parquet), counts (csv: reason, rows), report (json)
"""
import json
import sys

from pra.ingest import read_centres
from pra.ingest.programme import harmonise_programme_survey, read_frame
from pra.io import write_csv_atomic, write_parquet_atomic, write_text_atomic

smk = snakemake  # noqa: F821
if smk.log:
    sys.stderr = open(smk.log[0], "w", buffering=1)
table, counts, report = harmonise_programme_survey(
    smk.input.survey, read_frame(smk.input.frame), deflator_dir=smk.params.deflator_dir,
    centres=read_centres(smk.input.centres))
write_parquet_atomic(table, smk.output.table)
write_csv_atomic(counts, smk.output.counts)
write_text_atomic(json.dumps(report, indent=1, sort_keys=True) + "\n", smk.output.report)
print(f"programme survey: {report['rows_read']} rows read, {len(table)} kept; "
      f"{counts.to_dict('records')}", file=sys.stderr)
