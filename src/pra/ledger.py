"""The sample ledger: for every household-year, which stage kept or dropped it and why.

Each stage appends one entry per household-year that *entered* it, with outcome ``kept`` or
``dropped`` and a reason. A stage's entrants are exactly the previous stage's kept rows, so
for every year and stage: entered = kept + dropped (checked by :func:`check_balance`).
"""
from __future__ import annotations

import pandas as pd

KEYS = ["year", "conglome", "vivienda", "hogar"]
COLUMNS = KEYS + ["stage", "outcome", "reason"]


class LedgerError(ValueError):
    """The ledger does not balance."""


def entries(frame: pd.DataFrame, stage: str, reason: pd.Series | str | None) -> pd.DataFrame:
    """Ledger rows for ``frame`` (one row per household-year entering ``stage``).

    ``reason`` is a Series aligned with ``frame`` holding the drop reason, or None / "" for kept
    rows; a plain string marks every row dropped for that reason; None keeps them all.
    """
    out = frame[KEYS].copy()
    out["year"] = out["year"].astype("int16")
    if reason is None:
        r = pd.Series("", index=frame.index)
    elif isinstance(reason, str):
        r = pd.Series(reason, index=frame.index)
    else:
        r = reason.reindex(frame.index).fillna("").astype(str)
    out["stage"] = stage
    out["outcome"] = r.map(lambda s: "dropped" if s else "kept")
    out["reason"] = r.where(r != "", "kept")
    return out[COLUMNS].reset_index(drop=True)


def summarise(ledger: pd.DataFrame) -> pd.DataFrame:
    """Counts by stage, year, outcome and reason (the table users open)."""
    order = {s: i for i, s in enumerate(dict.fromkeys(ledger["stage"]))}
    out = (
        ledger.groupby(["stage", "year", "outcome", "reason"], sort=False)
        .size()
        .rename("households")
        .reset_index()
    )
    out["_o"] = out["stage"].map(order)
    return out.sort_values(["_o", "year", "outcome", "reason"]).drop(columns="_o").reset_index(drop=True)


def check_balance(ledger: pd.DataFrame, stages: list[str] | None = None) -> None:
    """Raise LedgerError unless each stage's entrants equal the previous stage's kept rows."""
    stages = stages or list(dict.fromkeys(ledger["stage"]))
    prev_kept = None
    for stage in stages:
        part = ledger[ledger["stage"] == stage]
        if part.duplicated(KEYS).any():
            dup = part[part.duplicated(KEYS, keep=False)].head(5)
            raise LedgerError(f"stage {stage!r}: household-years entered twice, e.g.\n{dup}")
        entered = part.set_index(KEYS).index
        if prev_kept is not None and not entered.sort_values().equals(prev_kept.sort_values()):
            missing = prev_kept.difference(entered)
            extra = entered.difference(prev_kept)
            raise LedgerError(
                f"stage {stage!r}: {len(missing)} household-years kept by the previous stage "
                f"never entered it and {len(extra)} entered from nowhere "
                f"(e.g. {list(missing[:3]) or list(extra[:3])})"
            )
        prev_kept = part.loc[part["outcome"] == "kept"].set_index(KEYS).index
