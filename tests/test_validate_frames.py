"""The Monte Carlo's in-memory analysis frames equal the file path's (one seed, test scale).

File path: the embedded tree written by ``synthesize`` and read back by the pipeline's steps
(``harmonise_year`` per year and pooling, geo-referencing, DuckDB distances, the spatial sample,
the programme survey, the matching sample), each stage's table through parquet as the workflow
passes it. In memory (``pra.validate.frames``): the same seed's geography and households, the
modules given the writer's quirks and the reader's normalisation, no file written. Equality is
exact (``check_exact``): the formats store doubles, and the CSV year (2008) is written with
pandas' shortest round-trip repr and parsed back to the same double.
"""
import io

import numpy as np
import pandas as pd
import pytest

from pra.geo.distance import connect, nearest_locality
from pra.geo.georef import georeference
from pra.geo.sample import attach_distances, spatial_sample
from pra.ingest import read_centres
from pra.ingest.health import read_csv_file
from pra.ingest.programme import harmonise_programme_survey, read_frame
from pra.matching.sample import matching_sample
from pra.validate import frames as F

SEED, SCALE = 20140601, 0.1  # the embedded_tree fixture's
SPATIAL = {"sample_space_km": 20, "treatment_radius_km": 10, "ring_km": None,
           "bands_km": [0, 2, 4, 6, 8, 10, 15, 20], "sample": "producers"}
MATCHING = {"baseline_year": 2009, "baseline_months": [7, 8, 9, 10, 11], "followup_year": 2012}


def _parquet(df: pd.DataFrame) -> pd.DataFrame:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return pd.read_parquet(io.BytesIO(buf.getvalue()))


@pytest.fixture(scope="module")
def file_path(embedded_tree, embedded_harmonised):
    root = embedded_tree
    centres = read_centres(root / "centros_poblados.csv")
    # harmonise_year per year, as scripts/harmonise.py calls it (conftest.py: once per run)
    pooled = pd.concat([embedded_harmonised[y][0] for y in range(2007, 2013)], ignore_index=True)
    raw = pooled.sort_values("hh_id", kind="stable").reset_index(drop=True)
    pooled = _parquet(raw)
    codes = {"codccpp": str, "ubigeo": str}  # as scripts/georeference.py reads them
    localities, _ = georeference(read_csv_file(root / "pra2_localidades.csv", "register", dtype=codes),
                                 read_csv_file(root / "centros_poblados.csv", "populated-centre map", dtype=codes))
    con = connect(threads=1)
    try:
        dist = _parquet(nearest_locality(pooled[["hh_id", "latitude", "longitude"]], _parquet(localities), con=con))
    finally:
        con.close()
    sample, _ = spatial_sample(pooled, dist, sample_space_km=20, treatment_radius_km=10, ring_km=None,
                               bands_km=SPATIAL["bands_km"], post_start=2010, sample="producers")
    with_dist = attach_distances(pooled, dist)
    space = with_dist[with_dist["dist_km"] <= 20].reset_index(drop=True)
    frame = read_frame(root / "marco_muestral_2012.csv")
    programme = _parquet(harmonise_programme_survey(root / "encuesta_pra2_2012.dta", frame,
                                                    deflator_dir=root / "enaho" / "2012", centres=centres)[0])
    msample, _ = matching_sample(pooled, programme, frame, baseline_year=2009,
                                 months=(7, 8, 9, 10, 11), followup_year=2012)
    return {"enaho_raw": raw, "enaho": pooled, "sample": _parquet(sample), "space": _parquet(space),
            "programme": programme, "matching": _parquet(msample)}


@pytest.fixture(scope="module")
def in_memory(embedded_geography, embedded_households):
    # the geography and households embedded_tree was written from (the seed's streams, drawn
    # once per run)
    fixed = F.fixed_geography(SCALE, SEED, geo=embedded_geography)
    hh = embedded_households
    enaho = F.harmonised_enaho(hh, fixed)
    dist = fixed.distances(enaho)
    programme = F.programme_table(hh, fixed)
    needed = F.harmonised_enaho(hh, fixed, needed=fixed.needed(20, 2009))
    return {"enaho": enaho, "sample": F.dd_sample(enaho, dist, SPATIAL, 2010),
            "space": F.sample_space(enaho, dist, 20), "programme": programme,
            "matching": F.matching_frame(enaho, programme, fixed, MATCHING),
            "needed_space": F.sample_space(needed, fixed.distances(needed), 20),
            "needed_matching": F.matching_frame(needed, programme, fixed, MATCHING), "fixed": fixed,
            "hh": hh}


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(_parquet(a), _parquet(b), check_exact=True)


@pytest.mark.parametrize("name", ["enaho", "programme", "sample", "space", "matching"])
def test_in_memory_frame_equals_file_path(file_path, in_memory, name):
    assert len(file_path[name]) > 100
    _same(in_memory[name], file_path[name])


