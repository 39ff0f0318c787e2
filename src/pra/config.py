"""Configuration: load, validate against the JSON schema, and check cross-key consistency.

The schema (``schemas/config.schema.yaml``) checks each key alone; :func:`check` checks what a
schema cannot: that a radius fits in the sample space, a ring lies around the radius, a placebo
start lies in the pre-period, and that configured paths are plain relative or absolute paths.
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
    years = sorted(config["years"])
    post = config["post_start"]
    if not (years[0] < post <= years[-1]):
        raise ConfigError(
            f"config key post_start: {post} must leave at least one pre year and one post year "
            f"within years {years[0]}–{years[-1]}"
        )
    sp = config["spatial"]
    space, radius = sp["sample_space_km"], sp["treatment_radius_km"]
    if radius >= space:
        raise ConfigError(
            f"config key spatial.treatment_radius_km: {radius} km must be smaller than "
            f"spatial.sample_space_km ({space} km), or no control household is left"
        )
    rings = ([("spatial.ring_km", sp["ring_km"], radius)] if sp.get("ring_km") else []) + [
        ("did.rings_km", ring, radius) for ring in config["did"].get("rings_km", [])
    ]
    for key, ring, r in rings:
        inner, outer = ring
        if not inner < r < outer:
            raise ConfigError(f"config key {key}: ring {ring} must lie around the treatment radius {r} km")
        if outer >= space:
            raise ConfigError(f"config key {key}: ring {ring} reaches the sample space edge ({space} km)")
    bands = sp["bands_km"]
    if bands != sorted(bands) or bands[0] != 0 or bands[-1] != space:
        raise ConfigError(
            f"config key spatial.bands_km: {bands} must increase from 0 to the sample space ({space} km)"
        )
    for r in config["did"].get("radii_km", []):
        if r >= space:
            raise ConfigError(f"config key did.radii_km: radius {r} km is not inside the sample space ({space} km)")
    pre = [y for y in years if y < post]
    for start in config["did"].get("placebo_starts", []):
        if not (pre[0] < start <= pre[-1]):
            raise ConfigError(
                f"config key did.placebo_starts: {start} must be a pre-period year after the first "
                f"({pre[0]}–{pre[-1]}), so that a false pre and post exist"
            )
    m = config["matching"]
    for key in ("baseline_year",):
        if m[key] not in years:
            raise ConfigError(f"config key matching.{key}: {m[key]} is not among years {years}")
    if m["followup_year"] <= m["baseline_year"]:
        raise ConfigError("config key matching.followup_year: must come after matching.baseline_year")
    data = config["data"]
    if data["source"] == "embedded":
        _check_path("data.embedded.dir", data.get("embedded", {}).get("dir", ""))
    else:
        files = data.get("files") or {}
        for key in ("enaho_dir", "deflator_dir", "centres", "register", "programme_survey", "sample_frame"):
            if key not in files:
                raise ConfigError(f"config key data.files.{key}: required when data.source is 'files'")
            _check_path(f"data.files.{key}", files[key])
