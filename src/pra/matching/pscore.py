"""Propensity score: probit of treatment on pre-determined covariates (Table 14).

statsmodels 0.15 does not stop on separation: quasi-complete separation only raises a
ConvergenceWarning and returns a huge coefficient with a huge SE, and exact collinearity fails
with a bare ``LinAlgError`` (``docs/estimators.md`` §4, pitfall 2). Stata instead
drops the offending variable and the perfectly predicted rows. The pipeline must not silently
estimate a different model, so every one of those cases stops here with a message naming the
sample (``label``, e.g. "year 2009") and the covariate(s).

:func:`probit_newton` is a small weighted Newton-Raphson probit used inside the bootstrap
(hundreds of fits); it is checked against statsmodels in the tests.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special, stats


class PscoreError(ValueError):
    """The probit cannot be estimated as specified (separation, collinearity, no convergence)."""


@dataclass
class PscoreResult:
    """One period's probit: scores aligned with the data index, coefficient table, counts."""

    label: str
    scores: pd.Series  # P(treated | x), index = data index
    table: pd.DataFrame  # term, coef, se, z, pvalue (Table 14)
    n: int
    n_treated: int
    n_control: int
    llf: float
    pseudo_r2: float
    params: np.ndarray = field(repr=False)  # [const, covariates...] for warm starts


def _where(label: str) -> str:
    return f"{label}: " if label else ""


def design_matrix(data: pd.DataFrame, treated: str, covariates: list[str], label: str = ""):
    """Return (X with a leading constant, y) after validating columns and values."""
    missing_cols = [c for c in [treated, *covariates] if c not in data.columns]
    if missing_cols:
        raise KeyError(f"{_where(label)}columns not in the data: {missing_cols}")
    y = pd.to_numeric(data[treated], errors="coerce")
    bad = y.isna() | ~y.isin([0, 1])
    if bad.any():
        raise PscoreError(
            f"{_where(label)}column {treated!r} must be 0/1 without missing values; "
            f"{int(bad.sum())} rows are not (e.g. index {list(data.index[bad][:5])})"
        )
    X = data[covariates].apply(pd.to_numeric, errors="coerce").astype(float)
    na = X.isna()
    if na.to_numpy().any():
        counts = na.sum()
        counts = counts[counts > 0]
        rows = list(data.index[na.any(axis=1)][:5])
        raise PscoreError(
            f"{_where(label)}missing covariate values (drop and count them before matching): "
            f"{counts.to_dict()} (e.g. index {rows})"
        )
    y = y.to_numpy(dtype=float)
    n1 = int(y.sum())
    if n1 == 0 or n1 == len(y):
        raise PscoreError(f"{_where(label)}{treated!r} has a single value in all {len(y)} rows")
    Xm = np.column_stack([np.ones(len(y)), X.to_numpy()])
    return Xm, y


def check_rank(X: np.ndarray, names: list[str], label: str = "") -> None:
    """Raise PscoreError naming the collinear columns if X (with constant) is rank deficient."""
    if np.linalg.matrix_rank(X) == X.shape[1]:
        return
    # Add columns one at a time; a column that does not raise the rank is a linear
    # combination of the ones kept before it: name it and the columns it depends on.
    kept: list[int] = []
    problems = []
    for j in range(X.shape[1]):
        cand = kept + [j]
        if np.linalg.matrix_rank(X[:, cand]) == len(cand):
            kept.append(j)
            continue
        coef, *_ = np.linalg.lstsq(X[:, kept], X[:, j], rcond=None)
        scale = np.abs(X[:, kept]).max(axis=0) * np.abs(coef)
        deps = [names[k] for k, s in zip(kept, scale) if s > 1e-8 * max(1.0, np.abs(X[:, j]).max())]
        if deps == ["const"]:
            problems.append(f"{names[j]!r} is constant")
        else:
            problems.append(f"{names[j]!r} is a linear combination of {deps}")
    raise PscoreError(
        f"{_where(label)}covariate matrix is rank deficient (rank {len(kept)} of {X.shape[1]}): "
        + "; ".join(problems)
        + ". Drop the collinear covariate(s) from the propensity-score specification."
    )


