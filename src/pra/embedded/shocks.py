"""Spatially correlated year shocks to ENAHO households' ln expenditure (``data.embedded.shocks``).

Real consumption surveys share shocks across neighbouring places within a year (prices, rain,
frost, local labour demand), so households of one district-year, and of nearby districts, are
not independent once the locality fixed effects have absorbed the permanent differences. The
switch adds two such components to the ln expenditure of every household (docs/embedded_data.md
§"Spatially correlated shocks"):

* a **district × year** shock ``s_{d,t} ~ N(0, district_year_sd²)``, one draw per district (INEI
  ubigeo) and year;
* a **spatially smooth** year field ``f_t(x)``: a stationary Gaussian-kernel random field over
  the households' coordinates, ``Cov(f_t(x), f_t(x')) = field_sd² exp(−d²/(2 ℓ²))`` with ``d``
  the chord distance and ``ℓ = field_range_km``, independent across years. It is drawn as a sum of
  ``field_features`` random Fourier features (Rahimi and Recht 2007): ``f_t(x) = field_sd
  √(2/K) Σ_k cos(ω_k'x + b_k)``, ``ω_k ~ N(0, I/ℓ²)`` on 3-D coordinates in km, ``b_k ~ U(0, 2π)``;
  exact covariance in expectation, and no n × n matrix.

The sum is centred within each year on the calibration households (so that Table 4's yearly
mean of ln expenditure stays as calibrated; a year constant is absorbed by the year fixed
effects anyway). The shocks are part of the counterfactual (``ln_pc_exp_cf`` includes them):
they are independent of treatment, so they add variance to the DD, not bias in expectation; the
realised shift they give one data set's DD is recorded (:func:`shock_summary`).

The draws come from their own stream, spawned from the households' generator without advancing
it: with the switch off, every other draw, and hence every file, is exactly as without shocks.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["SHOCK_DEFAULTS", "check_shocks", "expenditure_shocks", "shock_summary"]

EARTH_RADIUS_KM = 6371.0088

# documented in docs/embedded_data.md ("Spatially correlated shocks"): why these sizes
SHOCK_DEFAULTS = {"enabled": True, "district_year_sd": 0.08, "field_sd": 0.15, "field_range_km": 15.0,
                  "field_features": 500}


def check_shocks(params: dict) -> dict:
    """The shock parameters with defaults filled in; a clear error for an unknown key or a
    negative size."""
    unknown = sorted(set(params) - set(SHOCK_DEFAULTS))
    if unknown:
        raise ValueError(f"data.embedded.shocks: unknown key(s) {unknown} (known: {sorted(SHOCK_DEFAULTS)})")
    p = {**SHOCK_DEFAULTS, **params}
    for k in ("district_year_sd", "field_sd"):
        if not float(p[k]) >= 0:
            raise ValueError(f"data.embedded.shocks.{k} must be ≥ 0, got {p[k]!r}")
    if not float(p["field_range_km"]) > 0 or int(p["field_features"]) < 1:
        raise ValueError("data.embedded.shocks: field_range_km must be > 0 and field_features ≥ 1, "
                         f"got {p['field_range_km']!r}, {p['field_features']!r}")
    return p


def _km_xyz(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    p, l = np.radians(lat), np.radians(lon)
    return EARTH_RADIUS_KM * np.column_stack([np.cos(p) * np.cos(l), np.cos(p) * np.sin(l), np.sin(p)])


def _field(xyz: np.ndarray, sd: float, range_km: float, K: int, rng: np.random.Generator) -> np.ndarray:
    """One draw of the Gaussian-kernel field at the points ``xyz`` (km), random Fourier features."""
    omega = rng.standard_normal((K, 3)) / range_km
    phase = rng.uniform(0.0, 2 * np.pi, K)
    return sd * np.sqrt(2.0 / K) * np.cos(xyz @ omega.T + phase).sum(axis=1)


def expenditure_shocks(ubigeo, year, lat, lon, params: dict, rng: np.random.Generator,
                       centre_on: np.ndarray) -> dict[str, np.ndarray]:
    """The shock components of every household: ``district_year``, ``field`` and their centred
    sum ``shock`` (zeros when ``params["enabled"]`` is false; ``rng`` is then not used).

    ``ubigeo``, ``year``, ``lat``, ``lon``: one value per household; ``centre_on``: the
    households on which each year's sum is centred (the calibration sample)."""
    p = check_shocks(params)
    n = len(year)
    zero = np.zeros(n)
    if not p["enabled"]:
        return {"district_year": zero, "field": zero, "shock": zero}
    ubigeo = pd.Series(np.asarray(ubigeo)).astype(str).to_numpy()
    year = np.asarray(year).astype(np.int64)
    lat, lon = np.asarray(lat, np.float64), np.asarray(lon, np.float64)
    bad = ~(np.isfinite(lat) & np.isfinite(lon))
    if bad.any():
        raise ValueError(f"embedded shocks: {int(bad.sum())} household(s) without coordinates")
    years = np.unique(year)
    districts, d_idx = np.unique(ubigeo, return_inverse=True)
    t_idx = np.searchsorted(years, year)
    # district × year: one draw per (year, district), districts in code order
    s_dy = float(p["district_year_sd"]) * rng.standard_normal((len(years), len(districts)))
    district_year = s_dy[t_idx, d_idx]
    # smooth field: one independent draw per year, evaluated at the distinct coordinates
    pts, p_idx = np.unique(np.column_stack([lat, lon]), axis=0, return_inverse=True)
    p_idx = p_idx.ravel()
    xyz = _km_xyz(pts[:, 0], pts[:, 1])
    field = np.zeros(n)
    for k, y in enumerate(years):
        f = _field(xyz, float(p["field_sd"]), float(p["field_range_km"]), int(p["field_features"]), rng)
        rows = t_idx == k
        field[rows] = f[p_idx[rows]]
    shock = district_year + field
    centre_on = np.asarray(centre_on, bool)
    for k in range(len(years)):
        rows = t_idx == k
        base = rows & centre_on if (rows & centre_on).any() else rows
        shock[rows] -= shock[base].mean()
    return {"district_year": district_year, "field": field, "shock": shock}


