"""The full sensitivity grid (issue 18): specs from config, fast estimation equal to
pra.did.estimate, the store, joint inference, chunk ids, the spec curve and the explorer page."""
from __future__ import annotations

import copy
import json
import random
import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml

from helpers import synthetic_sample

from pra.did.estimator import estimate
from pra.did.specs import model_controls, prepare_sample
from pra.grid.estimate import collinear, run_grid
from pra.grid.joint import joint_test, joint_tests, monte_carlo, rejection_rates
from pra.grid.specs import GridConfigError, build_grid, chunk_grid, ring_text

ROOT = Path(__file__).resolve().parents[1]
YEARS = [2007, 2008, 2009, 2010, 2011, 2012]


@pytest.fixture(scope="module")
def config():
    with open(ROOT / "config.yaml") as fh:
        return yaml.safe_load(fh)


def _with_grid(config, **grid):
    c = copy.deepcopy(config)
    c["did"]["full_grid"] = {**c["did"].get("full_grid", {}), **grid}
    return c


@pytest.fixture(scope="module")
def data():
    """A synthetic spatial sample with a planted effect of 0.10 on ln expenditure within 10 km
    after 2010 and none on subjective poverty; districts (4 localities each), survey weights and a
    few missing controls; distances up to 30 km."""
    d = synthetic_sample(n_localities=160, hh_per_year=8, effect=0.10, seed=7)
    d["dist_km"] = d["dist_km"] * 1.5  # 0–30 km
    treated = (d["dist_km"] <= 10) & (d["year"].astype(int) >= 2010)
    d["ln_pc_exp"] = d["ln_pc_exp"] - 0.10 * d["treated"] * d["post"] + 0.10 * treated
    loc = pd.factorize(d["locality"], sort=True)[0]
    d["ubigeo"] = [f"{i // 4:06d}" for i in loc]
    rng = np.random.default_rng(3)
    d["factor07"] = rng.uniform(40, 400, len(d)).round(2)
    d.loc[rng.random(len(d)) < 0.01, "head_age"] = np.nan
    return d.drop(columns=["treated", "post"])


def _reference(data, s, clusters):
    """One spec the slow way: the study's sample rules and pra.did.estimate (pyfixest), one fit
    per cluster variable (the sample is prepared once: it does not depend on the cluster)."""
    d = data[(data["year"] < 2010) | ((data["year"] >= s["post_start"]) & (data["year"] <= s["post_end"]))]
    spec = {"sample": s["sample"], "sample_space_km": s["sample_space_km"], "radius_km": s["radius_km"],
            "ring": ring_text(s["radius_km"], s["ring_km"]), "post_start": s["post_start"]}
    frame, _ = prepare_sample(d, spec)
    return {cluster: estimate(frame, s["outcome"], "D", ["locality", "year"],
                              controls=model_controls(s["model"], int(frame["year"].min())), cluster=cluster,
                              weights=None if s["weights"] == "none" else s["weights"])
            for cluster in clusters}


def test_full_grid_counts_and_invalid_combinations(config):
    specs, dropped = build_grid(config)
    g = config["did"]["full_grid"]
    inner = (len(g["samples"]) * len(g["models"]) * len(g["outcomes"]) * len(g["weights"])
             * len(g["post_periods"]))
    valid = sum(1 for r in g["radii_km"] for s in g["sample_spaces_km"] for k in g["rings_km"]
                if r < s and (k == 0 or r + k < s))
    assert len(specs) == valid * inner >= 10_000
    total = len(g["radii_km"]) * len(g["sample_spaces_km"]) * len(g["rings_km"]) * inner
    assert sum(dropped.values()) + len(specs) == total  # every combination kept or counted
    assert set(dropped) == {"radius_km >= sample_space_km (no controls)", "ring reaches the sample space edge"}
    assert len({s["spec_id"] for s in specs}) == len(specs)
    with pytest.raises(GridConfigError, match="did.full_grid.post_periods"):
        build_grid(_with_grid(config, post_periods=[[2009, 2012]]))
    with pytest.raises(GridConfigError, match="did.full_grid.se_clusters"):
        build_grid(_with_grid(config, se_clusters=["district", "locality"]))


