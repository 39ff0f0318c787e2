"""Tests of pra.matching: psmatch2 kernel weights, probit checks, kernel DD, cluster bootstrap,
balance and Figure 9. External anchor: Card & Krueger (1994) in the layout shipped with Stata
``diff``; Statalist thread 1349403 prints ``diff fte, t(treated) p(t)``: N 801, cells
78/77 (control) and 326/320 (treated), DD 2.914 (SE 1.611)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

# statsmodels is imported inside the tests that use it: at collection it costs every xdist
# worker ~1.5 s

from pra.matching import (
    PscoreError,
    balance_table,
    bootstrap_draws,
    fit_probit,
    kernel_did,
    kernel_weights,
    plot_score_densities,
    probit_newton,
    score_densities,
)
from pra.matching import bootstrap as bs
from pra.matching.kernel import _period_effects, stata_kdensity_at

# Card & Krueger (1994) in the layout of Stata `diff` (origin and licence: tests/data/README.md)
CK_PATH = Path(__file__).resolve().parent / "data" / "cardkrueger1994.dta"


# ---------------------------------------------------------------------------------------------
# kernel weights against a hand computation of psmatch2's definition
# ---------------------------------------------------------------------------------------------
PT = [0.20, 0.35, 0.50, 0.62, 0.95]  # 5 treated; 0.95 lies above every control score
PC = [0.10, 0.22, 0.30, 0.41, 0.55, 0.58, 0.80]  # 7 controls


def _small():
    # interleave treated and controls so that the column/row order rule is exercised
    p = np.array([PC[0], PT[0], PC[1], PC[2], PT[1], PC[3], PT[2], PC[4], PC[5], PT[3], PC[6], PT[4]])
    d = np.array([0, 1, 0, 0, 1, 0, 1, 0, 0, 1, 0, 1])
    return p, d


def _hand(kernel, bw, off=()):
    """psmatch2 _Kernel_: normalden(dif/bw) or 1-(dif/bw)^2 if |dif| <= bw, then / sum."""
    W = []
    for i, pi in enumerate(PT):
        if i in off:
            W.append([0.0] * len(PC))
            continue
        k = []
        for pj in PC:
            u = (pj - pi) / bw
            if kernel == "gaussian":
                k.append(math.exp(-u * u / 2) / math.sqrt(2 * math.pi))
            else:
                k.append(1 - u * u if abs(pj - pi) <= bw else 0.0)
        s = sum(k)
        W.append([x / s for x in k] if s > 0 else [0.0] * len(PC))
    return np.array(W)


@pytest.mark.parametrize("kernel", ["gaussian", "epanechnikov"])
def test_kernel_weights_match_hand_computation(kernel):
    p, d = _small()
    W, sup = kernel_weights(p, d, kernel=kernel, bandwidth=0.1, return_support=True)
    # Epanechnikov, bw 0.1: the treated at 0.95 has no control within 0.1 -> off support
    off = (4,) if kernel == "epanechnikov" else ()
    H = _hand(kernel, 0.1, off)
    assert W.shape == (5, 7)
    np.testing.assert_allclose(W, H, rtol=1e-12, atol=1e-15)
    assert list(sup) == [i not in off for i in range(5)]
    np.testing.assert_allclose(W[sup].sum(axis=1), 1.0)
    # a spot value written out: Epanechnikov row for p=0.62 uses controls 0.55 and 0.58 only
    if kernel == "epanechnikov":
        k55, k58 = 1 - 0.7**2, 1 - 0.4**2
        np.testing.assert_allclose(W[3, 4:6], [k55 / (k55 + k58), k58 / (k55 + k58)])


def test_kernel_weights_common_support_and_trim():
    p, d = _small()
    # psmatch2 common: treated above the largest control score (0.95 > 0.80) dropped
    W, sup = kernel_weights(p, d, "gaussian", 0.1, common_support="common", return_support=True)
    assert list(sup) == [True, True, True, True, False]
    np.testing.assert_array_equal(W[4], 0.0)
    np.testing.assert_allclose(W[:4], _hand("gaussian", 0.1)[:4], rtol=1e-12)
    # trim(20): Stata _pctile p(20) of 5 values is the mean of the 1st and 2nd smallest, so
    # exactly the treated with the lowest control density goes off support
    dens = stata_kdensity_at(np.array(PT), np.array(PC))
    W, sup = kernel_weights(p, d, "gaussian", 0.1, common_support="trim", trim_pct=20, return_support=True)
    assert (~sup).sum() == 1 and not sup[np.argmin(dens)]
    with pytest.raises(ValueError, match="trim_pct"):
        kernel_weights(p, d, common_support="trim")


def test_kdensity_matches_stata_formula_by_hand():
    x = np.array([0.1, 0.2, 0.25, 0.4, 0.7, 0.9])
    # Stata default bandwidth: 0.9 * min(sd, IQR/1.349) * n^(-1/5); percentiles by _pctile:
    # p25 -> P=1.5 -> x(2)=0.2, p75 -> P=4.5 -> x(5)=0.7
    h = 0.9 * min(np.std(x, ddof=1), (0.7 - 0.2) / 1.349) * 6 ** (-0.2)
    at = 0.3
    z = (at - x) / h
    k = np.where(np.abs(z) < math.sqrt(5), 0.75 / math.sqrt(5) * (1 - z * z / 5), 0)
    np.testing.assert_allclose(stata_kdensity_at(np.array([at]), x), k.sum() / (6 * h))


# ---------------------------------------------------------------------------------------------
# psmatch2 itself: Stata 18 output, `psmatch2 d x1 x2, outcome(y) kernel kerneltype(epan)
# bwidth(0.5) logit` (n=40): _pscore, control _weight, treated counterfactual _y, ATT.
# Source: StatsPAI reference fixtures (MIT), brycewang-stanford/StatsPAI-JSS-replication,
# tests/reference_parity/_fixtures/psmatch2_kernel_data.csv and psmatch2_stata.json
# ("att": 3.617975292503206). Columns x1, x2 and the text labels are left out here.
# ---------------------------------------------------------------------------------------------
PSMATCH2_KERNEL_EPAN_BW05 = """\
d,y,_pscore,_weight,_y
1,6.94448405629718e+00,5.04054242412353e-01,1.00000000000000e+00,1.40301856164503e+00
1,4.24550078624940e+00,4.62913153851385e-01,1.00000000000000e+00,1.30695995822680e+00
0,2.62071809443212e+00,5.53585931857947e-01,9.12798944091606e-01,
1,2.71701141656635e+00,3.68051525157140e-01,1.00000000000000e+00,1.09111163194149e+00
1,4.66689302374984e+00,4.97441784633688e-01,1.00000000000000e+00,1.38717349746035e+00
1,7.90419572335254e+00,3.96731208072616e-01,1.00000000000000e+00,1.15755585994482e+00
0,1.00636907207887e+01,6.08349640015363e-01,8.83376719011639e-01,
0,-1.61652833206697e+00,2.28523204929405e-01,6.33955993951405e-01,
0,-2.13570970154624e-01,3.54202151370356e-01,8.13304624139418e-01,
1,8.22602600840813e+00,5.71313125639698e-01,1.00000000000000e+00,1.58010822474185e+00
0,-6.86105074905254e-01,4.68087162455140e-01,9.09836263717877e-01,
0,2.61695065971089e+00,3.03348723229762e-01,7.42963809908059e-01,
0,4.65167660984262e-01,2.84803536175137e-01,7.19657364535983e-01,
1,-5.40398860947800e-01,4.81730463384861e-01,1.00000000000000e+00,1.35022366810493e+00
1,5.75165483805901e+00,6.23827137478404e-01,1.00000000000000e+00,1.75339198826319e+00
0,5.97487557657124e+00,5.37768302744506e-01,9.16744932489850e-01,
1,4.71895859854581e+00,4.11198179511051e-01,1.00000000000000e+00,1.19036528848842e+00
1,8.05083935992711e+00,4.93032616694370e-01,1.00000000000000e+00,1.37671128140049e+00
0,1.26182702557538e+00,4.72010985149359e-01,9.11277355467358e-01,
0,-2.13188852546986e+00,2.32739408873043e-01,6.41156670899549e-01,
0,2.11716215194652e+00,5.88633612578367e-01,8.96786810510974e-01,
0,5.07207704391731e+00,6.12306077566255e-01,8.80303814915508e-01,
1,2.62110173587495e-02,1.66422268464793e-01,1.00000000000000e+00,3.97931782547063e-01
0,5.34047548866213e+00,6.39868949414768e-01,8.55353843999936e-01,
0,-3.94640195351774e-01,3.18135494153210e-01,7.60681924011273e-01,
1,3.27950693952426e+00,3.86447127649956e-01,1.00000000000000e+00,1.13399183832095e+00
0,-2.74476254566748e+00,4.47394788931571e-01,9.00159724780691e-01,
0,-2.05239447297723e-01,3.74082485275599e-01,8.37775736246851e-01,
1,5.72214130432582e+00,5.88577998650842e-01,1.00000000000000e+00,1.63249131162750e+00
1,3.97152543368463e+00,4.97787812910945e-01,1.00000000000000e+00,1.38799793546500e+00
0,-4.37664803408771e-01,5.01929464667790e-01,9.18137002041640e-01,
1,6.38725400139110e+00,4.67395667978371e-01,1.00000000000000e+00,1.31718884864175e+00
0,2.53429818665517e+00,3.98551001633249e-01,8.63469918660115e-01,
1,7.13347774134023e+00,4.94126769517421e-01,1.00000000000000e+00,1.37930024947894e+00
1,3.10585905070283e+00,6.11283286896077e-01,1.00000000000000e+00,1.70786772505465e+00
0,2.59375430710677e+00,2.54938337186208e-01,6.76984552144758e-01,
0,-2.28835634019818e+00,3.11033754812111e-01,7.51905222935840e-01,
1,8.54344198776624e+00,8.16433516175683e-01,1.00000000000000e+00,3.17763750989051e+00
0,-2.05504560496980e-01,3.47726934017441e-01,8.04638301309880e-01,
0,-1.18778273439952e+00,3.23212161964925e-01,7.68730470229790e-01,
"""


def test_kernel_weights_reproduce_stata_psmatch2_output():
    import io

    f = pd.read_csv(io.StringIO(PSMATCH2_KERNEL_EPAN_BW05))
    t = f["d"].to_numpy() == 1
    W, sup = kernel_weights(f["_pscore"], f["d"], kernel="epanechnikov", bandwidth=0.5, return_support=True)
    assert sup.all()
    cf = W @ f.loc[~t, "y"].to_numpy()
    np.testing.assert_allclose(cf, f.loc[t, "_y"], rtol=0, atol=1e-12)  # Stata's _y
    np.testing.assert_allclose(W.sum(axis=0), f.loc[~t, "_weight"], rtol=0, atol=1e-12)  # _weight
    assert (f.loc[t, "y"].to_numpy() - cf).mean() == pytest.approx(3.617975292503206, abs=1e-12)


# ---------------------------------------------------------------------------------------------
# Card & Krueger: no covariates = plain DD = OLS interaction = published diff output
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ck():
    d = pd.read_stata(CK_PATH)
    d["treated"] = (d["treated"].astype(str) == "NJ").astype(int)  # stored as category PA/NJ
    d["fte"] = d["fte"].astype(float)
    return d


def test_card_krueger_no_covariates_is_plain_dd(ck):
    import statsmodels.formula.api as smf

    assert len(ck) == 820
    res = kernel_did(ck, "fte", "treated", "t", [], "id", reps=30, seed=3, missing="drop")
    # the 19 rows with missing fte are dropped and counted, not silently lost
    assert res.dropped["rows"].sum() == 19 and set(res.dropped["reason"]) == {"missing fte"}
    assert res.n_treated == {0: 326, 1: 320} and res.n_control == {0: 78, 1: 77}
    data = ck.dropna(subset=["fte"])
    m = data.groupby(["treated", "t"])["fte"].mean()
    plain = (m[1, 1] - m[0, 1]) - (m[1, 0] - m[0, 0])
    ols = smf.ols("fte ~ treated + t + treated:t", data=data).fit()
    att = res.att["fte"]
    assert att == pytest.approx(plain, abs=1e-9)
    assert att == pytest.approx(ols.params["treated:t"], abs=1e-9)
    assert res.dd["fte"] == pytest.approx(att, abs=1e-12)
    # Statalist 1349403: Diff-in-Diff 2.914 (S. Err. 1.611 from the OLS); same sample of 801
    assert round(att, 3) == 2.914
    assert int(ols.nobs) == 801 and round(ols.bse["treated:t"], 3) == 1.611
    # bootstrap identical for both estimators here: every replicate also has equal weights
    np.testing.assert_allclose(res.boot["matching"].to_numpy(), res.boot["unmatched"].to_numpy(), atol=1e-9)


def test_card_krueger_with_covariates(ck):
    res = kernel_did(ck, ["fte"], "treated", "t", ["bk", "kfc", "roys"], "id", reps=40, seed=1, missing="drop")
    assert np.isfinite(res.att["fte"]) and np.isfinite(res.se["fte"]) and res.se["fte"] > 0
    assert res.reps_failed == 0
    assert res.table.loc[res.table.estimator == "matching", "ci_low"].iloc[0] < res.att["fte"]
    # probit per period: 4 terms, both periods estimated on the non-missing rows
    assert set(res.pscore) == {0, 1}
    assert list(res.pscore[0].table["term"]) == ["const", "bk", "kfc", "roys"]
    assert res.pscore[0].n == 404 and res.pscore[1].n == 397
    # matching moves the estimate away from the plain DD (scores are not constant)
    assert res.att["fte"] != pytest.approx(res.dd["fte"], abs=1e-6)
    # psmatch2 _weight: controls' weights sum to the number of on-support treated per period
    for t, n_on in res.n_on_support.items():
        rows = res.weights.index[(ck.loc[res.weights.index, "t"] == t)]
        wc = res.weights[rows][ck.loc[rows, "treated"] == 0]
        assert wc.sum() == pytest.approx(n_on)


# ---------------------------------------------------------------------------------------------
# bootstrap
# ---------------------------------------------------------------------------------------------
def _synthetic(seed=0, n=(600, 900), att=0.3, trend_x=0.5, n_centres=150, sel=0.8):
    """Two repeated cross-sections. Treated have higher x; x also raises the outcome's change
    between periods, so the plain DD is biased by trend_x * E[x|T]-E[x|C]; matching on x is not."""
    rng = np.random.default_rng(seed)
    parts = []
    for post in (0, 1):
        nn = sum(n)
        x1 = rng.normal(size=nn)
        x2 = rng.binomial(1, 0.4, nn).astype(float)
        p = stats.norm.cdf(-0.4 + sel * x1 + 0.3 * x2)
        d = (rng.uniform(size=nn) < p).astype(int)
        centre = rng.integers(0, n_centres, nn)
        u_c = rng.normal(0, 0.2, n_centres)[centre]
        y = 1.0 + 0.5 * x1 + 0.2 * x2 + trend_x * x1 * post + att * d * post + u_c + rng.normal(0, 0.5, nn)
        parts.append(pd.DataFrame({"y": y, "y2": y + rng.normal(0, 1, nn), "x1": x1, "x2": x2, "d": d,
                                   "post": post, "centre": [f"c{c}" for c in centre]}))
    return pd.concat(parts, ignore_index=True)


def test_bootstrap_determinism():
    df = _synthetic(seed=1, n=(200, 300), n_centres=60)
    a = kernel_did(df, "y", "d", "post", ["x1", "x2"], "centre", reps=25, seed=7)
    b = kernel_did(df, "y", "d", "post", ["x1", "x2"], "centre", reps=25, seed=7)
    c = kernel_did(df, "y", "d", "post", ["x1", "x2"], "centre", reps=25, seed=8)
    assert a.se["y"] == b.se["y"] and a.att["y"] == b.att["y"]
    pd.testing.assert_frame_equal(a.boot, b.boot)
    assert a.se["y"] != c.se["y"] and a.att["y"] == c.att["y"]


def test_cluster_draws_within_period_with_fresh_ids():
    # centre "shared" exists in both periods: it must be two clusters, drawn separately
    cl = np.array(["a", "a", "b", "shared", "shared", "c", "shared", "d", "d", "e"])
    pe = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
    lay = bs.layout(cl, pe)
    assert len(lay.sizes) == 7  # (0,a) (0,b) (0,shared) (1,c) (1,d) (1,e) (1,shared)
    rng = np.random.default_rng(0)
    seen_dup = False
    for _ in range(50):
        dr = bs.draw(lay, rng)
        gp = lay.group_period[dr.groups]
        # as many clusters drawn per period as the period has, each from that period
        assert (gp == 0).sum() == 3 and (gp == 1).sum() == 4
        assert np.all(pe[dr.rows] == np.repeat(gp, lay.sizes[dr.groups]))
        # rows of a drawn copy belong to the drawn cluster
        assert np.all(cl[dr.rows] == np.repeat(lay.group_cluster[dr.groups], lay.sizes[dr.groups]))
        # one fresh id per drawn copy; duplicates are kept (never deduped)
        assert len(np.unique(dr.cluster_id)) == len(dr.groups) == 7
        assert len(dr.rows) == lay.sizes[dr.groups].sum()
        if len(np.unique(dr.groups)) < len(dr.groups):
            seen_dup = True
            g = dr.groups[np.flatnonzero(np.bincount(dr.groups) > 1)[0] == dr.groups]
            assert len(g) > 1
            dup_rows = np.isin(np.repeat(dr.groups, lay.sizes[dr.groups]), g[:1])
            assert len(np.unique(dr.cluster_id[dup_rows])) == len(g)  # distinct ids per copy
            assert dr.counts(len(cl))[dr.rows[dup_rows]].min() == len(g)
    assert seen_dup
    with pytest.raises(ValueError, match="missing cluster"):
        bs.layout(np.array(["a", None], dtype=object), np.array([0, 1]))


def test_bootstrap_replicate_equals_brute_force_recomputation():
    """Replicate b of kernel_did = draw b of bootstrap_draws, rows physically duplicated,
    statsmodels probit per period, kernel_weights, ATT_DD by the study's formula."""
    import statsmodels.api as sm

    df = _synthetic(seed=4, n=(120, 180), n_centres=30)
    res = kernel_did(df, ["y", "y2"], "d", "post", ["x1", "x2"], "centre", reps=3, seed=9)
    for b, dr in enumerate(bootstrap_draws(df["centre"].to_numpy(), df["post"].to_numpy(), 3, 9)):
        dup = df.iloc[dr.rows].reset_index(drop=True)
        dup["centre"] = dr.cluster_id  # fresh ids (not used by the estimator, kept for clarity)
        diffs, raws = [], []
        for post in (0, 1):
            s = dup[dup.post == post]
            ps = sm.Probit(s["d"], sm.add_constant(s[["x1", "x2"]])).fit(disp=0).predict()
            W = kernel_weights(ps, s["d"].to_numpy(), "gaussian", 0.06)
            t = s["d"].to_numpy() == 1
            Y = s[["y", "y2"]].to_numpy()
            diffs.append((Y[t] - W @ Y[~t]).mean(axis=0))
            raws.append(Y[t].mean(axis=0) - Y[~t].mean(axis=0))
        np.testing.assert_allclose(res.boot.loc[b, "matching"].to_numpy(), diffs[1] - diffs[0], rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(res.boot.loc[b, "unmatched"].to_numpy(), raws[1] - raws[0], rtol=1e-10)


def test_replicate_with_multiplicities_equals_duplicated_rows():
    """The bootstrap fits on row multiplicities; that must equal the duplicated-row data."""
    import statsmodels.api as sm

    df = _synthetic(seed=2, n=(150, 250), n_centres=40)
    sub = df[df.post == 1].reset_index(drop=True)
    lay = bs.layout(sub["centre"].to_numpy(), sub["post"].to_numpy())
    dr = bs.draw(lay, np.random.default_rng(5))
    dup = sub.iloc[dr.rows].reset_index(drop=True)
    m = dr.counts(len(sub))
    keep = m > 0
    X = sm.add_constant(sub[["x1", "x2"]].to_numpy())
    b_w = probit_newton(X[keep], sub["d"].to_numpy(float)[keep], m[keep].astype(float))
    b_dup = sm.Probit(dup["d"].to_numpy(float), sm.add_constant(dup[["x1", "x2"]].to_numpy())).fit(disp=0).params
    np.testing.assert_allclose(b_w, b_dup, rtol=1e-7, atol=1e-9)
    p_w = stats.norm.cdf(X[keep] @ b_w)
    p_dup = stats.norm.cdf(sm.add_constant(dup[["x1", "x2"]].to_numpy()) @ b_w)
    Yk = sub[["y", "y2"]].to_numpy()
    for kern in ("gaussian", "epan"):
        e_w = _period_effects(p_w, sub["d"].to_numpy()[keep], Yk[keep], m[keep].astype(float), kern, 0.06, "common", None)
        e_d = _period_effects(p_dup, dup["d"].to_numpy(), dup[["y", "y2"]].to_numpy(), np.ones(len(dup)), kern, 0.06, "common", None)
        np.testing.assert_allclose(e_w[0], e_d[0], rtol=1e-10)
        np.testing.assert_allclose(e_w[1], e_d[1], rtol=1e-10)


# ---------------------------------------------------------------------------------------------
# probit checks
# ---------------------------------------------------------------------------------------------
def _probit_data(seed=0, n=300):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.binomial(1, 0.5, n).astype(float)})
    df["d"] = (rng.uniform(size=n) < stats.norm.cdf(0.5 * df.x1)).astype(int)
    return df


