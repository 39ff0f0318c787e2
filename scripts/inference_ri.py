"""The randomisation p-value from every chunk of placebo maps (rule inference_ri).

input: chunks (parquet), store (the DD estimates: the observed coefficient); params.config;
output: draws (every map), summary (CSV).
"""
import logging

import pandas as pd

from pra.inference import ri_model
from pra.inference.outputs import ri_summary
from pra.io import write_csv_atomic, write_parquet_atomic


def main(smk) -> None:
    cfg = smk.params.config
    ri = cfg["inference"]["ri"]
    draws = pd.concat([pd.read_parquet(p) for p in smk.input.chunks], ignore_index=True).sort_values("map")
    store = pd.read_parquet(smk.input.store)
    row = store[(store["family"] == "base") & (store["outcome"] == ri["outcome"])
                & (store["model"] == ri_model(cfg)) & (store["term"] == "D")]
    if len(row) != 1:
        raise ValueError(f"inference_ri: {len(row)} base rows for outcome {ri['outcome']!r}, model "
                         f"{ri_model(cfg)} in {smk.input.store} (inference.ri.outcome/model must be a Table 6 cell)")
    summary = ri_summary(float(row["coef"].iloc[0]), draws, cfg)
    write_parquet_atomic(draws.reset_index(drop=True), smk.output.draws)
    write_csv_atomic(summary, smk.output.summary)
    logging.info("randomisation p-value %.4f from %d maps", summary["pvalue_ri"].iloc[0], summary["maps_used"].iloc[0])


if "snakemake" in globals():
    from pra.runlog import run

    run(main, snakemake)  # noqa: F821
