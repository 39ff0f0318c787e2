"""The populated-centre map (``docs/contract.md`` §1.3) as both harmonisers use it: validation,
the nearest centre of a household's district, and the centre attributes of a locality."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pra.geo.distance import haversine_km
from pra.ingest.health import Health, check_keys, merge_checks, parse_numbers
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


@dataclass(frozen=True, eq=False)
class PreparedCentres:
    """:func:`prepare_centres` done once for callers that harmonise several years with one map
    (the Monte Carlo): the map as given, the prepared table, the health entries recorded while
    preparing it (replayed into each year's ledger) and the ``data.checks`` it was checked with."""

    raw: pd.DataFrame
    table: pd.DataFrame
    health: tuple
    checks: dict

    @classmethod
    def of(cls, centres: pd.DataFrame, checks: dict | None = None) -> "PreparedCentres":
        health = Health(None, merge_checks(checks))
        table = prepare_centres(centres, health=health).copy(deep=False)
        table.attrs = {}  # not deep-copied by every operation on it (the source is in health)
        return cls(centres, table, tuple(health.rows), health.checks)

    def for_health(self, health: Health) -> pd.DataFrame:
        """The prepared table, its entries added to ``health`` as :func:`prepare_centres` adds
        them (prepared again when ``health`` checks with other ``data.checks``)."""
        if health.checks != self.checks:
            return prepare_centres(self.raw, health=health)
        health.extend(self.health)
        return self.table


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
    codes = centres["codccpp"]
    if not codes.isna().any() and codes.is_unique:
        # the merge below, as a look-up by position (its semantics differ only for missing or
        # duplicated codes, which keep the merge)
        pos = pd.Index(codes.astype(object)).get_indexer(locality.astype(object))
        lk = centres.drop(columns="codccpp").reset_index(drop=True).reindex(pos)
        lk = lk.reset_index(drop=True)
        lk.insert(0, "locality", locality.reset_index(drop=True))
        lk["_merge"] = pd.Categorical(np.where(pos >= 0, "both", "left_only"),
                                      categories=["left_only", "right_only", "both"])
        return lk, int(((pos < 0) & locality.notna().to_numpy()).sum())
    lk = locality.to_frame("locality").merge(
        centres.rename(columns={"codccpp": "locality"}), on="locality", how="left",
        validate="m:1", indicator=True)
    not_in_map = int(((lk["_merge"] == "left_only") & locality.notna().to_numpy()).sum())
    return lk, not_in_map


__all__ = ["CENTRE_COLUMNS", "PreparedCentres", "centre_lookup", "nearest_centre", "prepare_centres"]
