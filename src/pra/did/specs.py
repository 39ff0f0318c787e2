"""Specifications as data: the config becomes one row per DD estimate, with a stable key.

Every specification is a flat dict of JSON scalars (so Snakemake can pass it as a param and the
estimates store can carry it). ``spec_id`` = first 12 hex digits of the SHA-1 of the canonical
JSON (sorted keys, no spaces) of every other field: stable across processes, machines and
``PYTHONHASHSEED`` (Python's ``hash()`` is salted per process and is never used).

Families (docs/study.md §4.1; Tables 6–13, Figures 6–8):

=========  ===================================================================================
base       3 outcomes × models 1–3, D = treated × post at the study radius (Table 6, Annex A)
radius     D at each radius in ``did.radii_km``, model 3 (Figure 6a)
band       ``did.band_width_km`` distance bands × post, farthest band omitted, model 3 (Figure 6b)
semester   treated × semester dummies, first semester of ``years`` omitted, model 3 (Table 7,
           Figure 8; plus the poverty gap, Table 13b)
gap        poverty gap, D, model 3 (Table 13a)
placebo    pre-period years only, false start in each ``did.placebo_starts``, models 1–3 (Table 8)
subgroup   D interacted with the group dummies, model 3 (Tables 9–10)
ring       households in each ring of ``did.rings_km`` dropped, model 3 (Table 11)
sample     ``did.samples`` (producers_and_laborers, laborers_only) and D × has_laborer (Table 12)
means      year × group cells of ln expenditure conditional on model-3 controls (Figure 7)
=========  ===================================================================================

Models (Table 6): (1) locality + year FE and locality characteristics (rural, altitude, coast,
selva) × year dummies; (2) + head (female, age, education dummies with "none" omitted, married or
partnered, migrant); (3) + household and housing as listed in Annex A (electricity, no public
water, no sanitation service, cooks with firewood, brick walls, finished floor, tile/concrete
roof). Annex A lists no household size/composition control, so none is used.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import math
from typing import Any

import numpy as np
import pandas as pd

from pra.config import check_did
from pra.geo.sample import post, ring_label, sample_reasons, spatial_reasons, treated

from .subgroups import add_group_columns, subgroup

FAMILIES = ["base", "radius", "band", "semester", "gap", "placebo", "subgroup", "ring", "sample", "means"]
SPEC_FIELDS = ["family", "outcome", "model", "terms", "radius_km", "ring", "sample", "placebo_start",
               "subgroup", "band_km", "post_start", "sample_space_km"]
# the fields that define the estimation frame (specs sharing them share one prepared sample)
PREP_FIELDS = ["sample", "radius_km", "ring", "placebo_start", "band_km", "post_start", "sample_space_km"]

FIXED_EFFECTS = ["locality", "year"]  # every DD model (pra.did.batch.run_batch)
LOCALITY_CHARS = ["rural", "altitude", "coast", "selva"]
HEAD = ["head_female", "head_age", "educ_2", "educ_3", "educ_4", "educ_5", "educ_6", "educ_7",
        "head_married", "head_migrant"]
HOUSEHOLD = ["electricity", "no_water", "no_sanitation", "cook_firewood", "wall_brick",
             "floor_finished", "roof_concrete_tile"]

def model_blocks(ref_year: int) -> dict[int, list[str]]:
    """Control terms added by each model (1: locality chars × year; 2: head; 3: household)."""
    loc = [f"i(year, {c}, ref={int(ref_year)})" for c in LOCALITY_CHARS]
    return {1: loc, 2: list(HEAD), 3: list(HOUSEHOLD)}


def model_controls(model: int, ref_year: int) -> list[str]:
    blocks = model_blocks(ref_year)
    return [t for m in range(1, int(model) + 1) for t in blocks[m]]


def _canon(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return None if np.isnan(value) else float(value)
    if isinstance(value, float) and value.is_integer():
        return value  # keep 10.0 as 10.0: radius fields are always floats (see _spec)
    return value


def spec_id(spec: dict) -> str:
    """SHA-1 (12 hex) of the canonical JSON of the spec's fields (spec_id itself excluded)."""
    payload = {k: _canon(spec.get(k)) for k in SPEC_FIELDS}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha1(text.encode("ascii")).hexdigest()[:12]


