"""Fast estimation of the grid: the same estimates as :func:`pra.did.estimate`, shared work done once.

Each specification is ``y ~ D + controls(model) | locality + year`` on its estimation sample, with
CRV1 errors. :func:`pra.did.estimate` (pyfixest) gives the reference; this module reproduces it
(coefficients, standard errors, p-values, CIs, N, clusters, R², to 1e-10: ``tests/test_grid.py``)
with the work that specifications share done once:

* **Samples.** :func:`pra.did.specs.prepare_sample` builds the estimation frame (household-sample
  rule, derived controls, row order) once per household sample at the largest sample space; a
  specification's rows are a subset of it (sample space, ring, post period), in the same order.
* **Demeaning** (Frisch–Waugh–Lovell). For each estimation sample (rows after the missing-value
  and singleton drops) and weights, every outcome, every control column of the largest model and
  the D column of every radius are demeaned together, once, by pyfixest's own alternating
  projections with the tolerance :func:`pra.did.estimate` uses (:func:`demean`).
* **Solving.** Models are nested prefixes of one control list, so one Gram matrix per radius
  serves every model and outcome. Collinear columns are found with pyfixest's rule (sequential
  Cholesky on the unweighted demeaned Gram matrix, pivot < 1e-9, in column order D, controls).
* **Standard errors.** The influence of cluster g on the D coefficient is
  ψ_g = Σ_{i∈g} a_i w_i û_i with a = X̃ (X̃'WX̃)⁻¹ e_D; V_CRV1 = c · Σ_g ψ_g², with reghdfe's
  small-sample factor c = (N−1)/(N−K) · G/(G−1), K = regressors + fixed-effect levels not
  nested in the cluster (pyfixest ``ssc()`` defaults: locality FE nested in locality or district
  clusters are not counted, the year FE are), t(G−1) p-values and CIs. Every SE kind of
  ``did.full_grid.se_clusters`` comes from the same fit.
* **Joint inference input.** ψ·√c of the primary cluster kind is returned per specification, on
  one global list of clusters (:mod:`pra.grid.joint` draws the same multiplier per cluster for
  every specification).

Rows dropped are counted per specification by reason (JSON column ``dropped``): ``prepare:*`` as in
the DD store, ``missing:<column>`` by the first missing column in the order outcome, D, controls,
fixed effects, clusters, weights (as :func:`pra.did.estimate`), ``singleton_fe``.
"""
from __future__ import annotations

import json
import math
import re
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from pra.did.estimator import term_columns
from pra.did.specs import model_controls, prepare_sample

from .specs import GRID_FIELDS, NO_WEIGHTS, SE_CLUSTER_COLUMNS, ring_text

FIXED_EFFECTS = ("locality", "year")
COLLIN_TOL = 1e-9  # pyfixest.feols' collin_tol default
TERM = "D"
STATUS_OK = "ok"

STORE_COLUMNS = (["spec_id", "family", "outcome", "model", "radius_km", "sample_space_km", "ring_km", "ring",
                  "sample", "weights", "post", "post_start", "post_end", "term", "role", "status", "coef",
                  "se", "pvalue", "ci_low", "ci_high", "nobs", "nclusters", "r2", "r2_within"])


def store_columns(se_kinds: Sequence[str]) -> list[str]:
    """Store columns: choices, the primary SE (``se``…``ci_high``) and one block per SE kind."""
    extra = [f"{s}_{k}" for k in se_kinds for s in ("se", "pvalue", "ci_low", "ci_high", "nclusters")]
    return STORE_COLUMNS + extra + ["dropped"]


def grid_sample(households: pd.DataFrame, distances: pd.DataFrame, max_space_km: float) -> pd.DataFrame:
    """The grid's sample table: harmonised household-years with their distance, within the largest
    sample space, every household type (the grid applies sample, space, ring and radius itself).
    The study's ``sample_space.parquet`` is the same table cut at ``spatial.sample_space_km``."""
    from pra.geo.sample import attach_distances

    with_dist = attach_distances(households, distances)
    return with_dist[with_dist["dist_km"] <= float(max_space_km)].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# controls


