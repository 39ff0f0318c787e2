"""Embedded generator, geography part: districts, populated centres, PRA-II register, sample
frame and ENAHO conglomerates (docs/contract.md §1.3, §2.1).

Everything is drawn from one ``np.random.Generator`` in a fixed order, so ``build_geography``
is deterministic for a given seed. Real inputs: the 1,891 districts of the package data
``pra/data/ubigeo_inei_2025.csv`` (capital coordinates, altitude, population).

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
* Populated centres: ``round(150_000 * min(scale, 1))`` nationally (at least 3 per district and
  enough in programme districts for the register), allocated by sqrt(district population),
  uniformly over a disc around the real capital whose radius (3 km · sqrt(n₁/π), n₁ = the
  district's count at scale 1) gives ~3 km spacing at scale 1 and does not change with scale.
  The capital centre sits on the real capital coordinates and altitude. Other centres: sierra
  capital + 45 m/km · r · (0.35 + N(0,1)) (valley sides, 500–4,950 m); costa capital + |noise|
  ≤ 300 m (never below 0); selva capital ± 15 m/km · r. 2007 population: hamlets lognormal
  (median 60, most ≤ 200, some 201–2,000), the capital takes the rest of 0.9 × the 2025
  district population (at least 30%) and stays the largest; households = population / U(3.6,
  4.6).
* ``estrato`` of a conglomerate from its centre: urban (poblacion_2007 > 2,000) 1–5 by
  households (1 >100,000; 2 >20,000; 3 >10,000; 4 >4,000; 5 otherwise), dominio 8 → 1; rural:
  6 for 501–2,000 inhabitants, else 7 (AER compuesto, 35%) or 8 (AER simple, 65%).
* Centre names: a fixed pool (Spanish saints, generic Spanish names, Quechua/Aymara compounds
  such as HUAYLLAPAMPA or ÑAUPACCOCHA, "SAN JUAN DE ..." compounds, some with accents and Ñ),
  drawn with Zipf-like weights and made unique within the district on the matching key
  (:func:`pra.names.normalise_name`). The capital centre carries the real capital's name.
* Register (Table 1 exactly): per department the numbers of unmatched (Table 1 "No"),
  ambiguous (AMBIG2 / AMBIG3), code and single-name localities are fixed (codes 489 by largest
  remainder). Corridor districts: per department about one district per 4.5 localities, grown
  around hub districts (Andean 2,500–4,000 m hubs, plus one coastal and/or one selva hub in
  the departments of COAST_HUB_DPTOS / SELVA_HUB_DPTOS, "lower valleys") by nearest capitals.
  Programme localities are non-capital centres (mostly ≤ 2,000 inhabitants). Ambiguous
  localities: 2 or 3 centres of the district are renamed to one new name (some spelt without
  accents); unmatched: the register carries a name absent from the district. Name-only rows
  get :func:`pra.names.add_spelling_noise`; 40% of code rows too. ``_check_register`` asserts
  the planted design against ``normalise_name`` on every build.
* Frame (2012 sample frame): ``corredor`` = programme districts in FRAME_DPTOS (10 corridors);
  ``adyacente`` = for each of them the 2 nearest (by capital) non-programme districts outside
  Lima Metropolitana.
* Conglomerates: per distance band b, K_b = round(mean 2007–2010 target / m) conglomerates from
  2007 and E_b more from 2011 (the 2011 expansion), m = 6.5 · sqrt(max(scale, 1)) producer
  households per conglomerate-year; each year's Table 2 target × scale is split exactly over
  the active conglomerates of the band. Conglomerates sit on centres of the 12 departments
  (urban centres can host several: about one per 150 households, at most 15; Lima
  Metropolitana down-weighted ×0.1). Selection weights are raked (multiplicative factors on
  cells, plus an exponential tilt on altitude) so that the expected DD sample (≤ 20 km)
  matches Table 4's region shares, altitude distribution (ALT_BINS / ALT_BIN_TARGET, mean
  2,876 m) and urban share (0.323), the > 20 km urban share is FAR_URBAN_SHARE, and the 2009
  households in frame districts give 690 / 434 expected July–November interviews; then a
  systematic PPS draw over the pool sorted by (frame group, region, altitude bin, urban) picks
  the conglomerates of each band (implicit stratification). Achieved values are in
  ``Geography.diagnostics`` (:func:`geography_report`).
* Band edges: conglomerates whose distance to the nearest geo-referenced locality lies within
  0.02 km of a multiple of 0.5 km (this includes 0 km, a conglomerate on a programme locality)
  are never drawn, so that the metre-level differences between distance implementations
  (pyproj here, DuckDB ``ST_Distance_Spheroid`` in the pipeline) can never move a household
  across a distance band, a treatment radius or a ring boundary (all multiples of 0.5 km).
"""
from __future__ import annotations

