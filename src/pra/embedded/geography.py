"""Embedded generator, geography part: districts, INEI's populated centres, PRA-II register,
sample frame and ENAHO conglomerates (docs/contract.md §1.3, §2.1; docs/embedded_data.md,
"Geography").

Everything is drawn from one ``np.random.Generator`` in a fixed order, so ``build_geography``
is deterministic for a given seed. Real inputs (package data, ``pra/data/README.md``): the 1,891
districts of ``ubigeo_inei_2025.csv`` (capital coordinates, altitude, population) and INEI's
94,922 populated centres of ``centros_poblados.csv.gz`` (codes, names, urban/rural type,
coordinates).

Documented approximations
-------------------------
* Natural region (``region``) of a district, from its capital:
  - selva: department Loreto (16), Madre de Dios (17) or Ucayali (25); or Amazonas (01) /
    San Martín (22) below 2,500 m; or below 2,000 m east of the eastern Andes edge (a line
    through lat/lon (-4.5,-79.6) (-6,-79.2) (-8,-77.8) (-10,-76.1) (-12,-75) (-13,-73.5)
    (-14,-71.5) (-15.5,-70) (-17,-69.3), :func:`andes_east_edge_lon`);
  - costa: below 1,500 m and within 120 km of the Pacific coastline (a 13-point polyline,
    :data:`COASTLINE`);
  - sierra: everything else (including low inter-Andean valleys).
* ``dominio`` (INEI): 8 Lima Metropolitana = Lima province (1501xx) and Callao (07); costa by
  latitude band of the capital: 1 norte north of 9.0°S, 2 centro to 15.4°S, 3 sur south of it;
  sierra: 4 norte north of 8.3°S, 5 centro to 13.4°S, 6 sur south of it; selva 7.
* Populated centres: INEI's list, whole, at every scale: codes and names as listed,
  coordinates rounded to 6 decimals (~0.1 m); code 0001 of each district is its capital. The 17
  districts created after the list was compiled get one centre at their capital (code 0001, the
  capital's name, urban). What the list lacks is drawn:
  - altitude: a base, the inverse-distance-squared mean of the altitudes of the 4 nearest
    district capitals (costa: the own capital's altitude), plus a term in r = km to the nearest
    capital (at most 15 km): sierra + 45 m/km · r · (0.35 + N(0,1)) (valley sides, 500–4,950 m
    and at most 1,200 m below the base); costa + |noise| ≤ 300 m (0 to twice the base); selva
    ± 15 m/km · r. A capital keeps its real altitude.
  - 2007 population: rural centres lognormal (median 60, log-sd 1.15, 5–2,800), urban
    non-capital centres lognormal (median 2,500, log-sd 0.8, 300–60,000); together at most 0.7
    × the district's population (0.9 × its 2025 population), the capital takes the rest (at
    least 30%) and stays the largest; households = population / U(3.6, 4.6).
* ``estrato`` of a conglomerate from its centre: urban (poblacion_2007 > 2,000) 1–5 by
  households (1 >100,000; 2 >20,000; 3 >10,000; 4 >4,000; 5 otherwise), dominio 8 → 1; rural:
  6 for 501–2,000 inhabitants, else 7 (AER compuesto, 35%) or 8 (AER simple, 65%).
* Register (Table 1 exactly): per department the numbers of unmatched (Table 1 "No"),
  ambiguous (AMBIG2 / AMBIG3), code and single-name localities are fixed (codes 489 by largest
  remainder). Corridor districts: per department about one district per 4.5 localities, among
  districts listing at least MIN_CORRIDOR_CENTRES centres, grown around hub districts (Andean
  2,500–4,000 m hubs, plus one coastal and/or one selva hub in the departments of
  COAST_HUB_DPTOS / SELVA_HUB_DPTOS, "lower valleys") by nearest capitals; peripheral districts
  are swapped for the nearest ones whose real names repeat when the department's ambiguous
  localities need them. At most one locality per 3 eligible centres of a district. Programme
  localities are real non-capital centres (weight 1 up to 2,000 inhabitants, 0.15 above):
  code rows carry INEI's code (60% the clean name, 30% :func:`pra.names.add_spelling_noise`,
  10% :func:`pra.names.add_typo`); name rows a centre whose matching key is unique in its
  district, with spelling noise; ambiguous rows one centre of a real group of 2 or 3 centres
  sharing a key (every centre of the group is a candidate); unmatched rows a centre's name with
  a typo whose key is absent from the district. ``_check_register`` asserts the planted design
  against ``normalise_name`` on every build.
* Frame (2012 sample frame): ``corredor`` = programme districts in FRAME_DPTOS (10 corridors);
  ``adyacente`` = for each of them the 2 nearest (by capital) non-programme districts outside
  Lima Metropolitana.
* Conglomerates: per distance band b, K_b = round(mean 2007–2010 target / m) conglomerates from
  2007 and E_b more from 2011 (the 2011 expansion), m = 6.5 · sqrt(max(scale, 1)) producer
  households per conglomerate-year; each year's Table 2 target × scale is split exactly over
  the active conglomerates of the band. Conglomerates sit on centres of the 12 departments
  (urban centres can host several: about one per 150 households, at most 15; Lima
  Metropolitana down-weighted ×0.1; never on a centre whose coordinates another centre shares,
  so that the nearest centre to a conglomerate is its own). Selection weights are raked
  (multiplicative factors on cells, plus an exponential tilt on altitude) so that the expected
  DD sample (≤ 20 km) matches Table 4's region shares, altitude distribution (ALT_BINS /
  ALT_BIN_TARGET, mean 2,876 m) and urban share (0.323), the > 20 km urban share is
  FAR_URBAN_SHARE, and the 2009 households in frame districts give 690 / 434 expected
  July–November interviews; then a systematic PPS draw over the pool sorted by (frame group,
  region, altitude bin, urban) picks the conglomerates of each band (implicit stratification).
  Achieved values are in ``Geography.diagnostics`` (:func:`geography_report`). Conglomerate
  numbers (``conglome``) are i · step + a random offset below step (step ≤ 7), within INEI's 4
  digits as long as there are at most 9,998 conglomerates (scale ≤ about 30); beyond, they
  widen.
* Band edges: conglomerates whose distance to the nearest geo-referenced locality lies within
  0.02 km of a multiple of 0.5 km (this includes 0 km, a conglomerate on a programme locality)
  are never drawn, so that the metre-level differences between distance implementations
  (pyproj here, DuckDB ``ST_Distance_Spheroid`` in the pipeline) can never move a household
  across a distance band, a treatment radius or a ring boundary (all multiples of 0.5 km).
"""
from __future__ import annotations

import collections
import csv
import dataclasses
import functools
import gzip
import importlib.resources

import numpy as np
import pandas as pd
from pyproj import Geod
from scipy.spatial import cKDTree

from pra.geo.distance import haversine_km
from pra.names import add_spelling_noise, add_typo, normalise_name, strip_accents

__all__ = [
    "Geography", "build_geography", "load_districts", "load_inei_centres", "TABLE1", "TABLE2",
    "BAND_EDGES", "BAND_LABELS", "YEARS", "CENTRE_COLS", "band_of", "geodesic_km",
    "nearest_localities", "andes_east_edge_lon",
]

YEARS = (2007, 2008, 2009, 2010, 2011, 2012)
BAND_EDGES = (0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 15.0, 20.0, np.inf)
BAND_LABELS = ("0-2", "2-4", "4-6", "6-8", "8-10", "10-15", "15-20", ">=20")
EDGE_STEP_KM = 0.5
EDGE_MARGIN_KM = 0.02

# Table 1 of the study: dpto code -> (department as written, No, Yes)
TABLE1 = {
    "02": ("ANCASH", 14, 104), "04": ("AREQUIPA", 3, 58), "05": ("AYACUCHO", 13, 87),
    "08": ("CUSCO", 21, 128), "09": ("HUANCAVELICA", 15, 97), "10": ("HUANUCO", 5, 45),
    "12": ("JUNIN", 2, 49), "13": ("LA LIBERTAD", 12, 77), "15": ("LIMA", 15, 89),
    "17": ("MADRE DE DIOS", 0, 3), "19": ("PASCO", 3, 26), "21": ("PUNO", 36, 115),
}
N_CODE = 489
# ambiguous localities by department (design choice; totals fixed by the study: 2 x 3, 13 x 2)
AMBIG3 = {"08": 1, "21": 1}
AMBIG2 = {"02": 2, "04": 1, "05": 1, "08": 2, "09": 2, "12": 1, "13": 1, "15": 1, "21": 2}

