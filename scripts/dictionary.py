"""Write the data dictionary of the harmonised table as CSV and Markdown (rule dictionary).

output: csv, md.
"""
import logging

from pra.ingest.dictionary import write_dictionary


def main(smk) -> None:
    df = write_dictionary(smk.output.csv, smk.output.md)
    logging.info("dictionary: %d variables", len(df))


if "snakemake" in globals():
    from pra.runlog import run

    run(main, snakemake)  # noqa: F821
