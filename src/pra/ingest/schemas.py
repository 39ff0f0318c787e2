"""Pandera schemas: raw ENAHO modules (required columns, allowed codes, ranges) and the
harmonised household table (contract §3).

Raw schemas are validated *lazily*: a code outside the allowed set is counted and reported
(``{column: {code: count}}``), never turned silently into a missing value; a missing column
stops the run. The harmonised schema is strict: any failure raises.
"""
from __future__ import annotations

import functools

import pandas as pd
import pandera.pandas as pa
from pandera.engines.pandas_engine import Engine

# contract §3's column list lives in pra.contract (light: the config checks read it at parse time)
from pra.contract import HARMONISED_COLUMNS

# File stems per module (contract §1); ``{year}`` filled per year.
MODULE_STEMS = {
    "sumaria": "sumaria-{year}",
    "100": "enaho01-{year}-100",
    "200": "enaho01-{year}-200",
    "300": "enaho01a-{year}-300",
    "500": "enaho01a-{year}-500",
    "2000": "enaho02-{year}-2000",
    "2000a": "enaho02-{year}-2000a",
    "2100": "enaho02-{year}-2100",
    "01b2": "enaho01b-{year}-2",
}
DEFLATOR_STEMS = {"time": "deflactores_base2012_new", "space": "despacial_ldnew"}

HH_KEYS = ["conglome", "vivienda", "hogar"]
PERSON_KEYS = HH_KEYS + ["codperso"]
# Row keys of the item-level producer files: a producer's plots (p2005a) and crops (p2100a).
PLOT_KEYS = PERSON_KEYS + ["p2005a"]
CROP_KEYS = PERSON_KEYS + ["p2100a"]

# Columns a file may carry under another name in some year: canonical -> alternatives (the
# 2011 dictionary names sumaria's poverty lines linea09 / linpe09).
COLUMN_ALIASES = {"sumaria": {"linea": ("linea09",), "linpe": ("linpe09",)}}

# INEI's missing-value codes ("9 Missing value" in the dictionaries): read as missing and
# counted in the report, never as unknown codes.
MISSING_CODES: dict[str, dict[str, float]] = {
    "01b2": {"p32": 9, "p37": 9, "p39a": 9},
    "2000": {"p20001a": 9, "p20002": 9},
}

# Title documents of a plot (p2005e): 1 registered title, 2 PETT title not registered,
# 3 unregistered title; 4 title in process ... 10 other are not titles.
TITLED_P2005E = (1, 2, 3)


def _r(a: int, b: int) -> list[int]:
    return list(range(a, b + 1))


# Allowed codes per module and column (docs/enaho_layout.md §2). Missing values are allowed:
# non-response rows of module 100 are empty, and a blank answer is not an unknown code.
CODES: dict[str, dict[str, list[int]]] = {
    "sumaria": {"pobreza": [1, 2, 3], "dominio": _r(1, 8), "estrato": _r(1, 8)},
    "100": {
        "result": _r(1, 7),
        "p102": _r(1, 9),
        "p103": _r(1, 7),
        "p103a": _r(1, 8),
        "p110": _r(1, 8),
        "p111": _r(1, 6),
        "p111a": _r(1, 8),
        "p1121": [0, 1],
        "p113a": _r(0, 8),  # 2007 unlabelled, dictionary range 0–7
    },
    "200": {"p203": _r(0, 10), "p204": [1, 2], "p207": [1, 2], "p208a1": [0, 1], "p209": _r(1, 6)},
    "300": {"p300a": _r(1, 8), "p301a": _r(1, 11)},
    "500": {"ocu500": _r(1, 4), "p507": _r(1, 7)},
    "2000": {"p20001a": [0, 1], "p20001b": [0, 2], "p20001c": [0, 3]},
    "2000a": {"p2005e": _r(1, 10), "p2005f3": [0, 1]},
    "01b2": {"p37": _r(1, 4), "p39a": _r(1, 4)},
}

