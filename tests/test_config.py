"""Configuration: the schema and the cross-key checks reject what a user could get wrong."""

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
        ({"spatial": {"sample": "everyone"}}, "spatial/sample"),
        ({"data": {"embedded": {"scale": -1}}}, "data/embedded/scale"),
        ({"matching": {"baseline_year": 2020}}, "matching"),
        ({"post_start": 2007}, "post_start"),
    ],
)
def test_bad_config_names_the_key(base, override, key):
    raw = pc.deep_merge(_raw(), override)
    with pytest.raises(pc.ConfigError) as err:
        pc.validate(raw)
    assert key in str(err.value)


def _raw():
    import yaml

    with open(pc.ROOT / "config.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


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
