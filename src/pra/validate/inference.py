"""Monte Carlo coverage of every inference method (issue 17 §6): the ``inference`` estimator.

Per draw, the base DD of Table 6 (``validation.inference.models`` × ``outcomes``, default model 1
on ln expenditure) is fitted once on the draw's sample space (the same prepared rows as the
harness's ``table6_m*``) and reported under every SE type of
:func:`pra.inference.spec.se_table` (the entry point behind
:func:`pra.inference.outputs.se_frame_table6`): the study's locality clustering, district
clustering, two-way (centre and district × year), Conley at each cutoff and the wild cluster
restricted bootstrap (``validation.inference.bootstrap_reps`` replications, one seed per draw).

Each SE type is one harness estimator ``inference_m<model>|<method>`` with the harness's row
fields (:data:`pra.validate.draw.DRAW_COLUMNS`): estimate, SE, p-value, 95% CI, the FWL estimand
of the draw's truth (:mod:`pra.validate.estimands`: the coefficient of the same design with τ as
outcome) and the simple mean effect over the treated. :func:`pra.validate.summary.summarise` then
gives coverage with its Monte Carlo SE per SE type; :func:`coverage_table` sets the settings
(shocks on / off) side by side in a publication table (five formats).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Mapping

import pandas as pd

from pra.report.tables import Table, fmt_int, fmt_num

ESTIMATOR = "inference"
SEP = "|"  # estimator name = f"inference_m{model}{SEP}{method}"
DEFAULTS = {"models": [1], "outcomes": ["ln_pc_exp"], "bootstrap_reps": 199}


def mc_settings(config: Mapping) -> dict:
    """``validation.inference`` with its defaults (models, outcomes, bootstrap_reps)."""
    v = dict(DEFAULTS)
    v.update(dict(config.get("validation", {}).get("inference") or {}))
    return v


def se_settings(config: Mapping, draw_seed: int):
    """The SE types of the study's ``inference`` block, with the Monte Carlo's bootstrap size and
    the draw's own bootstrap seed."""
    from pra.inference.spec import settings_from_config

    return replace(settings_from_config(config), bootstrap_reps=int(mc_settings(config)["bootstrap_reps"]),
                   seed=int(draw_seed))


def run_inference(space: pd.DataFrame, effects: pd.DataFrame, config: Mapping, draw_seed: int) -> pd.DataFrame:
    """Rows (the harness's fields but ``draw`` and ``effect``) of every SE type of each chosen
    Table 6 fit on one draw's sample space, with the fit's FWL estimand."""
    from pra.inference.design import demean
    from pra.inference.outputs import KEEP, base_specs
    from pra.inference.spec import se_table, spec_design
    from pra.validate.estimands import tau_column

    mc = mc_settings(config)
    s = se_settings(config, draw_seed)
    specs = [sp for sp in base_specs(config)
             if sp["outcome"] in set(mc["outcomes"]) and int(sp["model"]) in {int(m) for m in mc["models"]}]
    if not specs:
        raise ValueError(f"config key validation.inference: no Table 6 fit for models {mc['models']} "
                         f"and outcomes {mc['outcomes']} (did.models, did.outcomes)")
    taus = [tau_column(o) for o in mc["outcomes"]]
    data = space.merge(effects[["hh_id"] + taus], on="hh_id", how="left", validate="1:1")
    rows = []
    for spec in specs:
        y, tau = spec["outcome"], tau_column(spec["outcome"])
        # τ where the outcome is observed: the estimand uses the fit's own rows
        frame = data.assign(**{tau: data[tau].where(data[y].notna())})
        design, terms = spec_design(frame, spec, keep=list(dict.fromkeys(KEEP + [s.study_cluster, tau])))
        term = terms[0]
        j = design.index(term)
        estimand = float(design.with_outcome(demean(design.frame[[tau]].to_numpy(float), design.fe_codes,
                                                    design.tol)[:, 0])[j])
        on = design.frame[term].to_numpy(float) == 1
        planted = float(design.frame.loc[on, tau].mean())
        for r in se_table(design, term, s).itertuples(index=False):
            rows.append({"estimator": f"inference_m{int(spec['model'])}{SEP}{r.method}", "design": ESTIMATOR,
                         "table": "Table 6", "model": int(spec["model"]), "outcome": y, "term": term,
                         "estimate": r.coef, "se": r.se, "pvalue": r.pvalue, "ci_low": r.ci_low,
                         "ci_high": r.ci_high, "nobs": int(r.nobs), "estimand": estimand, "planted": planted})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# the coverage table