# Numeric ranges (inclusive) checked the same lazy way, reported as out-of-range counts.
RANGES: dict[str, dict[str, tuple[float, float]]] = {
    "sumaria": {"mieperho": (1, 60), "gashog2d": (0, 1e8), "linea": (1e-6, 1e5), "factor07": (0, 1e6)},
    "100": {"p104": (0, 50), "latitud": (-19, 0.5), "longitud": (-82, -68), "altitud": (0, 6000)},
    "200": {"p208a": (0, 98)},
    "500": {"p506": (0, 9999)},
    "2000a": {"p2005b": (0, 1e5)},
    "2100": {"p21002b": (0, 1e8), "p21002f": (0, 1e8), "p21002n": (0, 1e8)},
}


def required_columns(module: str, year: int) -> list[str]:
    """Canonical columns ``harmonise_year`` needs from ``module`` in ``year``."""
    cols = {
        "sumaria": HH_KEYS + ["ubigeo", "dominio", "estrato", "mieperho", "gashog2d",
                              "linea", "pobreza", "factor07"],
        "100": HH_KEYS + ["mes", "result", "p102", "p103", "p103a", "p104", "p110",
                          "p111a" if year >= 2012 else "p111", "p1121", "p113a",
                          "latitud", "longitud"]
        + (["codccpp"] if year <= 2011 else [])
        + (["altitud"] if year >= 2010 else []),
        "200": PERSON_KEYS + ["p203", "p204", "p207", "p208a", "p208a1", "p208a2", "p209"],
        "300": PERSON_KEYS + ["p300a", "p301a"],
        "500": PERSON_KEYS + ["ocu500", "p506", "p507"],
        "2000": PERSON_KEYS + ["p20001a", "p20001b", "p20001c"],
        "2000a": PLOT_KEYS + ["p2005b", "p2005e", "p2005f3"],
        "2100": CROP_KEYS + ["p21002b", "p21002f", "p21002n"],
        "01b2": HH_KEYS + ["p37"] + (["p39a"] if year <= 2011 else []),
    }
    return cols[module]


# --- harmonised table (contract §3) ---------------------------------------------------------

SANITATION = ["public_in", "public_out", "septic", "latrine_pit", "river", "none_other"]
REGIONS = ["costa", "sierra", "selva"]
HH_TYPES = ["producer", "laborer", "dependent", "other"]

DUMMIES = [
    "poor", "subj_poor_living", "subj_poor_self", "head_female", "head_married", "head_single",
    "head_migrant", "head_native_lang", "rural", "coast", "selva", "wall_brick", "floor_dirt",
    "floor_finished", "roof_concrete_tile", "electricity", "water_public", "sanitation_public",
    "cook_firewood", "agri", "livestock", "forestry", "indep_pra_goods", "dependent_only",
    "has_laborer", "producer",
]


def _num(lo=None, hi=None, nullable=True, dtype="float64") -> pa.Column:
    checks = []
    if lo is not None or hi is not None:
        checks.append(pa.Check.in_range(lo if lo is not None else -float("inf"),
                                        hi if hi is not None else float("inf")))
    return pa.Column(dtype, checks=checks, nullable=nullable)


