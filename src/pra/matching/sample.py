"""The matching design's sample (Design 2, ``docs/study.md``; study §3.1.2, Table 3).

- Baseline: ENAHO ``baseline_year`` (2009) households interviewed in ``months`` (July–November)
  in the districts of the 2012 sample frame (every frame district, sampled or not), producer
  households only (harmonised ``producer == 1``, contract §1.2).
- Follow-up: the programme's 2012 survey harmonised by
  :func:`pra.ingest.programme.harmonise_programme_survey` (its unusable rows are dropped and
  counted there).
- Treated: the household's district is a ``corredor`` district of the frame; controls are in
  ``adyacente`` districts.
- Cluster: ``locality`` (the populated centre), resampled within period by the bootstrap.

The stacked frame keeps rows with a missing covariate or outcome (Table 3 counts them, as the
study does: 6,375 households in Table 3, 6,290 in the 2012 probit); ``complete`` flags the
rows the estimator uses and :func:`estimation_rows` drops the others with counted reasons.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from pra.contract import MATCHING_OUTCOMES
from pra.ingest.programme import prepare_frame

EDUC_DUMMIES = {  # Table 14: reference = no education or incomplete primary
    "educ_complete_primary": 3,
    "educ_incomplete_secondary": 4,
    "educ_complete_secondary": 5,
    "educ_higher_nonuniv": 6,
    "educ_university": 7,
}
# Table 14's covariates, in its order (pre-determined or not affected by the programme).
COVARIATES = [
    *EDUC_DUMMIES, "head_single", "head_migrant", "head_female", "head_age", "head_age2",
    "n_0_5", "n_6_14", "n_65plus", "hectares", "wall_brick", "floor_finished",
    "roof_concrete_tile", "rural", "ln_altitude", "households_2007",
]
OUTCOMES = list(MATCHING_OUTCOMES)
# The harmonised columns the sample needs (contract §3), besides the derived covariates.
NEEDED = ["year", "hh_id", "ubigeo", "mes", "locality", "latitude", "longitude", "altitude",
          "head_educ", "head_single", "head_migrant", "head_female", "head_age", "n_0_5", "n_6_14",
          "n_65plus", "hectares", "wall_brick", "floor_finished", "roof_concrete_tile", "rural",
          "households_2007", "pc_exp_real", *OUTCOMES]
KEEP_EXTRA = ["hh_id", "ubigeo", "mes", "locality", "latitude", "longitude", "altitude", "head_educ",
              "pc_exp_real", "hh_size", "head_married", "head_native_lang", "persons_per_room",
              "floor_dirt", "electricity", "water_public", "sanitation_public", "cook_firewood",
              "agri", "livestock", "forestry", "population_2007", "poverty_gap"]


class SampleError(ValueError):
    """Bad input to the matching sample (names the table, column and rows)."""


def _check_columns(df: pd.DataFrame, cols: list[str], name: str) -> None:
    absent = [c for c in cols if c not in df.columns]
    if absent:
        raise SampleError(f"{name}: lacks column(s) {absent}")


def add_covariates(df: pd.DataFrame) -> pd.DataFrame:
    """Table 14's covariates from the harmonised columns (missing stays missing).

    ``ln_altitude`` = ln(max(altitude, 1 m)): a few coastal centres lie at sea level, and the
    study's ln(altitude) is defined on metres above sea level.
    """
    out = df.copy()
    educ = pd.to_numeric(out["head_educ"], errors="coerce")
    for name, code in EDUC_DUMMIES.items():
        out[name] = (educ == code).astype(float).where(educ.notna())
    age = pd.to_numeric(out["head_age"], errors="coerce").astype(float)
    out["head_age2"] = age**2
    alt = pd.to_numeric(out["altitude"], errors="coerce").astype(float)
    out["ln_altitude"] = np.log(alt.clip(lower=1.0))
    return out


def matching_sample(
    enaho_harmonised: pd.DataFrame,
    programme_table: pd.DataFrame,
    frame: pd.DataFrame,
    baseline_year: int = 2009,
    months=(7, 8, 9, 10, 11),
    followup_year: int = 2012,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stack the baseline (ENAHO) and follow-up (programme survey) → (sample, counts).

    ``sample``: one row per household-period with ``period`` (baseline/follow-up year),
    ``treated`` (0/1), ``grupo``, ``cluster`` (= ``locality``), ``source``, the covariates
    :data:`COVARIATES`, the outcomes :data:`OUTCOMES` and descriptive columns, plus ``complete``
    (no covariate or outcome missing). ``counts``: period, source, step, reason, rows — every
    row that entered is under ``kept`` or a drop reason (other ENAHO years are counted once as
    "not the baseline year").
    """
    name_e, name_p = "harmonised ENAHO table", "harmonised programme survey"
    _check_columns(enaho_harmonised, NEEDED + ["producer"], name_e)
    _check_columns(programme_table, NEEDED + ["treated"], name_p)
    fr = prepare_frame(frame)
    months = [int(m) for m in months]
    counts = []

    def count(period, source, reason, n):
        if n:
            counts.append({"period": period, "source": source, "reason": reason, "rows": int(n)})

    # --- baseline: ENAHO ----------------------------------------------------------------------
    e = enaho_harmonised
    yr = pd.to_numeric(e["year"], errors="coerce")
    other = yr != baseline_year
    count(baseline_year, "enaho", f"not the baseline year {baseline_year} (other ENAHO years)", other.sum())
    e = e[~other].copy()
    e["ubigeo"] = e["ubigeo"].astype(str).str.zfill(6)
    e = e.merge(fr, on="ubigeo", how="left", validate="m:1")
    mes = pd.to_numeric(e["mes"], errors="coerce")
    reason = pd.Series("", index=e.index, dtype=object)
    rules = [  # first applicable reason wins
        (e["grupo"].isna(), "district not in the sample frame"),
        (~mes.isin(months), f"interviewed outside months {months[0]}-{months[-1]}"
                            if months == list(range(months[0], months[-1] + 1)) else
                            f"interviewed outside months {months}"),
        (pd.to_numeric(e["producer"], errors="coerce") != 1, "not a producer household"),
    ]
    for cond, why in reversed(rules):
        reason = reason.mask(cond.fillna(True).to_numpy(), why)
    for why, n in reason[reason != ""].value_counts().sort_index().items():
        count(baseline_year, "enaho", why, n)
    base = e[reason == ""].copy()
    base["treated"] = (base["grupo"] == "corredor").astype("int64")
    base["source"] = "enaho"

    # --- follow-up: the programme survey -------------------------------------------------------
    p = programme_table.copy()
    pyr = pd.to_numeric(p["year"], errors="coerce")
    if (pyr != followup_year).any():
        bad = p.loc[pyr != followup_year, "hh_id"].head(5).tolist()
        raise SampleError(f"{name_p}: column 'year' is not {followup_year} for rows {bad}")
    p["ubigeo"] = p["ubigeo"].astype(str).str.zfill(6)
    p = p.drop(columns=[c for c in ("grupo",) if c in p.columns]).merge(fr, on="ubigeo", how="left",
                                                                        validate="m:1")
    nf = p["grupo"].isna()
    count(followup_year, "programme", "district not in the sample frame", nf.sum())
    p = p[~nf].copy()
    t_frame = (p["grupo"] == "corredor").astype("int64")
    if not (pd.to_numeric(p["treated"], errors="coerce") == t_frame).all():
        bad = p.loc[pd.to_numeric(p["treated"], errors="coerce") != t_frame, "hh_id"].head(5).tolist()
        raise SampleError(f"{name_p}: column 'treated' disagrees with the frame's grupo for rows {bad}")
    p["treated"] = t_frame
    p["source"] = "programme"

    # --- stack ------------------------------------------------------------------------------------
    parts = []
    for df, period in ((base, baseline_year), (p, followup_year)):
        df = add_covariates(df)
        df["period"] = np.int64(period)
        parts.append(df)
    cols = ["period", "treated", "grupo", "source", "cluster"] + OUTCOMES + COVARIATES
    extra = [c for c in KEEP_EXTRA if c not in cols]
    rows = []
    for df in parts:
        df = df.copy()
        df["cluster"] = df["locality"]
        for c in extra:
            if c not in df.columns:
                df[c] = np.nan
        rows.append(df[cols + extra])
    sample = pd.concat(rows, ignore_index=True)
    sample["grupo"] = sample["grupo"].astype(str)
    sample["cluster"] = sample["cluster"].astype(object).where(sample["cluster"].notna(), None)
    need = OUTCOMES + COVARIATES + ["cluster"]
    sample["complete"] = sample[need].notna().all(axis=1)
    sample = sample.sort_values(["period", "treated", "hh_id"], kind="mergesort").reset_index(drop=True)
    for (period, src), n in sample.groupby(["period", "source"]).size().items():
        count(int(period), src, "kept", n)
    counts = pd.DataFrame(counts, columns=["period", "source", "reason", "rows"])
    return sample, counts


