"""The effect curve net of a Table 6 model's controls (``inference.curve.model``): the adjusted
outcome equals y − x'β̂ with β̂ from pyfixest's own fit of the model; the bins of another column
(``curve_of``) reproduce the curve on its own column and give the planted step as truth; the
Monte Carlo's ``curve`` estimator (pra.validate.curve) and its joint band coverage; the config
cross-check and the table's note follow the model."""
import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from pra.did.specs import HEAD, HOUSEHOLD, LOCALITY_CHARS, model_controls
from pra.inference.curve import curve_of
from pra.inference.outputs import effect_curve_data, curve_frame, curve_from_data
from pra.inference.report import curve_meta, curve_table
from pra.validate.curve import band_coverage, run_curve
from pra.validate.draw import DRAW_COLUMNS, zero_by_design
from test_inference_data import make_panel

ROOT = Path(__file__).resolve().parents[1]
EFFECT, RADIUS = 0.15, 10.0


@pytest.fixture(scope="module")
def config():
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    cfg["inference"]["curve"].update(nsims=1000, control_km=15.0)
    return cfg


@pytest.fixture(scope="module")
def space():
    """A spatial sample with every model-3 control; the controls move ln expenditure, so that
    the adjustment has something to take out; τ planted within 10 km after 2010."""
    df = make_panel(n_localities=200, seed=11, effect=EFFECT, radius_km=RADIUS, hh_mean=6)
    df = df[df["dist_km"] < 20].reset_index(drop=True)
    rng = np.random.default_rng(3)
    n, loc = len(df), df["locality"].str[1:].astype(int).to_numpy()
    df["semester"] = df["year"].astype(str) + "-I"
    df["producer"] = 1.0
    df["hh_id"] = [f"h{i:06d}" for i in range(n)]
    for c in LOCALITY_CHARS:
        df[c] = rng.normal(size=loc.max() + 1)[loc]
    for c in ["head_female", "head_married", "head_migrant", "electricity", "cook_firewood", "wall_brick",
              "floor_finished", "roof_concrete_tile", "water_public"]:
        df[c] = rng.integers(0, 2, n).astype(float)
    df["head_age"] = rng.integers(20, 80, n).astype(float)
    df["head_educ"] = rng.integers(1, 8, n).astype(float)
    df["sanitation"] = np.where(rng.random(n) < 0.3, "none_other", "public")
    df.loc[rng.choice(n, 25, replace=False), "head_age"] = np.nan  # rows model 3 drops
    df["ln_pc_exp"] += 0.3 * df["electricity"] - 0.004 * df["head_age"].fillna(50) + 0.1 * df["head_educ"]
    effects = pd.DataFrame({"hh_id": df["hh_id"], "tau__ln_pc_exp": EFFECT * df["D"]})
    return df, effects


def _with_model(cfg, model):
    c = copy.deepcopy(cfg)
    c["inference"]["curve"]["model"] = model
    return c


def test_adjusted_outcome_equals_pyfixest(config, space):
    import pyfixest as pf

    df, _ = space
    frame, col, dropped = effect_curve_data(df, _with_model(config, 3))
    assert col == "ln_pc_exp__net_of_model3" and dropped == {"missing:head_age": 25}
    ctr = model_controls(3, 2007)
    assert set(HEAD) <= set(ctr) and set(HOUSEHOLD) <= set(ctr)
    fit = pf.feols(f"ln_pc_exp ~ D + {' + '.join(ctr)} | locality + year", data=frame, vcov={"CRV1": "locality"})
    b = fit.coef().drop("D")
    X = pf.feols(f"ln_pc_exp ~ D + {' + '.join(ctr)}", data=frame, vcov="iid")
    Xr = pd.DataFrame(X._X, columns=X._coefnames)
    expect = frame["ln_pc_exp"].to_numpy() - Xr[list(b.index)].to_numpy() @ b.to_numpy()
    np.testing.assert_allclose(frame[col].to_numpy(), expect, atol=1e-8)
    # the controls took out variance: the adjusted outcome is less noisy than the raw one
    assert frame[col].var() < 0.9 * frame["ln_pc_exp"].var()
    # null: the outcome itself, no row dropped
    raw, rcol, rdrop = effect_curve_data(df, _with_model(config, None))
    assert rcol == "ln_pc_exp" and rdrop == {} and len(raw) == len(df)


def test_curve_of_reproduces_the_curve_and_gives_the_step(config, space):
    df, effects = space
    cfg = _with_model(config, 3)
    frame, col, _ = effect_curve_data(df.merge(effects, on="hh_id"), cfg, keep=["tau__ln_pc_exp"])
    curve = curve_from_data(frame, col, cfg)
    np.testing.assert_allclose(curve_of(frame, col, curve), curve.bins["tau"].to_numpy(), atol=1e-12)
    truth = curve_of(frame, "tau__ln_pc_exp", curve)
    b = curve.bins
    assert np.allclose(truth[b["d_high"] <= RADIUS], EFFECT) and np.allclose(truth[b["d_low"] > RADIUS], 0)
    # the pipeline's entry point: the same curve, the model fit's drops counted
    full = curve_frame(df, cfg)
    np.testing.assert_allclose(full.bins["tau"], b["tau"], atol=1e-12)
    assert full.dropped["missing:head_age"] == 25


