"""The Monte Carlo's draws, summary, table (five formats) and figure (rule validation_summary).

input: chunks (parquet, one per chunk); params: validation (config['validation']), seed;
output: draws (parquet), summary (csv), tex, html, md, csv, xlsx (the summary table), png, pdf
(sampling distributions).
"""
import logging
from pathlib import Path

import pandas as pd

from pra.io import write_csv_atomic, write_parquet_atomic
from pra.report import tables as T
from pra.validate.draw import DRAW_COLUMNS
from pra.validate.summary import plot_distributions, summarise, summary_table


def main(smk) -> None:
    v = dict(smk.params.validation)
    draws = pd.concat([pd.read_parquet(p) for p in smk.input.chunks], ignore_index=True)
    # draw order, then each draw's own row order: the same file whatever the chunking
    draws = draws.sort_values("draw", kind="stable").reset_index(drop=True)[DRAW_COLUMNS]
    ids = sorted(draws["draw"].unique().tolist())
    if ids != list(range(int(v["draws"]))):
        raise ValueError(f"{smk.input.chunks}: draws {ids[:5]}... are not 0..{int(v['draws']) - 1}")
    summary = summarise(draws)
    write_parquet_atomic(draws, smk.output.draws)
    write_csv_atomic(summary, smk.output.summary, float_format="%.6g")
    table = summary_table(summary, draws=int(v["draws"]), scale=float(v["scale"]), seed=int(smk.params.seed),
                          reps=int(v["bootstrap_reps"]), overrides=dict(v.get("data_embedded") or {}))
    written = T.write_tables([table], Path(smk.output.tex).parent)
    expected = {smk.output.tex, smk.output.html, smk.output.md, smk.output.csv}
    if {str(p) for p in written} != {str(p) for p in expected}:
        raise RuntimeError(f"validation_summary: wrote {written}, declared {sorted(expected)}")
    T.write_excel([table], smk.output.xlsx)
    plot_distributions(draws, [smk.output.png, smk.output.pdf],
                       title=f"Monte Carlo: {int(v['draws'])} draws at scale {float(v['scale']):g}")
    logging.info("summary:\n%s", summary.to_string(index=False))


if "snakemake" in globals():
    from pra.runlog import run

    run(main, snakemake)  # noqa: F821