_I_TERM = re.compile(r"^i\((\w+),\s*(\w+),\s*ref=(-?\d+)\)$")


def control_columns(frame: pd.DataFrame, model: int, ref_year: int, years: Sequence[int]) -> tuple[list[str], np.ndarray]:
    """The control columns of ``model`` as pyfixest expands them (``year::2008:rural`` …) and their
    values, in formula order. ``i(year, c, ref=R)`` gives one column per year in ``years`` but R;
    a year absent from the sample gives a zero column, which the collinearity rule drops."""
    names, cols = [], []
    for t in model_controls(model, ref_year):
        m = _I_TERM.match(t)
        if m:
            var, by, ref = m.group(1), m.group(2), int(m.group(3))
            v, b = frame[var].to_numpy(), frame[by].to_numpy(dtype=float)
            for lv in sorted(int(y) for y in years):
                if lv != ref:
                    names.append(f"{var}::{lv}:{by}")
                    cols.append((v == lv).astype(float) * b)
        elif re.fullmatch(r"\w+", t):
            names.append(t)
            cols.append(frame[t].to_numpy(dtype=float))
        else:
            raise ValueError(f"pra.grid: control term {t!r} of model {model} is neither a column nor "
                             "i(var, by, ref=R); extend pra.grid.estimate.control_columns")
    return names, (np.column_stack(cols) if cols else np.zeros((len(frame), 0)))


# --------------------------------------------------------------------------------------------
# linear algebra


def collinear(gram: np.ndarray, tol: float = COLLIN_TOL) -> np.ndarray:
    """pyfixest's (fixest's) collinearity rule on a Gram matrix: sequential Cholesky in column
    order; a column whose pivot falls below ``tol`` is excluded. Returns the boolean mask."""
    k = gram.shape[0]
    r = np.zeros((k, k))
    excl = np.zeros(k, dtype=bool)
    for j in range(k):
        keep = ~excl[:j]
        rj = r[:j, j][keep]
        r_jj = gram[j, j] - rj @ rj
        if r_jj < tol:
            excl[j] = True
            continue
        s = math.sqrt(r_jj)
        r[j, j] = s
        if j + 1 < k:
            r[j, j + 1:] = (gram[j, j + 1:] - r[:j, j + 1:][keep].T @ rj) / s
    return excl


def drop_singletons(codes: Sequence[np.ndarray]) -> np.ndarray:
    """Rows kept after iteratively dropping fixed-effect levels with a single row (pyfixest's
    ``fixef_rm="singleton"``); ``codes`` are integer level codes per fixed effect."""
    keep = np.ones(len(codes[0]), dtype=bool)
    if not len(keep):
        return keep
    while True:
        bad = np.zeros_like(keep)
        for c in codes:
            cnt = np.bincount(c[keep], minlength=int(c.max()) + 1 if len(c) else 0)
            bad |= keep & (cnt[c] == 1)
        if not bad.any():
            return keep
        keep &= ~bad


def demean(a: np.ndarray, fe_codes: Sequence[np.ndarray], w: np.ndarray) -> np.ndarray:
    """Columns of ``a`` projected off the fixed effects, weighted: pyfixest's own alternating
    projections (``pyfixest.estimation.demean``, each column on its own) with the tolerance and
    iteration limit of the demeaner :func:`pra.did.estimate` uses, so the demeaned columns, and
    hence coefficients and residual-based SEs, equal the reference's to rounding (an exact
    projection differs from its 1e-6 tolerance by ~1e-8 in the SEs)."""
    from pyfixest.core.demean import demean as _demean
    from pyfixest.demeaners import MapDemeaner

    cfg = MapDemeaner()  # the default of pyfixest.feols, used by pra.did.estimate
    flist = np.column_stack(fe_codes).astype(np.uintp)
    out, ok = _demean(np.ascontiguousarray(a, dtype=np.float64), flist, np.asarray(w, dtype=np.float64),
                      tol=cfg.fixef_tol, maxiter=cfg.fixef_maxiter)
    if not ok:
        raise ValueError(f"pra.grid: demeaning did not converge in {cfg.fixef_maxiter} iterations")
    return out