def estimation_rows(sample: pd.DataFrame, outcomes=OUTCOMES, covariates=COVARIATES,
                    cluster: str = "cluster") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows with every outcome, covariate and the cluster present → (rows, counts).

    counts: period, reason (``missing <first missing column>``), rows — one reason per dropped
    row, in the order outcomes, covariates, cluster (as the probit and the DD need them all).
    """
    cols = list(dict.fromkeys([*outcomes, *covariates, cluster]))
    _check_columns(sample, cols + ["period"], "matching sample")
    na = sample[cols].isna()
    first = na.idxmax(axis=1).where(na.any(axis=1))
    out = []
    for c in cols:
        sel = first == c
        for pv, n in sample.loc[sel, "period"].value_counts().sort_index().items():
            out.append({"period": int(pv), "reason": f"missing {c}", "rows": int(n)})
    return sample[~na.any(axis=1)].copy(), pd.DataFrame(out, columns=["period", "reason", "rows"])


def table3(sample: pd.DataFrame) -> pd.DataFrame:
    """Table 3: households by year and group (controls, treated, total) and a Total row."""
    t = (sample.groupby(["period", "treated"]).size().unstack("treated", fill_value=0)
         .reindex(columns=[0, 1], fill_value=0))
    t.columns = ["controls", "treated"]
    t["total"] = t["controls"] + t["treated"]
    t.index = t.index.astype(int).astype(str)
    t.loc["Total"] = t.sum()
    return t.rename_axis("year").reset_index().astype({"controls": "int64", "treated": "int64", "total": "int64"})


__all__ = ["COVARIATES", "EDUC_DUMMIES", "OUTCOMES", "SampleError", "add_covariates",
           "estimation_rows", "matching_sample", "table3"]
