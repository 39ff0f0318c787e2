"""Household variables coded the same way in ENAHO and the programme survey (one home for both
harmonisers): the head's characteristics, natural region, housing. Codes: ``docs/enaho_layout.md``
§2; the harmonised names: ``docs/contract.md`` §3.
"""
from __future__ import annotations

import pandas as pd

from pra.ingest.readers import normalise_id

# Head education (p301a) -> 7 categories of the study (none … university).
EDUC_P301A = {1: 1, 2: 1, 3: 2, 4: 3, 5: 4, 6: 5, 7: 6, 8: 6, 9: 7, 10: 7, 11: 7}

# Natural region from dominio (layout §2.8): 1–3 coast, 4–6 sierra, 7 selva, 8 Lima (coast).
REGION_DOMINIO = {1: "costa", 2: "costa", 3: "costa", 4: "sierra", 5: "sierra", 6: "sierra",
                  7: "selva", 8: "costa"}

# Sanitation: raw code -> harmonised category (layout §2.2; ENAHO 2012's p111a codes change
# meaning). Keyed by the column that carries them.
SANITATION_P111 = {1: "public_in", 2: "public_out", 3: "septic", 4: "latrine_pit", 5: "river",
                   6: "none_other"}
SANITATION_P111A = {1: "public_in", 2: "public_out", 3: "latrine_pit", 4: "septic",
                    5: "latrine_pit", 6: "river", 7: "none_other", 8: "none_other"}
SANITATION_CODES = {"p111": SANITATION_P111, "p111a": SANITATION_P111A}

HEAD_COLUMNS = ["p207", "p208a", "p209", "p300a", "p301a"]


def _dummy(cond: pd.Series, source: pd.Series) -> pd.Series:
    """1/0 where the source answer exists, missing where it does not."""
    return cond.astype(float).where(source.notna())


def head_variables(head: pd.DataFrame, birthplace: pd.Series, ubigeo: pd.Series,
                   born_here: pd.Series | None = None) -> pd.DataFrame:
    """The head's sex, age, marital status, education, migration and mother tongue.

    ``head``: numeric ``p207``, ``p208a``, ``p209``, ``p300a``, ``p301a`` of each household's
    head; ``birthplace``: the district of birth ``p208a2`` as stored (numeric in some years:
    zeros restored here); ``ubigeo``: the district of residence (same index); ``born_here``:
    ENAHO's ``p208a1`` (1 born in this district, 0 not), which decides where it is given
    (ENAHO asks ``p208a2`` only of those born elsewhere); else birthplace ≠ residence.
    """
    birth = normalise_id(birthplace, 6, strip_zeros=False)
    migrant = (birth != ubigeo).astype(float).where(birth.notna()).astype(float)
    if born_here is not None:
        migrant = (1.0 - born_here).where(born_here.isin([0, 1]), migrant)
    return pd.DataFrame({
        "head_female": _dummy(head["p207"] == 2, head["p207"]),
        "head_age": head["p208a"],
        "head_married": _dummy(head["p209"].isin([1, 2]), head["p209"]),  # married or cohabiting
        "head_single": _dummy(head["p209"] == 6, head["p209"]),
        "head_educ": head["p301a"].map(EDUC_P301A).astype(float),
        "head_migrant": migrant,
        "head_native_lang": _dummy(head["p300a"].isin([1, 2, 3]), head["p300a"]),
    }, index=head.index)


def region_variables(dominio: pd.Series, urban: pd.Series) -> pd.DataFrame:
    """Natural region (costa/sierra/selva) from dominio, its coast and selva dummies, rural."""
    region = dominio.map(REGION_DOMINIO).astype(object)
    return pd.DataFrame({
        "rural": 1.0 - urban,
        "region": region,
        "coast": _dummy(region == "costa", region),
        "selva": _dummy(region == "selva", region),
    }, index=dominio.index)


def housing_indicators(h: pd.DataFrame, sanitation_col: str) -> pd.DataFrame:
    """Housing dummies of contract §3 from module-100 codes (missing where the code is missing);
    ``sanitation_col`` is ``p111`` or ``p111a`` (its own code list)."""
    sanitation = h[sanitation_col].map(SANITATION_CODES[sanitation_col]).astype(object)
    return pd.DataFrame({
        "wall_brick": _dummy(h["p102"] == 1, h["p102"]),
        "floor_dirt": _dummy(h["p103"] == 6, h["p103"]),
        "floor_finished": _dummy(h["p103"].between(1, 5), h["p103"]),
        "roof_concrete_tile": _dummy(h["p103a"].isin([1, 3]), h["p103a"]),
        "electricity": _dummy(h["p1121"] == 1, h["p1121"]),
        "water_public": _dummy(h["p110"].between(1, 3), h["p110"]),
        "sanitation": sanitation,
        "sanitation_public": _dummy(sanitation.isin(["public_in", "public_out"]), sanitation),
        "cook_firewood": _dummy(h["p113a"].isin([5, 6, 7]), h["p113a"]),
    }, index=h.index)


def rooms(p104: pd.Series) -> pd.Series:
    """Rooms of the dwelling (p104); zero or missing rooms are missing (no division by zero)."""
    return p104.where(p104 > 0)


__all__ = ["EDUC_P301A", "HEAD_COLUMNS", "REGION_DOMINIO", "SANITATION_CODES", "head_variables",
           "housing_indicators", "region_variables", "rooms"]
