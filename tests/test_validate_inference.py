"""The Monte Carlo's inference estimator (pra.validate.inference): one row per SE type with the
harness's fields and the fit's FWL estimand; coverage by SE type on a hand-made frame."""
import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from pra.did.specs import LOCALITY_CHARS
from pra.inference.outputs import base_specs
from pra.inference.spec import spec_design
from pra.report import tables as T
from pra.validate.draw import DRAW_COLUMNS, Settings
from pra.validate.inference import (coverage_frame, coverage_table, method_label, run_inference,
                                    se_settings)
from pra.validate.summary import summarise
from test_inference_data import make_panel

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def config():
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    cfg["validation"]["inference"] = {"models": [1], "outcomes": ["ln_pc_exp"], "bootstrap_reps": 99}
    return cfg


@pytest.fixture(scope="module")
def draw_frame():
    """A spatial sample with the columns Table 6 model 1 needs, and heterogeneous effects."""
    df = make_panel(n_localities=60, seed=4)
    rng = np.random.default_rng(0)
    df["semester"] = df["year"].astype(str) + "-I"
    df["producer"] = 1.0
    df["hh_id"] = [f"h{i:05d}" for i in range(len(df))]
    loc = df["locality"].str[1:].astype(int).to_numpy()
    for c in LOCALITY_CHARS:
        df[c] = rng.normal(size=60)[loc]
    tau = df["D"] * rng.uniform(0.0, 0.2, len(df))  # unequal effects: the FWL weights matter
    effects = pd.DataFrame({"hh_id": df["hh_id"], "tau__ln_pc_exp": tau})
    return df, effects


def test_one_row_per_se_type_with_the_summary_fields(config, draw_frame):
    space, effects = draw_frame
    out = run_inference(space, effects, config, draw_seed=7)
    s = se_settings(config, 7)
    n_types = (1 + len([c for c in s.clusters if c != s.study_cluster]) + len(s.two_way)
               + len(s.conley_cutoffs_km) + len(s.bootstrap_clusters) * len(s.bootstrap_weights))
    assert len(out) == n_types == out["estimator"].nunique()
    assert set(DRAW_COLUMNS) - {"draw", "effect"} <= set(out.columns)
    assert s.bootstrap_reps == 99 and s.seed == 7
    methods = out["estimator"].str.split("|").str[1]
    assert methods.iloc[0] == f"CRV1:{config['did']['cluster']}"
    assert methods.str.startswith("conley:").sum() == len(s.conley_cutoffs_km)
    assert methods.str.startswith("WCR:").sum() == len(s.bootstrap_weights)
    # one fit: one estimate, SE types differ; every interval holds its estimate
    assert np.ptp(out["estimate"]) < 1e-10 and out["se"].gt(0).all()
    assert ((out["ci_low"] < out["estimate"]) & (out["estimate"] < out["ci_high"])).all()
    assert out["pvalue"].between(0, 1).all()
    # estimand: the coefficient of the same design with τ as outcome (an independent fit)
    spec = next(sp for sp in base_specs(config) if sp["outcome"] == "ln_pc_exp" and int(sp["model"]) == 1)
    frame = space.merge(effects, on="hh_id").assign(ln_pc_exp=lambda d: d["tau__ln_pc_exp"])
    d, terms = spec_design(frame, spec, keep=["ubigeo", "latitude", "longitude"])
    assert out["estimand"].iloc[0] == pytest.approx(float(d.beta[d.index(terms[0])]), abs=1e-10)
    treated = d.frame.loc[d.frame["D"] == 1, "ln_pc_exp"].mean()  # the outcome column holds τ here
    assert out["planted"].iloc[0] == pytest.approx(treated, abs=1e-12)
    assert out["estimand"].iloc[0] != pytest.approx(out["planted"].iloc[0], abs=1e-6)