def test_probit_matches_statsmodels_and_newton():
    import statsmodels.api as sm

    df = _probit_data()
    r = fit_probit(df, "d", ["x1", "x2"], label="year 2009")
    ref = sm.Probit(df["d"], sm.add_constant(df[["x1", "x2"]])).fit(disp=0)
    np.testing.assert_allclose(r.table["coef"], ref.params, rtol=1e-8)
    np.testing.assert_allclose(r.table["se"], ref.bse, rtol=1e-6)
    assert r.n == 300 and r.n_treated + r.n_control == 300
    X = sm.add_constant(df[["x1", "x2"]].to_numpy())
    np.testing.assert_allclose(probit_newton(X, df["d"].to_numpy(float)), ref.params, rtol=1e-7)


def test_probit_perfect_predictor_raises():
    df = _probit_data()
    df["bad"] = 0.0
    df.loc[df.index[:20], "bad"] = 1.0
    df.loc[df.index[:20], "d"] = 1  # bad == 1 -> always treated (quasi-complete separation)
    with pytest.raises(PscoreError, match=r"year 2012.*bad == 1 predicts treated perfectly"):
        fit_probit(df, "d", ["x1", "bad"], label="year 2012")
    sep = _probit_data()
    sep["z"] = sep["d"] * 2.0 + sep["x2"]  # complete separation by a threshold on z
    with pytest.raises(PscoreError, match="z separates treated and controls"):
        fit_probit(sep, "d", ["z"], label="year 2009")


