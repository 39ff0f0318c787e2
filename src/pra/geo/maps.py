"""Map 1: ENAHO households, PRA-II localities and the sample space (study Map 1 / Figure 4).

Real department boundaries are not available offline; departments are drawn as the convex hull of
their district capitals (package data ``pra/data/ubigeo_inei_2025.csv``), which the caption says.
Output is deterministic: no timestamps in the PDF, no software tag in the PNG.
"""
from __future__ import annotations

import io
from importlib import resources

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.patches import Polygon as MplPolygon  # noqa: E402
from shapely import MultiPoint, Point, unary_union  # noqa: E402
from shapely.geometry import MultiPolygon  # noqa: E402

from pra.io import save_figure  # noqa: E402

KM_LAT = 110.95  # km per degree of latitude at Peru's latitudes (planar drawing only)
KM_LON_EQ = 111.32
CAPTION = (
    "Department outlines are approximations: convex hulls of district capitals (INEI ubigeo list), "
    "not official boundaries. Sample space: {space:g} km around geo-referenced PRA-II localities; "
    "treated: within {radius:g} km."
)


def district_capitals() -> pd.DataFrame:
    """District capitals (departamento, ubigeo, latitud, longitud) from the package data."""
    text = resources.files("pra.data").joinpath("ubigeo_inei_2025.csv").read_text(encoding="utf-8-sig")
    df = pd.read_csv(io.StringIO(text), sep=";", dtype={"ubigeo": str})
    return df[["departamento", "ubigeo", "latitud", "longitud"]].dropna()


def department_hulls() -> dict[str, object]:
    """Convex hull (lon/lat shapely geometry) of the district capitals of each department."""
    cap = district_capitals()
    return {
        dep: MultiPoint(np.column_stack([g["longitud"], g["latitud"]])).convex_hull
        for dep, g in cap.groupby("departamento", sort=True)
    }


def sample_space_polygon(lat, lon, radius_km: float):
    """Union of ``radius_km`` discs around the points, built in a local planar frame (km)."""
    lat0 = float(np.mean(lat))
    kx = KM_LON_EQ * np.cos(np.radians(lat0))
    discs = [Point(x * kx, y * KM_LAT).buffer(radius_km, 32) for x, y in zip(lon, lat)]
    union = unary_union(discs)
    polys = union.geoms if isinstance(union, MultiPolygon) else [union]
    return [(np.asarray(p.exterior.coords) / [kx, KM_LAT]) for p in polys if not p.is_empty]


def map1(
    households: pd.DataFrame,
    localities: pd.DataFrame,
    *,
    sample_space_km: float,
    treatment_radius_km: float,
    png_path,
    pdf_path,
    dpi: int = 150,
) -> None:
    """Draw Map 1 to ``png_path`` and ``pdf_path``.

    ``households``: one row per point to draw with latitude, longitude, dist_km (households with
    missing coordinates are not drawable and are counted in the legend); ``localities``: rows with
    latitude/longitude (unmatched rows ignored)."""
    locs = localities
    if "match" in locs.columns:
        locs = locs[locs["match"] != "unmatched"]
    locs = locs.dropna(subset=["latitude", "longitude"])
    hh = households.copy()
    d = pd.to_numeric(hh["dist_km"], errors="coerce")
    drawable = hh["latitude"].notna() & hh["longitude"].notna() & d.notna()
    n_missing = int((~drawable).sum())
    hh, d = hh[drawable], d[drawable]
    # one dot per distinct point (households of a conglomerate share coordinates), sorted for
    # a deterministic drawing order
    hh = hh.assign(group=np.select([d <= treatment_radius_km, d <= sample_space_km],
                                   ["treated", "control"], "outside"))
    pts = (hh.groupby(["group", "latitude", "longitude"], sort=True).size()
             .rename("n").reset_index())

    fig, ax = plt.subplots(figsize=(7.5, 9.5))
    for dep, hull in department_hulls().items():
        if hull.geom_type == "Polygon":
            ax.add_patch(MplPolygon(np.asarray(hull.exterior.coords), closed=True,
                                    facecolor="0.96", edgecolor="0.55", linewidth=0.6, zorder=1))
    for ring in sample_space_polygon(locs["latitude"], locs["longitude"], sample_space_km):
        ax.add_patch(MplPolygon(ring, closed=True, facecolor="#fde0c5", edgecolor="#e6550d",
                                linewidth=0.5, linestyle="--", alpha=0.6, zorder=2))
    # localities under the household dots, so treated households stay visible
    ax.scatter(locs["longitude"], locs["latitude"], s=6, marker="^", c="#7f2704", linewidths=0,
               zorder=3, label=f"PRA-II localities ({locs['id_localidad'].nunique():,})")
    style = {"outside": ("0.5", 3, 4), "control": ("#3182bd", 6, 5), "treated": ("#31a354", 6, 6)}
    for group in ["outside", "control", "treated"]:
        p = pts[pts["group"] == group]
        colour, size, z = style[group]
        ax.scatter(p["longitude"], p["latitude"], s=size, c=colour, linewidths=0, zorder=z,
                   label=f"ENAHO household-years, {group} ({int(p['n'].sum()):,})")
    ax.plot([], [], color="#e6550d", linestyle="--", label=f"sample space ({sample_space_km:g} km)")
    ax.set_xlim(-81.6, -68.4)
    ax.set_ylim(-18.6, 0.2)
    ax.set_aspect(1 / np.cos(np.radians(9.2)))
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_title("Map 1. Identification of the DD sample")
    ax.legend(loc="lower left", fontsize=7, frameon=True)
    caption = CAPTION.format(space=sample_space_km, radius=treatment_radius_km)
    if n_missing:
        caption += f" {n_missing:,} household-years without usable coordinates are not drawn."
    fig.text(0.01, 0.01, caption, fontsize=6.5, wrap=True, va="bottom")
    fig.subplots_adjust(bottom=0.1)
    save_figure(fig, [png_path, pdf_path], dpi=dpi)
