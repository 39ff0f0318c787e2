"""Map 2: the matching-DD sample (study Map 2): sample-frame districts (corridor vs adjacent)
and the baseline (ENAHO 2009) and follow-up (programme survey 2012) households.

Drawn like Map 1 (:mod:`pra.geo.maps`) on the real department boundaries; the sample-frame
districts are filled with their real district polygons (INEI 2007 census limits). A frame
district the polygon file lacks (created after 2007, or one of the file's 8 districts without a
geometry) is drawn as a square at its capital and counted in the caption. Deterministic output
(no timestamps), written atomically.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from pra.geo.maps import (BOUNDARY_CREDIT, district_capitals, district_polygons, draw_departments,
                          draw_polygons, frame_axes)
from pra.io import save_figure

GROUP_COLOURS = {"corredor": "#31a354", "adyacente": "#3182bd"}
GROUP_NAMES = {"corredor": "corridor (treated)", "adyacente": "adjacent (control)"}


def _frame_districts(frame: pd.DataFrame):
    """Frame districts split into those with a polygon and those drawn at their capital."""
    fr = frame[["ubigeo", "grupo"]].copy()
    fr["ubigeo"] = fr["ubigeo"].astype(str).str.zfill(6)
    fr = fr.sort_values("ubigeo", kind="stable")
    polys = district_polygons()
    has_poly = fr["ubigeo"].isin(polys)
    cap = district_capitals()[["ubigeo", "latitud", "longitud"]]
    at_capital = fr[~has_poly].merge(cap, on="ubigeo", how="left")
    return fr[has_poly], at_capital, polys


def map2(sample: pd.DataFrame, frame: pd.DataFrame, *, paths, dpi: int = 150) -> dict:
    """Draw Map 2 to every path in ``paths``; returns what was drawn and what was not.

    ``sample``: the matching sample (period, grupo, latitude, longitude); ``frame``: ubigeo,
    grupo. Households without coordinates and frame districts without a polygon or capital are
    counted in the caption, not dropped silently.
    """
    for c in ("period", "grupo", "latitude", "longitude"):
        if c not in sample.columns:
            raise KeyError(f"map2: the matching sample lacks column {c!r}")
    with_poly, at_capital, polys = _frame_districts(frame)
    n_frame_missing = int(at_capital["latitud"].isna().sum())
    at_capital = at_capital.dropna(subset=["latitud", "longitud"])

    hh = sample[["period", "grupo", "latitude", "longitude"]].copy()
    drawable = hh["latitude"].notna() & hh["longitude"].notna()
    n_missing = int((~drawable).sum())
    # one dot per distinct point, sorted, for a deterministic drawing order
    pts = (hh[drawable].groupby(["period", "grupo", "latitude", "longitude"], sort=True).size()
           .rename("n").reset_index())

    fig, ax = plt.subplots(figsize=(7.5, 9.5))
    departments = draw_departments(ax)
    for grp in ("adyacente", "corredor"):
        codes = with_poly.loc[with_poly["grupo"] == grp, "ubigeo"]
        draw_polygons(ax, {u: polys[u] for u in codes}, facecolor=GROUP_COLOURS[grp], alpha=0.3,
                      edgecolor=GROUP_COLOURS[grp], linewidth=0.3, zorder=2)
        f = at_capital[at_capital["grupo"] == grp]
        ax.scatter(f["longitud"], f["latitud"], s=22, marker="s", facecolors="none",
                   edgecolors=GROUP_COLOURS[grp], linewidths=0.6, zorder=2)
        n = len(codes) + len(f)
        ax.fill([], [], color=GROUP_COLOURS[grp], alpha=0.3,
                label=f"frame districts, {GROUP_NAMES[grp]} ({n:,})")
    periods = sorted(pts["period"].unique())
    markers = ["o", "x"]
    for k, period in enumerate(periods):
        src = "ENAHO" if k == 0 else "programme survey"
        for grp in ("adyacente", "corredor"):
            p = pts[(pts["period"] == period) & (pts["grupo"] == grp)]
            label = f"{src} {int(period)}, {GROUP_NAMES[grp]} ({int(p['n'].sum()):,} households)"
            ax.scatter(p["longitude"], p["latitude"], s=7 if k == 0 else 9, marker=markers[k % 2],
                       c=GROUP_COLOURS[grp], linewidths=0 if k == 0 else 0.6, alpha=0.85,
                       zorder=4 + k, label=label)
    frame_axes(ax, "Map 2. Identification of the matching-DD sample")
    ax.legend(loc="lower left", fontsize=6.5, frameon=True)
    caption = "Sample-frame districts filled with their 2007 census limits."
    if len(at_capital):
        caption += (f" {len(at_capital):,} frame districts without a polygon in the boundary file"
                    " are drawn as squares at their capital.")
    if n_missing:
        caption += f" {n_missing:,} households without coordinates are not drawn."
    if n_frame_missing:
        caption += f" {n_frame_missing:,} frame districts in neither list are not drawn."
    caption += " " + BOUNDARY_CREDIT
    fig.text(0.01, 0.01, caption, fontsize=6.5, wrap=True, va="bottom")
    fig.subplots_adjust(bottom=0.1)
    save_figure(fig, paths, dpi=dpi)
    return {"departments": departments, "caption": caption,
            "frame_districts_filled": int(len(with_poly)),
            "frame_districts_at_capital": int(len(at_capital)),
            "frame_districts_not_drawn": n_frame_missing,
            "households_drawn": int(drawable.sum()), "households_without_coordinates": n_missing}


__all__ = ["map2"]