def check_perfect_prediction(X: np.ndarray, y: np.ndarray, names: list[str], label: str = "") -> None:
    """Stata-style check: a single covariate that predicts treatment perfectly.

    As Stata's probit does, for every covariate test whether ``x != 0`` (and, for a two-valued
    covariate, each of its values) picks out rows that are all treated or all controls
    (quasi-complete separation), and whether a threshold on ``x`` separates the groups
    completely. Stata would drop the variable and the rows; we stop instead.
    """
    problems = []
    for j in range(1, X.shape[1]):
        x = X[:, j]
        vals = np.unique(x)
        groups = [("!= 0", x != 0)]
        if len(vals) == 2:
            groups = [(f"== {v:g}", x == v) for v in vals]
        for desc, g in groups:
            n_g = int(g.sum())
            if 0 < n_g < len(x):
                share = y[g].mean()
                if share in (0.0, 1.0):
                    who = "treated" if share == 1.0 else "controls"
                    problems.append(f"{names[j]} {desc} predicts {who} perfectly ({n_g} rows)")
        x1, x0 = x[y == 1], x[y == 0]
        if x1.min() > x0.max() or x1.max() < x0.min():
            problems.append(f"{names[j]} separates treated and controls completely (threshold)")
    if problems:
        raise PscoreError(
            f"{_where(label)}perfect prediction / separation in the propensity score: "
            + "; ".join(problems)
            + ". Stata would drop the variable and those rows; drop or recode it explicitly."
        )


def fit_probit(
    data: pd.DataFrame,
    treated: str,
    covariates: list[str],
    label: str = "",
    maxiter: int = 100,
    max_std_se: float = 100.0,
) -> PscoreResult:
    """Probit of ``treated`` on ``covariates`` (plus a constant) with statsmodels.

    Stops with :class:`PscoreError` on missing values, rank deficiency (naming the collinear
    columns), a covariate that predicts treatment perfectly, non-convergence, or a huge
    standardised SE (``se * sd(x) > max_std_se``: the symptom of quasi-separation by a
    combination of covariates).
    """
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

    covariates = list(covariates)
    X, y = design_matrix(data, treated, covariates, label)
    names = ["const", *covariates]
    check_rank(X, names, label)
    check_perfect_prediction(X, y, names, label)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        warnings.simplefilter("error", PerfectSeparationWarning)
        try:
            res = sm.Probit(y, X).fit(disp=0, maxiter=maxiter, method="newton")
        except (ConvergenceWarning, PerfectSeparationWarning, np.linalg.LinAlgError) as e:
            raise PscoreError(f"{_where(label)}probit failed: {type(e).__name__}: {e}") from e
    if not res.mle_retvals.get("converged", False):
        raise PscoreError(f"{_where(label)}probit did not converge in {maxiter} iterations")
    se = np.asarray(res.bse, dtype=float)
    sd = np.r_[1.0, X[:, 1:].std(axis=0)]
    std_se = se * sd
    if not np.all(np.isfinite(se)) or np.any(std_se > max_std_se):
        bad = [names[k] for k in np.where(~np.isfinite(std_se) | (std_se > max_std_se))[0]]
        raise PscoreError(
            f"{_where(label)}probit has huge or undefined standard errors for {bad} "
            "(quasi-separation by a combination of covariates?)"
        )
    params = np.asarray(res.params, dtype=float)
    table = pd.DataFrame(
        {
            "term": names,
            "coef": params,
            "se": se,
            "z": params / se,
            "pvalue": 2 * stats.norm.sf(np.abs(params / se)),
        }
    )
    scores = pd.Series(special.ndtr(X @ params), index=data.index, name="pscore")
    return PscoreResult(
        label=label,
        scores=scores,
        table=table,
        n=len(y),
        n_treated=int(y.sum()),
        n_control=int(len(y) - y.sum()),
        llf=float(res.llf),
        pseudo_r2=float(res.prsquared),
        params=params,
    )


def probit_newton(
    X: np.ndarray,
    y: np.ndarray,
    w: np.ndarray | None = None,
    start: np.ndarray | None = None,
    tol: float = 1e-9,
    maxiter: int = 50,
) -> np.ndarray | None:
    """Weighted (frequency-weight) probit MLE by Newton-Raphson; None if it fails.

    With integer weights the likelihood equals that of the data with rows duplicated, so a
    bootstrap replicate can be fitted on its multiplicities. Failure (singular Hessian, no
    convergence, diverging coefficients) returns None: the caller counts the replicate as failed.
    """
    n, k = X.shape
    w = np.ones(n) if w is None else w
    b = np.zeros(k) if start is None else np.array(start, dtype=float)
    q = 2.0 * y - 1.0
    for _ in range(maxiter):
        xb = X @ b
        z = q * xb
        # inverse Mills ratio phi(z)/Phi(z), stable in the tails via log_ndtr
        lam = q * np.exp(-0.5 * z * z - 0.5 * np.log(2 * np.pi) - special.log_ndtr(z))
        g = X.T @ (w * lam)
        h = w * lam * (lam + xb)  # minus the Hessian weights
        H = (X * h[:, None]).T @ X
        try:
            step = np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            return None
        if not np.all(np.isfinite(step)):
            return None
        b = b + step
        if np.max(np.abs(step)) < tol:
            return b
    return None
