"""Test-only helpers (imported by tests as ``from helpers import ...``; benchmarks add tests/ to
their path): synthetic data with planted effects, independent reference implementations, and
the rule for tests that need system programs.
"""
from __future__ import annotations

import os
import shutil
from typing import Sequence

import numpy as np
import pandas as pd

from pra.geo.distance import haversine_km


# --------------------------------------------------------------------------------------------
# system programs (Chromium, SLURM): installed by ci/setup.sh where it can run
# --------------------------------------------------------------------------------------------
def system_setup_possible() -> bool:
    """True where ``ci/setup.sh`` can install and start system programs: root with apt-get."""
    return os.geteuid() == 0 and shutil.which("apt-get") is not None


def require_program(names: Sequence[str], purpose: str) -> str:
    """The path of the first of ``names`` found on PATH.

    Missing, the test is skipped with the reason where ``ci/setup.sh`` cannot install it (not
    root, or no apt-get), and fails where it could have (CI runs as root: a missing program
    there means the set-up failed, which must not pass as a skip)."""
    import pytest

    for name in names:
        path = shutil.which(name)
        if path:
            return path
    msg = f"{purpose} needs {' or '.join(names)}, not found on PATH"
    if not system_setup_possible():
        why = "not root" if os.geteuid() != 0 else "no apt-get"
        pytest.skip(f"{msg}; ci/setup.sh cannot install it here ({why})")
    pytest.fail(f"{msg}; as root with apt-get, `bash ci/setup.sh` installs it (run it first)")


# --------------------------------------------------------------------------------------------
# the DD design: a small spatial sample with a planted effect
# --------------------------------------------------------------------------------------------
def synthetic_sample(n_localities: int = 120, hh_per_year: int = 6, effect: float = 0.10,
                     radius_km: float = 10.0, years: Sequence[int] = (2007, 2008, 2009, 2010, 2011, 2012),
                     post_start: int = 2010, seed: int = 0,
                     semester_effects: dict[str, float] | None = None) -> pd.DataFrame:
    """A small spatial sample table with a planted DD effect (for tests).

    Localities sit at dist_km ~ U(0, 20); ln_pc_exp = locality effect + year effect + controls
    + ``effect`` × (dist ≤ radius_km) × (year ≥ post_start) + noise; poor = ln_pc_exp < ln(300);
    poverty_gap accordingly; subj_poor_living independent of treatment. About 10% of households
    are laborer-only (producer 0, has_laborer 1) and 20% of producers also have a laborer.
    ``semester_effects`` adds a further effect on treated households in the named semesters
    (e.g. ``{"2011-I": 0.3}``) to check that the event study peaks where planted.
    """
    rng = np.random.default_rng(seed)
    L = n_localities
    loc = pd.DataFrame({
        "locality": [f"{i:010d}" for i in range(1, L + 1)],
        "dist_km": rng.uniform(0, 20, L).round(3),
        "altitude": rng.uniform(500, 4500, L).round(0),
        "rural": (rng.random(L) < 0.7).astype(float),
        "population_2007": rng.choice([150, 800, 5000], L, p=[0.35, 0.45, 0.2]).astype(float),
        "a_l": rng.normal(0, 0.3, L),
    })
    region = rng.choice(3, L, p=[0.1, 0.8, 0.1])
    loc["coast"], loc["selva"] = (region == 0).astype(float), (region == 2).astype(float)
    n = L * len(years) * hh_per_year
    lidx = np.repeat(np.arange(L), len(years) * hh_per_year)
    yr = np.tile(np.repeat(np.asarray(years), hh_per_year), L)
    df = loc.iloc[lidx].reset_index(drop=True)
    df["year"] = yr.astype("int16")
    df["mes"] = rng.integers(1, 13, n)
    df["semester"] = df["year"].astype(str) + np.where(df["mes"] <= 6, "-I", "-II")
    df["hh_id"] = [f"{y}-{l}-{i:03d}" for i, (y, l) in enumerate(zip(df["year"], df["locality"]))]
    df["head_female"] = (rng.random(n) < 0.2).astype(float)
    df["head_age"] = rng.integers(20, 85, n).astype(float)
    df["head_educ"] = rng.integers(1, 8, n).astype(float)
    df["head_married"] = (rng.random(n) < 0.3).astype(float)
    df["head_migrant"] = (rng.random(n) < 0.3).astype(float)
    df["head_native_lang"] = (rng.random(n) < 0.6).astype(float)
    for c, p in [("electricity", 0.7), ("water_public", 0.6), ("cook_firewood", 0.9),
                 ("wall_brick", 0.1), ("floor_finished", 0.3), ("roof_concrete_tile", 0.4)]:
        df[c] = (rng.random(n) < p).astype(float)
    df["sanitation"] = rng.choice(["public_in", "septic", "latrine_pit", "none_other"], n)
    lab = rng.random(n)
    df["producer"] = (lab >= 0.10).astype(float)
    df["has_laborer"] = ((lab < 0.10) | (rng.random(n) < 0.2)).astype(float)
    treated = (df["dist_km"] <= radius_km).astype(float)
    post = (df["year"] >= post_start).astype(float)
    g_t = (df["year"].astype(int) - years[0]) * 0.03
    df["ln_pc_exp"] = (5.6 + df["a_l"] + g_t + effect * treated * post + 0.004 * (df["head_age"] - 50)
                       + 0.08 * (df["head_educ"] - 1) - 0.15 * df["cook_firewood"]
                       + 0.1 * df["electricity"] + rng.normal(0, 0.4, n))
    for sem, eff in sorted((semester_effects or {}).items()):
        df["ln_pc_exp"] += eff * treated * (df["semester"] == sem)
    df["pc_exp_real"] = np.exp(df["ln_pc_exp"])
    z = 300.0
    df["poor"] = (df["pc_exp_real"] < z).astype(float)
    df["poverty_gap"] = np.where(df["poor"] == 1, (z - df["pc_exp_real"]) / z, 0.0)
    df["subj_poor_living"] = (rng.random(n) < 0.4).astype(float)
    df["treated"] = treated
    df["post"] = post
    # a few missing values, to exercise the counting of dropped rows
    miss = rng.random(n) < 0.01
    df.loc[miss, "electricity"] = np.nan
    return df.drop(columns=["a_l"])


# --------------------------------------------------------------------------------------------
# distances: the brute-force NumPy reference for pra.geo.distance.nearest_locality
# --------------------------------------------------------------------------------------------
def nearest_haversine_numpy(hh_lat, hh_lon, loc_lat, loc_lon, loc_id, chunk: int = 2000):
    """Brute-force nearest locality by haversine over all pairs (benchmark and test reference).

    Ties broken by the smallest id (localities sorted by id first; argmin takes the first)."""
    order = np.argsort(np.asarray(loc_id), kind="stable")
    la, lo, ids = (np.asarray(loc_lat)[order], np.asarray(loc_lon)[order],
                   np.asarray(loc_id)[order])
    hh_lat, hh_lon = np.asarray(hh_lat, float), np.asarray(hh_lon, float)
    dist = np.empty(len(hh_lat))
    near = np.empty(len(hh_lat), dtype=ids.dtype)
    for s in range(0, len(hh_lat), chunk):  # chunks bound memory, pairs are vectorised
        dm = haversine_km(hh_lat[s:s + chunk, None], hh_lon[s:s + chunk, None], la[None], lo[None])
        j = dm.argmin(axis=1)
        dist[s:s + chunk] = dm[np.arange(len(j)), j]
        near[s:s + chunk] = ids[j]
    return dist, near

