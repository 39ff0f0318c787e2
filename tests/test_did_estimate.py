"""pra.did.estimate against statsmodels, Stata reghdfe output, and across hash seeds."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from pra.did import estimate, estimate_many, formula, stars, term_columns


def _panel(seed: int = 7, L: int = 80, years=range(2007, 2013), H: int = 5) -> pd.DataFrame:
    """80 localities × 6 years × 5 households, treatment at the locality level, two controls."""
    rng = np.random.default_rng(seed)
    T = len(years)
    n = L * T * H
    df = pd.DataFrame({
        "locality": np.repeat([f"L{i:03d}" for i in range(L)], T * H),
        "year": np.tile(np.repeat(np.asarray(list(years)), H), L),
    })
    loc_eff = np.repeat(rng.normal(0, 0.5, L), T * H)
    df["treated"] = np.repeat((rng.random(L) < 0.4).astype(float), T * H)
    df["post"] = (df["year"] >= 2010).astype(float)
    df["D"] = df["treated"] * df["post"]
    df["x1"] = rng.normal(size=n)
    df["x2"] = (rng.random(n) < 0.4).astype(float)
    df["y"] = (loc_eff + 0.05 * (df["year"] - 2007) + 0.15 * df["D"] + 0.5 * df["x1"]
               - 0.2 * df["x2"] + rng.normal(0, 1, n))
    return df


@pytest.fixture(scope="module")
def panel():
    return _panel()


@pytest.fixture(scope="module")
def statsmodels_fit(panel):
    import statsmodels.formula.api as smf  # here, not at collection: 1.2 s for every worker

    return smf.ols("y ~ D + x1 + x2 + C(locality) + C(year)", data=panel).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(panel["locality"])[0]}, use_t=True)


def test_coefficients_match_statsmodels_dummies(panel, statsmodels_fit):
    r = estimate(panel, "y", "D", ["locality", "year"], controls=["x1", "x2"], cluster="locality")
    for term in ["D", "x1", "x2"]:
        got = float(r.table.set_index("term").loc[term, "coef"])
        assert abs(got - statsmodels_fit.params[term]) < 1e-8, term
    assert r.nobs == len(panel) and r.nclusters == 80
    assert abs(r.r2 - statsmodels_fit.rsquared) < 1e-8  # overall R² includes the FE (reghdfe's)


def test_se_after_documented_correction(panel, statsmodels_fit):
    """statsmodels counts every dummy in K (areg); pyfixest/reghdfe does not count the locality FE
    nested in the locality clusters. se_reghdfe = se_statsmodels × sqrt((N − K_full)/(N − K_nested))
    with K_full = 1 + 3 + 79 + 5 = 88 (all statsmodels parameters) and K_nested = 3 regressors +
    6 year levels (5 dummies + constant) = 9, computed by hand here."""
    n = len(panel)
    k_full = len(statsmodels_fit.params)
    assert k_full == 88
    k_nested = 3 + 6
    r = estimate(panel, "y", "D", ["locality", "year"], controls=["x1", "x2"], cluster="locality")
    tab = r.table.set_index("term")
    factor = np.sqrt((n - k_full) / (n - k_nested))
    for term in ["D", "x1", "x2"]:
        assert abs(tab.loc[term, "se"] - statsmodels_fit.bse[term] * factor) < 1e-6, term
    # and the areg-type variant reproduces statsmodels directly, p-values on t(G-1) included
    full = estimate(panel, "y", "D", ["locality", "year"], controls=["x1", "x2"],
                    cluster="locality", ssc={"k_fixef": "full"}).table.set_index("term")
    for term in ["D", "x1", "x2"]:
        assert abs(full.loc[term, "se"] - statsmodels_fit.bse[term]) < 1e-6, term
        assert abs(full.loc[term, "pvalue"] - statsmodels_fit.pvalues[term]) < 1e-6, term
    assert r.ci_low < r.coef < r.ci_high


def test_reghdfe_published_numbers():
    """Stata `reghdfe Y X1 X2, absorb(f1 f2) cluster(f1)` on pyfixest's bundled data
    (docs/estimators.md §1.2): X1 −.9240462 (.0618743), X2 −.1741073 (.0148338), R² .6590, within .3026."""
    import pyfixest as pf

    data = pf.get_data()  # generated locally from a fixed seed: no network needed
    r = estimate(data, "Y", "X1", ["f1", "f2"], controls=["X2"], cluster="f1")
    tab = r.table.set_index("term")
    assert round(tab.loc["X1", "coef"], 7) == -0.9240462
    assert round(tab.loc["X1", "se"], 7) == 0.0618743
    assert round(tab.loc["X2", "coef"], 7) == -0.1741073
    assert round(tab.loc["X2", "se"], 7) == 0.0148338
    assert round(r.r2, 4) == 0.6590 and round(r.r2_within, 4) == 0.3026
    # the NaN rows (one each in Y, X1, f1) are dropped explicitly and counted
    assert r.nobs == 997
    assert r.dropped == {"missing:Y": 1, "missing:X1": 1, "missing:f1": 1}


_CHILD = textwrap.dedent("""
    import pyfixest as pf
    from pra.did import estimate
    print(list({"f1", "f2"}))
    r = estimate(pf.get_data(), "Y", "X1", ["f1", "f2"], controls=["X2"], cluster="f1")
    print(repr(r.coef), repr(r.se), r.nobs, r.nclusters)
