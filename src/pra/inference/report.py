"""Tables and figures of the "Robustness and inference" chapter, from the tidy frames of
:mod:`pra.inference.outputs`. Tables use :class:`pra.report.tables.Table` and its writers (LaTeX,
HTML, Markdown, CSV, Excel); labels and notes name this run's settings (cutoffs, clusters,
weights, draws, seed), read from the frames and the configuration.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from pra.did import stars
from pra.inference import INFERENCE_TABLES, curve_vcov_words  # noqa: F401  (INFERENCE_TABLES re-exported)
from pra.report.design import STAR_NOTE, cluster_text, km, outcome_label
from pra.report.tables import Table, fmt_coef, fmt_se

__all__ = ["INFERENCE_TABLES", "method_label", "se_table6", "se_table16", "multiple_table",
           "ri_table", "curve_table", "honest_table", "plot_ri", "plot_curve", "plot_honest"]

WEIGHT_LABELS = {"rademacher": "Rademacher", "webb": "Webb"}


def _cluster_words(spec: str) -> str:
    parts = [p.strip() for p in spec.split("^")]
    if len(parts) == 1:
        return cluster_text("locality" if parts[0] == "cluster" else parts[0])
    return " × ".join("district" if p == "ubigeo" else p for p in parts)


def method_label(method: str, study_cluster: str | None = None) -> str:
    """Words for a method id of :func:`pra.inference.spec.se_table`."""
    kind, _, rest = method.partition(":")
    if kind == "CRV1":
        specs = [s.strip() for s in rest.split("+")]
        if len(specs) == 2:
            return f"Clustered two-way: {_cluster_words(specs[0])} and {_cluster_words(specs[1])}"
        own = "locality" if specs[0] == "cluster" else specs[0]
        tag = " (the study's)" if study_cluster is not None and own == study_cluster else ""
        return f"Clustered by {_cluster_words(specs[0])}{tag}"
    if kind == "conley":
        kernel, cut, scope = rest.split(":")
        within = "pairs within a year" if scope == "within-year" else "pairs across years"
        return f"Conley {cut[:-2]} km ({kernel} kernel, {within})"
    if kind == "WCR":
        cl, w = rest.split(":")
        return f"Wild cluster bootstrap by {_cluster_words(cl)}, {WEIGHT_LABELS.get(w, w)} weights"
    return method


def _p(p: float) -> str:
    return "" if not np.isfinite(p) else f"{p:.3f}{stars(p)}"


def _ci(lo: float, hi: float, digits: int = 4) -> str:
    def f(x):
        if np.isinf(x):
            return "∞" if x > 0 else "−∞"
        return f"{x:.{digits}f}" if np.isfinite(x) else ""
    return f"[{f(lo)}, {f(hi)}]"


def _se_blocks(t: Table, frame: pd.DataFrame, cols: Sequence[tuple], key: Sequence[str], study: str) -> None:
    """Estimate row, then SE, p-value and CI panels with one row per method."""
    methods = list(dict.fromkeys(frame["method"]))

    def cell(c, m):
        r = frame[(frame["method"] == m) & np.logical_and.reduce([frame[k] == v for k, v in zip(key, c)])]
        return r.iloc[0] if len(r) else None

    first = [cell(c, methods[0]) for c in cols]  # the study's method comes first
    t.add("Estimate (stars: the study's SE)",
          ["" if r is None else fmt_coef(r["coef"], r["pvalue"]) for r in first], "coef",
          [None if r is None else (float(r["coef"]), float(r["se"]), float(r["pvalue"])) for r in first])
    t.panel("Standard error")
    for m in methods:
        if m.startswith("WCR:"):
            continue  # the bootstrap's t uses its cluster's CRV1 SE, listed above
        t.add(method_label(m, study), [fmt_se(cell(c, m)["se"]) if cell(c, m) is not None else "" for c in cols], "se")
    t.panel("p-value (H0: no effect)")
    for m in methods:
        t.add(method_label(m, study), [_p(cell(c, m)["pvalue"]) if cell(c, m) is not None else "" for c in cols])
    t.panel("Confidence interval")
    for m in methods:
        t.add(method_label(m, study), [_ci(cell(c, m)["ci_low"], cell(c, m)["ci_high"])
                                       if cell(c, m) is not None else "" for c in cols])
    n = [cell(c, methods[0]) for c in cols]
    t.add("Observations", [f"{int(r['nobs']):,}" if r is not None else "" for r in n], "stat")


def _settings_note(config: Mapping) -> str:
    inf = config["inference"]
    b = inf["bootstrap"]
    cut = ", ".join(km(c) for c in inf["se"]["conley_cutoffs_km"])
    w = " and ".join(WEIGHT_LABELS.get(x, x) for x in b["weights"])
    return (f"Conley cutoffs {cut} km ({inf['se']['conley_kernel']} kernel; no small-sample factor, normal "
            f"p-values); clustered SEs with reghdfe's small-sample factor and t(G−1); wild cluster "
            f"restricted bootstrap with {int(b['reps'])} draws ({w} weights, seed {int(config['seed'])}), "
            f"p-values under H0: no effect and CIs by test inversion; {round(100 * float(inf['level']))}% "
            f"intervals.")


def se_table6(frame: pd.DataFrame, config: Mapping) -> Table:
    outcomes = list(dict.fromkeys(frame["outcome"]))
    models = sorted({int(m) for m in frame["model"]})
    cols = [(y, m) for y in outcomes for m in models]
    t = Table("inference_se6", "Table 6 with alternative inference: the base DD under every SE type",
              [f"Model ({m})" for _, m in cols])
    t.groups = [(outcome_label(y), len(models)) for y in outcomes]
    study = str(config["did"]["cluster"])
    _se_blocks(t, frame, cols, ["outcome", "model"], study)
    t.notes += [f"Estimates of Table 6 (treated within {km(config['spatial']['treatment_radius_km'])} km × post), "
                f"each column's DD with its standard errors, p-values and intervals under each method; "
                f"the study clusters by {cluster_text(study)}.", _settings_note(config), STAR_NOTE]
    return t


def se_table16(frame: pd.DataFrame, config: Mapping) -> Table:
    outcomes = list(dict.fromkeys(frame["outcome"]))
    t = Table("inference_se16", "Table 16 row b with alternative inference: the DD without matching",
              [outcome_label(y) for y in outcomes])
    _se_blocks(t, frame, [(y,) for y in outcomes], ["outcome"], "locality")
    m = config["matching"]
    t.notes += [f"DD without matching (Table 16 row b: difference of group means, as the coefficient "
                f"of treated × follow-up with treated and period effects), baseline {m['baseline_year']}, "
                f"follow-up {m['followup_year']}; the study reports a bootstrap SE for it (Table 16).",
                _settings_note(config), STAR_NOTE]
    return t


FAMILY_LABELS = {"outcomes": "Outcomes of Table 6", "subgroups": "Subgroups of Tables 9–10",
                 "semesters": "Post-period semesters of Table 7"}


def multiple_table(frame: pd.DataFrame, config: Mapping) -> Table:
    t = Table("inference_multiple", "Multiple testing: Romano–Wolf and Westfall–Young adjusted p-values",
              ["Estimate", "p (CRV1)", "p (WCR)", "p Romano–Wolf", "p Westfall–Young"])
    t.stub = "Hypothesis"
    for (fam, y), g in frame.groupby(["family", "outcome"], sort=False):
        label = FAMILY_LABELS.get(fam, fam) + ("" if y == "all" else f": {outcome_label(y)}")
        t.panel(label)
        for _, r in g.iterrows():
            name = outcome_label(r["name"]) if fam == "outcomes" else r["name"]
            t.add(name, [f"{r['coef']:.4f}", _p(r["pvalue"]), _p(r["pvalue_wcr"]), _p(r["pvalue_rw"]),
                         _p(r["pvalue_wy"])])
    r0 = frame.iloc[0]
    mc = config["inference"]["multiple"]
    t.notes += [f"Each family is tested at once: one joint wild cluster restricted bootstrap ({int(r0['B'])} "
                f"draws, {WEIGHT_LABELS.get(r0['weights'], r0['weights'])} weights, one weight per "
                f"{cluster_text(mc['cluster'])} shared by every hypothesis, seed {int(r0['seed'])}). "
                f"Outcomes: model {max(int(m) for m in config['did']['models'])}; subgroups and semesters: "
                f"model 3.", STAR_NOTE]
    return t


def ri_table(summary: pd.DataFrame, config: Mapping) -> Table:
    r = summary.iloc[0]
    ri = config["inference"]["ri"]
    t = Table("inference_ri", "Spatial randomisation inference: placebo programme maps", ["Value"])
    t.add("Outcome", [outcome_label(r["outcome"])])
    t.add("Model", [str(int(r["model"]))])
    t.add("Observed DD", [f"{r['coef']:.4f}"])
    t.add("Randomisation p-value", [f"{r['pvalue_ri']:.3f}"])
    t.add("Placebo maps drawn", [f"{int(r['maps']):,}"])
    t.add("Placebo maps used", [f"{int(r['maps_used']):,}"])
    t.add("Placebo mean / SD", [f"{r['placebo_mean']:.4f} / {r['placebo_sd']:.4f}"])
    t.notes += [f"Each placebo map draws, in every stratum of department × centre population in 2007 "
                f"(cuts {', '.join(km(c) for c in ri['size_cuts'])}) × altitude (cuts "
                f"{', '.join(km(c) for c in ri['altitude_cuts_m'])} m), as many populated centres as the "
                f"register's geo-referenced localities in it (never a real one); a household is placebo-"
                f"treated within {km(config['spatial']['treatment_radius_km'])} km of a placebo centre, and "
                f"the DD is re-estimated on the same sample. p = (1 + #|β_p| ≥ |β|) / (1 + maps used); maps "
                f"that treat every locality or none are not used. Seed {int(r['seed'])}."]
    return t


def curve_vcov_text(cluster: str | None, n_clusters: int | None, conley_km: float | None = None,
                    kernel: str | None = None) -> str:
    """How the curve's covariance treats the localities (the table's note)."""
    if conley_km is not None:
        return f"Covariance: {curve_vcov_words(None, conley_km, kernel)} (normal critical values)."
    if cluster is None:
        return "Covariance: localities independent (normal critical values)."
    return (f"Covariance: CRV1 clustered by {cluster_text(cluster)}, {int(n_clusters)} clusters, "
            f"t({int(n_clusters) - 1}) critical values.")


def curve_adjust_text(model: int | None) -> str:
    """What the curve's outcome is net of (empty for the raw outcome)."""
    if model is None:
        return ""
    return (f" net of the model-{int(model)} controls (their coefficients from Table 6's model-{int(model)} "
            "fit with locality and year fixed effects)")


