"""Sensitivity to parallel trends (Rambachan and Roth 2023, "A More Credible Approach to Parallel
Trends", REStud): robust confidence sets for ``θ = l'τ_post`` from event-study coefficients.

Setup (the HonestDiD convention): ``β̂`` stacks ``T_pre`` pre-period coefficients (periods
−T_pre … −1, oldest first) and ``T_post`` post-period ones (1 … T_post); the reference period 0
is normalised to 0 and omitted; ``Σ`` is their covariance. ``β = τ + δ`` with ``τ_pre = 0``;
``δ`` is the difference in trends, restricted to a set Δ.

* **Smoothness, Δ^SD(M)**: ``|(δ_{t+1} − δ_t) − (δ_t − δ_{t−1})| ≤ M`` for every t (with δ_0 = 0).
  CI = the **fixed-length CI** (FLCI, Armstrong and Kolesár; RR §4.1): the affine estimator
  ``v'β̂`` with ``v_post = l`` whose CI half-length ``χ(v) = σ_v · cv_α(b̄(v)/σ_v)`` is smallest,
  ``b̄(v) = max_{δ ∈ Δ^SD(M)} v'δ`` (a linear programme; finite iff ``v'δ = 0`` for every linear
  trend δ_t = s·t, imposed) and ``cv_α(r)`` the 1−α quantile of |N(r, 1)|. HonestDiD's default
  for Δ^SD. ``σ_v · cv_α(b̄/σ_v)`` is convex in v (the perspective of the convex, increasing
  cv_α, composed with the convex σ_v and b̄), so the minimisation over ``v_pre`` is a convex
  programme: SLSQP on (v_pre, u) with slacks u ≥ |c| makes the L1 bias smooth (Nelder–Mead on
  the kinked objective stopped up to 3% short of the optimum on HonestDiD's BCdata example),
  started from the M = 0 optimum (closed form). Checked against a brute-force grid, the closed
  form and the R package's published output (``test_inference_honest_reference.py``).
* **Relative magnitudes, Δ^RM(M̄)**: ``|δ_{t+1} − δ_t| ≤ M̄ · max_{s<0} |δ_{s+1} − δ_s|`` for
  every post-period step t ≥ 0. Given β the identified set is ``l'β_post ± M̄·K(β_pre)·G(l)``
  with ``K`` the largest pre-period step of β (δ_pre = β_pre) and ``G(l) = Σ_t |Σ_{s≥t} l_s|``.
  CI = the **projection** of a simultaneous (sup-t) 1−α box for β through that set: valid by
  construction, conservative compared with HonestDiD's conditional-LF (ARP) test, which this
  module does not implement (the ``honestdid`` 0.1.1 Python port fails on Δ^RM); it tends to the
  identified set as Σ → 0 (tested against a linear programme).
* **Breakdown value**: the largest M (or M̄) at which the CI still excludes 0, by bisection
  (the CIs widen with M).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from scipy import optimize, stats
from scipy.special import ndtr

from .curve import sup_t_critical

__all__ = ["folded_normal_cv", "sd_matrix", "sd_max_bias", "flci_sd", "rm_ci", "rm_breakdown",
           "HonestCI", "sensitivity", "breakdown"]


@dataclass(frozen=True)
class HonestCI:
    """One robust CI: restriction ("SD" | "RM"), M (M̄ for RM), bounds and method."""

    restriction: str
    M: float
    lb: float
    ub: float
    method: str


def folded_normal_cv(r: float, alpha: float) -> float:
    """c with P(|N(r, 1)| ≤ c) = 1 − alpha."""
    r = abs(r)
    # scipy.special.ndtr is stats.norm.cdf without the distribution machinery (the FLCI's
    # optimiser calls this thousands of times)
    f = lambda c: ndtr(c - r) - ndtr(-c - r) - (1 - alpha)  # noqa: E731
    return float(optimize.brentq(f, 0.0, r + 10.0, xtol=1e-14))


def _periods(T_pre: int, T_post: int) -> np.ndarray:
    return np.concatenate([np.arange(-T_pre, 0), np.arange(1, T_post + 1)]).astype(float)


def sd_matrix(T_pre: int, T_post: int) -> np.ndarray:
    """Second differences of (δ_{−T_pre}, …, δ_{−1}, δ_0 = 0, δ_1, …, δ_{T_post}) as a matrix on
    δ without period 0: rows t = −T_pre+1 … T_post−1."""
    n = T_pre + T_post + 1
    D = np.zeros((n - 2, n))
    for r in range(n - 2):
        D[r, r:r + 3] = [1.0, -2.0, 1.0]
    return np.delete(D, T_pre, axis=1)


def sd_max_bias(v: np.ndarray, T_pre: int, T_post: int, M: float) -> float:
    """max v'δ over Δ^SD(M) (a linear programme; inf if unbounded)."""
    if M == 0:
        t = _periods(T_pre, T_post)
        return 0.0 if abs(v @ t) < 1e-10 * max(1.0, np.abs(v).sum()) else float("inf")
    A = sd_matrix(T_pre, T_post)
    res = optimize.linprog(-v, A_ub=np.vstack([A, -A]), b_ub=np.full(2 * len(A), M),
                           bounds=[(None, None)] * len(v), method="highs")
    if res.status == 3:
        return float("inf")
    if res.status != 0:
        raise RuntimeError(f"inference.honest: bias LP failed ({res.message})")
    return float(-res.fun)


