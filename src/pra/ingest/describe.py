"""Per-year descriptive statistics (Table 4/5 of the study): obs, mean, s.d. by year and pooled."""
from __future__ import annotations

import numpy as np
import pandas as pd

EDUC_LABELS = {1: "none", 2: "incomplete_primary", 3: "complete_primary",
               4: "incomplete_secondary", 5: "complete_secondary", 6: "higher_nonuniv",
               7: "university"}

# Table 4's variables in its order (categorical head_educ and sanitation expanded to shares).
TABLE4_VARIABLES = [
    "pc_exp_real", "ln_pc_exp", "poor", "subj_poor_living", "subj_poor_self", "head_female",
    "head_age", "head_married", "head_educ", "head_migrant", "head_native_lang", "hh_size",
    "n_0_5", "n_6_14", "n_65plus", "persons_per_room", "floor_dirt", "electricity",
    "water_public", "sanitation_public", "cook_firewood", "wall_brick", "roof_concrete_tile",
    "altitude", "rural", "households_2007", "agri", "livestock", "forestry", "prod_value",
    "sales", "own_consumption", "titled_plots", "hectares", "rainfed_plots",
]


def expand_categories(df: pd.DataFrame, variables: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """Replace ``head_educ`` (1–7) and ``sanitation`` (text) by 0/1 share columns.

    A missing category stays missing in every share column (not counted as 0).
    """
    out = df.copy()
    names: list[str] = []
    for v in variables:
        if v == "head_educ" and v in out.columns:
            for code, lab in EDUC_LABELS.items():
                c = f"head_educ_{lab}"
                out[c] = (out[v] == code).astype(float).where(out[v].notna())
                names.append(c)
        elif v == "sanitation" and v in out.columns:
            for lab in sorted(out[v].dropna().unique()):
                c = f"sanitation_{lab}"
                out[c] = (out[v] == lab).astype(float).where(out[v].notna())
                names.append(c)
        else:
            names.append(v)
    return out, names


def _stats(x: pd.Series, w: pd.Series | None) -> tuple[int, float, float]:
    ok = x.notna() if w is None else x.notna() & w.notna()
    n = int(ok.sum())
    if n == 0:
        return 0, np.nan, np.nan
    xv = x[ok].to_numpy(float)
    if w is None:
        return n, float(xv.mean()), float(xv.std(ddof=1)) if n > 1 else np.nan
    wv = w[ok].to_numpy(float)
    m = float(np.average(xv, weights=wv))
    var = float(np.average((xv - m) ** 2, weights=wv)) * n / (n - 1) if n > 1 else np.nan
    return n, m, float(np.sqrt(var)) if n > 1 else np.nan


def describe_by_year(df: pd.DataFrame, variables: list[str] | None = None, *,
                     year_col: str = "year", weight: str | None = None,
                     expand: bool = True) -> pd.DataFrame:
    """Long table: variable, year ('all' = pooled, then each year as text), obs, mean, sd.

    ``obs`` counts non-missing values (so subj_poor_self has no 2012 observations); ``sd`` is
    the sample s.d. (ddof 1). Unweighted unless ``weight`` names a column (e.g. factor07).
    """
    variables = list(variables or [v for v in TABLE4_VARIABLES if v in df.columns])
    missing = [v for v in variables if v not in df.columns]
    if missing:
        raise KeyError(f"describe_by_year: columns {missing} not in the table")
    data, names = expand_categories(df, variables) if expand else (df, variables)
    w_all = data[weight] if weight else None
    years = sorted(data[year_col].dropna().unique().tolist())
    rows = []
    for v in names:
        n, m, s = _stats(data[v], w_all)
        rows.append({"variable": v, "year": "all", "obs": n, "mean": m, "sd": s})
        for y in years:
            sel = data[year_col] == y
            n, m, s = _stats(data.loc[sel, v], w_all[sel] if w_all is not None else None)
            rows.append({"variable": v, "year": str(int(y)), "obs": n, "mean": m, "sd": s})
    return pd.DataFrame(rows, columns=["variable", "year", "obs", "mean", "sd"])


def table4_wide(long: pd.DataFrame) -> pd.DataFrame:
    """Table 4's layout: one row per variable; obs/mean/sd pooled, then the mean of each year."""
    pooled = long[long["year"] == "all"].set_index("variable")[["obs", "mean", "sd"]]
    by_year = long[long["year"] != "all"].pivot(index="variable", columns="year", values="mean")
    by_year.columns = [f"mean_{c}" for c in by_year.columns]
    order = list(dict.fromkeys(long["variable"]))
    return pooled.join(by_year).loc[order].reset_index()
