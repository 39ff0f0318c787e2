"""What each estimator estimates when effects differ across households, from a draw's truth.

Regression DD with fixed effects and controls (Frisch–Waugh–Lovell): with ``y = y0 + τ`` where
``τ_i`` is household i's effect on the outcome (0 outside the treated post period), the
coefficient of a treatment term ``D`` is

    β̂ = β̂(y0) + Σ d̃_i τ_i / Σ d̃_i D_i,

``d̃`` the residual of ``D`` on the fixed effects, the controls and the other terms. The second
part is the estimand (a weighted mean of the τ_i with weights d̃_i D_i / Σ d̃ D, which need not
be the simple mean over the treated); the first has expectation 0 when the model's parallel
trends hold. :func:`fwl_estimand` computes it directly; the harness gets the same number as the
coefficient of the same regression with ``τ`` as outcome (OLS is linear in the outcome), which
shares the estimation sample and the pyfixest call (``tests/test_validate_estimands.py``).

Kernel-matching DD: the follow-up's matched difference averages ``Y_t − Ŷ_t(0)`` over the
treated on common support, so the estimand is the mean of τ over those treated; the DD without
matching (Table 16 row b) has the mean of τ over every treated follow-up household as estimand
(its bias is the selection the matching removes).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

SPATIAL_ZERO_EFFECT = ("subj_poor_living", "subj_poor_self")  # planted 0: docs/embedded_data.md §5
TAU_PREFIX = "tau__"


def tau_column(outcome: str) -> str:
    return f"{TAU_PREFIX}{outcome}"


def demean(x: np.ndarray, groups: list[np.ndarray], tol: float = 1e-13, max_iter: int = 10_000) -> np.ndarray:
    """Residual of the columns of ``x`` on the dummies of every grouping in ``groups``
    (alternating projections; exact for one grouping)."""
    x = np.array(x, dtype=float, copy=True)
    if x.ndim == 1:
        x = x[:, None]
    codes = [pd.factorize(g)[0] for g in groups]
    for _ in range(max_iter):
        before = x.copy()
        for c in codes:
            n = np.bincount(c)
            for j in range(x.shape[1]):
                x[:, j] -= (np.bincount(c, weights=x[:, j]) / n)[c]
        if np.max(np.abs(x - before)) < tol:
            break
    return x


def fwl_estimand(D: np.ndarray, tau: np.ndarray, fixed_effects: list[np.ndarray],
                 controls: np.ndarray | None = None) -> float:
    """Σ d̃ τ / Σ d̃ D, d̃ = residual of ``D`` on the fixed effects and ``controls`` (n × k)."""
    D = np.asarray(D, float)
    parts = [D[:, None]] + ([np.asarray(controls, float).reshape(len(D), -1)] if controls is not None else [])
    Z = demean(np.column_stack(parts), fixed_effects)
    d_t, X_t = Z[:, 0], Z[:, 1:]
    if X_t.shape[1]:
        coef, *_ = np.linalg.lstsq(X_t, d_t, rcond=None)
        d_t = d_t - X_t @ coef
    return float(d_t @ np.asarray(tau, float) / (d_t @ D))


# --------------------------------------------------------------------------------------------
# the households' effects in a draw's truth

def _hh_id(year, conglome, vivienda, hogar) -> pd.Series:
    """The harmonised table's household id (``YYYY-conglome-vivienda-hogar``, widths 6/3/2)."""
    return (pd.Series(year).astype(int).astype(str).to_numpy() + "-"
            + pd.Series(conglome).astype(str).str.zfill(6).to_numpy() + "-"
            + pd.Series(vivienda).astype(str).str.zfill(3).to_numpy() + "-"
            + pd.Series(hogar).astype(str).str.zfill(2).to_numpy())


