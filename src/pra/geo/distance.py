"""Distance from every ENAHO household-year to the nearest geo-referenced PRA-II locality.

Metric: geodesic distance on the WGS84 ellipsoid, DuckDB spatial ``ST_Distance_Spheroid``
(GeographicLib). Its POINTs must be in **[latitude, longitude]** order (DuckDB spatial docs: "the
input geometry is assumed to be in EPSG:4326 ... with [latitude, longitude] axis order"), so points
are built as ``ST_Point(lat, lon)``; ``tests/test_geo.py`` checks the result against an
independent haversine and a known city pair.

Algorithm, all inside DuckDB (no Python loop over pairs):

1. Household coordinates are validated and de-duplicated (households of one conglomerate share
   one point), so the work scales with distinct points, not household-years.
2. Bounding-box prefilter join: each point is joined only to localities inside a conservative
   lat/lon box of ``r`` km (DuckDB range join); the geodesic distance is computed for those pairs
   only. A nearest distance ≤ ``r`` found this way is exact (every locality within ``r`` km lies in
   the box). ``r`` is ``max_km`` if given, otherwise 25 km (the 20 km sample space plus a margin).
3. Points with no locality within ``r``:
   - ``max_km`` given: ``dist_km = +inf``, ``beyond = True`` (only "farther than max_km" is known);
   - ``max_km=None`` (the pipeline's choice, so every household has its true distance): a planar
     (equirectangular) distance to every locality ranks candidates with arithmetic only, and the
     geodesic distance is computed for the candidates within 3 % + 2 km of the planar minimum
     (far above the planar error at Peru's latitudes). Few points reach this step.
4. Ties: the smallest ``id_localidad`` among localities at the minimal distance.

Invalid coordinates are returned, never dropped: ``reason`` is 'missing coordinates',
'swapped lat/lon' (the pair lies in Peru only when swapped; not corrected: the source must be
checked) or 'outside Peru'; their ``dist_km``/``nearest_id`` are NaN/<NA>.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

# Peru's bounding box (degrees), generous by a few hundredths.
LAT_MIN, LAT_MAX = -18.4, -0.03
LON_MIN, LON_MAX = -81.4, -68.6
DEFAULT_SEARCH_KM = 25.0
KM_PER_DEG_LAT_MIN = 110.57  # meridian degree at the equator (shortest)
KM_PER_DEG_LON_EQ = 111.32
OUT_COLUMNS = ["hh_id", "dist_km", "nearest_id", "beyond", "reason"]


@lru_cache(maxsize=1)
def spatial_extension_path() -> Path:
    """The ``spatial.duckdb_extension`` shipped in the PyPI package duckdb-extension-spatial."""
    import duckdb_extension_spatial

    root = Path(duckdb_extension_spatial.__file__).parent
    exact = root / "extensions" / f"v{duckdb.__version__}" / "spatial.duckdb_extension"
    if exact.exists():
        return exact
    found = sorted(root.rglob("spatial.duckdb_extension"))
    if not found:
        raise FileNotFoundError(
            f"spatial.duckdb_extension not found under {root}: install duckdb-extension-spatial "
            f"matching duckdb {duckdb.__version__}"
        )
    return found[-1]


def connect(threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the spatial extension loaded offline (never downloaded)."""
    con = duckdb.connect(config={"autoinstall_known_extensions": False,
                                 "autoload_known_extensions": False})
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    con.execute(f"INSTALL '{spatial_extension_path()}'")
    con.execute("LOAD spatial")
    return con


def coordinate_reason(lat: pd.Series, lon: pd.Series) -> pd.Series:
    """'' for a usable point in Peru, else why not."""
    lat = pd.to_numeric(lat, errors="coerce")
    lon = pd.to_numeric(lon, errors="coerce")
    missing = lat.isna() | lon.isna()
    inside = lat.between(LAT_MIN, LAT_MAX) & lon.between(LON_MIN, LON_MAX)
    swapped = lon.between(LAT_MIN, LAT_MAX) & lat.between(LON_MIN, LON_MAX)
    return pd.Series(
        np.select([missing, inside, swapped], ["missing coordinates", "", "swapped lat/lon"],
                  default="outside Peru"),
        index=lat.index,
    )


