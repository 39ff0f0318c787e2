"""Conley spatial-HAC: the sparse KD-tree computation equals a dense n × n computation."""
import numpy as np
import pytest

from pra.geo.distance import haversine_km
from pra.inference.clustering import cluster_meat
from pra.inference.conley import conley_se, conley_vcov, neighbour_pairs
from pra.inference.design import build_design, codes
from test_inference_data import make_panel


_DENSE = {}
BLOCK = 128  # rows at a time: the same numbers without n × n temporaries (ten times faster)


def _dense_vcov(design, cutoff, kernel, within_year):
    f = design.frame
    lat, lon = f["latitude"].to_numpy(), f["longitude"].to_numpy()
    if id(design) not in _DENSE:  # the n × n distances, once per design
        D = _DENSE[id(design)] = np.empty((len(lat), len(lat)))
        for a in range(0, len(lat), BLOCK):
            D[a:a + BLOCK] = haversine_km(lat[a:a + BLOCK, None], lon[a:a + BLOCK, None],
                                          lat[None, :], lon[None, :])
    D = _DENSE[id(design)]
    yr = f["year"].to_numpy()
    S = design.scores()
    meat = np.zeros((S.shape[1], S.shape[1]))
    for a in range(0, len(lat), BLOCK):  # S' W S, row block by row block of W
        d = D[a:a + BLOCK]
        W = (d <= cutoff).astype(float) if kernel == "uniform" else np.clip(1 - d / cutoff, 0, None)
        if within_year:
            W = W * (yr[a:a + BLOCK, None] == yr[None, :])
        meat += S[a:a + BLOCK].T @ (W @ S)
    return design.bread @ meat @ design.bread


@pytest.fixture(scope="module")
def jittered():
    """≥ 2,000 rows at distinct coordinates (households spread around their locality)."""
    df = make_panel(n_localities=80, seed=5, jitter_km=8.0)
    assert len(df) >= 2000
    return build_design(df, "ln_pc_exp", ["D", "x1"], keep=["latitude", "longitude"])


@pytest.mark.parametrize("kernel", ["uniform", "bartlett"])
@pytest.mark.parametrize("cutoff", [5.0, 20.0, 50.0])
@pytest.mark.parametrize("within_year", [True, False])
def test_sparse_equals_dense(jittered, kernel, cutoff, within_year):
    got = conley_vcov(jittered, cutoff, kernel, time="year" if within_year else None)
    ref = _dense_vcov(jittered, cutoff, kernel, within_year)
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=0)


def test_households_at_locality_coordinates():
    """Rows sharing coordinates are aggregated first: still equal to the dense computation."""
    df = make_panel(n_localities=60, hh_mean=6.0, seed=6)
    d = build_design(df, "ln_pc_exp", ["D", "x1"], keep=["latitude", "longitude"])
    assert d.n >= 2000
    np.testing.assert_allclose(conley_vcov(d, 30.0), _dense_vcov(d, 30.0, "uniform", True),
                               rtol=1e-10, atol=0)


def test_limits(jittered):
    """Cutoff → 0 with distinct points: White's HC0; cutoff beyond the map, within year:
    clustering by year (without small-sample factor)."""
    S, B = jittered.scores(), jittered.bread
    np.testing.assert_allclose(conley_vcov(jittered, 1e-6), B @ (S.T @ S) @ B, rtol=1e-12)
    by_year = B @ cluster_meat(S, codes(jittered.frame, "year")) @ B
    np.testing.assert_allclose(conley_vcov(jittered, 5000.0), by_year, rtol=1e-10)


def test_pairs_at_the_cutoff_boundary():
    """Points just inside / outside the cutoff on a meridian: the chord search keeps exactly the
    pairs whose haversine distance is ≤ the cutoff."""
    lat = np.array([-12.0, -12.0 + 0.0899, -12.0 + 0.0901, -12.0 - 0.2])
    lon = np.full(4, -75.0)
    d01 = float(haversine_km(lat[0], lon[0], lat[1], lon[1]))
    i, j, d = neighbour_pairs(lat, lon, d01)
    assert (0, 1) in set(zip(i.tolist(), j.tolist()))
    assert (0, 2) not in set(zip(i.tolist(), j.tolist()))


def test_conley_se_result(jittered):
    res = conley_se(jittered, "D", [10, 50], kernel="bartlett")
    assert [r.method for r in res] == ["conley:bartlett:10km:within-year",
                                       "conley:bartlett:50km:within-year"]
    assert all(r.coef == pytest.approx(jittered.beta[0]) and r.se > 0 and r.df is None for r in res)
