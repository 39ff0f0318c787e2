"""One BLAS/OpenMP/numba thread per process: the one home of the rule every Snakemake job, the
benchmarks and ``python -m pra.validate`` follow.

Jobs run side by side on the cores (Snakemake's ``--cores``), so a library that starts a thread
per core oversubscribes them; on a shared 2-core machine a multi-threaded OpenBLAS made a Monte
Carlo draw's Gram products about a hundred times slower (docs/validation.md §4). One numba thread also gives pyfixest's
reductions the same digits on every machine. This module imports nothing heavy: call
:func:`single_threaded` before numpy is imported (the variables are read when the libraries load);
a value the user set is kept.
"""
from __future__ import annotations

import os

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def single_threaded() -> None:
    for var in THREAD_VARIABLES:
        os.environ.setdefault(var, "1")


__all__ = ["THREAD_VARIABLES", "single_threaded"]