def test_adding_a_radius_adds_only_its_chunks(config):
    small = dict(radii_km=[8, 10], sample_spaces_km=[20], chunk_size=50)
    old = chunk_grid(build_grid(_with_grid(config, **small))[0], 50)
    new = chunk_grid(build_grid(_with_grid(config, **{**small, "radii_km": [8, 10, 12]}))[0], 50)
    assert set(old) < set(new)
    added = set(new) - set(old)
    assert {s["radius_km"] for c in added for s in new[c]} == {12.0}
    assert all(old[c] == new[c] for c in old)
    assert all(len({s["radius_km"] for s in c}) == 1 and len(c) <= 50 for c in new.values())


def test_collinearity_rule_drops_zero_and_dependent_columns():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 3))
    x = np.column_stack([x, np.zeros(50), x[:, 0] + x[:, 1]])
    assert collinear(x.T @ x).tolist() == [False, False, False, True, True]


GRID_DIMENSIONS = ["outcome", "model", "radius_km", "sample_space_km", "ring_km", "sample", "weights",
                   "post_start", "post_end"]


def test_random_specs_equal_pra_did_estimate(config, data):
    """Coefficients, both SE kinds, p-values, CIs, N, clusters and R² equal pra.did.estimate.
    25 random specs (the first 25 of the 50 this test drew before: two pyfixest fits each are
    most of its time) that hold every value of every grid dimension, asserted below: each
    outcome, model, radius, sample space, ring, sample, weighting and post period runs."""
    grid = _with_grid(config, radii_km=[6, 8, 10, 12, 14, 16], sample_spaces_km=[15, 20, 30])
    specs, _ = build_grid(grid)
    pick = random.Random(18).sample(specs, 25)
    for dim in GRID_DIMENSIONS:
        assert {s[dim] for s in pick} == {s[dim] for s in specs}, dim
    store, psi = run_grid(data, pick, post_start=2010, years=YEARS)
    assert (store["status"] == "ok").all(), store.loc[store["status"] != "ok", "status"].value_counts()
    assert {s["weights"] for s in pick} == {"none", "factor07"} and len({s["ring_km"] for s in pick}) == 3
    worst = {}
    for s, row in zip(pick, store.to_dict("records")):
        assert row["spec_id"] == s["spec_id"]
        refs = _reference(data, s, ("locality", "ubigeo"))
        for kind, col in (("locality", "locality"), ("district", "ubigeo")):
            ref = refs[col]
            pairs = [(ref.coef, row["coef"]), (ref.se, row[f"se_{kind}"]), (ref.pvalue, row[f"pvalue_{kind}"]),
                     (ref.ci_low, row[f"ci_low_{kind}"]), (ref.ci_high, row[f"ci_high_{kind}"]),
                     (ref.r2, row["r2"]), (ref.r2_within, row["r2_within"])]
            for name, (a, b) in zip(["coef", "se", "p", "lo", "hi", "r2", "r2w"], pairs):
                worst[name] = max(worst.get(name, 0.0), abs(a - b))
            assert ref.nobs == row["nobs"] and ref.nclusters == row[f"nclusters_{kind}"], (s, ref.dropped)
            if kind == "locality":  # the primary kind fills the plain columns
                assert row["se"] == row["se_locality"] and row["nclusters"] == ref.nclusters
                # rows dropped, by reason, as the DD store counts them
                got = json.loads(row["dropped"])
                assert {k: v for k, v in got.items() if not k.startswith("prepare:")} == ref.dropped
    assert max(worst.values()) < 1e-10, worst
    # the influence function: its sum of squares is the CRV1 variance
    np.testing.assert_allclose((psi ** 2).sum(axis=1), store["se"].to_numpy() ** 2, rtol=1e-10)


