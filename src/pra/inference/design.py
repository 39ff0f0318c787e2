"""The demeaned (Frisch–Waugh–Lovell) design of one DD fit, shared by every inference method.

A DD with absorbed fixed effects ``y ~ X | fe1 + fe2`` has the same coefficients and residuals as
the OLS of the FE-demeaned outcome on the FE-demeaned regressors (FWL). Every method of
``pra.inference`` works on that one demeaned design: the cluster-robust variances (one-way and
two-way), the Conley spatial-HAC variance, the wild cluster bootstrap, the joint bootstrap of a
family of hypotheses and the placebo maps, which only swap the treatment column.

Conventions (the same as :func:`pra.did.estimate`, see ``docs/estimators.md``):

* rows with a missing value in a used column are dropped first and counted by reason
  (``"missing:<column>"``, first missing column in the order outcome, regressors, FE, extra
  columns); then observations in singleton FE levels are dropped, iteratively as fixest/pyfixest
  do, and counted as ``"singleton_fe"``;
* the demeaning is the method of alternating projections (``tol`` on the largest change), the
  same estimator as pyfixest's; coefficients agree with pyfixest to ~1e-10 (tested);
* ``df_k`` is reghdfe's count of parameters for the small-sample factor ``(N−1)/(N−df_k)``:
  the regressors plus the FE levels that are *not* nested in a cluster variable (pyfixest's
  ``ssc(k_fixef="nonnested")``), see :meth:`Design.df_k`.
Unweighted regressions only (the study's DD is unweighted).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import sparse

from pra.did.estimator import drop_missing

__all__ = ["Design", "build_design", "demean", "codes"]

MAX_ITER = 10_000


def codes(frame: pd.DataFrame, spec: str) -> np.ndarray:
    """Integer codes (0..G−1, in order of first appearance) of a column or of an interaction
    written ``"a^b"`` (e.g. ``"ubigeo^year"``: district × year)."""
    parts = [p.strip() for p in spec.split("^")]
    missing = [p for p in parts if p not in frame.columns]
    if missing:
        raise KeyError(f"inference: column(s) {missing} of {spec!r} not in the data "
                       f"(columns: {list(frame.columns)})")
    if len(parts) == 1:
        return pd.factorize(frame[parts[0]], sort=False)[0].astype(np.int64)
    # one group per distinct combination, numbered in order of first appearance (vectorised:
    # a row-wise string join took seconds at the study's size)
    return frame.groupby(parts, sort=False, dropna=False).ngroup().to_numpy(np.int64)


def demean(M: np.ndarray, fe_codes: Sequence[np.ndarray], tol: float = 1e-13,
           weights: np.ndarray | None = None) -> np.ndarray:
    """Columns of ``M`` minus their (weighted) projection on the FE dummies (alternating
    projections).

    Converges to the exact projection for any number of FE; ``tol`` bounds the largest change
    of a sweep, relative to the column scale. ``weights``: observation weights (e.g. the row
    counts of cells whose rows share every value)."""
    out = np.array(M, dtype=np.float64, copy=True)
    if out.ndim == 1:
        out = out[:, None]
    if not len(fe_codes):
        return out
    # one sparse indicator (levels × n) per FE: the group means of every column in one product
    w = np.ones(out.shape[0]) if weights is None else np.asarray(weights, np.float64)
    ind = [sparse.csr_matrix((w, (c, np.arange(len(c)))), shape=(int(c.max()) + 1, len(c)))
           for c in fe_codes]
    inv_counts = [1.0 / np.asarray(D.sum(axis=1)).ravel() for D in ind]
    scale = np.maximum(np.abs(out).max(axis=0), 1.0)
    for _ in range(MAX_ITER):
        change = np.zeros(out.shape[1])
        for c, D, inv in zip(fe_codes, ind, inv_counts):
            means = (D @ out) * inv[:, None]
            out -= means[c]
            change = np.maximum(change, np.abs(means).max(axis=0))
        if np.all(change <= tol * scale):
            return out
    raise RuntimeError(f"inference.demean: no convergence in {MAX_ITER} sweeps")


def _drop_singletons(frame: pd.DataFrame, fe: list[str]) -> tuple[pd.DataFrame, int]:
    """Iteratively drop observations alone in a level of some FE (fixest/pyfixest default)."""
    n0 = len(frame)
    while fe:
        keep = np.ones(len(frame), dtype=bool)
        for f in fe:
            c = codes(frame, f)
            keep &= np.bincount(c)[c] > 1
        if keep.all():
            break
        frame = frame.loc[keep]
    return frame, n0 - len(frame)


@dataclass
class Design:
    """The demeaned design of one fit.

    ``y``, ``X``: the FE-demeaned outcome and regressors (columns ``names``); ``beta``, ``resid``:
    the OLS on them (= the FE regression); ``bread`` = (X'X)^{-1}; ``frame``: the used rows of the
    input (original index kept), for cluster ids and coordinates; ``fe``: the FE specs and their
    codes; ``dropped``: rows removed by reason.
    """

    y: np.ndarray
    X: np.ndarray
    names: list[str]
    beta: np.ndarray
    resid: np.ndarray
    bread: np.ndarray
    frame: pd.DataFrame
    fe: list[str]
    fe_codes: list[np.ndarray]
    outcome: str = ""
    dropped: dict[str, int] = field(default_factory=dict)
    tol: float = 1e-13
    collinear: list[str] = field(default_factory=list)  # regressors dropped (drop_collinear)

    @property
    def n(self) -> int:
        return len(self.y)

    @property
    def k(self) -> int:
        return self.X.shape[1]

    def index(self, term: str) -> int:
        if term not in self.names:
            raise KeyError(f"inference: term {term!r} not among the regressors {self.names}")
        return self.names.index(term)

    def scores(self, resid: np.ndarray | None = None) -> np.ndarray:
        """Score contributions x_i u_i (n × k)."""
        u = self.resid if resid is None else resid
        return self.X * u[:, None]

    def df_k(self, cluster_codes: Sequence[np.ndarray] = ()) -> int:
        """Parameters counted in (N−1)/(N−df_k): regressors + FE levels − (n_fe − 1), minus the
        levels of FE nested in one of the cluster variables plus one per nested FE (pyfixest's
        ``k_fixef="nonnested"`` = reghdfe)."""
        levels = [int(c.max()) + 1 for c in self.fe_codes]
        k_fe = sum(levels) - (len(levels) - 1) if len(levels) > 1 else sum(levels)
        nested = [i for i, c in enumerate(self.fe_codes)
                  if any(_nested(c, g) for g in cluster_codes)]
        if not nested:
            return self.k + k_fe
        return self.k + k_fe - sum(levels[i] for i in nested) + len(nested)

    def nested_partial(self, cluster_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(y, X) with only the FE nested in the clusters partialled out; the other FE enter as
        dummy columns after ``X`` (first level dropped). A bootstrap that multiplies residuals by
        cluster weights must re-estimate the FE that are not constant within a cluster (e.g. the
        year FE under clustering by district); the nested ones it may partial out once
        (Roodman et al. 2019; fwildclusterboot's rule). β and residuals equal the full fit's."""
        nested = [c for c in self.fe_codes if _nested(c, cluster_codes)]
        other = [c for c in self.fe_codes if not _nested(c, cluster_codes)]
        dummies = [np.eye(int(c.max()) + 1)[c][:, 1:] for c in other]
        if not nested:  # no FE absorbed: the intercept is the dropped levels' column
            dummies.insert(0, np.ones((self.n, 1)))
        raw = np.column_stack([self.frame[[self.outcome] + self.names].to_numpy(np.float64)]
                              + dummies)
        M = demean(raw, nested, self.tol)
        return M[:, 0], M[:, 1:]

    def with_outcome(self, y_demeaned: np.ndarray) -> np.ndarray:
        """Coefficients of another (already demeaned) outcome on the same design."""
        return self.bread @ (self.X.T @ y_demeaned)


def _nested(fe: np.ndarray, cluster: np.ndarray) -> bool:
    """Every level of ``fe`` lies within one cluster."""
    pairs = np.unique(fe.astype(np.int64) * (int(cluster.max()) + 1) + cluster)  # 1-D: fast
    return len(pairs) == len(np.unique(fe))


def build_design(data: pd.DataFrame, outcome: str, regressors: Sequence[str],
                 fixed_effects: Sequence[str] = ("locality", "year"),
                 keep: Sequence[str] = (), tol: float = 1e-13, drop_collinear: bool = False) -> Design:
    """Demean ``outcome`` and ``regressors`` (data columns) on ``fixed_effects`` and fit OLS.

    ``keep`` names further columns the caller needs on the used rows (cluster ids, coordinates);
    rows missing them are dropped too (counted), so that every method sees the same sample.
    ``drop_collinear``: drop each regressor that is collinear with the FE and the regressors
    before it (in order, as pyfixest does; recorded in ``Design.collinear``) instead of raising."""
    regressors = list(regressors)
    fe = [str(f).strip() for f in fixed_effects]
    fe_cols = [p.strip() for f in fe for p in f.split("^")]
    cols = list(dict.fromkeys([outcome] + regressors + fe_cols + list(keep)))
    frame, dropped = drop_missing(data, cols)
    frame, single = _drop_singletons(frame, fe)
    if single:
        dropped["singleton_fe"] = single
    if frame.empty:
        raise ValueError(f"inference: no rows left for {outcome!r} ({dropped})")
    fe_codes = [codes(frame, f) for f in fe]
    M = demean(frame[[outcome] + regressors].to_numpy(np.float64), fe_codes, tol)
    y, X = M[:, 0], M[:, 1:]
    collinear: list[str] = []
    if drop_collinear and X.shape[1] and np.linalg.matrix_rank(X.T @ X) < X.shape[1]:
        # |R_jj| of a QR without pivoting = the norm of column j off the span of the columns
        # before it: a tiny one (relative to the column's own norm) marks a collinear column
        R = np.linalg.qr(X, mode="r")
        norms = np.linalg.norm(X, axis=0)
        ok = np.abs(np.diag(R)) > 1e-7 * np.maximum(norms, 1e-300)
        collinear = [r for r, k in zip(regressors, ok) if not k]
        regressors = [r for r, k in zip(regressors, ok) if k]
        X = X[:, ok]
    xtx = X.T @ X
    if np.linalg.matrix_rank(xtx) < X.shape[1]:
        raise ValueError(f"inference: regressors {regressors} are collinear with the fixed effects {fe}")
    bread = np.linalg.inv(xtx)
    beta = bread @ (X.T @ y)
    return Design(y=y, X=X, names=regressors, beta=beta, resid=y - X @ beta, bread=bread,
                  frame=frame, fe=fe, fe_codes=fe_codes, outcome=outcome, dropped=dropped, tol=tol,
                  collinear=collinear)
