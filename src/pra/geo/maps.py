"""Map 1: ENAHO households, PRA-II localities and the sample space (study Map 1 / Figure 4), and
the real boundaries both maps draw.

Boundaries are INEI's 2007 census limits as redistributed by MINAM, from the package data
``pra/data/peru_departamental_simple.geojson`` / ``peru_distrital_simple.geojson``
(GitHub juaneladio/peru-geojson, MPL-2.0, shipped unmodified; ``pra/data/README.md``); every
map's caption credits them (:data:`BOUNDARY_CREDIT`). Output is deterministic: no timestamps in
the PDF, no software tag in the PNG.
"""
from __future__ import annotations

import functools
import io
import json
from importlib import resources

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.patches import PathPatch  # noqa: E402
from matplotlib.patches import Polygon as MplPolygon  # noqa: E402
from matplotlib.path import Path as MplPath  # noqa: E402
from shapely import Point, unary_union  # noqa: E402
from shapely.geometry import MultiPolygon, shape  # noqa: E402

from pra.io import save_figure  # noqa: E402

KM_LAT = 110.95  # km per degree of latitude at Peru's latitudes (planar drawing only)
KM_LON_EQ = 111.32
DEPARTMENTS_FILE = "peru_departamental_simple.geojson"
DISTRICTS_FILE = "peru_distrital_simple.geojson"
BOUNDARY_CREDIT = ("Boundaries: INEI, 2007 census limits (as redistributed by MINAM), simplified; "
                   "github.com/juaneladio/peru-geojson, MPL-2.0.")
CAPTION = (
    "Sample space: {space:g} km around geo-referenced PRA-II localities; treated: within "
    "{radius:g} km. " + BOUNDARY_CREDIT
)
# Peru's extent (degrees) as both maps show it
XLIM, YLIM = (-81.6, -68.4), (-18.6, 0.2)


def _read_data_text(name: str) -> str:
    return resources.files("pra.data").joinpath(name).read_text(encoding="utf-8-sig")


def district_capitals() -> pd.DataFrame:
    """District capitals (departamento, ubigeo, latitud, longitud) from the package data."""
    text = _read_data_text("ubigeo_inei_2025.csv")
    df = pd.read_csv(io.StringIO(text), sep=";", dtype={"ubigeo": str})
    return df[["departamento", "ubigeo", "latitud", "longitud"]].dropna()


def _polygons(name: str, code_field: str, width: int) -> dict[str, object]:
    """code -> shapely geometry of every feature with a geometry (sorted by code)."""
    features = json.loads(_read_data_text(name))["features"]
    out = {}
    for f in features:
        code = str(f["properties"][code_field]).zfill(width)
        if f.get("geometry") is None:
            continue  # 8 districts of the file have none (pra/data/README.md)
        if code in out:
            raise ValueError(f"{name}: duplicated {code_field} {code}")
        out[code] = shape(f["geometry"])
    return dict(sorted(out.items()))


@functools.lru_cache(maxsize=1)
def department_polygons() -> dict[str, object]:
    """The 25 departments: 2-digit code -> shapely (Multi)Polygon in lon/lat."""
    return _polygons(DEPARTMENTS_FILE, "FIRST_IDDP", 2)


@functools.lru_cache(maxsize=1)
def district_polygons() -> dict[str, object]:
    """Districts with a geometry (1,826 of the file's 1,834): ubigeo -> shapely geometry."""
    return _polygons(DISTRICTS_FILE, "IDDIST", 6)


def _path(geom) -> MplPath:
    """One matplotlib path for a (Multi)Polygon, holes included."""
    verts, codes = [], []
    parts = geom.geoms if isinstance(geom, MultiPolygon) else [geom]
    for poly in parts:
        for ring in [poly.exterior, *poly.interiors]:
            xy = np.asarray(ring.coords)
            verts.append(xy)
            codes.append(np.r_[MplPath.MOVETO, np.full(len(xy) - 2, MplPath.LINETO),
                               MplPath.CLOSEPOLY])
    return MplPath(np.concatenate(verts), np.concatenate(codes).astype(np.uint8))


def draw_polygons(ax, polygons: dict, **style) -> list[str]:
    """Draw each geometry (in code order) as one patch; returns the codes drawn."""
    for geom in polygons.values():
        ax.add_patch(PathPatch(_path(geom), **style))
    return list(polygons)


def draw_departments(ax) -> list[str]:
    """The 25 real department outlines; returns their codes ('01'...'25')."""
    return draw_polygons(ax, department_polygons(), facecolor="0.96", edgecolor="0.55",
                         linewidth=0.6, zorder=1)


def frame_axes(ax, title: str) -> None:
    """Peru's extent, aspect 1/cos(9.2°) (lon/lat degrees at its mean latitude), labels, title."""
    ax.set_xlim(*XLIM)
    ax.set_ylim(*YLIM)
    ax.set_aspect(1 / np.cos(np.radians(9.2)))
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_title(title)


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
    paths,
    dpi: int = 150,
) -> dict:
    """Draw Map 1 to every path in ``paths`` (format from the suffix); returns what was drawn.

    ``households``: one row per point to draw with latitude, longitude, dist_km (households with
    missing coordinates are not drawable and are counted in the caption); ``localities``: rows
    with latitude/longitude (unmatched rows ignored). Returns ``departments`` (codes drawn),
    ``localities``, ``households_drawn`` / ``households_without_coordinates`` and the
    ``caption`` drawn."""
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
    departments = draw_departments(ax)
    for ring in sample_space_polygon(locs["latitude"], locs["longitude"], sample_space_km):
        ax.add_patch(MplPolygon(ring, closed=True, facecolor="#fde0c5", edgecolor="#e6550d",
                                linewidth=0.5, linestyle="--", alpha=0.6, zorder=2))
    # localities under the household dots, so treated households stay visible
    n_loc = locs["id_localidad"].nunique()
    ax.scatter(locs["longitude"], locs["latitude"], s=6, marker="^", c="#7f2704", linewidths=0,
               zorder=3, label=f"PRA-II localities ({n_loc:,})")
    style = {"outside": ("0.5", 3, 4), "control": ("#3182bd", 6, 5), "treated": ("#31a354", 6, 6)}
    for group in ["outside", "control", "treated"]:
        p = pts[pts["group"] == group]
        colour, size, z = style[group]
        ax.scatter(p["longitude"], p["latitude"], s=size, c=colour, linewidths=0, zorder=z,
                   label=f"ENAHO household-years, {group} ({int(p['n'].sum()):,})")
    ax.plot([], [], color="#e6550d", linestyle="--", label=f"sample space ({sample_space_km:g} km)")
    frame_axes(ax, "Map 1. Identification of the DD sample")
    ax.legend(loc="lower left", fontsize=7, frameon=True)
    caption = CAPTION.format(space=sample_space_km, radius=treatment_radius_km)
    if n_missing:
        caption += f" {n_missing:,} household-years without usable coordinates are not drawn."
    fig.text(0.01, 0.01, caption, fontsize=6.5, wrap=True, va="bottom")
    fig.subplots_adjust(bottom=0.1)
    save_figure(fig, paths, dpi=dpi)
    return {"departments": departments, "localities": int(n_loc), "caption": caption,
            "households_drawn": int(drawable.sum()), "households_without_coordinates": n_missing}