# Table 2 of the study: producer households by distance band (BAND_LABELS order) and year
TABLE2 = {
    2007: (625, 400, 240, 212, 268, 727, 405, 6490),
    2008: (585, 402, 253, 241, 263, 714, 398, 6317),
    2009: (586, 418, 257, 219, 268, 750, 417, 6623),
    2010: (570, 395, 256, 228, 292, 736, 413, 6552),
    2011: (674, 468, 304, 280, 276, 775, 514, 7432),
    2012: (698, 467, 296, 268, 334, 706, 500, 7367),
}
# DD-sample (<= 20 km) profile of Table 4 and the matching design's 2009 baseline (Table 3)
TABLE4_TARGET = {"costa": 0.086, "sierra": 0.806, "selva": 0.108, "high": 0.68, "urban": 0.323,
                 "altitude_mean": 2876.0}
MATCH_2009_JUL_NOV = {"corredor": 690, "adyacente": 434}
JUL_NOV_SHARE = 5.0 / 12.0  # interview months are uniform over the year

CHAINS = ("PAPA", "ALCACHOFA", "PALTA", "TRUCHA", "FIBRA DE ALPACA", "LACTEOS", "TEXTILES",
          "MENESTRAS", "QUINUA", "CAFE", "CACAO", "ORÉGANO", "MAIZ AMILACEO", "CUYES",
          "MANGO", "ESPARRAGO")
# departments with lowland (coast / selva) corridor branches ("some lower valleys")
COAST_HUB_DPTOS = ("02", "04", "13", "15")
SELVA_HUB_DPTOS = ("05", "08", "10", "12", "17", "21")
# departments of the 2012 programme survey's frame (10 corridors)
FRAME_DPTOS = ("02", "05", "08", "09", "10", "12", "13", "15", "19", "21")

# altitude bins (m) and target shares in the DD sample: mean ~2,880 m, 68% above 3,000 m
ALT_BINS = (2000.0, 3000.0, 3500.0, 4000.0)
ALT_BIN_TARGET = (0.21, 0.11, 0.25, 0.33, 0.10)

FAR_URBAN_SHARE = 0.25  # producer households beyond 20 km living in urban centres
LIMA_METRO_WEIGHT = 0.1  # few producer households in Lima Metropolitana

HH_PER_CONGLOMERATE = 6.5  # producer households per conglomerate-year at scale <= 1

# INEI's populated centres (pra/data/README.md) and the columns of the map the generator writes
CENTRES_FILE = "centros_poblados.csv.gz"
CENTRE_COLS = ["codccpp", "ubigeo", "departamento", "provincia", "distrito", "nomccpp",
               "latitud", "longitud", "altitud", "hogares_2007", "poblacion_2007"]
# 2007 population of a centre (the list has none): (median, log-sd, min, max) by INEI's type
RURAL_POP = (60.0, 1.15, 5.0, 2800.0)
URBAN_POP = (2500.0, 0.8, 300.0, 60000.0)
ALT_CAPITALS = 4          # district capitals whose altitudes give a centre's base altitude
ALT_RADIUS_CAP_KM = 15.0  # r in the altitude model is at most this
MIN_CORRIDOR_CENTRES = 15  # a corridor district lists at least this many centres
CENTRES_PER_LOCALITY = 3   # a corridor district holds at most one locality per 3 eligible centres

COASTLINE = np.array([  # (lat, lon) of the Pacific coastline, north to south
    (-3.4, -80.4), (-4.6, -81.3), (-5.8, -81.0), (-6.8, -79.9), (-8.1, -79.05),
    (-9.1, -78.6), (-11.1, -77.6), (-12.05, -77.1), (-13.7, -76.2), (-15.3, -75.2),
    (-16.6, -72.7), (-17.6, -71.3), (-18.35, -70.4),
])
ANDES_EAST_EDGE = np.array([
    (-4.5, -79.6), (-6.0, -79.2), (-8.0, -77.8), (-10.0, -76.1), (-12.0, -75.0),
    (-13.0, -73.5), (-14.0, -71.5), (-15.5, -70.0), (-17.0, -69.3),
])

_GEOD = Geod(ellps="WGS84")


@dataclasses.dataclass
class Geography:
    """Everything the household generator needs about places (contract §2.1)."""

    scale: float
    districts: pd.DataFrame
    centres: pd.DataFrame
    register: pd.DataFrame
    register_truth: pd.DataFrame
    localities_geo: pd.DataFrame
    frame: pd.DataFrame
    conglomerates: pd.DataFrame
    diagnostics: dict = dataclasses.field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------

