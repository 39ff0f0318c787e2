"""Tables 5, 14, 15, 16 and the estimates-store rows of the matching design, as tidy frames.

Table 3 is :func:`pra.matching.sample.table3`. :func:`run_matching` runs the kernel DD once
for the four outcomes (one bootstrap shared by all of them) and assembles every table from
that single :class:`pra.matching.MatchingResult`, so Tables 14–16 and Figure 9 describe the
same estimation sample, scores and weights.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pra.ingest.describe import describe_by_year
from pra.matching.balance import balance_table, score_densities
from pra.matching.kernel import MatchingResult, kernel_did
from pra.matching.sample import COVARIATES, OUTCOMES, estimation_rows

# Table 5: the outcomes, then the characteristics the two surveys share (Table 4's order).
TABLE5_VARIABLES = [
    "pc_exp_real", "ln_pc_exp", "poor", "subj_poor_living", "subj_poor_self", "head_female",
    "head_age", "head_married", "head_educ", "head_migrant", "head_native_lang", "hh_size",
    "n_0_5", "n_6_14", "n_65plus", "persons_per_room", "floor_dirt", "electricity",
    "water_public", "sanitation_public", "cook_firewood", "wall_brick", "roof_concrete_tile",
    "altitude", "rural", "households_2007", "agri", "livestock", "forestry", "hectares",
]
ESTIMATOR_ROWS = {"matching": ("a", "matching DD", 1), "unmatched": ("b", "DD without matching", 2)}


def separating_covariates(data: pd.DataFrame, covariates, treated: str = "treated",
                          period: str = "period") -> pd.DataFrame:
    """Covariates that predict treatment perfectly in some period (Stata's probit check, run
    one covariate at a time with :func:`pra.matching.pscore.check_perfect_prediction`).

    Returns period, covariate, problem (empty when none)."""
    from pra.matching.pscore import PscoreError, check_perfect_prediction

    rows = []
    for pv in np.sort(data[period].unique()):
        sub = data[data[period] == pv]
        y = sub[treated].to_numpy(float)
        for c in covariates:
            x = sub[c].to_numpy(float)
            try:
                check_perfect_prediction(np.column_stack([np.ones(len(x)), x]), y, ["const", c])
            except PscoreError as err:
                rows.append({"period": int(pv), "covariate": c, "problem": str(err).split(": ", 1)[-1]})
    return pd.DataFrame(rows, columns=["period", "covariate", "problem"])


@dataclass
class MatchingOutputs:
    result: MatchingResult
    data: pd.DataFrame  # the estimation rows (complete cases)
    dropped: pd.DataFrame  # period, reason, rows: sample rows not used in estimation
    table14: pd.DataFrame
    table15: pd.DataFrame
    table16: pd.DataFrame
    densities: pd.DataFrame  # Figure 9 data
    estimates: pd.DataFrame  # estimates-store rows (family 'matching')
    covariates_dropped: pd.DataFrame  # period, covariate, problem (separation rule)


def table5(sample: pd.DataFrame, variables=TABLE5_VARIABLES) -> pd.DataFrame:
    """Table 5: obs, mean, sd by year ('all' pooled) of the matching sample (unweighted: the
    programme survey has no expansion factor), and by year × group (``group`` column)."""
    variables = [v for v in variables if v in sample.columns]
    long = describe_by_year(sample, variables, year_col="period")
    long.insert(0, "group", "all")
    parts = [long]
    for t, name in ((1, "treated"), (0, "control")):
        g = describe_by_year(sample[sample["treated"] == t], variables, year_col="period")
        g = g[g["year"] != "all"]
        g.insert(0, "group", name)
        parts.append(g)
    return pd.concat(parts, ignore_index=True)


def table14(result: MatchingResult) -> pd.DataFrame:
    """Table 14: the probit per period (term, coef, se, z, pvalue) with n and pseudo R²."""
    rows = []
    for period, res in sorted(result.pscore.items()):
        t = res.table.copy()
        t.insert(0, "period", int(period))
        t["n"] = res.n
        t["n_treated"] = res.n_treated
        t["n_control"] = res.n_control
        t["pseudo_r2"] = res.pseudo_r2
        t["llf"] = res.llf
        rows.append(t)
    return pd.concat(rows, ignore_index=True)


def table16(result: MatchingResult) -> pd.DataFrame:
    """Table 16: rows a (matching DD) and b (DD without matching) per outcome, bootstrap SE."""
    t = result.table.copy()
    t.insert(0, "row", t["estimator"].map(lambda e: ESTIMATOR_ROWS[e][0]))
    t.insert(2, "label", t["estimator"].map(lambda e: ESTIMATOR_ROWS[e][1]))
    counts = result.counts.set_index("period")
    b, f = result.periods
    t["n_treated_baseline"] = int(counts.loc[b, "n_treated"])
    t["n_control_baseline"] = int(counts.loc[b, "n_control"])
    t["n_treated_followup"] = int(counts.loc[f, "n_treated"])
    t["n_control_followup"] = int(counts.loc[f, "n_control"])
    t["n_off_support"] = int(result.counts["n_off_support"].sum())
    t["reps_failed"] = result.reps_failed
    t["kernel"] = result.settings["kernel"]
    t["bandwidth"] = result.settings["bandwidth"]
    t["common_support"] = result.settings["common_support"] or "none"
    t["seed"] = result.settings["seed"]
    return t


def estimates_rows(result: MatchingResult, data: pd.DataFrame, dropped: pd.DataFrame,
                   baseline_months=None) -> pd.DataFrame:
    """Estimates-store rows (contract §5, columns of :data:`pra.store.STORE_COLUMNS`).

    family 'matching'; ``model`` 1 = matching DD (Table 16 row a), 2 = DD without matching
    (row b); ``term`` 'att_dd' / 'dd'; nobs = households of both periods used; nclusters =
    populated centres of both periods (a centre in both periods counts twice, as the bootstrap
    treats it); ``dropped`` = JSON of the sample rows not used, by reason. The design columns
    record the periods, the kernel settings, the bootstrap and ``baseline_months`` (the
    baseline's interview months, ``matching.baseline_months``), so the tables describe the
    design of these estimates.
    """
    import json

    from pra.store import join_ints, store_frame

    dropped_json = json.dumps({r: int(n) for r, n in dropped.groupby("reason")["rows"].sum().items()},
                              sort_keys=True) if len(dropped) else "{}"
    nobs = int(len(data))
    ncl = int(result.counts["n_clusters"].sum())
    st = result.settings
    design = {
        # the bootstrap resamples the sample's clusters: populated centres (pra.matching.sample)
        "cluster": "locality", "years": join_ints(result.periods),
        "baseline_year": int(result.periods[0]), "followup_year": int(result.periods[1]),
        "baseline_months": join_ints(baseline_months), "kernel": st["kernel"],
        "bandwidth": st["bandwidth"], "common_support": st["common_support"] or "none",
        "trim_pct": st["trim_pct"] if st["common_support"] == "trim" else np.nan,
        "bootstrap_reps": st["reps"], "seed": st["seed"],
    }
    rows = []
    for _, r in result.table.iterrows():
        est = r["estimator"]
        rows.append({
            "spec_id": f"matching-{'dd' if est == 'matching' else 'unmatched_dd'}-{r['outcome']}", "family": "matching", "outcome": r["outcome"],
            "model": ESTIMATOR_ROWS[est][2], "term": "att_dd" if est == "matching" else "dd",
            "role": "treatment", "coef": r["estimate"], "se": r["se"], "pvalue": r["pvalue"],
            "ci_low": r["ci_low"], "ci_high": r["ci_high"], "nobs": nobs, "nclusters": ncl,
            "r2": np.nan, "r2_within": np.nan,
            "terms": f"kernel={result.settings['kernel']};bw={result.settings['bandwidth']};"
                     f"support={result.settings['common_support'] or 'none'};reps={result.settings['reps']}",
            "radius_km": np.nan, "ring": None, "sample": "matching", "placebo_start": pd.NA,
            "subgroup": None, "band_km": np.nan, "post_start": pd.NA, "sample_space_km": np.nan,
            **design, "dropped": dropped_json,
        })
    return store_frame(rows)


def run_matching(
    sample: pd.DataFrame,
    *,
    outcomes=OUTCOMES,
    covariates=COVARIATES,
    kernel: str = "gaussian",
    bandwidth: float = 0.06,
    common_support: str | None = None,
    trim_pct: float | None = None,
    reps: int = 200,
    seed: int = 0,
    on_separation: str = "raise",
    baseline_months=None,
) -> MatchingOutputs:
    """Estimate Design 2 on the matching sample and assemble Tables 14–16, Figure 9's data and
    the estimates-store rows. Rows with a missing outcome, covariate or cluster are dropped and
    counted (``dropped``) before the probit, as the study's Table 14 N shows.

    ``on_separation``: ``"raise"`` stops (via :class:`pra.matching.PscoreError`) when a covariate
    predicts treatment perfectly in a period; ``"drop_covariate"`` removes every such covariate
    from the score of *both* periods (one specification for both years, as in Table 14) and
    records it in ``covariates_dropped`` (small samples: e.g. 4 university-educated heads, all
    treated, in the scale-0.1 baseline). Stata would also drop the perfectly predicted rows;
    here they stay, matched on the remaining covariates.

    ``baseline_months``: the baseline's interview months (``matching.baseline_months``, applied
    by :func:`pra.matching.sample.matching_sample`), recorded in the store rows.
    """
    if on_separation not in ("raise", "drop_covariate"):
        raise ValueError(f"on_separation must be 'raise' or 'drop_covariate', got {on_separation!r}")
    outcomes, covariates = list(outcomes), list(covariates)
    data, dropped = estimation_rows(sample, outcomes, covariates, "cluster")
    sep = separating_covariates(data, covariates)
    if len(sep) and on_separation == "drop_covariate":
        bad = set(sep["covariate"])
        covariates = [c for c in covariates if c not in bad]
    else:
        sep = sep.iloc[0:0]  # "raise": the probit itself stops with the full message
    if common_support in ("none",):
        common_support = None
    res = kernel_did(data, outcomes, "treated", "period", covariates, "cluster", kernel=kernel,
                     bandwidth=bandwidth, reps=reps, seed=seed, common_support=common_support,
                     trim_pct=trim_pct if common_support == "trim" else None)
    t15 = balance_table(data, covariates + outcomes, res.weights, "treated", "period", "cluster")
    dens = score_densities(res.scores, data["treated"], data["period"], res.weights)
    return MatchingOutputs(
        result=res, data=data, dropped=dropped, table14=table14(res), table15=t15,
        table16=table16(res), densities=dens, estimates=estimates_rows(res, data, dropped, baseline_months),
        covariates_dropped=sep,
    )


__all__ = ["MatchingOutputs", "TABLE5_VARIABLES", "estimates_rows", "run_matching", "table14",
           "table16", "table5", "separating_covariates"]
