"""Configuration: load, validate against the JSON schema, and check cross-key consistency.

The schema (``schemas/config.schema.yaml``) checks each key alone; :func:`check` checks what a
schema cannot: that a radius fits in the sample space, a ring lies around the radius, a placebo
start lies in the pre-period, that lists which must hold a value do and that none repeats one,
that every name (outcomes, cluster, weights) is a column the data provide (:mod:`pra.contract`),
and that configured paths are plain relative or absolute paths. :func:`workflow_config`, which
the Snakefile runs when it is read (before the first job), adds the checks against the files on
disk: every year is in the data. This module is the one home of these cross-key checks: the
library functions that take the same settings as arguments (:func:`pra.geo.sample.spatial_sample`,
:func:`pra.did.specs.build_specs`) call the section checks below, so every message names the
config key. Kept light (no pandera, no ingest package): it runs at parse time in every job.
"""
from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the key."""


@lru_cache(maxsize=1)
def _schema() -> dict:
    with open(SCHEMA, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@lru_cache(maxsize=1)
def _validator():
    schema = _schema()
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


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
    err = jsonschema.exceptions.best_match(_validator().iter_errors(config))  # as jsonschema.validate
    if err is not None:
        raise ConfigError(f"config key {key_path(err.absolute_path)}: {err.message}")
    config = copy.deepcopy(config)
    _fill_defaults(schema, config)
    _resolve(config)
    check(config)
    return config


def _resolve(config: dict) -> None:
    """Defaults that follow other keys: the randomisation inference's model is, unless set, the
    first of ``did.models`` (a run estimating model 3 only needs no inference block of its own)."""
    ri = (config.get("inference") or {}).get("ri")
    if ri is not None and ri.get("model") is None:
        ri["model"] = int(config["did"]["models"][0])  # as pra.inference.ri_model reads it


def key_path(parts) -> str:
    """``did.models[1]`` from the schema's path ``['did', 'models', 1]``."""
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top level)"


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
    check_lists(config)
    check_spatial(config["spatial"])
    check_did(config)
    check_matching(config)
    check_names(config)
    check_grid(config)
    check_data(config["data"])
    if "inference" in config:
        check_inference(config)


def check_inference(config: dict) -> None:
    """The chapter's outcomes and model are cells of the study's DD; the curve's comparison
    localities lie between the treatment radius and the edge of the sample space; the curve's
    cluster is a column of the data."""
    inf, did, sp = config["inference"], config["did"], config["spatial"]
    outs = list(did["outcomes"])
    for key in ("ri", "curve", "honest"):
        y = inf.get(key, {}).get("outcome")
        if y is not None and y not in outs:
            raise ConfigError(f"config key inference.{key}.outcome: {y!r} is not among did.outcomes {outs}")
    m = inf.get("ri", {}).get("model")
    if m is not None and int(m) not in [int(x) for x in did["models"]]:
        raise ConfigError(f"config key inference.ri.model: {m} is not among did.models {did['models']}")
    cm = inf.get("curve", {}).get("model")
    if cm is not None and int(cm) not in [int(x) for x in did["models"]]:
        raise ConfigError(f"config key inference.curve.model: {cm} is not among did.models {did['models']}")
    c = inf.get("curve", {}).get("control_km")
    if c is not None and not (sp["treatment_radius_km"] <= c < sp["sample_space_km"]):
        raise ConfigError(f"config key inference.curve.control_km: {c} km must lie between the treatment "
                          f"radius ({sp['treatment_radius_km']} km) and the sample space "
                          f"({sp['sample_space_km']} km, exclusive)")
    cl = inf.get("curve", {}).get("cluster")
    if cl is not None:
        from pra.contract import HARMONISED_COLUMNS

        _known("inference.curve.cluster", [cl], HARMONISED_COLUMNS,
               "a column of the harmonised household table (null: independent localities)")


def workflow_config(config: dict) -> dict:
    """What the Snakefile runs at parse time, before any job: the schema, every cross-key check,
    then the years and input folders against the data on disk. Returns the config with defaults."""
    config = validate(config)
    check_inputs(config)
    return config


def check_years(config: dict) -> None:
    years = sorted(config["years"])
    post = config["post_start"]
    if not (years[0] < post <= years[-1]):
        raise ConfigError(
            f"config key post_start: {post} must leave at least one pre year and one post year "
            f"within years {years[0]}–{years[-1]}"
        )
    if post not in years:
        raise ConfigError(f"config key post_start: {post} is not one of years {years}")


# Lists that must hold a value (the stage has nothing to estimate otherwise) and lists whose
# values must be distinct (a repeated value would repeat specifications, rows and jobs).
NON_EMPTY = ["years", "did.outcomes", "did.models", "did.radii_km", "matching.baseline_months",
             "matching.outcomes"]
DISTINCT = ["years", "did.outcomes", "did.models", "did.radii_km", "did.placebo_starts",
            "did.rings_km", "did.samples", "did.subgroups", "matching.baseline_months",
            "matching.outcomes"]