def _spec(family: str, outcome: str, model: int, terms: str, *, radius_km: float | None,
          sample: str, post_start: int, sample_space_km: float, ring: str | None = None,
          placebo_start: int | None = None, subgroup: str | None = None,
          band_km: float | None = None) -> dict:
    s = {
        "family": family, "outcome": outcome, "model": int(model), "terms": terms,
        "radius_km": None if radius_km is None else float(radius_km),
        "ring": ring, "sample": sample,
        "placebo_start": None if placebo_start is None else int(placebo_start),
        "subgroup": subgroup, "band_km": None if band_km is None else float(band_km),
        "post_start": int(post_start), "sample_space_km": float(sample_space_km),
    }
    s["spec_id"] = spec_id(s)
    return s


def n_bands(sample_space_km: float, band_km: float) -> int:
    return int(math.ceil(float(sample_space_km) / float(band_km) - 1e-9))


def build_specs(config: dict) -> pd.DataFrame:
    """One row per specification (columns ``spec_id`` + :data:`SPEC_FIELDS`), in a fixed order."""
    try:
        did, spatial = config["did"], config["spatial"]
        years = [int(y) for y in config["years"]]
        post_start = int(config["post_start"])
    except KeyError as e:
        raise KeyError(f"build_specs: config key {e} missing (need years, post_start, spatial, did)") from None
    check_did(config)  # radii, rings, placebo starts, subgroups (pra.config: the messages name the key)
    outcomes = list(did["outcomes"])
    models = [int(m) for m in did.get("models", [1, 2, 3])]
    r0 = float(spatial["treatment_radius_km"])
    space = float(spatial["sample_space_km"])
    sample0 = spatial.get("sample", "producers")
    ring0 = ring_label(spatial.get("ring_km"))
    common = dict(sample=sample0, post_start=post_start, sample_space_km=space)
    first_sem = f"{min(years)}-I"
    specs: list[dict] = []
    for y in outcomes:
        for m in models:
            specs.append(_spec("base", y, m, "D", radius_km=r0, ring=ring0, **common))
    for r in did.get("radii_km", []):
        for y in outcomes:
            specs.append(_spec("radius", y, 3, "D", radius_km=r, ring=ring0, **common))
    bw = did.get("band_width_km")
    if bw:
        ref = n_bands(space, bw) - 1  # the farthest band is the reference
        for y in outcomes:
            specs.append(_spec("band", y, 3, f"i(dband, post, ref={ref})", radius_km=None,
                               band_km=bw, ring=ring0, **common))
    for y in list(outcomes) + ["poverty_gap"]:
        specs.append(_spec("semester", y, 3, f"i(semester, treated, ref=\"{first_sem}\")",
                           radius_km=r0, ring=ring0, **common))
    specs.append(_spec("gap", "poverty_gap", 3, "D", radius_km=r0, ring=ring0, **common))
    for p in did.get("placebo_starts", []):
        for y in outcomes:
            for m in models:
                specs.append(_spec("placebo", y, m, "D", radius_km=r0, ring=ring0,
                                   placebo_start=p, **common))
    for g in did.get("subgroups", []):
        col = subgroup(g).column
        for y in outcomes:
            specs.append(_spec("subgroup", y, 3, f"i({col}, D)", radius_km=r0, ring=ring0,
                               subgroup=g, **common))
    for ring in did.get("rings_km", []):
        rs = ring_label(ring)
        for y in outcomes:
            specs.append(_spec("ring", y, 3, "D", radius_km=r0, ring=rs, **common))
    samples = list(did.get("samples", []))
    for s in samples:
        for y in outcomes:
            specs.append(_spec("sample", y, 3, "D", radius_km=r0, ring=ring0, sample=s,
                               post_start=post_start, sample_space_km=space))
    if "producers_and_laborers" in samples:
        for y in outcomes:
            specs.append(_spec("sample", y, 3, "i(has_laborer, D)", radius_km=r0, ring=ring0,
                               sample="producers_and_laborers", subgroup="has_laborer",
                               post_start=post_start, sample_space_km=space))
    specs.append(_spec("means", "ln_pc_exp", 3, "-1 + i(cell)", radius_km=r0, ring=ring0, **common))
    out = pd.DataFrame(specs, columns=["spec_id"] + SPEC_FIELDS)
    for c in _INT_FIELDS:
        out[c] = out[c].astype("Int64")
    dup = out[out["spec_id"].duplicated(keep=False)]
    if len(dup):
        raise ValueError(f"build_specs: duplicate specifications (check config lists):\n{dup}")
    return out


