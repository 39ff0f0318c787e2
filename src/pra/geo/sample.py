"""The spatial sample (study §3.1.1, Figure 4) and Table 2.

Distance conventions (one rule everywhere): bands are right-closed, ``(lo, hi]`` with the first band
``[0, hi]``; treated ⇔ ``dist_km <= treatment_radius_km``; in the sample space ⇔
``dist_km <= sample_space_km``; in the non-contamination ring ``[inner, outer]`` ⇔
``inner < dist_km <= outer``. A household exactly at 10 km is thus treated at a 10 km radius and in
band '8-10'.

Ledger stages (``pra.ledger``): ``spatial`` (entrants: every harmonised household-year; dropped:
no usable coordinates, beyond the sample space, in the ring) then ``sample`` (the household-type
rule of contract §1.2).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from pra import ledger as ledger_mod

SAMPLES = ("producers", "producers_and_laborers", "laborers_only")
SAMPLE_DROP_REASON = {
    "producers": "not a producer household",
    "producers_and_laborers": "neither producer nor laborer household",
    "laborers_only": "not a laborer-only household",
}


def _fmt(x: float) -> str:
    return f"{x:g}"


def band_labels(bands_km) -> list[str]:
    return [f"{_fmt(lo)}-{_fmt(hi)}" for lo, hi in zip(bands_km[:-1], bands_km[1:])]


def assign_band(dist_km: pd.Series, bands_km) -> pd.Series:
    """Band label of each distance (right-closed bands, 0 in the first); <NA> outside the bands."""
    edges = np.asarray(bands_km, dtype=float)
    d = pd.to_numeric(dist_km, errors="coerce").to_numpy(dtype=float)
    idx = np.searchsorted(edges, d, side="left")  # d in (e[i-1], e[i]] -> i
    idx = np.where(d == edges[0], 1, idx)
    labels = np.array(band_labels(bands_km) + [None], dtype=object)
    valid = (idx >= 1) & (idx < len(edges)) & np.isfinite(d)
    out = np.where(valid, labels[np.clip(idx - 1, 0, len(labels) - 1)], None)
    return pd.Series(pd.array(out, dtype="string"), index=dist_km.index)


def validate_bands(bands_km, sample_space_km) -> None:
    b = list(bands_km or [])
    if len(b) < 2 or b[0] != 0 or any(y <= x for x, y in zip(b, b[1:])):
        raise ValueError(f"spatial.bands_km must start at 0 and increase strictly, got {bands_km!r}")
    if b[-1] != sample_space_km:
        raise ValueError(
            f"spatial.bands_km must end at spatial.sample_space_km = {sample_space_km!r} "
            f"(Table 2 splits the sample space), got {bands_km!r}"
        )


def validate_spatial(*, sample_space_km, treatment_radius_km, ring_km=None, bands_km, sample) -> None:
    """Raise ValueError naming the config key (``spatial.*``) for inconsistent settings."""
    if not (sample_space_km and sample_space_km > 0):
        raise ValueError(f"spatial.sample_space_km must be > 0, got {sample_space_km!r}")
    if not (treatment_radius_km and 0 < treatment_radius_km < sample_space_km):
        raise ValueError(
            f"spatial.treatment_radius_km = {treatment_radius_km!r} must be > 0 and smaller than "
            f"spatial.sample_space_km = {sample_space_km!r} (controls lie between the two)"
        )
    validate_bands(bands_km, sample_space_km)
    if ring_km is not None:
        if len(ring_km) != 2:
            raise ValueError(f"spatial.ring_km must be [inner, outer] or null, got {ring_km!r}")
        inner, outer = ring_km
        if not (0 <= inner < treatment_radius_km < outer):
            raise ValueError(
                f"spatial.ring_km = {list(ring_km)!r} must surround spatial.treatment_radius_km = "
                f"{treatment_radius_km!r} (inner < radius < outer)"
            )
        if outer >= sample_space_km:
            raise ValueError(
                f"spatial.ring_km = {list(ring_km)!r} is wider than the sample space: its outer edge "
                f"must be below spatial.sample_space_km = {sample_space_km!r}"
            )
    if sample not in SAMPLES:
        raise ValueError(f"spatial.sample must be one of {SAMPLES}, got {sample!r}")


def sample_mask(households: pd.DataFrame, sample: str) -> pd.Series:
    """Contract §1.2 household rules on the harmonised ``producer`` and ``has_laborer`` flags."""
    for col in ["producer", "has_laborer"]:
        if col not in households.columns:
            raise ValueError(f"harmonised table: missing column {col!r} (needed by spatial.sample)")
    prod = households["producer"].fillna(0).astype(int) == 1
    lab = households["has_laborer"].fillna(0).astype(int) == 1
    if sample == "producers":
        return prod
    if sample == "producers_and_laborers":
        return prod | lab
    if sample == "laborers_only":
        return lab & ~prod
    raise ValueError(f"spatial.sample must be one of {SAMPLES}, got {sample!r}")


def attach_distances(households: pd.DataFrame, distances: pd.DataFrame) -> pd.DataFrame:
    """Households with ``dist_km``, ``nearest_id`` and ``coord_reason`` (one-to-one on hh_id)."""
    if households["hh_id"].duplicated().any():
        raise ValueError("harmonised table, column hh_id: duplicated household-years")
    if distances["hh_id"].duplicated().any():
        raise ValueError("distances, column hh_id: duplicated household-years")
    d = distances[["hh_id", "dist_km", "nearest_id"]].copy()
    d["coord_reason"] = distances["reason"].fillna("") if "reason" in distances else ""
    drop = [c for c in ["dist_km", "nearest_id", "coord_reason"] if c in households.columns]
    out = households.drop(columns=drop).merge(d, on="hh_id", how="left", validate="one_to_one")
    no_row = out["dist_km"].isna() & out["coord_reason"].isna()
    out["coord_reason"] = out["coord_reason"].astype(object).where(~no_row, "no distance computed")
    out["coord_reason"] = out["coord_reason"].fillna("")
    return out


def spatial_sample(
    households: pd.DataFrame,
    distances: pd.DataFrame,
    *,
    sample_space_km: float,
    treatment_radius_km: float,
    ring_km=None,
    bands_km,
    post_start: int,
    sample: str = "producers",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The estimation sample and its ledger entries (stages 'spatial' then 'sample').

    ``households``: harmonised table (contract §3; needs hh_id, year, conglome, vivienda, hogar,
    producer, has_laborer); ``distances``: :func:`pra.geo.distance.nearest_locality` output.
    Returns the kept rows with ``dist_km``, ``nearest_id``, ``band``, ``treated``, ``post``,
    ``in_ring`` added, and the ledger rows for every household-year that entered.
    """
    validate_spatial(sample_space_km=sample_space_km, treatment_radius_km=treatment_radius_km,
                     ring_km=ring_km, bands_km=bands_km, sample=sample)
    hh = attach_distances(households, distances)
    d = hh["dist_km"]
    hh["band"] = assign_band(d, bands_km)
    hh["treated"] = (d <= treatment_radius_km).astype("int8")
    hh["post"] = (hh["year"].astype(int) >= int(post_start)).astype("int8")
    if ring_km is not None:
        hh["in_ring"] = ((d > ring_km[0]) & (d <= ring_km[1])).astype(bool)
    else:
        hh["in_ring"] = False

    # stage 1: spatial
    reason = pd.Series("", index=hh.index, dtype=object)
    bad = hh["coord_reason"] != ""
    reason[bad] = "no usable coordinates: " + hh.loc[bad, "coord_reason"]
    # ingest blanks out-of-range module-100 coordinates (and flags them in unknown_codes): name
    # the raw values instead of calling them missing (swapped lat/lon, a point outside Peru)
    if "unknown_codes" in hh.columns:
        flags = hh["unknown_codes"].astype(str).str.findall(r"100\.(?:latitud|longitud)=[^;]*").str.join(", ")
        oor = bad & (hh["coord_reason"] == "missing coordinates") & (flags != "")
        reason[oor] = "no usable coordinates: out of range in module 100 (" + flags[oor] + ")"
    beyond = ~bad & ~(d <= sample_space_km)
    reason[beyond] = f"beyond the sample space (> {_fmt(sample_space_km)} km)"
    ring = ~bad & ~beyond & hh["in_ring"]
    if ring_km is not None:
        reason[ring] = f"in the non-contamination ring ({_fmt(ring_km[0])}-{_fmt(ring_km[1])} km)"
    led_spatial = ledger_mod.entries(hh, "spatial", reason)
    kept = hh[reason == ""]

    # stage 2: household type
    keep = sample_mask(kept, sample)
    reason2 = pd.Series(np.where(keep, "", SAMPLE_DROP_REASON[sample]), index=kept.index)
    led_sample = ledger_mod.entries(kept, "sample", reason2)
    out = kept[keep.to_numpy()].drop(columns=["coord_reason"]).reset_index(drop=True)
    led = pd.concat([led_spatial, led_sample], ignore_index=True)
    return out, led