""")
# the order of pyfixest's FE-name set {"f1", "f2"} under these hash seeds (checked in the child)
SEED_ORDER = {"1": ["f2", "f1"], "2": ["f1", "f2"]}


def test_clustered_se_identical_across_hash_seeds():
    """The whitespace `_df_k` bug makes SEs depend on PYTHONHASHSEED parity (docs/estimators.md §1.2),
    i.e. on the set order of the FE names: this process and one child whose hash seed gives the
    other order (seed 1 or 2) fit the same model, side by side, and compare the printed reprs (one
    child instead of two: importing pyfixest costs ~2 CPU-s)."""
    from pra.did.pyfixest_adapter import pyfixest

    here_order = list({"f1", "f2"})
    seed = next(k for k, v in SEED_ORDER.items() if v != here_order)
    proc = subprocess.Popen([sys.executable, "-c", _CHILD], text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONWARNINGS": "ignore"})
    r = estimate(pyfixest().get_data(), "Y", "X1", ["f1", "f2"], controls=["X2"], cluster="f1")
    here = f"{r.coef!r} {r.se!r} {r.nobs} {r.nclusters}"
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr[-2000:]
    order, out = stdout.strip().splitlines()[-2:]
    assert order == repr(SEED_ORDER[seed]), f"SEED_ORDER is stale: seed {seed} gives {order}"
    assert order != repr(here_order)  # both parities ran
    assert out == here
    assert here.split()[1].startswith("0.06187425")  # = Stata, not the buggy 0.0609650


def test_formula_spaces_fixed_effects():
    assert formula("y", ["D"], ["locality", "year"], ["x1"]) == "y ~ D + x1 | locality + year"
    assert formula(["y1", "y2"], ["D"], []) == "y1 + y2 ~ D"
    assert term_columns(['i(semester, treated, ref="2007-I")', "i(dband, post, ref=7)", "D"]) == \
        ["semester", "treated", "dband", "post", "D"]


def test_missing_cluster_and_singletons_are_counted(panel):
    df = panel.copy()
    df.loc[df.index[:3], "locality"] = np.nan  # NaN in the cluster variable: pyfixest would raise
    df.loc[df.index[10:15], "x1"] = np.nan
    lone = df.iloc[[0]].copy()
    lone["locality"], lone["x1"] = "LONE", 0.0  # a locality with one household: singleton FE
    df = pd.concat([df, lone], ignore_index=True)
    r = estimate(df, "y", "D", ["locality", "year"], controls=["x1", "x2"], cluster="locality")
    assert r.dropped == {"missing:x1": 5, "missing:locality": 3, "singleton_fe": 1}
    assert r.nobs == len(df) - 9


def test_flexible_terms_and_hetero(panel):
    df = panel.assign(band=(panel["locality"].str[1:].astype(int) % 4))
    r = estimate(df, "y", ["i(band, post, ref=3)"], ["locality", "year"], controls=["x1"],
                 cluster="locality")
    assert list(r.table["term"][:3]) == ["band::0:post", "band::1:post", "band::2:post"]
    assert r.term == "band::0:post"
    h = estimate(panel, "y", "D", ["locality", "year"], controls=["x1"])
    assert h.vcov == "hetero" and h.nclusters is None and h.se > 0


def test_weights_match_statsmodels_wls(panel):
    import statsmodels.formula.api as smf

    df = panel.assign(w=np.random.default_rng(3).uniform(0.5, 2.0, len(panel)))
    r = estimate(df, "y", "D", ["locality", "year"], controls=["x1"], cluster="locality",
                 weights="w", ssc={"k_fixef": "full"})
    m = smf.wls("y ~ D + x1 + C(locality) + C(year)", data=df, weights=df["w"]).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(df["locality"])[0]}, use_t=True)
    assert abs(r.coef - m.params["D"]) < 1e-8
    assert abs(r.se - m.bse["D"]) < 1e-6


def test_estimate_many_equals_separate_fits(panel):
    df = panel.copy()
    df["y2"] = df["y"] * 0.5 + np.random.default_rng(1).normal(size=len(df))
    df.loc[df.index[:40], "y2"] = np.nan
    df.loc[df.index[100:120], "x2"] = np.nan  # only in the nested block
    df["x3"] = np.random.default_rng(2).normal(size=len(df))
    df.loc[df.index[110:130], "x3"] = np.nan  # 10 rows overlap with the missing x2
    blocks = [["x2"], ["x3"]]
    # two nested blocks use pyfixest's csw0(); one block takes the two-call path
    for nb in (2, 1):
        many = estimate_many(df, ["y", "y2"], "D", ["locality", "year"], controls=["x1"],
                             nested=blocks[:nb], cluster="locality")
        assert sorted(many) == sorted((y, k) for y in ("y", "y2") for k in range(nb + 1))
        for (y, k), res in many.items():
            ctrl = ["x1"] + [c for b in blocks[:k] for c in b]
            one = estimate(df, y, "D", ["locality", "year"], controls=ctrl, cluster="locality")
            assert abs(res.coef - one.coef) < 1e-10 and abs(res.se - one.se) < 1e-10
            assert res.nobs == one.nobs and res.dropped == one.dropped
    assert many[("y2", 1)].dropped == {"missing:y2": 40, "missing:x2": 20}


def test_missing_column_error_names_it(panel):
    with pytest.raises(KeyError, match="nope"):
        estimate(panel, "y", "D", ["locality", "year"], controls=["nope"], cluster="locality")


@pytest.mark.parametrize("p, s", [(0.0, "***"), (0.0099, "***"), (0.01, "**"), (0.049, "**"),
                                  (0.05, "*"), (0.0999, "*"), (0.10, ""), (0.7, ""),
                                  (float("nan"), ""), (None, "")])
def test_stars(p, s):
    assert stars(p) == s


def test_pyfixest_internals():
    """Every pyfixest internal the project uses (pra.did.pyfixest_adapter) still exists: after a
    pyfixest upgrade this names what changed, instead of a wrong number somewhere downstream."""
    from pra.did import pyfixest_adapter as pfa

    problems = pfa.check_internals()
    assert not problems, "pyfixest internals changed:\n" + "\n".join(problems)
    pfa.pyfixest()
    # pinned pyfixest (0.60) still orders the FE by a set: the patch must be in place
    assert pfa.FIXEF_ORDER_PATCHED is True


def test_missing_pyfixest_attribute_is_named():
    from pra.did import pyfixest_adapter as pfa

    class Fit:  # a fit of a pyfixest that renamed _r2_within
        _N, _G, _r2, _collin_vars, _fml, _depvar = 10, [3], 0.5, [], "y ~ x", "y"

    with pytest.raises(pfa.PyfixestInternalsError, match=r"'_r2_within' \(within R²\)"):
        pfa.fit_stats(Fit(), clustered=True)