# Bounding box of r km around each point (conservative: +1 % on the degree extents; a degree of
# longitude shrinks with |latitude|, so its extent uses the box's latitude farthest from the equator).
_BBOX_SQL = """
WITH box AS (
    SELECT pid, lat, lon, geom,
           {dlat} AS dlat,
           {r} / (111.32 * cos(radians(least(abs(lat) + {dlat}, 89.0)))) * 1.01 AS dlon
    FROM todo
), cand AS (
    SELECT p.pid, l.id, ST_Distance_Spheroid(p.geom, l.geom) / 1000.0 AS d
    FROM box p JOIN locs l
      ON l.lat BETWEEN p.lat - p.dlat AND p.lat + p.dlat
     AND l.lon BETWEEN p.lon - p.dlon AND p.lon + p.dlon
)
SELECT pid, id, d FROM cand
WHERE d <= {r}
QUALIFY row_number() OVER (PARTITION BY pid ORDER BY d, id) = 1
"""

# Planar ranking for points beyond the search radius: equirectangular km, arithmetic only.
_FAR_SQL = """
WITH planar AS (
    SELECT p.pid, l.rid, l.id,
           sqrt(power((l.lat - p.lat) * 111.13, 2)
                + power((l.lon - p.lon) * 111.32 * cos(radians((l.lat + p.lat) / 2)), 2)) AS dp
    FROM todo p CROSS JOIN locs l
), best AS (
    SELECT pid, min(dp) AS dmin FROM planar GROUP BY pid
), cand AS (
    SELECT q.pid, q.rid FROM planar q JOIN best b ON q.pid = b.pid
    WHERE q.dp <= b.dmin * 1.03 + 2.0
)
SELECT c.pid, l.id, ST_Distance_Spheroid(p.geom, l.geom) / 1000.0 AS d
FROM cand c JOIN todo p ON c.pid = p.pid JOIN locs l ON c.rid = l.rid
QUALIFY row_number() OVER (PARTITION BY c.pid ORDER BY d, l.id) = 1
"""


