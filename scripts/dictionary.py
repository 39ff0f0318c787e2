"""Write the data dictionary of the harmonised table as CSV and Markdown (rule dictionary)."""
import sys

from pra.ingest.dictionary import write_dictionary

if snakemake.log:  # noqa: F821
    sys.stderr = open(snakemake.log[0], "w", buffering=1)  # noqa: F821

df = write_dictionary(snakemake.output.csv, snakemake.output.md)  # noqa: F821
print(f"dictionary: {len(df)} variables", file=sys.stderr)
