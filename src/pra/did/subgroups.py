"""The subgroups of the heterogeneity tables: one registry read by the specifications, the batch
runner and the publication tables (Tables 9, 10 and 12, columns 7–9).

Each :class:`Subgroup` names the group column of the estimation frame, its levels with their
labels (in the tables' order), the main effect added to the model when model 3 does not already
hold it (and the locality fixed effects do not absorb it), and the panel heading. The group
columns that are not harmonised variables are built here (:func:`add_group_columns`), next to the
thresholds their labels quote.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

HIGH_ALTITUDE_M = 3000               # Table 10a: locality altitude above this is "high"
LOCALITY_SIZE_LIMITS = (200, 2000)   # Table 10b: inhabitants in 2007 (dispersed | concentrated | urban)
EDUC_TOP = 6                         # head_educ 6 and 7 (higher non-university, university) pooled


def _n(x: int) -> str:
    return f"{x:,}"


@dataclass(frozen=True)
class Subgroup:
    name: str                     # config name (did.subgroups) and store ``subgroup`` value
    column: str                   # group column of the estimation frame
    levels: dict[int, str]        # level -> label, in the order the tables show them
    heading: str                  # panel heading of the table
    short: str                    # "by <short>" in column heads and notes
    table: str                    # the table that shows it
    main_effect: str | None = None  # term added to the model (None: in model 3 or absorbed)
    configurable: bool = True     # listed in did.subgroups (has_laborer belongs to Table 12)


_LO, _HI = LOCALITY_SIZE_LIMITS
SUBGROUPS: dict[str, Subgroup] = {s.name: s for s in [
    Subgroup("head_educ", "educ_group",
             {1: "with no education", 2: "incomplete primary", 3: "complete primary",
              4: "incomplete secondary", 5: "complete secondary", 6: "higher education"},
             "By the household head's education level", "education of the head", "table9"),
    Subgroup("head_female", "head_female", {0: "male head", 1: "female head"},
             "By the household head's sex", "sex of the head", "table9"),
    # model 3 has no language control, so its main effect is added
    Subgroup("head_native_lang", "head_native_lang", {0: "Spanish", 1: "Quechua/Aymara"},
             "By the household head's mother tongue", "mother tongue of the head", "table9",
             main_effect="head_native_lang"),
    # locality-level groups: the main effect is absorbed by the locality fixed effects
    Subgroup("high_altitude", "high_altitude",
             {0: f"altitude ≤ {_n(HIGH_ALTITUDE_M)} m", 1: f"altitude > {_n(HIGH_ALTITUDE_M)} m"},
             "By altitude of the locality", "altitude", "table10"),
    Subgroup("locality_size", "locality_size",
             {1: f"dispersed rural (≤ {_n(_LO)} inhabitants)", 2: f"concentrated rural ({_n(_LO + 1)}–{_n(_HI)})",
              3: f"urban (> {_n(_HI)})"},
             "By size of the locality in 2007", "locality size", "table10"),
    # household level and in no model: its main effect is added (Table 12, columns 7–9)
    Subgroup("has_laborer", "has_laborer", {1: "with laborer member", 0: "without laborer member"},
             "By whether the household has a laborer member", "laborer member", "table12",
             main_effect="has_laborer",
             configurable=False),
]}
CONFIGURABLE = [s.name for s in SUBGROUPS.values() if s.configurable]


def subgroup(name: str) -> Subgroup:
    if name not in SUBGROUPS:
        raise ValueError(f"did.subgroups: unknown subgroup {name!r} (known: {CONFIGURABLE})")
    return SUBGROUPS[name]


def in_table(table: str) -> list[Subgroup]:
    """The subgroups a table shows, in the registry's order."""
    return [s for s in SUBGROUPS.values() if s.table == table]


def level_label(name: str, level: float) -> str:
    """The label of one level; a level outside the registry is shown as ``name = value``."""
    labels = SUBGROUPS[name].levels if name in SUBGROUPS else {}
    lv = float(level)
    if lv.is_integer() and int(lv) in labels:
        return labels[int(lv)]
    return f"{name} = {lv:g}"


def level_order(name: str, level: float) -> tuple:
    """Sort key: the registry's order, unknown levels after it by value."""
    keys = list(SUBGROUPS[name].levels) if name in SUBGROUPS else []
    lv = float(level)
    return (keys.index(int(lv)), lv) if lv.is_integer() and int(lv) in keys else (len(keys), lv)


def add_group_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Add the group columns that are not harmonised variables (``educ_group``,
    ``high_altitude``, ``locality_size``) when their source column is present; missing stays
    missing. Changes ``df`` in place and returns it."""
    if "head_educ" in df.columns:
        e = pd.to_numeric(df["head_educ"], errors="coerce")
        df["educ_group"] = np.where(e.isna(), np.nan, np.minimum(e, EDUC_TOP))
    if "altitude" in df.columns:
        a = pd.to_numeric(df["altitude"], errors="coerce")
        df["high_altitude"] = np.where(a.isna(), np.nan, (a > HIGH_ALTITUDE_M).astype(float))
    if "population_2007" in df.columns:
        p = pd.to_numeric(df["population_2007"], errors="coerce")
        df["locality_size"] = np.select([p.isna(), p <= _LO, p <= _HI], [np.nan, 1.0, 2.0], 3.0)
    return df


__all__ = ["CONFIGURABLE", "EDUC_TOP", "HIGH_ALTITUDE_M", "LOCALITY_SIZE_LIMITS", "SUBGROUPS", "Subgroup",
           "add_group_columns", "in_table", "level_label", "level_order", "subgroup"]