def test_probit_collinear_and_constant_raise():
    df = _probit_data()
    df["x3"] = df["x1"] + 2 * df["x2"]
    with pytest.raises(PscoreError, match=r"year 2009.*'x3' is a linear combination of \['x1', 'x2'\]"):
        fit_probit(df, "d", ["x1", "x2", "x3"], label="year 2009")
    df["k"] = 3.0
    with pytest.raises(PscoreError, match="'k' is constant"):
        fit_probit(df, "d", ["x1", "k"], label="year 2009")


def test_probit_missing_and_nonconvergence_raise():
    df = _probit_data()
    df.loc[5, "x1"] = np.nan
    with pytest.raises(PscoreError, match=r"missing covariate values.*'x1': 1"):
        fit_probit(df, "d", ["x1"], label="year 2009")
    with pytest.raises(PscoreError, match="year 2009: probit"):
        fit_probit(_probit_data(), "d", ["x1", "x2"], label="year 2009", maxiter=1)


def test_kernel_did_missing_raises_without_drop():
    df = _synthetic(seed=3, n=(100, 100), n_centres=30)
    df.loc[3, "y"] = np.nan
    with pytest.raises(ValueError, match=r"missing values \{'y': 1\}"):
        kernel_did(df, "y", "d", "post", ["x1"], "centre", reps=5)
    res = kernel_did(df, "y", "d", "post", ["x1"], "centre", reps=5, missing="drop")
    assert res.dropped.to_dict("records") == [{"reason": "missing y", "period": 0, "rows": 1}]
    with pytest.raises(ValueError, match="exactly two values"):
        kernel_did(df.assign(post=df.index % 3), "y", "d", "post", ["x1"], "centre", reps=5, missing="drop")