def ssc_parts(fe_codes: Sequence[np.ndarray], cluster: np.ndarray) -> tuple[int, int]:
    """(K − k, G): the fixed-effect count in reghdfe's K as pyfixest's ``ssc()`` defaults count it
    (levels of every FE, one less per extra FE; FE nested in the cluster not counted, one added
    back per nested FE) and the number of clusters. Codes are 0..n−1 integer codes."""
    g = int(cluster.max()) + 1
    k_fe = [int(c.max()) + 1 for c in fe_codes]
    k_fe_adj = sum(k_fe) - (len(k_fe) - 1) if len(k_fe) > 1 else sum(k_fe)
    nested = [_nested(c, kf, cluster) for c, kf in zip(fe_codes, k_fe)]
    if any(nested):
        return k_fe_adj - sum(kf for kf, ne in zip(k_fe, nested) if ne) + sum(nested), g
    return k_fe_adj, g


def _nested(codes: np.ndarray, n_levels: int, cluster: np.ndarray) -> bool:
    """Every level of ``codes`` lies within one cluster: each row's cluster equals the cluster of
    its level's last row (one pass; no sort of (level, cluster) pairs)."""
    of_level = np.empty(n_levels, dtype=cluster.dtype)
    of_level[codes] = cluster
    return bool((of_level[codes] == cluster).all())


def ssc_factor(n: int, k: int, fe_part: int, g: int) -> float:
    """V_CRV1 = factor · Σ_g ψ_g²: (N−1)/(N−K) · G/(G−1), K = k + fe_part."""
    return (n - 1) / (n - k - fe_part) * g / (g - 1)


def _codes(v: np.ndarray) -> np.ndarray:
    return pd.factorize(v)[0]


# --------------------------------------------------------------------------------------------
# the runner


class _Base:
    """One household sample at the largest sample space, as arrays (prepared once per job)."""

    def __init__(self, data: pd.DataFrame, sample: str, max_space: float, post_start: int,
                 years: list[int], cl_cols: list[str], cluster_index: pd.Index):
        frame, self.dropped = prepare_sample(data, {"sample": sample, "sample_space_km": max_space,
                                                    "radius_km": None, "post_start": post_start, "ring": None})
        self.frame = frame
        self.dist = frame["dist_km"].to_numpy(float)
        self.year = frame["year"].to_numpy(np.int64)
        self.loc = _codes(frame["locality"].to_numpy())
        self.clusters = [_codes(frame[c].to_numpy()) for c in cl_cols]
        self.primary = cluster_index.get_indexer(frame[cl_cols[0]].to_numpy())
        self.years = years
        self.ref = int(self.year.min())
        self.ctrl_names, self.ctrl = control_columns(frame, 3, self.ref, years)
        self._cols: dict[str, np.ndarray] = {}
        self._na: dict[str, np.ndarray] = {}
        self._ncols: dict[int, dict[int, int]] = {}
        self._first: dict[tuple[str, ...], np.ndarray] = {}
        self._order: dict[tuple, tuple[str, ...]] = {}

    def col(self, name: str) -> np.ndarray:
        if name not in self._cols:
            if name not in self.frame.columns:
                raise KeyError(f"run_grid: column {name!r} (outcome, control, fixed effect, cluster or "
                               f"weights) is not in the grid sample")
            self._cols[name] = self.frame[name].to_numpy(dtype=float)
        return self._cols[name]

    def na(self, name: str) -> np.ndarray:
        if name not in self._na:
            if name not in self.frame.columns:
                raise KeyError(f"run_grid: column {name!r} (outcome, control, fixed effect, cluster or "
                               f"weights) is not in the grid sample")
            self._na[name] = self.frame[name].isna().to_numpy()
        return self._na[name]

    def ncols(self, ref: int) -> dict[int, int]:
        """Number of control columns of each model (a prefix of model 3's columns)."""
        if ref not in self._ncols:
            self._ncols[ref] = {m: len(control_columns(self.frame.iloc[:0], m, ref, self.years)[0])
                                for m in (1, 2, 3)}
        return self._ncols[ref]

    def missing_order(self, outcome: str, model: int, ref: int, rest: tuple[str, ...]) -> tuple[str, ...]:
        """The columns whose missing values drop a row, in :func:`pra.did.estimate`'s order: outcome,
        controls of ``model``, then ``rest`` (fixed effects, clusters, weights)."""
        key = (outcome, model, ref, rest)
        if key not in self._order:
            self._order[key] = tuple(dict.fromkeys([outcome] + term_columns(model_controls(model, ref)) + list(rest)))
        return self._order[key]

    def first_missing(self, order: tuple[str, ...]) -> np.ndarray:
        """Per row: the position in ``order`` of its first missing column, −1 if none."""
        if order not in self._first:
            first = np.full(len(self.dist), -1, dtype=np.int64)
            for j in range(len(order) - 1, -1, -1):
                first[self.na(order[j])] = j
            self._first[order] = first
        return self._first[order]

    def controls(self, idx: np.ndarray, ref: int, k: int) -> np.ndarray:
        if ref == self.ref:
            return self.ctrl[idx, :k]
        return control_columns(self.frame.iloc[idx], 3, ref, self.years)[1][:, :k]


