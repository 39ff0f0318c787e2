"""Conley (1999) spatial-HAC variance of a DD with absorbed fixed effects.

``V = B M B`` with ``B = (X̃'X̃)^{-1}`` of the FE-demeaned design (FWL) and the meat
``M = Σ_i Σ_j K(d_ij) s_i s_j'``, ``s_i = x̃_i û_i``, ``d_ij`` the great-circle distance
(:func:`pra.geo.distance.haversine_km`) and ``K`` the uniform (``1[d ≤ c]``) or Bartlett
(``(1 − d/c)⁺``) kernel at cutoff ``c`` km.

Panel convention: **within-year** by default (``time="year"``): pairs of rows are summed only when
they are in the same year. The harmonised ENAHO table is a set of repeated cross-sections
(different households each year), the locality FE absorb the permanent part of any location
shock, and what is left to correlate across space is the year-specific shock of an area
(district × year, weather). This is Conley's estimator applied period by period, the panel
convention of Hsiang's ``ols_spatial_HAC`` and R ``conleyreg`` (spatial correlation within each
period; serial correlation only within a unit, and no household is followed here). ``time=None``
sums the pairs across all years (shocks persistent over the whole period).

No small-sample factor (as Conley 1999 and ``conleyreg``); p-values from the normal.

Sparse computation, never an n × n matrix: rows at identical coordinates (the households of a
locality in one year) are first summed into one score (their distance is 0 and K(0) = 1, so this
is exact), then the pairs of distinct points closer than the cutoff are found with a KD-tree on
3-D unit vectors, searching within the chord of a slightly enlarged great-circle cutoff, and kept
when their haversine distance is ≤ the cutoff.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy.spatial import cKDTree

from pra.geo.distance import haversine_km

from .clustering import SeResult, se_result
from .design import Design

__all__ = ["KERNELS", "conley_meat", "conley_vcov", "conley_se", "neighbour_pairs"]

KERNELS = ("uniform", "bartlett")
# The smallest Gaussian radius of the Earth (at the equator, ~6335.4 km) less a margin: the KD-tree
# search angle cutoff / R_MIN is then never smaller than any pair's true angle at the cutoff.
R_MIN_KM = 6300.0


def _unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    p, l = np.radians(lat), np.radians(lon)
    return np.column_stack([np.cos(p) * np.cos(l), np.cos(p) * np.sin(l), np.sin(p)])


def neighbour_pairs(lat: np.ndarray, lon: np.ndarray, cutoff_km: float
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs i < j of points with haversine distance ≤ ``cutoff_km``: (i, j, d_ij)."""
    tree = cKDTree(_unit_vectors(lat, lon))
    chord = 2 * np.sin(min(cutoff_km / R_MIN_KM, np.pi) / 2) * (1 + 1e-9)
    pairs = tree.query_pairs(chord, output_type="ndarray")
    if not len(pairs):
        e = np.zeros(0, dtype=np.int64)
        return e, e, np.zeros(0)
    i, j = pairs[:, 0], pairs[:, 1]
    d = haversine_km(lat[i], lon[i], lat[j], lon[j])
    keep = d <= cutoff_km
    return i[keep], j[keep], d[keep]


def _kernel(d: np.ndarray, cutoff_km: float, kernel: str) -> np.ndarray:
    if kernel == "uniform":
        return (d <= cutoff_km).astype(np.float64)
    if kernel == "bartlett":
        return np.clip(1.0 - d / cutoff_km, 0.0, None)
    raise ValueError(f"inference.conley: kernel {kernel!r} not in {KERNELS}")


def conley_meat(scores: np.ndarray, lat: np.ndarray, lon: np.ndarray, cutoff_km: float,
                kernel: str = "uniform", time: np.ndarray | None = None) -> np.ndarray:
    """Σ_i Σ_j K(d_ij) s_i s_j' over pairs in the same ``time`` group (all pairs if None)."""
    t = np.zeros(len(lat), dtype=np.int64) if time is None else np.asarray(time)
    k = scores.shape[1]
    meat = np.zeros((k, k))
    keys = np.column_stack([t.astype(np.float64), lat, lon])
    pts, inv = np.unique(keys, axis=0, return_inverse=True)
    inv = inv.ravel()
    S = np.zeros((len(pts), k))
    np.add.at(S, inv, scores)  # rows at one point in one period: one summed score
    meat += S.T @ S  # the diagonal pairs, K(0) = 1
    for g in np.unique(pts[:, 0]):
        idx = np.flatnonzero(pts[:, 0] == g)
        i, j, d = neighbour_pairs(pts[idx, 1], pts[idx, 2], cutoff_km)
        if not len(i):
            continue
        w = _kernel(d, cutoff_km, kernel)
        A = (S[idx[i]] * w[:, None]).T @ S[idx[j]]
        meat += A + A.T
    return meat


def conley_vcov(design: Design, cutoff_km: float, kernel: str = "uniform",
                lat: str = "latitude", lon: str = "longitude", time: str | None = "year",
                resid: np.ndarray | None = None) -> np.ndarray:
    """Conley variance (k × k) of ``design`` at ``cutoff_km`` (see module docstring)."""
    f = design.frame
    meat = conley_meat(design.scores(resid), f[lat].to_numpy(np.float64),
                       f[lon].to_numpy(np.float64), cutoff_km, kernel,
                       None if time is None else f[time].to_numpy())
    return design.bread @ meat @ design.bread


def conley_se(design: Design, term: str, cutoffs_km: Sequence[float], kernel: str = "uniform",
              lat: str = "latitude", lon: str = "longitude", time: str | None = "year",
              level: float = 0.95) -> list[SeResult]:
    """The coefficient ``term`` with Conley SEs at each cutoff (normal p-values and CIs)."""
    j = design.index(term)
    out = []
    for c in cutoffs_km:
        V = conley_vcov(design, float(c), kernel, lat, lon, time)
        scope = "within-year" if time else "all-years"
        out.append(se_result(term, f"conley:{kernel}:{c:g}km:{scope}", design.beta[j], V[j, j],
                             design.n, None, None, level))
    return out
