"""One chunk of Monte Carlo draws (rule validation_chunk): every estimator on each draw.

params: draws (the chunk's draw ids), validation (config['validation'] without draws and
chunk_size: the chunk's rows do not depend on them), design (seed, years, post_start, spatial,
did, matching), data (config['data']); output[0]: the chunk's rows (pra.validate.draw.DRAW_COLUMNS).
"""
import logging

from pra.io import write_parquet_atomic
from pra.validate.draw import DrawTimes, Settings, run_draws


def main(smk) -> None:
    config = {**dict(smk.params.design), "data": dict(smk.params.data),
              "validation": dict(smk.params.validation)}
    settings = Settings.from_config(config)
    draws = list(smk.params.draws)
    times = DrawTimes()
    rows = run_draws(settings, draws, times=times)
    write_parquet_atomic(rows, smk.output[0])
    n = max(len(draws), 1)  # timings to the log only: outputs must not vary run to run
    logging.info("draws %s-%s: %d rows; seconds per draw: drawing %.1f, sample building %.1f, "
                 "DD %.1f, matching %.1f", draws[0], draws[-1], len(rows), times.drawing / n,
                 times.building / n, times.dd / n, times.matching / n)


if "snakemake" in globals():
    from pra.runlog import run

    run(main, snakemake)  # noqa: F821
