"""Specification curves (Simonsohn, Simmons and Nelson 2020): the estimates of the effect of one
outcome under every specification, sorted, with the choices that produced each one beneath.

A curve holds *effect* specifications only: alternative estimates of the same quantity, the
effect of D = treated × post. Placebos (a false start in the pre-period), the year × group means
of Figure 7, event-study (semester) terms, band, subgroup and Post × has-laborer effects estimate
other things; they have their own figures and tables and are left out, with their row counts
returned so the caller logs them and the footnote states them (nothing dropped silently).

Study grid (:func:`curve_data`, :func:`plot_curve`): the treatment rows with term ``D`` of the
families base, radius, ring, sample (and gap for the poverty gap). The same specification reached
by two families (the base model 3 is also the radius-10 spec) is drawn once; duplicates are
counted. Upper panel: estimate and 95% interval, sorted by estimate (ties by spec_id), filled where
p < 0.05; lower panel: one line per choice value, a mark where the estimate used it.

Full grid (:func:`grid_curve_data`, :func:`plot_grid_curve`): thousands of estimates. Upper panel:
the sorted estimates as points (black: p < 0.05) over the band of their 95% intervals; lower
panels: one row per choice value, the sorted specifications cut into bins, each cell shaded by the
share of the bin's specifications that used the value (a density indicator, legible at any size).
The joint test's p-values (:mod:`pra.grid.joint`) go in the title.
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

CURVE_FAMILIES = ["base", "radius", "ring", "sample", "gap"]
NOT_EFFECTS = {"placebo": "placebo, not an effect specification", "means": "year × group means",
               "semester": "event-study terms", "band": "distance-band effects",
               "subgroup": "subgroup effects"}
CHOICES = ["family", "model", "radius_km", "ring", "sample"]
CHOICE_LABELS = {"family": "family", "model": "model", "radius_km": "radius (km)", "ring": "ring dropped (km)",
                 "sample": "sample"}
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
        what = ("interaction terms" if fam in CURVE_FAMILIES
                else NOT_EFFECTS.get(fam, "not a single D effect"))
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


# --------------------------------------------------------------------------------------------
# the full grid


def grid_curve_data(store: pd.DataFrame, outcome: str) -> tuple[pd.DataFrame, dict[str, int]]:
    """The full grid's curve of ``outcome``: its effect rows (term D) with an estimate, sorted by
    estimate (ties by spec_id), with ``rank``; and the rows left out by reason."""
    from pra.grid.specs import CHOICES as GRID_CHOICES

    miss = [c for c in ["spec_id", "outcome", "term", "status", "coef", "ci_low", "ci_high", "pvalue"]
            + [c for c in GRID_CHOICES if c != "outcome"] if c not in store.columns]
    if miss:
        raise KeyError(f"grid_curve_data: grid store lacks column(s) {miss}")
    t = store[store["outcome"] == outcome]
    if t.empty:
        raise ValueError(f"grid_curve_data: no rows for outcome {outcome!r} in the grid store")
    keep = (t["term"] == "D") & (t["status"] == "ok") & t["coef"].notna()
    left_out = {f"term {k}": int(n) for k, n in t.loc[t["term"] != "D", "term"].value_counts().sort_index().items()}
    bad = t[(t["term"] == "D") & ~keep]
    left_out.update({f"not estimated: {k}": int(n) for k, n in bad["status"].value_counts().sort_index().items()})
    d = t[keep].sort_values(["coef", "spec_id"], kind="mergesort").reset_index(drop=True)
    d.insert(0, "rank", np.arange(1, len(d) + 1))
    return d, left_out


def _grid_value(col: str, v) -> str:
    if col in ("radius_km", "sample_space_km", "ring_km"):
        return "none" if col == "ring_km" and float(v) == 0 else f"{float(v):g}"
    return str(v)


def plot_grid_curve(d: pd.DataFrame, outcome: str, paths: Sequence[str | Path], *, joint: dict | None = None,
                    left_out: dict[str, int] | None = None, bins: int = 120, alpha: float = 0.05) -> None:
    """Draw a full-grid curve (:func:`grid_curve_data` rows) to every path; deterministic bytes."""
    from pra.grid.specs import CHOICE_LABELS as GRID_LABELS
    from pra.grid.specs import CHOICES as GRID_CHOICES

    choices = [c for c in GRID_CHOICES if c != "outcome"]
    lines: list[tuple[str, str]] = []
    for c in choices:
        vals = sorted({_grid_value(c, v) for v in d[c]}, key=lambda v: (v != "none", _num_or_text(v)))
        lines += [(c, v) for v in vals]
    n = len(d)
    nb = max(1, min(int(bins), n))
    edges = np.linspace(0, n, nb + 1).round().astype(int)
    which = np.searchsorted(edges, np.arange(n), side="right") - 1
    dens = np.zeros((len(lines), nb))
    size = np.bincount(which, minlength=nb).astype(float)
    for i, (c, v) in enumerate(lines):
        on = np.array([_grid_value(c, x) == v for x in d[c]])
        dens[i] = np.bincount(which, weights=on.astype(float), minlength=nb) / np.where(size > 0, size, 1)
    x = d["rank"].to_numpy()
    coef = d["coef"].to_numpy()
    sig = (d["pvalue"] < alpha).to_numpy()
    with plt.rc_context(_RC):
        fig, (ax, bx) = plt.subplots(2, 1, figsize=(9.0, 3.4 + 0.15 * len(lines)), sharex=True,
                                     gridspec_kw={"height_ratios": [2.4, 0.15 * len(lines) + 0.3]})
        ax.fill_between(x, d["ci_low"].to_numpy(), d["ci_high"].to_numpy(), color="0.85", lw=0,
                        label="95% CI", step="mid")
        ax.scatter(x[~sig], coef[~sig], s=1.5, color="0.55", lw=0, label=f"p ≥ {alpha:g}", rasterized=True)
        ax.scatter(x[sig], coef[sig], s=1.5, color="black", lw=0, label=f"p < {alpha:g}", rasterized=True)
        ax.axhline(0, color="0.3", lw=0.7, ls="--")
        ax.set_ylabel("estimate and 95% CI")
        title = f"Specification curve: {OUTCOME_LABELS.get(outcome, outcome)} ({n:,} estimates)"
        if joint:
            title += ("\njoint test under no effect: p(median) = {p_median:.3f}, p(share significant) = "
                      "{p_share_significant:.3f}, p(share {dominant_sign}) = {p_share_dominant_sign:.3f}; "
                      "{draws} draws").format(**joint)
        ax.set_title(title, fontsize=8.5)
        ax.legend(loc="upper left", frameon=False, fontsize=7, markerscale=4)
        bx.imshow(dens, aspect="auto", cmap="Greys", vmin=0, vmax=1, interpolation="nearest",
                  extent=(0.5, n + 0.5, len(lines) - 0.5, -0.5))
        for i in range(1, len(lines)):
            if lines[i][0] != lines[i - 1][0]:
                bx.axhline(i - 0.5, color="tab:blue", lw=0.6)
        bx.set_yticks(range(len(lines)))
        bx.set_yticklabels([f"{GRID_LABELS[c]}: {v}" for c, v in lines], fontsize=6.5)
        bx.set_xlabel(f"specification (sorted by estimate); shade = share of the {nb} bins' "
                      "specifications using the choice")
        bx.set_xlim(0.5, n + 0.5)
        if left_out:
            note = "Not drawn: " + ", ".join(f"{k}: {v} rows" for k, v in left_out.items())
            fig.text(0.01, 0.0, textwrap.fill(note, 140), fontsize=6, color="0.3", va="top")
        fig.tight_layout()
        save_figure(fig, paths)
