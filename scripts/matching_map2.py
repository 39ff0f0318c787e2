"""Snakemake script: Map 2 (PNG and PDF).

input: sample (matching sample parquet), frame; output: png, pdf
"""
import sys

import pandas as pd

from pra.geo.map2 import map2
from pra.ingest.programme import read_frame

smk = snakemake  # noqa: F821
if smk.log:
    sys.stderr = open(smk.log[0], "w", buffering=1)
info = map2(pd.read_parquet(smk.input.sample), read_frame(smk.input.frame),
            paths=[smk.output.png, smk.output.pdf])
print(info, file=sys.stderr)
