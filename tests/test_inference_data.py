"""Synthetic spatial DD panels for the inference tests (households at their locality's
coordinates, districts of a few localities, district × year and locality shocks)."""
import numpy as np
import pandas as pd


def make_panel(n_localities: int = 120, hh_mean: float = 5.0, effect: float = 0.1,
               radius_km: float = 10.0, seed: int = 0, district_size: int = 4,
               district_year_sd: float = 0.05, jitter_km: float = 0.0,
               years=(2007, 2008, 2009, 2010, 2011, 2012), post_start: int = 2010) -> pd.DataFrame:
    """One row per household-year; ``dist_km`` to the nearest of 8 programme centres."""
    rng = np.random.default_rng(seed)
    L = n_localities
    lat = rng.uniform(-14.5, -12.5, L)
    lon = rng.uniform(-75.5, -73.0, L)
    prog_lat, prog_lon = rng.uniform(-14.3, -12.7, 8), rng.uniform(-75.3, -73.2, 8)
    R = 6371.0
    p1, p2 = np.radians(lat)[:, None], np.radians(prog_lat)[None, :]
    a = (np.sin((p2 - p1) / 2) ** 2
         + np.cos(p1) * np.cos(p2) * np.sin(np.radians(prog_lon[None, :] - lon[:, None]) / 2) ** 2)
    dist = (2 * R * np.arcsin(np.sqrt(a))).min(axis=1)
    district = np.arange(L) // district_size
    nd = district.max() + 1
    a_l = rng.normal(0, 0.3, L)
    T = len(years)
    s_dy = rng.normal(0, district_year_sd, (T, nd))
    n_hh = rng.poisson(hh_mean, (T, L)) + 1
    t_idx = np.repeat(np.repeat(np.arange(T), L), n_hh.ravel())
    l_idx = np.repeat(np.tile(np.arange(L), T), n_hh.ravel())
    df = pd.DataFrame({
        "locality": np.array([f"L{i:04d}" for i in range(L)])[l_idx],
        "ubigeo": np.array([f"D{d:04d}" for d in district])[l_idx],
        "year": np.asarray(years)[t_idx], "latitude": lat[l_idx], "longitude": lon[l_idx],
        "dist_km": dist[l_idx],
        "shock": a_l[l_idx] + 0.02 * t_idx + s_dy[t_idx, district[l_idx]]})
    n = len(df)
    if jitter_km:
        df["latitude"] += rng.normal(0, jitter_km / 111.0, n)
        df["longitude"] += rng.normal(0, jitter_km / 111.0, n)
    df["treated"] = (df["dist_km"] <= radius_km).astype(float)
    df["post"] = (df["year"] >= post_start).astype(float)
    df["D"] = df["treated"] * df["post"]
    df["x1"] = rng.normal(0, 1, n)
    df["ln_pc_exp"] = (5.5 + df["shock"] + effect * df["D"] + 0.05 * df["x1"]
                       + rng.normal(0, 0.4, n))
    return df.drop(columns=["shock"])


def test_make_panel_shape():
    df = make_panel(seed=1)
    assert df["D"].sum() > 0 and (df["treated"] == 0).any()
    assert df["ubigeo"].nunique() == 30 and df["year"].nunique() == 6