def curve_table(bins: pd.DataFrame, meta: Mapping, config: Mapping) -> Table:
    t = Table("inference_curve", "Effect curve over distance (Butts 2023)",
              ["Localities", "Effect", "SE", "Pointwise CI", "Uniform band"])
    t.stub = "Distance (km)"
    for _, r in bins.iterrows():
        t.add(f"{r['d_low']:.1f}–{r['d_high']:.1f}", [str(int(r["n_localities"])), f"{r['tau']:.4f}",
              fmt_se(r["se"]), _ci(r["ci_low"], r["ci_high"]), _ci(r["band_low"], r["band_high"])])
    t.notes += [f"{outcome_label(meta['outcome'])}{curve_adjust_text(meta.get('model'))}: change after minus "
                f"before of each locality's mean "
                f"(net of the comparison localities' yearly mean), averaged by distance bin, minus the "
                f"comparison localities' change (at ≥ {km(meta['control_km'])} km, {int(meta['n_control'])} "
                f"localities). Bins: {int(meta['nbins'])}, quantile-spaced ({meta['selection']}). Uniform "
                f"band: sup-t critical value {meta['crit_band']:.3f} "
                f"({round(100 * float(meta['level']))}%). "
                f"{curve_vcov_text(meta['cluster'], meta['n_clusters'], meta.get('conley_km'), meta.get('kernel'))} "
                f"The study's treatment radius is "
                f"{km(config['spatial']['treatment_radius_km'])} km."]
    return t


