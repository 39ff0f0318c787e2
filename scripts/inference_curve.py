"""The effect curve over distance (rule inference_curve).

input: sample; params.config; output: bins (CSV), meta (JSON: bins, selection, band).
"""
import logging

import pandas as pd

from pra.inference.outputs import curve_frame
from pra.inference.report import curve_meta
from pra.io import write_csv_atomic, write_json_atomic


def main(smk) -> None:
    cfg = smk.params.config
    curve = curve_frame(pd.read_parquet(smk.input.sample), cfg)
    write_csv_atomic(curve.bins, smk.output.bins)
    write_json_atomic(curve_meta(curve, cfg["inference"]["curve"]["outcome"],
                                                      cfg["inference"]["curve"].get("model")), smk.output.meta)
    logging.info("%d bins (%s), %d comparison localities, dropped %s", curve.nbins, curve.selection,
                 curve.n_control, curve.dropped)


if "snakemake" in globals():
    from pra.runlog import run

    run(main, snakemake)  # noqa: F821