def _row_key(s: dict) -> tuple:
    ring = s["ring_km"]
    return (s["sample"], s["sample_space_km"], ring, s["radius_km"] if ring else None, s["post_start"], s["post_end"])


def _rows(base: _Base, s: dict, post0: int) -> tuple[np.ndarray, dict[str, int]]:
    """Rows of the base frame in a spec's sample (space, ring, post period) and the drops."""
    d, y = base.dist, base.year
    keep = np.ones(len(d), dtype=bool)
    dropped = dict(base.dropped)

    def drop(mask: np.ndarray, reason: str) -> None:
        n = int((keep & mask).sum())
        if n:
            dropped[reason] = dropped.get(reason, 0) + n
        keep[mask] = False

    drop(d > s["sample_space_km"], "outside_sample_space")
    if s["ring_km"]:
        r, k = s["radius_km"], s["ring_km"]
        drop((d > r - k) & (d <= r + k), f"ring_{ring_text(r, k)}km")
    drop((y >= post0) & (y < s["post_start"]), "post:transition_year")
    drop(y > s["post_end"], "post:after_post_period")
    return np.flatnonzero(keep), dropped


def run_grid(data: pd.DataFrame, specs: Sequence[dict], *, post_start: int, years: Sequence[int],
             se_kinds: Sequence[str] = ("locality", "district"),
             cluster_ids: Sequence | None = None, alpha: float = 0.05) -> tuple[pd.DataFrame, np.ndarray]:
    """Estimate every grid spec on ``data`` (the grid sample table).

    Returns the store rows (one per spec, term D, in the order of ``specs``; a spec that cannot be
    estimated keeps its row with NaN estimates and its reason in ``status``) and the influence
    matrix (specs × ``cluster_ids``; ψ·√c of the primary SE kind, the first of ``se_kinds``;
    ``cluster_ids`` default: the sorted primary clusters of ``data``).
    """
    specs = list(specs)
    se_kinds = list(se_kinds)
    cl_cols = [SE_CLUSTER_COLUMNS[k] for k in se_kinds]
    missing = [c for c in cl_cols if c not in data.columns]
    if missing:
        raise KeyError(f"run_grid: cluster column(s) {missing} not in the grid sample")
    if cluster_ids is None:
        cluster_ids = np.sort(data[cl_cols[0]].dropna().unique())
    ctx = _Ctx(pd.Index(cluster_ids), len(specs), se_kinds, cl_cols, post_start,
               sorted(int(y) for y in years), alpha)
    ctx.pos = {s["spec_id"]: i for i, s in enumerate(specs)}
    max_space = max(float(s["sample_space_km"]) for s in specs) if specs else 0.0
    bases = {sample: _Base(data, sample, max_space, post_start, ctx.years, cl_cols, ctx.cluster_index)
             for sample in dict.fromkeys(s["sample"] for s in specs)}
    groups: dict[tuple, list[dict]] = {}
    for s in specs:
        groups.setdefault(_row_key(s) + (s["weights"],), []).append(s)
    for key, members in groups.items():
        base = bases[key[0]]
        idx, prep_dropped = _rows(base, members[0], post_start)
        _fit_group(ctx, base, idx, members, key[-1], prep_dropped)
    out = pd.DataFrame([ctx.results[s["spec_id"]] for s in specs], columns=store_columns(se_kinds))
    _inference(out, se_kinds, alpha)
    return _typed_store(out, se_kinds), ctx.psi


