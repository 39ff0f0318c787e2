"""Shared fixtures. `pipeline_run`: the whole test-size workflow, run once per test session."""
from __future__ import annotations

import pytest

from workflow import snakemake


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory):
    """Working directory of one complete test-size run (`rule all`, scale 0.1, --cores 2)."""
    workdir = tmp_path_factory.mktemp("pipeline")
    snakemake(workdir, "--cores", "2")
    return workdir
