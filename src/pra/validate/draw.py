"""One Monte Carlo draw: redraw households and outcomes, rebuild the frames, run the estimators.

Every row of a draw's result is one estimate: the draw, the estimator (Table 6 model k, Table 7,
Table 8 start s model k, the radius below/above the planted one, Table 16 row a/b), outcome and
term, the estimate with its SE, p-value and 95% interval as the pipeline computes them, the
estimand from the draw's truth (:mod:`pra.validate.estimands`) and ``planted``: the simple mean
effect over the treated rows of the estimate's sample (the study's headline number, 0.043 for
the spatial DD). ``effect`` says whether the planted effect is zero (size) or not (power).
"""
from __future__ import annotations

import copy
import dataclasses
import logging
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pra.embedded.model import HouseholdModel
from pra.did.specs import build_specs, prep_key, spec_id
from pra.matching.kernel import kernel_did
from pra.matching.outputs import separating_covariates
from pra.matching.sample import COVARIATES, estimation_rows
from pra.validate import frames as F
from pra.validate.fastdd import run_specs
from pra.validate.estimands import SPATIAL_ZERO_EFFECT, spatial_effects, survey_effects, tau_column

log = logging.getLogger(__name__)

# inference: pra.validate.inference; curve: pra.validate.curve
ESTIMATORS = ("table6", "table7", "table8", "radius", "table16", "inference", "curve")
FAMILY_OF = {"table6": "base", "table7": "semester", "table8": "placebo", "radius": "radius"}
DRAW_COLUMNS = ["draw", "estimator", "design", "table", "model", "outcome", "term", "estimate",
                "se", "pvalue", "ci_low", "ci_high", "nobs", "estimand", "planted", "effect"]


# --------------------------------------------------------------------------------------------
# settings

@dataclass(frozen=True)
class Settings:
    """What a draw needs from the config (``validation`` block and the study's settings)."""

    seed: int
    scale: float
    estimators: tuple
    radii_km: tuple
    bootstrap_reps: int
    config: dict            # the study's config with ``validation.data_embedded`` merged in

    @classmethod
    def from_config(cls, config: dict) -> "Settings":
        v = config["validation"]
        unknown = sorted(set(v["estimators"]) - set(ESTIMATORS))
        if unknown:
            raise ValueError(f"config key validation.estimators: unknown {unknown} (known: {list(ESTIMATORS)})")
        cfg = copy.deepcopy(config)
        emb = cfg["data"].setdefault("embedded", {})
        over = dict(v.get("data_embedded") or {})
        known = {f.name for f in dataclasses.fields(HouseholdModel)} | set(emb)
        if set(over) - known:  # the model's from_config ignores unknown keys: a typo would too
            raise ValueError(f"config key validation.data_embedded: unknown key(s) {sorted(set(over) - known)} "
                             "(neither a data.embedded key nor a field of pra.embedded.model.HouseholdModel)")
        _deep_update(emb, copy.deepcopy(over))
        emb["scale"] = float(v["scale"])
        return cls(seed=int(config["seed"]), scale=float(v["scale"]), estimators=tuple(v["estimators"]),
                   radii_km=tuple(float(r) for r in v["radii_km"]),
                   bootstrap_reps=int(v["bootstrap_reps"]), config=cfg)


def _deep_update(base: dict, over: dict) -> None:
    for k, val in over.items():
        if isinstance(val, dict) and isinstance(base.get(k), dict):
            _deep_update(base[k], val)
        else:
            base[k] = val


def household_model(config: dict):
    """The generating model of the draws: :func:`pra.embedded.model.from_config` (the
    ``data.embedded`` overrides, e.g. ``corridor_trend``)."""
    from pra.embedded.model import from_config

    return from_config(config)


# --------------------------------------------------------------------------------------------
# the spatial DD

def dd_specs(settings: Settings) -> list[dict]:
    """The study's specs of the chosen DD estimators (the pipeline's ``build_specs``): Table 6
    models, Table 7's semesters, Table 8's placebo starts, and model 3 at ``radii_km``."""
    cfg = settings.config
    did = dict(cfg["did"], radii_km=list(settings.radii_km), band_width_km=None, rings_km=[],
               samples=[], subgroups=[])
    specs = build_specs({**cfg, "did": did})
    fams = {FAMILY_OF[e] for e in settings.estimators if e in FAMILY_OF}
    keep = specs["family"].isin(fams) & specs["outcome"].isin(list(cfg["did"]["outcomes"]))
    from pra.did.specs import spec_records

    return spec_records(specs[keep].reset_index(drop=True))


def _tau_spec(spec: dict) -> dict:
    s = dict(spec, outcome=tau_column(spec["outcome"]))
    s["spec_id"] = spec_id(s)
    return s


