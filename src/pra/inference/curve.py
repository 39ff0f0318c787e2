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
3. ``τ_j = mean_{l ∈ bin j} Δỹ_l − mean_{l ∈ control} Δỹ_l``. Its covariance comes from the
   localities' influence functions: ``ψ_lj = (Δỹ_l − m_j)/n_j`` for ``l`` in bin ``j``,
   ``−(Δỹ_l − m_c)/n_c`` for every ``j`` if ``l`` is a control locality, 0 otherwise.
   ``cluster`` (a column constant within each locality, e.g. the district ``ubigeo``): CRV1,
   ``V = G/(G−1) · (N−1)/(N−K) · Σ_g ψ_g ψ_g'`` with ``ψ_g`` the sum over the cluster's
   localities, ``N`` the localities, ``K = J + 1`` (Stata's ``regress, vce(cluster)`` factor for
   the regression of ``Δỹ_l`` on the bin dummies and a constant, which is this estimator), and
   t(G−1). Localities of one district share its district × year shocks, so they are not
   independent. ``cluster=None`` (or the locality itself): independent localities,
   ``Var τ_j = s²_j/n_j + s²_c/n_c``, ``Cov(τ_j, τ_k) = s²_c/n_c`` (the shared control mean), and
   the normal. Both treat the control localities' yearly means of step 1 as known;
4. ``J`` is binsreg's IMSE-optimal (direct plug-in) choice for the piecewise-constant fit of
   ``Δỹ`` on distance among the close localities (``binsreg.binsregselect``), unless given;
5. the uniform band uses the sup-t critical value: the ``level`` quantile of ``max_j |Z_j|`` for
   ``Z ~ N(0, corr(τ̂))`` (multivariate t(G−1) when clustered), simulated with ``nsims`` seeded
   draws (Montiel Olea and Plagborg-Møller 2019; binsreg's confidence band with
   piecewise-constant fits).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from .clustering import cluster_meat

__all__ = ["EffectCurve", "locality_changes", "quantile_knots", "bin_index", "select_nbins",
           "sup_t_critical", "assign_bins", "bin_effects", "influence", "tau_vcov", "effect_curve", "curve_of"]


@dataclass(frozen=True)
class EffectCurve:
    """``bins``: one row per distance bin (bin, d_low, d_high, n_localities, tau, se, ci_low,
    ci_high, band_low, band_high); the control ring starts at ``dist_max_km``. ``cluster``: the
    column the covariance clusters on (None: independent localities), ``n_clusters`` its G;
    ``vcov``: the covariance of the τ̂."""

    bins: pd.DataFrame
    nbins: int
    selection: str
    dist_max_km: float
    n_control: int
    crit_band: float
    level: float
    dropped: dict[str, int] = field(default_factory=dict)
    cluster: str | None = None
    n_clusters: int | None = None
    vcov: np.ndarray | None = field(default=None, repr=False)
    conley_km: float | None = None  # spatial HAC between localities at this cutoff (then cluster is None)
    kernel: str | None = None


def locality_changes(sample: pd.DataFrame, outcome: str, dist_max_km: float,
                     locality: str = "locality", dist: str = "dist_km", post: str = "post",
                     year: str = "year", cluster: str | None = None,
                     coords: tuple[str, str] | None = None) -> tuple[pd.DataFrame, dict[str, int]]:
    """Per locality: distance, Δỹ (post − pre mean of the control-year-demeaned outcome),
    n_pre, n_post (and the ``cluster`` column, which must be constant within a locality; and the
    locality's mean ``coords`` (latitude, longitude) as ``latitude``, ``longitude``).
    Localities seen in one period only are dropped (counted)."""
    extra = [cluster] if cluster not in (None, locality) else []
    cols = [outcome, locality, dist, post, year] + extra + list(coords or ())
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
    by_loc = f.groupby(locality)  # one grouping for the per-locality columns
    d = by_loc[dist].first().loc[g.index]
    out = pd.DataFrame({"locality": g.index, "dist_km": d.to_numpy(),
                        "dy": (g[("mean", 1)] - g[("mean", 0)]).to_numpy(),
                        "n_pre": g[("size", 0)].to_numpy(int), "n_post": g[("size", 1)].to_numpy(int)})
    if extra:
        # the influence of a locality goes to one cluster: clusters must nest the localities
        per = by_loc[cluster].nunique().loc[g.index]
        if (per > 1).any():
            raise ValueError(f"inference.curve: cluster {cluster!r} is not constant within "
                             f"{int((per > 1).sum())} localities (e.g. {per[per > 1].index[0]!r})")
        out["cluster"] = by_loc[cluster].first().loc[g.index].to_numpy()
    if coords:
        xy = by_loc[list(coords)].mean().loc[g.index]
        out["latitude"], out["longitude"] = xy[coords[0]].to_numpy(float), xy[coords[1]].to_numpy(float)
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