def nearest_locality(
    households: pd.DataFrame,
    localities: pd.DataFrame,
    max_km: float | None = None,
    *,
    con: duckdb.DuckDBPyConnection | None = None,
) -> pd.DataFrame:
    """For each household (``hh_id``, ``latitude``, ``longitude``): the geodesic distance in km to the
    nearest locality (``id_localidad``, ``latitude``, ``longitude``; unmatched rows ignored) and its id.

    Returns one row per household, in input order, with ``OUT_COLUMNS``; see the module docstring
    for ``beyond``, ``reason`` and the ``max_km`` semantics.
    """
    for col in ["hh_id", "latitude", "longitude"]:
        if col not in households.columns:
            raise ValueError(f"households: missing column {col!r}")
    for col in ["id_localidad", "latitude", "longitude"]:
        if col not in localities.columns:
            raise ValueError(f"localities: missing column {col!r}")
    dup = households["hh_id"].duplicated(keep=False)
    if dup.any():
        raise ValueError(f"households, column hh_id: duplicated ids, e.g. "
                         f"{households.loc[dup, 'hh_id'].head(5).tolist()}")
    if max_km is not None and not max_km > 0:
        raise ValueError(f"max_km must be positive or None, got {max_km!r}")

    locs = localities
    if "match" in locs.columns:
        locs = locs[locs["match"] != "unmatched"]
    locs = pd.DataFrame({
        "id": pd.to_numeric(locs["id_localidad"]).astype("int64"),
        "lat": pd.to_numeric(locs["latitude"], errors="coerce"),
        "lon": pd.to_numeric(locs["longitude"], errors="coerce"),
    })
    bad = coordinate_reason(locs["lat"], locs["lon"])
    if (bad != "").any():
        raise ValueError(
            "localities: geo-referenced rows with unusable coordinates (id_localidad "
            f"{locs.loc[bad != '', 'id'].head(10).tolist()}: {sorted(set(bad[bad != '']))})"
        )
    if locs.empty:
        raise ValueError("localities: no geo-referenced locality to measure distances to")

    lat = pd.to_numeric(households["latitude"], errors="coerce")
    lon = pd.to_numeric(households["longitude"], errors="coerce")
    reason = coordinate_reason(lat, lon)
    ok = (reason == "").to_numpy()
    pts_hh = pd.DataFrame({"lat": lat.to_numpy()[ok], "lon": lon.to_numpy()[ok]})
    # one row per distinct point; pid maps households back
    codes, uniq = pd.factorize(pd.MultiIndex.from_frame(pts_hh), sort=True)
    pts = pd.DataFrame({"pid": np.arange(len(uniq), dtype="int64"),
                        "lat": uniq.get_level_values(0).to_numpy(dtype="float64"),
                        "lon": uniq.get_level_values(1).to_numpy(dtype="float64")})

    # (a list so that intermediate radii can be added; timing showed the planar pass is cheaper
    # than a 100 km box for the remaining points)
    radii = [float(max_km)] if max_km is not None else [DEFAULT_SEARCH_KM]

    own = con is None
    con = con or connect()
    try:
        con.register("pts_df", pts)
        con.register("locs_df", locs)
        con.execute("CREATE OR REPLACE TEMP TABLE pts AS "
                    "SELECT *, ST_Point(lat, lon) AS geom FROM pts_df")  # [lat, lon] order
        con.execute("CREATE OR REPLACE TEMP TABLE locs AS "  # rid: one per candidate row
                    "SELECT *, row_number() OVER (ORDER BY id, lat, lon) AS rid, "
                    "ST_Point(lat, lon) AS geom FROM locs_df")
        con.execute("CREATE OR REPLACE TEMP TABLE near (pid BIGINT, id BIGINT, d DOUBLE)")
        con.execute("CREATE OR REPLACE TEMP TABLE todo AS SELECT * FROM pts")
        for r in radii:
            dlat = r / KM_PER_DEG_LAT_MIN * 1.01
            con.execute("INSERT INTO near " + _BBOX_SQL.format(dlat=repr(dlat), r=repr(r)))
            con.execute("CREATE OR REPLACE TEMP TABLE todo AS "
                        "SELECT * FROM pts WHERE pid NOT IN (SELECT pid FROM near)")
        if max_km is None:
            con.execute("INSERT INTO near " + _FAR_SQL)
        near = con.execute("SELECT pid, id, d FROM near").df()
        for t in ["pts", "locs", "todo", "near"]:
            con.execute(f"DROP TABLE IF EXISTS {t}")
        con.unregister("pts_df")
        con.unregister("locs_df")
    finally:
        if own:
            con.close()

    d = np.full(len(pts), np.inf)
    nid = np.full(len(pts), -1, dtype="int64")
    d[near["pid"].to_numpy()] = near["d"].to_numpy()
    nid[near["pid"].to_numpy()] = near["id"].to_numpy()

    n = len(households)
    dist = np.full(n, np.nan)
    nearest = np.full(n, -1, dtype="int64")
    dist[ok] = d[codes]
    nearest[ok] = nid[codes]
    out = pd.DataFrame({
        "hh_id": households["hh_id"].to_numpy(),
        "dist_km": dist,
        "nearest_id": pd.array(np.where(nearest >= 0, nearest, 0), dtype="Int64"),
        "beyond": np.isinf(dist),
        "reason": reason.to_numpy(),
    })
    out.loc[nearest < 0, "nearest_id"] = pd.NA
    return out


def gaussian_radius_km(lat) -> np.ndarray:
    """WGS84 Gaussian radius of curvature sqrt(M N) at ``lat``: the sphere that best fits the
    ellipsoid locally (≈ 6,358 km in Peru; the mean radius 6,371 km is off by up to 0.56 % on
    north-south lines near the equator)."""
    a, f = 6378.137, 1 / 298.257223563
    e2 = f * (2 - f)
    s2 = np.sin(np.radians(lat)) ** 2
    return a * np.sqrt(1 - e2) / (1 - e2 * s2)


def haversine_km(lat1, lon1, lat2, lon2, radius_km=None) -> np.ndarray:
    """Great-circle distance on a sphere (NumPy, broadcasting); the independent check.

    ``radius_km`` defaults to the Gaussian radius at the pair's mean latitude."""
    if radius_km is None:
        radius_km = gaussian_radius_km((np.asarray(lat1) + np.asarray(lat2)) / 2)
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dl = np.radians(lon2) - np.radians(lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * radius_km * np.arcsin(np.sqrt(np.clip(a, 0, 1)))
