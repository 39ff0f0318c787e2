"""Shared fixtures and markers.

- ``pipeline_run``: the whole test-size workflow, run once per test session (tests that use it run
  Snakemake and must be marked ``workflow``: collection stops otherwise).
- ``embedded_geography``: the generator's geography at test size (scale 0.1, seed 20140601, the
  stream ``synthesize`` draws it from), drawn once per run (read only).
- ``embedded_households``: the generator's households at test size on that geography, from the
  stream ``synthesize`` draws them from, drawn once per run (read only).
- ``embedded_tree``: the embedded data at test size, written once per run from that geography and
  those households (read only); ``embedded_truth``: what ``synthesize`` returned for it.
- ``embedded_harmonised``: ``harmonise_year`` on each year of ``embedded_tree``, once per run.
- ``wildboottest_compiled_once``: the wildboottest package's numba functions compiled once per
  process (it recompiles a nested function on every call; the reference tests call it often).
- ``make_snakemake``: the ``snakemake`` object a rule's script receives (Snakemake's own class),
  for calling ``scripts/*.py``'s ``main`` directly.

Markers (registered in pyproject.toml, ``--strict-markers``): ``workflow`` = runs Snakemake
(``python -m pytest -m "not workflow"`` is the quick development run).
"""
from __future__ import annotations

import fcntl
import gc
import importlib.util
import os
import pickle
from pathlib import Path

import pytest

from pra.threads import single_threaded

# One BLAS/OpenMP/numba thread per process, before numpy loads (the test modules import it after
# this file): the xdist workers (-n auto) share the cores as Snakemake's jobs do, and a
# multi-threaded OpenBLAS per worker oversubscribes them (pra.threads; measured: the quick run's
# CPU time 10 % lower on 2 cores).
single_threaded()

# The cyclic garbage collector, tuned for a test run that builds many pandas frames: a young
# generation of 20,000 allocations instead of 700 (fewer collections), and the modules imported by
# collection frozen out of every later scan (pytest_collection_finish). Garbage is still
# collected, finalizers still run and pytest still reports unraisable exceptions; measured on
# 2 cores: the quick run's CPU time about 8 % lower.
GC_THRESHOLD = (20_000, 20, 20)
gc.set_threshold(*GC_THRESHOLD)

from workflow import ROOT, snakemake  # noqa: E402


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory):
    """Working directory of one complete test-size run (`rule all`, scale 0.1, --cores 2)."""
    workdir = tmp_path_factory.mktemp("pipeline")
    snakemake(workdir, "--cores", "2")
    return workdir


TEST_SCALE, TEST_SEED = 0.1, 20140601  # the test-size embedded data