def _get(config: dict, key: str):
    value: Any = config
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _canon(value) -> str:
    """One text per value, so that 10 and 10.0 (or [9, 11] and [9.0, 11]) count as the same."""
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_canon(v) for v in value) + "]"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(float(value))
    return repr(value)


def check_lists(config: dict) -> None:
    for key in NON_EMPTY:
        if not _get(config, key):
            raise ConfigError(f"config key {key}: must list at least one value, got {_get(config, key)!r}")
    for key in DISTINCT:
        values = list(_get(config, key) or [])
        seen: dict[str, Any] = {}
        for v in values:
            if _canon(v) in seen:
                raise ConfigError(f"config key {key}: {v!r} is listed twice in {values}; "
                                  "list each value once")
            seen[_canon(v)] = v


def _known(key: str, values, known: list[str], what: str) -> None:
    import difflib

    for v in values:
        if v not in known:
            close = difflib.get_close_matches(str(v), known, n=3)
            hint = f"did you mean {' or '.join(map(repr, close))}?" if close else f"known: {', '.join(known)}"
            raise ConfigError(f"config key {key}: {v!r} is not {what} ({hint})")


def check_names(config: dict) -> None:
    """Every name the config gives exists in what the data provide (:mod:`pra.contract`)."""
    from pra.contract import HARMONISED_COLUMNS, MATCHING_OUTCOMES, NUMERIC_COLUMNS

    did, m = config["did"], config["matching"]
    numeric = "a numeric column of the harmonised household table"
    _known("did.outcomes", did.get("outcomes", []), NUMERIC_COLUMNS, numeric)
    _known("did.cluster", [did.get("cluster", "locality")], HARMONISED_COLUMNS,
           "a column of the harmonised household table")
    _known("matching.outcomes", m.get("outcomes", []), MATCHING_OUTCOMES,
           "one of the matching design's outcomes (the sample carries them for both periods)")
    grid = did.get("full_grid") or {}
    _known("did.full_grid.outcomes", grid.get("outcomes", []), NUMERIC_COLUMNS, numeric)
    _known("did.full_grid.weights", [w for w in grid.get("weights", []) if w != "none"],
           NUMERIC_COLUMNS, f"'none' or {numeric}")


def check_grid(config: dict) -> None:
    """``did.full_grid`` (read when ``did.grid: full``): pra.grid.specs's checks, here so that
    they run with the others, before the first job."""
    if config["did"].get("grid", "study") != "full":
        return
    from pra.grid.specs import GridConfigError, grid_settings

    try:
        grid_settings(config)
    except GridConfigError as err:
        raise ConfigError(str(err)) from None


def check_inputs(config: dict) -> None:
    """Every year of ``years`` is in the data, and the input folders exist (files on disk: the
    Snakefile runs this, library calls of :func:`validate` do not)."""
    years = sorted(int(y) for y in config["years"])
    data = config["data"]
    if data["source"] == "embedded":
        from pra.embedded.layout import YEARS

        bad = [y for y in years if y not in YEARS]
        if bad:
            raise ConfigError(f"config key years: {bad} not in the embedded data, which holds ENAHO "
                              f"{YEARS[0]}–{YEARS[-1]}")
        return
    files = data["files"]
    for key in ("enaho_dir", "deflator_dir"):
        if not Path(files[key]).is_dir():
            raise ConfigError(f"config key data.files.{key}: no folder {files[key]}")
    if not Path(files["centres"]).is_file():
        raise ConfigError(f"config key data.files.centres: no file {files['centres']}")
    enaho = Path(files["enaho_dir"])
    have = sorted(int(p.name) for p in enaho.iterdir() if p.is_dir() and p.name.isdigit())
    bad = [y for y in years if y not in have]
    if bad:
        raise ConfigError(f"config key years: {bad} not in the data: data.files.enaho_dir ({enaho}) "
                          f"has folders for {have or 'no year'}")


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
    bw = did.get("band_width_km")
    if bw is not None and not 0 < bw < space:
        raise ConfigError(f"config key did.band_width_km: {bw} km must be smaller than "
                          f"spatial.sample_space_km ({space} km), so that there are two bands to compare")
    for start in did.get("placebo_starts", []):
        if not (pre and pre[0] < start <= pre[-1]) or start not in pre:
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
    from pra.contract import PROGRAMME_SURVEY_YEAR

    if m["followup_year"] != PROGRAMME_SURVEY_YEAR:
        raise ConfigError(f"config key matching.followup_year: {m['followup_year']} is not the year of "
                          f"the follow-up data: the programme survey is of {PROGRAMME_SURVEY_YEAR}")


def check_data(data: dict) -> None:
    if data["source"] == "embedded":
        _check_path("data.embedded.dir", data.get("embedded", {}).get("dir", ""))
    else:
        files = data.get("files") or {}
        for key in ("enaho_dir", "deflator_dir", "centres", "register", "programme_survey", "sample_frame"):
            if key not in files:
                raise ConfigError(f"config key data.files.{key}: required when data.source is 'files'")
            _check_path(f"data.files.{key}", files[key])
