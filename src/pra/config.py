"""Configuration: load, validate against the JSON schema, and check cross-key consistency.

The schema (``schemas/config.schema.yaml``) checks each key alone; :func:`check` checks what a
schema cannot: that a radius fits in the sample space, a ring lies around the radius, a placebo
start lies in the pre-period, and that configured paths are plain relative or absolute paths.
This module is the one home of these cross-key checks: the library functions that take the same
settings as arguments (:func:`pra.geo.sample.spatial_sample`, :func:`pra.did.specs.build_specs`)
call the section checks below, so every message names the config key.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the key."""


def _schema() -> dict:
    with open(SCHEMA, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _fill_defaults(schema: dict, data: Any) -> None:
    """Fill ``default:`` values of the schema into ``data`` (as snakemake's validate does)."""
    if not isinstance(data, dict):
        return
    for key, sub in schema.get("properties", {}).items():
        if key not in data and "default" in sub:
            data[key] = copy.deepcopy(sub["default"])
        if key in data:
            _fill_defaults(sub, data[key])


def validate(config: dict) -> dict:
    """Validate against the schema (unknown keys rejected), fill defaults, check consistency."""
    schema = _schema()
    try:
        jsonschema.validate(config, schema)
    except jsonschema.ValidationError as err:
        where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        raise ConfigError(f"config key {where}: {err.message}") from None
    config = copy.deepcopy(config)
    _fill_defaults(schema, config)
    check(config)
    return config


def load(path: str | Path = ROOT / "config.yaml", overrides: dict | None = None) -> dict:
    """Read a config file, deep-merge ``overrides`` over it and validate."""
    with open(path, encoding="utf-8") as fh:
        config = yaml.safe_load(fh)
    if overrides:
        config = deep_merge(config, overrides)
    return validate(config)


def deep_merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _check_path(key: str, value: str) -> None:
    # Paths reach file system calls, never a shell; still refuse what is surely a mistake.
    if not value or "\x00" in value or "\n" in value:
        raise ConfigError(f"config key {key}: {value!r} is not a usable path")


def check(config: dict) -> None:
    """Cross-key checks; raise ConfigError naming the key."""
    check_years(config)
    check_spatial(config["spatial"])
    check_did(config)
    check_matching(config)
    check_data(config["data"])
    if "inference" in config:
        check_inference(config)


def check_inference(config: dict) -> None:
    """The chapter's outcomes and model are cells of the study's DD; the curve's comparison
    localities lie between the treatment radius and the edge of the sample space."""
    inf, did, sp = config["inference"], config["did"], config["spatial"]
    outs = list(did["outcomes"])
    for key in ("ri", "curve", "honest"):
        y = inf.get(key, {}).get("outcome")
        if y is not None and y not in outs:
            raise ConfigError(f"config key inference.{key}.outcome: {y!r} is not among did.outcomes {outs}")
    m = inf.get("ri", {}).get("model")
    if m is not None and int(m) not in [int(x) for x in did["models"]]:
        raise ConfigError(f"config key inference.ri.model: {m} is not among did.models {did['models']}")
    c = inf.get("curve", {}).get("control_km")
    if c is not None and not (sp["treatment_radius_km"] <= c < sp["sample_space_km"]):
        raise ConfigError(f"config key inference.curve.control_km: {c} km must lie between the treatment "
                          f"radius ({sp['treatment_radius_km']} km) and the sample space "
                          f"({sp['sample_space_km']} km, exclusive)")


def check_years(config: dict) -> None:
    years = sorted(config["years"])
    post = config["post_start"]
    if not (years[0] < post <= years[-1]):
        raise ConfigError(
            f"config key post_start: {post} must leave at least one pre year and one post year "
            f"within years {years[0]}–{years[-1]}"
        )


def check_bands(bands_km, sample_space_km) -> None:
    """Table 2's bands split the sample space: from 0, strictly increasing, ending at its edge."""
    b = list(bands_km or [])
    if len(b) < 2 or b[0] != 0 or any(y <= x for x, y in zip(b, b[1:])) or b[-1] != sample_space_km:
        raise ConfigError(
            f"config key spatial.bands_km: {bands_km!r} must increase strictly from 0 to "
            f"spatial.sample_space_km ({sample_space_km!r} km): Table 2 splits the sample space"
        )


def _check_ring(key: str, ring, radius, space) -> None:
    if ring is None or len(ring) != 2:
        raise ConfigError(f"config key {key}: ring {ring!r} must be [inner, outer]")
    inner, outer = ring
    if not 0 <= inner < radius < outer:
        raise ConfigError(f"config key {key}: ring {list(ring)} must lie around the treatment radius "
                          f"{radius} km (0 ≤ inner < radius < outer)")
    if outer >= space:
        raise ConfigError(f"config key {key}: ring {list(ring)} reaches the sample space edge ({space} km)")


def check_spatial(spatial: dict) -> None:
    """The ``spatial`` section: radius inside the sample space, bands, ring, household sample.

    Also called by :func:`pra.geo.sample.spatial_sample` on its arguments."""
    from pra.geo.sample import SAMPLES

    space, radius = spatial.get("sample_space_km"), spatial.get("treatment_radius_km")
    if not (isinstance(space, (int, float)) and space > 0):
        raise ConfigError(f"config key spatial.sample_space_km: must be > 0, got {space!r}")
    if not (isinstance(radius, (int, float)) and 0 < radius < space):
        raise ConfigError(
            f"config key spatial.treatment_radius_km: {radius!r} km must be > 0 and smaller than "
            f"spatial.sample_space_km ({space} km), or no control household is left"
        )
    check_bands(spatial.get("bands_km"), space)
    if spatial.get("ring_km") is not None:
        _check_ring("spatial.ring_km", spatial["ring_km"], radius, space)
    sample = spatial.get("sample", "producers")
    if sample not in SAMPLES:
        raise ConfigError(f"config key spatial.sample: must be one of {list(SAMPLES)}, got {sample!r}")


def check_did(config: dict) -> None:
    """The ``did`` section against the years and the spatial settings (radii, rings, placebo
    starts, subgroups). Also called by :func:`pra.did.specs.build_specs`."""
    from pra.did.subgroups import CONFIGURABLE

    did, sp = config["did"], config["spatial"]
    space, radius = sp["sample_space_km"], sp["treatment_radius_km"]
    years = sorted(int(y) for y in config["years"])
    post = int(config["post_start"])
    for r in did.get("radii_km", []):
        if not 0 < r < space:
            raise ConfigError(f"config key did.radii_km: radius {r} km is not inside the sample space ({space} km)")
    for ring in did.get("rings_km", []):
        _check_ring("did.rings_km", ring, radius, space)
    pre = [y for y in years if y < post]
    for start in did.get("placebo_starts", []):
        if not (pre and pre[0] < start <= pre[-1]):
            raise ConfigError(
                f"config key did.placebo_starts: {start} must be a pre-period year after the first "
                f"({pre[0] if pre else '-'}–{pre[-1] if pre else '-'}), so that a false pre and post exist"
            )
    for g in did.get("subgroups", []):
        if g not in CONFIGURABLE:
            raise ConfigError(f"config key did.subgroups: unknown subgroup {g!r} (known: {CONFIGURABLE})")


def check_matching(config: dict) -> None:
    years = sorted(config["years"])
    m = config["matching"]
    if m["baseline_year"] not in years:
        raise ConfigError(f"config key matching.baseline_year: {m['baseline_year']} is not among years {years}")
    if m["followup_year"] <= m["baseline_year"]:
        raise ConfigError("config key matching.followup_year: must come after matching.baseline_year")


def check_data(data: dict) -> None:
    if data["source"] == "embedded":
        _check_path("data.embedded.dir", data.get("embedded", {}).get("dir", ""))
    else:
        files = data.get("files") or {}
        for key in ("enaho_dir", "deflator_dir", "centres", "register", "programme_survey", "sample_frame"):
            if key not in files:
                raise ConfigError(f"config key data.files.{key}: required when data.source is 'files'")
            _check_path(f"data.files.{key}", files[key])
