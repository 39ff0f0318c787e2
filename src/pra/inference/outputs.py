"""The "Robustness and inference" chapter's numbers: the study's estimates under every inference
method of :mod:`pra.inference`, as tidy frames (the workflow's parquet/CSV files) built from the
configuration (``config["inference"]``) and the pipeline's tables.

* :func:`se_frame_table6`: Table 6 (every outcome × model of the base DD) with every SE type of
  :func:`pra.inference.spec.se_table`;
* :func:`se_frame_table16`: Table 16 row b (the DD without matching, as the regression
  ``y ~ treated × follow-up``) on the matching sample, with the same SE types (clusters of that
  sample: ``cluster`` = locality, district, two-way with district × period; Conley within period);
* :func:`multiple_frame`: Romano–Wolf and Westfall–Young adjusted p-values for the families the
  study tests at once (subgroups of Tables 9–10, outcomes of Table 6, post semesters of Table 7);
* :func:`ri_setup`, :func:`ri_chunk`, :func:`ri_summary`: placebo programme maps in chunks and the
  randomisation p-value;
* :func:`curve_frame`: the effect curve over distance; :func:`band_frame`: Figure 6b's ring
  (distance band) estimates from the store to overlay;
* :func:`honest_frames`: HonestDiD robust CIs for Table 7's post semesters and their breakdown
  values.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from pra.did.specs import build_specs, spec_records
from pra.did.subgroups import SUBGROUPS, level_label

from . import ri_model
from .clustering import crv1_vcov
from .curve import effect_curve, locality_changes
from .design import build_design
from .honest import flci_sd, rm_breakdown, rm_ci
from .multiple import Hypothesis, adjusted_pvalues
from .ri import PlaceboFit, nearest_distance_km, placebo_maps, ri_pvalue
from . import ri_chunks  # noqa: F401  (re-exported)
from .spec import SeSettings, se_table, settings_from_config, spec_design

__all__ = ["KEEP", "base_specs", "effect_curve_data", "curve_from_data", "se_frame_table6", "se_frame_table16",
           "multiple_frame",
           "ri_setup", "ri_chunk", "ri_summary", "ri_chunks", "curve_frame", "band_frame",
           "honest_frames", "semester_event_study"]

KEEP = ["ubigeo", "latitude", "longitude"]  # columns every inference design carries


def _specs(config: Mapping, family: str) -> list[dict]:
    return [s for s in spec_records(build_specs(dict(config))) if s["family"] == family]


def base_specs(config: Mapping) -> list[dict]:
    """Table 6's specifications (every outcome × model of the base family)."""
    return _specs(config, "base")


def se_frame_table6(sample: pd.DataFrame, config: Mapping, settings: SeSettings | None = None) -> pd.DataFrame:
    """One row per (Table 6 column, SE type)."""
    s = settings or settings_from_config(config)
    out = []
    for spec in base_specs(config):
        design, terms = spec_design(sample, spec, keep=KEEP + [s.study_cluster])
        t = se_table(design, terms[0], s)
        t.insert(0, "model", int(spec["model"]))
        t.insert(0, "outcome", spec["outcome"])
        t.insert(0, "spec_id", spec["spec_id"])
        out.append(t)
    return pd.concat(out, ignore_index=True)


def se_frame_table16(msample: pd.DataFrame, config: Mapping, settings: SeSettings | None = None) -> pd.DataFrame:
    """Table 16 row b (DD without matching) for each matching outcome, every SE type.

    The plain difference of group means is the coefficient of treated × follow-up in the
    regression on treated and period effects; the study's cluster of the matching sample is its
    ``cluster`` column (the locality)."""
    s = settings or settings_from_config(config)
    follow = int(config["matching"]["followup_year"])
    frame = msample.assign(DD=(msample["treated"].astype(float)
                               * (msample["period"].astype(int) == follow).astype(float)))
    two_way = tuple(w.replace("locality", "cluster").replace("^year", "^period") for w in s.two_way)
    s16 = replace(s, study_cluster="cluster", two_way=two_way,
                  clusters=tuple(c for c in s.clusters if c in frame.columns),
                  bootstrap_clusters=tuple(c for c in s.bootstrap_clusters if c in frame.columns))
    out = []
    for y in config["matching"]["outcomes"]:
        if frame[y].notna().sum() == 0:
            continue
        design = build_design(frame, y, ["DD"], ("treated", "period"), keep=KEEP + ["cluster"])
        t = se_table(design, "DD", s16, time="period")
        t.insert(0, "outcome", y)
        out.append(t)
    return pd.concat(out, ignore_index=True)


