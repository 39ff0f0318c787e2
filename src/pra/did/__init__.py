"""Difference-in-differences: estimator, specifications as data, batch runner, figures.

Public API: :func:`estimate`, :func:`estimate_many`, :func:`stars`, :func:`build_specs`,
:func:`chunk_specs`, :func:`prepare_sample`, :func:`run_batch` (figures in ``pra.did.figures``;
the subgroup registry in ``pra.did.subgroups``; the estimates-store schema in ``pra.store``).

Imports are lazy: the Snakefile imports ``pra.did.specs`` at parse time (every job re-parses
it), and that must not pay for pyfixest.
"""
import importlib

_WHERE = {
    "DidResult": "estimator", "estimate": "estimator", "estimate_many": "estimator",
    "formula": "estimator", "stars": "estimator", "term_columns": "estimator",
    "build_specs": "specs", "chunk_id": "specs", "chunk_specs": "specs", "chunks_by_id": "specs",
    "prepare_sample": "specs", "spec_id": "specs", "spec_records": "specs",
    "run_batch": "batch",
}
__all__ = list(_WHERE)


def __getattr__(name):
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
