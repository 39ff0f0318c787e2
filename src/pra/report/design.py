"""The design behind a set of estimates, and the words the tables, figures and captions use for it.

A table must describe the design that produced the estimates it shows, so every design fact in a
note (post period, pre-period, first semester, clustering, radius, sample space, household
sample, baseline year and months, follow-up year, kernel, bandwidth, common support, bootstrap)
comes from here: read from the estimates store (:func:`dd_design`, :func:`matching_design`: the
design columns of :mod:`pra.store`), or from the configuration for the report's captions
(:func:`dd_design_from_config`, :func:`matching_design_from_config`, :func:`caption_texts`).
Both build the same dataclasses, so the sentences are the same.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from typing import Mapping, Sequence

from pra.geo.sample import SAMPLE_LABELS

# did.cluster values (schemas/config.schema.yaml lists the same ones) and how notes name them
CLUSTER_LABELS = {
    "locality": "locality (populated centre)",
    "ubigeo": "district (ubigeo)",
    "conglome": "ENAHO conglomerate (primary sampling unit)",
}
STAR_NOTE = "* p < 0.10, ** p < 0.05, *** p < 0.01."
# outcome labels, in the order tables and figures list the outcomes
OUTCOME_LABELS = {
    "ln_pc_exp": "Ln(per capita expenditure)",
    "poor": "Monetary poverty",
    "subj_poor_self": "Subjective poverty (self-definition)",
    "subj_poor_living": "Subjective poverty (living conditions)",
    "poverty_gap": "Poverty gap",
    "pc_exp_real": "Per capita expenditure",
}
SHORT_OUTCOME_LABELS = {"ln_pc_exp": "Ln(pc exp.)", "poor": "Mon. poverty", "subj_poor_living": "Subj. poverty",
                        "subj_poor_self": "Subj. poverty (self)", "poverty_gap": "Poverty gap"}


def ordered_outcomes(outcomes) -> list[str]:
    """Outcomes in :data:`OUTCOME_LABELS` order, others after them alphabetically."""
    present = {str(o) for o in outcomes}
    return [o for o in OUTCOME_LABELS if o in present] + sorted(present - set(OUTCOME_LABELS))


def outcome_label(outcome: str, short: bool = False) -> str:
    return (SHORT_OUTCOME_LABELS if short else OUTCOME_LABELS).get(outcome, outcome)
KERNEL_LABELS = {"gaussian": "Gaussian", "epanechnikov": "Epanechnikov"}


def period_text(years: Sequence[int]) -> str:
    """``[2010, 2011, 2012]`` -> "2010–2012"; one year -> "2012"; a gap -> "2007, 2009"."""
    ys = sorted({int(y) for y in years})
    if not ys:
        return "none"
    if len(ys) > 1 and ys == list(range(ys[0], ys[-1] + 1)):
        return f"{ys[0]}–{ys[-1]}"
    return ", ".join(str(y) for y in ys)


def months_text(months: Sequence[int]) -> str:
    """``[7, 8, 9, 10, 11]`` -> "July–November"; not consecutive -> "January, March and May"."""
    ms = sorted({int(m) for m in months})
    names = [calendar.month_name[m] for m in ms]
    if not names:
        return "no month"
    if len(ms) > 2 and ms == list(range(ms[0], ms[-1] + 1)):
        return f"{names[0]}–{names[-1]}"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def cluster_text(cluster: str | None) -> str:
    if cluster is None:
        return "an unrecorded variable"
    return CLUSTER_LABELS.get(str(cluster), str(cluster))


def km(x) -> str:
    return f"{float(x):g}"


@dataclass(frozen=True)
class DDDesign:
    years: tuple[int, ...]
    post_start: int
    cluster: str | None
    radius_km: float | None
    sample_space_km: float | None
    sample: str | None

    @property
    def pre_years(self) -> list[int]:
        return [y for y in self.years if y < self.post_start]

    @property
    def post_years(self) -> list[int]:
        return [y for y in self.years if y >= self.post_start]

    @property
    def first_semester(self) -> str:
        return f"{min(self.years)}-I"

    @property
    def sample_label(self) -> str:
        return SAMPLE_LABELS.get(self.sample or "", self.sample or "households")

    def post_definition(self) -> str:
        """What Post is, with this run's radius and post period."""
        radius = f"within {km(self.radius_km)} km" if self.radius_km is not None else "within the treatment radius"
        return (f"Post = treated (household {radius} of the nearest geo-referenced PRA-II locality) × "
                f"post period ({period_text(self.post_years)})")

    def se_note(self) -> str:
        return f"Standard errors clustered by {cluster_text(self.cluster)} in parentheses. {STAR_NOTE}"

    def summary(self) -> str:
        """One sentence on the design (the captions' common part)."""
        space = f"{km(self.sample_space_km)} km" if self.sample_space_km is not None else "the sample space"
        return (f"Spatial difference-in-differences on ENAHO {period_text(self.years)}, {self.sample_label} "
                f"within {space} of a geo-referenced PRA-II locality: y = locality FE + year FE + b·Post + "
                f"controls, {self.post_definition()}; controls are nested in models 1–3 (locality "
                "characteristics × year; + household head; + household and housing). Standard errors "
                f"clustered by {cluster_text(self.cluster)}; stars * 10%, ** 5%, *** 1%.")


