"""Inference beyond the study's locality-clustered SEs (issue 17): cluster alternatives, Conley
spatial-HAC, wild cluster bootstrap, Romano–Wolf / Westfall–Young, spatial randomisation
inference, the effect curve over distance and HonestDiD sensitivity. Every method starts from one
demeaned design (:mod:`pra.inference.design`).

This module stays import-light (no pandas, no pyfixest): ``rules/inference.smk`` reads the names
below at parse time, and every Snakemake job re-parses the workflow.
"""
from __future__ import annotations

from typing import Mapping

# the chapter's tables (file stems of results/inference/tables/{name}.{fmt}) and figures
INFERENCE_TABLES = ["inference_se6", "inference_se16", "inference_multiple", "inference_ri",
                    "inference_curve", "inference_honest"]
INFERENCE_FIGURES = ["inference_ri_placebo", "inference_effect_curve", "inference_honest_sensitivity"]

__all__ = ["INFERENCE_TABLES", "INFERENCE_FIGURES", "curve_vcov_words", "ri_chunks", "ri_model", "inference_words",
           "inference_captions"]


def ri_chunks(config: Mapping) -> dict[str, tuple[int, int]]:
    """The chunks of placebo maps, one job each: ``{chunk id: (first map, count)}`` in map order.
    The id is 10 hex digits of the SHA-1 of ``"first-count"`` (the workflow's ``{chunk}``
    wildcard), so a chunk keeps its id, and its output, while the draws and chunk size stay."""
    import hashlib

    ri = config["inference"]["ri"]
    P, size = int(ri["draws"]), int(ri["chunk_size"])
    out = {}
    for a in range(0, P, size):
        key = f"{a}-{min(size, P - a)}"
        out[hashlib.sha1(key.encode("ascii")).hexdigest()[:10]] = (a, min(size, P - a))
    return out


def ri_model(config: Mapping) -> int:
    """The randomisation inference's Table 6 model: ``inference.ri.model``, or the first of
    ``did.models`` when it is null (as :func:`pra.config.validate` resolves it)."""
    m = config["inference"]["ri"].get("model")
    return int(config["did"]["models"][0] if m is None else m)


def curve_vcov_words(cluster: str | None, conley_km: float | None = None, kernel: str | None = None) -> str:
    """How the effect curve's covariance treats the localities (captions and the table's note)."""
    if conley_km is not None:
        return f"spatial HAC between localities, {kernel} kernel, cutoff {_num(conley_km)} km"
    if cluster in (None, "locality"):
        return "localities independent"
    return f"clustered by {cluster}"


def _num(x) -> str:
    return f"{float(x):g}"


def inference_words(config: Mapping) -> dict[str, str]:
    """Plain words of this run's inference settings (captions and notes)."""
    inf = config["inference"]
    b, se, mc, ri = inf["bootstrap"], inf["se"], inf["multiple"], inf["ri"]
    return {
        "level": f"{round(100 * float(inf['level']))}%",
        "cutoffs": ", ".join(_num(c) for c in se["conley_cutoffs_km"]) + " km",
        "kernel": se["conley_kernel"],
        "clusters": ", ".join(se["clusters"]) or "none",
        "two_way": "; ".join(se["two_way"]) or "none",
        "boot": f"{int(b['reps'])} draws, {' and '.join(b['weights'])} weights, clusters {', '.join(b['clusters'])}",
        "multiple": f"{int(mc['reps'])} joint draws, {mc['weights']} weights, one per {mc['cluster']}",
        "ri": f"{int(ri['draws'])} placebo maps in {len(ri_chunks(config))} chunk(s)",
        "ri_outcome": f"{ri['outcome']}, model {ri_model(config)}",
        "curve": (f"{inf['curve']['outcome']}"
                  + ("" if inf["curve"].get("model") is None
                     else f" net of model-{int(inf['curve']['model'])} controls")
                  + f", comparison localities at >= {_num(inf['curve']['control_km'])} km"),
        "curve_vcov": curve_vcov_words(inf["curve"].get("cluster"), inf["curve"].get("conley_km"),
                                       inf["curve"].get("conley_kernel", "uniform")),
        "mbar": ", ".join(_num(m) for m in inf["honest"]["mbar"]),
        "m": ", ".join(_num(m) for m in inf["honest"]["m"]),
        "honest_outcome": inf["honest"]["outcome"],
        "seed": str(int(config["seed"])),
        "radius": _num(config["spatial"]["treatment_radius_km"]) + " km",
        "cluster": str(config["did"]["cluster"]),
    }


def inference_captions(config: Mapping) -> dict[str, str]:
    """:func:`inference_words` escaped for reStructuredText: the captions of
    ``report/inference/*.rst`` read them as ``snakemake.params.captions.<key>``. Kept apart from
    :func:`pra.report.design.caption_texts`, so that a change to ``inference:`` does not rerun
    the publication tables."""
    def rst(text: str) -> str:
        for ch in ("\\", "*", "`", "|", "_"):
            text = text.replace(ch, "\\" + ch)
        return text

    return {k: rst(v) for k, v in inference_words(config).items()}
