"""Snakemake script: the full grid's specification curves (one per outcome, with the joint test in
the title) and the offline explorer page.

input: store, joint (CSV), null (bootstrap draws of the summaries); params: outcomes, alpha.
output: {outcome}_png, {outcome}_pdf, explorer (HTML).
"""
import json
import sys

import pandas as pd

from pra.grid.explorer import explorer_html
from pra.io import write_text_atomic
from pra.report.speccurve import grid_curve_data, plot_grid_curve


def main(smk) -> None:
    store = pd.read_parquet(smk.input.store)
    joint = pd.read_csv(smk.input.joint)
    null = pd.read_parquet(smk.input.null)
    alpha = float(smk.params.alpha)
    for y in smk.params.outcomes:
        d, left_out = grid_curve_data(store, y)
        jt = joint[joint["outcome"] == y].to_dict("records")
        plot_grid_curve(d, y, [smk.output[f"{y}_png"], smk.output[f"{y}_pdf"]],
                        joint=jt[0] if jt else None, left_out=left_out, alpha=alpha)
        print(f"{y}: {len(d)} estimates drawn; not drawn: {json.dumps(left_out, sort_keys=True)}", file=sys.stderr)
    n = int((store["status"] == "ok").sum())
    note = (f"{n:,} estimated specifications of the full grid (did.grid: full), {len(store):,} in the store. "
            "Choose an outcome and filter by any choice; the curve, the distribution and the joint test's "
            "inputs follow the selection. The joint test (p-values, null draws) is that of each outcome's "
            "whole curve. Works offline: data and libraries are inside this file.")
    write_text_atomic(explorer_html(store, joint, null, alpha=alpha, note=note), smk.output.explorer)


if "snakemake" in globals():
    from pra.runlog import run

    run(main, snakemake)  # noqa: F821