def honest_table(ci: pd.DataFrame, bd: pd.DataFrame, config: Mapping) -> Table:
    targets = list(dict.fromkeys(ci["target"]))
    t = Table("inference_honest", "Sensitivity to parallel trends (HonestDiD): Table 7's post semesters",
              ["Estimate", "Restriction", "M", "Robust CI"])
    t.stub = "Target"
    for tg in targets:
        t.panel(tg)
        g = ci[ci["target"] == tg]
        for _, r in g.iterrows():
            restr = {"original": "none (original CI)", "SD": "smoothness Δ^SD(M)",
                     "RM": "relative magnitudes Δ^RM(M̄)"}[r["restriction"]]
            t.add("", [f"{r['estimate']:.4f}", restr, "" if not np.isfinite(r["M"]) else f"{r['M']:g}",
                       _ci(r["lb"], r["ub"])])
        for _, b in bd[bd["target"] == tg].iterrows():
            v = b["breakdown"]
            t.add("", ["", f"breakdown value ({b['restriction']})", "",
                       "CI covers 0 at M = 0" if not np.isfinite(v) else f"{v:.3f}"], "stat")
    r0 = ci.iloc[0]
    hc = config["inference"]["honest"]
    t.notes += [f"{outcome_label(hc['outcome'])}; semester effects of Table 7 re-referenced to "
                f"{r0['reference']} (the last pre-period semester); pre-period semesters: {r0['pre_periods']}; "
                f"covariance: CRV1 by {cluster_text(config['did']['cluster'])}. Δ^SD: fixed-length CI "
                f"(Rambachan and Roth 2023, §4.1); Δ^RM: projection of a simultaneous sup-t box "
                f"(conservative next to HonestDiD's conditional test). Breakdown value: the largest M "
                f"whose CI excludes 0 (RM: by bisection; SD (grid): the largest M of the grid)."]
    return t