def test_store_is_queryable_with_duckdb(config, data, tmp_path):
    specs, _ = build_grid(_with_grid(config, radii_km=[10, 12, 14], sample_spaces_km=[20], rings_km=[0],
                                     samples=["producers"], weights=["none"], post_periods=[[2010, 2012]]))
    store, _ = run_grid(data, specs, post_start=2010, years=YEARS)
    path = tmp_path / "estimates.parquet"
    store.to_parquet(path, index=False)
    got = duckdb.sql(f"SELECT radius_km, coef, se FROM '{path}' WHERE outcome = 'ln_pc_exp' "
                     "AND radius_km <= 12 AND model = 3 ORDER BY radius_km").df()
    assert got["radius_km"].tolist() == [10.0, 12.0]
    want = store[(store.outcome == "ln_pc_exp") & (store.radius_km <= 12) & (store.model == 3)]
    np.testing.assert_array_equal(got["coef"].to_numpy(), want.sort_values("radius_km")["coef"].to_numpy())


@pytest.fixture(scope="module")
def curve(config, data):
    grid = _with_grid(config, radii_km=[6, 8, 10, 12], sample_spaces_km=[20, 30], rings_km=[0],
                      samples=["producers", "laborers_only"], models=[1, 3],
                      outcomes=["ln_pc_exp", "subj_poor_living"], weights=["none", "factor07"],
                      post_periods=[[2010, 2012]])
    specs, _ = build_grid(grid)
    store, psi = run_grid(data, specs, post_start=2010, years=YEARS)
    return store, psi


def test_joint_test_rejects_planted_effect_not_planted_zero(curve):
    store, psi = curve
    tests, left_out, null = joint_tests(store, psi, draws=1000, seed=20140601, return_null=True)
    t = tests.set_index("outcome")
    assert not left_out and t.loc["ln_pc_exp", "n_specs"] == 64
    # the planted effect: the median and the share of significant estimates reject (the share with
    # the dominant sign has little power on 64 strongly dependent specifications: the whole null
    # curve often has one sign; at study size it rejects too, see docs/grid.md)
    for p in ("p_median", "p_share_significant"):
        assert t.loc["ln_pc_exp", p] < 0.01, t.T
    assert t.loc["ln_pc_exp", "dominant_sign"] == "positive"
    assert t.loc["ln_pc_exp", "share_dominant_sign"] > t.loc["subj_poor_living", "share_dominant_sign"]
    for p in ("p_median", "p_share_significant", "p_share_dominant_sign"):  # the planted zero
        assert t.loc["subj_poor_living", p] >= 0.05, t.T
    assert len(null) == 2000 and set(null.columns) >= {"outcome", "draw", "median"}
    # same draws whatever the processing chunk; the draws differ with the seed
    sub = store[store.outcome == "ln_pc_exp"]
    psub = psi[(store.outcome == "ln_pc_exp").to_numpy()]
    args = (sub["coef"].to_numpy(), sub["se"].to_numpy(), sub["nclusters"].to_numpy(float), psub)
    a = joint_test(*args, draws=300, seed=1, chunk=7)
    b = joint_test(*args, draws=300, seed=1, chunk=300)
    da, db = a.as_dict(), b.as_dict()
    assert {k: v for k, v in da.items() if k.startswith("p_")} == {k: v for k, v in db.items() if k.startswith("p_")}
    assert all(da[k] == db[k] or abs(da[k] - db[k]) < 1e-12 for k in da if not isinstance(da[k], str))
    assert joint_test(*args, draws=300, seed=2).null_median_q95 != a.null_median_q95


