import os

# one BLAS/OpenMP/numba thread, as the Snakefile sets for every job: runs of several settings side
# by side do not oversubscribe the cores (set before numpy is imported)
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from pra.validate.cli import main  # noqa: E402

main()
