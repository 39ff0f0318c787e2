"""Joint inference on a specification curve (Simonsohn, Simmons and Nelson 2020, §4).

Question: could a curve like the observed one arise if the effect were zero in every
specification? Three summaries of the curve are compared with their distribution under that null:

* the median estimate (two-sided: |median*| ≥ |median|),
* the share of significant estimates (p < α with the spec's own CRV1 t(G−1) test, either sign),
* the share of estimates with the dominant sign (max of the positive and negative shares).

The null distribution comes from a cluster multiplier (wild) bootstrap of each specification's
influence function: β*_{b,s} = Σ_g ξ_{b,g} ψ_{s,g}, where ψ_{s,g} is cluster g's contribution to
β̂_s − β_s scaled so that Σ_g ψ_{s,g}² is the spec's CRV1 variance (:mod:`pra.grid.estimate`), and
ξ_{b,g} = ±1 (Rademacher) is drawn once per draw and cluster and shared by every specification, so
the bootstrap keeps the dependence between specifications that share households. β*_{b,s} has mean
zero: it is the null distribution of β̂_s centred at the truth. Each draw's three summaries use
t* = β*/se. p-value = (1 + #{draws at least as extreme}) / (1 + draws).

:func:`monte_carlo` checks the test's size: placebo geographies (the distances of the localities
permuted among them, so treatment is unrelated to outcomes in every specification), the grid
re-estimated and tested in each, and the share of rejections at α reported per summary.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

SUMMARIES = ("median", "share_significant", "share_dominant_sign")


def multipliers(n_clusters: int, draws: int, seed: int) -> np.ndarray:
    """Rademacher weights (draws × clusters) from ``seed``: the same for every specification."""
    rng = np.random.default_rng(seed)
    return rng.choice(np.array([-1.0, 1.0]), size=(int(draws), int(n_clusters)))


def summaries(coef: np.ndarray, se: np.ndarray, crit: np.ndarray) -> np.ndarray:
    """The three summaries of curves given as rows (draws × specs arrays, or one row)."""
    coef = np.atleast_2d(coef)
    t = coef / se
    sig = (np.abs(t) > crit).mean(axis=1)
    pos, neg = (coef > 0).mean(axis=1), (coef < 0).mean(axis=1)
    return np.column_stack([np.median(coef, axis=1), sig, np.maximum(pos, neg)])


@dataclass
class JointTest:
    n_specs: int
    draws: int
    median: float
    share_significant: float
    share_dominant_sign: float
    dominant_sign: str
    p_median: float
    p_share_significant: float
    p_share_dominant_sign: float
    null_median_q95: float        # 95th percentile of |median*|
    null_share_significant_q95: float
    null_share_dominant_sign_q95: float

    def as_dict(self) -> dict:
        return asdict(self)


def joint_test(coef: np.ndarray, se: np.ndarray, nclusters: np.ndarray, psi: np.ndarray, *,
               draws: int, seed: int, alpha: float = 0.05, chunk: int = 250,
               return_null: bool = False):
    """Joint test of one curve: ``coef``, ``se``, ``nclusters`` per spec, ``psi`` specs × clusters.

    The draws are processed ``chunk`` at a time (memory: chunk × specs doubles); the multipliers
    are drawn in full first, so the result does not depend on ``chunk``.
    """
    coef, se = np.asarray(coef, float), np.asarray(se, float)
    ok = np.isfinite(coef) & np.isfinite(se) & (se > 0)
    if not ok.all():
        raise ValueError(f"joint_test: {int((~ok).sum())} specification(s) without a finite estimate "
                         "and SE; leave them out before testing (and count them)")
    if len(coef) == 0:
        raise ValueError("joint_test: no specification")
    crit = np.abs(stats.t.ppf(alpha / 2, np.asarray(nclusters, float) - 1))
    obs = summaries(coef, se, crit)[0]
    xi = multipliers(psi.shape[1], draws, seed)
    null = np.vstack([summaries(xi[i:i + chunk] @ psi.T, se, crit) for i in range(0, draws, chunk)])
    more = [np.abs(null[:, 0]) >= abs(obs[0]), null[:, 1] >= obs[1], null[:, 2] >= obs[2]]
    p = [(1 + int(m.sum())) / (1 + draws) for m in more]
    pos = float((coef > 0).mean())
    res = JointTest(n_specs=len(coef), draws=int(draws), median=float(obs[0]),
                    share_significant=float(obs[1]), share_dominant_sign=float(obs[2]),
                    dominant_sign="positive" if pos >= 0.5 else "negative",
                    p_median=p[0], p_share_significant=p[1], p_share_dominant_sign=p[2],
                    null_median_q95=float(np.quantile(np.abs(null[:, 0]), 0.95)),
                    null_share_significant_q95=float(np.quantile(null[:, 1], 0.95)),
                    null_share_dominant_sign_q95=float(np.quantile(null[:, 2], 0.95)))
    return (res, null) if return_null else res


def joint_tests(store: pd.DataFrame, psi: np.ndarray, *, draws: int, seed: int, alpha: float = 0.05,
                by: str = "outcome", return_null: bool = False):
    """One joint test per ``by`` group of the effect rows (term D) of a grid store (``psi`` rows
    aligned with ``store`` rows). Rows without an estimate are left out and counted. With
    ``return_null``, also the null draws of the three summaries (long frame: by, draw, …)."""
    ok = (store["status"].eq("ok").to_numpy() & store["coef"].notna().to_numpy()
          & store["term"].eq("D").to_numpy())
    left_out = {f"{k}: {st}": int(n) for (k, st), n in
                store.loc[~ok].groupby([by, "status"]).size().items()} if (~ok).any() else {}
    rows, nulls = [], []
    good = store.loc[ok]
    for key, idx in good.groupby(by, sort=True).indices.items():
        sub = good.iloc[idx]
        res, null = joint_test(sub["coef"].to_numpy(), sub["se"].to_numpy(), sub["nclusters"].to_numpy(float),
                               psi[np.flatnonzero(ok)[idx]], draws=draws, seed=seed, alpha=alpha,
                               return_null=True)
        rows.append({by: key, **res.as_dict()})
        nulls.append(pd.DataFrame({by: key, "draw": np.arange(draws), **dict(zip(SUMMARIES, null.T))}))
    tests = pd.DataFrame(rows)
    if return_null:
        return tests, left_out, pd.concat(nulls, ignore_index=True) if nulls else pd.DataFrame()
    return tests, left_out


def placebo_geography(data: pd.DataFrame, rng: np.random.Generator, unit: str = "locality") -> pd.DataFrame:
    """``data`` with the distance of each ``unit`` (locality) given to another, at random: a
    geography in which treatment has no relation to the outcomes. Units with several distances
    (households of one locality at different points) move together with their own offsets."""
    units = pd.Index(np.sort(data[unit].dropna().unique()))
    first = data.groupby(unit, sort=True)["dist_km"].transform("first")
    perm = rng.permutation(len(units))
    base = data.groupby(unit, sort=True)["dist_km"].first().reindex(units).to_numpy()
    new_first = pd.Series(base[perm], index=units)
    out = data.copy()
    out["dist_km"] = out["dist_km"] - first + out[unit].map(new_first)
    return out


def monte_carlo(data: pd.DataFrame, run: Callable[[pd.DataFrame], tuple[pd.DataFrame, np.ndarray]], *,
                n_draws: int, seed: int, bootstrap_draws: int, alpha: float = 0.05,
                on_draw: Callable[[int, dict], None] | None = None) -> pd.DataFrame:
    """Size of the joint test: ``n_draws`` placebo geographies of ``data``; ``run(data)`` estimates
    the grid (store rows, ψ). One row per draw and outcome with the three p-values."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(int(n_draws)):
        placebo = placebo_geography(data, rng)
        store, psi = run(placebo)
        tests, _ = joint_tests(store, psi, draws=bootstrap_draws, seed=seed + 1 + i, alpha=alpha)
        for rec in tests.to_dict("records"):
            row = {"draw": i, **rec}
            rows.append(row)
            if on_draw:
                on_draw(i, row)
    return pd.DataFrame(rows)


def rejection_rates(mc: pd.DataFrame, alpha: float = 0.05, by: Sequence[str] = ("outcome",)) -> pd.DataFrame:
    """Share of draws rejecting at ``alpha``, per summary (and ``by`` group)."""
    cols = {s: (mc[f"p_{s}"] < alpha) for s in SUMMARIES}
    r = pd.DataFrame({**{b: mc[b] for b in by}, **cols})
    out = r.groupby(list(by)).mean()
    out["draws"] = r.groupby(list(by)).size()
    return out.reset_index()
