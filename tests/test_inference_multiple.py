"""Romano–Wolf and Westfall–Young adjusted p-values: against naive step-down loops, pyfixest's
own step-down functions, and pyfixest's rwolf/wyoung end to end on a family with one design."""
import numpy as np
import pytest

from pra.inference.bootstrap import WildBootstrap
from pra.inference.design import build_design
from pra.inference.multiple import (Hypothesis, adjusted_pvalues, joint_bootstrap, romano_wolf,
                                    westfall_young)
from test_inference_data import make_panel


def _rw_naive(t, tstar):
    t, tstar = np.abs(t), np.abs(tstar)
    H, B = len(t), tstar.shape[0]
    order = sorted(range(H), key=lambda h: -t[h])
    adj, prev = np.zeros(H), 0.0
    for s, h in enumerate(order):
        rest = order[s:]
        count = sum(1 for b in range(B) if max(tstar[b, r] for r in rest) >= t[h])
        prev = max(prev, min(1.0, (count + 1) / (B + 1)))
        adj[h] = prev
    return adj


def _wy_naive(p, pstar):
    H, B = len(p), pstar.shape[0]
    order = sorted(range(H), key=lambda h: p[h])
    adj, prev = np.zeros(H), 0.0
    for s, h in enumerate(order):
        rest = order[s:]
        count = sum(1 for b in range(B) if min(pstar[b, r] for r in rest) <= p[h])
        prev = max(prev, count / B)
        adj[h] = prev
    return adj


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_stepdown_equals_naive_and_pyfixest(seed):
    from pyfixest.estimation.post_estimation.multcomp import _get_rwolf_pval, _get_wyoung_pval

    rng = np.random.default_rng(seed)
    H, B = 6, 400
    tstar = rng.standard_normal((B, H)) @ np.linalg.cholesky(0.5 * np.eye(H) + 0.5).T
    t = rng.normal(0, 2.5, H)
    rw = romano_wolf(t, tstar)
    np.testing.assert_allclose(rw, _rw_naive(t, tstar), rtol=0, atol=1e-15)
    np.testing.assert_allclose(rw, _get_rwolf_pval(t.copy(), tstar.copy()), atol=1e-15)
    p = 2 * (1 - __import__("scipy").stats.norm.cdf(np.abs(t)))
    pstar = 2 * (1 - __import__("scipy").stats.norm.cdf(np.abs(tstar)))
    wy = westfall_young(p, pstar)
    np.testing.assert_allclose(wy, _wy_naive(p, pstar), atol=1e-15)
    np.testing.assert_allclose(wy, _get_wyoung_pval(p.copy(), pstar.copy()), atol=1e-15)
    assert np.all(rw >= (np.sum(np.abs(tstar) >= np.abs(t), axis=0) + 1) / (B + 1) - 1e-15)


@pytest.fixture(scope="module")
def panel():
    df = make_panel(n_localities=64, seed=21, effect=0.05)
    rng = np.random.default_rng(4)
    df["district"] = df["ubigeo"].str[1:].astype(int)
    df["y2"] = df["ln_pc_exp"] + rng.normal(0, 0.3, len(df))
    df["y3"] = rng.normal(0, 1, len(df)) + 0.02 * df["D"]
    return df


def test_joint_equals_pyfixest_rwolf_wyoung(panel, wildboottest_compiled_once):
    """Three outcomes on the same rows and clusters: pyfixest re-seeds each model's bootstrap,
    so its draws are joint here, and its adjusted p-values must equal ours."""
    import pyfixest as pf

    outcomes = ["ln_pc_exp", "y2", "y3"]
    family = [Hypothesis(y, build_design(panel, y, ["D", "x1"], keep=["district"]), "D")
              for y in outcomes]
    ours = adjusted_pvalues(family, "district", "rademacher", B=499, seed=5)
    fits = [pf.feols(f"{y} ~ D + x1 | locality + year", data=panel, vcov={"CRV1": "district"})
            for y in outcomes]
    rw = pf.rwolf(fits, "D", reps=499, seed=5).loc["RW Pr(>|t|)"].to_numpy(float)
    wy = pf.wyoung(fits, "D", reps=499, seed=5).loc["WY Pr(>|t|)"].to_numpy(float)
    np.testing.assert_allclose(ours["pvalue_rw"], rw, atol=1e-12)
    np.testing.assert_allclose(ours["pvalue_wy"], wy, atol=1e-12)


def test_subgroups_share_cluster_draws(panel):
    """Subgroups with different rows: each hypothesis' t* is its own WCR bootstrap with the
    union draw restricted to its clusters (same weight for a cluster in every subgroup)."""
    north = panel[panel["latitude"] > -13.5]
    south = panel[panel["latitude"] <= -13.3]  # overlapping subgroups share clusters
    family = [Hypothesis(n, build_design(f, "ln_pc_exp", ["D", "x1"], keep=["district"]), "D")
              for n, f in [("north", north), ("south", south), ("all", panel)]]
    t, tstar, df, boots = joint_bootstrap(family, "district", "webb", B=300, seed=9)
    union = sorted(panel["district"].unique())
    full = WildBootstrap(family[2].design, "D", "district", "webb", B=300, seed=9)
    np.testing.assert_allclose(tstar[:, 2], full.tstar(0.0), rtol=1e-12)
    for h, b in zip(family[:2], boots[:2]):
        own = sorted(h.design.frame["district"].unique())
        rows = [union.index(c) for c in own]
        np.testing.assert_array_equal(b.v, full.v[rows])
    assert tstar.shape == (300, 3) and np.all(df == [b.G - 1 for b in boots])
