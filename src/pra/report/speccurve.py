"""Specification curve: every DD estimate of the grid for one outcome, sorted, with the choices.

Which estimates: the treatment rows whose term is the single effect ``D`` (treated × post), i.e.
the families base, radius, ring, sample, placebo (and gap for the poverty gap). Families whose
treatment rows are several effects of a different meaning (band × post, treated × semester,
subgroup interactions, the year × group means of Figure 7, the Post × has-laborer split) are not
comparable with ``D`` and are left out; :func:`curve_data` returns their row counts by family so
the caller logs them and the figure's footnote states them (nothing dropped silently). The same
specification reached by two families (the base model 3 is also the radius-10 spec) is drawn once;
those duplicates are counted too.

Upper panel: estimate and 95% interval, sorted by estimate (ties by spec_id: deterministic),
filled where p < 0.05. Lower panel: one line per choice value (family, model, radius, ring, sample,
placebo start), a mark where the estimate used it.
"""
from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from pra.did.figures import _RC, save_figure  # noqa: E402

CURVE_FAMILIES = ["base", "radius", "ring", "sample", "placebo", "gap"]
CHOICES = ["family", "model", "radius_km", "ring", "sample", "placebo_start"]
CHOICE_LABELS = {"family": "family", "model": "model", "radius_km": "radius (km)", "ring": "ring dropped (km)",
                 "sample": "sample", "placebo_start": "placebo start"}
OUTCOME_LABELS = {"ln_pc_exp": "Ln(per capita expenditure)", "poor": "Monetary poverty",
                  "subj_poor_living": "Subjective poverty (living conditions)", "poverty_gap": "Poverty gap"}


def _choice_value(col: str, v) -> str:
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return "none" if col in ("ring", "placebo_start") else "—"
    if col == "radius_km":
        return f"{float(v):g}"
    if col in ("model", "placebo_start"):
        return str(int(v))
    return str(v)


def curve_data(store: pd.DataFrame, outcome: str) -> tuple[pd.DataFrame, dict[str, int]]:
    """The curve's rows (sorted, with ``rank`` and one text column per choice) and the rows left
    out: ``{"family:<f>": rows, "duplicate_spec": rows}``."""
    need = ["spec_id", "family", "outcome", "term", "role", "coef", "ci_low", "ci_high", "pvalue"] + CHOICES[1:]
    miss = [c for c in need if c not in store.columns]
    if miss:
        raise KeyError(f"curve_data: estimates store lacks column(s) {miss}")
    t = store[(store["outcome"] == outcome) & (store["role"] == "treatment")]
    if t.empty:
        raise ValueError(f"curve_data: no treatment rows for outcome {outcome!r} in the estimates store")
    keep = t["family"].isin(CURVE_FAMILIES) & (t["term"] == "D")
    left_out: dict[str, int] = {}
    for fam, n in t.loc[~keep, "family"].value_counts().sort_index().items():
        what = "interaction terms" if fam in CURVE_FAMILIES else "not a single D effect"
        left_out[f"family:{fam} ({what})"] = int(n)
    d = t[keep].copy()
    for c in CHOICES[1:]:
        d[c + "_v"] = [_choice_value(c, v) for v in d[c]]
    d["family_v"] = d["family"].astype(str)
    key = [c + "_v" for c in CHOICES[1:]]
    fam_order = {f: i for i, f in enumerate(CURVE_FAMILIES)}
    d = d.assign(_f=d["family"].map(fam_order)).sort_values(["_f", "spec_id"], kind="mergesort")
    dup = d.duplicated(key, keep="first")
    if dup.any():
        left_out["duplicate_spec"] = int(dup.sum())
    d = d[~dup].drop(columns="_f")
    d = d.sort_values(["coef", "spec_id"], kind="mergesort").reset_index(drop=True)
    d.insert(0, "rank", np.arange(1, len(d) + 1))
    return d, left_out


def plot_curve(store: pd.DataFrame, outcome: str, paths: Sequence[str | Path]) -> tuple[pd.DataFrame, dict[str, int]]:
    """Draw the specification curve of ``outcome`` to every path (.png/.pdf), deterministic bytes."""
    d, left_out = curve_data(store, outcome)
    # the choice lines: only choices that vary or are informative; fixed order of values
    lines: list[tuple[str, str]] = []
    for c in CHOICES:
        vals = sorted(set(d[c + "_v"]), key=lambda v: (v in ("none", "—"), _num_or_text(v)))
        lines += [(c, v) for v in vals]
    x = d["rank"].to_numpy()
    with plt.rc_context(_RC):
        fig, (ax, bx) = plt.subplots(2, 1, figsize=(max(6.0, 0.12 * len(d) + 3), 3.2 + 0.16 * len(lines)),
                                     sharex=True, gridspec_kw={"height_ratios": [2.2, 0.16 * len(lines) + 0.4]})
        sig = (d["pvalue"] < 0.05).to_numpy()
        ax.vlines(x, d["ci_low"], d["ci_high"], color="0.6", lw=0.8)
        ax.scatter(x[sig], d["coef"].to_numpy()[sig], s=14, color="black", zorder=3, label="p < 0.05")
        ax.scatter(x[~sig], d["coef"].to_numpy()[~sig], s=14, facecolors="white", edgecolors="black",
                   zorder=3, label="p ≥ 0.05")
        ax.axhline(0, color="0.3", lw=0.7, ls="--")
        ax.set_ylabel("estimate and 95% CI")
        ax.set_title(f"Specification curve: {OUTCOME_LABELS.get(outcome, outcome)} ({len(d)} estimates)")
        ax.legend(loc="upper left", frameon=False, fontsize=7)
        for i, (c, v) in enumerate(lines):
            on = (d[c + "_v"] == v).to_numpy()
            bx.scatter(x[on], np.full(on.sum(), i), marker="s", s=10, color="black")
        bx.set_yticks(range(len(lines)))
        bx.set_yticklabels([f"{CHOICE_LABELS[c]}: {v}" for c, v in lines], fontsize=7)
        bx.set_ylim(len(lines) - 0.5, -0.5)
        bx.set_xlabel("specification (sorted by estimate)")
        bx.grid(axis="y", color="0.92", lw=0.6)
        bx.set_xlim(0.3, len(d) + 0.7)
        if left_out:
            note = "Not drawn: " + ", ".join(f"{k}: {v} rows" for k, v in left_out.items())
            fig.text(0.01, 0.0, textwrap.fill(note, 120), fontsize=6, color="0.3", va="top")
        fig.tight_layout()
        save_figure(fig, paths)
    return d, left_out


def _num_or_text(v: str):
    try:
        return (0, float(v), "")
    except ValueError:
        return (1, 0.0, v)
