"""Kernel-matching DD (rule matching_estimate): Tables 14, 15, 16, Figure 9, estimates-store rows.

input: sample (matching sample parquet); params: matching (config['matching']), seed;
output: table14, table15, table16, dropped, covariates_dropped (csv), estimates (parquet),
fig_png, fig_pdf.
"""
import logging

import pandas as pd

from pra.io import write_csv_atomic, write_parquet_atomic
from pra.matching import plot_score_densities
from pra.matching.outputs import run_matching


def main(smk) -> None:
    m = dict(smk.params.matching)
    sample = pd.read_parquet(smk.input.sample)
    logging.info("matching sample: %d households; %s kernel, bandwidth %s, %s bootstrap reps",
                 len(sample), m["kernel"], m["bandwidth"], m["bootstrap_reps"])
    out = run_matching(
        sample, outcomes=list(m["outcomes"]), kernel=m["kernel"],
        bandwidth=float(m["bandwidth"]), common_support=m.get("common_support"),
        trim_pct=m.get("trim_pct"), reps=int(m["bootstrap_reps"]), seed=int(smk.params.seed),
        # small (test-size) samples can have a dummy that predicts treatment: config says what to do
        on_separation=m["on_separation"], baseline_months=m["baseline_months"])
    write_csv_atomic(out.table14, smk.output.table14)
    write_csv_atomic(out.table15, smk.output.table15)
    write_csv_atomic(out.table16, smk.output.table16)
    write_csv_atomic(out.dropped, smk.output.dropped)
    write_csv_atomic(out.covariates_dropped, smk.output.covariates_dropped)
    write_parquet_atomic(out.estimates, smk.output.estimates)
    plot_score_densities(out.densities, [smk.output.fig_png, smk.output.fig_pdf],
                         title="Figure 9. Propensity score before and after matching")
    logging.info("Table 16:\n%s", out.table16.to_string(index=False))
    if len(out.covariates_dropped):
        logging.warning("covariates dropped (perfect prediction): %s",
                        out.covariates_dropped.to_dict("records"))
    logging.info("dropped before estimation: %s", out.dropped.to_dict("records"))


if "snakemake" in globals():
    from pra.runlog import run

    run(main, snakemake)  # noqa: F821