# ---------------------------------------------------------------------------------------------
# recovery of a planted effect; balance; Figure 9
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def planted():
    # Monte Carlo check of this DGP (40 data sets, seeds 100-139, 50 reps, bw 0.06): matching DD
    # mean 0.329 (kernel smoothing bias ~0.03; 0.293 at bw 0.02), sd 0.054, mean bootstrap SE
    # 0.053; plain DD sd 0.070, SE 0.064, mean ~0.8. One fixed data set is tested here.
    df = _synthetic(seed=12, n=(600, 900), att=0.3, trend_x=0.5, n_centres=150)
    res = kernel_did(df, ["y", "y2"], "d", "post", ["x1", "x2"], "centre", reps=100, seed=2)
    return df, res


def test_matching_dd_recovers_planted_att_unmatched_is_biased(planted):
    df, res = planted
    m = res.table.set_index(["estimator", "outcome"])
    lo, hi = m.loc[("matching", "y"), ["ci_low", "ci_high"]]
    assert lo <= 0.3 <= hi
    assert abs(res.att["y"] - 0.3) < 0.1
    # plain DD carries trend_x * (E[x1|T] - E[x1|C]) at follow-up: about +0.4 here
    ulo, uhi = m.loc[("unmatched", "y"), ["ci_low", "ci_high"]]
    assert not ulo <= 0.3 <= uhi and res.dd["y"] - 0.3 > 0.2
    assert res.reps_failed == 0 and set(m["reps_ok"]) == {100}