import dataclasses
import functools
import importlib.resources
import itertools

import numpy as np
import pandas as pd
from pyproj import Geod
from scipy.spatial import cKDTree

from pra.names import add_spelling_noise, normalise_name, strip_accents

__all__ = [
    "Geography", "build_geography", "load_districts", "TABLE1", "TABLE2", "BAND_EDGES",
    "BAND_LABELS", "YEARS", "band_of", "geodesic_km", "nearest_localities", "andes_east_edge_lon",
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
    """Geodesic WGS84 distance in km (pyproj), vectorised."""
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
        d = geodesic_km(np.repeat(lat[close], k), np.repeat(lon[close], k),
                        loc_lat[ci.ravel()], loc_lon[ci.ravel()]).reshape(-1, k)
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


def _approx_km(lat1, lon1, lat2, lon2):
    c = np.cos(np.radians((np.asarray(lat1) + np.asarray(lat2)) / 2))
    return 111.32 * np.hypot(np.asarray(lat1) - lat2, (np.asarray(lon1) - lon2) * c)


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


def _choose_corridors(districts: pd.DataFrame, design: pd.DataFrame, rng) -> pd.DataFrame:
    """Corridor districts and their number of programme localities (one row per district)."""
    out = []
    for r in design.itertuples():
        dd = districts[(districts["dpto"] == r.dpto) & (districts["dominio"] != 8)]
        L = int(r.localities)
        n_dist = int(max(1, min(len(dd), round(L / 4.5))))
        w = np.sqrt(dd["poblacion"].to_numpy(float))
        ok = ((dd["region"] == "sierra") & dd["altitud"].between(2500, 4000)).to_numpy()
        if not ok.any():
            ok = np.ones(len(dd), bool)
        hubs: list[tuple[int, int]] = []  # (row position in dd, quota)
        low_quota = max(1, round(0.12 * n_dist))
        for reg, dptos in (("costa", COAST_HUB_DPTOS), ("selva", SELVA_HUB_DPTOS)):
            cand = np.flatnonzero((dd["region"] == reg).to_numpy())
            if r.dpto in dptos and len(cand):
                p = w[cand] / w[cand].sum()
                hubs.append((int(rng.choice(cand, p=p)), low_quota))
        n_low = sum(q for _, q in hubs)
        if n_low >= n_dist:  # e.g. Madre de Dios: a single lowland district
            hubs = [(hubs[0][0], n_dist)]
        else:
            n_sierra_hubs = max(1, round((n_dist - n_low) / 7))
            cand = np.flatnonzero(ok)
            cand = cand[~np.isin(cand, [h for h, _ in hubs])]
            p = w[cand] / w[cand].sum()
            sh = rng.choice(cand, size=min(n_sierra_hubs, len(cand)), replace=False, p=p)
            quotas = _largest_remainder(n_dist - n_low, np.ones(len(sh)))
            hubs += [(int(h), int(q)) for h, q in zip(sh, quotas)]
        lat, lon = dd["lat"].to_numpy(), dd["lon"].to_numpy()
        taken: list[int] = []
        for h, q in hubs:
            dist = _approx_km(lat[h], lon[h], lat, lon)
            order = [i for i in np.argsort(dist, kind="stable") if i not in taken]
            taken += order[:q]
        sel = dd.iloc[taken]
        counts = np.ones(len(sel), dtype=np.int64)
        counts += rng.multinomial(L - len(sel), np.full(len(sel), 1.0 / len(sel)))
        out.append(pd.DataFrame({"ubigeo": sel["ubigeo"].to_numpy(), "dpto": r.dpto,
                                 "n_localities": counts}))
    return pd.concat(out, ignore_index=True)


# --------------------------------------------------------------------------------------------
# names
# --------------------------------------------------------------------------------------------

_SAINTS = (
    "SAN JUAN", "SAN PEDRO", "SAN PABLO", "SAN JOSÉ", "SAN MIGUEL", "SAN FRANCISCO",
    "SAN ANTONIO", "SAN MARTÍN", "SAN LUIS", "SAN ISIDRO", "SAN CRISTÓBAL", "SAN JERÓNIMO",
    "SAN BARTOLOMÉ", "SAN SEBASTIÁN", "SAN LORENZO", "SAN AGUSTÍN", "SAN ANDRÉS", "SAN BLAS",
    "SAN FELIPE", "SAN GABRIEL", "SAN JUAN BAUTISTA", "SAN LUCAS", "SAN MARCOS", "SAN MATEO",
    "SAN NICOLÁS", "SAN RAFAEL", "SAN RAMÓN", "SAN SALVADOR", "SANTO DOMINGO", "SANTO TOMÁS",
    "SANTIAGO", "SANTA ROSA", "SANTA ANA", "SANTA CRUZ", "SANTA BÁRBARA", "SANTA LUCÍA",
    "SANTA MARÍA", "SANTA CATALINA", "SANTA TERESA", "SANTA ISABEL", "SANTA CLARA",
    "SANTA INÉS", "SANTA MÓNICA", "SANTA RITA", "SANTA ELENA", "NUESTRA SEÑORA DE COCHARCAS",
)
_GENERIC = (
    "LA UNIÓN", "EL PORVENIR", "NUEVA ESPERANZA", "LOS ÁNGELES", "LA FLORIDA", "BELLAVISTA",
    "VISTA ALEGRE", "EL MIRADOR", "LA LIBERTAD", "ALTO PERÚ", "TRES DE MAYO", "DOS DE MAYO",
    "VILLA RICA", "LA CAÑADA", "CAÑAVERAL", "LAS PIÑAS", "EL CARMEN", "LA VICTORIA",
    "BUENOS AIRES", "MIRAFLORES", "LA PAZ", "CONCEPCIÓN", "ASCENSIÓN", "BELÉN", "JESÚS",
    "NAZARETH", "GENERAL CÓRDOVA", "GENERAL SAN MARTÍN", "VIRGEN DE LA CANDELARIA",
    "LOS OLIVOS", "EL MOLINO", "LAS FLORES", "LA ESPERANZA", "PROGRESO", "LAS LOMAS",
    "LA HOYADA", "EL ROSARIO", "LA CANTUTA", "SEÑOR DE LOS MILAGROS", "CORAZÓN DE JESÚS",
    "INDEPENDENCIA", "EL TRIUNFO", "VILLA MARÍA", "LOS LAURELES", "MONTE ALEGRE",
    "PUEBLO NUEVO", "CRUZ DE MAYO", "EL PALOMAR", "LA CAPILLA", "OCHO DE OCTUBRE",
    "VEINTICUATRO DE JUNIO", "GENERAL GAMARRA", "MARISCAL CÁCERES", "EL CHORRO", "LA MESETA",
)
_Q_ROOTS = (
    "HUAYLLA", "CCOCHA", "ACCO", "CHUPA", "HUASI", "MARCA", "PUCA", "YANA", "HATUN", "UCHUY",
    "CCOLLPA", "RUMI", "ANTA", "QUISHUAR", "HUANCA", "CHACA", "TACA", "CHILCA", "MOLLE", "SORA",
    "PUNCO", "HUAYRA", "CUNTUR", "ATOC", "PUMA", "LLAMA", "PACCHA", "CCASA", "URCU", "SUNI",
    "TICLLA", "QUINUA", "PAPA", "SARA", "CHAUPI", "ÑAUPA", "CCERA", "CHUQUI", "AYA", "HUAMAN",
    "CUSI", "INTI", "KILLA", "TTIO", "PISCO", "LUCMA", "HUACA", "CALLA", "MAYU", "AMARU",
    "QOLLA", "JAHUIRA", "UMA", "QOTA", "ACHACA", "PARI", "CAJA", "ÑUÑUN", "MAÑA", "HUAYTA",
    "TOCCTO", "QUELLO", "ANCCO", "YURAC", "CHAQUI", "LAYCA",
)
_Q_SUFFIX = (
    "PAMPA", "PATA", "MARCA", "HUASI", "CCOCHA", "CANCHA", "HUAYCO", "CHACRA", "LLACTA",
    "ORCCO", "PUQUIO", "RUMI", "BAMBA", "CUCHO", "CHACA", "TAMBO", "MAYO", "HUAYLLA", "ACCO",
    "CASA", "CUNCA", "PUNCO", "RAJA", "CUNA", "HUANCA", "COTA", "JAHUIRA", "UYO", "PUJIO",
    "MOCCO", "RAGRA", "YOC", "NIYOC", "PATA ALTA", "PAMPA GRANDE",
)
_MODIFIERS = (" ALTO", " BAJO", " GRANDE", " CHICO")


@functools.lru_cache(maxsize=1)
def _name_pool() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clean centre names with distinct matching keys, their keys and draw weights."""
    names: list[str] = []
    weights: list[float] = []
    for s in _SAINTS:
        names.append(s); weights.append(12.0)
    for g in _GENERIC:
        names.append(g); weights.append(6.0)
    compounds = [a + b for a, b in itertools.product(_Q_ROOTS, _Q_SUFFIX) if a != b]
    for c in compounds:
        names.append(c); weights.append(1.0)
    for c, m in itertools.product([x for x in compounds[::3] if " " not in x], _MODIFIERS):
        names.append(c + m); weights.append(0.4)
    for s, c in itertools.product(_SAINTS, compounds[::7]):
        names.append(f"{s} DE {c}"); weights.append(0.15)
    seen: dict[str, int] = {}
    keep, keys = [], []
    for i, n in enumerate(names):
        k = normalise_name(n)
        if k not in seen:
            seen[k] = i
            keep.append(i)
            keys.append(k)
    names_a = np.array([names[i] for i in keep], dtype=object)
    keys_a = np.array(keys, dtype=object)
    w = np.array([weights[i] for i in keep])
    return names_a, keys_a, w / w.sum()


def _draw_unique_names(group: np.ndarray, rng) -> np.ndarray:
    """Pool indices for each row, distinct within each group value (keys are distinct)."""
    names, _, p = _name_pool()
    P = len(names)
    idx = rng.choice(P, size=len(group), p=p)
    for it in range(200):
        combo = group.astype(np.int64) * P + idx
        order = np.argsort(combo, kind="stable")
        dup_sorted = np.zeros(len(combo), bool)
        dup_sorted[1:] = combo[order][1:] == combo[order][:-1]
        dup = order[dup_sorted]
        if len(dup) == 0:
            return idx
        # after a few rounds draw uniformly: frequent names are exhausted in big districts
        idx[dup] = rng.choice(P, size=len(dup), p=p) if it < 5 else rng.integers(P, size=len(dup))
    raise RuntimeError("could not draw unique centre names within districts")


# --------------------------------------------------------------------------------------------
# centres
# --------------------------------------------------------------------------------------------

def _allocate_centres(districts: pd.DataFrame, min_per: np.ndarray, total: int) -> np.ndarray:
    w = np.sqrt(districts["poblacion"].to_numpy(float))
    extra = max(0, total - int(min_per.sum()))
    return min_per + _largest_remainder(extra, w)


def _build_centres(districts: pd.DataFrame, corridors: pd.DataFrame, scale: float, rng):
    nd = len(districts)
    base_min = np.full(nd, 3, dtype=np.int64)
    n1 = _allocate_centres(districts, base_min, 150_000)  # scale-1 counts fix the footprint
    need = districts["ubigeo"].map(corridors.set_index("ubigeo")["n_localities"]).fillna(0)
    min_per = np.maximum(base_min, (3 * need.to_numpy() + 6).astype(np.int64))
    n = _allocate_centres(districts, min_per, int(round(150_000 * min(scale, 1.0))))
    radius = np.maximum(3.0, 3.0 * np.sqrt(n1 / np.pi))

    di = np.repeat(np.arange(nd), n)
    first = np.r_[0, np.cumsum(n)[:-1]]
    local = np.arange(len(di)) - first[di]
    is_cap = local == 0
    N = len(di)
    u = rng.random((N, 5))
    r = radius[di] * np.sqrt(0.02 + 0.98 * u[:, 0])
    r[is_cap] = 0.0
    th = 2 * np.pi * u[:, 1]
    clat, clon = districts["lat"].to_numpy()[di], districts["lon"].to_numpy()[di]
    lat = np.round(clat + r * np.cos(th) / 111.32, 6)
    lon = np.round(clon + r * np.sin(th) / (111.32 * np.cos(np.radians(clat))), 6)

    # altitude: sierra centres climb the valley sides; coast stays low; selva varies a little
    calt = districts["altitud"].to_numpy()[di]
    reg = districts["region"].to_numpy()[di]
    z = rng.standard_normal(N)
    alt = np.where(reg == "sierra", calt + 45.0 * r * (0.35 + z),
          np.where(reg == "costa", calt + np.abs(z) * np.minimum(25.0 * r, 300.0) * 0.5,
                   calt + 30.0 * r * z * 0.5))
    alt = np.where(reg == "sierra", np.clip(alt, np.maximum(calt - 1200, 500), 4950), alt)
    alt = np.where(reg == "costa", np.clip(alt, 0.0, np.maximum(calt * 2.0, 400.0)), alt)
    alt = np.where(reg == "selva", np.clip(alt, 50.0, np.maximum(calt + 800, 300)), alt)
    alt = np.where(is_cap, calt, np.maximum(alt, 0.0))
    alt = np.round(alt, 1)

    # 2007 population: small hamlets (lognormal, median 60) + the capital takes the rest
    pop_d = districts["poblacion"].to_numpy(float) * 0.9
    small = np.exp(np.log(60.0) + 1.15 * rng.standard_normal(N))
    small = np.clip(small, 5, 2000 * 1.4)
    small[is_cap] = 0.0
    sum_small = np.bincount(di, weights=small, minlength=nd)
    limit = 0.7 * pop_d
    shrink = np.where(sum_small > limit, limit / np.maximum(sum_small, 1), 1.0)
    small = small * shrink[di]
    cap_pop = np.maximum(pop_d - np.bincount(di, weights=small, minlength=nd), 0.3 * pop_d)
    # the capital stays the largest centre of its district
    small = np.minimum(small, 0.9 * cap_pop[di])
    cap_pop = np.maximum(pop_d - np.bincount(di, weights=small, minlength=nd), cap_pop)
    pob = np.where(is_cap, cap_pop[di], small)
    pob = np.maximum(np.round(pob), 5).astype(np.int64)
    hh_size = 3.6 + 1.0 * u[:, 2]
    hog = np.maximum(np.round(pob / hh_size), 1).astype(np.int64)

    # codes: capital 0001, others increasing with random gaps (unique within district)
    gaps = rng.integers(1, 6, size=N)
    gaps[is_cap] = 1
    cs = np.cumsum(gaps)
    code_num = cs - np.r_[0, cs[first[1:] - 1]][di] if nd > 1 else cs
    code_num = np.where(local == 0, 1, code_num)
    too_big = np.bincount(di, weights=(code_num > 9999), minlength=nd) > 0
    if too_big.any():  # fall back to consecutive numbers in huge districts
        code_num = np.where(too_big[di], local + 1, code_num)
    ubi = districts["ubigeo"].to_numpy()[di]
    codccpp = pd.Series(ubi).str.cat(pd.Series(code_num).astype(str).str.zfill(4)).to_numpy()

    names, _, _ = _name_pool()
    idx = _draw_unique_names(di, rng)
    nom = names[idx].copy()
    nom[is_cap] = districts["capital"].to_numpy()[di[is_cap]]
    # the capital's real name may collide with a drawn name: redraw those hamlets
    keys = np.array([normalise_name(x) for x in nom[is_cap]], dtype=object)
    _, pool_keys, _ = _name_pool()
    key_to_pool = {k: i for i, k in enumerate(pool_keys)}
    cap_pool = np.array([key_to_pool.get(k, -1) for k in keys])
    cap_of = np.full(nd, -1)
    cap_of[di[is_cap]] = cap_pool
    clash = (~is_cap) & (idx == cap_of[di])
    for i in np.flatnonzero(clash):
        taken = set(idx[di == di[i]])
        j = int(rng.integers(len(names)))
        while j in taken or j == cap_of[di[i]]:
            j = int(rng.integers(len(names)))
        idx[i] = j
        nom[i] = names[j]
    pool_idx = np.where(is_cap, -1, idx)

    centres = pd.DataFrame({
        "codccpp": codccpp, "ubigeo": ubi,
        "departamento": districts["departamento"].to_numpy()[di],
        "provincia": districts["provincia"].to_numpy()[di],
        "distrito": districts["distrito"].to_numpy()[di],
        "nomccpp": nom.astype(str), "latitud": lat, "longitud": lon, "altitud": alt,
        "hogares_2007": hog, "poblacion_2007": pob,
    })
    return centres, di, is_cap, pool_idx


# --------------------------------------------------------------------------------------------
# register
# --------------------------------------------------------------------------------------------

def _build_register(districts, corridors, design, centres, di, is_cap, rng):
    names, pool_keys, pool_p = _name_pool()
    nd = len(districts)
    dist_row = {u: i for i, u in enumerate(districts["ubigeo"])}
    centre_keys = list(_name_keys(centres["nomccpp"].to_numpy(dtype=object)))
    by_district = pd.Series(np.arange(len(centres))).groupby(di).apply(np.asarray)
    nomccpp = centres["nomccpp"].to_numpy(dtype=object).copy()

    def fresh_name(taken: set[str]) -> str:
        while True:
            j = int(rng.choice(len(names), p=pool_p))
            if pool_keys[j] not in taken:
                return names[j]

    reg_rows, truth_rows = [], []
    design = design.set_index("dpto")
    for dp in TABLE1:
        cd = corridors[corridors["dpto"] == dp]
        t = design.loc[dp]
        statuses = (["code"] * int(t["code"]) + ["name"] * int(t["name"])
                    + ["amb2"] * int(t["amb2"]) + ["amb3"] * int(t["amb3"])
                    + ["unmatched"] * int(t["unmatched"]))
        statuses = list(rng.permutation(np.array(statuses, dtype=object)))
        pos = 0
        for c in cd.itertuples():
            d = dist_row[c.ubigeo]
            members = by_district[d]
            k_loc = int(c.n_localities)
            st = statuses[pos:pos + k_loc]
            pos += k_loc
            n_cand = sum({"amb2": 2, "amb3": 3}.get(s, 1) for s in st)
            cand = members[~is_cap[members]]
            pw = np.where(centres["poblacion_2007"].to_numpy()[cand] <= 2000, 1.0, 0.15)
            if len(cand) < n_cand:
                raise RuntimeError(f"district {c.ubigeo}: {len(cand)} centres < {n_cand} needed")
            chosen = list(rng.choice(cand, size=n_cand, replace=False, p=pw / pw.sum()))
            taken = {centre_keys[i] for i in members}
            planned = []
            for s in st:
                k = {"amb2": 2, "amb3": 3}.get(s, 1)
                planned.append((s, [int(x) for x in chosen[:k]]))
                chosen = chosen[k:]
            # ambiguous: give 2-3 centres the same (new) name, spelt with/without accents
            for s, cs in planned:
                if s in ("amb2", "amb3"):
                    new = fresh_name(taken)
                    taken.add(normalise_name(new))
                    for j, ci in enumerate(cs):
                        old = centre_keys[ci]
                        nomccpp[ci] = new if j == 0 or rng.random() < 0.5 else _upper_keep_enye(new)
                        centre_keys[ci] = normalise_name(nomccpp[ci])
                    # the old names are gone from the district
                    taken = {centre_keys[i] for i in members}
            for s, cs in planned:
                true_c = cs[0]
                if s == "code":
                    loc = nomccpp[true_c]
                    if rng.random() >= 0.6:
                        loc = add_spelling_noise(loc, rng)
                    code = centres.at[true_c, "codccpp"]
                elif s in ("name", "amb2", "amb3"):
                    loc = add_spelling_noise(nomccpp[true_c], rng)
                    code = ""
                else:  # unmatched: the programme's local name appears nowhere in the map
                    loc = add_spelling_noise(fresh_name(taken), rng)
                    code = ""
                status = {"amb2": "ambiguous", "amb3": "ambiguous"}.get(s, s)
                reg_rows.append({"dpto": dp, "ubigeo": c.ubigeo, "codccpp": code,
                                 "localidad": loc, "status": status, "true": true_c,
                                 "cands": cs if status != "unmatched" else []})
        assert pos == len(statuses)

    reg = pd.DataFrame(reg_rows)
    # ids: department order, then a random order within the department
    reg["_r"] = rng.random(len(reg))
    reg = reg.sort_values(["dpto", "_r"], kind="stable").reset_index(drop=True)
    reg["id_localidad"] = np.arange(1, len(reg) + 1)
    drow = districts.set_index("ubigeo")
    chains = np.array(CHAINS, dtype=object)
    register = pd.DataFrame({
        "id_localidad": reg["id_localidad"].astype(np.int64),
        "departamento": reg["dpto"].map({k: v[0] for k, v in TABLE1.items()}),
        "provincia": reg["ubigeo"].map(lambda u: strip_accents(drow.at[u, "provincia"])),
        "distrito": reg["ubigeo"].map(lambda u: strip_accents(drow.at[u, "distrito"])),
        "ubigeo": reg["ubigeo"],
        "codccpp": reg["codccpp"],
        "localidad": reg["localidad"],
        "cadena": chains[rng.integers(len(chains), size=len(reg))],
    })
    codes = centres["codccpp"].to_numpy()
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
    centres = centres.assign(nomccpp=nomccpp.astype(str))
    _check_register(register, register_truth, centres)
    return register, register_truth, localities_geo, centres


def _check_register(register, truth, centres) -> None:
    """The planted matching design survives the documented rule (raises otherwise)."""
    keys = centres[["ubigeo", "codccpp"]].assign(
        key=_name_keys(centres["nomccpp"].to_numpy(dtype=object)))
    count = keys.groupby(["ubigeo", "key"]).size()
    code_key = keys.set_index("codccpp")["key"]
    st = truth.groupby("id_localidad")["status"].first()
    ncand = truth.groupby("id_localidad")["codccpp_candidate"].count()
    true_code = truth.groupby("id_localidad")["codccpp_true"].first()
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
    adj: list[str] = []
    for u in corr:
        dist = _approx_km(d.at[u, "lat"], d.at[u, "lon"], olat, olon)
        for j in np.argsort(dist, kind="stable")[:n_adjacent]:
            v = others["ubigeo"].iloc[j]
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


def _build_conglomerates(districts, centres, localities_geo, frame, scale, rng):
    targets = np.array([[round(TABLE2[y][b] * scale) for b in range(8)] for y in YEARS])
    dpt = centres["ubigeo"].str[:2].to_numpy()
    in12 = np.isin(dpt, list(TABLE1))
    cidx = np.flatnonzero(in12)
    c = centres.iloc[cidx]
    near, dist = nearest_localities(c["latitud"].to_numpy(), c["longitud"].to_numpy(),
                                    localities_geo["latitude"].to_numpy(),
                                    localities_geo["longitude"].to_numpy())
    ok = ~near_band_edge(dist)
    drow = districts.set_index("ubigeo")
    region = c["ubigeo"].map(drow["region"]).to_numpy()
    dominio = c["ubigeo"].map(drow["dominio"]).to_numpy()
    grp = c["ubigeo"].map(frame.set_index("ubigeo")["grupo"]).fillna("none").to_numpy()
    pob, hog, alt = (c["poblacion_2007"].to_numpy(), c["hogares_2007"].to_numpy(),
                     c["altitud"].to_numpy())
    urban = pob > 2000
    # urban centres host several conglomerates (about one per 150 households, at most 15)
    cap = np.where(urban, np.clip(hog // 150, 2, 15), 1)
    cap = np.where(ok, cap, 0)
    slot_c = np.repeat(np.arange(len(c)), cap)  # pool of conglomerate slots
    band = band_of(dist)[slot_c]
    s_reg, s_urb, s_grp = region[slot_c], urban[slot_c], grp[slot_c]

    m = HH_PER_CONGLOMERATE * np.sqrt(max(scale, 1.0))
    base_mean = targets[:4].mean(axis=0)
    late_mean = targets[4:].mean(axis=0)
    K = np.maximum(1, np.round(base_mean / m)).astype(np.int64)
    E = np.maximum(0, np.round(late_mean / m).astype(np.int64) - K)
    n_b = K + E

    # raking of selection weights to Table 4's profile (<= 20 km) and the frame targets (2009)
    s_alt = np.searchsorted(np.asarray(ALT_BINS), alt[slot_c], side="right")
    tot09 = targets[YEARS.index(2009)].sum()
    g_corr = MATCH_2009_JUL_NOV["corredor"] / JUL_NOV_SHARE * scale
    g_adj = MATCH_2009_JUL_NOV["adyacente"] / JUL_NOV_SHARE * scale
    grp_sorted = np.array(["adyacente", "corredor", "none"])
    s_grp_i = np.searchsorted(grp_sorted, s_grp)
    reg_names = np.array(["costa", "selva", "sierra"])
    s_reg_i = np.searchsorted(reg_names, s_reg)
    dd = band < 7
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
    fac = [np.ones(len(t)) for _, t, _ in margins]
    hh09 = targets[YEARS.index(2009)]
    band_rows = [np.flatnonzero(band == b) for b in range(8)]

    def expected_hh(w):
        e = np.zeros(len(w))
        for b, ib in enumerate(band_rows):
            if len(ib):
                pi = _inclusion(w[ib], int(n_b[b]))
                e[ib] = pi * hh09[b] / max(pi.sum(), 1e-9)
        return e

    base_w = np.where(dominio[slot_c] == 8, LIMA_METRO_WEIGHT, 1.0)

    alt_km = alt[slot_c] / 1000.0
    tilt = [0.0]  # exponential tilt on altitude (within the bins) to hit the mean altitude

    # one cell per combination of margin codes: the raking factors multiply per cell
    cell_codes = np.column_stack([codes for codes, _, _ in margins])
    cells, cell_of = np.unique(cell_codes, axis=0, return_inverse=True)
    cell_of = cell_of.ravel()

    def weights():
        fc = np.ones(len(cells))
        for j, f in enumerate(fac):
            fc *= f[cells[:, j]]
        return base_w * np.exp(tilt[0] * (alt_km - 3.0)) * fc[cell_of]

    for _ in range(30):
        for (codes, tgt, mask), f in zip(margins, fac):
            e = expected_hh(weights())
            got = np.bincount(codes[mask], weights=e[mask], minlength=len(tgt)) / e[mask].sum()
            upd = np.where((got > 0) & (tgt > 0),
                           np.clip((tgt / np.maximum(got, 1e-12)) ** 0.8, 0.2, 5.0), 1.0)
            f *= upd
        e = expected_hh(weights())[dd]
        mean = (e @ alt_km[dd]) / e.sum()
        var = (e @ (alt_km[dd] - mean) ** 2) / e.sum()
        tilt[0] += 0.8 * (TABLE4_TARGET["altitude_mean"] / 1000.0 - mean) / max(var, 1e-6)
        tilt[0] = float(np.clip(tilt[0], -5.0, 5.0))
    w = weights()
    # systematic PPS over the pool sorted by the raking cells = implicit stratification, so the
    # drawn composition is close to the expected one
    strat_key = ((s_grp_i * 3 + s_reg_i) * 10 + s_alt) * 2 + s_urb

    chosen_slots, slot_band = [], []
    for b in range(8):
        ib = np.flatnonzero(band == b)
        if len(ib) < n_b[b]:
            raise RuntimeError(f"band {BAND_LABELS[b]}: only {len(ib)} candidate slots for "
                               f"{n_b[b]} conglomerates")
        pi = _inclusion(w[ib], int(n_b[b]))
        pi = np.minimum(pi * (n_b[b] / pi.sum()), 1.0)
        sel = ib[_pps_systematic(pi, strat_key[ib], rng)]
        chosen_slots.append(sel)
        slot_band.append(np.full(len(sel), b))
    chosen = np.concatenate(chosen_slots)
    cb = np.concatenate(slot_band)
    ci = slot_c[chosen]
    # order conglomerates by band then centre code so that ids follow space
    order = np.lexsort((c["codccpp"].to_numpy()[ci], cb))
    chosen, cb, ci = chosen[order], cb[order], ci[order]

    first_year = np.full(len(ci), 2007)
    n_hh = np.zeros((len(ci), len(YEARS)), dtype=np.int64)
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

    # ids within INEI's 4 digits (conglome is 4 wide in the dictionaries) while they fit: at
    # scale 1 about 1,650 conglomerates, spaced `step` apart with a random offset; a larger
    # scale needs more ids and widens them (synthesize pads to the widest)
    step = int(min(7, max(1, 9999 // (len(ci) + 1))))
    conglome = np.arange(1, len(ci) + 1) * step + rng.integers(0, 7, size=len(ci)) % step
    u = rng.random(len(ci))
    cg = pd.DataFrame({
        "conglome": conglome.astype(np.int64),
        "codccpp": c["codccpp"].to_numpy()[ci],
        "ubigeo": c["ubigeo"].to_numpy()[ci],
        "dominio": dominio[ci].astype(np.int64),
        "estrato": _estrato(pob[ci], hog[ci], dominio[ci], u),
        "latitud": c["latitud"].to_numpy()[ci],
        "longitud": c["longitud"].to_numpy()[ci],
        "altitud": alt[ci],
        "first_year": first_year.astype(np.int64),
        "dist_km": dist[ci],
        "nearest_id": localities_geo["id_localidad"].to_numpy()[near[ci]].astype(np.int64),
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
    districts = load_districts()
    design = _department_design()
    corridors = _choose_corridors(districts, design, rng)
    centres, di, is_cap, _ = _build_centres(districts, corridors, scale, rng)
    register, truth, geo_rows, centres = _build_register(
        districts, corridors, design, centres, di, is_cap, rng)
    frame = _build_frame(districts, corridors)
    conglomerates, _ = _build_conglomerates(districts, centres, geo_rows, frame, scale, rng)
    geo = Geography(scale=float(scale), districts=districts, centres=centres, register=register,
                    register_truth=truth, localities_geo=geo_rows, frame=frame,
                    conglomerates=conglomerates)
    geo.diagnostics = geography_report(geo)
    return geo
