"""The chapter's tables (LaTeX, HTML, Markdown, CSV, Excel) and figures (rule inference_report).

input: the frames of the inference rules and the DD store (Figure 6b's bands); params.config;
output: {table}_{fmt}, xlsx, {figure}_{png,pdf}.
"""
import json

import pandas as pd

from pra.inference import INFERENCE_FIGURES
from pra.inference import report as rep
from pra.inference.outputs import band_frame
from pra.report.tables import write_excel, write_tables


def main(smk) -> None:
    cfg = smk.params.config
    i = smk.input
    curve = pd.read_csv(i.curve)
    meta = json.loads(open(i.curve_meta, encoding="utf-8").read())
    ri_draws, ri_sum = pd.read_parquet(i.ri_draws), pd.read_csv(i.ri_summary)
    honest, bd = pd.read_csv(i.honest), pd.read_csv(i.honest_breakdown)
    tables = [rep.se_table6(pd.read_parquet(i.se6), cfg), rep.se_table16(pd.read_parquet(i.se16), cfg),
              rep.multiple_table(pd.read_parquet(i.multiple), cfg), rep.ri_table(ri_sum, cfg),
              rep.curve_table(curve, meta, cfg), rep.honest_table(honest, bd, cfg)]
    out_dir = str(smk.output.xlsx).rsplit("/", 1)[0]
    write_tables(tables, out_dir)
    write_excel(tables, smk.output.xlsx)
    figs = {n: [smk.output[f"{n}_png"], smk.output[f"{n}_pdf"]] for n in INFERENCE_FIGURES}
    rep.plot_ri(ri_draws, ri_sum, figs["inference_ri_placebo"])
    bands = band_frame(pd.read_parquet(i.store), meta["outcome"])
    rep.plot_curve(curve, bands, meta, float(cfg["spatial"]["treatment_radius_km"]), figs["inference_effect_curve"])
    rep.plot_honest(honest, bd, figs["inference_honest_sensitivity"])


if "snakemake" in globals():
    from pra.runlog import run

    run(main, snakemake)  # noqa: F821
