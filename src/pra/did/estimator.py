"""The difference-in-differences estimator: a thin, explicit layer over ``pyfixest.feols``.

Conventions (``docs/estimators.md`` §1–§4):

* Fixed effects are joined with spaces (``"| locality + year"``). pyfixest 0.60 splits the FE
  part on ``"+"`` without stripping and, when written without spaces, pairs names with columns
  in a hash-dependent order: the CRV1 degrees of freedom (``_df_k``) and hence the SE then change
  with ``PYTHONHASHSEED``. With spaces the nesting is detected from the data and is stable.
* The variance is always passed explicitly: ``vcov={"CRV1": cluster}``, or ``"hetero"`` (HC1)
  when ``cluster`` is None (pyfixest's default would be iid).
* Small-sample correction = Stata ``reghdfe ..., absorb(fe) vce(cluster c)``: pyfixest's default
  ``ssc(k_adj=True, k_fixef="nonnested", G_adj=True, G_df="min")``, i.e.
  ``V_CRV1 = V × (N−1)/(N−K) × G/(G−1)`` where K counts the regressors plus the FE levels that
  are *not* nested in the cluster (locality FE nested in locality clusters are not counted; the
  year FE are). p-values and CIs use t(G−1). statsmodels OLS with dummies and
  ``cov_type="cluster"`` counts every dummy in K (Stata ``areg``); its SE equals ours times
  ``sqrt((N−K_nested)/(N−K_full))``, i.e. pyfixest's ``ssc(k_fixef="full")`` (tested).
* pyfixest 0.60 orders the FE columns by string hashing, so estimates would differ in the last
  digits between processes: :mod:`pra.did.pyfixest_adapter` (the one module that touches
  pyfixest's internals) fixes the order; a test runs two hash seeds.
* Rows with a missing value in any used column (outcome, regressors, FE, cluster, weights) are
  dropped *before* pyfixest sees them and counted by reason (the first missing column in the
  order outcome, terms/controls, FE, cluster, weights); pyfixest's singleton-FE drops are counted
  as ``"singleton_fe"``.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from . import pyfixest_adapter as pfa

__all__ = ["DidResult", "drop_missing", "estimate", "estimate_many", "stars", "formula", "term_columns"]


def stars(p: float | None) -> str:
    """Significance stars as in the report: * 10%, ** 5%, *** 1% ('' if p is NaN/None)."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return ""
    return "***" if p < 0.01 else "**" if p < 0.05 else "*" if p < 0.10 else ""


@dataclass
class DidResult:
    """One estimated model: the coefficient of interest plus every coefficient in ``table``.

    ``coef`` … ``ci_high`` refer to ``term`` (the first treatment term). ``table`` has one row per
    coefficient: term, coef, se, tstat, pvalue, ci_low, ci_high. ``dropped`` counts the rows
    removed before estimation by reason (``"missing:<column>"``, ``"singleton_fe"``).
    """

    term: str
    coef: float
    se: float
    pvalue: float
    ci_low: float
    ci_high: float
    nobs: int
    nclusters: int | None
    r2: float
    r2_within: float
    table: pd.DataFrame
    dropped: dict[str, int] = field(default_factory=dict)
    formula: str = ""
    vcov: str = ""
    collinear: list[str] = field(default_factory=list)

    def terms(self, pattern: str | None = None) -> pd.DataFrame:
        """Rows of ``table`` whose term matches the regex ``pattern`` (all rows if None)."""
        if pattern is None:
            return self.table
        return self.table[self.table["term"].str.contains(pattern, regex=True)]


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEYWORDS = {"i", "C", "ref", "ref2", "csw", "csw0", "sw", "sw0", "T", "Treatment", "bin"}


def term_columns(terms: Iterable[str]) -> list[str]:
    """Data columns referenced by formula terms (``"i(band, post, ref=7)"`` → band, post).

    Identifiers inside string literals and keyword names (i, C, ref=) are skipped.
    """
    cols: list[str] = []
    for t in terms:
        t = re.sub(r"\"[^\"]*\"|'[^']*'", "", t)  # drop string literals such as ref="2007-I"
        t = re.sub(r"\b(ref2?|bin)\s*=\s*[^,)]*", "", t)
        for name in _IDENT.findall(t):
            if name not in _KEYWORDS and name not in cols:
                cols.append(name)
    return cols


def _as_list(x: str | Sequence[str] | None) -> list[str]:
    if x is None:
        return []
    if isinstance(x, str):
        return [x]
    return list(x)