@functools.lru_cache(maxsize=None)  # built once: validate() does not change it
def harmonised_schema() -> pa.DataFrameSchema:
    """The household-year table of contract §3 (types, ranges, codes, unique ``hh_id``)."""
    str_col = lambda n=None, nullable=False: pa.Column(  # noqa: E731
        str, checks=[pa.Check.str_length(n, n)] if n else [], nullable=nullable)
    cols: dict[str, pa.Column] = {
        "year": pa.Column("int16", pa.Check.in_range(2004, 2030)),
        "conglome": str_col(6), "vivienda": str_col(3), "hogar": str_col(2),
        "hh_id": pa.Column(str, unique=True),
        "ubigeo": str_col(6),
        "dpto": pa.Column("int64", pa.Check.in_range(1, 25)),
        "mes": pa.Column("int64", pa.Check.in_range(1, 12)),
        "semester": pa.Column(str, pa.Check.str_matches(r"^\d{4}-(I|II)$")),
        "factor07": _num(0),
        "locality": str_col(10, nullable=True),
        "latitude": _num(-19, 0.5), "longitude": _num(-82, -68), "altitude": _num(0, 6000),
        "region": pa.Column(str, pa.Check.isin(REGIONS), nullable=True),
        "households_2007": _num(0), "population_2007": _num(0),
        "pc_exp_real": _num(0), "ln_pc_exp": _num(), "poverty_gap": _num(0, 1),
        "head_age": _num(0, 120),
        "head_educ": _num(1, 7),
        "hh_size": _num(1), "n_0_5": _num(0), "n_6_14": _num(0), "n_65plus": _num(0),
        "persons_per_room": _num(0),
        "sanitation": pa.Column(str, pa.Check.isin(SANITATION), nullable=True),
        "prod_value": _num(0), "sales": _num(0), "own_consumption": _num(0),
        "titled_plots": _num(0), "hectares": _num(0), "rainfed_plots": _num(0),
        "hh_type": pa.Column(str, pa.Check.isin(HH_TYPES)),
        "unknown_codes": pa.Column(str),
    }
    for d in DUMMIES:
        cols[d] = pa.Column("float64", pa.Check.isin([0.0, 1.0]), nullable=True)
    missing = [c for c in HARMONISED_COLUMNS if c not in cols]
    assert not missing, missing  # the schema covers every contract column
    return pa.DataFrameSchema(
        {c: cols[c] for c in HARMONISED_COLUMNS}, name="harmonised", strict=True, ordered=True
    )


def validate_harmonised(df: pd.DataFrame) -> pd.DataFrame:
    """Raise pandera SchemaErrors (all failures at once) unless ``df`` matches contract §3.

    A table that plainly meets every rule of the schema (:func:`_plainly_valid`) is not handed
    to pandera, whose per-column machinery cost a small year's harmonisation a tenth of its
    time (and its first validation in a process over a second: it imports hypothesis); any
    doubt goes to pandera, which reports the failures."""
    if _plainly_valid(df):
        return df
    return harmonised_schema().validate(df, lazy=True)


def _plainly_valid(df: pd.DataFrame) -> bool:
    """Whether ``df`` meets every rule of :func:`harmonised_schema` as pandera applies them
    (missing values pass a column's checks); False when in doubt."""
    if len(df) == 0 or list(df.columns) != HARMONISED_COLUMNS:
        return False
    return all(_column_plainly_valid(df[name], col)
               for name, col in harmonised_schema().columns.items())


def _column_plainly_valid(s: pd.Series, col: pa.Column) -> bool:
    # the type: pandera's own test (its check_dtype), element-wise for text in object columns
    typed = col.dtype.check(Engine.dtype(s.dtype), s)
    if not (typed if isinstance(typed, bool) else bool(typed.all())):
        return False
    null = s.isna().to_numpy()
    if (null.any() and not col.nullable) or (col.unique and s.duplicated().any()):
        return False
    kept = s[~null] if null.any() else s
    return all(_check_holds(check, kept, kept.to_numpy()) for check in col.checks)


def _check_holds(check: pa.Check, kept: pd.Series, values) -> bool:
    """Whether ``check`` (one of the kinds the schema uses) holds for the non-missing values."""
    st = check.statistics
    if check.name == "in_range":
        lo_ok = values >= st["min_value"] if st["include_min"] else values > st["min_value"]
        hi_ok = values <= st["max_value"] if st["include_max"] else values < st["max_value"]
        return bool((lo_ok & hi_ok).all())
    if check.name == "isin":
        allowed = set(st["allowed_values"])
        return all(v in allowed for v in values.tolist())
    if check.name == "str_length" and st.get("exact_value") is None:
        return all(st["min_value"] <= len(v) <= st["max_value"] for v in values)
    if check.name == "str_matches":
        return bool(kept.str.match(st["pattern"], na=False).all())  # pandera's own call
    return False  # a kind not handled here: pandera decides