def test_epanechnikov_and_common_support_run(planted):
    df, _ = planted
    res = kernel_did(df, "y", "d", "post", ["x1", "x2"], "centre", kernel="epanechnikov",
                     bandwidth=0.06, reps=20, seed=1, common_support="common")
    assert np.isfinite(res.se["y"]) and res.ci_low["y"] <= 0.3 <= res.ci_high["y"]
    c = res.counts.set_index("period")
    assert (c["n_on_support"] + c["n_off_support"] == c["n_treated"]).all()
    # psmatch2 trim(10): about 10% of the treated per period leave the support
    tr = kernel_did(df, "y", "d", "post", ["x1", "x2"], "centre", reps=10, seed=1,
                    common_support="trim", trim_pct=10)
    c = tr.counts.set_index("period")
    share_off = c["n_off_support"] / c["n_treated"]
    assert share_off.between(0.09, 0.11).all() and np.isfinite(tr.se["y"])
    assert tr.support[df.index[df.d == 1]].sum() == c["n_on_support"].sum()


def test_balance_table_and_densities(planted, tmp_path):
    import statsmodels.api as sm

    df, res = planted
    bt = balance_table(df, ["x1", "x2"], res.weights, "d", "post", "centre")
    assert len(bt) == 4
    # selection on x1 is strong before matching and gone after
    x1 = bt[bt.variable == "x1"]
    assert (x1["p_before"] < 1e-6).all() and (x1["p_after"] > 0.05).all()
    assert (x1["diff_after"].abs() < x1["diff_before"].abs() / 5).all()
    # weighted means = aweighted group means; SE = statsmodels WLS clustered
    s = df[df.post == 1]
    w = res.weights[s.index]
    ok = w.notna() & (w > 0)
    wls = sm.WLS(s.x1[ok], sm.add_constant(s.d[ok].astype(float)), weights=w[ok]).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(s.centre[ok])[0]}, use_t=True)
    row = bt[(bt.variable == "x1") & (bt.period == 1)].iloc[0]
    assert row["mean_c_after"] == pytest.approx(np.average(s.x1[ok & (s.d == 0)], weights=w[ok & (s.d == 0)]))
    assert row["se_after"] == pytest.approx(wls.bse["d"], rel=1e-8)
    assert row["p_after"] == pytest.approx(wls.pvalues["d"], rel=1e-6)

    dens = score_densities(res.scores, df["d"], df["post"], res.weights)
    assert set(dens["stage"]) == {"before", "after"} and len(dens) == 2 * 2 * 2 * 201
    area = dens.groupby(["period", "group", "stage"])["density"].sum() * (1 / 200)
    assert area.between(0.9, 1.05).all()
    a = plot_score_densities(dens, [tmp_path / "fig9a.png", tmp_path / "fig9a.pdf"])
    b = plot_score_densities(dens, [tmp_path / "fig9b.png", tmp_path / "fig9b.pdf"])
    for pa, pb in zip(a, b):
        assert Path(pa).read_bytes() == Path(pb).read_bytes()
    assert b"CreationDate" not in Path(a[1]).read_bytes()