def shock_summary(parts: dict[str, np.ndarray], params: dict, ln_y: np.ndarray, locality,
                  year, treated: np.ndarray, post: np.ndarray, sample: np.ndarray) -> dict:
    """What truth.json records about the shocks on ``sample`` (the calibration households):
    the parameters, the realised variance of each component and its share of the within-year
    variance of ln expenditure, and the realised DD of the shock itself: the coefficient of
    treated × post in the regression of the shock on it with locality and year fixed effects,
    i.e. how far the shocks of this data set move a DD without controls from the planted
    effect (zero in expectation)."""
    p = check_shocks(params)
    out = {"params": {k: p[k] for k in SHOCK_DEFAULTS}}
    if not p["enabled"]:
        return out
    s = np.asarray(sample, bool)
    yr = np.asarray(year)[s]
    ly = pd.Series(np.asarray(ln_y)[s]).groupby(yr)
    within = float(ly.var(ddof=0).mean())

    def wvar(v):  # mean within-year variance on the sample
        return float(pd.Series(np.asarray(v)[s]).groupby(yr).var(ddof=0).mean())

    comps = {k: wvar(parts[k]) for k in ("district_year", "field", "shock")}
    out["realised_var"] = comps
    out["share_of_ln_exp_var"] = {k: v / within for k, v in comps.items()}
    frame = pd.DataFrame({"shock": parts["shock"][s], "D": (np.asarray(treated) & np.asarray(post))[s]
                          .astype(float), "locality": np.asarray(locality)[s], "year": yr})
    from pra.inference.design import build_design  # FWL fit; imported on use

    try:
        out["dd_of_shock"] = float(build_design(frame, "shock", ["D"], ("locality", "year")).beta[0])
    except ValueError:  # no treated-post or no control households in the sample
        out["dd_of_shock"] = None
    return out