def geodesic_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Geodesic WGS84 distance in km (pyproj), vectorised.

    The truth's ``dist_km`` is computed here, not with the pipeline's distance code
    (``pra.geo.distance``), so that the tests compare two independent implementations;
    rankings that are not checked against anything use ``pra.geo.distance.haversine_km``."""
    _, _, d = _GEOD.inv(np.asarray(lon1, float), np.asarray(lat1, float),
                        np.asarray(lon2, float), np.asarray(lat2, float))
    return np.asarray(d) / 1000.0


def _unit_vectors(lat, lon) -> np.ndarray:
    la, lo = np.radians(np.asarray(lat, float)), np.radians(np.asarray(lon, float))
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


def nearest_localities(lat, lon, loc_lat, loc_lon, k: int = 8):
    """Index of and geodesic km to the nearest of (loc_lat, loc_lon) for every point.

    Candidates are the k nearest by chord on the unit sphere (cKDTree), then the exact WGS84
    geodesic picks the nearest among them (the sphere/ellipsoid ranking differs by < 0.5%).
    """
    tree = cKDTree(_unit_vectors(loc_lat, loc_lon))
    k = int(min(k, len(loc_lat)))
    chord, idx = tree.query(_unit_vectors(lat, lon), k=k)
    idx = np.asarray(idx).reshape(len(lat), k)
    chord = np.asarray(chord).reshape(len(lat), k)
    loc_lat, loc_lon = np.asarray(loc_lat, float), np.asarray(loc_lon, float)
    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    out_i, out_d = idx[:, 0].copy(), np.empty(len(lat))
    # beyond ~30 km no distance threshold of the design is near, and the chord ranking equals
    # the geodesic one up to < 0.5%: one geodesic per point is enough there
    close = chord[:, 0] * 6371.0 < 30.0
    far = ~close
    out_d[far] = geodesic_km(lat[far], lon[far], loc_lat[idx[far, 0]], loc_lon[idx[far, 0]])
    if close.any():
        ci = idx[close]
        plat, plon = lat[close], lon[close]
        d = np.full(ci.shape, np.inf)
        d[:, 0] = geodesic_km(plat, plon, loc_lat[ci[:, 0]], loc_lon[ci[:, 0]])
        # a WGS84 geodesic is 0.9944-1.0045 x the distance on the 6,371 km sphere (the ratio of
        # the radii of curvature, 6,335-6,400 km, to 6,371): a candidate whose sphere distance
        # x 0.99 exceeds the chord-nearest's geodesic by over 1 mm is farther, and is not
        # computed (the argmin and the distances are those of computing all k)
        sphere = 2.0 * np.arcsin(np.minimum(chord[close][:, 1:] / 2.0, 1.0)) * 6371.0
        r, c = np.nonzero(0.99 * sphere - 1e-6 <= d[:, :1])
        c = c + 1
        d[r, c] = geodesic_km(plat[r], plon[r], loc_lat[ci[r, c]], loc_lon[ci[r, c]])
        j = np.argmin(d, axis=1)
        rows = np.arange(len(ci))
        out_i[close], out_d[close] = ci[rows, j], d[rows, j]
    return out_i, out_d


def band_of(dist_km) -> np.ndarray:
    """Band index 0..7 (BAND_LABELS) of each distance: [0,2), [2,4), ..., [20, inf)."""
    return np.searchsorted(np.asarray(BAND_EDGES[1:-1]), np.asarray(dist_km, float), side="right")


def near_band_edge(dist_km) -> np.ndarray:
    """True where the distance lies within EDGE_MARGIN_KM of a multiple of EDGE_STEP_KM."""
    d = np.asarray(dist_km, float)
    return np.abs(d - EDGE_STEP_KM * np.round(d / EDGE_STEP_KM)) < EDGE_MARGIN_KM


def _name_keys(names) -> np.ndarray:
    """normalise_name of every element, computed once per distinct name."""
    codes, uniq = pd.factorize(pd.Series(names, dtype=object))
    keys = np.array([normalise_name(u) for u in uniq], dtype=object)
    return keys[codes]


def _largest_remainder(total: int, weights) -> np.ndarray:
    """Integer allocation of ``total`` proportional to ``weights`` (ties by position)."""
    w = np.asarray(weights, float)
    if total <= 0 or w.sum() <= 0:
        return np.zeros(len(w), dtype=np.int64)
    q = total * w / w.sum()
    base = np.floor(q).astype(np.int64)
    rest = total - base.sum()
    order = np.lexsort((np.arange(len(w)), -(q - base)))
    base[order[:rest]] += 1
    return base


def _upper_keep_enye(s: str) -> str:
    """Upper case without accents but keeping Ñ (as INEI writes names)."""
    s = s.upper().replace("Ñ", "\0")
    return strip_accents(s).replace("\0", "Ñ")


def andes_east_edge_lon(lat) -> np.ndarray:
    """Longitude of the eastern Andes edge at a latitude (linear interpolation)."""
    pts = ANDES_EAST_EDGE[::-1]  # np.interp needs increasing x
    return np.interp(np.asarray(lat, float), pts[:, 0], pts[:, 1])


def _km_to_coast(lat, lon) -> np.ndarray:
    """Approximate km from points to the coastline polyline (equirectangular, fine at <300 km)."""
    lat = np.asarray(lat, float)[:, None]
    lon = np.asarray(lon, float)[:, None]
    k = 111.32
    c = np.cos(np.radians(lat))
    ax, ay = COASTLINE[:-1, 1][None, :], COASTLINE[:-1, 0][None, :]
    bx, by = COASTLINE[1:, 1][None, :], COASTLINE[1:, 0][None, :]
    px, py = (lon - ax) * c * k, (lat - ay) * k
    vx, vy = (bx - ax) * c * k, (by - ay) * k
    t = np.clip((px * vx + py * vy) / (vx * vx + vy * vy), 0, 1)
    return np.sqrt((px - t * vx) ** 2 + (py - t * vy) ** 2).min(axis=1)


# --------------------------------------------------------------------------------------------
# districts
# --------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _read_ubigeo() -> pd.DataFrame:
    ref = importlib.resources.files("pra") / "data" / "ubigeo_inei_2025.csv"
    with importlib.resources.as_file(ref) as path:
        df = pd.read_csv(path, sep=";", encoding="utf-8-sig", dtype={"ubigeo": str})
    need = ["departamento", "provincia", "distrito", "ubigeo", "capital_legal", "altitud",
            "población", "latitud", "longitud"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise ValueError(f"{ref}: missing columns {missing}")
    bad = df.index[~df["ubigeo"].str.fullmatch(r"\d{6}") | df[need].isna().any(axis=1)]
    if len(bad):
        raise ValueError(f"{ref}: rows {list(bad[:10])} have a bad ubigeo or missing values")
    return df


def load_districts() -> pd.DataFrame:
    """The 1,891 real districts with dpto, dominio and region (rules in the module docstring)."""
    raw = _read_ubigeo()
    d = pd.DataFrame({
        "ubigeo": raw["ubigeo"].astype(str),
        "dpto": raw["ubigeo"].str[:2],
        "departamento": raw["departamento"].map(_upper_keep_enye),
        "provincia": raw["provincia"].map(_upper_keep_enye),
        "distrito": raw["distrito"].map(_upper_keep_enye),
        "capital": raw["capital_legal"].map(_upper_keep_enye),
        "lat": raw["latitud"].astype(float),
        "lon": raw["longitud"].astype(float),
        "altitud": raw["altitud"].astype(float),
        "poblacion": raw["población"].astype(np.int64),
    })
    lat, lon, alt = d["lat"].to_numpy(), d["lon"].to_numpy(), d["altitud"].to_numpy()
    dp = d["dpto"].to_numpy()
    selva = (np.isin(dp, ["16", "17", "25"])
             | (np.isin(dp, ["01", "22"]) & (alt < 2500))
             | ((alt < 2000) & (lon > andes_east_edge_lon(lat))))
    costa = ~selva & (alt < 1500) & (_km_to_coast(lat, lon) < 120)
    region = np.where(selva, "selva", np.where(costa, "costa", "sierra"))
    dominio = np.where(region == "selva", 7,
               np.where(region == "costa", np.where(lat > -9.0, 1, np.where(lat > -15.4, 2, 3)),
                        np.where(lat > -8.3, 4, np.where(lat > -13.4, 5, 6))))
    lima_metro = (d["ubigeo"].str[:4] == "1501").to_numpy() | (dp == "07")
    dominio = np.where(lima_metro, 8, dominio)
    region = np.where(lima_metro, "costa", region)
    d["dominio"] = dominio.astype(np.int64)
    d["region"] = region
    return d.reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# populated centres: INEI's list, with the altitude and 2007 population it lacks
# --------------------------------------------------------------------------------------------

def _read_text_csv(path) -> pd.DataFrame:
    """A (gzipped) CSV with every column as text and empty fields as '' -- what
    ``pd.read_csv(path, dtype=str, keep_default_na=False)`` gives, read by pyarrow's reader
    (pandas' C reader takes ~5x longer to build the 95k-row text columns)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    with gzip.open(path, "rt", encoding="utf-8") if str(path).endswith(".gz") else \
            open(path, encoding="utf-8") as f:
        header = next(csv.reader(f))
    table = pacsv.read_csv(
        path, read_options=pacsv.ReadOptions(use_threads=False),
        convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in header},
                                             strings_can_be_null=False,
                                             quoted_strings_can_be_null=False))
    return table.to_pandas(use_threads=False)


