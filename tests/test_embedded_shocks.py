"""The spatially correlated shocks switch of the generator (``data.embedded.shocks``,
:mod:`pra.embedded.shocks`): off reproduces the no-shock data exactly; on adds district × year
and smooth field components of the stated sizes to ln expenditure, and nothing else moves."""
import dataclasses

import numpy as np
import pandas as pd
import pytest

from pra.embedded import households as hh_mod
from pra.embedded.households import build_households
from pra.embedded.model import DEFAULT, from_config
from pra.embedded.shocks import SHOCK_DEFAULTS, _field, _km_xyz, check_shocks, expenditure_shocks
from test_embedded_households import standin_geography

SCALE = 0.3


def _model(**shocks):
    return dataclasses.replace(DEFAULT, shocks={**SHOCK_DEFAULTS, **shocks})


@pytest.fixture(scope="module")
def geo():
    return standin_geography(SCALE, np.random.default_rng(1))


@pytest.fixture(scope="module")
def off(geo):
    return build_households(geo, SCALE, np.random.default_rng(7), model=_model(enabled=False))


def _no_shock_code(monkeypatch):
    """The generator as it was before the switch: no shock, no extra stream spawned."""
    def none(ubigeo, year, lat, lon, params, rng, centre_on):
        z = np.zeros(len(year))
        return {"district_year": z, "field": z, "shock": z}

    monkeypatch.setattr(hh_mod, "expenditure_shocks", none)


def _same_modules(a, b):
    assert a.modules.keys() == b.modules.keys()
    for k in a.modules:
        pd.testing.assert_frame_equal(a.modules[k], b.modules[k], check_exact=True, obj=k)


def test_off_reproduces_the_no_shock_data(geo, off, monkeypatch):
    _no_shock_code(monkeypatch)
    before = build_households(geo, SCALE, np.random.default_rng(7), model=_model(enabled=False))
    _same_modules(off, before)
    pd.testing.assert_frame_equal(off.truth, before.truth, check_exact=True)
    pd.testing.assert_frame_equal(off.programme_survey, before.programme_survey, check_exact=True)
    assert off.params["shocks"] == {"params": {**SHOCK_DEFAULTS, "enabled": False}}


def _shock_diff(on, off):
    """Per interviewed household: ln_pc_exp_cf(on) − ln_pc_exp_cf(off), i.e. the shock (the
    counterfactual holds it; the planted effect is the same in both)."""
    t1, t0 = on.truth, off.truth
    keep = (t0["interview"] == 1).to_numpy()
    return t1.loc[keep].assign(diff=(t1["ln_pc_exp_cf"] - t0["ln_pc_exp_cf"])[keep])


def test_on_moves_only_ln_expenditure(geo, off):
    on = build_households(geo, SCALE, np.random.default_rng(7), model=_model(district_year_sd=0.2, field_sd=0.1))
    t1, t0 = on.truth, off.truth
    # the planted effect, the households and every non-expenditure draw are unchanged
    np.testing.assert_array_equal(t1["effect"].to_numpy(), t0["effect"].to_numpy())
    for col in ("year", "conglome", "hh_type", "head_educ", "semester", "treated_true", "near_line"):
        assert (t1[col].to_numpy() == t0[col].to_numpy()).all(), col
    assert on.params["calibrated"]["g_t"] == off.params["calibrated"]["g_t"]
    assert on.params["calibrated"]["eps_sd_t"] == off.params["calibrated"]["eps_sd_t"]
    # the poverty line is recalibrated to Table 4's poverty rate on the shocked expenditure (the
    # programme survey's poverty follows it); it moves little
    z1, z0 = on.params["calibrated"]["poverty_line_Z0"], off.params["calibrated"]["poverty_line_Z0"]
    assert z1 != z0 and abs(z1 / z0 - 1) < 0.05
    tp = t1[(t1["interview"] == 1) & (t1["hh_type"] == "producer") & t1["treated_true"] & (t1["year"] >= 2010)]
    assert abs(tp["effect"].mean() - DEFAULT.effect_mean) < 1e-12
    d = _shock_diff(on, off)
    assert d["diff"].abs().max() > 0.05
    # ln y = counterfactual + effect still holds (cents rounding)
    t = t1[t1["interview"] == 1]
    np.testing.assert_allclose(t["ln_pc_exp"], t["ln_pc_exp_cf"] + t["effect"], atol=1e-3)
    info = on.params["shocks"]
    assert set(info) == {"params", "realised_var", "share_of_ln_exp_var", "dd_of_shock"}
    assert 0 < info["share_of_ln_exp_var"]["shock"] < 0.5


def test_district_year_component_has_the_stated_size(geo, off):
    sd = 0.15
    on = build_households(geo, SCALE, np.random.default_rng(7), model=_model(district_year_sd=sd, field_sd=0.0))
    d = _shock_diff(on, off)
    # one value per district-year (the centring is one constant per year)
    per_cell = d.groupby(["ubigeo", "year"])["diff"]
    assert (per_cell.max() - per_cell.min()).max() < 1e-9
    cells = per_cell.first().reset_index()
    cells["dev"] = cells["diff"] - cells.groupby("year")["diff"].transform("mean")
    G = len(cells)
    var = float((cells["dev"] ** 2).sum() / (G - cells["year"].nunique()))
    # sampling sd of a variance estimate: σ² √(2/G); 4 of them
    assert abs(var - sd ** 2) < 4 * sd ** 2 * np.sqrt(2 / G), (var, sd ** 2, G)


def test_field_covariance_is_the_gaussian_kernel():
    """Random Fourier features give Cov = sd² exp(−d²/(2ℓ²)) over draws (checked at 0, ℓ, 2ℓ, 4ℓ)."""
    ell, sd, K, R = 20.0, 0.1, 500, 3000
    lat0, lon0 = -12.0, -75.0
    # points east of the first at distances 0 (itself), ℓ, 2ℓ, 4ℓ km along the parallel
    dist = np.array([0.0, ell, 2 * ell, 4 * ell])
    lon = lon0 + np.degrees(dist / (6371.0088 * np.cos(np.radians(lat0))))
    xyz = _km_xyz(np.full(4, lat0), lon)
    chord = np.linalg.norm(xyz - xyz[0], axis=1)
    rng = np.random.default_rng(0)
    F = np.array([_field(xyz, sd, ell, K, rng) for _ in range(R)])
    cov = (F * F[:, :1]).mean(axis=0)
    target = sd ** 2 * np.exp(-chord ** 2 / (2 * ell ** 2))
    # Monte Carlo error of a mean of R products of N(0, sd²) variables: ≤ sd² √(2/R)
    np.testing.assert_allclose(cov, target, atol=4 * sd ** 2 * np.sqrt(2 / R))


def test_config_and_checks():
    m = from_config({"data": {"embedded": {"scale": 0.1, "shocks": {"enabled": False}}}})
    assert m.shocks == {**SHOCK_DEFAULTS, "enabled": False}
    assert from_config({}).shocks == SHOCK_DEFAULTS
    with pytest.raises(ValueError, match="unknown key"):
        check_shocks({"size": 1})
    with pytest.raises(ValueError, match="district_year_sd"):
        check_shocks({"district_year_sd": -0.1})
    # off: zeros and the generator untouched
    rng = np.random.default_rng(3)
    state = rng.bit_generator.state
    out = expenditure_shocks(["010101"], [2007], [-12.0], [-75.0], {"enabled": False}, rng, [True])
    assert out["shock"].tolist() == [0.0] and rng.bit_generator.state == state
