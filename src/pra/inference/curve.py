"""The treatment-effect curve over distance (Butts 2023, "Difference-in-differences with geocoded
microdata", J. Urban Econ.) by partitioning-based least squares, with a uniform band.

Butts' estimator for a panel: regress the unit's change ``Δy`` on a partition of distance into
bins (binscatter / partitioning-based least squares, Cattaneo, Crump, Farrell and Feng), and
subtract the mean change of the far units that the programme cannot reach. ENAHO is a set of
repeated cross-sections, so the unit is the **locality** (the study's cluster):

1. ``ỹ = y − (the control localities' mean of y in that year)`` removes the year effects also
   where a locality is not observed in every year; ``Δỹ_l`` = mean of ỹ after the programme
   minus before, per locality (localities seen in only one period are dropped and counted);
2. localities closer than ``dist_max_km`` are split into ``J`` quantile-spaced distance bins
   (knots = sample quantiles of their distances, Stata's centile definition, bins ``(k_j,
   k_{j+1}]`` with the first closed: binsreg's convention); the farther ones are the control;
3. ``τ_j = mean_{l ∈ bin j} Δỹ_l − mean_{l ∈ control} Δỹ_l``; the localities are independent
   (the study clusters by locality), so ``Var τ_j = s²_j/n_j + s²_c/n_c`` and
   ``Cov(τ_j, τ_k) = s²_c/n_c`` (the shared control mean);
4. ``J`` is binsreg's IMSE-optimal (direct plug-in) choice for the piecewise-constant fit of
   ``Δỹ`` on distance among the close localities (``binsreg.binsregselect``), unless given;
5. the uniform band uses the sup-t critical value: the ``level`` quantile of ``max_j |Z_j|`` for
   ``Z ~ N(0, corr(τ̂))``, simulated with ``nsims`` seeded draws (Montiel Olea and
   Plagborg-Møller 2019; binsreg's confidence band with piecewise-constant fits).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["EffectCurve", "locality_changes", "quantile_knots", "bin_index", "select_nbins",
           "sup_t_critical", "effect_curve"]


@dataclass(frozen=True)
class EffectCurve:
    """``bins``: one row per distance bin (bin, d_low, d_high, n_localities, tau, se, ci_low,
    ci_high, band_low, band_high); the control ring starts at ``dist_max_km``."""

    bins: pd.DataFrame
    nbins: int
    selection: str
    dist_max_km: float
    n_control: int
    crit_band: float
    level: float
    dropped: dict[str, int] = field(default_factory=dict)


def locality_changes(sample: pd.DataFrame, outcome: str, dist_max_km: float,
                     locality: str = "locality", dist: str = "dist_km", post: str = "post",
                     year: str = "year") -> tuple[pd.DataFrame, dict[str, int]]:
    """Per locality: distance, Δỹ (post − pre mean of the control-year-demeaned outcome),
    n_pre, n_post. Localities seen in one period only are dropped (counted)."""
    cols = [outcome, locality, dist, post, year]
    missing = [c for c in cols if c not in sample.columns]
    if missing:
        raise KeyError(f"inference.curve: column(s) {missing} not in the sample")
    f = sample[cols].dropna()
    dropped = {"missing": len(sample) - len(f)} if len(f) < len(sample) else {}
    control = f[dist] >= dist_max_km
    if not control.any():
        raise ValueError(f"inference.curve: no control locality at ≥ {dist_max_km} km")
    year_mean = f.loc[control].groupby(year)[outcome].mean()
    if not f[year].isin(year_mean.index).all():
        raise ValueError("inference.curve: a year without control localities")
    f = f.assign(_y=f[outcome] - f[year].map(year_mean).to_numpy())
    g = f.groupby([locality, post])["_y"].agg(["mean", "size"]).unstack(post)
    both = g["size"].notna().all(axis=1)
    if (~both).any():
        dropped["one_period_only"] = int((~both).sum())
    g = g.loc[both]
    d = f.groupby(locality)[dist].first().loc[g.index]
    out = pd.DataFrame({"locality": g.index, "dist_km": d.to_numpy(),
                        "dy": (g[("mean", 1)] - g[("mean", 0)]).to_numpy(),
                        "n_pre": g[("size", 0)].to_numpy(int), "n_post": g[("size", 1)].to_numpy(int)})
    return out.reset_index(drop=True), dropped


def quantile_knots(x: np.ndarray, J: int) -> np.ndarray:
    """J + 1 knots at the sample quantiles 0, 1/J, …, 1 (Stata's centile, averaged inverted CDF)."""
    return np.quantile(np.asarray(x, float), np.linspace(0, 1, J + 1), method="averaged_inverted_cdf")


def bin_index(x: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """Bin of each x: (k_j, k_{j+1}], the first bin closed at k_0."""
    j = np.searchsorted(knots, x, side="left") - 1
    return np.clip(j, 0, len(knots) - 2)


def select_nbins(dy: np.ndarray, dist: np.ndarray) -> int:
    """binsreg's IMSE-optimal number of quantile-spaced bins (DPI) for a piecewise constant fit."""
    from binsreg import binsregselect

    res = binsregselect(np.asarray(dy, float), np.asarray(dist, float), deriv=0, bins=(0, 0),
                        binspos="qs", binsmethod="dpi")
    if not np.isfinite(res.nbinsdpi):
        raise ValueError(f"inference.curve: binsreg's DPI bin selection is undefined on {len(dy)} "
                         "localities (too few); give nbins")
    return int(res.nbinsdpi)


def sup_t_critical(corr: np.ndarray, level: float, nsims: int, seed: int) -> float:
    """The ``level`` quantile of max_j |Z_j|, Z ~ N(0, corr), from ``nsims`` seeded draws."""
    rng = np.random.default_rng(seed)
    L = np.linalg.cholesky(corr + 1e-14 * np.eye(len(corr)))
    Z = rng.standard_normal((nsims, len(corr))) @ L.T
    return float(np.quantile(np.abs(Z).max(axis=1), level))


def effect_curve(sample: pd.DataFrame, outcome: str, dist_max_km: float, nbins: int | None = None,
                 level: float = 0.95, nsims: int = 10_000, seed: int = 0, **cols) -> EffectCurve:
    """The effect as a function of distance, with pointwise CIs and a uniform band."""
    ch, dropped = locality_changes(sample, outcome, dist_max_km, **cols)
    near = ch[ch["dist_km"] < dist_max_km]
    ctrl = ch[ch["dist_km"] >= dist_max_km]
    selection = "fixed"
    if nbins is None:
        nbins, selection = select_nbins(near["dy"], near["dist_km"]), "binsreg-dpi"
    knots = quantile_knots(near["dist_km"].to_numpy(), nbins)
    j = bin_index(near["dist_km"].to_numpy(), knots)
    grp = near.assign(bin=j).groupby("bin")["dy"]
    n_j, m_j, v_j = grp.size(), grp.mean(), grp.var(ddof=1)
    if len(n_j) < nbins or (n_j < 2).any():
        raise ValueError(f"inference.curve: {nbins} bins leave a bin with < 2 localities ({n_j.to_dict()})")
    n_c, m_c, v_c = len(ctrl), ctrl["dy"].mean(), ctrl["dy"].var(ddof=1)
    tau = (m_j - m_c).to_numpy()
    cov = np.full((nbins, nbins), v_c / n_c) + np.diag((v_j / n_j).to_numpy())
    se = np.sqrt(np.diag(cov))
    z = stats.norm.ppf(0.5 + level / 2)
    crit = sup_t_critical(cov / np.outer(se, se), level, nsims, seed)
    bins = pd.DataFrame({
        "bin": np.arange(1, nbins + 1), "d_low": knots[:-1], "d_high": knots[1:],
        "n_localities": n_j.to_numpy(int), "tau": tau, "se": se,
        "ci_low": tau - z * se, "ci_high": tau + z * se,
        "band_low": tau - crit * se, "band_high": tau + crit * se})
    return EffectCurve(bins, int(nbins), selection, float(dist_max_km), int(n_c), crit, level, dropped)
