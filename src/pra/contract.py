"""What the data provide (``docs/contract.md``), as plain Python lists.

The one home of the harmonised household table's column names (contract §3), of which of them
hold text, of the programme survey's year and of the outcomes the matching design measures in
both periods. The pandera schema (:mod:`pra.ingest.schemas`), the programme-survey harmoniser and
the matching sample import them from here; :mod:`pra.config` checks the config's names and years
against them. Free of heavy imports: the Snakefile runs those checks at parse time, in every job.
"""
from __future__ import annotations

HARMONISED_COLUMNS = [
    # keys and design
    "year", "conglome", "vivienda", "hogar", "hh_id", "ubigeo", "dpto", "mes", "semester",
    "factor07",
    # locality
    "locality", "latitude", "longitude", "altitude", "rural", "region", "coast", "selva",
    "households_2007", "population_2007",
    # outcomes
    "pc_exp_real", "ln_pc_exp", "poor", "poverty_gap", "subj_poor_living", "subj_poor_self",
    # head
    "head_female", "head_age", "head_married", "head_single", "head_educ", "head_migrant",
    "head_native_lang",
    # household
    "hh_size", "n_0_5", "n_6_14", "n_65plus", "persons_per_room",
    # housing
    "wall_brick", "floor_dirt", "floor_finished", "roof_concrete_tile", "electricity",
    "water_public", "sanitation", "sanitation_public", "cook_firewood",
    # production
    "agri", "livestock", "forestry", "prod_value", "sales", "own_consumption", "titled_plots",
    "hectares", "rainfed_plots",
    # labour
    "indep_pra_goods", "dependent_only", "has_laborer", "producer", "hh_type",
    # not in contract §3: which raw columns of this household held an unknown code
    "unknown_codes",
]

# Columns of text (ids, codes, labels); every other column is numeric (the schema's dtypes:
# tests/test_config.py checks the two agree).
TEXT_COLUMNS = ["conglome", "vivienda", "hogar", "hh_id", "ubigeo", "semester", "locality",
                "region", "sanitation", "hh_type", "unknown_codes"]
NUMERIC_COLUMNS = [c for c in HARMONISED_COLUMNS if c not in TEXT_COLUMNS]

# The matching design's follow-up is the programme's own survey (encuesta_pra2_2012).
PROGRAMME_SURVEY_YEAR = 2012
# Outcomes measured at the ENAHO baseline and in the programme survey (Table 16).
MATCHING_OUTCOMES = ["ln_pc_exp", "poor", "subj_poor_self", "subj_poor_living"]

__all__ = ["HARMONISED_COLUMNS", "MATCHING_OUTCOMES", "NUMERIC_COLUMNS", "PROGRAMME_SURVEY_YEAR",
           "TEXT_COLUMNS"]
