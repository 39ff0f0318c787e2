"""The chapter's Monte Carlo coverage table (rule inference_coverage): five formats.

input: csv, json (docs/validation/coverage.{csv,json}: the shipped coverage study, measured with
`python -m pra.validate.inference`), curve (docs/validation/curve_coverage.csv: the effect
curve's band, `python -m pra.validate curve`); params.words (the caption's words);
output: tex, html, md, csv, xlsx.
"""
import json
import logging
from pathlib import Path

import pandas as pd

from pra.report.tables import write_excel, write_tables
from pra.validate.inference import coverage_table


def main(smk) -> None:
    cov = pd.read_csv(smk.input.csv)
    meta = json.loads(Path(smk.input.json).read_text(encoding="utf-8"))
    notes = [f"{s['setting'].capitalize()}: keep 95% coverage (within two Monte Carlo SEs of 0.95): {s['keep']}; "
             f"below: {s['miss']}." for s in smk.params.words["settings"]] + [smk.params.words["curve"]]
    table = coverage_table(cov, scale=float(meta["scale"]), seed=int(meta["seed"]), reps=int(meta["bootstrap_reps"]),
                           study_cluster=str(meta["study_cluster"]), notes=notes)
    written = write_tables([table], Path(smk.output.tex).parent)
    expected = {smk.output.tex, smk.output.html, smk.output.md, smk.output.csv}
    if {str(p) for p in written} != {str(p) for p in expected}:
        raise RuntimeError(f"inference_coverage: wrote {written}, declared {sorted(expected)}")
    write_excel([table], smk.output.xlsx)
    logging.info("coverage of %d methods x settings from %s", len(cov), smk.input.csv)


if "snakemake" in globals():
    from pra.runlog import run

    run(main, snakemake)  # noqa: F821
