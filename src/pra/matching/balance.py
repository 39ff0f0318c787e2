"""Balance before and after matching (Table 15) and score densities (Figure 9).

Tests of equal means follow Stata ``diff ..., test`` / ``pstest``: per period and variable,
``reg x treated [aw=w], cluster(centre)``; the control mean is ``_cons`` and the treated mean
``_cons + _b[treated]``. Before matching w = 1; after matching w = the psmatch2 ``_weight``
(1 for on-support treated, sum_i w_ij for controls), as analytic weights
(``docs/estimators.md`` §2.2 and §4, pitfall 4). Rows with a missing or zero
weight (off-support treated) are left out of the "after" regression, as Stata does.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from pra.io import save_figure


def _wreg(y, d, w, cl, what: str = "") -> tuple:
    """Stata ``reg y d [aw=w], cluster(cl)`` with d a 0/1 dummy, in closed form.

    Same numbers as pyfixest ``feols("y ~ d", weights="w", vcov={"CRV1": "cl"})`` with its
    default ``ssc()`` (checked to 1e-10 in tests/test_matching_balance.py), without the
    formula parsing that made Table 15 slow. pyfixest multiplies the rows by sqrt(w); with one
    dummy regressor the fit is then the two weighted group means, and row 2 of the bread
    (X'WX)^-1 times the score w_i x_i u_i gives ``_b[d]``'s score of row i,
    w_i u_i (d_i/W_t - (1-d_i)/W_c)  (W_t, W_c: treated/control weight sums). A covariate
    constant within each group has residuals exactly 0: SE 0 and p NaN if the means are equal
    (Stata's ``.``), where pyfixest gave rounding noise (SE ~1e-15, p anywhere in [0, 1]).

    Returns (control mean ``_cons``, treated mean ``_cons + _b[d]``, ``_b[d]``, its CRV1 SE,
    p-value, n, clusters). Raises ValueError (naming ``what``) where the regression has no
    CRV1 SE: a group without rows, fewer than 3 rows (N - k = 0) or one cluster (G - 1 = 0);
    pyfixest raised there too (KeyError, ZeroDivisionError, LinAlgError).
    """
    y, d, w = (np.asarray(a, dtype=float) for a in (y, d, w))
    codes, uniq = pd.factorize(np.asarray(cl))
    n, g = len(y), len(uniq)
    t = d == 1
    if not np.isin(d, (0.0, 1.0)).all():
        raise ValueError(f"balance test {what}: the treatment dummy is not 0/1")
    if n < 3 or g < 2 or t.all() or not t.any():
        raise ValueError(f"balance test {what}: no clustered test with {int(t.sum())} treated and "
                         f"{int((~t).sum())} control rows in {g} cluster(s)")
    means = []
    for grp in (~t, t):  # control, treated
        y0 = y[grp][0]  # centred on a group value: a constant covariate has residuals exactly 0
        means.append(y0 + np.sum(w[grp] * (y[grp] - y0)) / np.sum(w[grp]))
    mc, mt = means
    u = y - np.where(t, mt, mc)  # residuals of the fit
    score = w * u * np.where(t, 1.0 / w[t].sum(), -1.0 / w[~t].sum())  # score of _b[d] by row
    meat = np.sum(np.bincount(codes, weights=score, minlength=g) ** 2)  # sum of cluster sums^2
    ssc = (n - 1) / (n - 2) * g / (g - 1)  # pyfixest ssc(): (N-1)/(N-k) * G/(G-1), as Stata
    se = np.sqrt(ssc * meat)
    with np.errstate(divide="ignore", invalid="ignore"):  # SE 0: t = inf (p 0) or nan (0/0)
        tstat = np.float64(mt - mc) / se
    p = 2 * (1 - stats.t.cdf(abs(tstat), g - 1))  # t(G-1); pyfixest's 2(1 - F), not 2 sf
    return float(mc), float(mt), float(mt - mc), float(se), float(p), n, g


def balance_table(
    data: pd.DataFrame,
    variables: list[str],
    weights: pd.Series,
    treated: str,
    period: str,
    cluster: str,
) -> pd.DataFrame:
    """Table 15: means by group before/after matching per period, with clustered tests.

    ``weights`` is aligned with ``data.index`` (``MatchingResult.weights``). Returns one row per
    (period, variable): ``mean_t_before``, ``mean_c_before``, ``diff_before``, ``p_before``,
    ``mean_t_after``, ``mean_c_after``, ``diff_after``, ``p_after``, ``n_before``, ``n_after``.
    Rows with a missing value of a variable are left out for that variable only; their count is
    reported in ``n_missing``.
    """
    absent = [c for c in [*variables, treated, period, cluster] if c not in data.columns]
    if absent:
        raise KeyError(f"balance_table: columns not in the data: {absent}")
    w = pd.Series(weights).reindex(data.index)
    out = []
    for pval in np.sort(data[period].dropna().unique()):
        sub = data[data[period] == pval]
        ws = w.loc[sub.index]
        for v in variables:
            y = pd.to_numeric(sub[v], errors="coerce")
            ok = y.notna() & sub[treated].notna() & sub[cluster].notna()
            s = sub[ok]
            mc0, mt0, d0, se0, p0, n0, g0 = _wreg(y[ok], s[treated].astype(float), np.ones(len(s)), s[cluster],
                                                  f"{v} in {period} {pval}, before matching")
            on = ok & ws.notna() & (ws > 0)
            s1 = sub[on]
            mc1, mt1, d1, se1, p1, n1, g1 = _wreg(y[on], s1[treated].astype(float), ws[on], s1[cluster],
                                                  f"{v} in {period} {pval}, after matching")
            out.append(
                {
                    "period": pval,
                    "variable": v,
                    "mean_t_before": mt0,
                    "mean_c_before": mc0,
                    "diff_before": d0,
                    "se_before": se0,
                    "p_before": p0,
                    "mean_t_after": mt1,
                    "mean_c_after": mc1,
                    "diff_after": d1,
                    "se_after": se1,
                    "p_after": p1,
                    "n_before": n0,
                    "n_after": n1,
                    "clusters_before": g0,
                    "clusters_after": g1,
                    "n_missing": int((~ok).sum()),
                }
            )
    return pd.DataFrame(out)


def _wkde(x, w, grid):
    """Weighted Gaussian KDE on ``grid``, Silverman bandwidth from weighted moments."""
    x = np.asarray(x, float)
    w = np.asarray(w, float)
    w = w / w.sum()
    n_eff = 1.0 / np.sum(w**2)  # Kish effective sample size
    mean = np.sum(w * x)
    sd = np.sqrt(np.sum(w * (x - mean) ** 2))
    o = np.argsort(x)
    cw = np.cumsum(w[o])
    q25, q75 = np.interp([0.25, 0.75], cw, x[o])
    m = min(sd, (q75 - q25) / 1.349) if q75 > q25 else sd
    h = max(0.9 * m * n_eff ** (-0.2), 1e-6)
    z = (grid[:, None] - x[None, :]) / h
    return (np.exp(-0.5 * z * z) @ w) / (h * np.sqrt(2 * np.pi))


def score_densities(
    scores: pd.Series,
    treated: pd.Series,
    period: pd.Series,
    weights: pd.Series,
    n_grid: int = 201,
) -> pd.DataFrame:
    """Figure 9 data: density of the score by period, group (treated/control) and stage
    (before: unweighted; after: matching weights). Columns: period, group, stage, x, density."""
    frame = pd.DataFrame({"p": scores, "d": treated, "t": period, "w": weights})
    grid = np.linspace(0.0, 1.0, n_grid)
    rows = []
    for pval in np.sort(frame["t"].unique()):
        f = frame[frame["t"] == pval]
        for g, gname in ((1, "treated"), (0, "control")):
            fg = f[f["d"] == g]
            for stage, w in (("before", np.ones(len(fg))), ("after", fg["w"].to_numpy(float))):
                keep = np.isfinite(w) & (w > 0)
                dens = _wkde(fg["p"].to_numpy()[keep], w[keep], grid) if keep.any() else np.zeros_like(grid)
                rows.append(pd.DataFrame({"period": pval, "group": gname, "stage": stage, "x": grid, "density": dens}))
    return pd.concat(rows, ignore_index=True)


def plot_score_densities(dens: pd.DataFrame, paths, title: str | None = None) -> list[str]:
    """Write Figure 9 to every path in ``paths`` (format from the suffix, e.g. ``[png, pdf]``),
    atomically and byte-for-byte reproducibly (:func:`pra.io.save_figure`). Returns the paths."""
    from matplotlib.figure import Figure  # no pyplot: no global backend/state to disturb

    periods = list(np.sort(dens["period"].unique()))
    fig = Figure(figsize=(9, 3.4 * len(periods)))
    axes = fig.subplots(len(periods), 2, squeeze=False, sharex=True)
    for i, pval in enumerate(periods):
        for j, stage in enumerate(("before", "after")):
            ax = axes[i, j]
            for group, style in (("treated", "-"), ("control", "--")):
                s = dens[(dens["period"] == pval) & (dens["stage"] == stage) & (dens["group"] == group)]
                ax.plot(s["x"], s["density"], style, color="black", label=group)
            ax.set_title(f"{pval}: {stage} matching")
            ax.set_xlabel("propensity score")
            ax.set_ylabel("density")
            ax.legend(frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    paths = [str(p) for p in paths]
    save_figure(fig, paths)
    return paths
