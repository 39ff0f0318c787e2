"""The Monte Carlo end to end (`snakemake montecarlo`) at test size: outputs' structure, and the
same bytes whatever the chunking (2 jobs of 1 draw, then 1 job of 2 draws)."""
import numpy as np
import pandas as pd
import pytest

from pra.validate.draw import DRAW_COLUMNS
from pra.validate.summary import SUMMARY_COLUMNS
from workflow import ROOT, TEST_CONFIG, snakemake

CONFIGS = (TEST_CONFIG, ROOT / "tests" / "config_validation.yaml")
OUTPUTS = ["draws.parquet", "summary.csv", "validation.tex", "validation.html", "validation.md",
           "validation.csv", "validation.xlsx", "distributions.png", "distributions.pdf"]


@pytest.fixture(scope="module")
def montecarlo(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("montecarlo")
    snakemake(workdir, "--cores", "2", "montecarlo", configfiles=CONFIGS)
    return workdir


@pytest.mark.workflow
def test_montecarlo_outputs(montecarlo):
    out = montecarlo / "results" / "validation"
    for name in OUTPUTS:
        assert (out / name).stat().st_size > 0, name
    assert sorted(p.name for p in (out / "chunks").iterdir()) == ["0000.parquet", "0001.parquet"]
    draws = pd.read_parquet(out / "draws.parquet")
    assert list(draws.columns) == DRAW_COLUMNS
    assert sorted(draws["draw"].unique()) == [0, 1]
    keys = ["estimator", "outcome", "term"]
    per_draw = [g[keys].reset_index(drop=True) for _, g in draws.groupby("draw")]
    pd.testing.assert_frame_equal(per_draw[0], per_draw[1])  # the same estimates in every draw
    assert set(draws["table"]) == {"Table 6", "Table 7", "Table 8", "radius", "Table 16"}
    assert set(draws.loc[draws["table"] == "radius", "estimator"]) == {"radius_9km", "radius_11km"}
    assert draws[["estimate", "estimand", "planted"]].notna().all().all()
    # placebo starts estimate a zero effect exactly; the planted one is the model's 0.043
    assert (draws.loc[draws["table"] == "Table 8", ["estimand", "planted"]] == 0).all().all()
    t6 = draws[(draws["table"] == "Table 6") & (draws["outcome"] == "ln_pc_exp")]
    np.testing.assert_allclose(t6["planted"], 0.043, atol=2e-3)
    assert (t6["estimand"] > 0).all() and (t6["estimand"] < 0.1).all()
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary.columns) == SUMMARY_COLUMNS
    assert len(summary) == len(per_draw[0]) and (summary["draws"] == 2).all()
    assert set(summary["rejection_kind"]) == {"size", "power"}
    assert summary["coverage"].between(0, 1).all()
    html = (out / "validation.html").read_text()
    assert "Monte Carlo validation" in html and "2 draws" in html and "scale 0.1" in html


@pytest.mark.workflow
def test_montecarlo_same_bytes_whatever_the_chunking(montecarlo, tmp_path):
    out = montecarlo / "results" / "validation"
    before = {n: (out / n).read_bytes() for n in ("draws.parquet", "summary.csv", "validation.md",
                                                   "validation.xlsx")}
    one_chunk = tmp_path / "one_chunk.yaml"
    one_chunk.write_text("validation:\n  chunk_size: 2\n")
    snakemake(montecarlo, "--cores", "2", "montecarlo", configfiles=CONFIGS + (one_chunk,))
    assert (out / "chunks" / "0000.parquet").exists()
    for name, data in before.items():
        assert (out / name).read_bytes() == data, name
