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

from pra.io import save_figure


def _wreg(y, d, w, cl):
    """Weighted (aweight) regression y ~ 1 + d with CRV1 SE by cluster (pyfixest).

    Returns (control mean, treated mean, difference, SE, p-value, n, clusters)."""
    from pra.did import pyfixest_adapter as pfa

    frame = pd.DataFrame({"y": y, "d": d, "w": w, "cl": cl})
    fit = pfa.feols("y ~ d", frame, weights="w", vcov={"CRV1": "cl"})
    b = fit.coef()
    return (
        float(b["Intercept"]),
        float(b["Intercept"] + b["d"]),
        float(b["d"]),
        float(fit.se()["d"]),
        float(fit.pvalue()["d"]),
        pfa.fit_stats(fit, clustered=True).nobs,
        int(frame["cl"].nunique()),
    )


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
            mc0, mt0, d0, se0, p0, n0, g0 = _wreg(y[ok], s[treated].astype(float), np.ones(len(s)), s[cluster])
            on = ok & ws.notna() & (ws > 0)
            s1 = sub[on]
            mc1, mt1, d1, se1, p1, n1, g1 = _wreg(y[on], s1[treated].astype(float), ws[on], s1[cluster])
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
