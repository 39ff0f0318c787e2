"""Wild cluster restricted (WCR) bootstrap: p-values and CIs by test inversion.

The WCR-11 bootstrap of Cameron, Gelbach and Miller (2008) / MacKinnon and Webb: under ``H0: β_j = r`` the restricted fit gives β̃ and residuals ũ;
bootstrap samples ``y* = Xβ̃ + ũ·v_g`` with one weight ``v_g`` per cluster; each gives a CRV1
t-statistic ``t*``. The p-value is ``mean(|t*| > |t|)`` (symmetric, strict as in ``wildboottest``).

Fixed effects: those nested in the bootstrap clusters (locality FE under clustering by locality
or district) are partialled out once; the others (the year FE) stay as dummy regressors, so that
every bootstrap sample re-estimates them, as in a regression with all FE as dummies (pyfixest's
``fit.wildboottest``; fwildclusterboot's rule): partialling out a FE that varies within a cluster
before multiplying the residuals by cluster weights would bootstrap a different model.

Computation: the bootstrap numerators and CRV1 denominators are linear in the weights (Roodman,
MacKinnon, Nielsen and Webb 2019, "fast and wild"): with ``C_g = e_j'B X_g'ũ_g`` and
``H_gh = e_j'B X_g'X_g B X_h'ũ_h``, ``numer_b = Σ_g C_g v_gb`` and
``denom_b = ssc Σ_g (C_g v_gb − Σ_h H_gh v_hb)²``. Both are affine in ``r``, so the p-value as a
function of ``r`` costs O(G·B) once and O(B) per evaluation: the CI is the set of ``r`` not
rejected, found by bisection on each side of β̂.

Weights: ``"rademacher"`` (±1) or ``"webb"`` (±√(1/2), ±1, ±√(3/2)), drawn exactly as the
``wildboottest`` package draws them (``rng.choice`` of G·B values, reshaped G × B, clusters in
sorted order of their id), so that the same seed gives the same draws (tested). Rademacher
weights are fully enumerated when 2^G < B (as ``wildboottest``). The small-sample factor of t
and t* is the design's CRV1 factor (:mod:`pra.inference.clustering`); it cancels in the p-value.
"""
from __future__ import annotations

from dataclasses import dataclass
import copy
from itertools import product

import numpy as np
import pandas as pd
from scipy import sparse

from .design import Design

__all__ = ["WEIGHTS", "draw_weights", "WildResult", "WildBootstrap", "wild_bootstrap"]

WEIGHTS = {
    "rademacher": np.array([-1.0, 1.0]),
    "webb": np.concatenate([-np.sqrt(np.array([3, 2, 1]) / 2), np.sqrt(np.array([1, 2, 3]) / 2)]),
}


def draw_weights(kind: str, G: int, B: int, rng: np.random.Generator) -> np.ndarray:
    """G × B cluster weights (columns = bootstrap draws); enumeration for Rademacher if 2^G < B."""
    if kind not in WEIGHTS:
        raise ValueError(f"inference.bootstrap: weights {kind!r} not in {sorted(WEIGHTS)}")
    if kind == "rademacher" and 2 ** G < B:
        return np.array(list(product([-1, 1], repeat=G)), dtype=np.float64).T
    return rng.choice(WEIGHTS[kind], size=G * B, replace=True).astype(np.float64).reshape(G, B)


def sorted_cluster_codes(design: Design, cluster: str) -> np.ndarray:
    """Cluster codes 0..G−1 in sorted order of the cluster id (the weights' row order)."""
    if cluster not in design.frame.columns:
        raise KeyError(f"inference.bootstrap: cluster column {cluster!r} not in the design's rows")
    return pd.factorize(design.frame[cluster], sort=True)[0].astype(np.int64)


@dataclass(frozen=True)
class WildResult:
    """WCR bootstrap of one coefficient: t, p-value (H0: coef = 0) and the CI by inversion."""

    term: str
    cluster: str
    weights: str
    B: int
    seed: int
    coef: float
    tstat: float
    pvalue: float
    ci_low: float
    ci_high: float
    nclusters: int