def test_in_memory_harmonised_table_is_exact_without_parquet(file_path, in_memory):
    """Not only after a parquet round trip: the harmonised table itself, dtypes included."""
    pd.testing.assert_frame_equal(in_memory["enaho"], file_path["enaho_raw"], check_exact=True)


def test_only_the_needed_conglomerates_give_the_same_estimation_frames(file_path, in_memory):
    """The harness harmonises only conglomerates within the sample space (and the baseline's
    frame districts): the DD's and the matching's frames are unchanged."""
    assert len(in_memory["needed_space"]) < len(file_path["enaho"])
    _same(in_memory["needed_space"], file_path["space"])
    _same(in_memory["needed_matching"], file_path["matching"])


def test_distances_are_looked_up_per_point(file_path, in_memory):
    """The fixed geography's distance cache gives nearest_locality's numbers."""
    fixed = in_memory["fixed"]
    d = fixed.distances(file_path["enaho"][["hh_id", "latitude", "longitude"]])
    dist = file_path["space"][["hh_id", "dist_km"]].merge(d, on="hh_id", suffixes=("", "_cache"))
    np.testing.assert_array_equal(dist["dist_km"].to_numpy(), dist["dist_km_cache"].to_numpy())


MATCHING_ESTIMATION = {**MATCHING, "outcomes": ["ln_pc_exp", "poor", "subj_poor_self", "subj_poor_living"],
                       "kernel": "gaussian", "bandwidth": 0.06, "common_support": None, "trim_pct": 5,
                       "on_separation": "drop_covariate"}


def test_harness_matching_equals_run_matching(in_memory):
    """The harness runs Table 16's estimation without the balance table: same numbers."""
    from pra.matching.outputs import run_matching
    from pra.validate.draw import matching_estimates

    m = MATCHING_ESTIMATION
    res, _ = matching_estimates(in_memory["matching"], m, reps=4, seed=11)
    out = run_matching(in_memory["matching"], outcomes=m["outcomes"], kernel=m["kernel"],
                       bandwidth=m["bandwidth"], common_support=m["common_support"],
                       trim_pct=m["trim_pct"], reps=4, seed=11, on_separation=m["on_separation"])
    pd.testing.assert_frame_equal(res.table, out.result.table, check_exact=True)


def test_harness_dd_estimates_equal_the_pipeline_batch(in_memory):
    """The harness's fast DD (pra.validate.fastdd: one demeaning per sample) gives run_batch's
    (pyfixest's) estimates, SEs, p-values, intervals and N to 1e-10, and its estimands are
    run_batch's coefficients of the same specs with τ as outcome."""
    import yaml

    from pra.did.batch import run_batch
    from pra.validate.draw import Settings, _tau_spec, dd_specs, run_dd
    from pra.validate.estimands import spatial_effects, tau_column

    from workflow import ROOT

    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    config["validation"].update(scale=SCALE, estimators=["table6", "table7", "table8", "radius"])
    specs = dd_specs(Settings.from_config(config))
    space = in_memory["space"]
    effects = spatial_effects(in_memory["hh"])
    got = run_dd(space, effects, specs, "locality")
    data = space.merge(effects, on="hh_id", how="left", validate="1:1")
    for o in {s["outcome"] for s in specs}:
        data[tau_column(o)] = data[tau_column(o)].where(data[o].notna())
    # one run_batch for the outcomes and their τ columns: each spec's outcomes are estimated
    # together (pyfixest's multiple estimation), as the pipeline's batches estimate outcomes
    tau_specs = [_tau_spec(s) for s in specs]
    both = run_batch(data, specs + tau_specs, cluster="locality")
    both = both[both["role"] == "treatment"]
    ref = both[both["spec_id"].isin({s["spec_id"] for s in specs})]
    tau_ref = both[both["spec_id"].isin({s["spec_id"] for s in tau_specs})]
    assert len(got) == len(ref)
    assert got["term"].tolist() == ref["term"].tolist()
    for a, b in [("estimate", "coef"), ("se", "se"), ("pvalue", "pvalue"), ("ci_low", "ci_low"),
                 ("ci_high", "ci_high"), ("nobs", "nobs")]:
        np.testing.assert_allclose(got[a].to_numpy(float), ref[b].to_numpy(float), rtol=0, atol=1e-10, err_msg=a)
    np.testing.assert_allclose(got["estimand"].to_numpy(), tau_ref["coef"].to_numpy(float), rtol=0, atol=1e-10)
    # placebo starts and subjective poverty: τ is 0 on every row, so is the estimand
    zero = (got["table"] == "Table 8") | (got["outcome"] == "subj_poor_living")
    assert (got.loc[zero, "estimand"] == 0).all()
    base = got[(got["table"] == "Table 6") & (got["outcome"] == "ln_pc_exp")]
    assert ((base["estimand"] > 0.02) & (base["estimand"] < 0.07)).all()
