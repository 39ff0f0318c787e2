"""Snakemake script: Map 2 (PNG and PDF).

input: sample (matching sample parquet), frame; output: png, pdf
"""
import sys

import pandas as pd

from pra.geo.map2 import map2
from pra.ingest.programme import read_frame


def main(smk) -> None:
    info = map2(pd.read_parquet(smk.input.sample), read_frame(smk.input.frame),
                paths=[smk.output.png, smk.output.pdf])
    print(info, file=sys.stderr)


if "snakemake" in globals():
    from pra.runlog import run

    run(main, snakemake)  # noqa: F821