# ------------------------------------------------------------------------------------ families
def _family_hypotheses(sample: pd.DataFrame, config: Mapping, family: str, outcome: str,
                       cluster: str) -> list[Hypothesis]:
    post_start = int(config["post_start"])
    hyps = []
    if family == "outcomes":
        model = max(int(m) for m in config["did"]["models"])
        for spec in base_specs(config):
            if int(spec["model"]) == model:
                d, terms = spec_design(sample, spec, keep=[cluster])
                hyps.append(Hypothesis(spec["outcome"], d, terms[0]))
        return hyps
    if family == "subgroups":
        for spec in _specs(config, "subgroup"):
            if spec["outcome"] == outcome:
                d, terms = spec_design(sample, spec, keep=[cluster])
                sg = spec["subgroup"]
                hyps += [Hypothesis(f"{SUBGROUPS[sg].short}: {level_label(sg, float(_level(t)))}", d, t)
                         for t in terms]
        return hyps
    if family == "semesters":
        for spec in _specs(config, "semester"):
            if spec["outcome"] == outcome:
                d, terms = spec_design(sample, spec, keep=[cluster])
                hyps += [Hypothesis(_semester(t), d, t) for t in terms
                         if int(_semester(t)[:4]) >= post_start]
        return hyps
    raise ValueError(f"inference: unknown family {family!r}")


def _level(term: str) -> str:
    """The level of an ``i(a, b)`` column ``a::level:b``."""
    return term.split("::")[1].split(":")[0]


def _semester(term: str) -> str:
    return term.split("::")[1].split(":")[0]


def multiple_frame(sample: pd.DataFrame, config: Mapping) -> pd.DataFrame:
    """Adjusted p-values: the outcomes of Table 6 (highest model), and for each DD outcome the
    subgroup levels of Tables 9–10 and the post semesters of Table 7."""
    mc = config["inference"]["multiple"]
    seed, B, w, cl = int(config["seed"]), int(mc["reps"]), mc["weights"], mc["cluster"]
    out = []
    families = [("outcomes", "all")] + [(f, y) for f in ("subgroups", "semesters")
                                        for y in config["did"]["outcomes"]]
    for family, outcome in families:
        hyps = _family_hypotheses(sample, config, family, outcome, cl)
        if len(hyps) < 2:
            continue
        t = adjusted_pvalues(hyps, cl, w, B, seed)
        t.insert(0, "outcome", outcome)
        t.insert(0, "family", family)
        t["cluster"] = cl
        out.append(t)
    return pd.concat(out, ignore_index=True)


# ------------------------------------------------------------------------ randomisation inference
def _classes(x: pd.Series, cuts) -> pd.Series:
    return pd.Series(np.searchsorted(np.asarray(sorted(cuts), float), x.to_numpy(float), side="right"),
                     index=x.index)


# department (first two digits of the ubigeo) × centre-size class × altitude class
STRATA = ["dpto", "size_class", "altitude_class"]


