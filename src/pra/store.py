"""The estimates store: one tidy row per reported coefficient, for both designs.

The DD batches (:func:`pra.did.batch.run_batch`, merged into ``results/estimates/estimates.parquet``)
and the matching rows (:func:`pra.matching.outputs.estimates_rows`,
``results/matching/estimates.parquet``) share this schema (docs/contract.md §5), so one reader
serves both and a table always describes the design of the estimates it shows.

Column groups:

* the estimate: spec_id, family, outcome, model, term, role (treatment | control), coef, se,
  pvalue, ci_low, ci_high, nobs, nclusters, r2, r2_within;
* the specification (DD; :data:`pra.did.specs.SPEC_FIELDS`): terms, radius_km, ring, sample,
  placebo_start, subgroup, band_km, post_start, sample_space_km;
* the design the estimate ran under (:data:`DESIGN_COLUMNS`): ``cluster`` (the variable whose
  clusters the standard errors account for: ``did.cluster`` for DD, the bootstrap's resampling
  unit for matching), ``years`` (the survey years of the DD sample, comma-separated), and for
  matching ``baseline_year``, ``baseline_months`` (comma-separated), ``followup_year``,
  ``kernel``, ``bandwidth``, ``common_support``, ``trim_pct``, ``bootstrap_reps``, ``seed``;
* ``dropped``: JSON ``{reason: rows}`` of the rows removed before estimation.

Everything here is pandas only (no pyfixest): the report stage reads the store without the
estimators.
"""
from __future__ import annotations

from typing import Iterable

import pandas as pd

ESTIMATE_COLUMNS = ["spec_id", "family", "outcome", "model", "term", "role", "coef", "se", "pvalue",
                    "ci_low", "ci_high", "nobs", "nclusters", "r2", "r2_within"]
SPEC_COLUMNS = ["terms", "radius_km", "ring", "sample", "placebo_start", "subgroup", "band_km",
                "post_start", "sample_space_km"]
DESIGN_COLUMNS = ["cluster", "years", "baseline_year", "baseline_months", "followup_year", "kernel",
                  "bandwidth", "common_support", "trim_pct", "bootstrap_reps", "seed"]
STORE_COLUMNS = ESTIMATE_COLUMNS + SPEC_COLUMNS + DESIGN_COLUMNS + ["dropped"]

# Families in the store's order (DD families as in pra.did.specs.FAMILIES, then matching).
FAMILY_ORDER = ["base", "radius", "band", "semester", "gap", "placebo", "subgroup", "ring", "sample",
                "means", "matching"]

INT_COLUMNS = ["nobs", "model"]
NULLABLE_INT_COLUMNS = ["nclusters", "placebo_start", "post_start", "baseline_year", "followup_year",
                        "bootstrap_reps", "seed"]
FLOAT_COLUMNS = ["coef", "se", "pvalue", "ci_low", "ci_high", "r2", "r2_within", "radius_km", "band_km",
                 "sample_space_km", "bandwidth", "trim_pct"]
TEXT_COLUMNS = [c for c in STORE_COLUMNS if c not in INT_COLUMNS + NULLABLE_INT_COLUMNS + FLOAT_COLUMNS]


class StoreError(ValueError):
    """A store (or batch) that does not follow the schema; the message names file and column."""


def join_ints(values: Iterable[int] | None) -> str | None:
    """``[2007, 2008]`` -> ``"2007,2008"`` (how list-valued design facts are stored)."""
    if values is None:
        return None
    return ",".join(str(int(v)) for v in values)


def split_ints(text) -> list[int]:
    """The inverse of :func:`join_ints`; missing -> ``[]``."""
    if text is None or (not isinstance(text, str) and pd.isna(text)) or str(text) == "":
        return []
    return [int(v) for v in str(text).split(",")]


def store_frame(rows: list[dict]) -> pd.DataFrame:
    """Store rows as a frame with the store's columns and dtypes (DD batches and matching alike).

    Columns a row does not set are missing (e.g. the matching design for DD rows).
    """
    out = pd.DataFrame(rows, columns=STORE_COLUMNS)
    for c in INT_COLUMNS:
        out[c] = out[c].astype("int64")
    for c in NULLABLE_INT_COLUMNS:
        out[c] = pd.array([None if pd.isna(v) else int(v) for v in out[c]], dtype="Int64")
    for c in FLOAT_COLUMNS:
        out[c] = out[c].astype("float64")
    # text columns: object dtype with None for missing, whatever the batch contains (pandas 3
    # would otherwise infer "str" with NaN for some batches and object/None for others)
    for c in TEXT_COLUMNS:
        out[c] = pd.Series([None if pd.isna(v) else str(v) for v in out[c]], index=out.index, dtype=object)
    return out


def check_store(store: pd.DataFrame, where: str) -> None:
    """Raise :class:`StoreError` naming ``where`` and the absent columns."""
    miss = [c for c in STORE_COLUMNS if c not in store.columns]
    if miss:
        raise StoreError(f"{where}: missing store column(s) {miss} (has {sorted(map(str, store.columns))}); "
                         "rebuild it with the current pipeline")


def order_store(store: pd.DataFrame) -> pd.DataFrame:
    """Deterministic order for a concatenation of batches: family order, spec_id, term position."""
    fam = {f: i for i, f in enumerate(FAMILY_ORDER)}
    s = store.copy()
    s["_f"] = s["family"].map(fam).fillna(99)
    s["_i"] = s.groupby("spec_id", sort=False).cumcount()
    return s.sort_values(["_f", "spec_id", "_i"], kind="mergesort").drop(columns=["_f", "_i"]).reset_index(drop=True)


def design_values(store: pd.DataFrame, column: str, where: str = "estimates store") -> list:
    """The distinct non-missing values of a design column, in first-appearance order."""
    if column not in store.columns:
        raise StoreError(f"{where}: no column {column!r}")
    return list(dict.fromkeys(v for v in store[column] if not pd.isna(v)))


def one_design_value(store: pd.DataFrame, column: str, where: str = "estimates store"):
    """The single value of a design column over ``store`` (None if every row lacks it); two
    different values are an error: one table shows the estimates of one design."""
    vals = design_values(store, column, where)
    if len(vals) > 1:
        raise StoreError(f"{where}: column {column!r} takes {len(vals)} values {vals[:5]} in rows that "
                         "one table describes together; expected one design")
    return vals[0] if vals else None


__all__ = ["DESIGN_COLUMNS", "ESTIMATE_COLUMNS", "FAMILY_ORDER", "SPEC_COLUMNS", "STORE_COLUMNS",
           "StoreError", "check_store", "design_values", "join_ints", "one_design_value", "order_store",
           "split_ints", "store_frame"]