@dataclass(frozen=True)
class MatchingDesign:
    baseline_year: int | None
    baseline_months: tuple[int, ...]
    followup_year: int | None
    kernel: str | None
    bandwidth: float | None
    common_support: str | None
    trim_pct: float | None
    bootstrap_reps: int | None
    seed: int | None
    cluster: str | None

    def _year(self, y) -> str:
        return str(y) if y is not None else "(unrecorded year)"

    @property
    def baseline(self) -> str:
        return self._year(self.baseline_year)

    @property
    def followup(self) -> str:
        return self._year(self.followup_year)

    def baseline_text(self) -> str:
        months = f" interviewed {months_text(self.baseline_months)}" if self.baseline_months else ""
        return f"ENAHO {self.baseline} producer households{months}"

    def support_text(self) -> str:
        cs = self.common_support or "none"
        if cs == "none":
            return "no common-support restriction"
        if cs == "trim":
            return f"common support trimmed at {km(self.trim_pct)}% of the treated scores"
        return "common support (treated outside the controls' score range dropped)"

    def kernel_text(self) -> str:
        k = KERNEL_LABELS.get(str(self.kernel), str(self.kernel))
        bw = f", bandwidth {km(self.bandwidth)}" if self.bandwidth is not None else ""
        return f"{k} kernel on the propensity score{bw}, {self.support_text()}"

    def bootstrap_text(self) -> str:
        reps = f"{self.bootstrap_reps} " if self.bootstrap_reps is not None else ""
        seed = f", seed {self.seed}" if self.seed is not None else ""
        return f"{reps}bootstrap replications resampling clusters of {cluster_text(self.cluster)} within year{seed}"

    def summary(self) -> str:
        return (f"Matching difference-in-differences: {self.baseline_text()} in the sample-frame districts "
                f"(baseline) and the programme's {self.followup} survey (follow-up); treated = household in "
                "a corridor district. A probit per year gives the propensity score; the controls of each "
                f"treated household are weighted by the {self.kernel_text()}; the ATT is the change between "
                "years of the treated-minus-weighted-control difference. Standard errors from "
                f"{self.bootstrap_text()}.")


# --------------------------------------------------------------------------------------------
# from the estimates store
def _need(store, columns: Sequence[str], where: str) -> None:
    from pra.store import StoreError

    miss = [c for c in columns if c not in store.columns]
    if miss:
        raise StoreError(f"{where}: missing design column(s) {miss}: the store was written by an older "
                         "pipeline; rebuild it (the tables describe the design recorded with the estimates)")


def _design_frame(store, families: Sequence[str] | None):
    df = store if families is None else store[store["family"].isin(list(families))]
    return df if len(df) else store


def dd_design(store, families: Sequence[str] | None = ("base",), where: str = "estimates store") -> DDDesign:
    """The design of the DD rows of ``families`` (default: the base specification, whose radius,
    sample and ring the main tables describe)."""
    from pra.store import one_design_value, split_ints

    _need(store, ["family", "post_start", "years", "cluster", "radius_km", "sample_space_km", "sample"], where)
    df = _design_frame(store, families)
    post = one_design_value(df, "post_start", where)
    years = tuple(split_ints(one_design_value(df, "years", where)))
    if post is None or not years:
        raise ValueError(f"{where}: rows of families {list(families or [])} record no post_start/years: "
                         "rebuild the store with the current pipeline")
    radius = one_design_value(df, "radius_km", where)
    space = one_design_value(df, "sample_space_km", where)
    return DDDesign(years=years, post_start=int(post), cluster=one_design_value(df, "cluster", where),
                    radius_km=None if radius is None else float(radius),
                    sample_space_km=None if space is None else float(space),
                    sample=one_design_value(df, "sample", where))


