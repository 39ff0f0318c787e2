"""Figures 6, 7 and 8 from the estimates store (PNG and PDF, byte-deterministic).

Labels come from the store: the outcomes it holds, the radius and sample space of the
specifications drawn (:mod:`pra.report.design` words them as the tables do).

Determinism: fixed rcParams (Agg backend, ``svg.hashsalt``, ``pdf.fonttype`` 42), PDF metadata
``CreationDate=None`` and PNG metadata ``Software=None``; nothing depends on the clock.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from pra import io as pra_io  # noqa: E402
from pra.report.design import cluster_text, km, ordered_outcomes, outcome_label  # noqa: E402

_RC = {"pdf.fonttype": 42, "svg.hashsalt": "pra", "font.size": 9, "axes.spines.top": False,
       "axes.spines.right": False}


def save_figure(fig, paths: Sequence[str | Path]) -> None:
    pra_io.save_figure(fig, paths, dpi=150, bbox_inches="tight")


def _treat(store: pd.DataFrame, family: str, outcome: str) -> pd.DataFrame:
    s = store[(store["family"] == family) & (store["outcome"] == outcome) & (store["role"] == "treatment")]
    if s.empty:
        raise ValueError(f"estimates store: no '{family}' treatment rows for outcome {outcome!r}")
    return s


def _one(s: pd.DataFrame, column: str):
    vals = s[column].dropna().unique()
    if len(vals) != 1:
        raise ValueError(f"estimates store: {len(vals)} values of {column!r} in the rows of one figure panel")
    return vals[0]


def _ci_label(s: pd.DataFrame) -> str:
    cl = s["cluster"].dropna().unique() if "cluster" in s.columns else []
    return "95% CI" + (f" (clustered by {cluster_text(cl[0]).split(' (')[0]})" if len(cl) == 1 else "")


def _ci_plot(ax, x, coef, lo, hi, *, band: bool, xlabels=None, ci_label: str = "95% CI"):
    x = np.asarray(x, dtype=float)
    if band:
        ax.fill_between(x, lo, hi, color="0.8", label=ci_label)
    else:
        ax.vlines(x, lo, hi, color="0.5", label=ci_label)
    ax.plot(x, coef, "o-" if band else "o", color="black", ms=4, label="estimate")
    ax.axhline(0, color="0.3", lw=0.7, ls="--")
    if xlabels is not None:
        ax.set_xticks(x)
        ax.set_xticklabels(xlabels, rotation=60, ha="right")


def figure6(store: pd.DataFrame, paths: Sequence[str | Path], outcome: str = "ln_pc_exp") -> None:
    """(a) DD coefficient by maximum treatment distance; (b) by 2.5 km band against the farthest."""
    rad = _treat(store, "radius", outcome).sort_values("radius_km")
    band = _treat(store, "band", outcome).copy()
    band["k"] = band["term"].map(lambda t: int(float(re.match(r"dband::([0-9.]+):", t).group(1))))
    band = band.sort_values("k")
    bw = float(_one(band, "band_km"))
    space = km(_one(rad, "sample_space_km"))
    with plt.rc_context(_RC):
        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
        _ci_plot(axes[0], rad["radius_km"], rad["coef"], rad["ci_low"], rad["ci_high"], band=True,
                 ci_label=_ci_label(rad))
        axes[0].set_xlabel(f"maximum distance for treatment (km); controls up to {space} km")
        axes[0].set_ylabel(outcome_label(outcome) + ": DD coefficient")
        axes[0].set_title("a) by treatment radius")
        labels = [f"{k * bw:g}–{(k + 1) * bw:g}" for k in band["k"]]
        _ci_plot(axes[1], band["k"], band["coef"], band["ci_low"], band["ci_high"], band=False,
                 xlabels=labels, ci_label=_ci_label(band))
        axes[1].set_xlabel(f"distance band (km, width {bw:g}); farthest band omitted")
        axes[1].set_title("b) by distance band × post")
        axes[0].legend(frameon=False, loc="best")
        save_figure(fig, paths)


def figure7(store: pd.DataFrame, paths: Sequence[str | Path], outcome: str = "ln_pc_exp") -> None:
    """Conditional mean of ``outcome`` by year, treated vs control, with 95% CIs."""
    s = _treat(store, "means", outcome).copy()
    parts = s["term"].str.extract(r"cell::(\d{4})_(treated|control)")
    s["year"], s["group"] = parts[0].astype(int), parts[1]
    radius, space = km(_one(s, "radius_km")), km(_one(s, "sample_space_km"))
    legend = {"treated": f"treated (≤ {radius} km)", "control": f"control ({radius}–{space} km)"}
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(6, 4))
        for g, style, off in (("treated", "o-", -0.05), ("control", "s--", 0.05)):
            d = s[s["group"] == g].sort_values("year")
            ax.errorbar(d["year"] + off, d["coef"], yerr=[d["coef"] - d["ci_low"], d["ci_high"] - d["coef"]],
                        fmt=style, color="black" if g == "treated" else "0.5", capsize=2, ms=4, label=legend[g])
        ax.set_xlabel("year")
        ax.set_ylabel(outcome_label(outcome) + " (conditional mean)")
        ax.set_xticks(sorted(s["year"].unique()))
        ax.legend(frameon=False)
        save_figure(fig, paths)


def figure8(store: pd.DataFrame, paths: Sequence[str | Path], outcomes: Sequence[str] | None = None) -> None:
    """Treated × semester coefficients (first semester omitted) with a 95% band, one panel per
    outcome (default: every DD outcome of the semester family; the poverty gap is Table 13b)."""
    sem_outcomes = set(store.loc[store["family"] == "semester", "outcome"])
    if outcomes is None:
        outcomes = [o for o in ordered_outcomes(sem_outcomes) if o != "poverty_gap"]
    present = [o for o in outcomes if o in sem_outcomes]
    if not present:
        raise ValueError("estimates store: no 'semester' rows for any of " + ", ".join(outcomes))
    with plt.rc_context(_RC):
        fig, axes = plt.subplots(1, len(present), figsize=(4.5 * len(present), 4), squeeze=False)
        for ax, o, letter in zip(axes[0], present, "abcdef"):
            s = _treat(store, "semester", o).copy()
            ci = _ci_label(s)
            s["sem"] = s["term"].str.extract(r"semester::([^:]+):")[0]
            ref = re.search(r'ref="([^"]+)"', s["terms"].iloc[0]).group(1)
            zero = pd.DataFrame({"sem": [ref], "coef": [0.0], "ci_low": [0.0], "ci_high": [0.0]})
            s = pd.concat([zero, s[["sem", "coef", "ci_low", "ci_high"]]], ignore_index=True)
            s["_k"] = s["sem"].map(lambda v: (int(v[:4]), len(v.split("-")[1])))
            s = s.sort_values("_k")
            _ci_plot(ax, np.arange(len(s)), s["coef"], s["ci_low"], s["ci_high"], band=True,
                     xlabels=list(s["sem"]), ci_label=ci)
            ax.set_title(f"{letter}) {outcome_label(o)}")
            ax.set_xlabel(f"semester ({ref} omitted)")
        save_figure(fig, paths)
