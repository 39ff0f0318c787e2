"""The spatial sample (study §3.1.1, Figure 4) and Table 2.

This module is the one home of the household-sample rules: the distance rules (treated, post,
ring, sample space), the household types and the reasons a row is dropped. The spatial sample
and every DD specification (:func:`pra.did.specs.prepare_sample`) apply them, so the ledger and
the estimates store's ``dropped`` counts use the same words.

Distance conventions (one rule everywhere): bands are right-closed, ``(lo, hi]`` with the first band
``[0, hi]``; treated ⇔ ``dist_km <= treatment_radius_km``; in the sample space ⇔
``dist_km <= sample_space_km``; in the non-contamination ring ``[inner, outer]`` ⇔
``inner < dist_km <= outer``. A household exactly at 10 km is thus treated at a 10 km radius and in
band '8-10'.

Ledger stages (``pra.ledger``): ``spatial`` (entrants: every harmonised household-year; dropped:
no usable coordinates, beyond the sample space, in the ring) then ``sample`` (the household-type
rule of contract §1.2). The configuration is checked by :mod:`pra.config` (the one home of
cross-key checks), also when these functions are called directly.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from pra import ledger as ledger_mod
from pra.config import check_bands, check_spatial

# The household samples (contract §1.2): config name -> (what the notes call it, a column head,
# why a household outside it is dropped). One set of rules and reasons for the spatial sample,
# its ledger and every DD specification (pra.did.specs.prepare_sample).
SAMPLE_RULES = {
    "producers": ("producer households", "Producers", "not a producer household"),
    "producers_and_laborers": ("producer and laborer households", "Producers and laborers",
                               "neither producer nor laborer household"),
    "laborers_only": ("laborer-only households", "Laborers only", "not a laborer-only household"),
}
SAMPLES = tuple(SAMPLE_RULES)
SAMPLE_LABELS = {k: v[0] for k, v in SAMPLE_RULES.items()}
SAMPLE_HEADS = {k: v[1] for k, v in SAMPLE_RULES.items()}
SAMPLE_DROP_REASON = {k: v[2] for k, v in SAMPLE_RULES.items()}
NO_COORDINATES = "no usable coordinates"


class SampleColumnError(KeyError, ValueError):
    """A column a sample rule needs is absent (a KeyError and a ValueError: both callers' kinds)."""

    def __str__(self) -> str:
        return str(self.args[0])


def _fmt(x: float) -> str:
    return f"{float(x):g}"


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


# ------------------------------------------------------------------------------------------------
# the distance rules (one definition each)
def ring_bounds(ring) -> tuple[float, float] | None:
    """``[inner, outer]`` or the store's ``"inner-outer"`` text -> ``(inner, outer)``; None -> None."""
    if ring is None or (isinstance(ring, float) and np.isnan(ring)) or ring == "":
        return None
    lo, hi = (float(x) for x in (str(ring).split("-") if isinstance(ring, str) else ring))
    return lo, hi


def ring_label(ring) -> str | None:
    """The ring as the store writes it: ``[9, 11]`` -> ``"9-11"``."""
    b = ring_bounds(ring)
    return None if b is None else f"{_fmt(b[0])}-{_fmt(b[1])}"


def in_ring(dist_km: pd.Series, ring) -> pd.Series:
    """In the non-contamination ring ``(inner, outer]``."""
    b = ring_bounds(ring)
    if b is None:
        return pd.Series(False, index=dist_km.index)
    return (dist_km > b[0]) & (dist_km <= b[1])


def treated(dist_km: pd.Series, radius_km: float) -> pd.Series:
    """Treated: within the treatment radius (a household exactly at the radius is treated)."""
    return (dist_km <= float(radius_km)).astype("int8")


def post(year: pd.Series, post_start: int) -> pd.Series:
    return (year.astype(int) >= int(post_start)).astype("int8")


def beyond_reason(sample_space_km: float) -> str:
    return f"beyond the sample space (> {_fmt(sample_space_km)} km)"


def ring_reason(ring) -> str:
    return f"in the non-contamination ring ({ring_label(ring)} km)"


def spatial_reasons(frame: pd.DataFrame, *, sample_space_km: float, ring_km=None) -> pd.Series:
    """Why each row leaves the spatial sample ("" = kept), first rule that applies: no usable
    coordinates (with the distance stage's reason in ``coord_reason`` when present), beyond
    the sample space, in the ring."""
    d = pd.to_numeric(frame["dist_km"], errors="coerce")
    reason = pd.Series("", index=frame.index, dtype=object)
    if "coord_reason" in frame.columns:
        bad = frame["coord_reason"].fillna("").astype(str) != ""
        reason[bad] = f"{NO_COORDINATES}: " + frame.loc[bad, "coord_reason"].astype(str)
        # ingest blanks out-of-range module-100 coordinates (and flags them in unknown_codes): name
        # the raw values instead of calling them missing (swapped lat/lon, a point outside Peru)
        missing = bad & (frame["coord_reason"] == "missing coordinates")
        if "unknown_codes" in frame.columns and missing.any():
            flags = (frame.loc[missing, "unknown_codes"].astype(str)
                     .str.findall(r"100\.(?:latitud|longitud)=[^;]*").str.join(", "))
            flags = flags[flags != ""]
            reason[flags.index] = f"{NO_COORDINATES}: out of range in module 100 (" + flags + ")"
    else:
        bad = pd.Series(False, index=frame.index)
    nodist = ~bad & d.isna()
    reason[nodist] = NO_COORDINATES
    bad = bad | nodist
    beyond = ~bad & ~(d <= float(sample_space_km))
    reason[beyond] = beyond_reason(sample_space_km)
    if ring_bounds(ring_km) is not None:
        reason[~bad & ~beyond & in_ring(d, ring_km)] = ring_reason(ring_km)
    return reason


def sample_mask(households: pd.DataFrame, sample: str) -> pd.Series:
    """Contract §1.2 household rules on the harmonised ``producer`` and ``has_laborer`` flags."""
    if sample not in SAMPLE_RULES:
        raise ValueError(f"spatial.sample must be one of {SAMPLES}, got {sample!r}")
    need = ["producer"] if sample == "producers" else ["producer", "has_laborer"]
    miss = [c for c in need if c not in households.columns]
    if miss:
        raise SampleColumnError(f"sample table: missing column(s) {miss} needed by the household sample "
                                f"{sample!r} (columns: {sorted(map(str, households.columns))})")
    prod = households["producer"].fillna(0).astype(float) == 1
    if sample == "producers":
        return prod
    lab = households["has_laborer"].fillna(0).astype(float) == 1
    return prod | lab if sample == "producers_and_laborers" else lab & ~prod


def sample_reasons(frame: pd.DataFrame, sample: str) -> pd.Series:
    """Why each row is not in the household sample ("" = kept)."""
    keep = sample_mask(frame, sample)
    return pd.Series(np.where(keep, "", SAMPLE_DROP_REASON[sample]), index=frame.index, dtype=object)


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
    check_spatial({"sample_space_km": sample_space_km, "treatment_radius_km": treatment_radius_km,
                   "ring_km": ring_km, "bands_km": bands_km, "sample": sample})
    hh = attach_distances(households, distances)
    d = hh["dist_km"]
    hh["band"] = assign_band(d, bands_km)
    hh["treated"] = treated(d, treatment_radius_km)
    hh["post"] = post(hh["year"], post_start)
    hh["in_ring"] = in_ring(d, ring_km).astype(bool)

    # stage 1: spatial
    reason = spatial_reasons(hh, sample_space_km=sample_space_km, ring_km=ring_km)
    led_spatial = ledger_mod.entries(hh, "spatial", reason)
    kept = hh[reason == ""]

    # stage 2: household type
    reason2 = sample_reasons(kept, sample)
    led_sample = ledger_mod.entries(kept, "sample", reason2)
    out = kept[(reason2 == "").to_numpy()].drop(columns=["coord_reason"]).reset_index(drop=True)
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
    check_bands(bands_km, sample_space_km)
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
