"""Shared fixtures and markers.

- ``pipeline_run``: the whole test-size workflow, run once per test session (tests that use it run
  Snakemake and must be marked ``workflow``: collection stops otherwise).
- ``embedded_tree``: the embedded data at test size, generated once per session (read only).
- ``make_snakemake``: the ``snakemake`` object a rule's script receives (Snakemake's own class),
  for calling ``scripts/*.py``'s ``main`` directly.

Markers (registered in pyproject.toml, ``--strict-markers``): ``workflow`` = runs Snakemake
(``python -m pytest -m "not workflow"`` is the quick development run).
"""
from __future__ import annotations

import fcntl
import importlib.util
import os
from pathlib import Path

import pytest

from workflow import ROOT, snakemake


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory):
    """Working directory of one complete test-size run (`rule all`, scale 0.1, --cores 2)."""
    workdir = tmp_path_factory.mktemp("pipeline")
    snakemake(workdir, "--cores", "2")
    return workdir


@pytest.fixture(scope="session")
def embedded_tree(tmp_path_factory):
    """The embedded data at test size (scale 0.1, seed 20140601), written once per session and
    shared by the modules that only read it. Under pytest-xdist (``-n 2``) the workers share one
    copy: the first writes it under a lock in the run's common temporary folder, the others
    wait and read it (synthesize replaces the folder atomically)."""
    from pra.embedded.synthesize import synthesize

    if not os.environ.get("PYTEST_XDIST_WORKER"):
        out = tmp_path_factory.mktemp("embedded") / "tree"
        synthesize(out, scale=0.1, seed=20140601)
        return out
    shared = tmp_path_factory.getbasetemp().parent  # common to the run's workers
    out = shared / "embedded_0.1_20140601" / "tree"
    with open(shared / "embedded_0.1_20140601.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not out.is_dir():
            out.parent.mkdir(exist_ok=True)
            synthesize(out, scale=0.1, seed=20140601)
    return out


def pytest_collection_modifyitems(config, items):
    """A test that uses the session's pipeline run runs Snakemake: it must say so."""
    unmarked = [i.nodeid for i in items
                if "pipeline_run" in getattr(i, "fixturenames", ()) and i.get_closest_marker("workflow") is None]
    if unmarked:
        raise pytest.UsageError("tests using pipeline_run must be marked @pytest.mark.workflow: "
                                + ", ".join(unmarked))


def _files(cls, spec):
    """A Snakemake file list (input, output, log) from a dict of name -> path or list of paths,
    or from a plain list; named lists are flattened with their name spanning them, as Snakemake
    does."""
    from snakemake.iocontainers import Namedlist

    out = cls()
    if spec is None:
        return out
    if not isinstance(spec, dict):
        out.extend(str(p) for p in spec)
        return out
    for name, value in spec.items():
        start = len(out)
        if isinstance(value, (list, tuple)):
            out.extend(str(p) for p in value)
            out._set_name(name, start, len(out))
        else:
            out.append(str(value))
            out._set_name(name, start)
    assert isinstance(out, Namedlist)
    return out


@pytest.fixture
def make_snakemake():
    """Factory: ``make_snakemake(input=..., output=..., params=..., log=[...], threads=1,
    config={}, rule="name")`` -> the object Snakemake injects into a script as ``snakemake``."""
    from snakemake.iocontainers import (InputFiles, Log, OutputFiles, Params, ResourceList,
                                        Snakemake, Wildcards)

    def make(*, input=None, output=None, params=None, log=None, threads=1, config=None,
             rule="test_rule", wildcards=None):
        return Snakemake(_files(InputFiles, input), _files(OutputFiles, output),
                         Params(fromdict=params or {}), Wildcards(fromdict=wildcards or {}),
                         threads, ResourceList(), _files(Log, log), config or {}, rule, None)

    return make


@pytest.fixture(scope="session")
def load_script():
    """``load_script("did_batch")``: the module of ``scripts/did_batch.py`` (its ``main``), loaded
    without running it (the ``snakemake`` object is not defined)."""
    def load(name: str):
        path = Path(ROOT) / "scripts" / f"{name}.py"
        spec = importlib.util.spec_from_file_location(f"scripts_{name}", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod

    return load
