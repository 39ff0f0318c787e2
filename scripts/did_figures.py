"""Snakemake script: Figures 6, 7, 8 (PNG + PDF) from the estimates store.

input.estimates: the store parquet (or a list of batch parquets); output: fig6_png, fig6_pdf,
fig7_png, fig7_pdf, fig8_png, fig8_pdf (named outputs).
"""
import pandas as pd

from pra.did.figures import figure6, figure7, figure8
from pra.store import order_store


def main(smk) -> None:
    paths = smk.input.estimates
    paths = [paths] if isinstance(paths, str) else list(paths)
    store = order_store(pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True))
    out = smk.output
    figure6(store, [out.fig6_png, out.fig6_pdf])
    figure7(store, [out.fig7_png, out.fig7_pdf])
    figure8(store, [out.fig8_png, out.fig8_pdf])


if "snakemake" in globals():
    from pra.runlog import run

    run(main, snakemake)  # noqa: F821