def test_failed_replicates_are_counted_and_warned():
    # 'rare' is non-zero in one centre only: replicates that miss that centre have an all-zero
    # column (singular probit) and must be reported as failed, not silently patched
    df = _synthetic(seed=5, n=(100, 150), n_centres=20)
    c0 = df["centre"].iloc[0]
    df["rare"] = ((df["centre"] == c0) & (df.index % 2 == 0)).astype(float)
    with pytest.warns(RuntimeWarning, match=r"replications failed"):
        res = kernel_did(df, "y", "d", "post", ["x1", "rare"], "centre", reps=20, seed=0)
    assert 0 < res.reps_failed < 20
    assert int(res.table["reps_ok"].iloc[0]) == 20 - res.reps_failed and np.isfinite(res.se["y"])


# ---------------------------------------------------------------------------------------------
# fast Gauss transform (large samples) against the direct kernel sums
# ---------------------------------------------------------------------------------------------
def test_gauss_sums_equal_direct_sums_including_far_targets():
    from pra.matching.gausssum import gauss_sums

    rng = np.random.default_rng(5)
    sc = np.sqrt(0.5) / 0.06
    pc = np.r_[rng.uniform(0.05, 0.2, 1500), rng.uniform(0.2, 0.45, 1500)]
    pt = np.r_[np.linspace(0.0, 1.0, 2001), rng.beta(3, 3, 1000)]  # some far from every control
    Q = np.column_stack([rng.integers(1, 4, len(pc)), rng.normal(size=(len(pc), 2))])
    S, far = gauss_sums(pt * sc, pc * sc, Q)
    # exp(-(t - c)²) in place: the same elementwise operations as the plain expression (same
    # values), without four 3000 × 3000 temporaries (0.1 s instead of 0.8 s)
    direct = np.subtract.outer(pt * sc, pc * sc)
    np.square(direct, out=direct)
    np.negative(direct, out=direct)
    direct = np.exp(direct, out=direct) @ Q
    assert 0 < far.sum() < len(pt) and (S[far] == 0).all()
    near = ~far
    np.testing.assert_allclose(S[near, 0], direct[near, 0], rtol=1e-13)  # denominators, relative
    np.testing.assert_allclose(S[near, 1:] / S[near, :1], direct[near, 1:] / direct[near, :1],
                               rtol=0, atol=1e-13)