# ----------------------------------------------------------------------------------- figures
def _save(fig, paths: Sequence[str]) -> None:
    from pra.did.figures import save_figure  # the workflow's one figure writer (fixed metadata)

    save_figure(fig, paths)


def plot_ri(draws: pd.DataFrame, summary: pd.DataFrame, paths: Sequence[str]) -> None:
    import matplotlib.pyplot as plt

    r = summary.iloc[0]
    b = draws["coef"].dropna().to_numpy()
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    ax.hist(b, bins=min(60, max(10, len(b) // 20)), color="0.7", edgecolor="0.4")
    ax.axvline(r["coef"], color="C3", lw=2, label=f"observed DD {r['coef']:.4f}")
    ax.axvline(-r["coef"], color="C3", lw=1, ls="--")
    ax.set_xlabel(f"DD of {outcome_label(r['outcome'])} on a placebo map")
    ax.set_ylabel("placebo maps")
    ax.set_title(f"Randomisation inference: p = {r['pvalue_ri']:.3f} ({int(r['maps_used'])} maps)")
    ax.legend(frameon=False)
    fig.tight_layout()
    _save(fig, paths)
    plt.close(fig)


def plot_curve(bins: pd.DataFrame, bands: pd.DataFrame, meta: Mapping, radius_km: float,
               paths: Sequence[str]) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.0, 4.2))
    edges = np.concatenate([bins["d_low"].to_numpy()[:1], bins["d_high"].to_numpy()])
    for _, r in bins.iterrows():
        ax.fill_between([r["d_low"], r["d_high"]], r["band_low"], r["band_high"], color="C0", alpha=0.15, lw=0)
        ax.fill_between([r["d_low"], r["d_high"]], r["ci_low"], r["ci_high"], color="C0", alpha=0.25, lw=0)
    ax.step(edges, np.append(bins["tau"].to_numpy(), bins["tau"].to_numpy()[-1]), where="post", color="C0",
            lw=2, label=f"effect curve ({int(meta['nbins'])} bins; band: uniform {round(100 * float(meta['level']))}%)")
    if len(bands):
        mid = (bands["d_low"] + bands["d_high"]) / 2
        ax.errorbar(mid, bands["coef"], yerr=[bands["coef"] - bands["ci_low"], bands["ci_high"] - bands["coef"]],
                    fmt="o", color="C1", capsize=3, label="Figure 6b: DD by distance band")
    ax.axhline(0, color="0.3", lw=0.8)
    ax.axvline(radius_km, color="0.3", lw=0.8, ls=":", label=f"treatment radius {km(radius_km)} km")
    ax.set_xlabel("distance to the nearest PRA-II locality (km)")
    ax.set_ylabel(f"effect on {outcome_label(meta['outcome'])}"
                  + ("" if meta.get("model") is None else f" (net of model-{int(meta['model'])} controls)"))
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    _save(fig, paths)
    plt.close(fig)


def plot_honest(ci: pd.DataFrame, bd: pd.DataFrame, paths: Sequence[str]) -> None:
    """HonestDiD's sensitivity plot: the original CI, then the robust CI at each M, per restriction."""
    import matplotlib.pyplot as plt

    tg = ci["target"].iloc[0]
    g = ci[ci["target"] == tg]
    restr = [r for r in ("RM", "SD") if (g["restriction"] == r).any()]
    fig, axes = plt.subplots(1, len(restr), figsize=(5.0 * len(restr), 4.0), squeeze=False)
    orig = g[g["restriction"] == "original"].iloc[0]
    for ax, r in zip(axes[0], restr):
        h = g[g["restriction"] == r]
        xs = h["M"].to_numpy()
        step = (xs.max() - xs.min()) / max(len(xs), 1) if len(xs) > 1 else 1.0
        x0 = xs.min() - step
        ax.errorbar([x0], [(orig["lb"] + orig["ub"]) / 2], yerr=[[(orig["ub"] - orig["lb"]) / 2]], fmt="none",
                    color="C3", capsize=4, lw=2, label="original")
        ax.errorbar(xs, (h["lb"] + h["ub"]) / 2, yerr=(h["ub"] - h["lb"]) / 2, fmt="none", color="C0", capsize=4,
                    lw=2, label="robust (" + ("projection" if r == "RM" else "FLCI") + ")")
        ax.axhline(0, color="0.3", lw=0.8)
        b = bd[(bd["target"] == tg) & bd["restriction"].str.startswith(r)]
        if len(b) and np.isfinite(b["breakdown"].iloc[0]):
            ax.axvline(b["breakdown"].iloc[0], color="0.4", ls=":", label=f"breakdown {b['breakdown'].iloc[0]:.3g}")
        ax.set_xlabel("M̄" if r == "RM" else "M")
        ax.set_title("Relative magnitudes Δ^RM(M̄)" if r == "RM" else "Smoothness Δ^SD(M)")
        ax.legend(frameon=False, fontsize=8)
    axes[0][0].set_ylabel(f"{tg}: 95% CI")
    fig.tight_layout()
    _save(fig, paths)
    plt.close(fig)


def curve_meta(curve, outcome: str, model: int | None = None) -> dict:
    """``model``: the Table 6 model whose controls the outcome is net of (None: the raw outcome)."""
    return {"outcome": outcome, "model": None if model is None else int(model),
            "control_km": curve.dist_max_km, "n_control": curve.n_control,
            "nbins": curve.nbins, "selection": curve.selection, "crit_band": curve.crit_band,
            "level": curve.level, "dropped": curve.dropped, "cluster": curve.cluster,
            "n_clusters": curve.n_clusters, "conley_km": curve.conley_km, "kernel": curve.kernel}

