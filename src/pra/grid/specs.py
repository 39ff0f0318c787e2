"""The full grid as data: the cartesian product of the choice lists of ``did.full_grid``.

One specification = one DD estimate of D = treated × post with locality + year fixed effects:

==================  =================================================================================
outcome             ``did.full_grid.outcomes``
model               1–3 (``pra.did.specs.model_controls``: the study's nested control sets)
radius_km           treated ⇔ dist_km ≤ radius (``pra.geo.sample`` conventions)
sample_space_km     households with dist_km ≤ sample space; controls lie between radius and space
ring_km             half-width k of the ring (radius − k, radius + k] dropped; 0 = no ring
sample              household sample (``pra.geo.sample.SAMPLES``)
weights             ``none`` or a weight column (survey expansion factor ``factor07``)
post_start/end      post period [start, end]; pre = years before the study's ``post_start``; years
                    between the two (a later start) and after ``end`` are dropped
==================  =================================================================================

Invalid combinations are dropped and counted by reason (:func:`build_grid`): a radius at or
beyond the sample space (no controls), a ring whose outer edge reaches the sample space (the
rule of ``pra.config.check`` for ``spatial.ring_km``) or whose inner edge falls below 0 km.

``spec_id``: the first 12 hex digits of the SHA-1 of the canonical JSON of :data:`GRID_FIELDS`
(the convention of :func:`pra.did.specs.spec_id`, over the grid's own fields).

Chunks (Snakemake jobs) hold the specifications of one radius, at most ``chunk_size`` each, in a
fixed order; a chunk's id hashes its spec ids (:func:`pra.did.specs.chunk_id`), so adding a radius
adds chunks and leaves every other chunk's id, and its output, as it was.
"""
from __future__ import annotations

import hashlib
import itertools
import json
from typing import Any

GRID_FIELDS = ["outcome", "model", "radius_km", "sample_space_km", "ring_km", "sample", "weights",
               "post_start", "post_end"]
# the choices as the curve, the explorer and the docs name them (post = "2010-2012")
CHOICES = ["outcome", "radius_km", "sample_space_km", "ring_km", "sample", "model", "weights", "post"]
CHOICE_LABELS = {"outcome": "outcome", "radius_km": "radius (km)", "sample_space_km": "sample space (km)",
                 "ring_km": "ring dropped (± km)", "sample": "household sample", "model": "model",
                 "weights": "weights", "post": "post period"}
# standard-error kinds: the cluster column of the spatial sample table (a locality is a populated
# centre; its district is the ubigeo, in which it is nested)
SE_CLUSTER_COLUMNS = {"locality": "locality", "district": "ubigeo"}
NO_WEIGHTS = "none"
SAMPLES = ("producers", "producers_and_laborers", "laborers_only")  # = pra.geo.sample.SAMPLES
MODELS = (1, 2, 3)

DEFAULTS: dict[str, Any] = {
    "radii_km": list(range(5, 20)),
    "sample_spaces_km": [15, 20, 25, 30],
    "rings_km": [0, 1, 2],
    "samples": list(SAMPLES),
    "models": [1, 2, 3],
    "outcomes": ["ln_pc_exp", "poor", "poverty_gap", "subj_poor_living"],
    "weights": [NO_WEIGHTS, "factor07"],
    "post_periods": [[2010, 2012], [2011, 2012]],
    "se_clusters": ["locality", "district"],
    "chunk_size": 2000,
    "bootstrap_draws": 1000,
    "alpha": 0.05,
}


class GridConfigError(ValueError):
    """A ``did.full_grid`` value is invalid; the message names the key."""