def sup_t_critical(corr: np.ndarray, level: float, nsims: int, seed: int, df: int | None = None) -> float:
    """The ``level`` quantile of max_j |Z_j|, Z ~ N(0, corr) (multivariate t with ``df`` degrees
    of freedom if given: Z / √(χ²_df / df), one χ² per draw), from ``nsims`` seeded draws."""
    rng = np.random.default_rng(seed)
    L = np.linalg.cholesky(corr + 1e-14 * np.eye(len(corr)))
    Z = rng.standard_normal((nsims, len(corr))) @ L.T
    if df is not None:
        Z /= np.sqrt(rng.chisquare(df, nsims) / df)[:, None]
    return float(np.quantile(np.abs(Z).max(axis=1), level))


def assign_bins(dist: np.ndarray, dist_max_km: float, knots: np.ndarray) -> np.ndarray:
    """Bin (0..J−1) of each locality closer than ``dist_max_km``, −1 for the comparison ones."""
    dist = np.asarray(dist, float)
    near = dist < dist_max_km
    b = np.full(len(dist), -1)
    b[near] = bin_index(dist[near], knots)
    return b


def bin_effects(dy: np.ndarray, bins: np.ndarray, nbins: int) -> np.ndarray:
    """τ_j = the bin's mean change minus the comparison localities' (``bins`` == −1)."""
    dy = np.asarray(dy, float)
    return np.array([dy[bins == j].mean() for j in range(nbins)]) - dy[bins == -1].mean()


def influence(dy: np.ndarray, bins: np.ndarray, nbins: int) -> np.ndarray:
    """Influence (n × J) of each locality on τ̂_j = mean_{bin j} Δỹ − mean_{control} Δỹ; ``bins``
    is the bin (0..J−1) of each locality, −1 for the control localities."""
    dy, bins = np.asarray(dy, float), np.asarray(bins)
    psi = np.zeros((len(dy), nbins))
    for j in range(nbins):
        inj = bins == j
        psi[inj, j] = (dy[inj] - dy[inj].mean()) / inj.sum()
    c = bins == -1
    psi[c, :] = (-(dy[c] - dy[c].mean()) / c.sum())[:, None]
    return psi


def tau_vcov(dy: np.ndarray, bins: np.ndarray, nbins: int, cluster: np.ndarray | None = None
             ) -> tuple[np.ndarray, int | None]:
    """Covariance (J × J) of the τ̂ and the cluster count: CRV1 by ``cluster`` (one label per
    locality), or independent localities with per-group variances if ``cluster`` is None."""
    dy, bins = np.asarray(dy, float), np.asarray(bins)
    if cluster is None:
        v = np.array([dy[bins == j].var(ddof=1) / (bins == j).sum() for j in range(nbins)])
        c = dy[bins == -1]
        return np.full((nbins, nbins), c.var(ddof=1) / len(c)) + np.diag(v), None
    codes = pd.factorize(np.asarray(cluster), sort=False)[0]
    if (codes < 0).any():
        raise ValueError("inference.curve: a locality without a cluster label")
    G, N, K = int(codes.max()) + 1, len(dy), nbins + 1
    if G < 2:
        raise ValueError("inference.curve: one cluster only; the clustered covariance is undefined")
    return G / (G - 1) * (N - 1) / (N - K) * cluster_meat(influence(dy, bins, nbins), codes), G