def ri_setup(sample: pd.DataFrame, centres: pd.DataFrame, localities: pd.DataFrame, config: Mapping):
    """The real fit, the candidate centres with their strata, the programme's centres and the
    sample's localities with coordinates."""
    ri = config["inference"]["ri"]
    spec = next(s for s in base_specs(config)
                if s["outcome"] == ri["outcome"] and int(s["model"]) == ri_model(config))
    design, terms = spec_design(sample, spec, keep=["latitude", "longitude"])
    from pra.ingest.centres import prepare_centres

    cand = prepare_centres(centres).rename(columns={"codccpp": "centre"})
    cand = cand.dropna(subset=["centre"])
    cand["dpto"] = cand["ubigeo"].str[:2]
    cand["size_class"] = _classes(cand["poblacion_2007"].fillna(0), ri["size_cuts"])
    cand["altitude_class"] = _classes(cand["altitud"].fillna(0), ri["altitude_cuts_m"])
    cand = cand.dropna(subset=["latitud", "longitud"])
    real = localities.dropna(subset=["latitude", "longitude", "codccpp"])
    programme = cand[cand["centre"].isin(real["codccpp"].astype(str))]
    loc = design.frame.groupby("locality")[["latitude", "longitude"]].first()
    return design, terms[0], cand, programme, loc


def ri_chunk(sample, centres, localities, config: Mapping, first: int, count: int) -> pd.DataFrame:
    """Placebo coefficients of maps ``first … first+count−1`` (one row per map)."""
    design, term, cand, programme, loc = ri_setup(sample, centres, localities, config)
    radius = float(config["spatial"]["treatment_radius_km"])
    fit = PlaceboFit(design, term)
    maps = placebo_maps(cand, programme, STRATA, int(config["seed"]), first, count,
                        exclude=programme["centre"].to_numpy())
    pos = cand.set_index("centre")[["latitud", "longitud"]]
    rows = []
    for p, ids in zip(range(first, first + count), maps):
        pts = pos.loc[ids]
        d = nearest_distance_km(loc["latitude"].to_numpy(float), loc["longitude"].to_numpy(float),
                                pts["latitud"].to_numpy(float), pts["longitud"].to_numpy(float))
        treated = loc.index[d <= radius].to_numpy()
        coef = fit.coef(treated) if 0 < len(treated) < len(loc) else float("nan")
        rows.append({"map": p, "coef": coef, "n_treated_localities": int(len(treated))})
    return pd.DataFrame(rows)


def ri_summary(observed: float, placebo: pd.DataFrame, config: Mapping) -> pd.DataFrame:
    """The randomisation p-value of the observed coefficient against the placebo maps."""
    ri = config["inference"]["ri"]
    ok = placebo["coef"].notna()
    return pd.DataFrame([{
        "outcome": ri["outcome"], "model": ri_model(config), "coef": float(observed),
        "pvalue_ri": ri_pvalue(observed, placebo["coef"].to_numpy(float)),
        "maps": int(len(placebo)), "maps_used": int(ok.sum()),
        "maps_without_treated_or_control": int((~ok).sum()),
        "placebo_mean": float(placebo.loc[ok, "coef"].mean()),
        "placebo_sd": float(placebo.loc[ok, "coef"].std(ddof=1)) if ok.sum() > 1 else float("nan"),
        "seed": int(config["seed"])}])


# ------------------------------------------------------------------------------- effect curve
def effect_curve_data(sample: pd.DataFrame, config: Mapping, keep=()) -> tuple[pd.DataFrame, str, dict[str, int]]:
    """The curve's estimation frame (the base DD's rows: producers within the sample space) and
    the column the curve is computed on, with the rows dropped on the way (by reason).

    ``inference.curve.model`` null: the outcome itself. A Table 6 model (1–3): the outcome net of
    that model's controls, ``y − x'β̂``, with ``β̂`` the control coefficients of the model's own fit
    (locality and year fixed effects, the treatment term included), on the fit's rows (rows it
    drops are counted). Butts' estimator then compares locality changes of this adjusted outcome:
    the controls take out household differences (size, head, dwelling) and the model-1 trends by
    locality characteristics, which otherwise stay in the bins' means as noise. ``keep``: further
    columns the caller needs on the frame (e.g. the planted effects)."""
    cc = config["inference"]["curve"]
    y, m = cc["outcome"], cc.get("model")
    specs = [s for s in base_specs(config) if s["outcome"] == y]
    from pra.did.specs import prepare_sample

    if m is None:
        frame, _ = prepare_sample(sample, specs[0])
        return frame, y, {}
    spec = next((s for s in specs if int(s["model"]) == int(m)), None)
    if spec is None:
        raise ValueError(f"config key inference.curve.model: no Table 6 fit of {y!r} with model {m} (did.models)")
    cluster = cc.get("cluster")
    extra = [c for c in [cluster, "dist_km", "post"] + list(keep) if c not in (None, "locality")]
    design, terms = spec_design(sample, spec, keep=list(dict.fromkeys(extra)))
    controls = [n for n in design.names if n not in terms]
    b = design.beta[[design.index(n) for n in controls]]
    f = design.frame
    col = f"{y}__net_of_model{int(m)}"
    return f.assign(**{col: f[y].to_numpy(float) - f[controls].to_numpy(float) @ b}), col, dict(design.dropped)


