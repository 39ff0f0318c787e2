"""HonestDiD-style robust CIs: the FLCI under Δ^SD against closed forms and a brute-force
search, the Δ^RM projection CI against the identified set from a linear programme, coverage."""
import numpy as np
import pytest
from scipy import optimize, stats

from pra.inference.honest import (breakdown, flci_sd, folded_normal_cv, rm_ci, sd_matrix,
                                  sd_max_bias, sensitivity)


def _sigma(k, seed=0, scale=1e-4):
    A = np.random.default_rng(seed).normal(size=(k, k))
    return scale * (A @ A.T / k + np.eye(k))


def test_folded_normal_cv():
    assert folded_normal_cv(0.0, 0.05) == pytest.approx(stats.norm.ppf(0.975), abs=1e-12)
    c = folded_normal_cv(1.3, 0.1)
    assert stats.norm.cdf(c - 1.3) - stats.norm.cdf(-c - 1.3) == pytest.approx(0.9, abs=1e-12)


@pytest.mark.parametrize("T_pre,T_post", [(3, 2), (5, 3)])
def test_sd_bias_lp_equals_closed_form(T_pre, T_post):
    """v ⊥ linear trends ⇒ v = A'c and max_{|Aδ|≤M} v'δ = M‖c‖₁."""
    A = sd_matrix(T_pre, T_post)
    rng = np.random.default_rng(T_pre)
    for _ in range(5):
        c = rng.normal(size=A.shape[0])
        v = A.T @ c
        assert sd_max_bias(v, T_pre, T_post, 0.02) == pytest.approx(0.02 * np.abs(c).sum(), rel=1e-9)
    t = np.concatenate([np.arange(-T_pre, 0), np.arange(1, T_post + 1)])
    assert sd_max_bias(t.astype(float), T_pre, T_post, 0.02) == np.inf


def test_flci_m0_is_the_constrained_gls():
    """M = 0: the minimum-variance estimator unbiased under any linear trend (KKT system)."""
    T_pre, T_post = 4, 2
    S = _sigma(6, 1)
    b = np.array([0.01, -0.004, 0.002, 0.001, 0.05, 0.07])
    l = np.array([0.5, 0.5])
    ci, v = flci_sd(b, S, T_pre, T_post, 0.0, l)
    t = np.concatenate([np.arange(-T_pre, 0), np.arange(1, T_post + 1)]).astype(float)
    # minimise v'Sv s.t. v_post = l and t'v = 0: KKT in (v, λ)
    k = 6
    C = np.vstack([np.eye(k)[T_pre:], t])
    d = np.concatenate([l, [0.0]])
    K = np.block([[2 * S, C.T], [C, np.zeros((C.shape[0], C.shape[0]))]])
    sol = np.linalg.solve(K, np.concatenate([np.zeros(k), d]))
    v_ref = sol[:k]
    np.testing.assert_allclose(v, v_ref, atol=1e-10)
    half = stats.norm.ppf(0.975) * np.sqrt(v_ref @ S @ v_ref)
    assert (ci.lb, ci.ub) == pytest.approx((v_ref @ b - half, v_ref @ b + half), abs=1e-12)


def test_flci_equals_brute_force_search():
    """T_pre = 2, T_post = 1: one free weight; a fine grid of the half-length, the bias from the
    closed form M‖c‖₁, finds the same optimum as the Nelder–Mead search."""
    T_pre, T_post, M = 2, 1, 0.01
    S = _sigma(3, 4)
    b = np.array([0.003, -0.002, 0.04])
    ci, v = flci_sd(b, S, T_pre, T_post, M)
    A = sd_matrix(T_pre, T_post)

    def half(a):
        w = np.array([a, 1 - 2 * a, 1.0])
        c = np.linalg.lstsq(A.T, w, rcond=None)[0]
        s = np.sqrt(w @ S @ w)
        return s * folded_normal_cv(M * np.abs(c).sum() / s, 0.05)

    # v = (v_-2, v_-1, 1) with -2 v_-2 - v_-1 + 1 = 0, i.e. v_-1 = 1 - 2 v_-2: a grid, refined
    # three times around its best point
    lo, hi = -3.0, 3.0
    for _ in range(5):
        grid = np.linspace(lo, hi, 201)
        vals = [half(a) for a in grid]
        i = int(np.argmin(vals))
        step = grid[1] - grid[0]
        lo, hi = grid[i] - 2 * step, grid[i] + 2 * step
    assert (ci.ub - ci.lb) / 2 == pytest.approx(min(vals), rel=1e-6)
    assert (ci.ub - ci.lb) / 2 <= min(vals) * (1 + 1e-9)