class WildBootstrap:
    """The WCR bootstrap of ``term`` for every null value ``r``, with one fixed weight matrix.

    ``v`` (G × B) can be given (the joint bootstrap of a family shares it); else it is drawn
    from ``seed`` with :func:`draw_weights`."""

    def __init__(self, design: Design, term: str, cluster: str, weights: str = "rademacher",
                 B: int = 9999, seed: int = 0, v: np.ndarray | None = None):
        self.design, self.term, self.cluster, self.weights, self.seed = design, term, cluster, weights, seed
        g = sorted_cluster_codes(design, cluster)
        G = int(g.max()) + 1
        if G < 2:
            raise ValueError(f"inference.bootstrap: {cluster!r} has {G} cluster(s); need ≥ 2")
        self.G = G
        # the FE not nested in the clusters are re-estimated in every bootstrap sample (dummies)
        y, X = design.nested_partial(g)
        Binv = np.linalg.inv(X.T @ X)
        j = design.index(term)
        k = X.shape[1]
        e = np.zeros(k)
        e[j] = 1.0
        n = design.n
        self.ssc = (n - 1) / (n - design.df_k([g])) * G / (G - 1)
        # cluster sums as one sparse product (np.add.at is slow at the study's size)
        ind = sparse.csr_matrix((np.ones(n), (g, np.arange(n))), shape=(G, n))
        # unrestricted t with the design's CRV1 variance
        beta_hat = Binv @ (X.T @ y)
        S_hat = ind @ (X * (y - X @ beta_hat)[:, None])
        var = self.ssc * (e @ Binv @ S_hat.T @ S_hat @ Binv @ e)
        self.coef = float(beta_hat[j])
        self.se = float(np.sqrt(var))
        # restricted fit, affine in r: β̃(r) = β̂ − Binv e (β̂_j − r) / Binv_jj
        a = Binv @ e / Binv[j, j]
        beta0 = beta_hat - a * beta_hat[j]  # r = 0
        u0, u1 = y - X @ beta0, -(X @ a)  # ũ(r) = u0 + r u1
        # per-cluster X_g'ũ_g and the matrices of the fast algorithm
        XtU0, XtU1 = ind @ (X * u0[:, None]), ind @ (X * u1[:, None])
        eB = Binv @ e  # (k,)
        C0, C1 = XtU0 @ eB, XtU1 @ eB  # (G,)
        # e'B X_g'X_g B = (Σ_{i∈g} (x_i'eB) x_i') B: no G × k × k array
        left = (ind @ (X * (X @ eB)[:, None])) @ Binv  # (G × k)
        self._C = (C0, C1)
        self._H = (left @ XtU0.T, left @ XtU1.T)  # (G × G)
        self._set_weights(draw_weights(weights, G, B, np.random.default_rng(seed)) if v is None else v)

    def _set_weights(self, V: np.ndarray) -> None:
        (C0, C1), (H0, H1) = self._C, self._H
        self.v = V
        self.B = V.shape[1]
        self._num0, self._num1 = C0 @ V, C1 @ V
        Z0 = C0[:, None] * V - H0 @ V
        Z1 = C1[:, None] * V - H1 @ V
        self._d00 = (Z0 * Z0).sum(axis=0)
        self._d01 = (Z0 * Z1).sum(axis=0)
        self._d11 = (Z1 * Z1).sum(axis=0)

    def reweight(self, weights: str, B: int, seed: int) -> "WildBootstrap":
        """The same bootstrap with other weights (drawn from ``seed``): the weight-free algebra
        is shared, so another weight type costs O(G²·B) only."""
        other = copy.copy(self)
        other.weights, other.seed = weights, seed
        other._set_weights(draw_weights(weights, self.G, B, np.random.default_rng(seed)))
        return other

    def tstar(self, r: float = 0.0) -> np.ndarray:
        """The B bootstrap t-statistics under H0: coef = r."""
        num = self._num0 + r * self._num1
        den = self.ssc * (self._d00 + 2 * r * self._d01 + r * r * self._d11)
        return num / np.sqrt(den)

    def tstat(self, r: float = 0.0) -> float:
        return (self.coef - r) / self.se

    def pvalue(self, r: float = 0.0) -> float:
        return float(np.mean(np.abs(self.tstar(r)) > abs(self.tstat(r))))

    def ci(self, level: float = 0.95, rtol: float = 1e-8) -> tuple[float, float]:
        """{r : p(r) > 1 − level} by bisection on each side of the estimate."""
        alpha = 1 - level
        if self.pvalue(self.coef) <= alpha:
            return (float("nan"), float("nan"))
        tol = rtol * max(self.se, 1e-300)

        def bound(sign: float) -> float:
            inside, step = self.coef, self.se
            outside = self.coef + sign * step
            while self.pvalue(outside) > alpha:
                inside, step = outside, step * 2
                outside = self.coef + sign * step
                if step > 1e6 * self.se:
                    return sign * float("inf")
            while abs(outside - inside) > tol:
                mid = (inside + outside) / 2
                if self.pvalue(mid) > alpha:
                    inside = mid
                else:
                    outside = mid
            return (inside + outside) / 2

        return bound(-1.0), bound(1.0)

    def result(self, level: float = 0.95) -> WildResult:
        lo, hi = self.ci(level)
        return WildResult(self.term, self.cluster, self.weights, self.B, self.seed, self.coef,
                          self.tstat(), self.pvalue(), lo, hi, self.G)


def wild_bootstrap(design: Design, term: str, cluster: str, weights: str = "rademacher",
                   B: int = 9999, seed: int = 0, level: float = 0.95) -> WildResult:
    """WCR bootstrap p-value (H0: coef = 0) and CI by test inversion for ``term``."""
    return WildBootstrap(design, term, cluster, weights, B, seed).result(level)
