"""The effect curve over distance: bin estimates equal binsreg's, the truth (a step at 10 km)
lies inside the uniform band, and the sup-t critical value matches its definition."""
import numpy as np
import pytest

from pra.inference.curve import effect_curve, locality_changes, sup_t_critical
from test_inference_data import make_panel

EFFECT, RADIUS, DMAX = 0.15, 10.0, 30.0


@pytest.fixture(scope="module")
def panel():
    return make_panel(n_localities=400, seed=8, effect=EFFECT, radius_km=RADIUS, hh_mean=6)


@pytest.fixture(scope="module")
def curve(panel):
    return effect_curve(panel, "ln_pc_exp", DMAX, seed=1)


def test_truth_inside_uniform_band(panel, curve):
    b = curve.bins
    assert curve.selection == "binsreg-dpi" and curve.nbins == len(b) >= 3
    ch, _ = locality_changes(panel, "ln_pc_exp", DMAX)
    near = ch[ch["dist_km"] < DMAX]
    # the truth of a bin: the step averaged over the bin's localities
    j = np.clip(np.searchsorted(b["d_high"].to_numpy(), near["dist_km"].to_numpy(), side="left"),
                0, len(b) - 1)
    truth = (EFFECT * (near["dist_km"] <= RADIUS)).groupby(j).mean().to_numpy()
    assert np.all((b["band_low"] <= truth) & (truth <= b["band_high"]))
    # the step shows: the first bin (all within the radius) is positive beyond the band
    assert b["band_low"].iloc[0] > 0 and b["d_high"].iloc[0] <= RADIUS
    assert curve.crit_band > 1.96


def test_bin_means_equal_binsreg(panel, curve):
    import matplotlib

    matplotlib.use("Agg")
    from binsreg import binsreg

    ch, _ = locality_changes(panel, "ln_pc_exp", DMAX)
    near, ctrl = ch[ch["dist_km"] < DMAX], ch[ch["dist_km"] >= DMAX]
    res = binsreg(near["dy"].to_numpy(), near["dist_km"].to_numpy(), nbins=curve.nbins, dots=(0, 0))
    dots = res.data_plot[0].dots
    np.testing.assert_allclose(curve.bins["tau"] + ctrl["dy"].mean(), dots["fit"], rtol=1e-12)
    np.testing.assert_array_equal(curve.bins["n_localities"], dots["n"])


def test_sup_t_critical_value():
    """Independent bivariate check: for two independent standard normals the sup-t critical
    value c solves (2Φ(c) − 1)² = level; with perfect correlation it is the pointwise z."""
    from scipy import stats

    c = sup_t_critical(np.eye(2), 0.95, 200_000, 3)
    assert (2 * stats.norm.cdf(c) - 1) ** 2 == pytest.approx(0.95, abs=2e-3)
    c1 = sup_t_critical(np.ones((3, 3)), 0.95, 200_000, 3)
    assert c1 == pytest.approx(1.959964, abs=0.02)
