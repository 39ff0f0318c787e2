"""Cluster-robust (CRV1) variances of one demeaned design: one-way and two-way.

Small-sample convention = :func:`pra.did.estimate` (reghdfe; pyfixest's default ``ssc``):

* one-way: ``V = (N−1)/(N−df_k) · G/(G−1) · B (Σ_g s_g s_g') B`` with ``df_k`` counting the FE
  levels not nested in the cluster variable (:meth:`Design.df_k`); t(G−1) for p-values and CIs;
* two-way (Cameron, Gelbach and Miller 2011): ``V = V_a + V_b − V_{a∩b}``, each summand with the
  same factor ``(N−1)/(N−df_k) · G_min/(G_min−1)`` where ``G_min = min(G_a, G_b)`` and t(G_min−1)
  (pyfixest's ``G_df="min"``, fixest's default). A two-way V need not be positive definite; a
  negative variance gives a NaN SE (reported, not clipped).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import stats

from .design import Design, codes

__all__ = ["SeResult", "cluster_meat", "crv1_vcov", "cluster_se", "se_result"]


@dataclass(frozen=True)
class SeResult:
    """One coefficient under one variance estimator (method e.g. ``"CRV1:ubigeo"``,
    ``"conley:uniform:50km"``); ``df`` is the t degrees of freedom (None = normal)."""

    term: str
    method: str
    coef: float
    se: float
    tstat: float
    pvalue: float
    ci_low: float
    ci_high: float
    nobs: int
    nclusters: int | None
    df: int | None


def se_result(term: str, method: str, coef: float, var: float, nobs: int,
              nclusters: int | None, df: int | None, level: float = 0.95) -> SeResult:
    se = float(np.sqrt(var)) if var >= 0 else float("nan")
    dist = stats.t(df) if df else stats.norm()
    t = coef / se
    q = dist.ppf(0.5 + level / 2)
    return SeResult(term, method, float(coef), se, float(t), float(2 * dist.sf(abs(t))),
                    float(coef - q * se), float(coef + q * se), int(nobs), nclusters, df)


def cluster_meat(scores: np.ndarray, cluster: np.ndarray) -> np.ndarray:
    """Σ_g s_g s_g' with s_g the sum of the scores of cluster g (codes 0..G−1)."""
    G = int(cluster.max()) + 1
    sums = np.zeros((G, scores.shape[1]))
    np.add.at(sums, cluster, scores)
    return sums.T @ sums


def _spec_list(spec: str | Sequence[str]) -> list[str]:
    if isinstance(spec, str):
        return [s.strip() for s in spec.split("+")]
    return list(spec)


def crv1_vcov(design: Design, cluster: str | Sequence[str],
              resid: np.ndarray | None = None) -> tuple[np.ndarray, int, int]:
    """CRV1 variance (k × k), the cluster count used in the factor and the t df.

    ``cluster``: one spec (``"ubigeo"``), or two for two-way (``"locality + ubigeo^year"`` or a
    list); an interaction is written ``a^b``."""
    specs = _spec_list(cluster)
    if len(specs) not in (1, 2):
        raise ValueError(f"inference: one- or two-way clustering only, got {specs}")
    cl = [codes(design.frame, s) for s in specs]
    Gs = [int(c.max()) + 1 for c in cl]
    if min(Gs) < 2:
        raise ValueError(f"inference: clustering by {specs} needs ≥ 2 clusters, got {Gs}")
    G = min(Gs)
    factor = (design.n - 1) / (design.n - design.df_k(cl)) * G / (G - 1)
    S = design.scores(resid)
    B = design.bread
    meat = cluster_meat(S, cl[0])
    if len(cl) == 2:
        both = np.unique(np.column_stack(cl), axis=0, return_inverse=True)[1].ravel()
        meat = meat + cluster_meat(S, cl[1]) - cluster_meat(S, both)
    return factor * B @ meat @ B, G, G - 1


def cluster_se(design: Design, term: str, cluster: str | Sequence[str],
               level: float = 0.95) -> SeResult:
    """The coefficient ``term`` with CRV1 errors clustered by ``cluster`` (one- or two-way)."""
    V, G, df = crv1_vcov(design, cluster)
    j = design.index(term)
    name = " + ".join(_spec_list(cluster))
    return se_result(term, f"CRV1:{name}", design.beta[j], V[j, j], design.n, G, df, level)
