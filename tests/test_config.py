"""Configuration: the schema and the cross-key checks reject what a user could get wrong."""

import copy
import functools

import pytest

import pra.config as pc


@pytest.fixture(scope="module")
def base():
    return pc.load()


def test_default_config_is_valid(base):
    assert base["spatial"]["treatment_radius_km"] < base["spatial"]["sample_space_km"]
    assert base["data"]["source"] == "embedded"


@pytest.mark.parametrize(
    "override, key",
    [
        ({"spatial": {"colour": 1}}, "spatial"),  # unknown key
        ({"unknown_top": 1}, "(top level)"),
        ({"spatial": {"treatment_radius_km": 25}}, "spatial.treatment_radius_km"),  # radius > sample space
        ({"spatial": {"ring_km": [11, 13]}}, "spatial.ring_km"),  # ring not around the radius
        ({"did": {"rings_km": [[9, 21]]}}, "did.rings_km"),  # ring reaches past the sample space
        ({"did": {"placebo_starts": [2011]}}, "did.placebo_starts"),  # placebo in the post period
        ({"did": {"placebo_starts": [2007]}}, "did.placebo_starts"),  # no false pre period
        ({"did": {"radii_km": [8, 25]}}, "did.radii_km"),
        ({"spatial": {"bands_km": [0, 5, 4, 20]}}, "spatial.bands_km"),
        ({"spatial": {"sample": "everyone"}}, "spatial.sample"),
        ({"data": {"embedded": {"scale": -1}}}, "data.embedded.scale"),
        ({"matching": {"baseline_year": 2020}}, "matching"),
        ({"post_start": 2007}, "post_start"),
        ({"did": {"cluster": "household"}}, "did.cluster"),  # the tables could not name it
        ({"matching": {"baseline_months": [7, 7, 8]}}, "matching.baseline_months"),
        ({"did": {"radii_km": [20]}}, "did.radii_km"),  # a radius at the edge leaves no control
        ({"spatial": {"bands_km": [0, 5, 5, 20]}}, "spatial.bands_km"),  # not strictly increasing
    ],
)
def test_bad_config_names_the_key(base, override, key):
    raw = pc.deep_merge(_raw(), override)
    with pytest.raises(pc.ConfigError) as err:
        pc.validate(raw)
    assert key in str(err.value)


@functools.cache
def _parsed():
    import yaml

    with open(pc.ROOT / "config.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _raw():
    # parsed once per module (19 tests read it), a fresh copy each: tests edit what they get
    return copy.deepcopy(_parsed())


def test_defaults_are_filled():
    raw = _raw()
    del raw["spatial"]["sample"]
    cfg = pc.validate(raw)
    assert cfg["spatial"]["sample"] == "producers"
    assert raw["spatial"].get("sample") is None  # the caller's dict is not changed


def test_real_files_need_every_path():
    raw = _raw()
    raw["data"] = {"source": "files", "files": {"enaho_dir": "/data/enaho"}}
    with pytest.raises(pc.ConfigError, match="data.files.deflator_dir"):
        pc.validate(raw)


def test_library_functions_use_the_same_checks(base):
    """The spatial sample and the DD grid check their settings with pra.config's checks (one
    home, the same message naming the key) when called outside the workflow."""
    import pandas as pd

    from pra.did.specs import build_specs
    from pra.geo.sample import spatial_sample

    empty = pd.DataFrame(columns=["hh_id", "year", "conglome", "vivienda", "hogar", "producer", "has_laborer"])
    dist = pd.DataFrame(columns=["hh_id", "dist_km", "nearest_id", "reason"])
    with pytest.raises(pc.ConfigError, match=r"spatial\.ring_km: ring \[11, 13\] must lie around"):
        spatial_sample(empty, dist, sample_space_km=20, treatment_radius_km=10, ring_km=[11, 13],
                       bands_km=[0, 10, 20], post_start=2010)
    bad = pc.deep_merge(base, {"did": {"rings_km": [[11, 13]]}})
    with pytest.raises(pc.ConfigError, match=r"did\.rings_km: ring \[11, 13\] must lie around"):
        build_specs(bad)


def test_subgroup_schema_matches_the_registry():
    import yaml

    from pra.did.subgroups import CONFIGURABLE

    schema = yaml.safe_load(pc.SCHEMA.read_text(encoding="utf-8"))
    assert schema["properties"]["did"]["properties"]["subgroups"]["items"]["enum"] == CONFIGURABLE


def test_contract_text_columns_match_the_schema():
    """pra.contract's split of the harmonised columns into text and numeric (what the config's
    outcome names are checked against) agrees with the pandera schema's dtypes."""
    from pra.contract import HARMONISED_COLUMNS, NUMERIC_COLUMNS, TEXT_COLUMNS
    from pra.ingest.schemas import harmonised_schema

    schema = harmonised_schema()
    assert list(schema.columns) == HARMONISED_COLUMNS and set(TEXT_COLUMNS) <= set(HARMONISED_COLUMNS)
    numeric = [c for c, col in schema.columns.items() if str(col.dtype).startswith(("float", "int"))]
    text = [c for c in schema.columns if c not in numeric]
    assert sorted(text) == sorted(TEXT_COLUMNS)
    assert NUMERIC_COLUMNS == numeric


def test_contract_is_the_one_list():
    from pra import contract
    from pra.ingest import programme, schemas
    from pra.matching import sample

    assert schemas.HARMONISED_COLUMNS is contract.HARMONISED_COLUMNS
    assert programme.YEAR == contract.PROGRAMME_SURVEY_YEAR
    assert sample.OUTCOMES == contract.MATCHING_OUTCOMES


def test_workflow_config_stays_light():
    """The Snakefile checks the config at parse time, in the main process and in every job: the
    checks import neither pandera nor the ingest package (seconds per job)."""
    import subprocess
    import sys

    code = ("import sys, pra.config as pc; pc.workflow_config(pc.load()); "
            "print(sorted(m for m in ('pandera', 'pra.ingest', 'pra.matching', 'pyreadstat') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**__import__("os").environ, "PYTHONPATH": str(pc.ROOT / "src")})
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


@pytest.mark.parametrize("parts, key", [(["did", "models", 1], "did.models[1]"), ([], "(top level)"),
                                        (["spatial", "ring_km"], "spatial.ring_km")])
def test_schema_errors_name_the_key_as_the_checks_do(parts, key):
    assert pc.key_path(parts) == key
