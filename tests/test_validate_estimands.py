"""Estimands of the Monte Carlo (pra.validate.estimands) and the summary's arithmetic: fast."""
import numpy as np
import pandas as pd
import pytest

from pra.did.estimator import estimate
from pra.validate.chunks import chunk_draws, chunk_ids
from pra.validate.estimands import demean, fwl_estimand
from pra.validate.summary import summarise


def _panel(seed=0, n_loc=40, years=(2007, 2008, 2009, 2010, 2011, 2012), per=8):
    rng = np.random.default_rng(seed)
    rows = []
    for loc in range(n_loc):
        treated = loc < n_loc // 2
        for y in years:
            for _ in range(per):
                rows.append((loc, y, int(treated)))
    df = pd.DataFrame(rows, columns=["locality", "year", "treated"])
    df["post"] = (df["year"] >= 2010).astype(int)
    df["D"] = df["treated"] * df["post"]
    df["x"] = rng.normal(size=len(df)) + 0.5 * df["D"]  # a control correlated with treatment
    # heterogeneous effects, correlated with the control: the FWL weights matter
    df["tau"] = df["D"] * (0.1 + 0.2 * (df["x"] > 0) + 0.05 * rng.normal(size=len(df)))
    a = rng.normal(size=n_loc)
    g = {y: 0.03 * (y - 2007) for y in years}
    # y0 exactly in the span of the fixed effects and the control: no noise, so the
    # regression of y = y0 + tau recovers exactly the FWL estimand
    df["y0"] = a[df["locality"]] + df["year"].map(g) + 0.4 * df["x"]
    df["y"] = df["y0"] + df["tau"]
    return df


def test_fwl_estimand_equals_the_regression_coefficient():
    df = _panel()
    res = estimate(df, "y", "D", fixed_effects=("locality", "year"), controls=("x",), cluster="locality")
    beta = fwl_estimand(df["D"].to_numpy(), df["tau"].to_numpy(),
                        [df["locality"].to_numpy(), df["year"].to_numpy()], df[["x"]].to_numpy())
    assert res.coef == pytest.approx(beta, abs=1e-9)
    # ... and the coefficient of the same regression with tau as outcome (what the harness runs)
    tau_reg = estimate(df, "tau", "D", fixed_effects=("locality", "year"), controls=("x",), cluster="locality")
    assert tau_reg.coef == pytest.approx(beta, abs=1e-9)
    # with heterogeneous effects correlated with the control, the estimand is not the simple mean
    simple = df.loc[df["D"] == 1, "tau"].mean()
    assert abs(beta - simple) > 1e-3


def test_fwl_estimand_with_homogeneous_effect_is_the_effect():
    df = _panel(seed=1)
    tau = 0.07 * df["D"].to_numpy()
    beta = fwl_estimand(df["D"].to_numpy(), tau, [df["locality"].to_numpy(), df["year"].to_numpy()],
                        df[["x"]].to_numpy())
    assert beta == pytest.approx(0.07, abs=1e-12)


def test_demean_two_way_is_the_dummy_regression_residual():
    df = _panel(seed=2, n_loc=6, per=2)
    df = df.iloc[np.random.default_rng(0).permutation(len(df))[: len(df) - 5]]  # unbalanced
    r = demean(df["x"].to_numpy(), [df["locality"].to_numpy(), df["year"].to_numpy()])[:, 0]
    X = pd.get_dummies(df[["locality", "year"]].astype(str), drop_first=True).astype(float)
    X.insert(0, "c", 1.0)
    coef, *_ = np.linalg.lstsq(X.to_numpy(), df["x"].to_numpy(), rcond=None)
    np.testing.assert_allclose(r, df["x"].to_numpy() - X.to_numpy() @ coef, atol=1e-10)


def test_chunks_partition_the_draws():
    for draws, size in ((7, 3), (10, 10), (1, 4), (200, 10)):
        ids = chunk_ids(draws, size)
        got = [d for c in ids for d in chunk_draws(c, draws, size)]
        assert got == list(range(draws))
    with pytest.raises(ValueError, match="no draws"):
        chunk_draws("0003", 7, 3)


def test_summary_bias_coverage_and_rejection():
    rows = []
    for d, (est, lo, hi, p) in enumerate([(0.05, 0.0, 0.1, 0.04), (0.03, 0.01, 0.05, 0.2),
                                          (0.07, 0.06, 0.08, 0.01), (0.05, -0.1, 0.2, 0.5)]):
        rows.append({"draw": d, "design": "spatial DD", "table": "Table 6", "estimator": "table6_m1",
                     "model": 1, "outcome": "y", "term": "D", "effect": "planted", "estimate": est,
                     "se": 0.02, "pvalue": p, "ci_low": lo, "ci_high": hi, "nobs": 10,
                     "estimand": 0.04, "planted": 0.043})
    s = summarise(pd.DataFrame(rows)).iloc[0]
    assert s["draws"] == 4
    assert s["mean_bias"] == pytest.approx(0.01)
    assert s["bias_over_se"] == pytest.approx(0.5)
    assert s["coverage"] == pytest.approx(0.75)  # draws 0, 1 and 3 cover 0.04
    assert s["coverage_mcse"] == pytest.approx(np.sqrt(0.75 * 0.25 / 4))
    assert s["rejection_5pct"] == pytest.approx(0.5) and s["rejection_kind"] == "power"
    assert s["rmse"] == pytest.approx(np.sqrt(np.mean(np.square([0.01, -0.01, 0.03, 0.01]))))
    assert s["estimand_minus_planted"] == pytest.approx(-0.003)


def test_settings_merge_the_model_overrides_and_refuse_unknown_keys():
    import yaml

    from pra.validate.draw import Settings
    from workflow import ROOT

    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    config["validation"].update(scale=0.5, data_embedded={"effect_mean": 0.05})
    st = Settings.from_config(config)
    assert st.config["data"]["embedded"]["effect_mean"] == 0.05
    assert st.config["data"]["embedded"]["scale"] == 0.5
    assert "effect_mean" not in config["data"]["embedded"]  # the study's config is left alone
    from pra.validate.draw import household_model

    config["validation"]["data_embedded"] = {"corridor_trend": 0.05}
    assert household_model(Settings.from_config(config).config).corridor_trend == 0.05
    config["validation"]["data_embedded"] = {"efect_mean": 0.05}
    with pytest.raises(ValueError, match="efect_mean"):
        Settings.from_config(config)


def test_cli_reads_chunks_in_draw_order_and_refuses_gaps(tmp_path):
    """python -m pra.validate summarise: every draw 0..n-1, whatever the chunk files' order."""
    import pandas as pd

    from pra.validate.cli import load_config, read_chunks
    from pra.validate.draw import DRAW_COLUMNS

    def chunk(draws):
        return pd.DataFrame([{c: (d if c == "draw" else 0.0) for c in DRAW_COLUMNS} for d in draws])

    chunk([2, 3]).to_parquet(tmp_path / "0001.parquet")
    chunk([0, 1]).to_parquet(tmp_path / "0000.parquet")
    assert read_chunks(tmp_path)["draw"].tolist() == [0, 1, 2, 3]
    (tmp_path / "0000.parquet").unlink()
    with pytest.raises(ValueError, match="are not 0..1"):
        read_chunks(tmp_path)
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("validation: {draws: 5, data_embedded: {shocks: {enabled: false}}}\n")
    b.write_text("validation: {data_embedded: {corridor_trend: 0.05}}\n")
    v = load_config([a, b])["validation"]
    assert v == {"draws": 5, "data_embedded": {"shocks": {"enabled": False}, "corridor_trend": 0.05}}
