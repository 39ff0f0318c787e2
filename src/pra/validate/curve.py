"""Monte Carlo coverage of the effect curve's uniform band (issue 17 §4): the ``curve`` estimator.

Per draw, the effect curve of ``inference.curve`` (:func:`pra.inference.outputs.effect_curve_data`,
:func:`pra.inference.outputs.curve_from_data`: binsreg's bin count, the configured covariance and
sup-t band) is computed on the draw's sample space for each adjustment in
``validation.curve.models`` (``null``: the raw outcome; 1–3: net of that Table 6 model's
controls) and each covariance in ``validation.curve.vcov`` (:func:`vcov_settings`; ``config``:
as ``inference.curve`` says). Each bin is one harness row (:data:`pra.validate.draw.DRAW_COLUMNS`): term ``bin j``,
estimate τ̂_j, its SE, ``ci_low``/``ci_high`` = **the uniform band**, ``nobs`` = the bin's
localities, and as estimand the bin's truth: the same bins applied to the households' planted
effects (:func:`pra.inference.curve.curve_of`), 0 for bins wholly beyond the treatment radius.

The number of bins is chosen per draw, so ``bin j`` is not the same distance range in every
draw: the band's coverage is read jointly, per draw (:func:`band_coverage`: every bin's band
holds its truth), the property a uniform band promises.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

ESTIMATOR = "curve"
DEFAULTS = {"models": [None, 3], "vcov": ["config"]}


def estimator_name(model: int | None, vcov: str = "config") -> str:
    name = "curve_raw" if model is None else f"curve_m{int(model)}"
    return name if vcov == "config" else f"{name}|{vcov}"


def vcov_settings(vcov: str) -> dict:
    """``inference.curve`` keys of a covariance: ``config`` (as configured), ``cluster:<column>``,
    ``independent`` or ``conley:<km>:<kernel>``."""
    kind, _, rest = vcov.partition(":")
    if kind == "config":
        return {}
    if kind == "independent":
        return {"cluster": None, "conley_km": None}
    if kind == "cluster" and rest:
        return {"cluster": rest, "conley_km": None}
    if kind == "conley" and rest:
        cut, _, kernel = rest.partition(":")
        return {"conley_km": float(cut), "conley_kernel": kernel or "uniform"}
    raise ValueError(f"config key validation.curve.vcov: {vcov!r} is not config, independent, "
                     "cluster:<column> or conley:<km>:<kernel>")


def mc_settings(config: Mapping) -> dict:
    v = dict(DEFAULTS)
    v.update(dict(config.get("validation", {}).get("curve") or {}))
    return v


def run_curve(space: pd.DataFrame, effects: pd.DataFrame, config: Mapping) -> pd.DataFrame:
    """Rows (the harness's fields but ``draw`` and ``effect``) of every bin of each curve
    (``validation.curve.models`` × ``validation.curve.vcov``)."""
    from pra.inference.curve import curve_of
    from pra.inference.outputs import curve_from_data, effect_curve_data
    from pra.validate.estimands import tau_column

    cc = config["inference"]["curve"]
    y = cc["outcome"]
    tau = tau_column(y)
    data = space.merge(effects[["hh_id", tau]], on="hh_id", how="left", validate="1:1")
    data[tau] = data[tau].where(data[y].notna())  # the truth on the rows the outcome is seen
    rows = []
    mc = mc_settings(config)
    for model in mc["models"]:
        cfg = {**config, "inference": {**config["inference"], "curve": {**cc, "model": model}}}
        frame, column, _ = effect_curve_data(data, cfg, keep=[tau])
        nbins, truth = None, None
        for vcov in mc["vcov"]:
            cv = {**cfg["inference"]["curve"], **vcov_settings(vcov)}
            if nbins is not None:  # the bins do not depend on the covariance: chosen once
                cv["nbins"] = nbins
            curve = curve_from_data(frame, column, {**cfg, "inference": {**cfg["inference"], "curve": cv}})
            if truth is None:
                nbins, truth = curve.nbins, curve_of(frame, tau, curve)
            rows += _bin_rows(curve, truth, estimator_name(model, vcov), model, y)
    return pd.DataFrame(rows)


def _bin_rows(curve, truth: np.ndarray, name: str, model: int | None, y: str) -> list[dict]:
    """One row per bin of ``curve``; the estimand: ``truth``, the same bins on the planted effects."""
    rows = []
    for j, r in enumerate(curve.bins.itertuples(index=False)):
        rows.append({"estimator": name, "design": ESTIMATOR, "table": "Effect curve",
                     "model": 0 if model is None else int(model), "outcome": y, "term": f"bin {j + 1}",
                     "estimate": r.tau, "se": r.se, "pvalue": np.nan,
                     "ci_low": r.band_low, "ci_high": r.band_high, "nobs": int(r.n_localities),
                     "estimand": float(truth[j]), "planted": float(truth[j])})
    return rows


def band_coverage(draws: pd.DataFrame) -> pd.DataFrame:
    """Per curve estimator: draws, the share of draws whose band holds every bin's truth (with its
    Monte Carlo SE), the mean number of bins, and the pointwise share of bins covered."""
    d = draws[draws["design"] == ESTIMATOR].copy()
    d["covered"] = (d["ci_low"] <= d["estimand"]) & (d["estimand"] <= d["ci_high"])
    per = d.groupby(["estimator", "draw"]).agg(all_bins=("covered", "all"), bins=("covered", "size"),
                                               share=("covered", "mean"))
    out = per.groupby("estimator").agg(draws=("all_bins", "size"), band_coverage=("all_bins", "mean"),
                                       mean_bins=("bins", "mean"), bins_covered=("share", "mean")).reset_index()
    out["band_coverage_mcse"] = np.sqrt(out["band_coverage"] * (1 - out["band_coverage"]) / out["draws"])
    return out[["estimator", "draws", "band_coverage", "band_coverage_mcse", "mean_bins", "bins_covered"]]


def curve_label(estimator: str) -> str:
    """``curve_m3`` → "net of model-3 controls", ``curve_raw`` → "raw outcome" (``|vcov`` kept)."""
    name, _, vcov = estimator.partition("|")
    label = "raw outcome" if name == "curve_raw" else f"net of model-{name.removeprefix('curve_m')} controls"
    return f"{label}, {vcov}" if vcov else label


def band_words(csv_path) -> str:
    """One sentence on a shipped band-coverage study (``docs/validation/curve_coverage.csv``, made
    by ``python -m pra.validate curve``) for the coverage table's note and caption."""
    cov = pd.read_csv(csv_path)
    parts = []
    for est, g in cov.groupby("estimator", sort=False):
        cells = ", ".join(f"{r.setting.replace('_', ' ')} {r.band_coverage:.3f} ({r.band_coverage_mcse:.3f})"
                          for r in g.itertuples(index=False))
        parts.append(f"{curve_label(est)}: {cells}")
    most = cov.groupby("setting", sort=False)["draws"].max()
    draws = ", ".join(f"{st.replace('_', ' ')}: {int(n)}" for st, n in most.items())
    return ("Effect curve over distance, share of draws whose uniform 95% band holds every bin's truth "
            f"(Monte Carlo SE; draws {draws}): " + "; ".join(parts) + ".")


__all__ = ["ESTIMATOR", "band_coverage", "band_words", "curve_label", "estimator_name", "mc_settings", "run_curve",
           "vcov_settings"]
