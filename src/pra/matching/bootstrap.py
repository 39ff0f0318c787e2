"""Cluster bootstrap draws: populated centres resampled with replacement within each period.

Rules (``docs/estimators.md`` §4, pitfall 3):
- the 2009 ENAHO and the 2012 programme survey have different centres, so clusters are drawn
  separately within each period (a centre code present in both periods is two clusters);
- a cluster drawn twice appears twice, each copy with a fresh id (Stata ``idcluster()``);
- the drawn list is never de-duplicated (duckreg issue #19: an SQL ``IN`` on drawn ids
  understated SEs by about sqrt(0.63));
- everything is seeded from one ``np.random.default_rng(seed)``; draws happen in a fixed order
  (replication, then period in sorted order, clusters in sorted order), so the same seed gives
  the same draws on every machine.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np
import pandas as pd


@dataclass
class ClusterLayout:
    """Rows grouped by (period, cluster), precomputed once for fast repeated draws."""

    periods: np.ndarray  # sorted period values
    order: np.ndarray  # row positions sorted by (period, cluster)
    starts: np.ndarray  # start of each (period, cluster) group in ``order``
    sizes: np.ndarray  # rows per group
    group_period: np.ndarray  # period index (0..P-1) of each group
    group_cluster: np.ndarray  # original cluster label of each group
    n: int


def layout(cluster, period) -> ClusterLayout:
    """Group rows by (period, cluster). Missing cluster or period values raise."""
    cl = pd.Series(np.asarray(cluster)).reset_index(drop=True)
    pe = pd.Series(np.asarray(period)).reset_index(drop=True)
    if len(cl) != len(pe):
        raise ValueError("cluster and period have different lengths")
    bad = cl.isna() | pe.isna()
    if bad.any():
        raise ValueError(
            f"missing cluster/period in {int(bad.sum())} rows (positions {list(np.where(bad)[0][:5])}); "
            "drop and count them before bootstrapping"
        )
    periods, pidx = np.unique(pe.to_numpy(), return_inverse=True)
    clusters, cidx = np.unique(cl.astype(str).to_numpy(), return_inverse=True)
    key = pidx.astype(np.int64) * (len(clusters) + 1) + cidx
    order = np.argsort(key, kind="stable")
    ks = key[order]
    starts = np.r_[0, np.flatnonzero(np.diff(ks)) + 1]
    sizes = np.diff(np.r_[starts, len(ks)])
    gkey = ks[starts]
    return ClusterLayout(
        periods=periods,
        order=order,
        starts=starts,
        sizes=sizes,
        group_period=gkey // (len(clusters) + 1),
        group_cluster=clusters[gkey % (len(clusters) + 1)],
        n=len(cl),
    )


@dataclass
class Draw:
    """One bootstrap replicate."""

    rows: np.ndarray  # row positions into the original data, duplicates kept
    cluster_id: np.ndarray  # fresh cluster id per row: one id per drawn copy of a cluster
    groups: np.ndarray  # drawn (period, cluster) groups, in draw order, duplicates kept

    def counts(self, n: int) -> np.ndarray:
        """Multiplicity of every original row in this replicate (0 if not drawn)."""
        return np.bincount(self.rows, minlength=n)


def draw(lay: ClusterLayout, rng: np.random.Generator) -> Draw:
    """Draw, within each period, as many clusters as it has, with replacement."""
    drawn = []
    for p in range(len(lay.periods)):
        g = np.flatnonzero(lay.group_period == p)
        drawn.append(g[rng.integers(0, len(g), size=len(g))])
    groups = np.concatenate(drawn)
    sizes = lay.sizes[groups]
    # rows of every drawn copy, vectorised: start of the copy + 0..size-1
    offsets = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    pos = np.repeat(lay.starts[groups], sizes) + offsets
    rows = lay.order[pos]
    cluster_id = np.repeat(np.arange(len(groups)), sizes)  # fresh id per drawn copy
    return Draw(rows=rows, cluster_id=cluster_id, groups=groups)


def draws(cluster, period, reps: int, seed: int) -> Iterator[Draw]:
    """``reps`` replicates seeded from ``np.random.default_rng(seed)``."""
    lay = layout(cluster, period)
    rng = np.random.default_rng(seed)
    for _ in range(reps):
        yield draw(lay, rng)


def summarise(estimate: np.ndarray, boot: np.ndarray, level: float = 0.95) -> pd.DataFrame:
    """SE (sd of replicates, ddof=1), normal p-value and CI (Stata's bootstrap default), and
    percentile CI, per column of ``boot`` (replications x estimates; failed reps are NaN)."""
    from scipy import stats

    boot = np.atleast_2d(boot)
    estimate = np.atleast_1d(np.asarray(estimate, dtype=float))
    ok = np.isfinite(boot)
    n_ok = ok.sum(axis=0)
    se = np.array([boot[ok[:, k], k].std(ddof=1) if n_ok[k] > 1 else np.nan for k in range(boot.shape[1])])
    z = stats.norm.ppf(0.5 + level / 2)
    a = (1 - level) / 2
    pct = np.array(
        [
            np.quantile(boot[ok[:, k], k], [a, 1 - a]) if n_ok[k] > 1 else [np.nan, np.nan]
            for k in range(boot.shape[1])
        ]
    ).reshape(-1, 2)
    return pd.DataFrame(
        {
            "se": se,
            "pvalue": 2 * stats.norm.sf(np.abs(estimate / se)),
            "ci_low": estimate - z * se,
            "ci_high": estimate + z * se,
            "ci_pct_low": pct[:, 0],
            "ci_pct_high": pct[:, 1],
            "reps_ok": n_ok,
        }
    )
