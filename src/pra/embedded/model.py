"""Planted parameters of the embedded household model (one frozen dataclass -> truth.json).

Every number the household generator uses lives here, so that `truth.json` records exactly what
each estimator should recover. Targets marked "Table N" come from the PRA-II report
(`docs/study.md`); "Annex A" is model 3 of the report's Annex A. The model
itself is documented in `docs/embedded_data.md`.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

YEARS = (2007, 2008, 2009, 2010, 2011, 2012)
POST_YEARS = (2010, 2011, 2012)
SEMESTERS_POST = ("2010-I", "2010-II", "2011-I", "2011-II", "2012-I", "2012-II")


def _d(**kw):
    return field(default_factory=lambda: dict(kw))


def _by_year(*vals):
    return field(default_factory=lambda: dict(zip(YEARS, vals)))


@dataclass(frozen=True)
class HouseholdModel:
    # ---- household mix per conglomerate-year (multiples of the producer count n_hh_<year>) ----
    # laborer-only households: Table 12 col. 4-6 (1,363) over Table 2's sample space (18,098)
    rate_laborer: float = 1363 / 18098
    rate_dependent: float = 0.12
    rate_other: float = 0.08
    share_producer_with_laborer: float = 0.15  # producer households with a farm-laborer member
    share_producer_goods_only: float = 0.026   # producers only through PRA-goods work (no 2000 row)
    rate_nonresponse: float = 0.04             # extra module-100 dwellings with result 3-7
    share_incomplete: float = 0.03             # result 2 among interviewed households
    share_second_household: float = 0.02       # hogar 12 in the same dwelling

    # ---- head and composition (Table 4, producer households within 20 km, by year) ----
    head_female: dict = _by_year(0.185, 0.180, 0.198, 0.212, 0.203, 0.215)
    head_age_mean: dict = _by_year(50.74, 51.42, 52.53, 53.08, 53.48, 53.66)
    head_age_sd: float = 15.5
    head_married: dict = _by_year(0.231, 0.239, 0.248, 0.267, 0.265, 0.277)  # p209 in {1,2}, as printed
    # head education shares: none, inc. primary, primary, inc. secondary, secondary, higher
    # non-university, university
    head_educ: dict = field(default_factory=lambda: {
        2007: (0.140, 0.333, 0.192, 0.131, 0.133, 0.035, 0.037),
        2008: (0.140, 0.333, 0.194, 0.139, 0.120, 0.035, 0.038),
        2009: (0.157, 0.330, 0.192, 0.140, 0.111, 0.037, 0.032),
        2010: (0.167, 0.319, 0.189, 0.140, 0.115, 0.039, 0.032),
        2011: (0.157, 0.306, 0.205, 0.132, 0.125, 0.040, 0.035),
        2012: (0.151, 0.305, 0.203, 0.133, 0.131, 0.041, 0.036),
    })
    head_migrant: dict = _by_year(0.281, 0.288, 0.292, 0.293, 0.273, 0.274)
    native_lang_sierra: float = 0.60   # head p300a in {1,2} in sierra dominios
    native_lang_other: float = 0.10
    hh_size: dict = _by_year(4.351, 4.417, 4.425, 4.342, 4.195, 4.028)
    n_0_5: dict = _by_year(0.515, 0.494, 0.467, 0.428, 0.411, 0.364)
    n_6_14: dict = _by_year(0.965, 0.877, 0.838, 0.783, 0.772, 0.713)
    n_65plus: dict = _by_year(0.365, 0.494, 0.575, 0.634, 0.553, 0.515)
    persons_per_room: dict = _by_year(1.735, 1.667, 1.669, 1.626, 1.568, 1.539)

    # ---- housing shares (Table 4) ----
    walls: dict = _d(brick=0.124, adobe=0.522, tapia=0.229, wood=0.076, other=0.049)
    floor_finished: dict = _by_year(0.100, 0.097, 0.102, 0.100, 0.118, 0.132)
    floor_cement: dict = _by_year(0.177, 0.181, 0.181, 0.185, 0.191, 0.193)
    roof: dict = _d(tile_concrete_wood=0.383, tin=0.442, other=0.175)
    no_electricity: dict = _by_year(0.404, 0.348, 0.317, 0.295, 0.263, 0.233)
    water_inside: dict = _by_year(0.380, 0.372, 0.389, 0.407, 0.407, 0.584)
    water_outside: dict = _by_year(0.058, 0.058, 0.058, 0.065, 0.053, 0.050)
    sanit_public: dict = _by_year(0.190, 0.192, 0.208, 0.229, 0.238, 0.254)
    sanit_septic: dict = _by_year(0.404, 0.446, 0.484, 0.479, 0.479, 0.490)
    firewood: float = 0.908
    # correlation of each housing latent with the household's socio-economic index
    rho_housing: float = 0.5
    rho_educ: float = 0.6
    locality_share_ses: float = 0.45   # share of the SES index that is common to the locality

    # ---- production (Table 4) ----
    agri_given_2000: float = 0.917 / 0.974
    livestock_given_2000: float = 0.908 / 0.974
    forestry: dict = _by_year(0.178, 0.210, 0.235, 0.244, 0.264, 0.239)
    hectares_mean: float = 6.4
    hectares_log_sd: float = 1.5
    titled_any: float = 0.136
    rainfed_any: dict = _by_year(0.795, 0.820, 0.879, 0.883, 0.912, 0.901)
    gpv_mean: float = 4387.0
    gpv_log_sd: float = 1.2
    sales_share: float = 0.6
    own_cons_share: float = 0.136
    # layout of the producer module (enaho02 -2000, -2000a parcels, -2100 crops)
    share_eventual: float = 0.06       # p20002 = 2 (eventual activity) among producer rows
    crops_extra_mean: float = 1.5      # crops per agricultural producer: 1 + Poisson(mean)
    # p2005e codes of titled plots (title in hand) and of the other plots, with their weights
    title_codes: tuple = (1, 2, 3)
    title_weights: tuple = (0.5, 0.3, 0.2)
    untitled_codes: tuple = (4, 5, 6, 7, 8, 9, 10)
    untitled_weights: tuple = (0.08, 0.05, 0.25, 0.07, 0.35, 0.15, 0.05)

    # ---- INEI's missing-value codes in the perception module ----
    # share of answers coded 9 ('Missing value') in p32, p37 and p39a, each question drawn apart
    perception_missing: float = 0.004
    ladder_no_answer: float = 0.01     # 2012: p39b2 = 1 (no sabe / no responde), p39b1 blank

    # ---- expenditure: ln y = mu + a_l + g_t + h_t(locality) + X c + kappa_t*S + effect + eps ----
    locality_sd: float = 0.25          # a_l = locality_sd * (0.5 * b_l + sqrt(.75) * N(0,1))
    # a_l += slope * log10((households_2007 + 1) / 100). 0 by default: corridor districts hold
    # the larger towns, and the matching probit (linear in households_2007) cannot balance a
    # log-size term, which would then bias both periods' matched differences unequally
    # (docs/embedded_data.md §6.1)
    locality_size_slope: float = 0.0
    # Annex A, model 3 (ln expenditure), planted as printed (electricity sign included)
    coef: dict = _d(
        head_female=-0.0070, head_age=0.0044, educ_2=0.1277, educ_3=0.2138, educ_4=0.2968,
        educ_5=0.3361, educ_6=0.5129, educ_7=0.6410, head_married=0.1988, head_migrant=0.0038,
        electricity=-0.1229, no_water=-0.0469, no_sanitation=-0.0812, cook_firewood=-0.2134,
        wall_brick=0.1518, floor_finished=0.1562, roof_tile=0.0194,
        hh_size=-0.08, n_0_5=-0.05,
    )
    head_age_centre: float = 50.0
    hh_size_centre: float = 4.3
    # locality characteristics x year (h_t): coefficient per year (0 in 2007)
    loc_year: dict = field(default_factory=lambda: {
        "rural": dict(zip(YEARS, (0.0, -0.01, -0.02, -0.02, -0.03, -0.03))),
        "altitude_km": dict(zip(YEARS, (0.0, 0.005, 0.01, 0.01, 0.015, 0.02))),
        "coast": dict(zip(YEARS, (0.0, 0.01, 0.02, 0.02, 0.03, 0.03))),
        "selva": dict(zip(YEARS, (0.0, 0.0, 0.01, 0.01, 0.01, 0.02))),
    })
    # covariate-dependent trend: kappa * (t - 2009) * S, S = standardised head-education rank
    kappa: float = 0.015
    # Table 4 ln expenditure (mean, sd) for producer households within 20 km: g_t and the
    # residual sd are calibrated to these on the generated sample (recorded in params)
    ln_exp_mean: dict = _by_year(5.465, 5.490, 5.548, 5.619, 5.698, 5.767)
    ln_exp_sd: dict = _by_year(0.701, 0.696, 0.630, 0.639, 0.606, 0.595)
    min_eps_sd: float = 0.30

    # ---- planted spatial DD effect ----
    radius_km: float = 10.0
    sample_space_km: float = 20.0
    effect_mean: float = 0.043
    # semester profile (treated x semester, pre = 0); mean of the six values = 0.043
    semester_profile: dict = _d(**{"2010-I": 0.012, "2010-II": 0.050, "2011-I": 0.130,
                                   "2011-II": 0.020, "2012-I": 0.040, "2012-II": 0.006})
    # multipliers by head education 1..7 (Table 9 pattern) and locality size (Table 10)
    educ_multiplier: dict = _d(**{"1": 0.2, "2": 0.5, "3": 1.0, "4": 2.0, "5": 2.0, "6": 4.0,
                                  "7": 4.0})
    size_multiplier: dict = _d(dispersed=0.8, concentrated=1.6, urban=0.4)
    size_cuts: tuple = (200, 2000)     # inhabitants in 2007 (poblacion_2007)
    # households whose (pass-1) counterfactual ln expenditure is within line_band of ln z get
    # line_multiplier times the effect: the poverty DD then reaches about -0.03
    line_band: float = 0.25
    line_multiplier: float = 1.75

    # ---- poverty lines (Table 4: 0.530 pooled) ----
    poverty_target_pooled: float = 0.530
    poverty_target: dict = _by_year(0.649, 0.607, 0.558, 0.497, 0.467, 0.424)  # reported only
    line_ratio_urban: float = 1.04
    line_ratio_rural: float = 0.98
    line_ratio_lima: float = 1.08
    extreme_line_ratio: float = 0.55

    # ---- subjective poverty (Table 4): latent = -ln y_cf + age/female terms + noise ----
    subj_living: dict = _by_year(0.472, 0.508, 0.441, 0.352, 0.371, 0.283)
    subj_self: dict = field(default_factory=lambda: dict(zip(YEARS[:5], (0.677, 0.661, 0.609, 0.596, 0.585))))
    subj_noise_sd: float = 0.6
    subj_age_coef: float = 0.005
    subj_female_coef: float = 0.05

    # ---- matching design (programme survey 2012, Table 16 row a) ----
    survey_n_corridor: int = 2356
    survey_n_adjacent: int = 4019
    survey_n_unusable: int = 225
    # Selection on observables: corridor households are kept from survey_pool_factor x as many
    # candidates with odds exp(sum gamma_k x_k), x_k probit covariates (docs/embedded_data.md §6)
    survey_pool_factor: int = 40
    # γ: household covariates only, half the strength of the first design so that the kernel
    # (bandwidth 0.06) undoes it where the locality covariates push the score to its ends
    survey_selection: dict = _d(educ_3=0.015, educ_4=0.03, educ_5=0.045, educ_6=0.09, educ_7=0.12,
                                wall_brick=0.1, floor_finished=0.06, roof_concrete_tile=-0.1,
                                head_migrant=-0.1, head_female=-0.1, n_0_5=-0.15, n_6_14=-0.125,
                                head_age=0.004)
    # Candidates come from the population the matching baseline samples (ENAHO producers of this
    # year in the frame districts): each baseline centre's households go to survey_twins other
    # centres of the same group, dominio and urban class, nearest in size and altitude (§6.1)
    survey_baseline_year: int = 2009
    survey_twins: int = 3
    att_ln_exp: float = 0.102                  # exact mean of the survey effect over treated
    att_ln_exp_poor: float = 0.17              # effect for counterfactually poor treated
    att_living: float = -0.128                 # expected probability shift (realised in params)
    att_self: float = -0.066
    survey_subj_living: float = 0.483          # Table 5 2012 (counterfactual) rates
    survey_subj_self: float = 0.471
    survey_months: tuple = (6, 7, 8, 9, 10)
    # Violation switch (issue 15): a differential corridor trend delta added to the 2012 ln
    # expenditure of every survey household in a corridor district (effects, adjacent households
    # and subjective poverty unchanged), so the matching DD on ln expenditure is biased by exactly
    # delta in expectation (docs/embedded_data.md §6.3). 0 = the design's assumption holds.
    corridor_trend: float = 0.0

    # ---- deflators ----
    inflation: float = 0.03
    dept_price_sd: float = 0.02

    def to_dict(self) -> dict:
        """JSON-serialisable copy (dict keys as strings)."""
        def conv(v):
            if isinstance(v, dict):
                return {str(k): conv(x) for k, x in v.items()}
            if isinstance(v, tuple):
                return [conv(x) for x in v]
            return v
        return {f.name: conv(getattr(self, f.name)) for f in dataclasses.fields(self)}


DEFAULT = HouseholdModel()


def from_config(config: dict) -> HouseholdModel:
    """The household model with the overrides of ``config["data"]["embedded"]``.

    A key of that block that names a field of :class:`HouseholdModel` (e.g. ``corridor_trend``)
    replaces the default; a dict-valued field is updated key by key (a partial block keeps the
    other defaults). Keys that are not fields (``scale``, ``dir``, ...) are ignored.
    """
    block = ((config or {}).get("data") or {}).get("embedded") or {}
    fields = {f.name for f in dataclasses.fields(HouseholdModel)}
    over = {}
    for key, value in block.items():
        if key not in fields:
            continue
        default = getattr(DEFAULT, key)
        if isinstance(default, dict) and isinstance(value, dict):
            value = {**default, **value}
        elif isinstance(default, float) and isinstance(value, (int, float)) and not isinstance(value, bool):
            value = float(value)
        over[key] = value
    return dataclasses.replace(DEFAULT, **over)