def _shared_dir(tmp_path_factory) -> Path | None:
    """The run's temporary folder common to every pytest-xdist worker (None without xdist)."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return None
    return tmp_path_factory.getbasetemp().parent


def once_per_run(tmp_path_factory, name: str, build):
    """``build()``, computed once per test run: without xdist a session fixture's own caching
    does it; under pytest-xdist the first worker computes it under a lock and pickles it to the
    run's common temporary folder, the others wait and load it (the workers are processes and
    would otherwise each pay for it)."""
    shared = _shared_dir(tmp_path_factory)
    if shared is None:
        return build()
    path = shared / f"{name}.pickle"
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.is_file():
            value = build()
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
            os.replace(tmp, path)
            return value
    return pickle.loads(path.read_bytes())


@pytest.fixture(scope="session")
def embedded_geography(tmp_path_factory):
    """``build_geography`` at test size from the stream ``synthesize`` uses for the seed (read
    only: modules share it). The generator's determinism is tested apart
    (test_embedded_geography.py, test_embedded_files.py); here one draw serves every module."""
    def build():
        from pra.embedded.geography import build_geography
        from pra.embedded.synthesize import _rngs

        return build_geography(TEST_SCALE, _rngs(TEST_SEED)[0])

    return once_per_run(tmp_path_factory, "embedded_geography", build)


@pytest.fixture(scope="session")
def embedded_households(tmp_path_factory, embedded_geography):
    """``build_households`` at test size on ``embedded_geography`` from the stream ``synthesize``
    uses for the seed (read only): the households ``embedded_tree`` is written from."""
    def build():
        from pra.embedded.households import build_households
        from pra.embedded.synthesize import _rngs

        return build_households(embedded_geography, TEST_SCALE, _rngs(TEST_SEED)[1])

    return once_per_run(tmp_path_factory, "embedded_households", build)


@pytest.fixture(scope="session")
def embedded_tree(tmp_path_factory, embedded_geography, embedded_households):
    """The embedded data at test size (scale 0.1, seed 20140601), written once per session and
    shared by the modules that only read it; its geography and households are
    ``embedded_geography`` and ``embedded_households`` (the same draws ``synthesize`` makes: each
    builder has its own stream of the seed). Under pytest-xdist (``-n 2``) the workers share one
    copy: the first writes it under a lock in the run's common temporary folder, the others wait
    and read it (synthesize replaces the folder atomically). Beside the folder:
    ``synthesize.pickle``, what ``synthesize`` returned (``embedded_truth``)."""
    from pra.embedded.synthesize import synthesize

    def geography(scale, rng):
        assert scale == TEST_SCALE
        return embedded_geography

    def households(geo, scale, rng):
        assert geo is embedded_geography and scale == TEST_SCALE
        return embedded_households

    def write(out):
        truth = synthesize(out, scale=TEST_SCALE, seed=TEST_SEED, build_geography=geography,
                           build_households=households)
        (out.parent / "synthesize.pickle").write_bytes(pickle.dumps(truth))

    shared = _shared_dir(tmp_path_factory)
    if shared is None:
        out = tmp_path_factory.mktemp("embedded") / "tree"
        write(out)
        return out
    out = shared / f"embedded_{TEST_SCALE}_{TEST_SEED}" / "tree"
    with open(shared / f"embedded_{TEST_SCALE}_{TEST_SEED}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (out.parent / "synthesize.pickle").is_file():
            out.parent.mkdir(exist_ok=True)
            write(out)
    return out


@pytest.fixture(scope="session")
def embedded_truth(embedded_tree) -> dict:
    """What ``synthesize`` returned when it wrote ``embedded_tree`` (truth.json's content)."""
    return pickle.loads((embedded_tree.parent / "synthesize.pickle").read_bytes())


@pytest.fixture(scope="session")
def embedded_harmonised(tmp_path_factory, embedded_tree):
    """``{year: (table, ledger, report)}``: ``harmonise_year`` on each ENAHO year of
    ``embedded_tree`` with the centres as ``scripts/harmonise.py`` reads them (read only),
    prepared once for the six years (``PreparedCentres``: the same table and health entries,
    tests/test_ingest_shared.py)."""
    def build():
        from pra.embedded import layout
        from pra.ingest import harmonise_year, read_centres
        from pra.ingest.centres import PreparedCentres

        root = embedded_tree
        centres = PreparedCentres.of(read_centres(root / "centros_poblados.csv"))
        return {y: harmonise_year(root / "enaho", root / "enaho" / "2012", y, centres)
                for y in layout.YEARS}

    return once_per_run(tmp_path_factory, "embedded_harmonised", build)


_COMPILED: dict = {}


def _njit_once(*args, **kw):
    """numba.njit that compiles a function body once per process: the wildboottest package
    decorates a nested function inside ``get_denom``, so each call recompiled it (~1 CPU-s);
    the same code object, options and defaults get the same dispatcher (the same machine code,
    the same numbers)."""
    import numba

    if args and callable(args[0]):  # bare @njit
        return _njit_once()(args[0])

    def deco(f):
        if f.__closure__:  # free variables: compile as the package does
            return numba.njit(*args, **kw)(f)
        key = (f.__code__, f.__defaults__, args, tuple(sorted(kw.items())))
        if key not in _COMPILED:
            _COMPILED[key] = numba.njit(*args, **kw)(f)
        return _COMPILED[key]
    return deco


@pytest.fixture
def wildboottest_compiled_once(monkeypatch):
    """The wildboottest package's numba functions compiled once per process (``_njit_once``)."""
    import wildboottest.wildboottest as wb

    monkeypatch.setattr(wb, "njit", _njit_once)


# The costliest files of the quick run (CPU seconds measured on 2 cores under load, December 2026:
# 4-31 s each, the first with the embedded data's session fixtures; the other files under 4 s),
# costliest first. pytest-xdist's ``--dist loadfile`` hands a worker the next file when it is
# nearly done with its last, in collection order: starting with these keeps one worker from
# running a heavy file alone at the end. The first two do not wait for each other: the embedded
# data (conftest's session fixtures) is built by the first, the second needs none of it.
HEAVY_FIRST = ["test_validate_frames.py", "test_matching_embedded.py", "test_embedded_files.py",
               "test_ingest_harmonise.py", "test_embedded_geography.py", "test_did_specs.py",
               "test_grid.py", "test_bad_input.py", "test_did_estimate.py", "test_bad_input_read.py",
               "test_inference_curve.py", "test_geo.py", "test_matching.py",
               "test_embedded_households.py"]


def pytest_configure(config):
    # xdist's own reordering (by number of tests per file) would undo HEAVY_FIRST
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def pytest_collection_finish(session):
    # what collection imported lives as long as the run: keep it out of the collector's scans
    gc.collect()
    gc.freeze()


def pytest_collection_modifyitems(config, items):
    """A test that uses the session's pipeline run runs Snakemake: it must say so. Files in
    HEAVY_FIRST run first (a stable sort: the order within a file is kept)."""
    unmarked = [i.nodeid for i in items
                if "pipeline_run" in getattr(i, "fixturenames", ()) and i.get_closest_marker("workflow") is None]
    if unmarked:
        raise pytest.UsageError("tests using pipeline_run must be marked @pytest.mark.workflow: "
                                + ", ".join(unmarked))
    rank = {name: k for k, name in enumerate(HEAVY_FIRST)}
    items.sort(key=lambda i: rank.get(Path(str(i.fspath)).name, len(rank)))


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