def table2(
    households_with_dist: pd.DataFrame,
    bands_km,
    sample_space_km: float,
    years,
    sample: str = "producers",
) -> pd.DataFrame:
    """Study Table 2: producer households by distance band and year, the sample space (sum of the
    bands), those beyond it, those without usable coordinates, and the total.

    ``households_with_dist``: harmonised rows with ``dist_km`` (NaN = no usable coordinates),
    ``year`` and the sample flags; restricted to ``sample`` (the study: producers) and ``years``.
    """
    validate_bands(bands_km, sample_space_km)
    if sample not in SAMPLES:
        raise ValueError(f"spatial.sample must be one of {SAMPLES}, got {sample!r}")
    h = households_with_dist
    h = h[sample_mask(h, sample).to_numpy() & h["year"].astype(int).isin([int(y) for y in years]).to_numpy()]
    d = pd.to_numeric(h["dist_km"], errors="coerce")
    band = assign_band(d, bands_km)
    labels = band_labels(bands_km)
    beyond_label = f">{_fmt(sample_space_km)} km"
    cat = band.astype(object).where(band.notna(), np.where(d > sample_space_km, beyond_label, "no coordinates"))
    year = h["year"].astype(int)
    t = pd.crosstab(year, pd.Categorical(cat, categories=labels + [beyond_label, "no coordinates"]),
                    dropna=False)
    t = t.reindex([int(y) for y in years], fill_value=0)
    t.columns = [str(c) for c in t.columns]
    t.insert(len(labels), "sample space", t[labels].sum(axis=1))
    t["total ENAHO"] = t[["sample space", beyond_label, "no coordinates"]].sum(axis=1)
    t.loc["Total"] = t.sum()
    t.index = t.index.map(str)
    t.index.name = "year"
    return t.reset_index().astype({c: "int64" for c in t.columns})
