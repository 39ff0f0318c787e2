"""One chunk of placebo programme maps (rule inference_ri_chunk; params.maps = (first, count)).

input: sample, localities (geo-referenced register), centres; params.config; output: parquet,
one row per map (placebo DD, placebo-treated localities).
"""
import logging

import pandas as pd

from pra.inference.outputs import ri_chunk
from pra.io import write_parquet_atomic


def main(smk) -> None:
    first, count = (int(x) for x in smk.params.maps)
    centres = pd.read_csv(smk.input.centres, dtype={"codccpp": str, "ubigeo": str}, encoding="utf-8")
    out = ri_chunk(pd.read_parquet(smk.input.sample), centres, pd.read_parquet(smk.input.localities),
                   smk.params.config, first, count)
    write_parquet_atomic(out, smk.output[0])
    logging.info("maps %d-%d: %d with a placebo DD", first, first + count - 1, int(out["coef"].notna().sum()))


if "snakemake" in globals():
    from pra.runlog import run

    run(main, snakemake)  # noqa: F821
