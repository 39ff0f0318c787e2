"""Harmonise one ENAHO year (rule harmonise_year): table, ingest ledger entries, report.

Reads only that year's folder, the deflator folder and the populated-centre map, so a fix to
one year's files reruns that year alone. Outputs are written atomically.
"""
import json
import sys
import time
from pathlib import Path

from pra.ingest import harmonise_year, read_centres
from pra.io import write_parquet_atomic, write_text_atomic

if snakemake.log:  # noqa: F821
    sys.stderr = open(snakemake.log[0], "w", buffering=1)  # noqa: F821


def _arg(name):
    # the year folder and deflator folder come as params (folders are not file inputs) or inputs
    for src in (snakemake.params, snakemake.input):  # noqa: F821
        if hasattr(src, name):
            return getattr(src, name)
    raise KeyError(f"rule harmonise_year: neither params nor input define {name!r}")


t0 = time.perf_counter()
year = int(snakemake.params.year)  # noqa: F821
year_dir = Path(_arg("year_dir"))
centres = read_centres(snakemake.input.centres)  # noqa: F821
table, ledger, report = harmonise_year(year_dir, _arg("deflator_dir"), year, centres)
seconds = round(time.perf_counter() - t0, 3)  # to the log only: outputs must not vary run to run
write_parquet_atomic(table, snakemake.output.table)  # noqa: F821
write_parquet_atomic(ledger, snakemake.output.ledger)  # noqa: F821
write_text_atomic(json.dumps(report, indent=1, sort_keys=True, ensure_ascii=False) + "\n",
                  snakemake.output.report)  # noqa: F821
print(f"{year}: {len(table)} households kept; ledger {report['ledger']}; "
      f"unknown codes {report['unknown_codes']}; {seconds} s", file=sys.stderr)
