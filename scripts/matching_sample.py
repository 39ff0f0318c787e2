"""The matching sample (baseline ENAHO + programme survey), Tables 3 and 5 (rule matching_sample).

input: harmonised (pooled enaho.parquet), programme (harmonised survey), frame;
output: sample (parquet), counts, table3, table5 (csv); params: matching (config['matching']).
"""
import logging

import pandas as pd

from pra.ingest.programme import read_frame
from pra.io import write_csv_atomic, write_parquet_atomic
from pra.matching.outputs import table5
from pra.matching.sample import matching_sample, table3


def main(smk) -> None:
    m = dict(smk.params.matching)
    sample, counts = matching_sample(
        pd.read_parquet(smk.input.harmonised), pd.read_parquet(smk.input.programme),
        read_frame(smk.input.frame), baseline_year=int(m["baseline_year"]),
        months=tuple(m["baseline_months"]), followup_year=int(m["followup_year"]))
    write_parquet_atomic(sample, smk.output.sample)
    write_csv_atomic(counts, smk.output.counts)
    write_csv_atomic(table3(sample), smk.output.table3)
    write_csv_atomic(table5(sample), smk.output.table5)
    logging.info("matching sample: %d households\n%s", len(sample), counts.to_string(index=False))


if "snakemake" in globals():
    from pra.runlog import run

    run(main, snakemake)  # noqa: F821