def method_of(estimator: str) -> str:
    return estimator.split(SEP, 1)[1]


def method_label(method: str, study_cluster: str = "locality") -> str:
    """``CRV1:locality`` → "Cluster: locality (study)", ``conley:uniform:10km:within-year`` →
    "Conley 10 km (uniform, within year)", ``WCR:ubigeo:webb`` → "Wild bootstrap: ubigeo, Webb"."""
    parts = method.split(":")
    if parts[0] == "CRV1":
        c = ":".join(parts[1:])
        if "+" in c:
            return f"Two-way: {c.replace(' + ', ' and ').replace('^', ' x ')}"
        return f"Cluster: {c}" + (" (study)" if c == study_cluster else "")
    if parts[0] == "conley":
        kernel, cut = parts[1], parts[2].replace("km", " km")
        extra = f", {parts[3].replace('-', ' ')}" if len(parts) > 3 else ""
        return f"Conley {cut} ({kernel}{extra})"
    if parts[0] == "WCR":
        return f"Wild bootstrap: {parts[1]}, {parts[2].capitalize()}"
    return method


def coverage_frame(summaries: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The inference rows of each setting's :func:`pra.validate.summary.summarise` output, long:
    setting, model, outcome, method, draws, mean SE, SD of the estimates, SE ratio, coverage and
    its Monte Carlo SE, rejection of the estimand-free null (power), mean bias."""
    out = []
    for setting, s in summaries.items():
        s = s[s["design"] == ESTIMATOR]
        out.append(pd.DataFrame({
            "setting": setting, "model": s["model"].astype(int), "outcome": s["outcome"],
            "method": s["estimator"].map(method_of), "draws": s["draws"], "mean_se": s["mean_se"],
            "sd_estimate": s["sd_estimate"], "se_ratio": s["se_ratio"], "coverage": s["coverage"],
            "coverage_mcse": s["coverage_mcse"], "rejection_5pct": s["rejection_5pct"],
            "mean_bias": s["mean_bias"], "bias_mcse": s["bias_mcse"]}))
    return pd.concat(out, ignore_index=True)


def coverage_table(cov: pd.DataFrame, *, scale: float, seed: int, reps: int, study_cluster: str = "locality",
                   notes: list[str] | None = None) -> Table:
    """Coverage of the 95% intervals by SE type (rows) and setting (column groups): mean SE ÷ SD
    of the estimates and coverage (Monte Carlo SE)."""
    settings = list(dict.fromkeys(cov["setting"]))
    cols = []
    for st in settings:
        cols += [f"SE ratio, {st}", f"Coverage 95%, {st}"]
    t = Table(name="inference_coverage", title="Coverage of the 95% intervals of each inference method "
              "(Monte Carlo, base DD of Table 6)", columns=["Outcome", "Model"] + cols, stub="SE type")
    keys = list(dict.fromkeys(zip(cov["outcome"], cov["model"], cov["method"])))
    idx = cov.set_index(["setting", "outcome", "model", "method"])
    for o, m, meth in keys:
        cells = [o, str(int(m))]
        for st in settings:
            if (st, o, m, meth) in idx.index:
                r = idx.loc[(st, o, m, meth)]
                cells += [fmt_num(r["se_ratio"], 2), f"{fmt_num(r['coverage'], 3)} ({fmt_num(r['coverage_mcse'], 3)})"]
            else:
                cells += ["", ""]
        t.add(method_label(meth, study_cluster), cells)
    draws = ", ".join(f"{st}: {fmt_int(int(cov.loc[cov['setting'] == st, 'draws'].max()))}" for st in settings)
    t.notes = [
        f"Draws ({draws}) of households and outcomes at scale {scale:g} (seed {seed}); the geography is "
        f"the seed's and fixed. Wild cluster restricted bootstrap: {reps} replications per fit.",
        "Coverage: share of draws whose 95% interval contains the draw's estimand (the FWL-weighted "
        "mean of the households' effects), Monte Carlo SE in parentheses. SE ratio: mean SE / SD of "
        "the estimates over the draws (below 1: the SE understates the sampling variability). The "
        "bootstrap's SE is the CRV1 SE of its t; its interval comes from test inversion.",
    ] + list(notes or [])
    return t


def coverage_verdict(cov: pd.DataFrame, level: float = 0.95, mcse: float = 2.0) -> dict[str, dict[str, list[str]]]:
    """Per setting: the methods whose coverage keeps ``level`` (within ``mcse`` Monte Carlo SEs
    of it, or above) and those below, by label (:func:`method_label`), in table order."""
    out = {}
    for setting, g in cov.groupby("setting", sort=False):
        ok = g["coverage"] >= level - mcse * g["coverage_mcse"]
        out[setting] = {"keep": [method_label(m) for m in g.loc[ok, "method"]],
                        "miss": [f"{method_label(m)} ({c:.3f})" for m, c in zip(g.loc[~ok, "method"], g.loc[~ok, "coverage"])]}
    return out


def coverage_words(csv_path, json_path) -> dict:
    """The words of a shipped coverage study (``docs/validation/coverage.{csv,json}``) for the
    report chapter's caption (report/inference/coverage.rst): draws, scale, seed, and per setting
    the methods that keep 95% coverage and those that do not."""
    import json

    cov = pd.read_csv(csv_path)
    meta = json.loads(open(json_path, encoding="utf-8").read())
    verdict = coverage_verdict(cov)
    words = {"draws": ", ".join(f"{k}: {v}" for k, v in meta["settings"].items()), "scale": f"{meta['scale']:g}",
             "seed": str(meta["seed"]), "reps": str(meta["bootstrap_reps"]), "settings": []}
    for setting, v in verdict.items():
        words["settings"].append({"setting": setting, "keep": "; ".join(v["keep"]) or "none",
                                  "miss": "; ".join(v["miss"]) or "none"})
    return words


__all__ = ["DEFAULTS", "ESTIMATOR", "coverage_frame", "coverage_table", "coverage_verdict", "coverage_words",
           "method_label", "mc_settings", "run_inference", "se_settings"]


# --------------------------------------------------------------------------------------------
# command line: the coverage runs of docs/inference.md without the Snakemake rule (two settings
# at once write to two folders; chunks already written are kept, so a run can stop and resume)

def _run(args) -> None:
    import logging
    from pathlib import Path

    from pra.validate.cli import load_config, run_chunks

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    run_chunks(load_config(args.configfile), Path(args.out))


def _summarise(args) -> None:
    import json
    from pathlib import Path

    from pra.io import write_csv_atomic
    from pra.report import tables as T
    from pra.validate.cli import load_config, read_chunks, settings_arg
    from pra.validate.summary import summarise

    cfg = load_config(args.configfile)
    summaries = {}
    settings = settings_arg(args.setting)
    for label, folder in settings:
        draws = read_chunks(folder)
        summaries[label] = summarise(draws[draws["design"] == ESTIMATOR])
    cov = coverage_frame(summaries)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_csv_atomic(cov, out / "coverage.csv", float_format="%.6g")
    mc = mc_settings(cfg)
    # what the table's notes and the report chapter's caption need (pra.inference: rule inference_coverage)
    meta = {"scale": float(cfg["validation"]["scale"]), "seed": int(cfg["seed"]),
            "bootstrap_reps": int(mc["bootstrap_reps"]), "study_cluster": str(cfg["did"]["cluster"]),
            "settings": {label: int(cov.loc[cov["setting"] == label, "draws"].max()) for label, _ in settings}}
    (out / "coverage.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    table = coverage_table(cov, scale=float(cfg["validation"]["scale"]), seed=int(cfg["seed"]),
                           reps=int(mc["bootstrap_reps"]), study_cluster=str(cfg["did"]["cluster"]))
    T.write_tables([table], out)
    T.write_excel([table], out / f"{table.name}.xlsx")
    print(cov.to_string(index=False))


def main(argv=None) -> None:
    import argparse

    p = argparse.ArgumentParser(prog="python -m pra.validate.inference")
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="draws of one setting, one parquet per chunk")
    r.add_argument("--configfile", nargs="+", required=True)
    r.add_argument("--out", required=True)
    r.set_defaults(func=_run)
    s = sub.add_parser("summarise", help="coverage table of settings (label=folder ...)")
    s.add_argument("--configfile", nargs="+", required=True)
    s.add_argument("--setting", nargs="+", required=True)
    s.add_argument("--out", required=True)
    s.set_defaults(func=_summarise)
    a = p.parse_args(argv)
    a.func(a)


if __name__ == "__main__":
    main()
