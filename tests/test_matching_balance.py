"""Table 15's clustered balance tests (pra.matching.balance._wreg) in closed form, against pyfixest.

``_wreg`` computes Stata ``reg y d [aw=w], cluster(cl)`` from the two weighted group means
instead of calling pyfixest (issue 13: 88 formula parses per call were ~85% of run_matching).
The reference is pyfixest itself: ``feols`` called directly, and the former pyfixest ``_wreg``
(kept below as ``_wreg_pyfixest``) for the whole table.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest

from pra.did import pyfixest_adapter as pfa
from pra.matching import balance, balance_table, kernel_weights

RTOL = 1e-10
# p = 2(1 - F(|t|)) as pyfixest computes it is quantised in steps of 2.2e-16 near F = 1
P_ATOL = 1e-15


def _wreg_pyfixest(y, d, w, cl):
    """The former _wreg (cf98cef): pyfixest feols with aweights and CRV1 by cluster."""
    frame = pd.DataFrame({"y": y, "d": d, "w": w, "cl": cl})
    with warnings.catch_warnings():  # its collinearity and division notices in the edge cases
        warnings.simplefilter("ignore")
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


def _clustered(seed):
    """Weighted clustered data: unequal cluster sizes (Dirichlet shares), treatment share varying
    by cluster, matching-like weights with zeros (left out, as balance_table does), and a
    continuous, a binary and a constant covariate."""
    rng = np.random.default_rng(seed)
    n, g = int(rng.integers(150, 500)), int(rng.integers(4, 40))
    cl = rng.choice(g, size=n, p=rng.dirichlet(np.full(g, 0.7)))
    d = (rng.random(n) < rng.uniform(0.2, 0.8, g)[cl]).astype(float)
    w = np.where(d == 1, 1.0, rng.gamma(0.8, 2.0, n)) * (rng.random(n) > 0.15)
    frame = pd.DataFrame({
        "cont": 50 + 10 * rng.normal(size=n) + 3 * d + rng.normal(size=g)[cl],
        "binary": (rng.random(n) < 0.3 + 0.2 * d).astype(float),
        "const": np.full(n, 2.7),
        "d": d, "w": w, "cl": np.array([f"c{i}" for i in range(g)])[cl],
    })
    return frame[frame.w > 0].reset_index(drop=True)


def _pyfixest_direct(frame, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = pf.feols(f"{y} ~ d", data=frame, weights="w", vcov={"CRV1": "cl"})
    b, se, p = fit.coef(), fit.se(), fit.pvalue()
    return b["Intercept"], b["Intercept"] + b["d"], b["d"], se["d"], p["d"], fit._N


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("y", ["cont", "binary"])
def test_closed_form_equals_pyfixest_feols(seed, y):
    f = _clustered(seed)
    assert f.groupby("cl").size().nunique() > 1  # unequal cluster sizes
    got = balance._wreg(f[y], f.d, f.w, f.cl)
    ref = _pyfixest_direct(f, y)
    np.testing.assert_allclose(got[:4], ref[:4], rtol=RTOL, atol=0)
    np.testing.assert_allclose(got[4], ref[4], rtol=RTOL, atol=P_ATOL)
    assert got[5] == ref[5] == len(f) and got[6] == f.cl.nunique()
    # unweighted (the "before" regression: w = 1)
    got1 = balance._wreg(f[y], f.d, np.ones(len(f)), f.cl)
    ref1 = _pyfixest_direct(f.assign(w=1.0), y)
    np.testing.assert_allclose(got1[:4], ref1[:4], rtol=RTOL, atol=0)
    np.testing.assert_allclose(got1[4], ref1[4], rtol=RTOL, atol=P_ATOL)


@pytest.mark.parametrize("seed", range(2))
def test_constant_covariate(seed):
    # pyfixest's residuals of a constant are rounding noise (SE ~1e-15, p anywhere in [0, 1]);
    # the closed form gives what Stata reports: difference 0, SE 0, p missing (0/0)
    f = _clustered(seed)
    got = balance._wreg(f["const"], f.d, f.w, f.cl)
    ref = _pyfixest_direct(f, "const")
    np.testing.assert_allclose(got[:2], ref[:2], rtol=RTOL)
    np.testing.assert_allclose(got[2:4], ref[2:4], rtol=0, atol=1e-12)
    assert got[:4] == (2.7, 2.7, 0.0, 0.0) and np.isnan(got[4]) and got[5] == ref[5]


def test_no_test_cases_raise_as_before():
    # a group without rows, N - k = 0, one cluster, all missing: pyfixest raised (KeyError,
    # ValueError, ZeroDivisionError, LinAlgError); the closed form raises a ValueError
    y, d, cl = np.arange(6.0), np.array([0, 1, 0, 1, 0, 1.0]), np.array([1, 1, 2, 2, 3, 3])
    cases = {
        "all treated": (y, np.ones(6), np.ones(6), cl),
        "no rows": (y[:0], d[:0], np.ones(0), cl[:0]),
        "two rows": (y[:2], d[:2], np.ones(2), np.array([1, 2])),
        "one cluster": (y, d, np.ones(6), np.ones(6)),
    }
    for name, args in cases.items():
        with pytest.raises(Exception):
            _wreg_pyfixest(*args)
        with pytest.raises(ValueError, match="no clustered test"):
            balance._wreg(*args, what=name)
    with pytest.raises(ValueError, match="not 0/1"):
        balance._wreg(y, 2 * d, np.ones(6), cl)
    frame = pd.DataFrame({"x": np.nan, "d": d, "t": 1, "cl": cl})
    with pytest.raises(ValueError, match="x in t 1, before"):
        balance_table(frame, ["x"], pd.Series(1.0, index=frame.index), "d", "t", "cl")


def _matching_frame(seed=3, n=700, n_clusters=45):
    """Two periods of a matching sample: covariates that select into treatment, kernel-matching
    weights (1 / NaN off support for the treated, sums of kernel weights, some 0, for controls),
    a variable with missing values, binary ones and one constant in period 1 only."""
    rng = np.random.default_rng(seed)
    cl = rng.choice(n_clusters, size=n, p=rng.dirichlet(np.ones(n_clusters)))
    period = rng.integers(0, 2, n)
    x = rng.normal(size=(n, 3))
    d = (rng.random(n) < 1 / (1 + np.exp(-(x @ [0.8, -0.5, 0.3] - 0.4)))).astype(int)
    df = pd.DataFrame({"period": period, "treated": d, "cluster": cl, "x1": x[:, 0], "x2": x[:, 1],
                       "inc": np.exp(7 + x[:, 2] + 0.3 * d), "age": rng.integers(18, 80, n),
                       "female": (rng.random(n) < 0.5).astype(float),
                       "urban": (rng.random(n) < 0.3 + 0.3 * d).astype(float),
                       "edu": np.where(rng.random(n) < 0.1, np.nan, rng.integers(0, 17, n)),
                       "flag": np.where(period == 1, 1.0, rng.integers(0, 2, n))},
                      index=pd.RangeIndex(1000, 1000 + n))
    w = pd.Series(np.nan, index=df.index)
    for p in (0, 1):
        s = df[df.period == p]
        score = 1 / (1 + np.exp(-(s[["x1", "x2"]].to_numpy() @ [0.8, -0.5] - 0.4)))
        W, sup = kernel_weights(score, s.treated.to_numpy(), kernel="epanechnikov", bandwidth=0.03,
                                return_support=True)
        t, c = s.index[s.treated == 1], s.index[s.treated == 0]
        w[t] = np.where(sup, 1.0, np.nan)
        w[c] = W.sum(axis=0)
    return df, w


def test_balance_table_equals_pyfixest_reference(monkeypatch):
    df, w = _matching_frame()
    assert w.isna().any() and (w == 0).any()  # off-support treated and unmatched controls
    variables = ["x1", "inc", "age", "female", "urban", "edu", "flag"]  # 1 of each kind
    got = balance_table(df, variables, w, "treated", "period", "cluster")
    monkeypatch.setattr(balance, "_wreg", lambda y, d, w, cl, what="": _wreg_pyfixest(y, d, w, cl))
    ref = balance_table(df, variables, w, "treated", "period", "cluster")
    assert list(got.columns) == list(ref.columns) and got.dtypes.equals(ref.dtypes)
    const = (got.variable == "flag") & (got.period == 1)
    exact = [c for c in got.columns if got[c].dtype.kind not in "f"]
    pd.testing.assert_frame_equal(got[exact], ref[exact])
    for col in [c for c in got.columns if c not in exact]:
        tol = P_ATOL if col.startswith("p_") else 0
        np.testing.assert_allclose(got.loc[~const, col], ref.loc[~const, col], rtol=RTOL, atol=tol,
                                   err_msg=col)
    # the constant: equal means, difference/SE 0 against pyfixest's rounding noise, p missing
    for stage in ("before", "after"):
        c, r = got[const].iloc[0], ref[const].iloc[0]
        assert c[f"mean_t_{stage}"] == c[f"mean_c_{stage}"] == 1.0 and c[f"se_{stage}"] == 0.0
        assert abs(r[f"se_{stage}"]) < 1e-12 and np.isnan(c[f"p_{stage}"])
    assert (got.n_missing[got.variable == "edu"] > 0).all()
