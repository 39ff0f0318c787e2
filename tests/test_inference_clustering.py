"""Cluster-robust alternatives from one demeaned design, against pyfixest and a dense sandwich.

pyfixest demeans to its own tolerance (fixef_tol 1e-8 by default): agreement ~1e-8 relative;
the dense dummy-variable sandwich is exact and is checked to 1e-10."""
import numpy as np
import pandas as pd
import pytest

from pra.did import estimate
from pra.inference.clustering import cluster_se, crv1_vcov
from pra.inference.design import build_design
from test_inference_data import make_panel


@pytest.fixture(scope="module")
def panel():
    return make_panel(seed=3)


@pytest.fixture(scope="module")
def design(panel):
    return build_design(panel, "ln_pc_exp", ["D", "x1"], ("locality", "year"),
                        keep=["ubigeo", "latitude", "longitude"])


@pytest.mark.parametrize("cluster", ["locality", "ubigeo"])
def test_oneway_equals_pra_did_estimate(panel, design, cluster):
    ref = estimate(panel, "ln_pc_exp", ["D", "x1"], ("locality", "year"), cluster=cluster)
    got = cluster_se(design, "D", cluster)
    assert got.coef == pytest.approx(ref.coef, rel=1e-9)
    assert got.se == pytest.approx(ref.se, rel=1e-7)
    assert got.pvalue == pytest.approx(ref.pvalue, rel=1e-6)
    assert got.ci_low == pytest.approx(ref.ci_low, rel=1e-7)
    assert got.nclusters == ref.nclusters


def test_twoway_equals_pyfixest(panel, design):
    import pyfixest as pf

    frame = panel.assign(dy=panel["ubigeo"] + "_" + panel["year"].astype(str))
    fit = pf.feols("ln_pc_exp ~ D + x1 | locality + year", data=frame,
                   vcov={"CRV1": "locality + dy"})
    got = cluster_se(design, "D", "locality + ubigeo^year")
    tidy = fit.tidy()
    assert got.se == pytest.approx(float(tidy.loc["D", "Std. Error"]), rel=1e-7)
    assert got.pvalue == pytest.approx(float(tidy.loc["D", "Pr(>|t|)"]), rel=1e-6)
    assert got.nclusters == min(frame["locality"].nunique(), frame["dy"].nunique())


def test_dense_sandwich_with_dummies(panel, design):
    """Independent check: OLS with explicit dummies, the sandwich written out with cluster
    indicator matrices, reghdfe's df (year dummies counted, locality dummies nested)."""
    f = design.frame
    Z = pd.get_dummies(f[["locality", "year"]].astype(str), drop_first=False).to_numpy(float)
    Z = Z[:, :-1]  # one redundant level (locality and year dummies both sum to one)
    X = np.column_stack([f[["D", "x1"]].to_numpy(float), Z])
    y = f["ln_pc_exp"].to_numpy(float)
    XtXi = np.linalg.pinv(X.T @ X)
    b = XtXi @ X.T @ y
    u = y - X @ b
    H = pd.get_dummies(f["ubigeo"]).to_numpy(float)  # n × G indicator
    S = H.T @ (X * u[:, None])
    V = XtXi @ (S.T @ S) @ XtXi
    n, G = len(y), H.shape[1]
    # the regressors + the year FE; the locality FE are nested in the districts (not counted)
    df_k = 2 + f["year"].nunique()
    V *= (n - 1) / (n - df_k) * G / (G - 1)
    V_got, G_got, _ = crv1_vcov(design, "ubigeo")
    assert G_got == G
    assert np.sqrt(V_got[0, 0]) == pytest.approx(np.sqrt(V[0, 0]), rel=1e-10)
    assert design.beta[0] == pytest.approx(b[0], rel=1e-10)
