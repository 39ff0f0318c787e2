"""Specifications as data, sample preparation, the batch runner, the store, figures and scripts."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from helpers import synthetic_sample
from pra.did import build_specs, chunk_specs, prepare_sample, run_batch, spec_records
from pra.store import STORE_COLUMNS, order_store
from pra.did.specs import PLACEBO_POST_REASON, SPEC_FIELDS

ROOT = Path(__file__).resolve().parents[1]
CONTRACT_STORE = ["spec_id", "family", "outcome", "model", "term", "coef", "se", "pvalue", "ci_low",
                  "ci_high", "nobs", "nclusters", "r2", "r2_within", "radius_km", "ring", "sample",
                  "placebo_start", "subgroup"]


@pytest.fixture(scope="module")
def config():
    with open(ROOT / "config.yaml") as fh:
        return yaml.safe_load(fh)


@pytest.fixture(scope="module")
def specs(config):
    return build_specs(config)


def test_family_counts_follow_config(config, specs):
    did = config["did"]
    n_y, n_m = len(did["outcomes"]), len(did["models"])
    expected = {
        "base": n_y * n_m,
        "radius": len(did["radii_km"]) * n_y,
        "band": n_y,
        "semester": n_y + 1,  # + poverty gap (Table 13b)
        "gap": 1,
        "placebo": len(did["placebo_starts"]) * n_y * n_m,
        "subgroup": len(did["subgroups"]) * n_y,
        "ring": len(did["rings_km"]) * n_y,
        "sample": len(did["samples"]) * n_y + (n_y if "producers_and_laborers" in did["samples"] else 0),
        "means": 1,
    }
    assert specs["family"].value_counts().to_dict() == expected
    assert specs["spec_id"].is_unique
    assert specs["spec_id"].str.fullmatch(r"[0-9a-f]{12}").all()
    # the study's defaults: 8 bands of 2.5 km, the farthest omitted; semesters against 2007-I
    assert set(specs.loc[specs["family"] == "band", "terms"]) == {"i(dband, post, ref=7)"}
    assert set(specs.loc[specs["family"] == "semester", "terms"]) == {'i(semester, treated, ref="2007-I")'}


def test_spec_id_is_sha1_of_canonical_json(specs):
    recs = spec_records(specs)
    assert all(isinstance(r["placebo_start"], int) for r in recs if r["family"] == "placebo")
    for rec in recs:
        payload = {k: rec[k] for k in SPEC_FIELDS}
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        assert hashlib.sha1(text.encode()).hexdigest()[:12] == rec["spec_id"]


_CHILD = textwrap.dedent("""
    import hashlib, sys, yaml
    from pra.did import build_specs, chunk_specs
    cfg = yaml.safe_load(open(sys.argv[1]))
    s = build_specs(cfg)
    b = chunk_specs(s, 40)
    print(hash("pra"))
    print(hashlib.sha1(("|".join(s["spec_id"]) + "#" + "|".join(x["spec_id"] for c in b for x in c)).encode()).hexdigest())