class _Ctx:
    def __init__(self, cluster_index, n_specs, se_kinds, cl_cols, post_start, years, alpha):
        self.cluster_index, self.se_kinds, self.cl_cols = cluster_index, se_kinds, cl_cols
        self.post_start, self.years, self.alpha = post_start, years, alpha
        self.psi = np.zeros((n_specs, len(cluster_index)))
        self.results: dict[str, dict] = {}
        self.pos: dict[str, int] = {}


def _fit_group(ctx: _Ctx, base: _Base, idx: np.ndarray, specs: list[dict], wname: str,
               prep_dropped: dict[str, int]) -> None:
    """Specs sharing rows (before missing values) and weights: one demeaning per missing-value
    pattern, one Gram matrix per radius and pattern, every model and outcome solved from it."""
    ref = int(base.year[idx].min()) if len(idx) else ctx.years[0]
    weighted = wname != NO_WEIGHTS
    fe = list(FIXED_EFFECTS)
    ncols = base.ncols(ref)
    prep = {f"prepare:{k}": v for k, v in prep_dropped.items()}
    # missing values of each (outcome, model), counted as pra.did.estimate counts them: by the
    # first missing column in the order outcome, D, controls, fixed effects, clusters, weights
    patterns: dict[bytes, list[tuple[str, int]]] = {}
    masks, drops = {}, {}
    for y, m in dict.fromkeys((s["outcome"], int(s["model"])) for s in specs):
        order = base.missing_order(y, m, ref, tuple(fe + ctx.cl_cols + ([wname] if weighted else [])))
        first = base.first_missing(order)[idx]
        keep = first < 0
        dd = {f"missing:{order[j]}": int(n) for j, n in enumerate(np.bincount(first[~keep], minlength=len(order)))
              if n} if not keep.all() else {}
        masks[(y, m)], drops[(y, m)] = keep, dd
        patterns.setdefault(np.packbits(keep).tobytes(), []).append((y, m))
    by_cell: dict[tuple, list[dict]] = {}
    for s in specs:
        by_cell.setdefault((s["outcome"], int(s["model"]), float(s["radius_km"])), []).append(s)
    radii = sorted({float(s["radius_km"]) for s in specs})

    for pairs in patterns.values():
        rows = idx[masks[pairs[0]]]
        single = drop_singletons([_codes(base.loc[rows]), _codes(base.year[rows])])
        rows = rows[single]
        extra = {"singleton_fe": int((~single).sum())} if (~single).any() else {}
        outcomes = list(dict.fromkeys(y for y, _ in pairs))
        models = sorted({m for _, m in pairs})
        fail = None if len(rows) > 1 else "no rows left after missing values and singletons"
        if fail is None:
            fit = _Fit(ctx, base, rows, outcomes, radii, ncols[max(models)], ref, specs[0]["post_start"],
                       wname if weighted else None)
            fail = fit.fail
        for y, m in pairs:
            for r in radii:
                ss = by_cell.get((y, m, r), [])
                if not ss:
                    continue
                est = fail or fit.solve(r, 1 + ncols[m]).get(y)
                for s in ss:
                    row = _row_base(s, {**prep, **drops[(y, m)], **extra})
                    if isinstance(est, str):
                        row["status"] = est
                    else:
                        row.update(est["row"])
                        ctx.psi[ctx.pos[s["spec_id"]]] = est["psi"]
                    ctx.results[s["spec_id"]] = row


