"""Snakemake script: the specification curve of one outcome (PNG + PDF) and its data (CSV).

input.store: the DD estimates store; wildcards.outcome; output: png, pdf, csv.
"""
import json
import sys

import pandas as pd

from pra.io import write_csv_atomic
from pra.report.speccurve import plot_curve


def main(smk) -> None:
    store = pd.read_parquet(smk.input.store)
    data, left_out = plot_curve(store, smk.wildcards.outcome, [smk.output.png, smk.output.pdf])
    cols = ["rank", "spec_id", "family", "model", "radius_km", "ring", "sample", "placebo_start",
            "coef", "se", "pvalue", "ci_low", "ci_high", "nobs"]
    write_csv_atomic(data[cols], smk.output.csv)
    # the rows not drawn, by reason (band/semester/subgroup/means effects, duplicate specs)
    print(f"{smk.wildcards.outcome}: {len(data)} estimates drawn; not drawn: "
          f"{json.dumps(left_out, sort_keys=True)}", file=sys.stderr)


if "snakemake" in globals():
    smk = snakemake  # noqa: F821  (injected by Snakemake)
    if smk.log:
        sys.stderr = open(smk.log[0], "w", buffering=1)
    main(smk)