def _rm_identified_set(beta, T_pre, T_post, Mbar, l):
    """LP: δ_pre = β_pre; post steps |δ_t − δ_{t−1}| ≤ M̄·max pre step; θ = l'(β_post − δ_post)."""
    pre = np.append(beta[:T_pre], 0.0)
    K = Mbar * np.max(np.abs(np.diff(pre)))
    D = np.eye(T_post) - np.eye(T_post, k=-1)  # δ_1 − δ_0, δ_2 − δ_1, …
    A_ub, b_ub = np.vstack([D, -D]), np.full(2 * T_post, K)
    lo = optimize.linprog(l, A_ub=A_ub, b_ub=b_ub, bounds=[(None, None)] * T_post, method="highs")
    hi = optimize.linprog(-l, A_ub=A_ub, b_ub=b_ub, bounds=[(None, None)] * T_post, method="highs")
    post = l @ beta[T_pre:]
    return post + hi.fun, post - lo.fun  # θ = l'β_post − l'δ_post


@pytest.mark.parametrize("l", [np.array([1.0, 0.0, 0.0]), np.array([0.2, 0.3, 0.5])])
def test_rm_ci_tends_to_identified_set(l):
    T_pre, T_post = 4, 3
    beta = np.array([0.01, -0.006, 0.004, 0.002, 0.05, 0.06, 0.08])
    S = _sigma(7, 2, scale=1e-18)
    for Mbar in (0.0, 0.5, 1.0, 2.0):
        ci = rm_ci(beta, S, T_pre, T_post, Mbar, l)
        lo, hi = _rm_identified_set(beta, T_pre, T_post, Mbar, l)
        assert (ci.lb, ci.ub) == pytest.approx((lo, hi), abs=1e-7)


def test_coverage_under_violations():
    """Monte Carlo: δ inside Δ^RM(1) and Δ^SD(M); both CIs cover θ in ≥ 95% of 400 draws."""
    T_pre, T_post = 3, 2
    S = _sigma(5, 5)
    rng = np.random.default_rng(9)
    L = np.linalg.cholesky(S)
    tau1 = 0.03
    delta_rm = np.array([0.0, 0.01, -0.01, 0.01, 0.02])  # pre steps ≤ 0.02, post steps ≤ 0.02
    delta_sd = 0.004 * np.array([-3, -2, -1, 1, 2]) + np.array([0, 0, 0, 0.002, 0.006])
    hits_rm = hits_sd = 0
    draws = 400
    ci0, v = flci_sd(np.zeros(5), S, T_pre, T_post, 0.002)  # v and the length do not depend on β̂
    chi = (ci0.ub - ci0.lb) / 2
    for _ in range(draws):
        e = L @ rng.standard_normal(5)
        tau = np.array([0, 0, 0, tau1, 0.05])
        ci = rm_ci(tau + delta_rm + e, S, T_pre, T_post, 1.0, nsims=2000, seed=1)
        hits_rm += ci.lb <= tau1 <= ci.ub
        hits_sd += abs(v @ (tau + delta_sd + e) - tau1) <= chi
    assert hits_rm / draws >= 0.95 and hits_sd / draws >= 0.93


def test_breakdown_and_sensitivity_table():
    T_pre, T_post = 3, 2
    S = _sigma(5, 6)
    b = np.array([0.004, -0.003, 0.002, 0.09, 0.1])
    mb = breakdown(lambda m: rm_ci(b, S, T_pre, T_post, m, nsims=20_000), 20.0, tol=1e-7)
    assert 0 < mb < 20
    at, beyond = (rm_ci(b, S, T_pre, T_post, mb, nsims=20_000),
                  rm_ci(b, S, T_pre, T_post, mb + 1e-4, nsims=20_000))
    assert at.lb > 0 and beyond.lb <= 0
    tab = sensitivity(b, S, T_pre, T_post, [0.0, 0.01], [0.5, 1.0])
    assert list(tab["restriction"]) == ["SD", "SD", "RM", "RM", "original"]
    assert np.all(tab["lb"] < tab["ub"])
    assert np.isnan(breakdown(lambda m: rm_ci(np.zeros(5), S, T_pre, T_post, m, nsims=2000), 1.0))


def test_rm_breakdown_closed_form_equals_bisection():
    from pra.inference.honest import rm_breakdown

    T_pre, T_post = 3, 2
    S = _sigma(5, 6)
    b = np.array([0.004, -0.003, 0.002, 0.09, 0.1])
    for l_vec in (None, np.array([0.5, 0.5])):
        mb = breakdown(lambda m: rm_ci(b, S, T_pre, T_post, m, l_vec, nsims=20_000), 20.0, tol=1e-9)
        assert rm_breakdown(b, S, T_pre, T_post, l_vec, nsims=20_000) == pytest.approx(mb, abs=1e-7)
    assert np.isnan(rm_breakdown(np.zeros(5), S, T_pre, T_post, nsims=2000))
