"""Map 2: the matching-DD sample (study Map 2): sample-frame districts (corridor vs adjacent)
and the baseline (ENAHO 2009) and follow-up (programme survey 2012) households.

Drawn like Map 1 (:mod:`pra.geo.maps`): department outlines are convex hulls of district
capitals and districts are drawn at their capital (no official boundaries offline; the caption
says so). Deterministic output (no timestamps), written atomically.
"""
from __future__ import annotations


import numpy as np
import pandas as pd

from pra.geo.maps import department_hulls, district_capitals  # also selects the Agg backend
from pra.io import save_figure

CAPTION = (
    "Department outlines are approximations: convex hulls of district capitals (INEI ubigeo list), "
    "not official boundaries; sample-frame districts are drawn at their capital."
)
GROUP_COLOURS = {"corredor": "#31a354", "adyacente": "#3182bd"}


def map2(sample: pd.DataFrame, frame: pd.DataFrame, *, png_path, pdf_path, dpi: int = 150) -> dict:
    """Draw Map 2 to ``png_path`` and ``pdf_path``; returns counts drawn / not drawable.

    ``sample``: the matching sample (period, grupo, latitude, longitude); ``frame``: ubigeo,
    grupo. Households without coordinates and frame districts missing from the capitals list
    are counted in the caption, not dropped silently.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Polygon as MplPolygon

    for c in ("period", "grupo", "latitude", "longitude"):
        if c not in sample.columns:
            raise KeyError(f"map2: the matching sample lacks column {c!r}")
    cap = district_capitals()
    fr = frame[["ubigeo", "grupo"]].copy()
    fr["ubigeo"] = fr["ubigeo"].astype(str).str.zfill(6)
    fr = fr.merge(cap[["ubigeo", "latitud", "longitud"]], on="ubigeo", how="left")
    n_frame_missing = int(fr["latitud"].isna().sum())
    fr = fr.dropna(subset=["latitud", "longitud"]).sort_values("ubigeo")

    hh = sample[["period", "grupo", "latitude", "longitude"]].copy()
    drawable = hh["latitude"].notna() & hh["longitude"].notna()
    n_missing = int((~drawable).sum())
    # one dot per distinct point, sorted, for a deterministic drawing order
    pts = (hh[drawable].groupby(["period", "grupo", "latitude", "longitude"], sort=True).size()
           .rename("n").reset_index())

    fig, ax = plt.subplots(figsize=(7.5, 9.5))
    for hull in department_hulls().values():
        if hull.geom_type == "Polygon":
            ax.add_patch(MplPolygon(np.asarray(hull.exterior.coords), closed=True,
                                    facecolor="0.96", edgecolor="0.55", linewidth=0.6, zorder=1))
    names = {"corredor": "corridor (treated)", "adyacente": "adjacent (control)"}
    for grp in ("adyacente", "corredor"):
        f = fr[fr["grupo"] == grp]
        ax.scatter(f["longitud"], f["latitud"], s=22, marker="s", facecolors="none",
                   edgecolors=GROUP_COLOURS[grp], linewidths=0.6, alpha=0.5, zorder=2,
                   label=f"frame districts, {names[grp]} ({len(f):,})")
    periods = sorted(pts["period"].unique())
    markers = ["o", "x"]
    for k, period in enumerate(periods):
        src = "ENAHO" if k == 0 else "programme survey"
        for grp in ("adyacente", "corredor"):
            p = pts[(pts["period"] == period) & (pts["grupo"] == grp)]
            ax.scatter(p["longitude"], p["latitude"], s=7 if k == 0 else 9, marker=markers[k % 2],
                       c=GROUP_COLOURS[grp], linewidths=0 if k == 0 else 0.6, alpha=0.85,
                       zorder=4 + k, label=f"{src} {int(period)}, {names[grp]} ({int(p['n'].sum()):,} households)")
    ax.set_xlim(-81.6, -68.4)
    ax.set_ylim(-18.6, 0.2)
    ax.set_aspect(1 / np.cos(np.radians(9.2)))
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_title("Map 2. Identification of the matching-DD sample")
    ax.legend(loc="lower left", fontsize=6.5, frameon=True)
    caption = CAPTION
    if n_missing:
        caption += f" {n_missing:,} households without coordinates are not drawn."
    if n_frame_missing:
        caption += f" {n_frame_missing:,} frame districts not in the capitals list are not drawn."
    fig.text(0.01, 0.01, caption, fontsize=6.5, wrap=True, va="bottom")
    fig.subplots_adjust(bottom=0.1)
    save_figure(fig, [png_path, pdf_path], dpi=dpi)
    return {"households_drawn": int(drawable.sum()), "households_without_coordinates": n_missing,
            "frame_districts_not_drawn": n_frame_missing}


__all__ = ["map2"]