def test_monte_carlo_size_small(config, data):
    """A small Monte Carlo under no effect (placebo geographies): rejections stay near 5% (the
    benchmark runs ≥ 100 draws: benchmarks/bench_grid.py --montecarlo)."""
    grid = _with_grid(config, radii_km=[8, 12], sample_spaces_km=[25], rings_km=[0], samples=["producers"],
                      models=[3], outcomes=["ln_pc_exp"], weights=["none"], post_periods=[[2010, 2012]])
    specs, _ = build_grid(grid)

    def run(d):
        return run_grid(d, specs, post_start=2010, years=YEARS)

    mc = monte_carlo(data, run, n_draws=20, seed=5, bootstrap_draws=199)
    rates = rejection_rates(mc)
    assert len(mc) == 20
    # 20 draws at a 5% size: P(more than 4 rejections) < 2%; a broken test rejects far more often
    for s in ("median", "share_significant", "share_dominant_sign"):
        assert rates[s].iloc[0] <= 0.20, rates


def test_grid_spec_curve_draws_effect_rows(curve, tmp_path):
    from pra.report.speccurve import grid_curve_data, plot_grid_curve

    store, _ = curve
    d, left = grid_curve_data(store, "ln_pc_exp")
    assert len(d) == 64 and not left and d["coef"].is_monotonic_increasing
    paths = [tmp_path / "c.png", tmp_path / "c.pdf"]
    # each variant is drawn to the one format checked below (one savefig per call, not two)
    plot_grid_curve(d, "ln_pc_exp", paths[:1], joint={"p_median": 0.01, "p_share_significant": 0.02,
                                                       "p_share_dominant_sign": 0.03, "dominant_sign": "positive",
                                                       "draws": 1000})
    first = paths[0].read_bytes()
    plot_grid_curve(d, "ln_pc_exp", paths[1:], joint=None)
    assert first[:8] == b"\x89PNG\r\n\x1a\n" and paths[1].stat().st_size > 1000


def test_explorer_filters_in_headless_chromium(curve, tmp_path):
    """Open the page offline in headless Chromium, choose radius 10 in its drop-down (a change
    event, as a click does), and read the count the page shows."""
    from pra.grid.explorer import count_shown, explorer_data, explorer_html

    store, psi = curve
    tests, _, null = joint_tests(store, psi, draws=200, seed=1, return_null=True)
    page = explorer_html(store, tests, null, alpha=0.05)
    assert not re.search(r"<(script|link)[^>]+(src|href)=", page)  # libraries inline: nothing fetched
    probe = """
window.addEventListener("load", function () {
  function when(c, f) { if (c()) f(); else setTimeout(function () { when(c, f); }, 50); }
  function shown() {
    return Array.from(document.querySelectorAll("svg text")).map(function (t) { return t.textContent; })
      .filter(function (t) { return t.indexOf("specifications shown") === 0; }).join("|"); }
  when(function () { return document.body.getAttribute("data-pra-ready") === "1"; }, function () {
    const out = document.createElement("pre"); out.id = "pra-out";
    const before = shown();
    const sel = document.querySelector('select[name="p_radius_km"]');
    if (!sel) { out.textContent = "no radius drop-down"; document.body.appendChild(out); return; }
    sel.value = "10"; sel.dispatchEvent(new Event("change"));
    setTimeout(function () { out.textContent = before + "||" + shown(); document.body.appendChild(out); }, 500);
  });
});"""
    i = page.rfind("</body>")
    path = tmp_path / "explorer_probe.html"
    path.write_text(page[:i] + f"<script>{probe}</script>" + page[i:], encoding="utf-8")
    chromium = next((shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None)
    if chromium is None:
        pytest.fail("headless Chromium is required (apt-get install -y chromium; ci/setup.sh installs it)")
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-background-networking", f"--user-data-dir={tmp_path / 'profile'}",
           "--virtual-time-budget=20000", "--dump-dom", path.as_uri()]
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=180).stdout
    assert 'id="pra-error"' not in dom, dom[-2000:]
    m = re.search(r'<pre id="pra-out">(.*?)</pre>', dom, re.S)
    assert m, "the page did not render in headless Chromium"
    before, after = m.group(1).split("||")
    data = explorer_data(store, 0.05)
    assert before == f"specifications shown: {count_shown(data, outcome='ln_pc_exp')}"
    assert after == f"specifications shown: {count_shown(data, outcome='ln_pc_exp', radius_km='10')}" \
        == "specifications shown: 16"
