"""The "Robustness and inference" chapter through Snakemake (`snakemake inference`), on top of the
session's test-size run, with few draws and changed settings: only the chapter's jobs run; every
table (five formats) and figure is written; the study's SEs in the chapter equal the estimates
store's; the settings of the run (Conley cutoffs, bootstrap weights, draws, M̄ grid) appear in
the tables and the captions."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from workflow import ROOT, TEST_CONFIG, snakemake

SETTINGS = {"inference": {
    "se": {"conley_cutoffs_km": [7, 30], "two_way": ["locality + ubigeo^year"]},
    "bootstrap": {"reps": 49, "weights": ["webb"]},
    "multiple": {"reps": 49},
    "ri": {"draws": 30, "chunk_size": 12},
    "curve": {"nsims": 500},
    "honest": {"mbar": [0, 0.5, 1], "m": [0, 0.02]},
}}
INFERENCE_RULES = {"inference_se", "inference_multiple", "inference_ri_chunk", "inference_ri",
                   "inference_curve", "inference_honest", "inference_report", "inference_coverage", "inference"}


def _rules_run(log: str) -> set[str]:
    return set(re.findall(r"^(?:local)?rule (\w+):", log, re.M))


@pytest.fixture(scope="module")
def run(pipeline_run, tmp_path_factory) -> Path:
    wd = tmp_path_factory.mktemp("inference")
    shutil.copytree(pipeline_run, wd, dirs_exist_ok=True, symlinks=True,
                    ignore=shutil.ignore_patterns("inference", "locks", "incomplete", "log"))
    cfg = wd / "inference_test.yaml"
    cfg.write_text(yaml.safe_dump(SETTINGS))
    proc = snakemake(wd, "--cores", "2", "inference", configfiles=(TEST_CONFIG, cfg), timeout=1500)
    ran = _rules_run(proc.stdout + proc.stderr)
    assert ran and ran <= INFERENCE_RULES, ran  # the pipeline's own outputs are not redone
    return wd


@pytest.mark.workflow
def test_outputs_and_formats(run):
    from pra.inference import INFERENCE_FIGURES, INFERENCE_TABLES

    tables = run / "results/inference/tables"
    for name in INFERENCE_TABLES:
        for fmt in ("tex", "html", "md", "csv"):
            assert (tables / f"{name}.{fmt}").stat().st_size > 0, (name, fmt)
    assert (tables / "inference.xlsx").stat().st_size > 0
    # the shipped Monte Carlo coverage study, in the chapter (rule inference_coverage)
    for fmt in ("tex", "html", "md", "csv", "xlsx"):
        assert (tables / f"inference_coverage.{fmt}").stat().st_size > 0, fmt
    assert "keep 95% coverage" in (tables / "inference_coverage.md").read_text(encoding="utf-8")
    for name in INFERENCE_FIGURES:
        for ext in ("png", "pdf"):
            assert (run / f"results/inference/figures/{name}.{ext}").stat().st_size > 0
    # three chunks of placebo maps (12 + 12 + 6), one job each, gathered into 30 draws
    chunks = sorted((run / "results/inference/ri").glob("*.parquet"))
    sizes = sorted(len(pd.read_parquet(p)) for p in chunks)
    assert sizes == [6, 12, 12]
    assert len(list((run / "logs/inference_ri_chunk").glob("*.log"))) == 3
    draws = pd.read_parquet(run / "results/inference/ri_draws.parquet")
    assert draws["map"].tolist() == list(range(30))
    s = pd.read_csv(run / "results/inference/ri_summary.csv").iloc[0]
    used = draws["coef"].notna().sum()
    assert s["maps_used"] == used and s["maps"] == 30
    assert 1 / (1 + used) <= s["pvalue_ri"] <= 1


@pytest.mark.workflow
def test_study_se_equals_the_store(run):
    """The chapter's 'study' row is the Table 6 estimate and SE of the estimates store."""
    se6 = pd.read_parquet(run / "results/inference/se_table6.parquet")
    store = pd.read_parquet(run / "results/estimates/estimates.parquet")
    base = store[(store["family"] == "base") & (store["term"] == "D")]
    study = se6[se6["kind"] == "study"].merge(base, on="spec_id", suffixes=("", "_store"))
    assert len(study) == len(base) == 9
    assert (study["coef"] - study["coef_store"]).abs().max() < 1e-8
    assert ((study["se"] - study["se_store"]).abs() / study["se_store"]).max() < 1e-6
    assert ((study["pvalue"] - study["pvalue_store"]).abs()).max() < 1e-6
    # every column has every SE type: study, district, two-way, 2 Conley cutoffs, 1 bootstrap
    assert se6.groupby("spec_id")["method"].nunique().eq(6).all()


