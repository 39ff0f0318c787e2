"""Snakemake script: the specification curve of each outcome (PNG + PDF) and its data (CSV).

input.store: the DD estimates store; params.outcomes; output: {outcome}_png, _pdf, _csv.
"""
import json
import sys

import pandas as pd

from pra.io import write_csv_atomic
from pra.report.speccurve import plot_curve


COLUMNS = ["rank", "spec_id", "family", "model", "radius_km", "ring", "sample", "placebo_start",
           "coef", "se", "pvalue", "ci_low", "ci_high", "nobs"]


def main(smk) -> None:
    store = pd.read_parquet(smk.input.store)
    for y in smk.params.outcomes:
        data, left_out = plot_curve(store, y, [smk.output[f"{y}_png"], smk.output[f"{y}_pdf"]])
        write_csv_atomic(data[COLUMNS], smk.output[f"{y}_csv"])
        # the rows not drawn, by reason (band/semester/subgroup/means effects, duplicate specs)
        print(f"{y}: {len(data)} estimates drawn; not drawn: {json.dumps(left_out, sort_keys=True)}",
              file=sys.stderr)


if "snakemake" in globals():
    from pra.runlog import run

    run(main, snakemake)  # noqa: F821