""")


def test_ids_and_batches_stable_across_hash_seeds(specs):
    """This process and a child under another hash seed build the same ids and batches (one
    child: the two processes' string hashes are checked to differ)."""
    here = hashlib.sha1(("|".join(specs["spec_id"]) + "#" + "|".join(
        x["spec_id"] for c in chunk_specs(specs, 40) for x in c)).encode()).hexdigest()
    seed = "2" if os.environ.get("PYTHONHASHSEED") == "1" else "1"
    env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONWARNINGS": "ignore"}
    out = subprocess.run([sys.executable, "-c", _CHILD, str(ROOT / "config.yaml")], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    child_hash, child = out.stdout.strip().splitlines()[-2:]
    assert int(child_hash) != hash("pra")  # another hash seed than this process's
    assert child == here


def test_chunk_specs_partitions_and_groups(specs):
    batches = chunk_specs(specs, 7)
    ids = [s["spec_id"] for b in batches for s in b]
    assert sorted(ids) == sorted(specs["spec_id"]) and len(ids) == len(set(ids))
    assert all(1 <= len(b) <= 7 for b in batches)
    assert batches == chunk_specs(specs.iloc[::-1], 7)  # independent of the input order
    # a batch never spans two job groups; inside a group, specs sharing a prepared sample are
    # contiguous (a job prepares each sample once)
    from pra.did.specs import job_group, prep_key
    assert all(len({job_group(s) for s in b}) == 1 for b in batches)
    keys = [(job_group(s), prep_key(s)) for b in batches for s in b]
    seen, prev = set(), None
    for k in keys:
        if k != prev:
            assert k not in seen
            seen.add(k)
        prev = k
    assert {job_group(s) for s in spec_records(specs)} == {"main", "radius", "robustness"}
    with pytest.raises(ValueError):
        chunk_specs(specs, 0)
    from pra.did import chunks_by_id
    by_id = chunks_by_id(specs, 7)
    assert list(by_id.values()) == batches
    assert all(len(k) == 10 and int(k, 16) >= 0 for k in by_id)


def test_bad_config_raises(config):
    bad = json.loads(json.dumps(config))
    bad["did"]["subgroups"] = ["head_shoe_size"]
    with pytest.raises(ValueError, match="head_shoe_size"):
        build_specs(bad)
    bad = json.loads(json.dumps(config))
    bad["did"]["placebo_starts"] = [2011]
    with pytest.raises(ValueError, match="placebo"):
        build_specs(bad)


def _tiny() -> pd.DataFrame:
    return pd.DataFrame({
        "year": [2007, 2008, 2009, 2010, 2011, 2012, 2010, 2012],
        "locality": list("aabbccdd"),
        "semester": ["2007-I", "2008-II", "2009-I", "2010-I", "2011-II", "2012-I", "2010-II", "2012-II"],
        "dist_km": [0.0, 2.5, 2.6, 9.5, 10.0, 10.5, 19.9, 25.0],
        "producer": [1, 1, 1, 1, 1, 1, 0, 1],
        "has_laborer": [0, 0, 0, 0, 0, 0, 1, 0],
        "head_educ": [1, 7, 3, np.nan, 2, 6, 4, 5],
        "water_public": [1, 0, 1, 1, 0, 1, 1, 1],
        "sanitation": ["none_other", "septic", None, "public_in", "none_other", "septic", "septic", "septic"],
        "altitude": [3500, 3500, 1000, 1000, 2000, 2000, 4000, 4000],
        "population_2007": [150, 150, 200, 201, 2000, 2001, 50, 50],
    })


def test_prepare_sample_definitions(specs):
    base = spec_records(specs[specs["family"] == "base"])[0]
    df, dropped = prepare_sample(_tiny(), base)
    # the spatial sample's rules and ledger reasons (pra.geo.sample), in its order
    assert dropped == {"not a producer household": 1, "beyond the sample space (> 20 km)": 1}
    assert list(df["treated"]) == [1, 1, 1, 1, 1, 0]          # dist ≤ 10 km (10.0 is treated)
    assert list(df["post"]) == [0, 0, 0, 1, 1, 1]
    assert list(df["D"]) == [0, 0, 0, 1, 1, 0]
    assert list(df["educ_7"].fillna(-1)) == [0, 1, 0, -1, 0, 0]  # missing education stays missing
    assert list(df["educ_group"].fillna(-1)) == [1, 6, 3, -1, 2, 6]
    assert list(df["no_water"]) == [0, 1, 0, 0, 1, 0]
    assert list(df["no_sanitation"].fillna(-1)) == [1, 0, -1, 0, 1, 0]
    assert list(df["locality_size"]) == [1, 1, 1, 2, 2, 3]
    assert list(df["high_altitude"]) == [1, 1, 0, 0, 0, 0]
    assert list(df["cell"])[:2] == ["2007_treated", "2008_treated"]

    band = spec_records(specs[specs["family"] == "band"])[0]
    df, _ = prepare_sample(_tiny(), band)
    assert list(df["dband"]) == [0, 0, 1, 3, 3, 4]              # (k·2.5, (k+1)·2.5], 0 km in band 0

    ring = spec_records(specs[specs["family"] == "ring"])[0]
    df, dropped = prepare_sample(_tiny(), ring)
    assert dropped["in the non-contamination ring (9-11 km)"] == 3 and list(df["dist_km"]) == [0.0, 2.5, 2.6]

    rad = spec_records(specs[(specs["family"] == "radius") & (specs["radius_km"] == 9)])[0]
    assert list(prepare_sample(_tiny(), rad)[0]["treated"]) == [1, 1, 1, 0, 0, 0]

    plac = spec_records(specs[(specs["family"] == "placebo") & (specs["placebo_start"] == 2008)])[0]
    df, dropped = prepare_sample(_tiny(), plac)
    assert dropped[PLACEBO_POST_REASON] == 3 and list(df["post"]) == [0, 1, 1]

    lab = spec_records(specs[(specs["family"] == "sample") & (specs["sample"] == "laborers_only")])[0]
    df, dropped = prepare_sample(_tiny(), lab)
    # distance first (one row beyond 20 km), then household type: 7 rows leave, as before
    assert len(df) == 1 and dropped == {"beyond the sample space (> 20 km)": 1, "not a laborer-only household": 6}


def test_prepare_sample_missing_column_is_named(specs):
    lab = spec_records(specs[(specs["family"] == "sample") & (specs["sample"] == "laborers_only")])[0]
    with pytest.raises(KeyError, match="has_laborer"):
        prepare_sample(_tiny().drop(columns="has_laborer"), lab)


PLANTED, BUMP = 0.10, 0.25


@pytest.fixture(scope="module")
def planted():
    """100 localities × 6 years × 6 households, +0.10 planted at ≤ 10 km from 2010 on, and an
    extra +0.25 for treated households in 2011-I."""
    return synthetic_sample(n_localities=100, hh_per_year=6, effect=PLANTED, seed=11,
                            semester_effects={"2011-I": BUMP})


def _test_specs(specs):
    """Every family, ln expenditure only (plus one poverty-gap spec), 7 of the radii: the machine
    is shared, and the other outcomes run through the same code (multi-outcome estimation)."""
    keep = (specs["outcome"] == "ln_pc_exp") | (specs["family"] == "gap")
    keep &= ~((specs["family"] == "radius") & ~specs["radius_km"].isin([8, 10, 12, 14, 16, 18, 19]))
    return specs[keep]


@pytest.fixture(scope="module")
def store(planted, specs):
    return run_batch(planted, _test_specs(specs))


def _one(store, **kw):
    s = store[store["role"] == "treatment"]
    for k, v in kw.items():
        s = s[s[k] == v]
    return s


def test_store_columns_and_determinism(store, planted, specs):
    assert list(store.columns) == STORE_COLUMNS
    assert set(CONTRACT_STORE) <= set(store.columns)
    assert set(store["spec_id"]) == set(_test_specs(specs)["spec_id"])
    again = run_batch(planted, _test_specs(specs)[lambda s: s["family"].isin(["base", "placebo"])])
    mine = store[store["family"].isin(["base", "placebo"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(again, mine)
    # every spec's dropped rows are recorded (1% of electricity is missing in the DGP)
    m3 = _one(store, family="base", outcome="ln_pc_exp", model=3).iloc[0]
    d = json.loads(m3["dropped"])
    assert d["missing:electricity"] > 0 and d["prepare:not a producer household"] > 0
    # the design the estimates ran under travels with them (pra.store)
    assert set(store["cluster"]) == {"locality"} and set(store["years"]) == {"2007,2008,2009,2010,2011,2012"}
    assert store["kernel"].isna().all() and store["baseline_year"].isna().all()  # matching-only columns


def test_base_recovers_planted_effect(store, planted):
    # the true average effect on the treated after 2010 includes the 2011-I bump
    tp = planted[(planted["treated"] == 1) & (planted["post"] == 1) & (planted["producer"] == 1)]
    truth = PLANTED + BUMP * (tp["semester"] == "2011-I").mean()
    for m in (1, 2, 3):
        r = _one(store, family="base", outcome="ln_pc_exp", model=m).iloc[0]
        assert r["term"] == "D" and r["ci_low"] < truth < r["ci_high"], (m, r["coef"], truth)
        assert r["pvalue"] < 0.01 and r["nclusters"] == 100
    # Annex A: every control coefficient is stored
    m3 = store[(store["family"] == "base") & (store["outcome"] == "ln_pc_exp") & (store["model"] == 3)]
    assert {"head_age", "educ_7", "electricity", "cook_firewood", "year::2012:altitude"} <= set(m3["term"])


def test_placebo_not_significant(store):
    pl = _one(store, family="placebo", outcome="ln_pc_exp")
    assert len(pl) == 6 and (pl["pvalue"] > 0.05).all()
    assert set(pl["nobs"]) <= {int(n) for n in pl["nobs"]}  # pre-period only:
    assert (pl["nobs"] < _one(store, family="base", outcome="ln_pc_exp")["nobs"].min()).all()


def test_event_study_peaks_where_planted(store):
    es = _one(store, family="semester", outcome="ln_pc_exp")
    assert len(es) == 11  # 12 semesters, 2007-I omitted
    assert es.loc[es["coef"].idxmax(), "term"] == "semester::2011-I:treated"


def test_radius_sweep_bends_after_planted_radius(store):
    rad = _one(store, family="radius", outcome="ln_pc_exp").set_index("radius_km")["coef"]
    assert rad.loc[10.0] > rad.loc[[16.0, 18.0, 19.0]].max()


def test_subgroups_and_means(store):
    ed = _one(store, family="subgroup", outcome="ln_pc_exp", subgroup="head_educ")
    assert len(ed) == 6 and ed["term"].str.match(r"educ_group::\d\.0:D").all()
    lab = _one(store, family="sample", subgroup="has_laborer", outcome="ln_pc_exp")
    assert list(lab["term"]) == ["has_laborer::0.0:D", "has_laborer::1.0:D"]
    means = _one(store, family="means")
    assert len(means) == 12
    cell = means.set_index("term")["coef"]
    # the treated-minus-control change from pre to post mirrors the planted 0.10 (+ 2011-I bump)
    dd = (cell[[f"cell::{y}_treated" for y in (2010, 2011, 2012)]].mean()
          - cell[[f"cell::{y}_control" for y in (2010, 2011, 2012)]].mean()
          - cell[[f"cell::{y}_treated" for y in (2007, 2008, 2009)]].mean()
          + cell[[f"cell::{y}_control" for y in (2007, 2008, 2009)]].mean())
    assert 0.0 < dd < 0.3


def test_figures_are_byte_deterministic(store, tmp_path, make_snakemake, load_script):
    """scripts/did_figures.py draws Figures 6-8 from the store written to Parquet; a second,
    independent drawing of the same store in this process gives the same bytes (the script's run
    is the first drawing: one drawing fewer than drawing twice and running the script)."""
    from pra.did.figures import figure6, figure7, figure8

    path = tmp_path / "estimates.parquet"
    store.to_parquet(path, index=False)
    outs = {f"fig{n}_{ext}": str(tmp_path / "a" / f"fig{n}.{ext}") for n in (6, 7, 8) for ext in ("png", "pdf")}
    load_script("did_figures").main(make_snakemake(input={"estimates": path}, output=outs))
    assert all(Path(p).stat().st_size > 1000 for p in outs.values())

    paths = {n: [tmp_path / "b" / f"fig{n}.png", tmp_path / "b" / f"fig{n}.pdf"] for n in (6, 7, 8)}
    figure6(store, paths[6])
    figure7(store, paths[7])
    figure8(store, paths[8])
    digests = [[hashlib.sha1(Path(outs[f"fig{n}_{ext}"]).read_bytes()).hexdigest()
                for n in paths for ext in ("png", "pdf")],
               [hashlib.sha1(p.read_bytes()).hexdigest() for n in paths for p in paths[n]]]
    assert digests[0] == digests[1]
    pdf = paths[6][1].read_bytes()
    assert b"/CreationDate" not in pdf
    png = paths[6][0].read_bytes()
    assert b"Software" not in png and png.startswith(b"\x89PNG")


def _nulls(df: pd.DataFrame) -> pd.DataFrame:
    """None and NaN as the same missing value in text columns (Parquet round trip)."""
    out = df.reset_index(drop=True).copy()
    for c in out.columns:
        if out[c].dtype == object or str(out[c].dtype) in ("str", "string"):
            out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out


def test_did_batch_and_store_scripts(planted, specs, tmp_path, make_snakemake, load_script):
    sample = tmp_path / "sample.parquet"
    planted.to_parquet(sample, index=False)
    base = specs[specs["family"] == "base"]
    batches = chunk_specs(base, 5)
    outs = []
    for i, b in enumerate(batches):
        out = tmp_path / f"batch_{i}.parquet"
        load_script("did_batch").main(make_snakemake(input={"sample": sample}, output=[out],
                                                     params={"specs": b, "cluster": "locality"}))
        outs.append(str(out))
    store_path = tmp_path / "estimates.parquet"
    load_script("did_store").main(make_snakemake(input={"batches": outs}, output=[store_path]))
    merged = pd.read_parquet(store_path)
    assert set(merged["spec_id"]) == set(base["spec_id"])
    direct = order_store(run_batch(planted, base))
    pd.testing.assert_frame_equal(_nulls(merged), _nulls(direct), check_dtype=False)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left