def _constraint_basis(T_pre: int, T_post: int, l_vec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """v_pre = v0 + N z spans {v_pre: Σ_t t v_t = 0 with v_post = l} (N: null-space basis)."""
    t_pre = np.arange(-T_pre, 0, dtype=float)
    t_post = np.arange(1, T_post + 1, dtype=float)
    target = -(t_post @ l_vec)
    v0 = t_pre * target / (t_pre @ t_pre)
    _, _, Vt = np.linalg.svd(t_pre[None, :])
    return v0, Vt[1:].T


def flci_sd(betahat: np.ndarray, sigma: np.ndarray, T_pre: int, T_post: int, M: float,
            l_vec: Sequence[float] | None = None, alpha: float = 0.05) -> tuple[HonestCI, np.ndarray]:
    """The FLCI under Δ^SD(M) and its weights v (see module docstring)."""
    betahat, sigma = np.asarray(betahat, float), np.asarray(sigma, float)
    l_vec = np.eye(T_post)[0] if l_vec is None else np.asarray(l_vec, float)
    v0, N = _constraint_basis(T_pre, T_post, l_vec)

    def full(z):
        return np.concatenate([v0 + N @ z, l_vec])

    def sd(z):
        v = full(z)
        return float(np.sqrt(v @ sigma @ v))

    # M = 0: minimum variance among the unbiased-under-linear-trends estimators (closed form)
    S_pp = sigma[:T_pre, :T_pre]
    S_pq = sigma[:T_pre, T_pre:]
    H = N.T @ S_pp @ N
    g = N.T @ (S_pp @ v0 + S_pq @ l_vec)
    z0 = -np.linalg.solve(H, g) if N.shape[1] else np.zeros(0)

    # every admissible v is orthogonal to the linear trends, i.e. v = A'c, and then
    # max_{|Aδ| ≤ M} v'δ = M‖c‖₁: the LP of sd_max_bias in closed form (equal, tested)
    # (the minimum-norm least-squares c of A'c = v, as lstsq gives it, through one pseudo-inverse)
    At_pinv = np.linalg.pinv(sd_matrix(T_pre, T_post).T)

    def half_length(z):
        s = sd(z)
        v = full(z)
        b = M * np.abs(At_pinv @ v).sum()
        return s * folded_normal_cv(b / s, alpha)

    z = z0
    if M > 0 and N.shape[1]:
        z = _flci_search(z0, v0, N, l_vec, At_pinv, T_pre, sd, half_length, M, alpha)
    v = full(z)
    chi = half_length(z)
    est = float(v @ betahat)
    return HonestCI("SD", float(M), est - chi, est + chi, "FLCI"), v


def _flci_search(z0, v0, N, l_vec, At_pinv, T_pre, sd, half_length, M, alpha) -> np.ndarray:
    """argmin_z of the FLCI half-length: SLSQP on x = (z, u) with u ≥ |c(z)| (c = c0 + C z
    affine), which turns M‖c‖₁ into the smooth M·Σu; Nelder–Mead from its end point only if it
    reports a failure. The best of z0 and the candidates is returned."""
    C = At_pinv[:, :T_pre] @ N
    c0 = At_pinv @ np.concatenate([v0, l_vec])
    k, m = N.shape[1], len(c0)

    def f(x):
        s = sd(x[:k])
        return s * folded_normal_cv(M * x[k:].sum() / s, alpha)

    J_minus, J_plus = np.hstack([-C, np.eye(m)]), np.hstack([C, np.eye(m)])
    cons = [{"type": "ineq", "fun": lambda x: x[k:] - c0 - C @ x[:k], "jac": lambda x: J_minus},
            {"type": "ineq", "fun": lambda x: x[k:] + c0 + C @ x[:k], "jac": lambda x: J_plus}]
    x0 = np.concatenate([z0, np.abs(c0 + C @ z0)])
    res = optimize.minimize(f, x0, method="SLSQP", constraints=cons,
                            options={"ftol": 1e-15, "maxiter": 1000})
    cands = [z0, res.x[:k]]
    if not res.success:
        nm = optimize.minimize(half_length, res.x[:k], method="Nelder-Mead",
                               options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 20_000,
                                        "maxfev": 40_000})
        cands.append(nm.x)
    return min(cands, key=half_length)


