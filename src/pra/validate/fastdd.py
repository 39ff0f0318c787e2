"""The Monte Carlo's spatial DD: :func:`pra.did.batch.run_batch`'s estimates, one demeaning per sample.

A draw estimates about fifty DD regressions (Table 6 models 1–3, Table 7, Table 8, two radii,
each for three outcomes) and as many again with the draw's effects τ as outcome (the estimands,
:mod:`pra.validate.estimands`). They share estimation samples: per prepared sample
(:func:`pra.did.specs.prepare_sample`) and missing-value pattern, every outcome, every treatment
column and the model-3 controls are demeaned once by pyfixest's own demeaner
(:func:`pra.grid.estimate.demean`); each spec is then a small least-squares problem on the
demeaned columns (Frisch–Waugh–Lovell). The rules are the grid's (:mod:`pra.grid.estimate`):
rows missing the outcome, a term, a control, a fixed effect or the cluster are dropped, then
singleton fixed effects; collinear columns go by pyfixest's sequential rule in formula order
(terms, controls); CRV1 with reghdfe's small-sample factor; t(G−1) p-values and intervals. A
spec with several treatment terms (Table 7's semesters) gets the full sandwich.
``tests/test_validate_frames.py`` checks coefficients, SEs, p-values, intervals, N and the
estimands against ``run_batch`` (pyfixest) to 1e-10 on every family the harness uses.
"""
from __future__ import annotations

import re
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from pra.did.specs import FIXED_EFFECTS, model_controls, prep_key, prepare_sample
from pra.did.estimator import term_columns
from pra.grid.estimate import (collinear, control_columns, demean, drop_singletons, ssc_factor,
                               ssc_parts)

RESULT_COLUMNS = ["spec_id", "outcome", "term", "coef", "se", "pvalue", "ci_low", "ci_high", "nobs", "nclusters"]
_SEMESTER = re.compile(r'^i\((\w+),\s*(\w+),\s*ref="([^"]+)"\)$')


def _codes(v) -> np.ndarray:
    return pd.factorize(np.asarray(v))[0]


def term_matrix(frame: pd.DataFrame, terms: str) -> tuple[list[str], np.ndarray]:
    """A spec's treatment columns as pyfixest names and builds them: ``D`` (a column) or
    ``i(var, by, ref="L")`` (one column ``var::level:by`` per level but L, levels sorted)."""
    if re.fullmatch(r"\w+", terms):
        return [terms], frame[terms].to_numpy(dtype=float)[:, None]
    m = _SEMESTER.match(terms)
    if not m:
        raise ValueError(f"pra.validate.fastdd: treatment terms {terms!r} are neither a column nor "
                         'i(var, by, ref="level") (the families the Monte Carlo runs)')
    var, by, ref = m.groups()
    v = frame[var].astype(str).to_numpy()
    b = frame[by].to_numpy(dtype=float)
    levels = [lv for lv in sorted(pd.unique(v)) if lv != ref]
    return ([f"{var}::{lv}:{by}" for lv in levels],
            np.column_stack([(v == lv) * b for lv in levels]) if levels else np.zeros((len(frame), 0)))