def test_fast_gauss_path_equals_direct_path(planted, monkeypatch):
    """The whole estimator (scores, weights, bootstrap) with every period above the size at which
    the fast Gauss transform takes over equals the direct computation to rounding."""
    import pra.matching.kernel as K

    df, direct = planted
    monkeypatch.setattr(K, "FAST_GAUSS_ABOVE", 0)
    fast = kernel_did(df, ["y", "y2"], "d", "post", ["x1", "x2"], "centre", reps=100, seed=2)
    cols = ["estimate", "se", "ci_low", "ci_high"]
    np.testing.assert_allclose(fast.table[cols], direct.table[cols], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fast.boot.to_numpy(), direct.boot.to_numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fast.weights.fillna(-1), direct.weights.fillna(-1), rtol=1e-10, atol=1e-13)
    assert (fast.support == direct.support).all()


def test_control_weights_fast_equal_full_matrix_column_sums(monkeypatch):
    """psmatch2 _weight of each control, with treated and controls far from the other group."""
    import pra.matching.kernel as K

    rng = np.random.default_rng(9)
    p = np.r_[rng.uniform(0.5, 0.9, 800), [0.99], rng.uniform(0.0, 0.9, 1500)]
    d = np.r_[np.ones(801, int), np.zeros(1500, int)]
    p[801:811] = np.linspace(0.0, 0.05, 10)  # controls far below every treated
    W, sup = kernel_weights(p, d, "gaussian", 0.02, return_support=True)
    expected = W.sum(axis=0)
    pt, pc = p[d == 1][sup], p[d == 0]
    den = K.kernel_sums(pt, pc, np.ones((len(pc), 1)), "gaussian", 0.02)[:, 0]
    direct = K.control_weights(pt, pc, den, "gaussian", 0.02)
    monkeypatch.setattr(K, "FAST_GAUSS_ABOVE", 0)
    den_f = K.kernel_sums(pt, pc, np.ones((len(pc), 1)), "gaussian", 0.02)[:, 0]
    fast = K.control_weights(pt, pc, den_f, "gaussian", 0.02)
    np.testing.assert_allclose(direct, expected, rtol=1e-12, atol=0)
    np.testing.assert_allclose(fast, expected, rtol=1e-10, atol=1e-300)
    assert (expected[:10] < 1e-20).all() and (fast[:10] > 0).all()  # tiny, not truncated to 0


def test_result_fields_have_one_type_whatever_the_number_of_outcomes():
    df = _synthetic(seed=3, n=(150, 200), n_centres=40)
    one = kernel_did(df, "y", "d", "post", ["x1"], "centre", reps=8, seed=4)
    two = kernel_did(df, ["y", "y2"], "d", "post", ["x1"], "centre", reps=8, seed=4)
    for name in ("att", "se", "pvalue", "ci_low", "ci_high", "dd", "dd_se"):
        a, b = getattr(one, name), getattr(two, name)
        assert isinstance(a, pd.Series) and isinstance(b, pd.Series), name
        assert list(a.index) == ["y"] and list(b.index) == ["y", "y2"], name
        # the bootstrap draws are shared by the outcomes: y's numbers do not depend on y2 (up to
        # the rounding of matrix products with one or two outcome columns)
        assert a["y"] == pytest.approx(b["y"], rel=1e-12, abs=1e-15), name
    for name in ("n_treated", "n_control", "n_on_support"):
        assert type(getattr(one, name)) is dict and getattr(one, name) == getattr(two, name)
    assert one.outcomes == ["y"] and two.outcomes == ["y", "y2"]
