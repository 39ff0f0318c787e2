"""Snakemake script: kernel-matching DD (Tables 14, 15, 16, Figure 9, estimates store rows).

input: sample (matching sample parquet)
output: table14, table15, table16, dropped, covariates_dropped (csv), estimates (parquet), fig_png, fig_pdf
params: matching (config['matching']), seed (config['seed'])
"""
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from pra.io import write_csv_atomic, write_parquet_atomic
from pra.matching import plot_score_densities
from pra.matching.outputs import run_matching

smk = snakemake  # noqa: F821
if smk.log:
    sys.stderr = open(smk.log[0], "w", buffering=1)
m = dict(smk.params.matching)
t0 = time.perf_counter()
out = run_matching(
    pd.read_parquet(smk.input.sample), outcomes=list(m["outcomes"]), kernel=m["kernel"],
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
# plot_score_densities writes {stem}.png/.pdf: draw into a temporary folder beside the outputs,
# then move into place (atomic per file)
png, pdf = Path(smk.output.fig_png), Path(smk.output.fig_pdf)
png.parent.mkdir(parents=True, exist_ok=True)
with tempfile.TemporaryDirectory(dir=png.parent, prefix=".figure9.") as tmp:
    a, b = plot_score_densities(out.densities, str(Path(tmp) / "figure9"),
                                title="Figure 9. Propensity score before and after matching")
    os.replace(a, png)
    os.replace(b, pdf)
print(out.table16.to_string(index=False), file=sys.stderr)
if len(out.covariates_dropped):
    print(f"covariates dropped (perfect prediction): {out.covariates_dropped.to_dict('records')}",
          file=sys.stderr)
print(f"dropped before estimation: {out.dropped.to_dict('records')}; "
      f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)