_INT_FIELDS = {"model", "placebo_start", "post_start"}
_FLOAT_FIELDS = {"radius_km", "band_km", "sample_space_km"}


def _typed(k: str, v: Any) -> Any:
    if v is None or v is pd.NA or (isinstance(v, (float, np.floating)) and np.isnan(v)):
        return None
    if k in _INT_FIELDS:
        return int(v)
    if k in _FLOAT_FIELDS:
        return float(v)
    return str(v)


def spec_records(specs: pd.DataFrame) -> list[dict]:
    """Specs as JSON-safe dicts with their canonical types (NaN → None; ints stay ints even
    where pandas stored a column as float), e.g. for ``snakemake.params.specs``."""
    return [{k: _typed(k, v) for k, v in row.items()} for row in specs.to_dict("records")]


def prep_key(spec: dict) -> str:
    """Canonical JSON of the fields that define the estimation frame."""
    return json.dumps({k: _canon(spec.get(k)) for k in PREP_FIELDS}, sort_keys=True,
                      separators=(",", ":"))


# Three jobs at the study's grid, of about 3 s of estimation each (a job's start-up, mostly
# importing pyfixest and compiling its numba code, is ~2.5 s): the families estimated on the main
# sample (the configured radius); the radius sweep (Figure 6a), the grid's usual axis of change;
# the other robustness families (bands, placebo starts, rings, household samples).
JOB_GROUPS = {"main": ("base", "semester", "gap", "subgroup", "means"), "radius": ("radius",),
              "robustness": ("band", "placebo", "ring", "sample")}
_GROUP_OF = {f: g for g, fams in JOB_GROUPS.items() for f in fams}


def job_group(spec: dict) -> str:
    """The job group of a spec (:data:`JOB_GROUPS`)."""
    return _GROUP_OF[spec["family"]]


def chunk_specs(specs: pd.DataFrame | list[dict], batch_size: int) -> list[list[dict]]:
    """Deterministic batches of at most ``batch_size`` specs for Snakemake jobs.

    A batch never spans two job groups (:func:`job_group`), so a change to one part of the grid
    (say one radius of the sweep) changes only that group's batches: the other jobs keep their
    ids and do not rerun. Few groups keep per-job start-up (imports, reading the sample) small
    next to the estimation. Inside a group specs are ordered by prepared sample, then (family
    order, spec_id), so a job prepares each sample once (:func:`pra.did.batch.run_batch`).
    """
    if int(batch_size) < 1:
        raise ValueError(f"chunk_specs: batch_size must be ≥ 1, got {batch_size}")
    recs = spec_records(specs) if isinstance(specs, pd.DataFrame) else list(specs)
    fam = {f: i for i, f in enumerate(FAMILIES)}
    recs = sorted(recs, key=lambda s: (job_group(s), prep_key(s), fam.get(s["family"], 99), s["spec_id"]))
    batches: list[list[dict]] = []
    for _, group in itertools.groupby(recs, key=job_group):
        group = list(group)
        batches += [group[i:i + batch_size] for i in range(0, len(group), batch_size)]
    return batches


def chunk_id(batch: list[dict]) -> str:
    """10-hex id of a batch (SHA-1 of its spec_ids in order): the ``{chunk}`` wildcard of
    rules/common.smk (``[0-9a-f]{10}``). Changes only when the batch's specs change."""
    return hashlib.sha1("|".join(s["spec_id"] for s in batch).encode("ascii")).hexdigest()[:10]


def chunks_by_id(specs: pd.DataFrame | list[dict], batch_size: int) -> dict[str, list[dict]]:
    """:func:`chunk_specs` keyed by :func:`chunk_id`, in batch order (for Snakemake fan-out)."""
    out: dict[str, list[dict]] = {}
    for b in chunk_specs(specs, batch_size):
        cid = chunk_id(b)
        if cid in out:
            raise ValueError(f"chunks_by_id: two batches share id {cid}")
        out[cid] = b
    return out


# --------------------------------------------------------------------------------------------
# estimation frame
REQUIRED = ["year", "locality", "dist_km", "semester"]
PLACEBO_POST_REASON = "post-period year (a placebo uses pre-period years only)"


def _present(value) -> bool:
    return value is not None and value is not pd.NA and not (isinstance(value, float) and math.isnan(value))


