"""Harmonise one ENAHO year (rule harmonise_year): table, ingest ledger entries, report.

Reads only that year's folder, the deflator folder and the populated-centre map, so a fix to
one year's files reruns that year alone. params: year, year_dir, deflator_dir (folders are not
file inputs), checks (data.checks); input: centres; output: table, ledger (parquet), report
(json, with the year's data-health entries), atomically. Every data-health entry above zero is
a warning in the log.
"""
import logging
import time
from pathlib import Path

from pra.ingest import harmonise_year, read_centres
from pra.ingest.health import Health
from pra.io import write_json_atomic, write_parquet_atomic


def main(smk) -> None:
    t0 = time.perf_counter()
    year = int(smk.params.year)
    checks = dict(smk.params.get("checks", None) or {})
    centres = read_centres(smk.input.centres, checks=checks)
    table, ledger, report = harmonise_year(Path(smk.params.year_dir), smk.params.deflator_dir,
                                           year, centres, checks=checks)
    seconds = round(time.perf_counter() - t0, 3)  # to the log only: outputs must not vary run to run
    write_parquet_atomic(table, smk.output.table)
    write_parquet_atomic(ledger, smk.output.ledger)
    write_json_atomic(report, smk.output.report)
    logging.info("%d: %d households kept; ledger %s; unknown codes %s; %s s", year, len(table),
                 report["ledger"], report["unknown_codes"], seconds)
    Health(year, rows=report["health"]).warn()


if "snakemake" in globals():
    from pra.runlog import run

    run(main, snakemake)  # noqa: F821