def rm_ci(betahat: np.ndarray, sigma: np.ndarray, T_pre: int, T_post: int, Mbar: float,
          l_vec: Sequence[float] | None = None, alpha: float = 0.05, nsims: int = 100_000,
          seed: int = 0) -> HonestCI:
    """Projection CI under Δ^RM(M̄) (see module docstring)."""
    centre, half0, slope = _rm_parts(betahat, sigma, T_pre, T_post, l_vec, alpha, nsims, seed)
    half = half0 + Mbar * slope
    return HonestCI("RM", float(Mbar), centre - half, centre + half, "projection")


def _rm_parts(betahat, sigma, T_pre, T_post, l_vec, alpha, nsims, seed) -> tuple[float, float, float]:
    """The projection CI under Δ^RM(M̄) is ``centre ± (half0 + M̄ · slope)``."""
    betahat, sigma = np.asarray(betahat, float), np.asarray(sigma, float)
    l_vec = np.eye(T_post)[0] if l_vec is None else np.asarray(l_vec, float)
    se = np.sqrt(np.diag(sigma))
    c = sup_t_critical(sigma / np.outer(se, se), 1 - alpha, nsims, seed)
    pre_b = np.append(betahat[:T_pre], 0.0)  # periods −T_pre … −1, 0
    pre_s = np.append(se[:T_pre], 0.0)
    K = float(np.max(np.abs(np.diff(pre_b)) + c * (pre_s[1:] + pre_s[:-1])))
    G = float(np.sum(np.abs(np.cumsum(l_vec[::-1])[::-1])))
    centre = float(l_vec @ betahat[T_pre:])
    return centre, c * float(np.abs(l_vec) @ se[T_pre:]), K * G


def rm_breakdown(betahat, sigma, T_pre: int, T_post: int, l_vec=None, alpha: float = 0.05,
                 nsims: int = 100_000, seed: int = 0) -> float:
    """The breakdown value of :func:`rm_ci` in closed form: its CI widens linearly in M̄, so it
    excludes 0 up to ``(|centre| − half0) / slope`` (NaN if it covers 0 at M̄ = 0; equal to
    :func:`breakdown` over :func:`rm_ci`, tested)."""
    centre, half0, slope = _rm_parts(betahat, sigma, T_pre, T_post, l_vec, alpha, nsims, seed)
    if abs(centre) <= half0:
        return float("nan")
    return float("inf") if slope == 0 else (abs(centre) - half0) / slope


def sensitivity(betahat, sigma, T_pre: int, T_post: int, Mvec: Sequence[float],
                Mbarvec: Sequence[float], l_vec=None, alpha: float = 0.05,
                seed: int = 0) -> pd.DataFrame:
    """One row per (restriction, M): lb, ub, method; plus the original CI (M = NaN)."""
    l = np.eye(T_post)[0] if l_vec is None else np.asarray(l_vec, float)
    rows = [flci_sd(betahat, sigma, T_pre, T_post, m, l, alpha)[0] for m in Mvec]
    rows += [rm_ci(betahat, sigma, T_pre, T_post, m, l, alpha, seed=seed) for m in Mbarvec]
    sd = float(np.sqrt(l @ np.asarray(sigma)[T_pre:, T_pre:] @ l))
    est = float(l @ np.asarray(betahat)[T_pre:])
    z = stats.norm.ppf(1 - alpha / 2)
    rows.append(HonestCI("original", float("nan"), est - z * sd, est + z * sd, "normal"))
    return pd.DataFrame([r.__dict__ for r in rows])


def breakdown(ci: Callable[[float], HonestCI], M_max: float, tol: float = 1e-6) -> float:
    """Largest M in [0, M_max] whose CI excludes 0 (NaN if even M = 0 does not; M_max if all do)."""
    def excludes(m):
        r = ci(m)
        return r.lb > 0 or r.ub < 0

    if not excludes(0.0):
        return float("nan")
    if excludes(M_max):
        return float(M_max)
    lo, hi = 0.0, float(M_max)
    while hi - lo > tol * max(1.0, M_max):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if excludes(mid) else (lo, mid)
    return lo
