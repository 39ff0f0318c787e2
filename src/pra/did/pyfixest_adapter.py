"""The one module that touches pyfixest's internals (pinned in pyproject.toml: ``>=0.60,<0.61``).

Everything the project needs from pyfixest beyond its public API is here, so an upgrade is
checked in one place (``tests/test_did_estimate.py::test_pyfixest_internals`` names whatever
changed):

* **Fit attributes without a public accessor** (:data:`FIT_ATTRIBUTES`): observations used,
  clusters, R², within R², collinear variables dropped, the formula and the dependent variable
  of each model of a multiple estimation. :func:`fit_stats` reads them.
* **The fixed-effect encoding order** (``docs/estimators.md`` §1.2): pyfixest 0.60 builds the FE
  columns from ``set(fixed_effects.split("+"))`` in
  ``pyfixest.estimation.formula.utils._encode_fixed_effects``, so the order in which the
  alternating projections sweep the FE follows ``PYTHONHASHSEED``; estimates then differ in the
  last digits (SE 0.06187425341214476 vs 0.06187425357531258 on pyfixest's ``get_data``).
  :func:`patch_fixef_order` replaces that one function by an order-preserving copy, only when the
  installed source still contains the ``set(...)`` call.

pyfixest itself is imported on first use (:func:`pyfixest`): it costs ~2 s of imports, which the
jobs that only read estimates (store, figures, tables, spec curves) should not pay.
"""
from __future__ import annotations

import importlib
import inspect
import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

# attribute -> what it holds (used by fit_stats; checked by check_internals)
FIT_ATTRIBUTES = {
    "_N": "observations used in the fit (after singleton drops)",
    "_G": "number of clusters (a list, one entry per clustering variable)",
    "_r2": "R² including the fixed effects",
    "_r2_within": "within R²",
    "_collin_vars": "variables dropped as collinear",
    "_fml": "the model's formula",
    "_depvar": "the dependent variable",
}
# the function patched for the FE order, and the modules that hold a reference to it
ENCODER_MODULE = "pyfixest.estimation.formula.utils"
ENCODER_USERS = ("pyfixest.estimation.formula.model_matrix",)
ENCODER_NAME = "_encode_fixed_effects"
ENCODER_SET_CALL = "set(re.split"
# tidy() column -> our column
TIDY_COLUMNS = {"Estimate": "coef", "Std. Error": "se", "t value": "tstat", "Pr(>|t|)": "pvalue",
                "2.5%": "ci_low", "97.5%": "ci_high"}
# pandas 3 floods the output with DeprecationWarnings from inside pyfixest 0.60 (docs/estimators.md §1.1)
QUIET = [("ignore", DeprecationWarning), ("ignore", FutureWarning)]

FIXEF_ORDER_PATCHED: bool | None = None  # set by pyfixest() on first use


class PyfixestInternalsError(RuntimeError):
    """pyfixest no longer has an internal the project relies on (after an upgrade)."""


def encode_fixed_effects_ordered(fixed_effects: str, data: pd.DataFrame) -> str:
    """pyfixest 0.60's ``_encode_fixed_effects`` with the FE in formula order instead of set order."""
    fes = list(dict.fromkeys(re.split(r"\s*\+\s*", fixed_effects)))
    for fixed_effect in fes:
        if "^" not in fixed_effect:
            continue
        vars_ = fixed_effect.split("^")
        data[fixed_effect.replace("^", "_")] = (
            data[vars_[0]].astype(pd.StringDtype())
            .str.cat(data[vars_[1:]].astype(pd.StringDtype()), sep="^", na_rep=None)
        )
    encoded = (f"__fixed_effect__({fe.replace('^', '_')})" for fe in fes)
    return f"{' + '.join(encoded)} - 1"


def _encoder_modules():
    """(module defining the encoder, modules importing it); ImportError if the layout changed."""
    return (importlib.import_module(ENCODER_MODULE),
            [importlib.import_module(m) for m in ENCODER_USERS])


def patch_fixef_order() -> bool:
    """Install the order-preserving encoder if pyfixest still uses a set; True if patched."""
    try:
        ut, users = _encoder_modules()
    except ImportError:  # another pyfixest layout: nothing to patch (check_internals says so)
        return False
    orig = getattr(ut, ENCODER_NAME, None)
    if orig is None or orig is encode_fixed_effects_ordered:
        return orig is encode_fixed_effects_ordered
    try:
        src = inspect.getsource(orig)
    except (OSError, TypeError):
        return False
    if ENCODER_SET_CALL not in src:
        return False
    setattr(ut, ENCODER_NAME, encode_fixed_effects_ordered)
    for mod in users:
        if getattr(mod, ENCODER_NAME, None) is orig:
            setattr(mod, ENCODER_NAME, encode_fixed_effects_ordered)
    return True


def pyfixest():
    """pyfixest, imported (and patched) on first use."""
    global FIXEF_ORDER_PATCHED
    import pyfixest as pf

    if FIXEF_ORDER_PATCHED is None:
        FIXEF_ORDER_PATCHED = patch_fixef_order()
    return pf