@pytest.mark.workflow
def test_tables_follow_the_config(run):
    md = (run / "results/inference/tables/inference_se6.md").read_text(encoding="utf-8")
    assert "Conley 7 km" in md and "Conley 30 km" in md and "Conley 50 km" not in md
    assert "Webb weights" in md and "Rademacher" not in md
    assert "49 draws" in md
    honest = pd.read_csv(run / "results/inference/honest.csv")
    assert sorted(set(honest.loc[honest["restriction"] == "RM", "M"])) == [0, 0.5, 1]
    assert sorted(set(honest.loc[honest["restriction"] == "SD", "M"])) == [0, 0.02]
    mult = pd.read_parquet(run / "results/inference/multiple.parquet")
    assert set(mult["family"]) == {"outcomes", "subgroups", "semesters"} and (mult["B"] == 49).all()
    assert ((mult["pvalue_rw"] >= mult["pvalue_wcr"] - 1e-12) | (mult["family"] == "outcomes")).all()
    curve = pd.read_csv(run / "results/inference/curve.csv")
    assert (curve["band_low"] <= curve["ci_low"]).all() and (curve["band_high"] >= curve["ci_high"]).all()


def test_captions_follow_the_config():
    """The report's captions read this run's settings (rules/inference.smk passes
    pra.inference.inference_captions(config) to report/inference/*.rst)."""
    import jinja2

    from pra.inference import inference_captions

    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    assert inference_captions(cfg)["cutoffs"] == "5, 10, 20, 50 km"
    cfg["inference"]["se"]["conley_cutoffs_km"] = [7, 30]
    cfg["inference"]["ri"].update(draws=30, chunk_size=12)
    words = inference_captions(cfg)
    assert words["cutoffs"] == "7, 30 km" and words["ri"] == "30 placebo maps in 3 chunk(s)"
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    smk = {"params": {"captions": words}, "config": cfg}
    rsts = sorted(p for p in (ROOT / "report" / "inference").glob("*.rst") if p.stem != "coverage")
    assert len(rsts) == 9
    text = {p.stem: env.from_string(p.read_text(encoding="utf-8")).render(snakemake=smk) for p in rsts}
    assert "Conley spatial HAC at 7, 30 km" in text["se6"] and "30 placebo maps" in text["ri_placebo"]
    assert "covariance of the bins: clustered by ubigeo" in text["effect_curve"]
    cfg["inference"]["curve"]["cluster"] = None
    assert inference_captions(cfg)["curve_vcov"] == "localities independent"
    # the coverage table's caption reads the shipped study's own files, not the run's config
    from pra.validate.inference import coverage_words

    cov = ROOT / "docs" / "validation"
    from pra.validate.curve import band_words

    w = coverage_words(cov / "coverage.csv", cov / "coverage.json")
    w["curve"] = band_words(cov / "curve_coverage.csv")
    text = env.from_string((ROOT / "report" / "inference" / "coverage.rst").read_text(encoding="utf-8")).render(
        snakemake={"params": {"words": w}})
    assert "**shocks on**: methods that keep 95% coverage" in text and f"seed {w['seed']}" in text
    # the effect curve's band: every curve and setting of the shipped file, with its coverage
    curve = pd.read_csv(cov / "curve_coverage.csv")
    m3 = curve[(curve["estimator"] == "curve_m3") & (curve["setting"] == "shocks_on")].iloc[0]
    assert f"net of model-3 controls: shocks on {m3['band_coverage']:.3f} ({m3['band_coverage_mcse']:.3f})" in text


def test_config_cross_checks():
    import pra.config as pc

    for over, key in [({"inference": {"curve": {"control_km": 25}}}, "inference.curve.control_km"),
                      ({"inference": {"curve": {"cluster": "ubigeoo"}}}, "inference.curve.cluster"),
                      ({"inference": {"ri": {"outcome": "poverty_gap"}}}, "inference.ri.outcome"),
                      ({"inference": {"ri": {"model": 3}}, "did": {"models": [1, 2]}}, "inference.ri.model")]:
        with pytest.raises(pc.ConfigError, match=key.replace(".", r"\.")):
            pc.load(overrides=over)
