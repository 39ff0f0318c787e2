"""Monte Carlo runs without Snakemake: ``python -m pra.validate run|summarise|curve``.

For settings run beside the ``montecarlo`` target (docs/validation.md: the δ run, the scale-10
draw; docs/inference.md: the coverage runs): ``run`` writes one parquet per chunk of
``validation.chunk_size`` draws into ``--out`` (chunks already there are kept, so a run resumes),
``summarise`` gathers a folder's chunks and writes :func:`pra.validate.summary.summarise` as CSV;
``curve`` writes the effect curve's joint band coverage (:func:`pra.validate.curve.band_coverage`)
of one or more settings.
Several ``--configfile`` are merged in order (later keys win, nested blocks merged), as
Snakemake's ``--configfile`` does over ``config.yaml``.
"""
from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import pandas as pd


def load_config(paths) -> dict:
    """The merged configuration of ``paths`` (YAML files, in order)."""
    import yaml

    from pra.validate.draw import _deep_update

    cfg: dict = {}
    for p in paths:
        with open(p) as fh:
            _deep_update(cfg, yaml.safe_load(fh) or {})
    return cfg


def run_chunks(cfg: dict, out: Path, only: list[str] | None = None) -> None:
    """Every chunk of ``cfg['validation']`` (or of ``only``) not yet in ``out``, on one fixed
    geography. Several processes given disjoint ``only`` lists share the cores."""
    from pra.io import write_parquet_atomic
    from pra.validate import frames as F
    from pra.validate.chunks import chunk_draws, chunk_ids
    from pra.validate.draw import Settings, run_draws

    settings = Settings.from_config(cfg)
    v = cfg["validation"]
    out.mkdir(parents=True, exist_ok=True)
    fixed = F.fixed_geography(settings.scale, settings.seed)
    ids = chunk_ids(v["draws"], v["chunk_size"])
    unknown = sorted(set(only or ()) - set(ids))
    if unknown:
        raise ValueError(f"--chunks {unknown}: not chunks of {v['draws']} draws in chunks of {v['chunk_size']}")
    for c in ids:
        if only is not None and c not in only:
            continue
        path = out / f"{c}.parquet"
        if path.exists():
            continue
        t = time.perf_counter()
        rows = run_draws(settings, chunk_draws(c, v["draws"], v["chunk_size"]), fixed=fixed)
        write_parquet_atomic(rows, path)
        logging.info("chunk %s: %.1f s", c, time.perf_counter() - t)


def read_chunks(folder) -> pd.DataFrame:
    """A folder's chunks in draw order; draws must be 0 … n−1 (nothing silently missing)."""
    from pra.validate.draw import DRAW_COLUMNS

    files = sorted(Path(folder).glob("*.parquet"))
    if not files:
        raise FileNotFoundError(f"{folder}: no chunk files")
    draws = pd.concat([pd.read_parquet(p) for p in files], ignore_index=True)
    draws = draws.sort_values("draw", kind="stable").reset_index(drop=True)[DRAW_COLUMNS]
    ids = sorted(draws["draw"].unique().tolist())
    if ids != list(range(len(ids))):
        raise ValueError(f"{folder}: draws {ids[:3]}...{ids[-3:]} are not 0..{len(ids) - 1}")
    return draws


def _run(args) -> None:
    run_chunks(load_config(args.configfile), Path(args.out), args.chunks)


def _summarise(args) -> None:
    from pra.io import write_csv_atomic
    from pra.validate.summary import summarise

    summary = summarise(read_chunks(args.folder))
    write_csv_atomic(summary, Path(args.out), float_format="%.6g")
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(summary.to_string(index=False))


def settings_arg(specs) -> list[tuple[str, str]]:
    """``--setting label=folder ...`` as (label, folder) pairs."""
    pairs = [tuple(s.split("=", 1)) for s in specs]
    bad = [s for s, p in zip(specs, pairs) if len(p) != 2]
    if bad:
        raise ValueError(f"--setting {bad}: expected label=folder")
    return pairs


def _curve(args) -> None:
    from pra.io import write_csv_atomic
    from pra.validate.curve import band_coverage

    out = []
    for label, folder in settings_arg(args.setting):
        out.append(band_coverage(read_chunks(folder)).assign(setting=label))
    cov = pd.concat(out, ignore_index=True)
    cov = cov[["setting"] + [c for c in cov.columns if c != "setting"]]
    write_csv_atomic(cov, Path(args.out), float_format="%.6g")
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(cov.to_string(index=False))


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    p = argparse.ArgumentParser(prog="python -m pra.validate")
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="the draws of one setting, one parquet per chunk")
    r.add_argument("--configfile", nargs="+", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--chunks", nargs="+", help="only these chunk ids (e.g. 0003 0004): split a run across processes")
    r.set_defaults(func=_run)
    s = sub.add_parser("summarise", help="summary.csv of a folder of chunks")
    s.add_argument("--folder", required=True)
    s.add_argument("--out", required=True)
    s.set_defaults(func=_summarise)
    c = sub.add_parser("curve", help="the effect curve's joint band coverage of settings (label=folder ...)")
    c.add_argument("--setting", nargs="+", required=True)
    c.add_argument("--out", required=True)
    c.set_defaults(func=_curve)
    a = p.parse_args(argv)
    a.func(a)


__all__ = ["load_config", "main", "read_chunks", "run_chunks", "settings_arg"]
