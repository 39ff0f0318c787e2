"""Wild cluster restricted bootstrap: against the wildboottest package (same seed, same draws)
and against brute-force re-estimation of each bootstrap sample."""
import numpy as np
import pytest

from pra.inference.bootstrap import WildBootstrap, sorted_cluster_codes, wild_bootstrap
from pra.inference.clustering import cluster_meat
from pra.inference.design import build_design, demean
from test_inference_data import make_panel


@pytest.fixture(scope="module")
def design():
    df = make_panel(n_localities=90, seed=11, effect=0.04, district_year_sd=0.08)
    return build_design(df, "ln_pc_exp", ["D", "x1"], keep=["ubigeo"])


def _package(design, cluster, weights, B, seed):
    from wildboottest.wildboottest import WildboottestCL

    g = sorted_cluster_codes(design, cluster)
    y, X = design.nested_partial(g)  # the package gets the year FE as dummies
    R = np.zeros(X.shape[1])
    R[0] = 1.0
    boot = WildboottestCL(X=X, Y=y, cluster=g,
                          R=R, B=B, seed=seed, parallel=False)
    boot.get_scores(bootstrap_type="11", impose_null=True)
    boot.get_weights(weights_type=weights)
    boot.get_numer()
    boot.get_denom()
    boot.get_tboot()
    boot.get_vcov()
    boot.get_tstat()
    boot.get_pvalue(pval_type="two-tailed")
    return boot


@pytest.mark.parametrize("weights", ["rademacher", "webb"])
@pytest.mark.parametrize("cluster", ["ubigeo", "locality"])
def test_equals_wildboottest_package(design, weights, cluster, wildboottest_compiled_once):
    B, seed = 999, 20140601
    ours = WildBootstrap(design, "D", cluster, weights, B, seed)
    ref = _package(design, cluster, weights, B, seed)
    np.testing.assert_array_equal(ours.v, ref.v)
    # the package's t* uses (N−1)/(N−k)·G/(G−1) with k the demeaned regressors only; ours the
    # design's reghdfe factor: the t* differ by the ratio of the two factors, the p-value not.
    scale = np.sqrt(ref.ssc / ours.ssc)
    np.testing.assert_allclose(ours.tstar(0.0), np.ravel(ref.t_boot) * scale, rtol=1e-9)
    assert ours.tstat(0.0) == pytest.approx(float(np.ravel(ref.t_stat)[0]) * scale, rel=1e-9)
    assert ours.pvalue(0.0) == pytest.approx(float(ref.pvalue), abs=1e-12)


def test_full_enumeration_matches_package(wildboottest_compiled_once):
    df = make_panel(n_localities=32, seed=2, district_size=4)  # 8 districts: 2^8 = 256 < 999
    d = build_design(df, "ln_pc_exp", ["D", "x1"], keep=["ubigeo"])
    ours = WildBootstrap(d, "D", "ubigeo", "rademacher", 999, 1)
    assert ours.B == 256
    ref = _package(d, "ubigeo", "rademacher", 999, 1)
    np.testing.assert_array_equal(ours.v, ref.v)
    scale = np.sqrt(ref.ssc / ours.ssc)
    np.testing.assert_allclose(ours.tstar(0.0), np.ravel(ref.t_boot) * scale, rtol=1e-9)
    # the all-(+1) and all-(−1) draws reproduce |t| itself: a tie that rounding decides in either
    # implementation; away from ties the rejection counts agree
    t, tstar = abs(ours.tstat(0.0)), np.abs(ours.tstar(0.0))
    ties = np.isclose(tstar, t, rtol=1e-9)
    assert ties.sum() == 2
    ref_rejects = np.abs(np.ravel(ref.t_boot)) > abs(float(np.ravel(ref.t_stat)[0]))
    np.testing.assert_array_equal((tstar > t)[~ties], ref_rejects[~ties])


@pytest.mark.parametrize("r", [0.0, 0.07])
def test_tstar_equals_brute_force_refits(design, r):
    """Each bootstrap sample re-estimated from scratch with every FE re-absorbed:
    y* = fitted + ũ·v, demeaned on locality and year FE, OLS, CRV1 with the design's factor."""
    wb = WildBootstrap(design, "D", "ubigeo", "webb", B=25, seed=3)
    X, y, Binv = design.X, design.y, design.bread
    g = sorted_cluster_codes(design, "ubigeo")
    Xo = X[:, 1:]  # restricted fit (β_D = r) on the demeaned design = the full model's (FWL)
    bo = np.linalg.lstsq(Xo, y - r * X[:, 0], rcond=None)[0]
    u_r = y - r * X[:, 0] - Xo @ bo
    expect = []
    for b in range(wb.B):
        ystar_d = y - u_r + demean(u_r * wb.v[g, b], design.fe_codes)[:, 0]
        beta = Binv @ X.T @ ystar_d
        u = ystar_d - X @ beta
        V = wb.ssc * Binv @ cluster_meat(X * u[:, None], g) @ Binv
        expect.append((beta[0] - r) / np.sqrt(V[0, 0]))
    np.testing.assert_allclose(wb.tstar(r), expect, rtol=1e-8)


def test_ci_by_inversion(design):
    wb = WildBootstrap(design, "D", "ubigeo", "rademacher", B=1999, seed=7)
    lo, hi = wb.ci(0.95)
    assert lo < wb.coef < hi
    eps = 1e-6 * wb.se
    for edge, outward in [(lo, -eps), (hi, eps)]:
        assert wb.pvalue(edge - outward) > 0.05  # just inside: not rejected
        assert wb.pvalue(edge + outward) <= 0.05  # just outside: rejected
    res = wild_bootstrap(design, "D", "ubigeo", "rademacher", B=1999, seed=7)
    assert (res.ci_low, res.ci_high) == (lo, hi) and res.pvalue == wb.pvalue(0.0)


def test_reweight_equals_a_fresh_bootstrap(design):
    """Another weight type on the shared algebra = a bootstrap built from scratch with it."""
    a = WildBootstrap(design, "D", "ubigeo", "rademacher", B=199, seed=5).reweight("webb", 199, 6)
    b = WildBootstrap(design, "D", "ubigeo", "webb", B=199, seed=6)
    np.testing.assert_array_equal(a.v, b.v)
    np.testing.assert_allclose(a.tstar(0.02), b.tstar(0.02), rtol=1e-12)
    assert a.pvalue() == b.pvalue() and a.weights == "webb" and a.seed == 6