def feols(fml: str, data: pd.DataFrame, *, vcov, weights: str | None = None,
          ssc: dict | None = None):
    """``pyfixest.feols`` quietly (pyfixest's deprecation noise and singleton-FE notices off:
    callers count singleton drops themselves)."""
    pf = pyfixest()
    kw = {"vcov": vcov}
    if weights:
        kw["weights"] = weights
    if ssc:
        kw["ssc"] = pf.ssc(**ssc)
    with warnings.catch_warnings():
        for action, category in QUIET:
            warnings.simplefilter(action, category)
        warnings.filterwarnings("ignore", message=r".*singleton fixed effect", category=UserWarning)
        return pf.feols(fml, data=data, **kw)


def models(fit) -> list:
    """The fitted models of a feols call: one for a single model, all of a multiple estimation."""
    multi = getattr(fit, "all_fitted_models", None)
    return list(multi.values()) if multi is not None else [fit]


def tidy(fit) -> pd.DataFrame:
    """Every coefficient: term, coef, se, tstat, pvalue, ci_low, ci_high (floats)."""
    t = fit.tidy().reset_index()
    out = pd.DataFrame({"term": t["Coefficient"].astype(str)})
    for src, dst in TIDY_COLUMNS.items():
        out[dst] = t[src].astype(float)
    return out


@dataclass(frozen=True)
class FitStats:
    nobs: int
    nclusters: int | None
    r2: float
    r2_within: float
    collinear: list
    formula: str
    depvar: str


def _attr(fit, name):
    if not hasattr(fit, name):
        raise PyfixestInternalsError(
            f"pyfixest {_version()}: a fit has no attribute {name!r} ({FIT_ATTRIBUTES[name]}); "
            "pra.did.pyfixest_adapter needs updating for this pyfixest version")
    return getattr(fit, name)


def fit_stats(fit, clustered: bool) -> FitStats:
    """The fit's numbers that pyfixest keeps in private attributes (:data:`FIT_ATTRIBUTES`)."""
    g = _attr(fit, "_G") if clustered else None
    if g is not None:
        g = int(g[0] if isinstance(g, (list, tuple, np.ndarray)) else g)
    r2w = _attr(fit, "_r2_within")
    return FitStats(
        nobs=int(_attr(fit, "_N")),
        nclusters=g,
        r2=float(_attr(fit, "_r2")),
        r2_within=float(r2w) if r2w is not None else np.nan,
        collinear=list(_attr(fit, "_collin_vars") or []),
        formula=str(_attr(fit, "_fml")),
        depvar=str(_attr(fit, "_depvar")),
    )


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("pyfixest")
    except Exception:  # noqa: BLE001 - only for a message
        return "(unknown version)"


def check_internals() -> list[str]:
    """Every internal this module relies on that the installed pyfixest lacks (empty: all there).

    Fits a two-FE clustered model on pyfixest's own data, then checks each fit attribute and the
    FE encoder patch."""
    problems = []
    try:
        ut, users = _encoder_modules()
    except ImportError as err:
        problems.append(f"module {err.name or err}: the FE encoder patch cannot be installed")
        ut, users = None, []
    if ut is not None:
        fn = getattr(ut, ENCODER_NAME, None)
        if fn is None:
            problems.append(f"{ENCODER_MODULE}.{ENCODER_NAME} is missing (FE encoding order patch)")
        elif fn is not encode_fixed_effects_ordered:
            src = inspect.getsource(fn)
            if ENCODER_SET_CALL not in src:
                problems.append(f"{ENCODER_MODULE}.{ENCODER_NAME} no longer calls "
                                f"{ENCODER_SET_CALL!r}: check whether the FE order patch is still needed")
        for mod in users:
            if not hasattr(mod, ENCODER_NAME):
                problems.append(f"{mod.__name__} no longer imports {ENCODER_NAME}")
    pf = pyfixest()
    fit = feols("Y ~ X1 | f1 + f2", pf.get_data().dropna(), vcov={"CRV1": "f1"})
    for name in FIT_ATTRIBUTES:
        if not hasattr(fit, name):
            problems.append(f"fit attribute {name!r} ({FIT_ATTRIBUTES[name]}) is missing")
    multi = feols("Y + Y2 ~ X1 | f1 + f2", pf.get_data().dropna(), vcov={"CRV1": "f1"})
    if not hasattr(multi, "all_fitted_models"):
        problems.append("a multiple estimation has no 'all_fitted_models'")
    missing_tidy = [c for c in ["Coefficient", *TIDY_COLUMNS] if c not in fit.tidy().reset_index().columns]
    if missing_tidy:
        problems.append(f"tidy() lacks columns {missing_tidy}")
    return problems


__all__ = ["FIT_ATTRIBUTES", "FitStats", "PyfixestInternalsError", "check_internals",
           "encode_fixed_effects_ordered", "feols", "fit_stats", "models", "patch_fixef_order",
           "pyfixest", "tidy"]