def grid_settings(config: dict) -> dict:
    """``did.full_grid`` with defaults filled in, checked against years/post_start."""
    g = {**DEFAULTS, **(config.get("did", {}).get("full_grid") or {})}
    years = sorted(int(y) for y in config["years"])
    post0 = int(config["post_start"])
    key = "did.full_grid"
    for name in ("radii_km", "sample_spaces_km", "rings_km", "samples", "models", "outcomes",
                 "weights", "post_periods", "se_clusters"):
        vals = list(g[name])
        if not vals:
            raise GridConfigError(f"config key {key}.{name}: empty list")
        if len({json.dumps(v) for v in vals}) != len(vals):
            raise GridConfigError(f"config key {key}.{name}: duplicate values in {vals}")
    if any(float(r) <= 0 for r in g["radii_km"]) or any(float(s) <= 0 for s in g["sample_spaces_km"]):
        raise GridConfigError(f"config key {key}: radii and sample spaces must be > 0 km")
    if any(float(k) < 0 for k in g["rings_km"]):
        raise GridConfigError(f"config key {key}.rings_km: half-widths must be ≥ 0, got {g['rings_km']}")
    bad = [s for s in g["samples"] if s not in SAMPLES]
    if bad:
        raise GridConfigError(f"config key {key}.samples: unknown {bad} (known: {list(SAMPLES)})")
    bad = [m for m in g["models"] if int(m) not in MODELS]
    if bad:
        raise GridConfigError(f"config key {key}.models: unknown {bad} (models are {list(MODELS)})")
    bad = [c for c in g["se_clusters"] if c not in SE_CLUSTER_COLUMNS]
    if bad:
        raise GridConfigError(f"config key {key}.se_clusters: unknown {bad} (known: {sorted(SE_CLUSTER_COLUMNS)})")
    if g["se_clusters"][0] != config["did"].get("cluster", "locality"):
        raise GridConfigError(f"config key {key}.se_clusters: the first kind is the primary one (the "
                              f"bootstrap's clusters) and must be did.cluster = {config['did'].get('cluster')!r}")
    for p in g["post_periods"]:
        if len(p) != 2 or not (post0 <= int(p[0]) <= int(p[1]) <= years[-1]):
            raise GridConfigError(f"config key {key}.post_periods: {p} must be [start, end] with "
                                  f"post_start ({post0}) ≤ start ≤ end ≤ {years[-1]}")
    if int(g["chunk_size"]) < 1 or int(g["bootstrap_draws"]) < 1 or not 0 < float(g["alpha"]) < 1:
        raise GridConfigError(f"config key {key}: chunk_size and bootstrap_draws ≥ 1, 0 < alpha < 1")
    return g


def grid_spec_id(spec: dict) -> str:
    payload = {k: spec[k] for k in GRID_FIELDS}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha1(text.encode("ascii")).hexdigest()[:12]


def ring_text(radius_km: float, ring_km: float) -> str | None:
    """The ring as the DD store writes it ("9-11"), None for no ring."""
    if not ring_km:
        return None
    return f"{radius_km - ring_km:g}-{radius_km + ring_km:g}"


def invalid_reason(radius_km: float, space_km: float, ring_km: float) -> str | None:
    if radius_km >= space_km:
        return "radius_km >= sample_space_km (no controls)"
    if ring_km and radius_km + ring_km >= space_km:
        return "ring reaches the sample space edge"
    if ring_km and radius_km - ring_km < 0:
        return "ring inner edge below 0 km"
    return None


def build_grid(config: dict) -> tuple[list[dict], dict[str, int]]:
    """Every valid specification (dicts with ``spec_id`` + :data:`GRID_FIELDS`), in a fixed order,
    and the invalid combinations dropped, counted by reason."""
    g = grid_settings(config)
    specs: list[dict] = []
    dropped: dict[str, int] = {}
    inner = list(itertools.product(g["samples"], g["post_periods"], g["weights"], g["models"], g["outcomes"]))
    for r, space, k in itertools.product(g["radii_km"], g["sample_spaces_km"], g["rings_km"]):
        r, space, k = float(r), float(space), float(k)
        why = invalid_reason(r, space, k)
        if why:
            dropped[why] = dropped.get(why, 0) + len(inner)
            continue
        for sample, (p0, p1), w, m, y in inner:
            s = {"outcome": str(y), "model": int(m), "radius_km": r, "sample_space_km": space,
                 "ring_km": k, "sample": str(sample), "weights": str(w or NO_WEIGHTS),
                 "post_start": int(p0), "post_end": int(p1)}
            s["spec_id"] = grid_spec_id(s)
            specs.append(s)
    ids = [s["spec_id"] for s in specs]
    if len(set(ids)) != len(ids):
        raise GridConfigError("build_grid: duplicate specifications (check did.full_grid lists)")
    return specs, dict(sorted(dropped.items()))


def _order_key(s: dict) -> tuple:
    # specs that share an estimation sample sit together (one demeaning per sample in a chunk)
    return (s["radius_km"], s["sample_space_km"], s["ring_km"], s["sample"], s["post_start"],
            s["post_end"], s["weights"], s["model"], s["outcome"], s["spec_id"])


def chunk_grid(specs: list[dict], chunk_size: int) -> dict[str, list[dict]]:
    """Chunks keyed by id: one radius each, at most ``chunk_size`` specs, in :func:`_order_key` order."""
    from pra.did.specs import chunk_id

    if int(chunk_size) < 1:
        raise GridConfigError(f"chunk_grid: chunk_size must be ≥ 1, got {chunk_size}")
    out: dict[str, list[dict]] = {}
    ordered = sorted(specs, key=_order_key)
    for _, group in itertools.groupby(ordered, key=lambda s: s["radius_km"]):
        group = list(group)
        for i in range(0, len(group), int(chunk_size)):
            part = group[i:i + int(chunk_size)]
            cid = chunk_id(part)
            if cid in out:
                raise GridConfigError(f"chunk_grid: two chunks share id {cid}")
            out[cid] = part
    return out


def max_sample_space(config: dict) -> float:
    return max(float(s) for s in grid_settings(config)["sample_spaces_km"])