def curve_from_data(frame: pd.DataFrame, column: str, config: Mapping):
    """:func:`pra.inference.curve.effect_curve` of ``column`` with the settings of
    ``inference.curve``; when binsreg's plug-in is undefined (too few localities), J = n^(1/3)."""
    cc = config["inference"]["curve"]
    km = float(cc["control_km"])
    args = dict(level=float(config["inference"]["level"]), nsims=int(cc["nsims"]), seed=int(config["seed"]),
                cluster=cc["cluster"], conley_km=cc.get("conley_km"), kernel=cc.get("conley_kernel", "uniform"))
    if cc.get("nbins") is not None:
        return effect_curve(frame, column, km, nbins=int(cc["nbins"]), **args)
    try:
        return effect_curve(frame, column, km, **args)
    except ValueError as e:
        if "DPI" not in str(e):
            raise
    # too few localities for binsreg's plug-in (test-size data): J = n^(1/3), the IMSE rate
    ch, _ = locality_changes(frame, column, km)
    n_near = int((ch["dist_km"] < km).sum())
    J = int(np.clip(round(n_near ** (1 / 3)), 2, max(2, n_near // 2)))
    return replace(effect_curve(frame, column, km, nbins=J, **args),
                   selection="n^(1/3) (binsreg DPI undefined: too few localities)")


def curve_frame(sample: pd.DataFrame, config: Mapping):
    """The effect curve (:func:`pra.inference.curve.effect_curve`) of ``inference.curve.outcome``
    (net of ``inference.curve.model``'s controls) on the DD sample, locality = the study's unit;
    the rows the model's fit drops are added to the curve's ``dropped``."""
    frame, column, dropped = effect_curve_data(sample, config)
    curve = curve_from_data(frame, column, config)
    return replace(curve, dropped={**dropped, **curve.dropped}) if dropped else curve


def band_frame(store: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """Figure 6b's distance-band estimates of ``outcome`` from the DD store: band, its km range,
    coef, CI."""
    rows = store[(store["family"] == "band") & (store["outcome"] == outcome) & (store["role"] == "treatment")]
    if rows.empty:
        return pd.DataFrame(columns=["band", "d_low", "d_high", "coef", "ci_low", "ci_high"])
    bw = float(rows["band_km"].iloc[0])
    k = rows["term"].str.extract(r"dband::(\d+)")[0].astype(int)
    return pd.DataFrame({"band": k.to_numpy(), "d_low": k.to_numpy() * bw, "d_high": (k.to_numpy() + 1) * bw,
                         "coef": rows["coef"].to_numpy(), "ci_low": rows["ci_low"].to_numpy(),
                         "ci_high": rows["ci_high"].to_numpy()}).sort_values("band").reset_index(drop=True)


# ------------------------------------------------------------------------------- HonestDiD
def semester_event_study(sample: pd.DataFrame, config: Mapping, outcome: str):
    """Table 7's semester coefficients re-referenced to the last pre-period semester (HonestDiD's
    convention: the period before treatment is 0), with their CRV1 (``did.cluster``) covariance.
    Returns (β, Σ, pre semesters, post semesters, reference semester)."""
    spec = next(s for s in _specs(config, "semester") if s["outcome"] == outcome)
    cl = str(config["did"]["cluster"])
    d, terms = spec_design(sample, spec, keep=[cl])
    V, _, _ = crv1_vcov(d, cl)
    idx = [d.index(t) for t in terms]
    sem = [_semester(t) for t in terms]
    b, S = d.beta[idx], V[np.ix_(idx, idx)]
    # the omitted first semester has coefficient 0: put it back, then subtract the reference
    first = f"{min(int(y) for y in config['years'])}-I"
    sem = [first] + sem
    b = np.concatenate([[0.0], b])
    S = np.pad(S, ((1, 0), (1, 0)))
    post_start = int(config["post_start"])
    pre = [i for i, s_ in enumerate(sem) if int(s_[:4]) < post_start]
    post = [i for i, s_ in enumerate(sem) if int(s_[:4]) >= post_start]
    ref = pre[-1]
    A = np.eye(len(sem))
    A[:, ref] -= 1.0
    keep = [i for i in pre if i != ref] + post
    A = A[keep]
    return A @ b, A @ S @ A.T, [sem[i] for i in pre if i != ref], [sem[i] for i in post], sem[ref]


AVERAGE = "average of post semesters"


def honest_frames(sample: pd.DataFrame, config: Mapping) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Robust CIs (one row per target × restriction × M) and breakdown values (one row per target
    × restriction): relative magnitudes for the average post-semester effect and each post
    semester, smoothness for the average."""
    hc = config["inference"]["honest"]
    alpha = 1 - float(config["inference"]["level"])
    seed = int(config["seed"])
    beta, sigma, pre, post, ref = semester_event_study(sample, config, hc["outcome"])
    Tpre, Tpost = len(pre), len(post)
    targets = {AVERAGE: np.full(Tpost, 1.0 / Tpost)}
    targets.update({s_: np.eye(Tpost)[i] for i, s_ in enumerate(post)})
    rows, bd = [], []
    for name, l in targets.items():
        est = float(l @ beta[Tpre:])
        sd = float(np.sqrt(l @ sigma[Tpre:, Tpre:] @ l))
        z = stats.norm.ppf(1 - alpha / 2)
        rows.append({"target": name, "restriction": "original", "M": np.nan, "estimate": est,
                     "lb": est - z * sd, "ub": est + z * sd, "method": "normal"})
        # the FLCI is a numerical optimisation per M (seconds each): the average effect only
        for M in (hc["m"] if name == AVERAGE else []):
            ci, _ = flci_sd(beta, sigma, Tpre, Tpost, float(M), l, alpha)
            rows.append({"target": name, "restriction": "SD", "M": float(M), "estimate": est,
                         "lb": ci.lb, "ub": ci.ub, "method": ci.method})
        for M in hc["mbar"]:
            ci = rm_ci(beta, sigma, Tpre, Tpost, float(M), l, alpha, seed=seed)
            rows.append({"target": name, "restriction": "RM", "M": float(M), "estimate": est,
                         "lb": ci.lb, "ub": ci.ub, "method": ci.method})
        bd.append({"target": name, "restriction": "RM", "estimate": est,
                   "breakdown": rm_breakdown(beta, sigma, Tpre, Tpost, l, alpha, seed=seed)})
        if name == AVERAGE:  # on the grid only: each FLCI is an optimisation of seconds
            sd_rows = pd.DataFrame([r for r in rows if r["target"] == name and r["restriction"] == "SD"])
            excl = sd_rows[(sd_rows["lb"] > 0) | (sd_rows["ub"] < 0)]
            bd.append({"target": name, "restriction": "SD (grid)", "estimate": est,
                       "breakdown": float(excl["M"].max()) if len(excl) else float("nan")})
    ci = pd.DataFrame(rows)
    ci.insert(1, "reference", ref)
    ci.insert(2, "pre_periods", " ".join(pre))
    return ci, pd.DataFrame(bd)