def run_specs(data: pd.DataFrame, specs: Sequence[dict], cluster: str,
              extra_outcomes: dict[str, list[str]] | None = None, alpha: float = 0.05,
              frames: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """The treatment terms' estimates of ``specs`` on ``data`` (the spatial sample table), as
    ``run_batch`` gives them (:data:`RESULT_COLUMNS`; one row per spec, outcome and term).

    ``extra_outcomes[spec_id]``: further outcomes regressed on the spec's design on the spec's
    own rows (those where the spec's outcome and design are observed), e.g. the draw's τ; they
    must be observed wherever the spec's outcome is. ``frames``, if given, receives each prepared
    sample by :func:`pra.did.specs.prep_key`."""
    extra_outcomes = extra_outcomes or {}
    rows: list[dict] = []
    groups: dict[str, list[dict]] = {}
    for s in specs:
        groups.setdefault(prep_key(s), []).append(s)
    for members in groups.values():
        frame, _ = prepare_sample(data, members[0])
        if frames is not None:
            frames[prep_key(members[0])] = frame
        rows += _fit_frame(frame, members, cluster, extra_outcomes, alpha)
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def _fit_frame(frame: pd.DataFrame, specs: list[dict], cluster: str, extra: dict[str, list[str]],
               alpha: float) -> list[dict]:
    ref = int(frame["year"].min())
    years = sorted(int(y) for y in pd.unique(frame["year"]))
    m_max = max(int(s["model"]) for s in specs)
    _, ctrl = control_columns(frame, m_max, ref, years)
    ncols = {m: len(control_columns(frame.iloc[:0], m, ref, years)[0]) for m in range(1, m_max + 1)}
    terms = {t: term_matrix(frame, t) for t in dict.fromkeys(s["terms"] for s in specs)}
    fe_cols = list(FIXED_EFFECTS)
    na = {}

    def missing(col: str) -> np.ndarray:
        if col not in na:
            na[col] = frame[col].isna().to_numpy()
        return na[col]

    # one estimation sample per pattern of missing values (outcome, terms, controls of the model)
    patterns: dict[bytes, list[dict]] = {}
    for s in specs:
        cols = ([s["outcome"]] + term_columns([s["terms"]]) + term_columns(model_controls(int(s["model"]), ref))
                + fe_cols + [cluster])
        bad = np.zeros(len(frame), dtype=bool)
        for c in dict.fromkeys(cols):
            bad |= missing(c)
        for y in extra.get(s["spec_id"], []):
            if (missing(y) & ~bad).any():
                raise ValueError(f"pra.validate.fastdd: {y!r} is missing on rows of spec {s['spec_id']}")
        patterns.setdefault(np.packbits(~bad).tobytes(), []).append((s, ~bad))
    out = []
    for members in patterns.values():
        keep = members[0][1]
        rows = np.flatnonzero(keep)
        loc, year = _codes(frame["locality"].to_numpy()[rows]), _codes(frame["year"].to_numpy()[rows])
        single = drop_singletons([loc, year])
        rows, loc, year = rows[single], _codes(loc[single]), _codes(year[single])
        ss = [s for s, _ in members]
        outcomes = list(dict.fromkeys(y for s in ss for y in [s["outcome"]] + extra.get(s["spec_id"], [])))
        tkeys = list(dict.fromkeys(s["terms"] for s in ss))
        kmax = ncols[max(int(s["model"]) for s in ss)]
        blocks = [frame[y].to_numpy(dtype=float)[rows][:, None] for y in outcomes]
        blocks += [terms[t][1][rows] for t in tkeys] + [ctrl[rows, :kmax]]
        z = demean(np.column_stack(blocks), [loc, year], np.ones(len(rows)))
        ny = len(outcomes)
        yt = z[:, :ny]
        tcols, pos = {}, ny
        for t in tkeys:
            k = terms[t][1].shape[1]
            tcols[t] = z[:, pos:pos + k]
            pos += k
        ct = z[:, pos:]
        cl = _codes(frame[cluster].to_numpy()[rows])
        fe_part, g = ssc_parts([loc, year], cl)
        cgram, cy = ct.T @ ct, ct.T @ yt
        for s in ss:
            ys = [outcomes.index(y) for y in [s["outcome"]] + extra.get(s["spec_id"], [])]
            out += _solve(s, terms[s["terms"]][0], tcols[s["terms"]], ct, ncols[int(s["model"])], cgram, cy,
                          yt, ys, outcomes, cl, g, fe_part, alpha)
    return out


def _solve(spec: dict, names: list[str], t: np.ndarray, ct: np.ndarray, k: int, cgram: np.ndarray,
           cy: np.ndarray, yt: np.ndarray, ys: list[int], outcomes: list[str], cl: np.ndarray, g: int,
           fe_part: int, alpha: float) -> list[dict]:
    """OLS of demeaned outcomes ``yt[:, ys]`` on the demeaned terms ``t`` and the first ``k``
    demeaned controls ``ct``; CRV1 SEs of the terms from their cluster influence
    ψ_g = Σ_{i∈g} a_i u_i, a = X (X'X)⁻¹ e_term (only the sandwich's diagonal is reported)."""
    nt = t.shape[1]
    c = ct[:, :k]  # a view: no copy of the N × k block
    tc = t.T @ c
    gram = np.block([[t.T @ t, tc], [tc.T, cgram[:k, :k]]])
    excl = collinear(gram)
    keep = np.flatnonzero(~excl)
    kt, kc = keep[keep < nt], keep[keep >= nt] - nt
    y = yt[:, ys]
    xy = np.vstack([t.T @ y, cy[:k][:, ys]])[keep]
    bread = np.linalg.inv(gram[np.ix_(keep, keep)])
    beta = bread @ xy
    tk = t[:, kt] if len(kt) < nt else t
    ck = c[:, kc] if len(kc) < k else c
    nk = len(kt)
    # X = [t_k, c_k]: residuals and the terms' influence weights without building X
    fit_b = np.hstack([beta, bread[:, :nk]])
    xb = tk @ fit_b[:nk] + ck @ fit_b[nk:]
    u = y - xb[:, :len(ys)]
    a = xb[:, len(ys):]
    n = len(y)
    cfac = ssc_factor(n, len(keep), fe_part, g)
    df = g - 1
    crit = abs(stats.t.ppf(alpha / 2, df))
    rows = []
    for j, yi in enumerate(ys):
        infl = a * u[:, j:j + 1]
        for p in range(nk):
            psi = np.bincount(cl, weights=infl[:, p], minlength=g)
            coef, se = float(beta[p, j]), float(np.sqrt(cfac * psi @ psi))
            with np.errstate(divide="ignore", invalid="ignore"):  # τ ≡ 0 on the rows: 0/0
                pval = float(2 * (1 - stats.t.cdf(np.abs(np.float64(coef) / se), df)))
            rows.append({"spec_id": spec["spec_id"], "outcome": outcomes[yi], "term": names[kt[p]], "coef": coef,
                         "se": se, "pvalue": pval, "ci_low": coef - crit * se, "ci_high": coef + crit * se,
                         "nobs": n, "nclusters": g})
    return rows


__all__ = ["RESULT_COLUMNS", "run_specs", "term_matrix"]
