"""The Monte Carlo's summary, its table (five formats) and the figure of sampling distributions.

Per estimator × outcome × term over the draws (docs/validation.md §3): mean bias against the
estimand (with its Monte Carlo SE), bias ÷ mean SE, RMSE, the SE ratio (mean SE ÷ SD of the
estimates), 95% CI coverage of the estimand with its Monte Carlo SE √(c(1−c)/R), the rejection
rate at 5% (size where the planted effect is zero, power elsewhere), and the estimand's mean
distance from the simple mean effect over the treated (``planted``).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from pra.report.tables import Table, fmt_int, fmt_num

KEYS = ["design", "table", "estimator", "model", "outcome", "term", "effect"]
SUMMARY_COLUMNS = KEYS + [
    "draws", "draws_without_se", "mean_estimate", "mean_estimand", "mean_planted", "estimand_minus_planted",
    "mean_bias", "bias_mcse", "mean_se", "sd_estimate", "bias_over_se", "se_ratio", "rmse",
    "coverage", "coverage_mcse", "rejection_5pct", "rejection_mcse", "rejection_kind",
]
ALPHA = 0.05


def _one(g: pd.DataFrame) -> dict:
    n = len(g)
    est, tgt, se = (g[c].to_numpy(float) for c in ("estimate", "estimand", "se"))
    bias = est - tgt
    cover = ((g["ci_low"].to_numpy(float) <= tgt) & (tgt <= g["ci_high"].to_numpy(float))).mean()
    reject = (g["pvalue"].to_numpy(float) < ALPHA).mean()
    sd = float(est.std(ddof=1)) if n > 1 else np.nan
    ok = np.isfinite(se)  # a matching estimate whose every bootstrap replication failed has none
    mean_se = float(se[ok].mean()) if ok.any() else np.nan
    return {
        "draws": n, "draws_without_se": int((~ok).sum()), "mean_estimate": float(est.mean()), "mean_estimand": float(tgt.mean()),
        "mean_planted": float(g["planted"].mean()),
        "estimand_minus_planted": float((tgt - g["planted"].to_numpy(float)).mean()),
        "mean_bias": float(bias.mean()),
        "bias_mcse": float(bias.std(ddof=1) / np.sqrt(n)) if n > 1 else np.nan,
        "mean_se": mean_se, "sd_estimate": sd,
        "bias_over_se": float(bias.mean() / mean_se) if mean_se > 0 else np.nan,
        "se_ratio": mean_se / sd if sd and sd > 0 else np.nan,
        "rmse": float(np.sqrt((bias ** 2).mean())),
        "coverage": float(cover), "coverage_mcse": float(np.sqrt(cover * (1 - cover) / n)),
        "rejection_5pct": float(reject), "rejection_mcse": float(np.sqrt(reject * (1 - reject) / n)),
        "rejection_kind": "size" if g["effect"].iloc[0] == "zero" else "power",
    }


def summarise(draws: pd.DataFrame) -> pd.DataFrame:
    """One row per estimator × outcome × term (in the draws' order of first appearance)."""
    rows = []
    for key, g in draws.groupby(KEYS, sort=False, dropna=False):
        rows.append({**dict(zip(KEYS, key)), **_one(g)})
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def _label(r) -> str:
    term = "" if r.term in ("D", "att_dd", "dd") else f" {r.term.split('::', 1)[-1].split(':')[0]}"
    names = {"table16a": "Table 16 a (matching DD)", "table16b": "Table 16 b (DD, no matching)"}
    if r.estimator in names:
        return names[r.estimator]
    if r.estimator.startswith("table6_"):
        return f"Table 6 model {r.model}"
    if r.estimator.startswith("table8_"):
        return f"Table 8 start {r.estimator.split('_')[1]} model {r.model}"
    if r.estimator.startswith("radius_"):
        return f"radius {r.estimator.split('_')[1].replace('km', ' km')} (model 3)"
    return f"Table 7{term}"


def summary_table(summary: pd.DataFrame, *, draws: int, scale: float, seed: int, reps: int,
                  overrides: dict) -> Table:
    """The summary as a publication table (``pra.report.tables``: LaTeX, HTML, Markdown, CSV,
    Excel)."""
    t = Table(name="validation", title="Monte Carlo validation of the DD and matching-DD estimators",
              columns=["Outcome", "Effect", "Estimand", "Mean effect", "Mean bias", "Bias/SE", "RMSE",
                       "SE ratio", "Coverage 95%", "Rejection 5%"], stub="Estimator")
    for r in summary.itertuples(index=False):
        t.add(_label(r), [
            r.outcome, r.effect, fmt_num(r.mean_estimand, 4), fmt_num(r.mean_planted, 4),
            f"{fmt_num(r.mean_bias, 4)} ({fmt_num(r.bias_mcse, 4)})", fmt_num(r.bias_over_se, 2),
            fmt_num(r.rmse, 4), fmt_num(r.se_ratio, 2),
            f"{fmt_num(r.coverage, 3)} ({fmt_num(r.coverage_mcse, 3)})",
            f"{fmt_num(r.rejection_5pct, 3)} {r.rejection_kind}",
        ])
    over = ", ".join(f"{k}={v}" for k, v in sorted(overrides.items())) or "none"
    t.notes = [
        f"{fmt_int(draws)} draws of households and outcomes at scale {scale:g} (seed {seed}); the "
        "geography (districts, centres, register, sample frame, conglomerates) is the seed's and "
        f"fixed. Generating-model overrides: {over}. Matching SEs: cluster bootstrap, {reps} replications.",
        "Estimand: what the estimator targets with heterogeneous effects (regression DD: the FWL "
        "weighted mean of the households' effects; matching DD: the mean effect over the treated on "
        "common support). Mean effect: the simple mean effect over the treated of the estimate's "
        "sample. Bias = estimate - estimand, Monte Carlo SE in parentheses; Bias/SE = mean bias / "
        "mean SE (over draws with an SE); SE ratio = mean SE / SD of the estimates; coverage of the estimand by the 95% "
        "interval (Monte Carlo SE); rejection at 5%: size where the planted effect is zero, power "
        "elsewhere.",
    ]
    return t


def plot_distributions(draws: pd.DataFrame, paths: Sequence, *, title: str) -> None:
    """Histograms of the estimates of every single-coefficient estimator (Tables 6, 8, 16 and the
    radii; Table 7's semesters are in the table) with the mean estimand (solid) and the mean
    simple effect over the treated (dashed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pra.did.figures import _RC, save_figure

    d = draws[draws["table"] != "Table 7"]
    panels = list(dict.fromkeys(zip(d["estimator"], d["model"])))
    outcomes = list(dict.fromkeys(d["outcome"]))
    with plt.rc_context(_RC):
        fig, axes = plt.subplots(len(panels), len(outcomes), squeeze=False,
                                 figsize=(2.6 * len(outcomes), 1.7 * len(panels)))
        for i, (est, model) in enumerate(panels):
            for j, o in enumerate(outcomes):
                ax = axes[i, j]
                if i == 0:
                    ax.set_title(o)
                g = d[(d["estimator"] == est) & (d["model"] == model) & (d["outcome"] == o)]
                if g.empty:
                    ax.axis("off")
                    continue
                ax.hist(g["estimate"], bins=min(30, max(5, len(g) // 4)), color="0.75")
                ax.axvline(g["estimand"].mean(), color="C3", lw=1.2, label="estimand")
                ax.axvline(g["planted"].mean(), color="C0", lw=1.0, ls="--", label="mean effect")
                ax.set_yticks([])
                if j == 0:
                    ax.set_ylabel(_label(g.iloc[0]), rotation=0, ha="right", va="center", fontsize=7)
        axes[0, 0].legend(fontsize=6, frameon=False)
        fig.suptitle(title, y=1.0)
        fig.tight_layout()
        save_figure(fig, paths)
        plt.close(fig)


__all__ = ["SUMMARY_COLUMNS", "plot_distributions", "summarise", "summary_table"]