class _Fit:
    """Demeaned columns of one estimation sample; :meth:`solve` gives every outcome's estimate for
    one radius and model (cached per radius: Gram rows of D)."""

    def __init__(self, ctx: _Ctx, base: _Base, rows: np.ndarray, outcomes: list[str], radii: list[float],
                 k_ctrl: int, ref: int, post_start: int, wname: str | None):
        self.ctx, self.outcomes, self.radii = ctx, outcomes, radii
        self.n = n = len(rows)
        self.w = w = base.col(wname)[rows] if wname else np.ones(n)
        self.fail = None
        if wname and (w <= 0).any():
            raise ValueError(f"run_grid: weights column {wname!r} has values ≤ 0 in the sample")
        year = base.year[rows]
        post = (year >= post_start).astype(float)
        dist = base.dist[rows]
        dcols = np.column_stack([(dist <= r) * post for r in radii])
        yraw = np.column_stack([base.col(y)[rows] for y in outcomes])
        fe_codes = [_codes(base.loc[rows]), _codes(year)]
        z = demean(np.column_stack([yraw, dcols, base.controls(rows, ref, k_ctrl)]), fe_codes, w)
        ny, nr = len(outcomes), len(radii)
        self.yt, self.dt, self.ct = z[:, :ny], z[:, ny:ny + nr], z[:, ny + nr:]
        self.wct = w[:, None] * self.ct
        self.cgram_u = self.ct.T @ self.ct
        self.cgram_w = self.ct.T @ self.wct
        self.cy_w = self.wct.T @ self.yt
        self.ssy = np.array([np.sum(w * (yraw[:, j] - np.average(yraw[:, j], weights=w)) ** 2) for j in range(ny)])
        self.ssy_w = (w[:, None] * self.yt ** 2).sum(axis=0)
        self.cl = [_codes(c[rows]) for c in base.clusters]
        self.ssc = [ssc_parts(fe_codes, c) for c in self.cl]
        self.primary = base.primary[rows]
        self._radius: dict[float, tuple] = {}
        self._solved: dict[tuple[float, int], dict | str] = {}
        self._excl: dict[float, np.ndarray] = {}

    def _d(self, r: float) -> tuple:
        if r not in self._radius:
            d = self.dt[:, self.radii.index(r)]
            wd = self.w * d
            self._radius[r] = (d, np.concatenate([[d @ d], self.ct.T @ d]),
                               np.concatenate([[d @ wd], self.wct.T @ d]), wd @ self.yt)
        return self._radius[r]

    def solve(self, r: float, k: int) -> dict[str, dict] | str:
        """Every outcome's estimate at radius ``r`` with the first ``k`` columns (D, controls)."""
        if (r, k) not in self._solved:
            self._solved[(r, k)] = self._solve(r, k)
        return self._solved[(r, k)]

    def _excluded(self, r: float) -> np.ndarray:
        """The collinearity mask of D and every demeaned control at radius ``r``: the rule is
        sequential in column order, so a model's mask is the prefix of its first k columns."""
        if r not in self._excl:
            dg_u = self._d(r)[1]
            k = len(dg_u)
            gu = np.empty((k, k))
            gu[0, :], gu[:, 0] = dg_u, dg_u
            gu[1:, 1:] = self.cgram_u
            self._excl[r] = collinear(gu)
        return self._excl[r]

    def _solve(self, r: float, k: int) -> dict[str, dict] | str:
        d, dg_u, dg_w, dy_w = self._d(r)
        excl = self._excluded(r)[:k]
        if excl[0]:
            return "D collinear with the fixed effects and controls (no treated or no control rows)"
        keep = np.flatnonzero(~excl)
        gw = np.empty((k, k))
        gw[0, :], gw[:, 0] = dg_w[:k], dg_w[:k]
        gw[1:, 1:] = self.cgram_w[:k - 1, :k - 1]
        gw = gw[np.ix_(keep, keep)]
        xy = np.vstack([dy_w[None, :], self.cy_w[:k - 1]])[keep]
        bread = np.linalg.inv(gw)
        beta = np.linalg.solve(gw, xy)
        cidx = keep[1:] - 1
        # a view when no control is dropped (the usual case): no copy of the N × k block
        ck = self.ct[:, :k - 1] if len(cidx) == k - 1 else self.ct[:, cidx]
        ab = ck @ np.column_stack([bread[1:, 0], beta[1:]])
        a = d * bread[0, 0] + ab[:, 0]
        u = self.yt - d[:, None] * beta[0][None, :] - ab[:, 1:]
        infl = (a * self.w)[:, None] * u
        ssu = (self.w[:, None] * u * u).sum(axis=0)
        kk = len(keep)
        out = {}
        per_kind = []
        for codes, (fe_part, g) in zip(self.cl, self.ssc):
            c = ssc_factor(self.n, kk, fe_part, g)
            per = np.column_stack([np.bincount(codes, weights=infl[:, j], minlength=g)
                                   for j in range(infl.shape[1])])
            per_kind.append((c, g, np.sqrt(c * (per * per).sum(axis=0))))
        for j, y in enumerate(self.outcomes):
            row = {"coef": float(beta[0, j]), "nobs": self.n, "r2": 1 - ssu[j] / self.ssy[j],
                   "r2_within": 1 - ssu[j] / self.ssy_w[j]}
            for ki, (kind, (c, g, se)) in enumerate(zip(self.ctx.se_kinds, per_kind)):
                row[f"se_{kind}"], row[f"nclusters_{kind}"] = float(se[j]), g
            psi = np.bincount(self.primary, weights=infl[:, j] * math.sqrt(per_kind[0][0]),
                              minlength=len(self.ctx.cluster_index))
            out[y] = {"row": row, "psi": psi}
        return out