def matching_design(store, where: str = "results/matching/estimates.parquet") -> MatchingDesign:
    from pra.store import DESIGN_COLUMNS, one_design_value, split_ints

    _need(store, ["family"] + [c for c in DESIGN_COLUMNS if c != "years"], where)
    df = _design_frame(store, ["matching"])

    def one(c, cast=None):
        v = one_design_value(df, c, where)
        return v if v is None or cast is None else cast(v)

    return MatchingDesign(baseline_year=one("baseline_year", int),
                          baseline_months=tuple(split_ints(one("baseline_months"))),
                          followup_year=one("followup_year", int), kernel=one("kernel"),
                          bandwidth=one("bandwidth", float), common_support=one("common_support"),
                          trim_pct=one("trim_pct", float), bootstrap_reps=one("bootstrap_reps", int),
                          seed=one("seed", int), cluster=one("cluster"))


# --------------------------------------------------------------------------------------------
# from the configuration (the report's captions, rendered from the config of the run)
def dd_design_from_config(config: Mapping) -> DDDesign:
    sp = config["spatial"]
    return DDDesign(years=tuple(sorted(int(y) for y in config["years"])), post_start=int(config["post_start"]),
                    cluster=config["did"].get("cluster", "locality"),
                    radius_km=float(sp["treatment_radius_km"]), sample_space_km=float(sp["sample_space_km"]),
                    sample=sp.get("sample", "producers"))


def matching_design_from_config(config: Mapping) -> MatchingDesign:
    m = config["matching"]
    return MatchingDesign(baseline_year=int(m["baseline_year"]),
                          baseline_months=tuple(int(x) for x in m["baseline_months"]),
                          followup_year=int(m["followup_year"]), kernel=m.get("kernel"),
                          bandwidth=m.get("bandwidth"), common_support=m.get("common_support") or "none",
                          trim_pct=m.get("trim_pct") if m.get("common_support") == "trim" else None,
                          bootstrap_reps=m.get("bootstrap_reps"), seed=config.get("seed"),
                          cluster="locality")


def _rst(text: str) -> str:
    """Escape reStructuredText markup characters (the stars of the star note, ...)."""
    for ch in ("\\", "*", "`", "|", "_"):
        text = text.replace(ch, "\\" + ch)
    return text


def caption_texts(config: Mapping) -> dict[str, str]:
    """Pieces of text for the report's captions (``report/*.rst`` read them as
    ``{{ snakemake.params.captions.<key> }}``), escaped for reStructuredText."""
    return {k: _rst(v) for k, v in design_words(config).items()}


def design_words(config: Mapping) -> dict[str, str]:
    """The words for this configuration's design (plain text; :func:`caption_texts` escapes them)."""
    dd, m = dd_design_from_config(config), matching_design_from_config(config)
    return {
        "dd": dd.summary(), "matching": m.summary(), "years": period_text(dd.years),
        "pre": period_text(dd.pre_years), "post": period_text(dd.post_years),
        "first_semester": dd.first_semester, "cluster": cluster_text(dd.cluster),
        "radius": km(dd.radius_km), "space": km(dd.sample_space_km), "sample": dd.sample_label,
        "sample_cap": dd.sample_label.capitalize(), "baseline": m.baseline_text(), "followup": m.followup,
        "kernel": m.kernel_text(), "matching_cluster": cluster_text(m.cluster),
        "band_width": km(config["did"]["band_width_km"]),
    }


__all__ = ["CLUSTER_LABELS", "DDDesign", "MatchingDesign", "OUTCOME_LABELS", "SHORT_OUTCOME_LABELS", "STAR_NOTE", "caption_texts", "cluster_text",
           "dd_design", "dd_design_from_config", "design_words", "matching_design", "matching_design_from_config",
           "months_text", "ordered_outcomes", "outcome_label", "period_text"]