def _estimator_name(spec: dict) -> tuple[str, str]:
    f = spec["family"]
    if f == "base":
        return f"table6_m{spec['model']}", "Table 6"
    if f == "semester":
        return "table7", "Table 7"
    if f == "placebo":
        return f"table8_{spec['placebo_start']}_m{spec['model']}", "Table 8"
    return f"radius_{spec['radius_km']:g}km", "radius"


def _treated_indicator(frame: pd.DataFrame, spec: dict, term: str) -> pd.Series:
    """The rows a treatment term switches on (D = 1; treated in the term's semester)."""
    if spec["family"] == "semester":
        sem = term.split("::", 1)[1].rsplit(":", 1)[0]
        return (frame["semester"] == sem) & (frame["treated"] == 1)
    return frame["D"] == 1


def run_dd(space: pd.DataFrame, effects: pd.DataFrame, specs: list[dict], cluster: str) -> pd.DataFrame:
    """Estimates and estimands of ``specs`` on the sample space of one draw.

    The estimand of a spec is the coefficient of the same regression with τ as outcome, on the
    same rows (:func:`pra.validate.fastdd.run_specs`, which equals the pipeline's ``run_batch``
    to 1e-10 and demeans each sample once for the outcome and its τ)."""
    outcomes = sorted({s["outcome"] for s in specs})
    data = space.merge(effects, on="hh_id", how="left", validate="1:1")
    for o in outcomes:  # τ where the outcome is observed: both regressions use the same rows
        data[tau_column(o)] = data[tau_column(o)].where(data[o].notna())
    prepared: dict[str, pd.DataFrame] = {}
    est = run_specs(data, specs, cluster, {s["spec_id"]: [tau_column(s["outcome"])] for s in specs},
                    frames=prepared)
    by_id = {sid: g for sid, g in est.groupby("spec_id", sort=False)}
    rows = []
    for s in specs:
        e = by_id[s["spec_id"]]
        t = e[e["outcome"] == tau_column(s["outcome"])].set_index("term")["coef"]
        frame = prepared[prep_key(s)]
        name, table = _estimator_name(s)
        for r in e[e["outcome"] == s["outcome"]].itertuples(index=False):
            on = _treated_indicator(frame, s, r.term) & frame[s["outcome"]].notna()
            planted = float(frame.loc[on, tau_column(s["outcome"])].mean()) if on.any() else 0.0
            rows.append({"estimator": name, "design": "spatial DD", "table": table,
                         "model": int(s["model"]), "outcome": s["outcome"], "term": r.term,
                         "estimate": r.coef, "se": r.se, "pvalue": r.pvalue, "ci_low": r.ci_low,
                         "ci_high": r.ci_high, "nobs": int(r.nobs), "estimand": float(t[r.term]),
                         "planted": planted})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# the matching DD

def matching_estimates(sample: pd.DataFrame, matching: dict, reps: int, seed: int):
    """Table 16's estimation as :func:`pra.matching.outputs.run_matching` runs it (estimation
    rows, the separation rule, ``kernel_did``) without the tables the harness does not use
    (balance, score densities): → (result, estimation rows)."""
    outcomes = list(matching["outcomes"])
    data, _ = estimation_rows(sample, outcomes, COVARIATES, "cluster")
    covariates = list(COVARIATES)
    sep = separating_covariates(data, covariates)
    if len(sep) and matching["on_separation"] == "drop_covariate":
        covariates = [c for c in covariates if c not in set(sep["covariate"])]
    support = matching.get("common_support")
    support = None if support in (None, "none") else support
    res = kernel_did(data, outcomes, "treated", "period", covariates, "cluster", kernel=matching["kernel"],
                     bandwidth=float(matching["bandwidth"]), reps=int(reps), seed=int(seed),
                     common_support=support, trim_pct=matching.get("trim_pct") if support == "trim" else None)
    return res, data


def run_matching_dd(sample: pd.DataFrame, effects: pd.DataFrame, matching: dict, reps: int,
                    seed: int) -> pd.DataFrame:
    """Table 16 rows a and b with their cluster bootstrap, and their estimands."""
    outcomes = list(matching["outcomes"])
    res, data = matching_estimates(sample, matching, reps, seed)
    follow = (data["period"] == res.periods[1]).to_numpy() & (data["treated"] == 1).to_numpy()
    on_support = res.support.reindex(data.index).to_numpy(bool)
    tau = data[["hh_id"]].merge(effects, on="hh_id", how="left", validate="many_to_one")
    if tau.loc[follow, [tau_column(o) for o in outcomes]].isna().any().any():
        raise ValueError("matching sample: treated follow-up households without a survey truth row")
    rows = []
    for r in res.table.itertuples(index=False):
        a = r.estimator == "matching"
        rows_on = follow & on_support if a else follow
        v = tau.loc[rows_on, tau_column(r.outcome)].to_numpy(float)
        rows.append({"estimator": "table16a" if a else "table16b", "design": "matching DD",
                     "table": "Table 16", "model": 1 if a else 2, "outcome": r.outcome,
                     "term": "att_dd" if a else "dd", "estimate": r.estimate, "se": r.se,
                     "pvalue": r.pvalue, "ci_low": r.ci_low, "ci_high": r.ci_high,
                     "nobs": int(len(data)), "estimand": float(v.mean()),
                     "planted": float(tau.loc[follow, tau_column(r.outcome)].mean())})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# one draw

