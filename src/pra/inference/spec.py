"""From a DD specification of the study to a demeaned design, and one tidy table of every
standard-error type for one fitted DD (the entry point the workflow and the Monte Carlo harness
call).

:func:`spec_design` prepares the estimation frame exactly as the DD batches do
(:func:`pra.did.specs.prepare_sample`, the model's controls of :func:`pra.did.specs.model_controls`)
and expands pyfixest's ``i()`` terms into plain columns, so that :func:`pra.inference.design.build_design`
fits the same regression (same coefficient as :func:`pra.did.estimate`, tested).

:func:`se_table` returns one row per SE type: the study's CRV1 by ``did.cluster``, the other
one-way and two-way cluster choices, Conley at each cutoff and the wild cluster restricted
bootstrap for each (cluster, weights) pair, with estimate, SE, CI and p-value.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from pra.did.batch import _split_terms
from pra.did.specs import FIXED_EFFECTS, model_controls, prepare_sample
from pra.did.subgroups import SUBGROUPS

from .bootstrap import WildBootstrap
from .clustering import cluster_se
from .conley import conley_se
from .design import Design, build_design

__all__ = ["SeSettings", "settings_from_config", "expand_terms", "spec_design", "se_table",
           "SE_COLUMNS"]

SE_COLUMNS = ["method", "kind", "coef", "se", "ci_low", "ci_high", "pvalue", "nclusters", "df",
              "nobs"]
_I_TERM = re.compile(r"^i\(\s*(\w+)\s*,\s*(\w+)\s*(?:,\s*ref\s*=\s*\"?([^\")]+)\"?\s*)?\)$")


@dataclass(frozen=True)
class SeSettings:
    """The SE types of :func:`se_table` (from ``config["inference"]``: :func:`settings_from_config`)."""

    study_cluster: str = "locality"
    clusters: tuple[str, ...] = ("ubigeo",)
    two_way: tuple[str, ...] = ("locality + ubigeo^year",)
    conley_cutoffs_km: tuple[float, ...] = (5.0, 10.0, 20.0, 50.0)
    conley_kernel: str = "uniform"
    bootstrap_clusters: tuple[str, ...] = ("ubigeo",)
    bootstrap_weights: tuple[str, ...] = ("rademacher", "webb")
    bootstrap_reps: int = 999
    seed: int = 0
    level: float = 0.95


def settings_from_config(config: Mapping) -> SeSettings:
    inf = config["inference"]
    se = inf["se"]
    boot = inf["bootstrap"]
    return SeSettings(
        study_cluster=str(config["did"]["cluster"]), clusters=tuple(se["clusters"]),
        two_way=tuple(se["two_way"]), conley_cutoffs_km=tuple(float(c) for c in se["conley_cutoffs_km"]),
        conley_kernel=str(se["conley_kernel"]), bootstrap_clusters=tuple(boot["clusters"]),
        bootstrap_weights=tuple(boot["weights"]), bootstrap_reps=int(boot["reps"]),
        seed=int(config["seed"]), level=float(inf["level"]))


def _level_name(v) -> str:
    s = str(v)
    return re.sub(r"[^0-9A-Za-z]+", "_", s).strip("_")


def expand_terms(frame: pd.DataFrame, terms: Sequence[str]) -> tuple[pd.DataFrame, list[str]]:
    """Plain columns for formula terms: a column name stays; ``i(a, b, ref=r)`` becomes
    ``b × 1[a = level]`` for every level of ``a`` but ``r`` (all levels without ``ref``), named
    ``a::level:b`` as pyfixest names them. Returns the frame with the new columns and their names."""
    new, names = {}, []
    for t in terms:
        t = t.strip()
        m = _I_TERM.match(t)
        if not m:
            if t not in frame.columns:
                raise KeyError(f"inference: term {t!r} is not a column of the estimation frame")
            names.append(t)
            continue
        a, b, ref = m.group(1), m.group(2), m.group(3)
        for col in (a, b):
            if col not in frame.columns:
                raise KeyError(f"inference: column {col!r} of term {t!r} is not in the estimation frame")
        av = frame[a]
        levels = sorted(pd.unique(av.dropna()), key=lambda v: (str(type(v)), v))
        for lv in levels:
            if ref is not None and str(lv) == ref.strip():
                continue
            name = f"{a}::{lv}:{b}"
            new[name] = np.where(av.isna(), np.nan, (av == lv).to_numpy(float) * frame[b].to_numpy(float))
            names.append(name)
    if new:
        frame = frame.assign(**new)
    # an all-zero column (a level with no variation, e.g. a semester with no treated household)
    # cannot be estimated: pyfixest drops it too
    keep = [n for n in names if np.nanmax(np.abs(frame[n].to_numpy(float)), initial=0.0) > 0]
    return frame, keep


def spec_design(sample: pd.DataFrame, spec: Mapping, keep: Sequence[str] = ()) -> tuple[Design, list[str]]:
    """The demeaned design of one DD specification (``base``, ``semester``, ``subgroup``, ...:
    the fields of :func:`pra.did.specs.build_specs`) on the spatial sample table. ``keep``: further
    columns the caller needs on the used rows (cluster ids, coordinates). Returns the design and
    the names of its treatment columns (the spec's terms, expanded)."""
    frame, _ = prepare_sample(sample, dict(spec))
    ref_year = int(frame["year"].min())
    terms = _split_terms(str(spec["terms"]))
    controls = model_controls(int(spec["model"]), ref_year)
    sub = spec.get("subgroup")
    if sub and SUBGROUPS[sub].main_effect:
        controls.append(SUBGROUPS[sub].main_effect)
    frame, tnames = expand_terms(frame, terms)
    frame, cnames = expand_terms(frame, controls)
    d = build_design(frame, str(spec["outcome"]), tnames + [c for c in cnames if c not in tnames],
                     FIXED_EFFECTS, keep=keep, drop_collinear=True)
    return d, [t for t in tnames if t in d.names]


def _row(method: str, kind: str, r) -> dict:
    return {"method": method, "kind": kind, "coef": r.coef, "se": r.se, "ci_low": r.ci_low,
            "ci_high": r.ci_high, "pvalue": r.pvalue, "nclusters": r.nclusters, "df": r.df, "nobs": r.nobs}


def se_table(design: Design, term: str, settings: SeSettings = SeSettings(),
             lat: str = "latitude", lon: str = "longitude", time: str | None = "year") -> pd.DataFrame:
    """Every SE type for ``term`` of one fitted DD: one row each (:data:`SE_COLUMNS`).

    ``method`` names the type (``CRV1:locality``, ``CRV1:locality + ubigeo^year``,
    ``conley:uniform:50km:within-year``, ``WCR:ubigeo:webb``); ``kind`` groups them (study,
    cluster, two-way, conley, bootstrap). The bootstrap's ``se`` is the CRV1 SE of its t; its p-value
    and CI come from the bootstrap (H0: coef = 0; CI by test inversion)."""
    s = settings
    rows = [_row(f"CRV1:{s.study_cluster}", "study", cluster_se(design, term, s.study_cluster, s.level))]
    for c in s.clusters:
        if c != s.study_cluster:
            rows.append(_row(f"CRV1:{c}", "cluster", cluster_se(design, term, c, s.level)))
    for c in s.two_way:
        rows.append(_row(f"CRV1:{c}", "two-way", cluster_se(design, term, c, s.level)))
    for r in conley_se(design, term, s.conley_cutoffs_km, s.conley_kernel, lat, lon, time, s.level):
        rows.append(_row(r.method, "conley", r))
    for c in s.bootstrap_clusters:
        first = None
        for w in s.bootstrap_weights:
            if first is None:
                wb = first = WildBootstrap(design, term, c, w, s.bootstrap_reps, s.seed)
            else:  # the weight-free algebra is shared
                wb = first.reweight(w, s.bootstrap_reps, s.seed)
            lo, hi = wb.ci(s.level)
            rows.append({"method": f"WCR:{c}:{w}", "kind": "bootstrap", "coef": wb.coef, "se": wb.se,
                         "ci_low": lo, "ci_high": hi, "pvalue": wb.pvalue(), "nclusters": wb.G,
                         "df": None, "nobs": design.n})
    out = pd.DataFrame(rows, columns=SE_COLUMNS)
    out["nclusters"] = out["nclusters"].astype("Int64")
    out["df"] = out["df"].astype("Int64")
    out.insert(0, "term", term)
    return out
