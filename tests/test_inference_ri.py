"""Spatial randomisation inference: stratified placebo maps, the fast re-estimation against a
full re-fit, chunked seeds, and the randomisation p-value."""
import numpy as np
import pandas as pd
import pytest

from pra.geo.distance import haversine_km
from pra.inference.design import build_design
from pra.inference.ri import (PlaceboFit, nearest_distance_km, placebo_maps, ri_pvalue)
from test_inference_data import make_panel

STRATA = ["dpto", "size_class", "alt_class"]
RADIUS = 10.0


@pytest.fixture(scope="module")
def world():
    """A panel whose localities are the candidate centres; 8 of them are the programme."""
    df = make_panel(n_localities=150, seed=31, effect=0.3, radius_km=RADIUS)
    rng = np.random.default_rng(2)
    cand = df.groupby("locality", as_index=False)[["latitude", "longitude"]].first()
    cand = cand.rename(columns={"locality": "centre"})
    cand["dpto"] = np.where(cand["latitude"] > -13.5, "A", "B")
    cand["size_class"] = rng.choice(["small", "large"], len(cand), p=[0.7, 0.3])
    cand["alt_class"] = np.where(cand["longitude"] > -74.2, "high", "low")
    programme = cand.sample(8, random_state=1)
    return df, cand, programme


def test_maps_are_stratified_seeded_and_chunkable(world):
    _, cand, programme = world
    maps = placebo_maps(cand, programme, STRATA, seed=7, count=20, exclude=programme["centre"])
    want = programme.groupby(STRATA).size()
    for m in maps:
        assert len(set(m)) == len(m) == len(programme)
        assert not set(m) & set(programme["centre"])
        got = cand.set_index("centre").loc[m].groupby(STRATA).size()
        pd.testing.assert_series_equal(got, want, check_names=False)
    chunk = placebo_maps(cand, programme, STRATA, seed=7, first=5, count=3,
                         exclude=programme["centre"])
    assert all(np.array_equal(a, b) for a, b in zip(chunk, maps[5:8]))
    assert not all(np.array_equal(a, b) for a, b in zip(maps[:10], maps[10:]))


def test_stratum_too_small_is_an_error(world):
    _, cand, programme = world
    tiny = cand[~((cand["dpto"] == programme["dpto"].iloc[0])
                  & (cand["size_class"] == programme["size_class"].iloc[0])
                  & (cand["alt_class"] == programme["alt_class"].iloc[0]))]
    with pytest.raises(ValueError, match="candidate centre"):
        placebo_maps(tiny, programme, STRATA, seed=1, count=1)


def test_nearest_distance_equals_brute_force(world):
    df, cand, programme = world
    lat, lon = df["latitude"].to_numpy(), df["longitude"].to_numpy()
    plat, plon = programme["latitude"].to_numpy(), programme["longitude"].to_numpy()
    brute = haversine_km(lat[:, None], lon[:, None], plat[None, :], plon[None, :]).min(axis=1)
    np.testing.assert_allclose(nearest_distance_km(lat, lon, plat, plon), brute, rtol=1e-12)


def _placebo_treated(cand, ids):
    m = cand.set_index("centre").loc[ids]
    d = nearest_distance_km(cand["latitude"].to_numpy(), cand["longitude"].to_numpy(),
                            m["latitude"].to_numpy(), m["longitude"].to_numpy())
    return cand["centre"].to_numpy()[d <= RADIUS]


def test_fast_path_equals_full_refit(world):
    from pra.did import estimate

    df, cand, programme = world
    design = build_design(df, "ln_pc_exp", ["D", "x1"], keep=["post"])
    fast = PlaceboFit(design, "D")
    maps = placebo_maps(cand, programme, STRATA, seed=3, count=3, exclude=programme["centre"])
    for k, ids in enumerate(maps):
        treated = _placebo_treated(cand, ids)
        placebo = df.assign(D=df["locality"].isin(treated).astype(float) * df["post"])
        full = build_design(placebo, "ln_pc_exp", ["D", "x1"])
        assert fast.coef(treated) == pytest.approx(full.beta[0], rel=1e-9)
        if k == 0:  # and once against the project's estimator (pyfixest)
            ref = estimate(placebo, "ln_pc_exp", ["D", "x1"], ("locality", "year"), cluster="locality")
            assert fast.coef(treated) == pytest.approx(ref.coef, rel=1e-6)
    # the real map through the fast path is the real estimate
    real = df.loc[df["treated"] == 1, "locality"].unique()
    assert fast.coef(real) == pytest.approx(design.beta[0], rel=1e-9)


def test_ri_pvalue(world):
    df, cand, programme = world
    design = build_design(df, "ln_pc_exp", ["D", "x1"], keep=["post"])
    fast = PlaceboFit(design, "D")
    maps = placebo_maps(cand, programme, STRATA, seed=11, count=49, exclude=programme["centre"])
    betas = np.array([fast.coef(_placebo_treated(cand, ids)) for ids in maps])
    p = ri_pvalue(design.beta[0], betas)
    assert p == pytest.approx((1 + np.sum(np.abs(betas) >= abs(design.beta[0]))) / 50)
    assert p <= 0.06  # a planted effect of 0.3 log points stands out of the placebo maps
    assert ri_pvalue(0.0, betas) == 1.0
