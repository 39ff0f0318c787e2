"""Figures 6, 7 and 8 from the estimates store (PNG and PDF, byte-deterministic).

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

OUTCOME_LABELS = {
    "ln_pc_exp": "Ln(per capita expenditure)",
    "poor": "Monetary poverty",
    "subj_poor_living": "Subjective poverty (living conditions)",
    "poverty_gap": "Poverty gap",
}

_RC = {"pdf.fonttype": 42, "svg.hashsalt": "pra", "font.size": 9, "axes.spines.top": False,
       "axes.spines.right": False}


def save_figure(fig, paths: Sequence[str | Path]) -> None:
    pra_io.save_figure(fig, paths, dpi=150, bbox_inches="tight")


def _treat(store: pd.DataFrame, family: str, outcome: str) -> pd.DataFrame:
    s = store[(store["family"] == family) & (store["outcome"] == outcome) & (store["role"] == "treatment")]
    if s.empty:
        raise ValueError(f"estimates store: no '{family}' treatment rows for outcome {outcome!r}")
    return s


def _ci_plot(ax, x, coef, lo, hi, *, band: bool, xlabels=None):
    x = np.asarray(x, dtype=float)
    if band:
        ax.fill_between(x, lo, hi, color="0.8", label="95% CI")
    else:
        ax.vlines(x, lo, hi, color="0.5", label="95% CI")
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
    bw = float(band["band_km"].iloc[0])
    with plt.rc_context(_RC):
        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
        _ci_plot(axes[0], rad["radius_km"], rad["coef"], rad["ci_low"], rad["ci_high"], band=True)
        axes[0].set_xlabel("maximum distance for treatment (km)")
        axes[0].set_ylabel(OUTCOME_LABELS.get(outcome, outcome) + ": DD coefficient")
        axes[0].set_title("a) by treatment radius")
        labels = [f"{k * bw:g}–{(k + 1) * bw:g}" for k in band["k"]]
        _ci_plot(axes[1], band["k"], band["coef"], band["ci_low"], band["ci_high"], band=False,
                 xlabels=labels)
        axes[1].set_xlabel("distance band (km); farthest band omitted")
        axes[1].set_title("b) by distance band × post")
        axes[0].legend(frameon=False, loc="best")
        save_figure(fig, paths)


def figure7(store: pd.DataFrame, paths: Sequence[str | Path], outcome: str = "ln_pc_exp") -> None:
    """Conditional mean of ``outcome`` by year, treated vs control, with 95% CIs."""
    s = _treat(store, "means", outcome).copy()
    parts = s["term"].str.extract(r"cell::(\d{4})_(treated|control)")
    s["year"], s["group"] = parts[0].astype(int), parts[1]
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(6, 4))
        for g, style, off in (("treated", "o-", -0.05), ("control", "s--", 0.05)):
            d = s[s["group"] == g].sort_values("year")
            ax.errorbar(d["year"] + off, d["coef"], yerr=[d["coef"] - d["ci_low"], d["ci_high"] - d["coef"]],
                        fmt=style, color="black" if g == "treated" else "0.5", capsize=2, ms=4, label=g)
        ax.set_xlabel("year")
        ax.set_ylabel(OUTCOME_LABELS.get(outcome, outcome) + " (conditional mean)")
        ax.set_xticks(sorted(s["year"].unique()))
        ax.legend(frameon=False)
        save_figure(fig, paths)


def figure8(store: pd.DataFrame, paths: Sequence[str | Path],
            outcomes: Sequence[str] = ("ln_pc_exp", "poor", "subj_poor_living")) -> None:
    """Treated × semester coefficients (first semester omitted) with a 95% band, one panel each."""
    present = [o for o in outcomes if ((store["family"] == "semester") & (store["outcome"] == o)).any()]
    if not present:
        raise ValueError("estimates store: no 'semester' rows for any of " + ", ".join(outcomes))
    with plt.rc_context(_RC):
        fig, axes = plt.subplots(1, len(present), figsize=(4.5 * len(present), 4), squeeze=False)
        for ax, o, letter in zip(axes[0], present, "abcdef"):
            s = _treat(store, "semester", o).copy()
            s["sem"] = s["term"].str.extract(r"semester::([^:]+):")[0]
            ref = re.search(r'ref="([^"]+)"', s["terms"].iloc[0]).group(1)
            zero = pd.DataFrame({"sem": [ref], "coef": [0.0], "ci_low": [0.0], "ci_high": [0.0]})
            s = pd.concat([zero, s[["sem", "coef", "ci_low", "ci_high"]]], ignore_index=True)
            s["_k"] = s["sem"].map(lambda v: (int(v[:4]), len(v.split("-")[1])))
            s = s.sort_values("_k")
            _ci_plot(ax, np.arange(len(s)), s["coef"], s["ci_low"], s["ci_high"], band=True,
                     xlabels=list(s["sem"]))
            ax.set_title(f"{letter}) {OUTCOME_LABELS.get(o, o)}")
        save_figure(fig, paths)
