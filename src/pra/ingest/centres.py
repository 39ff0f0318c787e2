"""The populated-centre map (``docs/contract.md`` §1.3) as both harmonisers use it: validation,
the nearest centre of a household's district, and the centre attributes of a locality."""
from __future__ import annotations

import numpy as np
import pandas as pd

from pra.geo.distance import haversine_km
from pra.ingest.health import Health, check_keys, parse_numbers
from pra.ingest.readers import IngestError, normalise_id

CENTRE_COLUMNS = ["codccpp", "ubigeo", "latitud", "longitud", "altitud", "hogares_2007",
                  "poblacion_2007"]


def prepare_centres(centres: pd.DataFrame, health: Health | None = None) -> pd.DataFrame:
    """Validate and normalise the populated-centre map (contract §1.3); values that fail to
    parse are counted in ``health`` (and stop the run above ``data.checks``), never lost."""
    health = health if health is not None else Health()
    file = centres.attrs.get("source", "populated-centre map")
    health.extend(centres.attrs.get("health"))
    health.rows_read(file, len(centres))
    miss = [c for c in CENTRE_COLUMNS if c not in centres.columns]
    if miss:
        raise IngestError(f"populated-centre map lacks column(s) {miss} "
                          f"(has {list(centres.columns)})")
    c = centres[CENTRE_COLUMNS].copy()
    c["codccpp"] = normalise_id(c["codccpp"], 10, strip_zeros=False)
    c["ubigeo"] = normalise_id(c["ubigeo"], 6, strip_zeros=False)
    check_keys(c, ["codccpp", "ubigeo"], file=file, health=health)
    for col in CENTRE_COLUMNS[2:]:
        c[col] = parse_numbers(c[col], file=file, column=col, health=health)
    dup = c["codccpp"].duplicated(keep=False) & c["codccpp"].notna()
    if dup.any():
        raise IngestError(f"populated-centre map: duplicated codccpp in rows "
                          f"{(np.flatnonzero(dup.to_numpy())[:10] + 1).tolist()}")
    return c


def nearest_centre(points: pd.DataFrame, centres: pd.DataFrame) -> pd.Series:
    """Code of the nearest populated centre *of the same district* for each point.

    ``points``: ubigeo, latitude, longitude (any index); ``centres``: codccpp, ubigeo, latitud,
    longitud. Ties broken by the smaller code (deterministic). NaN where the district has no
    centre or the point has no coordinates.
    """
    pts = points[["ubigeo", "latitude", "longitude"]].copy()
    pts["_pid"] = np.arange(len(pts))
    cen = centres[["codccpp", "ubigeo", "latitud", "longitud"]].dropna()
    m = pts.dropna().merge(cen, on="ubigeo", how="inner")
    out = pd.Series(pd.NA, index=points.index, dtype="string")
    if m.empty:
        return out
    m["d"] = haversine_km(m["latitude"].to_numpy(float), m["longitude"].to_numpy(float),
                          m["latitud"].to_numpy(float), m["longitud"].to_numpy(float))
    best = m.sort_values(["_pid", "d", "codccpp"]).drop_duplicates("_pid")
    out.iloc[best["_pid"].to_numpy()] = best["codccpp"].to_numpy()
    return out


def centre_lookup(locality: pd.Series, centres: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The centre map's row of each household's locality (rows in ``locality``'s order; missing
    where the locality is not in the map) and the number of households so unmatched."""
    lk = locality.to_frame("locality").merge(
        centres.rename(columns={"codccpp": "locality"}), on="locality", how="left",
        validate="m:1", indicator=True)
    not_in_map = int(((lk["_merge"] == "left_only") & locality.notna().to_numpy()).sum())
    return lk, not_in_map


__all__ = ["CENTRE_COLUMNS", "centre_lookup", "nearest_centre", "prepare_centres"]
