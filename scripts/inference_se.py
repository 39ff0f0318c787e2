"""Table 6 and Table 16 row b under every SE type (rule inference_se).

input: sample (DD sample), matching_sample; params.config; output: table6, table16 (parquet).
"""
import logging

import pandas as pd

from pra.inference.outputs import se_frame_table6, se_frame_table16
from pra.io import write_parquet_atomic


def main(smk) -> None:
    cfg = smk.params.config
    t6 = se_frame_table6(pd.read_parquet(smk.input.sample), cfg)
    t16 = se_frame_table16(pd.read_parquet(smk.input.matching_sample), cfg)
    write_parquet_atomic(t6, smk.output.table6)
    write_parquet_atomic(t16, smk.output.table16)
    logging.info("Table 6: %d rows (%d SE types); Table 16 row b: %d rows", len(t6),
                 t6["method"].nunique(), len(t16))


if "snakemake" in globals():
    from pra.runlog import run

    run(main, snakemake)  # noqa: F821