def test_monte_carlo_estimator_rows_and_band_coverage(config, space):
    df, effects = space
    cfg = copy.deepcopy(config)
    cfg["validation"]["curve"] = {"models": [None, 3]}
    out = run_curve(df, effects, cfg)
    assert set(DRAW_COLUMNS) - {"draw", "effect"} <= set(out.columns)
    assert set(out["estimator"]) == {"curve_raw", "curve_m3"}
    assert (out["ci_low"] < out["estimate"]).all() and (out["estimate"] < out["ci_high"]).all()
    for _, g in out.groupby("estimator"):
        assert list(g["term"]) == [f"bin {j}" for j in range(1, len(g) + 1)]
        assert g["estimand"].between(0, EFFECT + 1e-12).all()  # a bin straddling the radius: in between
    zero = zero_by_design(out, 2010)
    assert (zero == (out["estimand"] == 0).to_numpy()).all() and zero.any()
    # joint coverage on hand-made draws: A covers every bin in 3 of 4 draws, B in 1 of 4
    rows = []
    for draw in range(4):
        for est, miss in (("curve_A", draw == 2), ("curve_B", draw != 0)):
            for j in range(3):
                bad = miss and j == 1
                rows.append({"draw": draw, "estimator": est, "design": "curve", "estimand": 0.1,
                             "ci_low": 0.15 if bad else 0.0, "ci_high": 0.3 if bad else 0.2})
    cov = band_coverage(pd.DataFrame(rows)).set_index("estimator")
    assert cov.loc["curve_A", "band_coverage"] == 0.75 and cov.loc["curve_B", "band_coverage"] == 0.25
    assert cov.loc["curve_A", "bins_covered"] == pytest.approx(11 / 12) and (cov["mean_bins"] == 3).all()
    assert cov.loc["curve_A", "band_coverage_mcse"] == pytest.approx(np.sqrt(0.75 * 0.25 / 4))


def test_note_and_config_follow_the_model(config, space):
    import pra.config as pc

    df, _ = space
    for model in (None, 3):
        cfg = _with_model(config, model)
        curve = curve_frame(df, cfg)
        meta = curve_meta(curve, "ln_pc_exp", model)
        note = " ".join(curve_table(curve.bins, meta, cfg).notes)
        assert ("net of the model-3 controls" in note) == (model == 3)
    with pytest.raises(pc.ConfigError, match=r"inference\.curve\.model"):
        pc.load(overrides={"inference": {"curve": {"model": 2}}, "did": {"models": [1, 3]}})


@pytest.mark.parametrize("kernel", ["uniform", "bartlett"])
def test_spatial_hac_between_localities_equals_dense(kernel):
    """``conley_km``: the bins' covariance is Σ_l Σ_m K(d_lm) ψ_l ψ_m' over the localities'
    influences, here against a dense double loop with the haversine distance."""
    from pra.geo.distance import haversine_km
    from pra.inference.curve import effect_curve, influence, locality_changes

    df = make_panel(n_localities=150, seed=5, effect=EFFECT, radius_km=RADIUS)
    c = effect_curve(df, "ln_pc_exp", 30.0, nbins=5, seed=1, conley_km=25.0, kernel=kernel)
    assert c.cluster is None and c.n_clusters is None and (c.conley_km, c.kernel) == (25.0, kernel)
    ch, _ = locality_changes(df, "ln_pc_exp", 30.0, coords=("latitude", "longitude"))
    near = (ch["dist_km"] < 30.0).to_numpy()
    knots = np.r_[c.bins["d_low"].to_numpy(), c.bins["d_high"].to_numpy()[-1]]
    b = np.full(len(ch), -1)
    b[near] = np.clip(np.searchsorted(knots, ch["dist_km"].to_numpy()[near], side="left") - 1, 0, 4)
    psi = influence(ch["dy"].to_numpy(), b, 5)
    lat, lon = ch["latitude"].to_numpy(), ch["longitude"].to_numpy()
    d = haversine_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    K = (d <= 25.0).astype(float) if kernel == "uniform" else np.clip(1 - d / 25.0, 0, None)
    dense = psi.T @ K @ psi
    w, V = np.linalg.eigh(dense)
    dense = (V * np.clip(w, 0, None)) @ V.T
    np.testing.assert_allclose(c.vcov, dense, rtol=1e-10, atol=1e-16)
    np.testing.assert_allclose(c.bins["se"], np.sqrt(np.diag(dense)), rtol=1e-10)
    # normal critical values for the pointwise intervals
    from scipy import stats

    q = stats.norm.ppf(0.975)
    np.testing.assert_allclose(c.bins["ci_high"] - c.bins["tau"], q * c.bins["se"], rtol=1e-12)


def test_conley_curve_in_the_note_and_captions(config, space):
    from pra.inference import inference_captions

    df, _ = space
    cfg = copy.deepcopy(config)
    cfg["inference"]["curve"].update(conley_km=40, conley_kernel="bartlett")
    curve = curve_frame(df, cfg)
    note = " ".join(curve_table(curve.bins, curve_meta(curve, "ln_pc_exp", 3), cfg).notes)
    assert "spatial HAC between localities, bartlett kernel, cutoff 40 km" in note and "CRV1" not in note
    assert inference_captions(cfg)["curve_vcov"] == "spatial HAC between localities, bartlett kernel, cutoff 40 km"