def formula(outcome: str | Sequence[str], terms: Sequence[str], fixed_effects: Sequence[str],
            controls: Sequence[str] = ()) -> str:
    """The pyfixest formula; FE joined with ``" + "`` (spaces matter, see module docstring)."""
    lhs = " + ".join(_as_list(outcome))
    rhs = " + ".join(list(terms) + list(controls)) or "1"
    fe = [str(f).strip() for f in fixed_effects]
    return f"{lhs} ~ {rhs}" + (f" | {' + '.join(fe)}" if fe else "")


def drop_missing(data: pd.DataFrame, ordered_cols: list[str]) -> tuple[pd.DataFrame, dict[str, int]]:
    """Drop rows with NaN in any of ``ordered_cols``; count each row once, by its first NaN column."""
    missing = [c for c in ordered_cols if c not in data.columns]
    if missing:
        raise KeyError(f"column(s) {missing} not in the data (columns: {list(data.columns)})")
    # one isna over the columns; a row counts for its first missing column (argmax of the row)
    if not ordered_cols:
        return data.loc[np.ones(len(data), bool)], {}
    isna = np.column_stack([data[c].isna().to_numpy(bool) for c in ordered_cols])
    bad = isna.any(axis=1)
    counts = np.bincount(isna[bad].argmax(axis=1), minlength=len(ordered_cols))
    dropped = {f"missing:{c}": int(n) for c, n in zip(ordered_cols, counts) if n}
    return data.loc[~bad], dropped


MIN_CLUSTERS = 2


def _check_clusters(frame: pd.DataFrame, cluster: str | None, outcome: str) -> None:
    """A clustered SE needs at least two clusters (pyfixest gives se=inf or a LinAlgError)."""
    if cluster and len(frame):
        g = int(frame[cluster].nunique())
        if g < MIN_CLUSTERS:
            raise ValueError(f"estimate: {outcome!r}: only {g} cluster(s) of {cluster!r} in "
                             f"{len(frame)} rows; a clustered SE needs at least {MIN_CLUSTERS}")


def _vcov(cluster: str | None):
    return {"CRV1": cluster} if cluster else "hetero"


def _result(fit, terms_cols_first: str | None, dropped: dict[str, int], n_in: int,
            cluster: str | None) -> DidResult:
    table = pfa.tidy(fit)
    st = pfa.fit_stats(fit, clustered=bool(cluster))
    dropped = dict(dropped)
    single = n_in - st.nobs
    if single:
        dropped["singleton_fe"] = single
    term = terms_cols_first
    if term is None or term not in set(table["term"]):
        term = table["term"].iloc[0] if len(table) else ""
    row = table.loc[table["term"] == term].iloc[0] if len(table) else None
    return DidResult(
        term=term,
        coef=float(row["coef"]) if row is not None else np.nan,
        se=float(row["se"]) if row is not None else np.nan,
        pvalue=float(row["pvalue"]) if row is not None else np.nan,
        ci_low=float(row["ci_low"]) if row is not None else np.nan,
        ci_high=float(row["ci_high"]) if row is not None else np.nan,
        nobs=st.nobs,
        nclusters=st.nclusters,
        r2=st.r2,
        r2_within=st.r2_within,
        table=table,
        dropped=dropped,
        formula=st.formula,
        vcov=f"CRV1:{cluster}" if cluster else "hetero",
        collinear=st.collinear,
    )


def estimate(data: pd.DataFrame, outcome: str, treatment: str | Sequence[str],
             fixed_effects: Sequence[str] = ("locality", "year"), controls: Sequence[str] = (),
             cluster: str | None = None, weights: str | None = None, *,
             ssc: dict | None = None) -> DidResult:
    """Estimate one DD model with absorbed fixed effects.

    ``treatment`` is a column name (e.g. ``"D"`` = treated × post) or a list of formula terms
    (e.g. ``["i(dband, post, ref=7)"]``, ``["i(semester, treated, ref='2007-I')"]``); the headline
    ``coef``/``se`` refer to the first coefficient of the first term, ``table`` has them all.
    ``controls`` are further formula terms (columns or ``i(...)`` terms). ``weights`` are analytic
    weights (Stata ``[aw=]``). ``ssc`` overrides pyfixest's small-sample correction (default:
    reghdfe's; ``{"k_fixef": "full"}`` gives areg / statsmodels-with-dummies SEs).
    """
    terms = _as_list(treatment)
    fe = _as_list(fixed_effects)
    used = ([outcome] + term_columns(terms) + term_columns(controls) + fe
            + ([cluster] if cluster else []) + ([weights] if weights else []))
    used = list(dict.fromkeys(used))
    frame, dropped = drop_missing(data, used)
    _check_clusters(frame, cluster, outcome)
    if frame.empty:
        raise ValueError(f"estimate: no rows left for {outcome!r} after dropping missing values {dropped}")
    fit = pfa.feols(formula(outcome, terms, fe, controls), frame[used].reset_index(drop=True),
                    vcov=_vcov(cluster), weights=weights, ssc=ssc)
    first = terms[0] if terms and _IDENT.fullmatch(terms[0]) else None
    return _result(fit, first, dropped, len(frame), cluster)