def effect_curve(sample: pd.DataFrame, outcome: str, dist_max_km: float, nbins: int | None = None,
                 level: float = 0.95, nsims: int = 10_000, seed: int = 0, cluster: str | None = None,
                 conley_km: float | None = None, kernel: str = "uniform",
                 coords: tuple[str, str] = ("latitude", "longitude"), **cols) -> EffectCurve:
    """The effect as a function of distance, with pointwise CIs and a uniform band; ``cluster``:
    the column the covariance of the τ̂ clusters on (None or the locality column: independent
    localities). ``conley_km``: instead, the spatial HAC of the localities' influences at that
    cutoff (``kernel`` uniform or bartlett; the localities' mean ``coords``), normal critical
    values: a shock field that crosses district borders correlates neighbouring localities'
    changes, and each locality's change already holds its own serial correlation."""
    if conley_km is not None:
        cluster = None
    if cluster is not None and cluster == cols.get("locality", "locality"):
        cluster = None  # one locality per cluster: the independent-localities covariance
    ch, dropped = locality_changes(sample, outcome, dist_max_km, cluster=cluster,
                                   coords=None if conley_km is None else coords, **cols)
    is_near = (ch["dist_km"] < dist_max_km).to_numpy()
    near = ch[is_near]
    selection = "fixed"
    if nbins is None:
        nbins, selection = select_nbins(near["dy"], near["dist_km"]), "binsreg-dpi"
    knots = quantile_knots(near["dist_km"].to_numpy(), nbins)
    b = assign_bins(ch["dist_km"].to_numpy(), dist_max_km, knots)
    n_j = np.bincount(b[is_near], minlength=nbins)
    if (n_j < 2).any():
        raise ValueError(f"inference.curve: {nbins} bins leave a bin with < 2 localities "
                         f"({dict(enumerate(n_j.tolist()))})")
    dy = ch["dy"].to_numpy(float)
    n_c = int((b == -1).sum())
    tau = bin_effects(dy, b, nbins)
    if conley_km is not None:
        from .conley import conley_meat

        cov, G = conley_meat(influence(dy, b, nbins), ch["latitude"].to_numpy(float),
                             ch["longitude"].to_numpy(float), float(conley_km), kernel), None
        w, V = np.linalg.eigh(cov)
        if w.min() < 0:  # a uniform kernel need not give a PSD matrix: clip (Cameron, Gelbach, Miller 2011)
            cov = (V * np.clip(w, 0, None)) @ V.T
    else:
        cov, G = tau_vcov(dy, b, nbins, None if cluster is None else ch["cluster"].to_numpy())
    se = np.sqrt(np.diag(cov))
    df = None if G is None else G - 1
    # the distributions' ppf directly: freezing one costs more than the quantile (Monte Carlo loops)
    q = stats.norm.ppf(0.5 + level / 2) if df is None else stats.t.ppf(0.5 + level / 2, df)
    crit = sup_t_critical(cov / np.outer(se, se), level, nsims, seed, df)
    bins = pd.DataFrame({
        "bin": np.arange(1, nbins + 1), "d_low": knots[:-1], "d_high": knots[1:],
        "n_localities": n_j.astype(int), "tau": tau, "se": se,
        "ci_low": tau - q * se, "ci_high": tau + q * se,
        "band_low": tau - crit * se, "band_high": tau + crit * se})
    return EffectCurve(bins, int(nbins), selection, float(dist_max_km), n_c, crit, level, dropped,
                       cluster, G, cov, None if conley_km is None else float(conley_km),
                       None if conley_km is None else kernel)


def curve_of(sample: pd.DataFrame, column: str, curve: EffectCurve, **cols) -> np.ndarray:
    """``curve``'s bins applied to another column of the same rows: per bin, the localities' mean
    change of ``column`` minus the comparison localities' (steps 1–3 with ``curve``'s knots). On
    the households' planted effects this is the bins' truth (the Monte Carlo's estimand)."""
    ch, _ = locality_changes(sample, column, curve.dist_max_km, **cols)
    knots = np.r_[curve.bins["d_low"].to_numpy(float), curve.bins["d_high"].to_numpy(float)[-1]]
    return bin_effects(ch["dy"], assign_bins(ch["dist_km"], curve.dist_max_km, knots), curve.nbins)