def _inference(out: pd.DataFrame, se_kinds: Sequence[str], alpha: float) -> None:
    """t(G−1) p-values and CIs, as pyfixest: p = 2(1 − F(|t|)), CI = coef ± |F⁻¹(α/2)|·se."""
    coef = out["coef"].to_numpy(float)
    for ki, kind in enumerate(se_kinds):
        se = out[f"se_{kind}"].to_numpy(float)
        df = out[f"nclusters_{kind}"].to_numpy(float) - 1
        ok = np.isfinite(se) & (df > 0)
        p = np.full(len(out), np.nan)
        lo, hi = p.copy(), p.copy()
        p[ok] = 2 * (1 - stats.t.cdf(np.abs(coef[ok] / se[ok]), df[ok]))
        z = np.abs(stats.t.ppf(alpha / 2, df[ok]))
        lo[ok], hi[ok] = coef[ok] - z * se[ok], coef[ok] + z * se[ok]
        out[f"pvalue_{kind}"], out[f"ci_low_{kind}"], out[f"ci_high_{kind}"] = p, lo, hi
        if ki == 0:
            out["se"], out["pvalue"], out["ci_low"], out["ci_high"] = se, p, lo, hi
            out["nclusters"] = out[f"nclusters_{kind}"]


def _row_base(s: dict, dropped: dict[str, int]) -> dict:
    row = {k: s[k] for k in GRID_FIELDS}
    row.update(spec_id=s["spec_id"], family="grid", ring=ring_text(s["radius_km"], s["ring_km"]),
               post=f"{s['post_start']}-{s['post_end']}", term=TERM, role="treatment", status=STATUS_OK,
               dropped=json.dumps(dict(sorted(dropped.items())), separators=(",", ":")))
    return row


def _typed_store(out: pd.DataFrame, se_kinds: Sequence[str]) -> pd.DataFrame:
    for c in ("model", "post_start", "post_end"):
        out[c] = out[c].astype("int64")
    for c in ["nobs", "nclusters"] + [f"nclusters_{k}" for k in se_kinds]:
        out[c] = out[c].astype("Int64")
    floats = ["radius_km", "sample_space_km", "ring_km", "coef", "se", "pvalue", "ci_low", "ci_high", "r2",
              "r2_within"] + [f"{s}_{k}" for k in se_kinds for s in ("se", "pvalue", "ci_low", "ci_high")]
    for c in floats:
        out[c] = out[c].astype("float64")
    for c in ("spec_id", "family", "outcome", "ring", "sample", "weights", "post", "term", "role", "status",
              "dropped"):
        out[c] = pd.Series([None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
                            for v in out[c]], index=out.index, dtype=object)
    return out