def test_coverage_by_se_type_on_a_hand_made_frame():
    rows = []
    # two SE types, 10 draws, estimand 0.1: type A covers in 9 draws, type B in 6
    for draw in range(10):
        for method, covered in (("CRV1:locality", draw != 3), ("CRV1:ubigeo", draw < 6)):
            lo, hi = (0.05, 0.15) if covered else (0.12, 0.2)
            rows.append({"draw": draw, "estimator": f"inference_m1|{method}", "design": "inference",
                         "table": "Table 6", "model": 1, "outcome": "ln_pc_exp", "term": "D",
                         "estimate": (lo + hi) / 2, "se": (hi - lo) / 3.92, "pvalue": 0.01 if lo > 0 else 0.5,
                         "ci_low": lo, "ci_high": hi, "nobs": 100, "estimand": 0.1, "planted": 0.1,
                         "effect": "planted"})
    draws = pd.DataFrame(rows)[DRAW_COLUMNS]
    cov = coverage_frame({"shocks on": summarise(draws), "shocks off": summarise(draws.iloc[:10])})
    on = cov[cov["setting"] == "shocks on"].set_index("method")
    assert on.loc["CRV1:locality", "coverage"] == pytest.approx(0.9)
    assert on.loc["CRV1:locality", "coverage_mcse"] == pytest.approx(np.sqrt(0.9 * 0.1 / 10))
    assert on.loc["CRV1:ubigeo", "coverage"] == pytest.approx(0.6)
    assert on.loc["CRV1:ubigeo", "coverage_mcse"] == pytest.approx(np.sqrt(0.6 * 0.4 / 10))
    off = cov[cov["setting"] == "shocks off"].set_index("method")
    assert off.loc["CRV1:locality", "draws"] == 5 and off.loc["CRV1:locality", "coverage"] == pytest.approx(0.8)
    t = coverage_table(cov, scale=1.0, seed=1, reps=199)
    assert [r.label for r in t.rows] == ["Cluster: locality (study)", "Cluster: ubigeo"]
    assert t.rows[0].cells[3] == "0.900 (0.095)" and t.rows[1].cells[3] == "0.600 (0.155)"
    for fmt in ("tex", "html", "md", "csv"):
        assert "0.600 (0.155)" in T.render(t, fmt)


def test_method_labels():
    assert method_label("CRV1:locality") == "Cluster: locality (study)"
    assert method_label("CRV1:locality + ubigeo^year") == "Two-way: locality and ubigeo x year"
    assert method_label("conley:uniform:10km:within-year") == "Conley 10 km (uniform, within year)"
    assert method_label("WCR:ubigeo:webb") == "Wild bootstrap: ubigeo, Webb"


def test_settings_accept_the_inference_estimator(config):
    cfg = copy.deepcopy(config)
    cfg["validation"]["estimators"] = ["inference"]
    assert Settings.from_config(cfg).estimators == ("inference",)


@pytest.mark.parametrize("name,enabled", [("coverage_shocks_on.yaml", True), ("coverage_shocks_off.yaml", False),
                                          ("curve_shocks_on.yaml", True), ("curve_shocks_off.yaml", False)])
def test_documented_coverage_settings_draw_what_they_say(name, enabled):
    """The two documented runs (docs/inference.md) differ in the shocks: config.yaml's
    validation.data_embedded turns them off by default, so the shocks-on file must turn them on."""
    from pra.validate.cli import load_config

    cfg = load_config([ROOT / "config.yaml", ROOT / "docs" / "validation" / name])
    assert Settings.from_config(cfg).config["data"]["embedded"]["shocks"]["enabled"] is enabled


def test_coverage_verdict_splits_methods_at_two_monte_carlo_ses():
    from pra.validate.inference import coverage_verdict, coverage_words

    cov = pd.DataFrame({"setting": ["on", "on", "off"], "method": ["CRV1:locality", "CRV1:ubigeo", "CRV1:locality"],
                        "coverage": [0.90, 0.93, 0.95], "coverage_mcse": [0.02, 0.02, 0.015]})
    v = coverage_verdict(cov)
    assert v["on"] == {"keep": ["Cluster: ubigeo"], "miss": ["Cluster: locality (study) (0.900)"]}
    assert v["off"]["keep"] == ["Cluster: locality (study)"] and v["off"]["miss"] == []
    # the shipped study the report chapter shows: its caption's words come from its own files
    w = coverage_words(ROOT / "docs" / "validation" / "coverage.csv", ROOT / "docs" / "validation" / "coverage.json")
    shipped = pd.read_csv(ROOT / "docs" / "validation" / "coverage.csv")
    assert [s["setting"] for s in w["settings"]] == list(dict.fromkeys(shipped["setting"]))
    assert all(d >= 200 for d in shipped["draws"])  # issue 17: a table from at least 200 draws per setting