def spatial_effects(hh) -> pd.DataFrame:
    """Per interviewed ENAHO household-year: its effect on each DD outcome (``hh_id``,
    ``tau__ln_pc_exp``, ``tau__poor``, ``tau__subj_poor_living``, ``tau__subj_poor_self``).

    ln expenditure: the truth's ``effect``. Poverty: observed poverty minus the poverty of the
    same household without the effect, with INEI's rule (nominal per-capita expenditure below
    the household's line ``linea``; expenditure rounded to cents as the generator does).
    Subjective poverty: 0 (drawn from counterfactual expenditure)."""
    t = hh.truth
    t = t[t["interview"] == 1]
    ids = _hh_id(t["year"], t["conglome"], t["vivienda"], t["hogar"])
    sm = pd.concat([s.assign(year=int(y)) for (y, m), s in hh.modules.items() if m == "sumaria"],
                   ignore_index=True)
    if "linea" not in sm.columns or sm["linea"].isna().any():  # 2011 names it linea09
        sm["linea"] = sm.get("linea", pd.Series(np.nan, index=sm.index)).fillna(sm.get("linea09"))
    sm = pd.DataFrame({"hh_id": _hh_id(sm["year"], sm["conglome"], sm["vivienda"], sm["hogar"]),
                       "gashog2d": sm["gashog2d"].to_numpy(float), "size": sm["mieperho"].to_numpy(float),
                       "linea": sm["linea"].to_numpy(float)})
    m = pd.DataFrame({"hh_id": ids, "effect": t["effect"].to_numpy(float),
                      "ln_cf": t["ln_pc_exp_cf"].to_numpy(float), "pc_real": t["pc_exp_real"].to_numpy(float),
                      "poor": t["poor"].to_numpy(float)}).merge(sm, on="hh_id", how="left", validate="1:1")
    if m["linea"].isna().any():
        raise ValueError(f"truth: {int(m['linea'].isna().sum())} interviewed households without a "
                         f"sumaria row, e.g. {m.loc[m['linea'].isna(), 'hh_id'].head(3).tolist()}")
    n12 = 12 * m["size"].to_numpy()
    cf_nominal = np.round(np.exp(m["ln_cf"].to_numpy()) * m["gashog2d"].to_numpy() / m["pc_real"].to_numpy(), 2) / n12
    poor_cf = (cf_nominal < m["linea"].to_numpy()).astype(float)
    out = pd.DataFrame({"hh_id": m["hh_id"], tau_column("ln_pc_exp"): m["effect"],
                        tau_column("poor"): m["poor"] - poor_cf})
    for o in SPATIAL_ZERO_EFFECT:
        out[tau_column(o)] = 0.0
    return out


# survey truth columns: outcome -> (with the effect, without it); ln expenditure: the effect itself
SURVEY_TRUTH = {"poor": ("poor", "poor_cf"), "subj_poor_living": ("living", "living_cf"),
                "subj_poor_self": ("self", "self_cf")}


def survey_effects(hh) -> pd.DataFrame:
    """Per programme-survey household (``hh_id`` as harmonised, ``2012-pra-<id_hogar>``): its
    effect on each matching outcome, from the generator's survey truth."""
    st = hh.survey_truth
    need = ["id_hogar", "effect"] + [c for pair in SURVEY_TRUTH.values() for c in pair]
    miss = [c for c in need if c not in st.columns]
    if miss:
        raise ValueError(f"survey truth lacks column(s) {miss} (has {list(st.columns)})")
    out = pd.DataFrame({"hh_id": "2012-pra-" + st["id_hogar"].astype("int64").map(lambda i: f"{i:06d}"),
                        tau_column("ln_pc_exp"): st["effect"].to_numpy(float)})
    for o, (a, b) in SURVEY_TRUTH.items():
        out[tau_column(o)] = st[a].astype(float).to_numpy() - st[b].astype(float).to_numpy()
    return out


__all__ = ["SPATIAL_ZERO_EFFECT", "demean", "fwl_estimand", "spatial_effects", "survey_effects",
           "tau_column"]