def estimate_many(data: pd.DataFrame, outcomes: Sequence[str], treatment: str | Sequence[str],
                  fixed_effects: Sequence[str] = ("locality", "year"),
                  controls: Sequence[str] = (), nested: Sequence[Sequence[str]] = (),
                  cluster: str | None = None, weights: str | None = None, *,
                  ssc: dict | None = None) -> dict[tuple[str, int], DidResult]:
    """Several outcomes and nested control blocks in one pyfixest multiple estimation.

    Formula ``y1 + y2 ~ treatment + controls + csw0(block1, block2) | fe`` (``csw0`` only when
    ``nested`` is given): model k (0 = no nested block, 1 = first block, …) for each outcome.
    Returns ``{(outcome, k): DidResult}``. Every model drops its own missing rows (pyfixest does
    it per model; we count them the same way as :func:`estimate`); rows missing a column that
    every model uses (terms, controls, FE, cluster, weights) are dropped up front, which is
    required anyway because pyfixest rejects NaN in the cluster variable. Results equal
    separate :func:`estimate` calls (tested); the shared work is the formula parsing and the
    demeaning of common columns.
    """
    outcomes = list(outcomes)
    if len(nested) == 1:  # pyfixest's csw0() needs ≥ 2 arguments: run the two models apart
        kw1 = dict(cluster=cluster, weights=weights, ssc=ssc)
        out = estimate_many(data, outcomes, treatment, fixed_effects, controls, (), **kw1)
        full = estimate_many(data, outcomes, treatment, fixed_effects,
                             list(controls) + list(nested[0]), (), **kw1)
        out.update({(y, 1): r for (y, _), r in full.items()})
        return {k: out[k] for k in sorted(out, key=lambda t: (outcomes.index(t[0]), t[1]))}
    terms = _as_list(treatment)
    fe = _as_list(fixed_effects)
    common = (term_columns(terms) + term_columns(controls) + fe
              + ([cluster] if cluster else []) + ([weights] if weights else []))
    common = list(dict.fromkeys(common))
    block_cols = [term_columns(b) for b in nested]
    allcols = list(dict.fromkeys(outcomes + common + [c for b in block_cols for c in b]))
    # rows missing a common column go for every model: count them per (outcome, model) the same way
    base_frame, _ = drop_missing(data, common)
    _check_clusters(base_frame, cluster, ", ".join(outcomes))
    base_frame = base_frame[allcols].reset_index(drop=True)
    rhs_controls = list(controls)
    if nested:
        rhs_controls.append("csw0(" + ", ".join(" + ".join(b) for b in nested) + ")")
    fml = formula(outcomes, terms, fe, rhs_controls)
    fits = pfa.models(pfa.feols(fml, base_frame, vcov=_vcov(cluster), weights=weights, ssc=ssc))
    nmod = len(nested) + 1
    out: dict[tuple[str, int], DidResult] = {}
    seen: dict[str, int] = {}
    first = terms[0] if terms and _IDENT.fullmatch(terms[0]) else None
    for fit in fits:
        y = pfa.fit_stats(fit, clustered=bool(cluster)).depvar
        k = seen.get(y, 0)
        seen[y] = k + 1
        # same reason order as estimate(): outcome, terms, controls, FE, cluster, weights
        cols = ([y] + term_columns(terms) + term_columns(controls)
                + [c for b in block_cols[:k] for c in b] + fe
                + ([cluster] if cluster else []) + ([weights] if weights else []))
        cols = list(dict.fromkeys(cols))
        _, dropped = drop_missing(data, cols)
        n_in = len(data) - sum(dropped.values())
        out[(y, k)] = _result(fit, first, dropped, n_in, cluster)
    if sorted(seen.items()) != sorted((y, nmod) for y in outcomes):
        raise RuntimeError(f"estimate_many: unexpected pyfixest model layout {seen} for {fml}")
    return out