@dataclass
class DrawTimes:
    drawing: float = 0.0
    building: float = 0.0
    dd: float = 0.0
    matching: float = 0.0


def run_draw(fixed: F.FixedGeography, settings: Settings, draw: int,
             times: DrawTimes | None = None) -> pd.DataFrame:
    """Every chosen estimator on draw ``draw`` (rows :data:`DRAW_COLUMNS`)."""
    from pra.embedded.households import build_households

    cfg = settings.config
    times = times if times is not None else DrawTimes()
    t0 = time.perf_counter()
    hh = build_households(fixed.geo, settings.scale, F.household_rng(settings.seed, draw),
                          model=household_model(cfg))
    t1 = time.perf_counter()
    spatial, matching = cfg["spatial"], cfg["matching"]
    needed = fixed.needed(float(spatial["sample_space_km"]), int(matching["baseline_year"]))
    enaho = F.harmonised_enaho(hh, fixed, needed=needed)
    parts = []
    dd = [e for e in settings.estimators if e in FAMILY_OF]
    inference = "inference" in settings.estimators
    curve = "curve" in settings.estimators
    if dd or inference or curve:
        space = F.sample_space(enaho, fixed.distances(enaho), float(spatial["sample_space_km"]))
    if "table16" in settings.estimators:
        msample = F.matching_frame(enaho, F.programme_table(hh, fixed), fixed, matching)
    t2 = time.perf_counter()
    if dd or inference or curve:
        effects = spatial_effects(hh)
    if dd:
        parts.append(run_dd(space, effects, dd_specs(settings), cfg["did"]["cluster"]))
    if inference:  # every SE type of Table 6's base DD (issue 17 §6); seed purpose 2: its bootstrap
        from pra.validate.inference import run_inference

        parts.append(run_inference(space, effects, cfg, F.draw_seed(settings.seed, draw, 2)))
    if curve:  # the effect curve's uniform band against the bins' truth (pra.validate.curve)
        from pra.validate.curve import run_curve

        parts.append(run_curve(space, effects, cfg))
    t3 = time.perf_counter()
    if "table16" in settings.estimators:
        parts.append(run_matching_dd(msample, survey_effects(hh), matching, settings.bootstrap_reps,
                                     F.draw_seed(settings.seed, draw, 1)))
    t4 = time.perf_counter()
    times.drawing += t1 - t0
    times.building += t2 - t1
    times.dd += t3 - t2
    times.matching += t4 - t3
    out = pd.concat(parts, ignore_index=True)
    out.insert(0, "draw", int(draw))
    out["effect"] = np.where(zero_by_design(out, int(cfg["post_start"])), "zero", "planted")
    return out[DRAW_COLUMNS]


def zero_by_design(rows: pd.DataFrame, post_start: int) -> np.ndarray:
    """Estimates whose planted effect is zero by construction: placebo starts (pre-period data),
    pre-period semesters, and the spatial DD of subjective poverty (no planted effect)."""
    sem_year = rows["term"].str.extract(r"^semester::(\d{4})-", expand=False).astype(float)
    return ((rows["table"] == "Table 8") | (sem_year < post_start)
            | (rows["design"].isin(["spatial DD", "inference"]) & rows["outcome"].isin(SPATIAL_ZERO_EFFECT))
            | ((rows["design"] == "curve") & (rows["estimand"] == 0))).to_numpy()


def run_draws(settings: Settings, draws, fixed: F.FixedGeography | None = None,
              times: DrawTimes | None = None) -> pd.DataFrame:
    """Draws ``draws`` (ids) on one fixed geography, in id order."""
    fixed = fixed or F.fixed_geography(settings.scale, settings.seed)
    frames = []
    for d in sorted(int(x) for x in draws):
        t = time.perf_counter()
        frames.append(run_draw(fixed, settings, d, times))
        log.info("draw %d: %d estimates in %.1f s", d, len(frames[-1]), time.perf_counter() - t)
    return pd.concat(frames, ignore_index=True)


__all__ = ["DRAW_COLUMNS", "DrawTimes", "ESTIMATORS", "Settings", "dd_specs", "household_model",
           "run_dd", "run_draw", "run_draws", "run_matching_dd"]
