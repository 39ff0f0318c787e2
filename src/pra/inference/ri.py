"""Spatial randomisation inference: placebo programme maps and the randomisation p-value.

Design. The programme chose ``K`` localities; a placebo map chooses ``K`` other populated
centres "like them": for every stratum (by default department × centre-size class × altitude
class) it draws, without replacement and uniformly, as many candidate centres as the real
register has programme localities in that stratum. The placebo treatment of a household is then
the study's rule applied to the placebo map: nearest placebo locality within the radius
(great-circle, :func:`pra.geo.distance.haversine_km`), and the base DD is re-estimated. Under the
sharp null of no effect anywhere, and if the programme's choice within strata were as good as
random, the observed coefficient is a draw from the placebo distribution: the randomisation
p-value is ``(1 + #{|β_p| ≥ |β|}) / (1 + P)`` (two-sided, the observed map counted once).

Seeds: map ``p`` is drawn with ``numpy.random.default_rng([seed, p])``, so that any chunk of maps
(``first``, ``count``) gives the same maps as one run of all of them: chunks fan out as jobs.

Fast path: the placebo treatment ``D_p = treated_p × post`` is constant within a locality-year
cell, so its projection on the locality and year FE is computed on the cells (weighted by their
row counts) rather than on the rows; the outcome and controls are demeaned once (the
:class:`pra.inference.design.Design` of the real fit), and ``β_p`` follows from FWL.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from pra.geo.distance import haversine_km

from .conley import _unit_vectors
from .design import Design, codes, demean

__all__ = ["draw_placebo_map", "placebo_maps", "nearest_distance_km", "PlaceboFit",
           "ri_pvalue"]


def _strata_pools(candidates: pd.DataFrame, programme: pd.DataFrame, strata: Sequence[str],
                  exclude: Sequence | None, id_col: str) -> list[tuple[np.ndarray, int]]:
    """Per stratum of ``programme`` (sorted): the sorted candidate ids and how many to draw."""
    strata = list(strata)
    pool = candidates if exclude is None else candidates[~candidates[id_col].isin(exclude)]
    need = programme.groupby(strata, sort=True).size()
    by = {k: g[id_col].to_numpy() for k, g in pool.groupby(strata, sort=True)}
    out = []
    for key, k in need.items():
        have = by.get(key, np.array([]))
        if len(have) < k:
            raise ValueError(f"inference.ri: stratum {dict(zip(strata, np.atleast_1d(key)))} has "
                             f"{len(have)} candidate centre(s) for {k} programme localities")
        out.append((np.sort(have), int(k)))
    return out


def _draw(pools: list[tuple[np.ndarray, int]], rng: np.random.Generator) -> np.ndarray:
    out = [rng.choice(have, size=k, replace=False) for have, k in pools]
    return np.concatenate(out) if out else np.array([])


def draw_placebo_map(candidates: pd.DataFrame, programme: pd.DataFrame, strata: Sequence[str],
                     rng: np.random.Generator, exclude: Sequence | None = None,
                     id_col: str = "centre") -> np.ndarray:
    """Ids of one placebo map: per stratum of ``programme``, as many candidates of that stratum,
    drawn uniformly without replacement (``exclude``: ids never drawn, e.g. the real ones)."""
    return _draw(_strata_pools(candidates, programme, strata, exclude, id_col), rng)


def placebo_maps(candidates: pd.DataFrame, programme: pd.DataFrame, strata: Sequence[str],
                 seed: int, first: int = 0, count: int = 999, exclude: Sequence | None = None,
                 id_col: str = "centre") -> list[np.ndarray]:
    """Maps ``first … first+count−1``; map p is drawn from ``default_rng([seed, p])`` (the
    strata are grouped once: the same maps as :func:`draw_placebo_map` one by one)."""
    pools = _strata_pools(candidates, programme, strata, exclude, id_col)
    return [_draw(pools, np.random.default_rng([seed, p])) for p in range(first, first + count)]


def nearest_distance_km(lat: np.ndarray, lon: np.ndarray, plat: np.ndarray,
                        plon: np.ndarray) -> np.ndarray:
    """Great-circle distance (haversine_km) from each point to the nearest of the map's points
    (nearest by 3-D chord = nearest by great-circle angle)."""
    tree = cKDTree(_unit_vectors(plat, plon))
    _, i = tree.query(_unit_vectors(lat, lon))
    return haversine_km(lat, lon, plat[i], plon[i])


class PlaceboFit:
    """Re-estimates ``term`` of a design with the treatment replaced by placebo treatments.

    ``design`` is the real fit (``term`` = treated × post among its regressors, the other
    regressors are controls); ``locality``, ``post`` name the columns of its rows; the cells
    are the locality × year groups of the FE."""

    def __init__(self, design: Design, term: str, locality: str = "locality", post: str = "post",
                 year: str = "year"):
        f = design.frame
        j = design.index(term)
        self.design, self.term = design, term
        W = np.delete(design.X, j, axis=1)  # demeaned controls
        # residual maker of the controls, applied to the demeaned outcome once
        if W.shape[1]:
            self._W, self._WtWi = W, np.linalg.inv(W.T @ W)
        else:
            self._W = None
        self._y = self._resid_w(design.y)
        cell_key = codes(f, f"{locality}^{year}")
        first = pd.Series(np.arange(len(f))).groupby(cell_key).first().to_numpy()
        self._cell = cell_key
        self._cell_w = np.bincount(cell_key).astype(np.float64)
        cf = f.iloc[first]
        self._cell_fe = [codes(cf, fe) for fe in design.fe]
        self._cell_post = cf[post].to_numpy(np.float64)
        self._cell_loc = cf[locality].to_numpy()
        self.localities = pd.unique(f[locality])

    def _resid_w(self, v: np.ndarray) -> np.ndarray:
        if self._W is None:
            return v
        return v - self._W @ (self._WtWi @ (self._W.T @ v))

    def coef(self, treated_localities: np.ndarray) -> float:
        """β of ``term`` when exactly the localities in ``treated_localities`` are treated."""
        treated = np.isin(self._cell_loc, treated_localities).astype(np.float64)
        d_cell = demean((treated * self._cell_post)[:, None], self._cell_fe, self.design.tol,
                        weights=self._cell_w)[:, 0]
        d = self._resid_w(d_cell[self._cell])
        return float(d @ self._y / (d @ d))


def ri_pvalue(observed: float, placebo: np.ndarray) -> float:
    """Two-sided randomisation p-value, the observed assignment counted once."""
    placebo = np.asarray(placebo, float)
    placebo = placebo[np.isfinite(placebo)]
    return float((1 + np.sum(np.abs(placebo) >= abs(observed))) / (1 + len(placebo)))