def _missing_cols(data: pd.DataFrame, cols: list[str], what: str) -> None:
    miss = [c for c in cols if c not in data.columns]
    if miss:
        raise KeyError(f"prepare_sample: column(s) {miss} needed for {what} are not in the sample "
                       f"table (columns: {sorted(data.columns)})")


def prepare_sample(data: pd.DataFrame, spec: dict) -> tuple[pd.DataFrame, dict[str, int]]:
    """The estimation frame for ``spec`` from the spatial sample table, and the rows it dropped.

    Builds: ``treated`` (dist_km ≤ radius_km), ``post`` (year ≥ post_start, or ≥ placebo_start on
    pre-period years for placebos), ``D`` = treated × post, ``dband`` (band index of width band_km, band k =
    (k·w, (k+1)·w], 0 includes 0 km), education dummies ``educ_2..educ_7`` (none omitted),
    ``no_water``, ``no_sanitation``, group columns (``educ_group``, ``high_altitude``,
    ``locality_size``: :mod:`pra.did.subgroups`) and ``cell`` (year × treated for the means
    family). Returns the frame and ``{reason: rows}`` for every row removed, with the spatial
    sample's rules and ledger reasons (:mod:`pra.geo.sample`: no usable coordinates, beyond the
    sample space, in the ring, household type), then the post-period rows of a placebo.
    """
    _missing_cols(data, REQUIRED, "every specification")
    df = data.copy()
    dropped: dict[str, int] = {}

    def drop(reason: pd.Series) -> None:
        """Drop the rows with a reason ("" = kept) and count them by reason."""
        nonlocal df
        for why, n in reason[reason != ""].value_counts(sort=False).items():
            dropped[why] = dropped.get(why, 0) + int(n)
        df = df.loc[(reason == "").to_numpy()]

    # the spatial sample's rules and reasons, in its order: distance first, then household type
    ring = spec.get("ring")
    space = float(spec["sample_space_km"])
    drop(spatial_reasons(df, sample_space_km=space, ring_km=ring))
    sample = spec.get("sample") or "producers"
    drop(sample_reasons(df, sample))
    post_start = int(spec["post_start"])
    year = df["year"].astype("int64")
    pstart = spec.get("placebo_start")
    if _present(pstart):
        drop(pd.Series(np.where(year >= post_start, PLACEBO_POST_REASON, ""), index=df.index, dtype=object))
        year = df["year"].astype("int64")
        post_flag = post(year, int(pstart)).astype("int64")
    else:
        post_flag = post(year, post_start).astype("int64")
    if df.empty:
        raise ValueError(f"prepare_sample: no rows left for spec {spec.get('spec_id')} ({sample}, "
                         f"ring {ring}); dropped {dropped}")
    df = df.assign(year=year, post=post_flag)
    radius = spec.get("radius_km")
    if _present(radius):  # the band family has no radius: its terms are band × post
        df["treated"] = treated(df["dist_km"], float(radius)).astype("int64")
        df["D"] = df["treated"] * df["post"]
        df["cell"] = df["year"].astype(str) + np.where(df["treated"] == 1, "_treated", "_control")
    bw = spec.get("band_km")
    if _present(bw):
        nb = n_bands(space, bw)
        k = np.ceil(df["dist_km"].to_numpy(float) / float(bw) - 1e-12) - 1
        df["dband"] = np.clip(k, 0, nb - 1).astype("int64")
    df["semester"] = df["semester"].astype(str)
    if "head_educ" in df.columns:
        e = pd.to_numeric(df["head_educ"], errors="coerce")
        for lv in range(2, 8):
            df[f"educ_{lv}"] = np.where(e.isna(), np.nan, (e == lv).astype(float))
    if "water_public" in df.columns:
        df["no_water"] = 1.0 - pd.to_numeric(df["water_public"], errors="coerce")
    if "sanitation" in df.columns:
        s = df["sanitation"]
        df["no_sanitation"] = np.where(s.isna(), np.nan, (s.astype(str) == "none_other").astype(float))
    add_group_columns(df)
    # bool/nullable columns → float so pyfixest sees plain numbers with NaN for missing
    for c in df.columns:
        if df[c].dtype == bool or str(df[c].dtype) in ("boolean", "Int8", "Int16", "Int32", "Int64", "Float64"):
            df[c] = df[c].astype("float64")
    df = df.sort_values(["year", "locality"] + (["hh_id"] if "hh_id" in df.columns else []),
                        kind="mergesort").reset_index(drop=True)
    return df, dropped