@functools.lru_cache(maxsize=1)
def _read_inei_centres() -> pd.DataFrame:
    ref = importlib.resources.files("pra") / "data" / CENTRES_FILE
    with importlib.resources.as_file(ref) as path:
        df = _read_text_csv(path)
    need = ["inei_ccpp", "inei_distrito", "departamento", "provincia", "distrito", "ccpp", "tipo",
            "latitude", "longitude"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise ValueError(f"{ref}: missing columns {missing}")
    lat = pd.to_numeric(df["latitude"], errors="coerce")
    lon = pd.to_numeric(df["longitude"], errors="coerce")
    bad = (~df["inei_ccpp"].str.fullmatch(r"\d{10}")
           | (df["inei_ccpp"].str[:6] != df["inei_distrito"])
           | (df["ccpp"].str.strip() == "") | ~df["tipo"].isin(["Urban", "Rural"])
           | lat.isna() | lon.isna())
    if bad.any():
        raise ValueError(f"{ref}: rows {list(np.flatnonzero(bad)[:10] + 2)} have a bad inei_ccpp, "
                         "ccpp, tipo or coordinates")
    if not df["inei_ccpp"].is_unique:
        raise ValueError(f"{ref}: duplicated inei_ccpp "
                         f"{df.loc[df['inei_ccpp'].duplicated(), 'inei_ccpp'].head().tolist()}")
    return df.assign(latitude=lat, longitude=lon)


def load_inei_centres() -> pd.DataFrame:
    """INEI's populated-centre list as shipped (``pra/data/centros_poblados.csv.gz``), validated:
    inei_ccpp (10 digits), inei_distrito, departamento, provincia, distrito, ccpp (name), tipo
    (Urban | Rural), latitude, longitude."""
    return _read_inei_centres().copy()


def _centre_frame(districts: pd.DataFrame) -> pd.DataFrame:
    """INEI's centres (codes, names, coordinates, urban type) with their district row ``di`` and
    ``is_cap`` (code 0001), plus one centre at the capital of each district the list lacks."""
    inei = _read_inei_centres()
    row = pd.Series(np.arange(len(districts)), index=districts["ubigeo"].to_numpy())
    unknown = ~inei["inei_distrito"].isin(row.index)
    if unknown.any():
        bad_d = sorted(set(inei.loc[unknown, "inei_distrito"]))
        raise ValueError(f"{CENTRES_FILE}: districts {bad_d[:10]} are not in ubigeo_inei_2025.csv")
    real = pd.DataFrame({
        "codccpp": inei["inei_ccpp"].to_numpy(), "ubigeo": inei["inei_distrito"].to_numpy(),
        "nomccpp": inei["ccpp"].to_numpy(), "latitud": inei["latitude"].round(6).to_numpy(),
        "longitud": inei["longitude"].round(6).to_numpy(),
        "urban": (inei["tipo"] == "Urban").to_numpy(),
    })
    new = districts[~districts["ubigeo"].isin(set(inei["inei_distrito"].unique()))]
    added = pd.DataFrame({
        "codccpp": (new["ubigeo"] + "0001").to_numpy(), "ubigeo": new["ubigeo"].to_numpy(),
        "nomccpp": new["capital"].to_numpy(), "latitud": new["lat"].round(6).to_numpy(),
        "longitud": new["lon"].round(6).to_numpy(), "urban": True,
    })
    cen = pd.concat([real, added], ignore_index=True).sort_values("codccpp", kind="stable")
    cen = cen.reset_index(drop=True)
    cen["di"] = row.loc[cen["ubigeo"]].to_numpy()
    cen["is_cap"] = (cen["codccpp"].str[6:] == "0001").to_numpy()
    n_cap = np.bincount(cen["di"].to_numpy()[cen["is_cap"].to_numpy()], minlength=len(districts))
    if (n_cap != 1).any():
        raise ValueError(f"{CENTRES_FILE}: districts without a centre 0001: "
                         f"{districts['ubigeo'].to_numpy()[n_cap != 1][:10].tolist()}")
    return cen


def _altitude_base(lat, lon, di, districts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The draw-free part of the altitude model: each centre's base altitude, r (km to the
    nearest capital, capped) and region."""
    clat, clon = districts["lat"].to_numpy(), districts["lon"].to_numpy()
    calt = districts["altitud"].to_numpy()
    _, idx = cKDTree(_unit_vectors(clat, clon)).query(_unit_vectors(lat, lon), k=ALT_CAPITALS)
    d = haversine_km(lat[:, None], lon[:, None], clat[idx], clon[idx])
    w = 1.0 / np.maximum(d, 0.05) ** 2
    base = (w * calt[idx]).sum(axis=1) / w.sum(axis=1)
    r = np.minimum(d.min(axis=1), ALT_RADIUS_CAP_KM)
    reg = districts["region"].to_numpy()[di]
    # a coastal district's centres stay near its capital's level (its neighbours may be Andean)
    base = np.where(reg == "costa", calt[di], base)
    return base, r, reg


def _centre_altitude(alt_base, di, is_cap, districts, rng) -> np.ndarray:
    """Altitude (m) of each centre: the model of the module docstring (``alt_base``:
    :func:`_altitude_base`)."""
    base, r, reg = alt_base
    calt = districts["altitud"].to_numpy()
    z = rng.standard_normal(len(di))
    alt = np.where(reg == "sierra", base + 45.0 * r * (0.35 + z),
          np.where(reg == "costa", base + np.abs(z) * np.minimum(25.0 * r, 300.0) * 0.5,
                   base + 15.0 * r * z))
    alt = np.where(reg == "sierra", np.clip(alt, np.maximum(base - 1200, 500), 4950), alt)
    alt = np.where(reg == "costa", np.clip(alt, 0.0, np.maximum(base * 2.0, 400.0)), alt)
    alt = np.where(reg == "selva", np.clip(alt, 50.0, np.maximum(base + 800, 300)), alt)
    alt = np.where(is_cap, calt[di], np.maximum(alt, 0.0))
    return np.round(alt, 1)


def _centre_population(di, is_cap, urban, districts, rng) -> tuple[np.ndarray, np.ndarray]:
    """2007 population and households of each centre: the model of the module docstring."""
    nd, n = len(districts), len(di)
    pop_d = districts["poblacion"].to_numpy(float) * 0.9
    z = rng.standard_normal(n)
    small = np.where(
        urban, np.clip(np.exp(np.log(URBAN_POP[0]) + URBAN_POP[1] * z), *URBAN_POP[2:]),
        np.clip(np.exp(np.log(RURAL_POP[0]) + RURAL_POP[1] * z), *RURAL_POP[2:]))
    small[is_cap] = 0.0
    sum_small = np.bincount(di, weights=small, minlength=nd)
    limit = 0.7 * pop_d
    small = small * np.where(sum_small > limit, limit / np.maximum(sum_small, 1), 1.0)[di]
    cap_pop = np.maximum(pop_d - np.bincount(di, weights=small, minlength=nd), 0.3 * pop_d)
    # the capital stays the largest centre of its district
    small = np.minimum(small, 0.9 * cap_pop[di])
    cap_pop = np.maximum(pop_d - np.bincount(di, weights=small, minlength=nd), cap_pop)
    pob = np.where(is_cap, cap_pop[di], small)
    pob = np.maximum(np.round(pob), 5).astype(np.int64)
    hh_size = 3.6 + 1.0 * rng.random(n)
    hog = np.maximum(np.round(pob / hh_size), 1).astype(np.int64)
    return pob, hog


@dataclasses.dataclass(frozen=True)
class _Places:
    """What every build shares, whatever the scale and the draws: the districts, INEI's centres
    (``_centre_frame``: codes, names, coordinates, urban type, district row, capital flag) and
    their matching keys and real name groups (``_name_groups``). Built once per process
    (:func:`_places`); its arrays are read-only and each build copies what it returns."""

    districts: pd.DataFrame
    cen: pd.DataFrame
    di: np.ndarray
    is_cap: np.ndarray
    names: np.ndarray            # nomccpp and codccpp of every centre (object arrays)
    codes: np.ndarray
    keys: np.ndarray             # normalise_name of every centre
    members: dict                # district row -> centre rows (code order)
    eligible: np.ndarray         # per district: non-capital centres with a non-empty key
    groups: dict                 # (district row, size) -> list of centre-row arrays sharing a key
    key_count: dict              # (ubigeo, key) -> centres of the district with that key
    code_key: dict               # codccpp -> key
    alt_base: tuple              # _altitude_base


@functools.lru_cache(maxsize=1)
def _places() -> _Places:
    districts = load_districts()
    cen = _centre_frame(districts)
    # the three district names of every centre, as the centre map lists them
    for col in ("departamento", "provincia", "distrito"):
        cen[col] = districts[col].array.take(cen["di"].to_numpy())
    di, is_cap = cen["di"].to_numpy(), cen["is_cap"].to_numpy()
    names = cen["nomccpp"].to_numpy(dtype=object)
    codes = cen["codccpp"].to_numpy(dtype=object)
    keys, members, eligible, groups = _name_groups(names, di, is_cap, len(districts))
    ubigeo = cen["ubigeo"].tolist()
    key_count = collections.Counter(zip(ubigeo, keys.tolist()))
    code_key = dict(zip(codes.tolist(), keys.tolist()))
    alt_base = _altitude_base(cen["latitud"].to_numpy(), cen["longitud"].to_numpy(), di,
                              districts)
    for a in [di, is_cap, names, codes, keys, eligible, *alt_base, *members.values(),
              *(g for gs in groups.values() for g in gs)]:
        a.flags.writeable = False
    return _Places(districts, cen, di, is_cap, names, codes, keys, members, eligible, groups,
                   dict(key_count), code_key, alt_base)


def _build_centres(places: _Places, rng):
    """The populated-centre map (CENTRE_COLS) with each centre's district row and capital flag."""
    cen, districts = places.cen, places.districts
    di, is_cap = places.di, places.is_cap
    lat, lon = cen["latitud"].to_numpy(), cen["longitud"].to_numpy()
    alt = _centre_altitude(places.alt_base, di, is_cap, districts, rng)
    pob, hog = _centre_population(di, is_cap, cen["urban"].to_numpy(), districts, rng)
    # the text columns as they are (pyarrow-backed): no round trip through Python objects
    centres = pd.DataFrame({
        "codccpp": cen["codccpp"].array, "ubigeo": cen["ubigeo"].array,
        "departamento": cen["departamento"].array, "provincia": cen["provincia"].array,
        "distrito": cen["distrito"].array, "nomccpp": cen["nomccpp"].array,
        "latitud": lat, "longitud": lon, "altitud": alt,
        "hogares_2007": hog, "poblacion_2007": pob,
    })
    return centres, di, is_cap


# --------------------------------------------------------------------------------------------
# register design: corridor districts and locality statuses
# --------------------------------------------------------------------------------------------

def _department_design() -> pd.DataFrame:
    """Per department: localities by status so that Table 1 holds exactly."""
    rows = []
    for dp, (name, no, yes) in TABLE1.items():
        a2, a3 = AMBIG2.get(dp, 0), AMBIG3.get(dp, 0)
        extras = a2 + 2 * a3
        rows.append({"dpto": dp, "departamento": name, "No": no, "Yes": yes,
                     "amb2": a2, "amb3": a3, "unmatched": no,
                     "pool": yes - extras - a2 - a3, "localities": no + yes - extras})
    t = pd.DataFrame(rows)
    t["code"] = _largest_remainder(N_CODE, t["pool"])
    t["name"] = t["pool"] - t["code"]
    assert t["localities"].sum() == 1000 and t["code"].sum() == N_CODE
    assert (t["amb2"].sum(), t["amb3"].sum(), t["unmatched"].sum()) == (13, 2, 139)
    return t


@dataclasses.dataclass
class _NameIndex:
    """Matching keys of the centres and, per district row, what the register can use: the
    shared keys and name groups of ``_places`` (read through this object) with this build's
    centre populations ``pob``."""

    places: _Places
    pob: np.ndarray              # poblacion_2007 of every centre (this build's draw)

    def __getattr__(self, name):
        if name == "places":  # not set yet (copy, pickle): no recursion
            raise AttributeError(name)
        return getattr(self.places, name)


def _name_groups(names: np.ndarray, di: np.ndarray, is_cap: np.ndarray, nd: int):
    """Matching keys, centres per district, eligible counts and real repeated names: groups of 2
    or 3 non-capital centres of a district sharing a key (the whole set of centres with that key
    in the district)."""
    keys = _name_keys(names)
    ok = ~is_cap & (keys != "")
    eligible = np.bincount(di[ok], minlength=nd)
    rows = np.arange(len(di))
    # centres of a district in code order
    by_d = np.argsort(di, kind="stable")
    cut = np.flatnonzero(np.diff(di[by_d])) + 1
    members = {int(di[g[0]]): g for g in np.split(rows[by_d], cut)}
    # runs of (district, key), keys in string order (codes of the sorted unique keys); only
    # runs of 2 or 3 non-capital centres with a non-empty key are groups
    kc, uk = pd.factorize(keys, sort=True)
    order = np.lexsort((kc, di))
    sd, sk = di[order], kc[order]
    start = np.flatnonzero(np.r_[True, (np.diff(sd) != 0) | (np.diff(sk) != 0)])
    size = np.diff(np.r_[start, len(order)])
    has_cap = np.add.reduceat(is_cap[order].astype(np.int64), start) > 0
    is_group = np.isin(size, (2, 3)) & ~has_cap & (uk[sk[start]] != "")
    groups: dict = {}
    for st, n in zip(start[is_group], size[is_group]):
        groups.setdefault((int(sd[st]), int(n)), []).append(np.sort(order[st:st + n]))
    return keys, members, eligible, groups


def _name_index(centres: pd.DataFrame, places: _Places) -> _NameIndex:
    """The shared name groups (``_places``) with this build's centre populations."""
    return _NameIndex(places, centres["poblacion_2007"].to_numpy())


def _swap_in_groups(taken, order, dd_rows, index: _NameIndex, size: int, need: int,
                    hubs: set) -> list[int]:
    """Replace peripheral corridor districts by the nearest ones holding real name groups of
    ``size`` until the department has ``need`` of them (``order``: candidates, nearest first;
    hub districts stay)."""
    def n_groups(i):
        return len(index.groups.get((int(dd_rows[i]), size), []))

    taken = list(taken)
    have = sum(n_groups(i) for i in taken)
    for i in order:
        if have >= need:
            break
        if i in taken or n_groups(i) == 0:
            continue
        drop = [j for j in taken if j not in hubs
                and not any(index.groups.get((int(dd_rows[j]), s)) for s in (2, 3))]
        if not drop:
            break
        taken.remove(drop[-1])
        taken.append(i)
        have += n_groups(i)
    if have < need:
        raise RuntimeError(f"no corridor districts with {need} real name groups of {size}")
    return taken


def _allocate_capped(total: int, caps: np.ndarray, rng) -> np.ndarray:
    """One locality per district, the rest uniformly among districts below their cap."""
    counts = np.ones(len(caps), dtype=np.int64)
    if total < len(caps) or caps.sum() < total:
        raise RuntimeError(f"cannot place {total} localities in {len(caps)} districts "
                           f"(capacity {int(caps.sum())})")
    for _ in range(total - len(caps)):
        free = np.flatnonzero(counts < caps)
        counts[free[int(rng.integers(len(free)))]] += 1
    return counts


def _corridor_hubs(dd: pd.DataFrame, dpto: str, n_dist: int, ok: np.ndarray, w, rng):
    """Hub districts (row positions in ``dd``) and how many corridor districts grow from each."""
    hubs: list[tuple[int, int]] = []
    low_quota = max(1, round(0.12 * n_dist))
    for reg, dptos in (("costa", COAST_HUB_DPTOS), ("selva", SELVA_HUB_DPTOS)):
        cand = np.flatnonzero((dd["region"] == reg).to_numpy() & ok)
        if dpto in dptos and len(cand):
            p = w[cand] / w[cand].sum()
            hubs.append((int(rng.choice(cand, p=p)), low_quota))
    n_low = sum(q for _, q in hubs)
    if n_low >= n_dist:  # e.g. Madre de Dios: a single lowland district
        return [(hubs[0][0], n_dist)]
    n_sierra_hubs = max(1, round((n_dist - n_low) / 7))
    andean = ok & ((dd["region"] == "sierra") & dd["altitud"].between(2500, 4000)).to_numpy()
    cand = np.flatnonzero(andean if andean.any() else ok)
    cand = cand[~np.isin(cand, [h for h, _ in hubs])]
    p = w[cand] / w[cand].sum()
    sh = rng.choice(cand, size=min(n_sierra_hubs, len(cand)), replace=False, p=p)
    quotas = _largest_remainder(n_dist - n_low, np.ones(len(sh)))
    return hubs + [(int(h), int(q)) for h, q in zip(sh, quotas)]


def _choose_corridors(districts: pd.DataFrame, design: pd.DataFrame, index: _NameIndex,
                      rng) -> pd.DataFrame:
    """Corridor districts and their number of programme localities (one row per district)."""
    out = []
    for r in design.itertuples():
        dd = districts[(districts["dpto"] == r.dpto) & (districts["dominio"] != 8)]
        dd_rows = dd.index.to_numpy()
        L = int(r.localities)
        ok = index.eligible[dd_rows] >= MIN_CORRIDOR_CENTRES
        n_dist = int(max(1, min(int(ok.sum()), round(L / 4.5))))
        w = np.sqrt(dd["poblacion"].to_numpy(float))
        hubs = _corridor_hubs(dd, r.dpto, n_dist, ok, w, rng)
        lat, lon = dd["lat"].to_numpy(), dd["lon"].to_numpy()
        taken: list[int] = []
        for h, q in hubs:
            dist = haversine_km(lat[h], lon[h], lat, lon)
            order = [i for i in np.argsort(dist, kind="stable") if ok[i] and i not in taken]
            taken += order[:q]
        near_hub = [i for i in np.argsort(haversine_km(lat[hubs[0][0]], lon[hubs[0][0]], lat, lon),
                                          kind="stable") if ok[i]]
        for size, need in ((3, int(r.amb3)), (2, int(r.amb2))):
            taken = _swap_in_groups(taken, near_hub, dd_rows, index, size, need,
                                    {h for h, _ in hubs})
        caps = index.eligible[dd_rows[taken]] // CENTRES_PER_LOCALITY
        counts = _allocate_capped(L, caps, rng)
        out.append(pd.DataFrame({"ubigeo": dd["ubigeo"].to_numpy()[taken], "dpto": r.dpto,
                                 "n_localities": counts}))
    return pd.concat(out, ignore_index=True)


# --------------------------------------------------------------------------------------------
# register
# --------------------------------------------------------------------------------------------

def _plan_statuses(dist_rows: np.ndarray, n_loc: np.ndarray, t, index: _NameIndex, rng):
    """Per corridor district of one department: its localities as (status, ambiguous group)."""
    free = np.asarray(n_loc, dtype=np.int64).copy()
    plan: list[list] = [[] for _ in dist_rows]
    used: set = set()
    for size, n in ((3, int(t["amb3"])), (2, int(t["amb2"]))):
        for _ in range(n):
            opts = [(j, g) for j, d in enumerate(dist_rows) if free[j] > 0
                    for g in range(len(index.groups.get((int(d), size), [])))
                    if (j, size, g) not in used]
            if not opts:
                raise RuntimeError(f"no free real name group of {size} in the corridor districts")
            j, g = opts[int(rng.integers(len(opts)))]
            used.add((j, size, g))
            free[j] -= 1
            plan[j].append(("ambiguous", index.groups[(int(dist_rows[j]), size)][g]))
    rest = (["code"] * int(t["code"]) + ["name"] * int(t["name"])
            + ["unmatched"] * int(t["unmatched"]))
    rest = list(rng.permutation(np.array(rest, dtype=object)))
    if len(rest) != free.sum():
        raise RuntimeError(f"{len(rest)} statuses for {int(free.sum())} free localities")
    pos = 0
    for j in range(len(dist_rows)):
        plan[j] += [(s, None) for s in rest[pos:pos + free[j]]]
        pos += free[j]
    return plan


def _noisy_name(name: str, rng) -> str:
    """The name with spelling noise that the matching rule undoes (clean if it cannot)."""
    key = normalise_name(name)
    for _ in range(5):
        x = add_spelling_noise(name, rng)
        if normalise_name(x) == key:
            return x
    return name


def _unmatched_name(name: str, district_keys: set, rng) -> str | None:
    """A typo of the name whose matching key no centre of the district has, or None."""
    for _ in range(10):
        t = add_typo(name, rng)
        if t is None:
            return None
        if rng.random() < 0.5:
            t = _noisy_name(t, rng)
        k = normalise_name(t)
        if k and k not in district_keys:
            return t
    return None


def _district_localities(ubigeo: str, plan, d: int, index: _NameIndex, is_cap, rng):
    """The register rows of one corridor district (status, true centre, candidates, name, code)."""
    members = index.members[d]
    keys, nom, codes, pob = index.keys, index.names, index.codes, index.pob
    district_keys = set(keys[members])
    pool = members[~is_cap[members] & (keys[members] != "")]
    at = {int(c): j for j, c in enumerate(pool)}  # centre row -> position in pool
    used = np.zeros(len(pool), dtype=bool)        # taken by an ambiguous group or a draw
    for i in {int(i) for s, g in plan if s == "ambiguous" for i in g}:
        if i in at:
            used[at[i]] = True
    single = np.array([index.key_count[(ubigeo, k)] == 1 for k in keys[pool]], dtype=bool)
    weight = np.where(pob[pool] <= 2000, 1.0, 0.15)

    def draw(mask) -> int:
        free = mask & ~used
        if not free.any():
            raise RuntimeError(f"district {ubigeo}: no free centre for the register")
        p = weight[free] / weight[free].sum()
        i = int(rng.choice(pool[free], p=p))
        used[at[i]] = True
        return i

    rows = []
    for status, group in plan:
        code, cands = "", []
        if status == "ambiguous":
            true = int(group[int(rng.integers(len(group)))])
            name, cands = _noisy_name(nom[true], rng), [int(i) for i in group]
        elif status == "name":
            true = draw(single)
            name, cands = _noisy_name(nom[true], rng), [true]
        elif status == "code":
            true = draw(np.ones(len(pool), bool))
            u = rng.random()
            name = nom[true] if u < 0.6 else _noisy_name(nom[true], rng)
            if u >= 0.9:
                name = add_typo(nom[true], rng) or name
            code, cands = codes[true], [true]
        else:  # unmatched: the programme misspelt the centre's name
            for _ in range(20):
                true = draw(np.ones(len(pool), bool))
                name = _unmatched_name(nom[true], district_keys, rng)
                if name is not None:
                    break
            else:
                raise RuntimeError(f"district {ubigeo}: no misspelling absent from the district")
        rows.append({"ubigeo": ubigeo, "codccpp": code, "localidad": name, "status": status,
                     "true": true, "cands": cands})
    return rows


def _build_register(districts, corridors, design, centres, di, is_cap, index: _NameIndex, rng):
    """The register (Table 1 by construction), its truth and the geo-referenced candidates."""
    dist_row = {u: i for i, u in enumerate(districts["ubigeo"])}
    reg_rows = []
    design = design.set_index("dpto")
    for dp in TABLE1:
        cd = corridors[corridors["dpto"] == dp]
        rows_d = np.array([dist_row[u] for u in cd["ubigeo"]])
        plan = _plan_statuses(rows_d, cd["n_localities"].to_numpy(), design.loc[dp], index, rng)
        for u, d, p in zip(cd["ubigeo"], rows_d, plan):
            reg_rows += [dict(r, dpto=dp)
                         for r in _district_localities(u, p, int(d), index, is_cap, rng)]
    reg = pd.DataFrame(reg_rows)
    # ids: department order, then a random order within the department
    reg["_r"] = rng.random(len(reg))
    reg = reg.sort_values(["dpto", "_r"], kind="stable").reset_index(drop=True)
    reg["id_localidad"] = np.arange(1, len(reg) + 1)
    chains = np.array(CHAINS, dtype=object)
    ub = districts["ubigeo"].tolist()
    prov = dict(zip(ub, districts["provincia"].tolist()))
    distr = dict(zip(ub, districts["distrito"].tolist()))
    register = pd.DataFrame({
        "id_localidad": reg["id_localidad"].astype(np.int64),
        "departamento": reg["dpto"].map({k: v[0] for k, v in TABLE1.items()}),
        "provincia": reg["ubigeo"].map(lambda u: strip_accents(prov[u])),
        "distrito": reg["ubigeo"].map(lambda u: strip_accents(distr[u])),
        "ubigeo": reg["ubigeo"],
        "codccpp": reg["codccpp"],
        "localidad": reg["localidad"],
        "cadena": chains[rng.integers(len(chains), size=len(reg))],
    })
    codes = index.codes
    lat, lon = centres["latitud"].to_numpy(), centres["longitud"].to_numpy()
    truth, geo = [], []
    for r in reg.itertuples():
        if r.status == "unmatched":
            truth.append((r.id_localidad, r.status, codes[r.true], np.nan))
            continue
        for ci in r.cands:
            truth.append((r.id_localidad, r.status, codes[r.true], codes[ci]))
            geo.append((r.id_localidad, codes[ci], lat[ci], lon[ci]))
    register_truth = pd.DataFrame(truth, columns=["id_localidad", "status", "codccpp_true",
                                                  "codccpp_candidate"])
    localities_geo = pd.DataFrame(geo, columns=["id_localidad", "codccpp", "latitude",
                                                "longitude"])
    _check_register(register, register_truth, index)
    return register, register_truth, localities_geo


def _check_register(register, truth, index: _NameIndex) -> None:
    """The planted matching design survives the documented rule (raises otherwise)."""
    count, code_key = index.key_count, index.code_key
    st = truth.groupby("id_localidad")["status"].first().to_dict()
    ncand = truth.groupby("id_localidad")["codccpp_candidate"].count().to_dict()
    true_code = truth.groupby("id_localidad")["codccpp_true"].first().to_dict()
    problems = []
    for r in register.itertuples():
        k = normalise_name(r.localidad)
        s = st[r.id_localidad]
        n_same = int(count.get((r.ubigeo, k), 0))
        if s == "code":
            ok = r.codccpp == true_code[r.id_localidad]
        elif s == "unmatched":
            ok = n_same == 0
        else:
            ok = (k == code_key[true_code[r.id_localidad]]) and n_same == ncand[r.id_localidad]
            ok = ok and (s == "name") == (n_same == 1)
        if not ok:
            problems.append((r.id_localidad, s, r.localidad, n_same))
    if problems:
        raise AssertionError(f"register does not reproduce the planted matches: {problems[:5]}")


# --------------------------------------------------------------------------------------------
# frame
# --------------------------------------------------------------------------------------------

def _build_frame(districts, corridors, n_adjacent: int = 2) -> pd.DataFrame:
    prog = set(corridors["ubigeo"])
    corr = corridors[corridors["dpto"].isin(FRAME_DPTOS)]["ubigeo"].tolist()
    d = districts.set_index("ubigeo")
    others = districts[~districts["ubigeo"].isin(prog) & (districts["dominio"] != 8)]
    olat, olon = others["lat"].to_numpy(), others["lon"].to_numpy()
    oub = others["ubigeo"].to_numpy(dtype=object)
    lat, lon = d["lat"].to_dict(), d["lon"].to_dict()
    adj: list[str] = []
    for u in corr:
        dist = haversine_km(lat[u], lon[u], olat, olon)
        for j in np.argsort(dist, kind="stable")[:n_adjacent]:
            v = oub[j]
            if v not in adj:
                adj.append(v)
    rows = [(u, "corredor") for u in corr] + [(u, "adyacente") for u in adj]
    fr = pd.DataFrame(rows, columns=["ubigeo", "grupo"])
    fr = fr.join(d[["departamento", "provincia", "distrito"]], on="ubigeo")
    return fr[["ubigeo", "departamento", "provincia", "distrito", "grupo"]].sort_values(
        "ubigeo", kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# conglomerates
# --------------------------------------------------------------------------------------------

def _estrato(pob, hog, dominio, u) -> np.ndarray:
    urban = pob > 2000
    est_u = np.select([hog > 100_000, hog > 20_000, hog > 10_000, hog > 4_000], [1, 2, 3, 4], 5)
    est_r = np.where(pob > 500, 6, np.where(u < 0.35, 7, 8))
    est = np.where(urban, est_u, est_r)
    return np.where(dominio == 8, 1, est).astype(np.int64)


def _pps_systematic(pi: np.ndarray, strata: np.ndarray, rng) -> np.ndarray:
    """Systematic PPS with inclusion probabilities pi over units sorted by stratum (random
    order within stratum): exact n, implicit stratification."""
    perm = np.lexsort((rng.random(len(pi)), strata))
    cum = np.cumsum(pi[perm])
    n = int(round(cum[-1]))
    points = rng.random() + np.arange(n)
    sel = np.searchsorted(cum, points, side="right")
    return np.sort(perm[np.minimum(sel, len(pi) - 1)])


def _inclusion(w: np.ndarray, n: int) -> np.ndarray:
    """pi = min(1, lam * w) with sum(pi) = n."""
    if n >= len(w):
        return np.ones(len(w))
    pi = np.zeros(len(w))
    capped = np.zeros(len(w), bool)
    for _ in range(50):
        free = ~capped
        lam = (n - capped.sum()) / w[free].sum()
        pi = np.where(capped, 1.0, lam * w)
        new = pi > 1.0
        if not (new & free).any():
            break
        capped |= new
    return np.minimum(pi, 1.0)


@dataclasses.dataclass
class _SlotPool:
    """Candidate centres (``c``, with per-centre arrays) and conglomerate slots on them."""

    c: pd.DataFrame
    near: np.ndarray
    dist: np.ndarray
    region: np.ndarray
    dominio: np.ndarray
    grp: np.ndarray
    urban: np.ndarray
    alt: np.ndarray
    slot_c: np.ndarray   # centre position (in c) of every slot
    band: np.ndarray     # distance band of every slot


def _slot_pool(districts, centres, di, localities_geo, frame) -> _SlotPool:
    """Slots on the centres of the 12 departments: one per rural centre, about one per 150
    households (2–15) on urban ones; none near a band edge or on shared coordinates."""
    in12 = centres["ubigeo"].str[:2].isin(list(TABLE1)).to_numpy()
    c = centres.iloc[np.flatnonzero(in12)]
    near, dist = nearest_localities(c["latitud"].to_numpy(), c["longitud"].to_numpy(),
                                    localities_geo["latitude"].to_numpy(),
                                    localities_geo["longitude"].to_numpy())
    # the pipeline takes a 2012 conglomerate's locality as the nearest centre: never ambiguous
    shared = centres.duplicated(["latitud", "longitud"], keep=False).to_numpy()[in12]
    ok = ~near_band_edge(dist) & ~shared
    urban = c["poblacion_2007"].to_numpy() > 2000
    cap = np.where(urban, np.clip(c["hogares_2007"].to_numpy() // 150, 2, 15), 1)
    slot_c = np.repeat(np.arange(len(c)), np.where(ok, cap, 0))
    cdi = di[in12]  # each centre's district row
    grp_of = dict(zip(frame["ubigeo"], frame["grupo"]))
    grp = np.array([grp_of.get(u, "none") for u in districts["ubigeo"]], dtype=object)
    return _SlotPool(
        c=c, near=near, dist=dist,
        region=districts["region"].to_numpy(dtype=object)[cdi],
        dominio=districts["dominio"].to_numpy()[cdi],
        grp=grp[cdi],
        urban=urban, alt=c["altitud"].to_numpy(), slot_c=slot_c, band=band_of(dist)[slot_c])


def _conglomerates_per_band(targets: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """K_b conglomerates from 2007 and E_b more from 2011 in each band."""
    m = HH_PER_CONGLOMERATE * np.sqrt(max(scale, 1.0))
    K = np.maximum(1, np.round(targets[:4].mean(axis=0) / m)).astype(np.int64)
    E = np.maximum(0, np.round(targets[4:].mean(axis=0) / m).astype(np.int64) - K)
    return K, E


def _rake_weights(pool: _SlotPool, targets: np.ndarray, n_b: np.ndarray, scale: float):
    """Selection weight of every slot (raked to Table 4 and the frame targets) and its
    implicit-stratification key."""
    s = pool.slot_c
    s_alt = np.searchsorted(np.asarray(ALT_BINS), pool.alt[s], side="right")
    tot09 = targets[YEARS.index(2009)].sum()
    g_corr = MATCH_2009_JUL_NOV["corredor"] / JUL_NOV_SHARE * scale
    g_adj = MATCH_2009_JUL_NOV["adyacente"] / JUL_NOV_SHARE * scale
    grp_sorted = np.array(["adyacente", "corredor", "none"])
    s_grp_i = np.searchsorted(grp_sorted, pool.grp[s])
    reg_names = np.array(["costa", "selva", "sierra"])
    s_reg_i = np.searchsorted(reg_names, pool.region[s])
    s_urb = pool.urban[s]
    dd = pool.band < 7
    s_near_urb = s_urb.astype(np.int64) + 2 * (~dd)  # urban share, near and far separately
    margins = [  # (codes, target shares by code, rows the margin is computed on)
        (s_reg_i, np.array([TABLE4_TARGET[r] for r in reg_names]), dd),
        (s_alt, np.asarray(ALT_BIN_TARGET), dd),
        (s_near_urb, np.array([1 - TABLE4_TARGET["urban"], TABLE4_TARGET["urban"], 0, 0]), dd),
        (s_near_urb, np.array([0, 0, 1 - FAR_URBAN_SHARE, FAR_URBAN_SHARE]), ~dd),
        (s_grp_i, np.array([{"corredor": g_corr, "adyacente": g_adj,
                             "none": tot09 - g_corr - g_adj}[g] / tot09 for g in grp_sorted]),
         np.ones(len(dd), bool)),
    ]
    base_w = np.where(pool.dominio[s] == 8, LIMA_METRO_WEIGHT, 1.0)
    alt_km = pool.alt[s] / 1000.0
    w = _rake(margins, base_w, alt_km, dd, pool.band, n_b, targets[YEARS.index(2009)])
    # systematic PPS over the pool sorted by the raking cells = implicit stratification, so the
    # drawn composition is close to the expected one
    strat_key = ((s_grp_i * 3 + s_reg_i) * 10 + s_alt) * 2 + s_urb
    return w, strat_key


def _rake(margins, base_w, alt_km, dd, band, n_b, hh09) -> np.ndarray:
    """Multiplicative raking factors per cell of the margins, plus an exponential tilt on
    altitude, so that the expected 2009 households hit every margin and the mean altitude."""
    fac = [np.ones(len(t)) for _, t, _ in margins]
    band_rows = [np.flatnonzero(band == b) for b in range(8)]

    def expected_hh(w):
        e = np.zeros(len(w))
        for b, ib in enumerate(band_rows):
            if len(ib):
                pi = _inclusion(w[ib], int(n_b[b]))
                e[ib] = pi * hh09[b] / max(pi.sum(), 1e-9)
        return e

    tilt = 0.0
    # one cell per combination of margin codes: the raking factors multiply per cell. Cells in
    # the lexicographic order of their codes (np.unique(axis=0)'s), from one integer per row
    cell_codes = np.column_stack([codes for codes, _, _ in margins])
    radix = cell_codes.max(axis=0, initial=0) + 1
    ukey, cell_of = np.unique(np.ravel_multi_index(cell_codes.T, radix), return_inverse=True)
    cells = np.column_stack(np.unravel_index(ukey, radix))
    cell_of = cell_of.ravel()
    alt_3 = alt_km - 3.0

    def weights(tilted):
        """``tilted`` (base_w * exp(tilt * (alt_km - 3)), computed once per round) times the
        cells' raking factors."""
        fc = np.ones(len(cells))
        for j, f in enumerate(fac):
            fc *= f[cells[:, j]]
        return tilted * fc[cell_of]

    margin_codes = [codes[mask] for codes, _, mask in margins]
    for _ in range(30):
        tilted = base_w * np.exp(tilt * alt_3)
        for (codes, tgt, mask), f, mcodes in zip(margins, fac, margin_codes):
            e = expected_hh(weights(tilted))
            em = e[mask]
            got = np.bincount(mcodes, weights=em, minlength=len(tgt)) / em.sum()
            upd = np.where((got > 0) & (tgt > 0),
                           np.clip((tgt / np.maximum(got, 1e-12)) ** 0.8, 0.2, 5.0), 1.0)
            f *= upd
        e = expected_hh(weights(tilted))[dd]
        mean = (e @ alt_km[dd]) / e.sum()
        var = (e @ (alt_km[dd] - mean) ** 2) / e.sum()
        tilt += 0.8 * (TABLE4_TARGET["altitude_mean"] / 1000.0 - mean) / max(var, 1e-6)
        tilt = float(np.clip(tilt, -5.0, 5.0))
    return weights(base_w * np.exp(tilt * alt_3))


def _draw_slots(pool: _SlotPool, w, strat_key, n_b, rng) -> tuple[np.ndarray, np.ndarray]:
    """Systematic PPS draw of n_b slots per band: (centre position in the pool, band)."""
    chosen_slots, slot_band = [], []
    for b in range(8):
        ib = np.flatnonzero(pool.band == b)
        if len(ib) < n_b[b]:
            raise RuntimeError(f"band {BAND_LABELS[b]}: only {len(ib)} candidate slots for "
                               f"{n_b[b]} conglomerates")
        pi = _inclusion(w[ib], int(n_b[b]))
        pi = np.minimum(pi * (n_b[b] / pi.sum()), 1.0)
        sel = ib[_pps_systematic(pi, strat_key[ib], rng)]
        chosen_slots.append(sel)
        slot_band.append(np.full(len(sel), b))
    cb = np.concatenate(slot_band)
    ci = pool.slot_c[np.concatenate(chosen_slots)]
    # order conglomerates by band then centre code so that ids follow space
    order = np.lexsort((pool.c["codccpp"].to_numpy()[ci], cb))
    return ci[order], cb[order]


def _households_per_year(cb, E, targets, rng) -> tuple[np.ndarray, np.ndarray]:
    """First year (2007, or 2011 for E_b of each band) and producer households per year: each
    year's band target split exactly over the band's active conglomerates."""
    first_year = np.full(len(cb), 2007)
    n_hh = np.zeros((len(cb), len(YEARS)), dtype=np.int64)
    for b in range(8):
        ib = np.flatnonzero(cb == b)
        late = rng.choice(ib, size=int(E[b]), replace=False) if E[b] > 0 else np.array([], int)
        first_year[late] = 2011
        for yi, y in enumerate(YEARS):
            act = ib[first_year[ib] <= y]
            T = int(targets[yi, b])
            base, rest = divmod(T, len(act))
            extra = np.zeros(len(act), dtype=np.int64)
            extra[rng.choice(len(act), size=rest, replace=False)] = 1
            n_hh[act, yi] = base + extra
    return first_year, n_hh


def _conglomerate_ids(n: int, rng) -> np.ndarray:
    """Ids within INEI's 4 digits (conglome is 4 wide in the dictionaries) while they fit: at
    scale 1 about 1,650 conglomerates, spaced ``step`` apart with a random offset; a larger
    scale needs more ids and widens them (synthesize pads to the widest)."""
    step = int(min(7, max(1, 9999 // (n + 1))))
    return np.arange(1, n + 1) * step + rng.integers(0, 7, size=n) % step


def _build_conglomerates(districts, centres, di, localities_geo, frame, scale, rng):
    targets = np.array([[round(TABLE2[y][b] * scale) for b in range(8)] for y in YEARS])
    pool = _slot_pool(districts, centres, di, localities_geo, frame)
    K, E = _conglomerates_per_band(targets, scale)
    w, strat_key = _rake_weights(pool, targets, K + E, scale)
    ci, cb = _draw_slots(pool, w, strat_key, K + E, rng)
    first_year, n_hh = _households_per_year(cb, E, targets, rng)
    conglome = _conglomerate_ids(len(ci), rng)
    c = pool.c
    pob, hog = c["poblacion_2007"].to_numpy()[ci], c["hogares_2007"].to_numpy()[ci]
    u = rng.random(len(ci))
    cg = pd.DataFrame({
        "conglome": conglome.astype(np.int64),
        "codccpp": c["codccpp"].to_numpy()[ci],
        "ubigeo": c["ubigeo"].to_numpy()[ci],
        "dominio": pool.dominio[ci].astype(np.int64),
        "estrato": _estrato(pob, hog, pool.dominio[ci], u),
        "latitud": c["latitud"].to_numpy()[ci],
        "longitud": c["longitud"].to_numpy()[ci],
        "altitud": pool.alt[ci],
        "first_year": first_year.astype(np.int64),
        "dist_km": pool.dist[ci],
        "nearest_id": localities_geo["id_localidad"].to_numpy()[pool.near[ci]].astype(np.int64),
    })
    for yi, y in enumerate(YEARS):
        cg[f"n_hh_{y}"] = n_hh[:, yi]
    return cg.reset_index(drop=True), targets


def geography_report(geo: Geography) -> dict:
    """Achieved vs target: Table 2 counts, Table 4 profile (<= 20 km), matching baseline."""
    cg = geo.conglomerates
    b = band_of(cg["dist_km"].to_numpy())
    achieved = pd.DataFrame({y: np.bincount(b, weights=cg[f"n_hh_{y}"], minlength=8)
                             for y in YEARS}, index=list(BAND_LABELS)).T.astype(np.int64)
    target = pd.DataFrame({y: [round(v * geo.scale) for v in TABLE2[y]] for y in YEARS},
                          index=list(BAND_LABELS)).T
    d = geo.districts.set_index("ubigeo")
    reg = cg["ubigeo"].map(d["region"])
    w = cg[[f"n_hh_{y}" for y in YEARS]].sum(axis=1).to_numpy(float)
    dd = b < 7
    ww = w[dd] / w[dd].sum()
    alt = cg["altitud"].to_numpy()[dd]
    profile = {
        "costa": float(ww @ (reg[dd] == "costa")), "sierra": float(ww @ (reg[dd] == "sierra")),
        "selva": float(ww @ (reg[dd] == "selva")), "high": float(ww @ (alt > 3000)),
        "urban": float(ww @ (cg["estrato"].to_numpy()[dd] < 6)),
        "altitude_mean": float(ww @ alt),
    }
    grp = cg["ubigeo"].map(geo.frame.set_index("ubigeo")["grupo"])
    match = {g: float(cg.loc[grp == g, "n_hh_2009"].sum() * JUL_NOV_SHARE)
             for g in ("corredor", "adyacente")}
    return {"table2_achieved": achieved, "table2_target": target, "table4_profile": profile,
            "table4_target": dict(TABLE4_TARGET),
            "match_2009_jul_nov_expected": match,
            "match_2009_jul_nov_target": {k: v * geo.scale for k, v in MATCH_2009_JUL_NOV.items()}}


# --------------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------------

def build_geography(scale: float, rng: np.random.Generator) -> Geography:
    """Districts, centres, register, frame and conglomerates for a given scale (contract §2.1)."""
    if not (scale > 0):
        raise ValueError(f"scale must be > 0, got {scale!r}")
    places = _places()
    districts = places.districts.copy()  # the caller's own; the shared one stays as built
    design = _department_design()
    centres, di, is_cap = _build_centres(places, rng)
    index = _name_index(centres, places)
    corridors = _choose_corridors(districts, design, index, rng)
    register, truth, geo_rows = _build_register(
        districts, corridors, design, centres, di, is_cap, index, rng)
    frame = _build_frame(districts, corridors)
    conglomerates, _ = _build_conglomerates(districts, centres, di, geo_rows, frame, scale,
                                            rng)
    geo = Geography(scale=float(scale), districts=districts, centres=centres, register=register,
                    register_truth=truth, localities_geo=geo_rows, frame=frame,
                    conglomerates=conglomerates)
    geo.diagnostics = geography_report(geo)
    return geo
