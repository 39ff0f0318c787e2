"""Embedded data generator, part 2: households, persons, module contents, programme survey, truth.

`build_households(geo, scale, rng)` draws every ENAHO household of every conglomerate-year of
`geo` (see `pra.embedded.geography`), its members, housing, production and employment, and its
outcomes from the structural model documented in `docs/embedded_data.md` with the parameters of
`pra.embedded.model.HouseholdModel`. It returns CONTENT only: one DataFrame per (year, module) in
that year's INEI code scheme with canonical lower-case names and integer ids; the writer
(`pra.embedded.synthesize`) applies storage quirks (year-column spelling, padding, formats).

Everything is vectorised (no Python loop over households or persons).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from pra.embedded.model import DEFAULT, HouseholdModel
from pra.embedded.shocks import expenditure_shocks, shock_summary

PRODUCER, LABORER, DEPENDENT, OTHER = 0, 1, 2, 3
HH_TYPES = np.array(["producer", "laborer", "dependent", "other"], dtype=object)
MODULE_KEYS = ("sumaria", "100", "200", "300", "500", "2000", "2000a", "2100", "01b-2")
DPTO_CODES = [d for d in range(1, 26) if d != 7]  # the deflator file's 24 departments (Callao -> 15)

# spatial deflator ld by dominioA (Lima Metropolitana = 1; cheaper rural sierra)
LD = {1: 0.93, 2: 0.86, 3: 0.94, 4: 0.87, 5: 0.96, 6: 0.88, 7: 0.85, 8: 0.76, 9: 0.86, 10: 0.77,
      11: 0.88, 12: 0.79, 13: 0.90, 14: 0.82, 15: 0.95, 16: 0.85, 17: 1.0}


@dataclass
class Households:
    modules: dict                       # (year, module) -> DataFrame
    deflators: pd.DataFrame             # year, dpto, i00..i08
    spatial_deflator: pd.DataFrame      # dominioa, ld
    programme_survey: pd.DataFrame      # household level, docs/embedded_data.md
    truth: pd.DataFrame                 # per household-year (contract §2.4)
    params: dict                        # planted + calibrated parameters (JSON-serialisable)
    survey_truth: pd.DataFrame = field(default_factory=pd.DataFrame)  # per survey household


class GeographyError(ValueError):
    """The geography handed to the household generator lacks something it needs."""


# ----------------------------------------------------------------------------- small helpers
def _ordered(z: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """Category index 0..K-1 of a N(0,1) latent cut at the normal quantiles of `shares`.

    `shares` is (K,) or (n, K), listed from the lowest latent to the highest, so the expected
    share of category k is shares[k] when z ~ N(0,1)."""
    shares = np.asarray(shares, dtype=float)
    cum = np.cumsum(shares, axis=-1)[..., :-1] / shares.sum(axis=-1, keepdims=True)
    thr = ndtri(np.clip(cum, 1e-12, 1 - 1e-12))
    if thr.ndim == 1:
        return np.searchsorted(thr, z, side="right")
    return (z[:, None] > thr).sum(axis=1)


def _pick(rng, codes, n, p=None) -> np.ndarray:
    return np.asarray(codes)[rng.choice(len(codes), size=n, p=p)]


def _by_year(d: dict, years: np.ndarray) -> np.ndarray:
    """Map a {year: value} dict onto an array of years (values may be tuples -> 2-D)."""
    ys = np.array(sorted(d))
    vals = np.array([d[y] for y in ys], dtype=float)
    idx = np.searchsorted(ys, years)
    if (idx >= len(ys)).any() or (ys[np.minimum(idx, len(ys) - 1)] != years).any():
        raise ValueError(f"model parameter has no value for years {sorted(set(years) - set(ys))}")
    return vals[idx]


def _dpto_number(ubigeo) -> np.ndarray:
    """The department number (first two digits of ubigeo), parsed once per distinct value."""
    codes, uniq = pd.factorize(pd.Series(ubigeo).str[:2], use_na_sentinel=False)
    return pd.to_numeric(pd.Series(uniq)).to_numpy()[codes]


def dominio_a(ubigeo: pd.Series, dominio: np.ndarray, estrato: np.ndarray) -> np.ndarray:
    """INEI's dominioA (docs/enaho_layout.md §3): 17 spatial-deflator domains."""
    dpto = _dpto_number(ubigeo)
    dpto = np.where(dpto == 7, 15, dpto)
    dominio = np.asarray(dominio)
    estr = np.where(dominio == 8, 1, np.asarray(estrato))
    urban = estr < 6
    out = np.where(urban, 2 * dominio - 1, 2 * dominio)
    selva_baja = np.isin(dpto, (16, 17, 25))
    out = np.where(dominio == 7, np.where(selva_baja, np.where(urban, 15, 16), np.where(urban, 13, 14)), out)
    out = np.where(dominio == 8, 17, out)
    return out.astype(int)


def deflator_dpto(ubigeo) -> np.ndarray:
    d = _dpto_number(ubigeo)
    return np.where(d == 7, 15, d).astype(int)


# ----------------------------------------------------------------------------- deflators
def build_deflators(rng: np.random.Generator, m: HouseholdModel = DEFAULT):
    """Temporal deflators (2004-2012 x 24 departments, i00..i08) and spatial deflator ld."""
    years = np.arange(2004, 2013)
    level = 1 + m.dept_price_sd * rng.standard_normal(len(DPTO_CODES))
    level[DPTO_CODES.index(15)] = 1.0                      # Lima is the base
    cat_rate = m.inflation + 0.01 * rng.standard_normal(8)  # i01..i08 inflation rates
    yy, dd = np.meshgrid(years, np.arange(len(DPTO_CODES)), indexing="ij")
    yy, dd = yy.ravel(), dd.ravel()
    noise = 1 + 0.004 * rng.standard_normal(len(yy))
    noise[(yy == 2012) & (np.array(DPTO_CODES)[dd] == 15)] = 1.0
    out = pd.DataFrame({"year": yy.astype(int), "dpto": np.array(DPTO_CODES)[dd].astype(int)})
    out["i00"] = np.round((1 + m.inflation) ** (yy - 2012) * level[dd] * noise, 6)
    for k in range(8):
        out[f"i0{k + 1}"] = np.round((1 + cat_rate[k]) ** (yy - 2012) * level[dd] * noise, 6)
    spatial = pd.DataFrame({"dominioa": list(LD), "ld": [round(v, 6) for v in LD.values()]})
    return out, spatial


# ----------------------------------------------------------------------------- covariates
def _draw_covariates(rng, m: HouseholdModel, years, b_loc, dominio, dpto):
    """Head, composition and housing for n households (arrays), Table 4 marginals."""
    n = len(years)
    ls = m.locality_share_ses
    ses = np.sqrt(ls) * b_loc + np.sqrt(1 - ls) * rng.standard_normal(n)
    c = {"ses": ses}
    # head
    c["head_female"] = rng.random(n) < _by_year(m.head_female, years)
    c["head_age"] = np.clip(np.rint(_by_year(m.head_age_mean, years) + m.head_age_sd * rng.standard_normal(n)), 18, 95).astype(int)
    c["head_married"] = rng.random(n) < _by_year(m.head_married, years)
    ze = m.rho_educ * ses + np.sqrt(1 - m.rho_educ ** 2) * rng.standard_normal(n)
    c["head_educ"] = _ordered(ze, _by_year(m.head_educ, years)) + 1      # 1..7
    c["head_migrant"] = rng.random(n) < _by_year(m.head_migrant, years)
    sierra = np.isin(dominio, (4, 5, 6))
    native = rng.random(n) < np.where(sierra, m.native_lang_sierra, m.native_lang_other)
    aymara = (dpto == 21) & (rng.random(n) < 0.4)
    c["head_lang"] = np.where(native, np.where(aymara, 2, 1), 4)
    # composition: head + spouse (iff married) + children + elderly + other adults
    c["spouse"] = c["head_married"].astype(int)
    sp_age = c["head_age"] + np.where(c["head_female"], 3, -3) + np.rint(4 * rng.standard_normal(n))
    c["spouse_age"] = np.clip(sp_age, 16, 98).astype(int)
    c["n05"] = rng.poisson(_by_year(m.n_0_5, years))
    c["n614"] = rng.poisson(_by_year(m.n_6_14, years))
    old_hs = (c["head_age"] >= 65) + c["spouse"] * (c["spouse_age"] >= 65)
    lam65 = np.zeros(n)
    lam_ad = np.zeros(n)
    for y in np.unique(years):   # loop over <= 6 years, not households
        s = years == y
        lam65[s] = max(0.02, m.n_65plus[y] - old_hs[s].mean())
        lam_ad[s] = max(0.05, m.hh_size[y] - 1 - c["spouse"][s].mean() - m.n_0_5[y] - m.n_6_14[y] - lam65[s][0])
    c["n65o"] = rng.poisson(lam65)
    c["nad"] = rng.poisson(lam_ad)
    c["size"] = 1 + c["spouse"] + c["n05"] + c["n614"] + c["n65o"] + c["nad"]
    c["n65"] = old_hs + c["n65o"]

    def latent():
        return m.rho_housing * ses + np.sqrt(1 - m.rho_housing ** 2) * rng.standard_normal(n)
    w = m.walls  # lowest latent -> worst: wood, other, tapia, adobe, brick
    wall = _ordered(latent(), [w["wood"], w["other"], w["tapia"], w["adobe"], w["brick"]])
    c["p102"] = np.select([wall == 4, wall == 3, wall == 2, wall == 1],
                          [_pick(rng, [1, 2], n, [0.9, 0.1]), 3, 4, _pick(rng, [5, 6, 8, 9], n)], 7)
    fin, cem = _by_year(m.floor_finished, years), _by_year(m.floor_cement, years)
    floor = _ordered(latent(), np.column_stack([1 - fin - cem, cem, fin]))
    c["p103"] = np.select([floor == 2, floor == 1], [_pick(rng, [1, 3, 4], n, [0.2, 0.3, 0.5]), 5], 6)
    r = m.roof
    roof = _ordered(latent(), [r["other"], r["tin"], r["tile_concrete_wood"]])
    c["p103a"] = np.select([roof == 2, roof == 1], [_pick(rng, [1, 2, 3], n, [0.2, 0.3, 0.5]), 4],
                           _pick(rng, [5, 6, 7, 8], n, [0.4, 0.1, 0.4, 0.1]))
    c["p1121"] = (latent() > ndtri(_by_year(m.no_electricity, years))).astype(int)
    wi, wo = _by_year(m.water_inside, years), _by_year(m.water_outside, years)
    water = _ordered(latent(), np.column_stack([1 - wi - wo, wo, wi]))
    c["p110"] = np.select([water == 2, water == 1], [1, _pick(rng, [2, 3], n)], _pick(rng, [4, 5, 6, 7], n, [0.05, 0.2, 0.7, 0.05]))
    sp, ss = _by_year(m.sanit_public, years), _by_year(m.sanit_septic, years)
    san = _ordered(latent(), np.column_stack([1 - sp - ss, ss, sp]))
    # canonical sanitation 2007-2011 codes (p111): 1/2 public, 3 septic, 4 pit/latrine, 5 river, 6 none
    c["p111"] = np.select([san == 2, san == 1], [_pick(rng, [1, 2], n, [0.85, 0.15]), _pick(rng, [3, 4], n, [0.3, 0.7])],
                          _pick(rng, [5, 6], n, [0.15, 0.85]))
    fire = latent() < ndtri(m.firewood)
    c["p113a"] = np.where(fire, _pick(rng, [5, 6, 7], n, [0.03, 0.92, 0.05]), _pick(rng, [1, 2, 4], n, [0.05, 0.9, 0.05]))
    c["p101"] = _pick(rng, [1, 5, 6, 8], n, [0.95, 0.03, 0.01, 0.01])
    ppr = _by_year(m.persons_per_room, years) * np.exp(0.35 * rng.standard_normal(n) - 0.06)
    c["p104"] = np.clip(np.rint(c["size"] / ppr), 1, 12).astype(int)
    return c


def _lnexp_covariates(c: dict, m: HouseholdModel) -> np.ndarray:
    """X c of the expenditure model (Annex A model 3 signs and sizes)."""
    k = m.coef
    xc = (k["head_female"] * c["head_female"] + k["head_age"] * (c["head_age"] - m.head_age_centre)
          + k["head_married"] * c["head_married"] + k["head_migrant"] * c["head_migrant"])
    for e in range(2, 8):
        xc = xc + k[f"educ_{e}"] * (c["head_educ"] == e)
    xc = xc + k["electricity"] * (c["p1121"] == 1)
    xc = xc + k["no_water"] * (c["p110"] >= 4)
    xc = xc + k["no_sanitation"] * (c["p111"] >= 5)
    xc = xc + k["cook_firewood"] * np.isin(c["p113a"], (5, 6, 7))
    xc = xc + k["wall_brick"] * (c["p102"] == 1)
    xc = xc + k["floor_finished"] * np.isin(c["p103"], (1, 2, 3, 4))
    xc = xc + k["roof_tile"] * np.isin(c["p103a"], (1, 2, 3))
    xc = xc + k["hh_size"] * (c["size"] - m.hh_size_centre) + k["n_0_5"] * c["n05"]
    return xc


def _educ_index(head_educ) -> np.ndarray:
    """S: standardised head-education rank used by the covariate-dependent trend."""
    return (np.asarray(head_educ) - 3.0) / 1.5


def _survey_selection_covariates(c: dict, altitude: np.ndarray) -> dict:
    """The probit covariates (pra.matching.sample.COVARIATES) that the survey's selection of
    corridor households uses, coded as the harmonised survey shows them (pra.ingest.programme):
    education dummies (reference: none or incomplete primary), brick walls `p102 == 1`,
    finished floor `p103` 1-5, concrete/tile roof `p103a` in {1, 3}, migrant, female head,
    members aged 0-5 and 6-14, head's age (years - 50), ln altitude of the centre (- 7.5,
    altitude capped to 150-4,500 m)."""
    e = np.asarray(c["head_educ"])
    x = {f"educ_{k}": (e == k).astype(float) for k in range(3, 8)}
    x["wall_brick"] = (c["p102"] == 1).astype(float)
    x["floor_finished"] = ((c["p103"] >= 1) & (c["p103"] <= 5)).astype(float)
    x["roof_concrete_tile"] = np.isin(c["p103a"], (1, 3)).astype(float)
    x["head_migrant"] = np.asarray(c["head_migrant"], float)
    x["head_female"] = np.asarray(c["head_female"], float)
    x["n_0_5"] = np.asarray(c["n05"], float)
    x["n_6_14"] = np.asarray(c["n614"], float)
    x["head_age"] = np.asarray(c["head_age"], float) - 50.0
    # ln altitude of the centre, capped to 150-4,500 m so that a few sea-level centres do not
    # get extreme odds (the kept share would saturate)
    x["ln_altitude"] = np.log(np.clip(np.asarray(altitude, float), 150.0, 4500.0)) - 7.5
    return x


def _loc_year(m, years, rural, alt_km, coast, selva):
    h = np.zeros(len(years))
    for name, x in (("rural", rural), ("altitude_km", alt_km), ("coast", coast), ("selva", selva)):
        h = h + _by_year(m.loc_year[name], years) * x
    return h


# ----------------------------------------------------------------------------- persons
def _persons(hh: pd.DataFrame, c: dict, rng, m: HouseholdModel, ubigeos: np.ndarray):
    """One row per person (members p204=1 plus ~3% non-member rows p204=2)."""
    n = len(hh)
    nonmem = rng.random(n) < 0.03
    size = c["size"]
    tot = size + nonmem
    idx = np.repeat(np.arange(n), tot)
    start = np.repeat(np.cumsum(tot) - tot, tot)
    pos = np.arange(len(idx)) - start
    b1 = (1 + c["spouse"])[idx]
    b2 = b1 + c["n05"][idx]
    b3 = b2 + c["n614"][idx]
    b4 = b3 + c["n65o"][idx]
    b5 = b4 + c["nad"][idx]
    role = np.select([pos == 0, pos < b1, pos < b2, pos < b3, pos < b4, pos < b5],
                     ["head", "spouse", "k05", "k614", "elder", "adult"], "nonmember")
    N = len(idx)
    hage = c["head_age"][idx]
    u = rng.random(N)
    age = np.select(
        [role == "head", role == "spouse", role == "k05", role == "k614", role == "elder", role == "adult"],
        [hage, c["spouse_age"][idx], np.floor(u * 6), 6 + np.floor(u * 9), 65 + np.floor(u * 26),
         15 + np.floor(u * (np.clip(hage - 16, 15, 64) - 14))],
        20 + np.floor(u * 31)).astype(int)
    hfem = c["head_female"][idx]
    sex = np.where(role == "head", np.where(hfem, 2, 1),
                   np.where(role == "spouse", np.where(hfem, 1, 2), rng.integers(1, 3, N)))
    gap = hage - age
    p203 = np.select([role == "head", role == "spouse", np.isin(role, ["k05", "k614"]) & (gap >= 40),
                      np.isin(role, ["k05", "k614"]), (role == "elder") & (hage < 60), role == "elder",
                      (role == "adult") & (gap >= 16), role == "adult"],
                     [1, 2, 5, 3, 6, 7, 3, 7], _pick(rng, [8, 10], N, [0.5, 0.5]))
    head_civ = np.where(c["head_married"], _pick(rng, [1, 2], n, [0.6, 0.4]),
                        _pick(rng, [3, 4, 5, 6], n, [0.25, 0.05, 0.25, 0.45]))
    p209 = np.where(np.isin(role, ["head", "spouse"]), head_civ[idx],
                    np.where(role == "elder", _pick(rng, [2, 3], N, [0.5, 0.5]),
                             _pick(rng, [6, 1], N, [0.8, 0.2]))).astype(float)
    p209[age < 12] = np.nan
    ubi = hh["ubigeo"].astype(int).to_numpy()[idx]
    migrant = np.where(role == "head", c["head_migrant"][idx], rng.random(N) < 0.1)
    other = ubigeos[rng.integers(0, len(ubigeos), N)]
    other = np.where(other == ubi, ubigeos[(np.searchsorted(ubigeos, ubi) + 1) % len(ubigeos)], other)
    # p208a1 "born in this district?" (1 yes, 0 no); p208a2 the birth district, asked only of
    # those born elsewhere (INEI's dictionary: P208A1 precedes P208A2)
    p208a1 = np.where(migrant, 0, 1)
    p208a2 = np.where(migrant, other, np.nan)
    # education p301a
    head_map = {1: 1, 2: 3, 3: 4, 4: 5, 5: 6}
    he = c["head_educ"][idx]
    p301a_head = np.select([he <= 5, he == 6], [pd.Series(he).map(head_map).to_numpy(), _pick(rng, [7, 8], N, [0.3, 0.7])],
                           _pick(rng, [9, 10, 11], N, [0.3, 0.65, 0.05]))
    zo = c["ses"][idx] * 0.5 + (45 - age) / 30 + rng.standard_normal(N) * 0.8
    adult_cat = _ordered(zo, [0.12, 0.25, 0.2, 0.15, 0.18, 0.05, 0.05]) + 1
    p301a_adult = np.select([adult_cat <= 5, adult_cat == 6], [pd.Series(adult_cat).map(head_map).to_numpy(), 8], 10)
    p301a = np.select([role == "head", age <= 5, age <= 11, age <= 16],
                      [p301a_head, np.where(u < 0.6, 2, 1), 3, np.where(age >= 13, 5, 3)], p301a_adult)
    lang = np.where((role == "head") | (rng.random(N) < 0.85), c["head_lang"][idx], 4)
    p = pd.DataFrame({
        "hh": idx, "codperso": (pos + 1).astype(int), "role": role, "p203": p203.astype(int),
        "p204": np.where(role == "nonmember", 2, 1), "p205": np.where(role == "nonmember", np.nan, 2.0),
        "p206": np.where(role == "nonmember", 2.0, np.nan), "p207": sex.astype(int), "p208a": age,
        "p208a1": p208a1, "p208a2": p208a2, "p209": p209, "p300a": lang.astype(int), "p301a": p301a.astype(int),
    })
    return p, nonmem


def _employment(p: pd.DataFrame, hh_type: np.ndarray, has_lab: np.ndarray, goods_only: np.ndarray,
                agri: np.ndarray, livestock: np.ndarray, rng) -> pd.DataFrame:
    """Module-500 contents (members 14+): ocu500, p507, p506, following contract §1.2."""
    q = p[(p["p204"] == 1) & (p["p208a"] >= 14)].copy()
    n = len(q)
    h = q["hh"].to_numpy()
    t = hh_type[h]
    head = (q["role"] == "head").to_numpy()
    # the first non-head member aged 14+ carries the laborer job where the household has one
    rank = (~head).astype(int)
    rank = pd.Series(rank).groupby(h).cumsum().to_numpy()
    lab_slot = (~head) & (rank == 1) & has_lab[h]
    ocu = np.full(n, 4)
    p507 = np.full(n, np.nan)
    p506 = np.full(n, np.nan)
    # heads
    prod_agri = head & (t == PRODUCER) & ~goods_only[h]
    prod_goods = head & (t == PRODUCER) & goods_only[h]
    ocu[head] = 1
    p507 = np.where(prod_agri, _pick(rng, [2, 1, 5], n, [0.9, 0.03, 0.07]), p507)
    p506 = np.where(prod_agri, np.where(agri[h], 111, np.where(livestock[h], 121, 200)), p506)
    p507 = np.where(prod_goods, _pick(rng, [2, 1], n, [0.95, 0.05]), p507)
    p506 = np.where(prod_goods, _pick(rng, [1730, 1810, 1520, 1711, 1721, 500], n), p506)
    hl = head & (t == LABORER)
    p507 = np.where(hl, 4, p507)
    p506 = np.where(hl, _pick(rng, [111, 121, 130], n, [0.7, 0.2, 0.1]), p506)
    hd = head & (t == DEPENDENT)
    dcat = _pick(rng, [3, 4, 6], n, [0.5, 0.4, 0.1])
    p507 = np.where(hd, dcat, p507)
    p506 = np.where(hd, np.select([dcat == 3, dcat == 4], [_pick(rng, [8010, 7511, 8511], n), _pick(rng, [4520, 1541, 6021], n)], 9500), p506)
    ho = head & (t == OTHER)
    p507 = np.where(ho, 2, p507)
    p506 = np.where(ho, _pick(rng, [5211, 5520, 6021, 5010], n), p506)
    # other members
    emp = (~head) & ((rng.random(n) < 0.5) | lab_slot)
    ocu = np.where(emp, 1, np.where(head, 1, _pick(rng, [2, 3, 4], n, [0.1, 0.05, 0.85])))
    pr = emp & (t == PRODUCER) & ~lab_slot
    pc = _pick(rng, [5, 2, 3], n, [0.7, 0.15, 0.15])
    p507 = np.where(pr, pc, p507)
    p506 = np.where(pr, np.where(pc == 3, 8010, 111), p506)
    lb = emp & (t == LABORER) & ~lab_slot
    lc = _pick(rng, [4, 3], n, [0.7, 0.3])
    p507 = np.where(lb, lc, p507)
    p506 = np.where(lb, np.where(lc == 4, 111, 8010), p506)
    dp = emp & (t == DEPENDENT)
    dc = _pick(rng, [3, 4], n, [0.6, 0.4])
    p507 = np.where(dp, dc, p507)
    p506 = np.where(dp, np.where(dc == 3, 5211, 4520), p506)
    ot = emp & (t == OTHER)
    p507 = np.where(ot, 2, p507)
    p506 = np.where(ot, 5211, p506)
    p507 = np.where(lab_slot, 4, p507)
    p506 = np.where(lab_slot, 111, p506)
    q["ocu500"] = ocu.astype(int)
    q["p507"] = p507
    q["p506"] = p506
    return q


# ----------------------------------------------------------------------------- main
def _check_geo(geo):
    need = {"conglomerates": ["conglome", "codccpp", "ubigeo", "dominio", "estrato", "latitud", "longitud",
                              "altitud", "first_year", "dist_km", "nearest_id"],
            "centres": ["codccpp", "ubigeo", "hogares_2007", "poblacion_2007"],
            "frame": ["ubigeo", "grupo"], "districts": ["ubigeo", "dominio"]}
    for attr, cols in need.items():
        df = getattr(geo, attr, None)
        if df is None:
            raise GeographyError(f"geography has no `{attr}`")
        miss = [c for c in cols if c not in df.columns]
        if miss:
            raise GeographyError(f"geography.{attr} lacks columns {miss}")


def _locality_effects(geo, rng, m: HouseholdModel, years):
    """Centres in code order with their locality draws (`_b`: SES part, `_a`: expenditure
    effect), and the conglomerates with their centre's draws, 2007 size and name."""
    cong = geo.conglomerates.reset_index(drop=True).copy()
    for y in years:
        if f"n_hh_{y}" not in cong.columns:
            raise GeographyError(f"geography.conglomerates lacks column n_hh_{y}")
    cent = geo.centres.copy()
    cent["codccpp"] = cent["codccpp"].astype(str)
    cent = cent.sort_values("codccpp", kind="stable").reset_index(drop=True)
    if not cent["codccpp"].is_unique:
        raise GeographyError("geography.centres: duplicated codccpp "
                             f"{cent.loc[cent['codccpp'].duplicated(), 'codccpp'].head().tolist()}")
    # locality (populated-centre) effects, one draw per centre in code order: deterministic
    nc = len(cent)
    b_l = rng.standard_normal(nc)
    a_l = m.locality_sd * (0.5 * b_l + np.sqrt(0.75) * rng.standard_normal(nc))
    a_l = a_l + m.locality_size_slope * np.log10((cent["hogares_2007"].to_numpy(float) + 1) / 100)
    cent["_b"], cent["_a"] = b_l, a_l
    cong["codccpp"] = cong["codccpp"].astype(str)
    # each conglomerate's centre row (hash lookup; Series.isin on 95k text values is slow)
    ci = pd.Index(cent["codccpp"].to_numpy()).get_indexer(cong["codccpp"])
    missing = ci < 0
    if missing.any():
        raise GeographyError(f"geography.conglomerates: codccpp not in centres for conglome "
                             f"{cong.loc[missing, 'conglome'].head().tolist()} ({int(missing.sum())} rows)")
    # INEI's module 100 carries the centre code within the district: the national code must be
    # ubigeo + 4 characters
    ubi = cong["ubigeo"].astype(str).str.zfill(6)
    bad = (cong["codccpp"].str.len() != 10) | (cong["codccpp"].str[:6] != ubi)
    if bad.any():
        raise GeographyError("geography.conglomerates: codccpp is not ubigeo + 4 characters for "
                             f"conglome {cong.loc[bad, 'conglome'].head().tolist()}")
    cong["_b"], cong["_a"] = b_l[ci], a_l[ci]
    cong["pob07"] = cent["poblacion_2007"].to_numpy(float)[ci]
    cong["hog07"] = cent["hogares_2007"].to_numpy(float)[ci]
    cong["nomccpp"] = cent["nomccpp"].to_numpy()[ci] if "nomccpp" in cent else ""
    return cent, cong


def _household_frame(cong: pd.DataFrame, years, rng, m: HouseholdModel) -> pd.DataFrame:
    """One row per household of every conglomerate-year (producer targets, other types,
    non-response dwellings) with its ids, location and interview month."""
    parts = []
    mix = np.array([1, m.rate_laborer, m.rate_dependent, m.rate_other])
    mix = mix / mix.sum()   # household type of a non-responding dwelling (truth only)
    for y in years:  # six iterations
        npd = cong[f"n_hh_{y}"].fillna(0).to_numpy().astype(int)
        active = (cong["first_year"].to_numpy() <= y) | (npd > 0)
        nl = rng.poisson(m.rate_laborer * npd) * active
        nd = rng.poisson(m.rate_dependent * npd) * active
        no = rng.poisson(m.rate_other * npd) * active
        tot = npd + nl + nd + no
        nnr = rng.poisson(m.rate_nonresponse * tot) * active
        counts = np.column_stack([npd, nl, nd, no])
        ci_ = np.repeat(np.arange(len(cong)), tot)
        ty = np.concatenate([np.repeat(np.arange(4), r) for r in counts]) if len(cong) else np.zeros(0, int)
        ci_nr = np.repeat(np.arange(len(cong)), nnr)
        parts.append(pd.DataFrame({"year": y, "ci": np.concatenate([ci_, ci_nr]),
                                   "hh_type_i": np.concatenate([ty, _pick(rng, [0, 1, 2, 3], len(ci_nr), mix)]),
                                   "interview": np.concatenate([np.ones(len(ci_), bool), np.zeros(len(ci_nr), bool)])}))
    hh = pd.concat(parts, ignore_index=True)
    hh["_key"] = rng.random(len(hh))
    hh = hh.sort_values(["year", "ci", "_key"], kind="stable").reset_index(drop=True)
    n = len(hh)
    ci = hh["ci"].to_numpy()
    yrs = hh["year"].to_numpy()
    grp = pd.Series(yrs * 10_000_000 + ci)
    first_in_grp = ~grp.duplicated().to_numpy()
    # a second household (hogar 12) shares the dwelling of the previous, interviewed, household
    inter_ = hh["interview"].to_numpy()
    prev_inter = np.concatenate([[False], inter_[:-1]])
    second = (rng.random(n) < m.share_second_household) & inter_ & prev_inter & ~first_in_grp
    second[1:] &= ~second[:-1]   # at most two households per dwelling
    hh["vivienda"] = pd.Series((~second).astype(int)).groupby(grp).cumsum().to_numpy()
    hh["hogar"] = np.where(second, 12, 11)
    for col in ("conglome", "codccpp", "ubigeo", "dominio", "estrato", "latitud", "longitud", "altitud",
                "dist_km", "nearest_id", "_a", "_b", "pob07", "hog07", "nomccpp"):
        hh[col] = cong[col].to_numpy()[ci]
    hh["ubigeo"] = hh["ubigeo"].astype(str).str.zfill(6)
    hh["mes"] = rng.integers(1, 13, n)
    hh["semester"] = hh["year"].astype(str) + np.where(hh["mes"] <= 6, "-I", "-II")
    return hh


def _production_flags(rng, m: HouseholdModel, t, yrs, c) -> dict:
    """Who has a producer row (module 2000) and which activities; farm-laborer members."""
    n = len(t)
    prod = t == PRODUCER
    goods_only = prod & (rng.random(n) < m.share_producer_goods_only)
    has2000 = prod & ~goods_only
    agri = has2000 & (rng.random(n) < m.agri_given_2000)
    livestock = has2000 & (rng.random(n) < m.livestock_given_2000)
    forestry = has2000 & (rng.random(n) < _by_year(m.forestry, yrs) / 0.974)
    agri = agri | (has2000 & ~livestock & ~forestry)   # a producer row has at least one activity
    has_adult_other = (c["nad"] + c["spouse"] + c["n65o"]) > 0
    has_lab = ((prod & (rng.random(n) < m.share_producer_with_laborer)) | (t == LABORER)) & has_adult_other
    return {"prod": prod, "goods_only": goods_only, "has2000": has2000, "agri": agri,
            "livestock": livestock, "forestry": forestry, "has_lab": has_lab}


def _expenditure(hh, c, m: HouseholdModel, years, rng, prod, inter) -> dict:
    """Real ln expenditure with the planted effect, calibrated to Table 4 (docs §3, §4)."""
    n = len(hh)
    yrs = hh["year"].to_numpy()
    dom = hh["dominio"].to_numpy().astype(int)
    estr = hh["estrato"].to_numpy().astype(int)
    rural = (np.where(dom == 8, 1, estr) >= 6).astype(float)
    coast = np.isin(dom, (1, 2, 3, 8)).astype(float)
    selva = (dom == 7).astype(float)
    alt_km = hh["altitud"].to_numpy(float) / 1000
    xc = _lnexp_covariates(c, m)
    S = _educ_index(c["head_educ"])
    trend = m.kappa * (yrs - 2009) * S
    hloc = _loc_year(m, yrs, rural, alt_km, coast, selva)
    dist = hh["dist_km"].to_numpy(float)
    treated = dist <= m.radius_km
    post = yrs >= 2010
    # planted effect: semester profile x education x locality-size multipliers, normalised so
    # that its mean over treated post producer household-years is exactly effect_mean
    sem = hh["semester"].to_numpy()
    s_prof = pd.Series(sem).map(m.semester_profile).fillna(0.0).to_numpy()
    e_mult = pd.Series(c["head_educ"].astype(str)).map(m.educ_multiplier).to_numpy(float)
    pob = hh["pob07"].to_numpy(float)
    size_cls = np.where(pob <= m.size_cuts[0], "dispersed", np.where(pob <= m.size_cuts[1], "concentrated", "urban"))
    z_mult = pd.Series(size_cls).map(m.size_multiplier).to_numpy(float)
    raw = np.where(treated & post & inter, s_prof * e_mult * z_mult, 0.0)
    norm_set = treated & post & inter & prod
    eps_z = rng.standard_normal(n)
    base_terms = hh["_a"].to_numpy() + xc + hloc + trend
    calib = inter & prod & (dist <= m.sample_space_km)
    dA = dominio_a(hh["ubigeo"], dom, estr)
    ratio = np.where(dA == 17, m.line_ratio_lima,
                     np.where(np.isin(dA, (1, 3, 5, 7, 9, 11, 13, 15)), m.line_ratio_urban, m.line_ratio_rural))
    cs = calib if calib.sum() >= 20 else inter & prod

    def calibrate(raw_):
        """Normalise the effect to mean effect_mean over treated-post producers, then set g_t
        and the residual sd so that ln y matches Table 4's mean and sd by year."""
        K_ = m.effect_mean / raw_[norm_set].mean() if norm_set.any() else 0.0
        eff = raw_ * K_
        other = base_terms + eff
        g_, sig_ = {}, {}
        for y in years:   # <= 6 iterations
            s_ = calib & (yrs == y)
            if s_.sum() < 20:
                s_ = inter & prod & (yrs == y)
            sig_[y] = float(np.sqrt(max(m.ln_exp_sd[y] ** 2 - other[s_].var(), m.min_eps_sd ** 2)))
            g_[y] = float(m.ln_exp_mean[y] - (other[s_] + sig_[y] * eps_z[s_]).mean())
        ln_y_ = pd.Series(yrs).map(g_).to_numpy() + other + pd.Series(yrs).map(sig_).to_numpy() * eps_z
        return K_, eff, g_, sig_, ln_y_

    # pass 1 locates households whose counterfactual expenditure is near their poverty line;
    # pass 2 plants a larger effect for them (line_multiplier), so that the poverty DD reaches
    # the study's size through expenditure crossing the line
    _, eff1, _, _, ln_y1 = calibrate(raw)
    ln_z1 = np.log(np.quantile(np.exp(ln_y1[cs]) / ratio[cs], m.poverty_target_pooled) * ratio)
    near_line = np.abs(ln_y1 - eff1 - ln_z1) < m.line_band
    raw = raw * np.where(near_line, m.line_multiplier, 1.0)
    K, effect, g, sig, ln_y = calibrate(raw)
    # spatially correlated year shocks (data.embedded.shocks), on their own stream: added after
    # the calibration, so the planted effect, g_t, sigma_t and the survey do not move
    shocks = expenditure_shocks(hh["ubigeo"], yrs, hh["latitud"], hh["longitud"], m.shocks,
                                rng.spawn(1)[0], cs)
    ln_y = ln_y + shocks["shock"]
    shock_info = shock_summary(shocks, m.shocks, ln_y, hh["codccpp"], yrs, treated, post, cs)
    return {"K": K, "effect": effect, "g": g, "sig": sig, "ln_y": ln_y, "ln_cf": ln_y - effect,
            "near_line": near_line, "size_cls": size_cls, "sem": sem, "dist": dist,
            "treated": treated, "dA": dA, "ratio": ratio, "calib": calib, "cs": cs,
            "shock": shocks["shock"], "shock_info": shock_info}


def _money(hh, x: dict, size, deflators, spatial, m: HouseholdModel) -> dict:
    """Nominal expenditure, deflators, poverty lines and INEI's poverty class (docs §3, §5)."""
    yrs = hh["year"].to_numpy()
    dpto = deflator_dpto(hh["ubigeo"])
    ld = pd.Series(x["dA"]).map(spatial.set_index("dominioa")["ld"]).to_numpy()
    i00 = deflators.set_index(["year", "dpto"])["i00"].reindex(pd.MultiIndex.from_arrays([yrs, dpto])).to_numpy()
    if np.isnan(i00).any():
        raise GeographyError("no temporal deflator for some (year, dpto): "
                             f"{sorted(set(zip(yrs[np.isnan(i00)], dpto[np.isnan(i00)])))[:5]}")
    gashog2d = np.round(np.exp(x["ln_y"]) * 12 * size * i00 * ld, 2)
    pc_real = gashog2d / (12 * size * i00 * ld)
    # poverty lines: z_A = Z0 * ratio_A, Z0 calibrated to the pooled Table 4 rate
    cs, ratio = x["cs"], x["ratio"]
    Z0 = float(np.quantile(pc_real[cs] / ratio[cs], m.poverty_target_pooled))
    linea = Z0 * ratio * i00 * ld
    linpe = m.extreme_line_ratio * linea
    pc_nom = gashog2d / (12 * size)
    pobreza = np.where(pc_nom < linpe, 1, np.where(pc_nom < linea, 2, 3))
    z_eff = linea / (i00 * ld)
    poor = pobreza <= 2
    gap = np.where(poor, (z_eff - pc_real) / z_eff, 0.0)
    return {"ld": ld, "i00": i00, "gashog2d": gashog2d, "pc_real": pc_real, "Z0": Z0,
            "linea": linea, "linpe": linpe, "pobreza": pobreza, "poor": poor, "gap": gap}


def _subjective(rng, m: HouseholdModel, c, x: dict, yrs, years, inter, prod) -> dict:
    """Subjective poverty from counterfactual expenditure (no planted effect; docs §5)."""
    n = len(yrs)
    calib, ln_cf = x["calib"], x["ln_cf"]
    age, fem = c["head_age"], c["head_female"]
    L_liv = -ln_cf + m.subj_age_coef * age + m.subj_female_coef * fem + m.subj_noise_sd * rng.standard_normal(n)
    L_self = -ln_cf + m.subj_age_coef * age + m.subj_female_coef * fem + m.subj_noise_sd * rng.standard_normal(n)
    tau_l, tau_s = {}, {}
    for y in years:
        s = calib & (yrs == y)
        if s.sum() < 20:
            s = inter & prod & (yrs == y)
        tau_l[y] = float(np.quantile(L_liv[s], 1 - m.subj_living[y]))
        if y in m.subj_self:
            tau_s[y] = float(np.quantile(L_self[s], 1 - m.subj_self[y]))
    living = L_liv > pd.Series(yrs).map(tau_l).to_numpy()
    ts = pd.Series(yrs).map(tau_s).to_numpy(float)
    selfp = np.where(np.isnan(ts), np.nan, L_self > np.nan_to_num(ts, nan=np.inf))
    u = rng.random(n)
    p37 = np.where(living, np.where(u < 0.2, 4, 3), np.where(u < 0.1, 1, 2))      # 2007-2011 codes
    p37 = np.where(yrs == 2012, 5 - p37, p37)                                       # 2012 reversed
    p39a = np.where(selfp == 1, 1, _pick(rng, [2, 3, 4], n, [0.5, 0.4, 0.1])).astype(float)
    Ls = (L_self - L_self.mean()) / L_self.std()
    p39b1 = np.clip(1 + np.floor(10 * ndtr(-Ls)), 1, 10).astype(int)
    ln_y = x["ln_y"]
    p32 = np.where(ln_y > np.median(ln_y), _pick(rng, [1, 2, 3, 4], n, [0.25, 0.6, 0.1, 0.05]),
                   _pick(rng, [1, 2, 3, 4], n, [0.05, 0.6, 0.15, 0.2]))
    return {"living": living, "selfp": selfp, "p37": p37, "p39a": p39a, "p39b1": p39b1, "p32": p32,
            "tau_l": tau_l, "tau_s": tau_s}


def _production_draws(rng, m: HouseholdModel, n, yrs) -> dict:
    """Household totals of the producer module: area, plots, titled and rain-fed plots, and the
    crops' gross value, sales and own consumption (split into INEI's files by _producer_files)."""
    hect = np.round(np.exp(np.log(m.hectares_mean) - m.hectares_log_sd ** 2 / 2 + m.hectares_log_sd * rng.standard_normal(n)), 2)
    plots = 1 + rng.poisson(2.0, n)
    titled = np.where(rng.random(n) < m.titled_any, rng.integers(1, 3, n), 0).clip(max=plots)
    rainfed = np.where(rng.random(n) < _by_year(m.rainfed_any, yrs), rng.integers(1, 3, n), 0).clip(max=plots)
    hect = np.maximum(hect, 0.01)
    lnv = np.log(m.gpv_mean) - m.gpv_log_sd ** 2 / 2 + 0.3 * (np.log(hect) - np.log(m.hectares_mean)) + m.gpv_log_sd * rng.standard_normal(n)
    vbp = np.round(np.exp(lnv), 0)
    venta = np.round(vbp * rng.beta(3, 2, n), 0)
    autocons = np.round(vbp * rng.beta(1.5, 1.5 / m.own_cons_share - 1.5, n), 0)
    # a crop's value is split into sales, own consumption and other uses (seed, barter, ...)
    venta = np.minimum(venta, vbp - autocons)
    return {"hect": hect, "plots": plots, "titled": titled, "rainfed": rainfed, "vbp": vbp,
            "venta": venta, "autocons": autocons}


# ----------------------------------------------------------------------------- module tables
def _sumaria(base, hh, x, money, size, totmieho, factor07, inter, years, rng) -> dict:
    """Sumaria per year: one row per interviewed household (INEI's names of that year)."""
    yrs = hh["year"].to_numpy()
    out = {}
    for y in years:
        r = (yrs == y) & inter
        s = base[r].copy()
        s["dominio"], s["estrato"] = hh["dominio"].to_numpy()[r], hh["estrato"].to_numpy()[r]
        s["mieperho"], s["totmieho"] = size[r], totmieho[r]
        s["gashog2d"] = money["gashog2d"][r]
        if y >= 2009:  # the 2007 and 2008 dictionaries list no gashog1d
            s["gashog1d"] = np.round(money["gashog2d"][r] * 0.7, 2)
        inghog1d = np.round(money["gashog2d"][r] * np.exp(0.05 + 0.3 * rng.standard_normal(r.sum())), 2)
        s["inghog1d"] = inghog1d
        # 2011: the dictionary names the lines linea09 and linpe09
        suffix = "09" if y == 2011 else ""
        s["linea" + suffix], s["linpe" + suffix] = money["linea"][r], money["linpe"][r]
        s["pobreza"] = money["pobreza"][r]
        s["factor07"] = factor07[r]
        if y == 2012:
            s["ld"] = money["ld"][r]
        out[(y, "sumaria")] = s.reset_index(drop=True)
    return out


def _housing(base, hh, c, result, factor07, inter, years, rng) -> dict:
    """Module 100 per year: every dwelling, non-response with empty contents."""
    yrs = hh["year"].to_numpy()
    out = {}
    for y in years:
        sy = yrs == y
        d = base[sy].copy()
        d["mes"] = hh["mes"].to_numpy()[sy]
        d["dominio"], d["estrato"] = hh["dominio"].to_numpy()[sy], hh["estrato"].to_numpy()[sy]
        d["result"] = result[sy]
        ok = inter[sy]
        for v in ("p101", "p102", "p103", "p103a", "p104", "p110", "p1121", "p113a"):
            d[v] = np.where(ok, c[v][sy], np.nan)
        p111 = c["p111"][sy]
        if y <= 2011:
            d["p111"] = np.where(ok, p111, np.nan)
        else:
            # 2012 codes: 3 letrina, 4 pozo septico, 5 pozo ciego, 6 rio, 8 no tiene
            p111a = np.select([p111 == 3, p111 == 4, p111 == 5, p111 == 6], [4, _pick(rng, [3, 5], sy.sum()), 6, 8], p111)
            d["p111a"] = np.where(ok, p111a, np.nan)
        d["nomccpp"] = hh["nomccpp"].to_numpy()[sy]
        if y <= 2011:  # the centre code within the district (INEI's %4s); none in 2012
            d["codccpp"] = hh["codccpp"].str[6:].to_numpy()[sy]
        d["latitud"] = hh["latitud"].to_numpy(float)[sy]
        d["longitud"] = hh["longitud"].to_numpy(float)[sy]
        if y >= 2010:
            d["altitud"] = hh["altitud"].to_numpy(float)[sy]
        d["factor07"] = np.where(ok, factor07[sy], np.nan)
        out[(y, "100")] = d.reset_index(drop=True)
    return out


def _person_modules(base, pers, emp, resp, factor07, years, rng) -> dict:
    """Modules 200 (members and non-members), 300 (members 3+) and 500 (members 14+), with each
    year's weight names (dictionary: factor07 2007-2011, facpob07 2012 in 200 and 300;
    fac500a07 2007-2011, fac500a 2012 in 500)."""
    pidx = pers["hh"].to_numpy()
    pers_hh = resp[pidx]  # index into hh
    pb = base.iloc[pers_hh].reset_index(drop=True)
    P = pd.concat([pb, pers.drop(columns=["hh", "role"]).reset_index(drop=True)], axis=1)
    P["_w"] = factor07[pers_hh]
    mem3 = (P["p204"] == 1) & (P["p208a"] >= 3)
    E = emp.copy()
    e_hh = resp[E["hh"].to_numpy()]
    Eb = base.iloc[e_hh].reset_index(drop=True)
    E = pd.concat([Eb, E[["codperso", "ocu500", "p507", "p506"]].reset_index(drop=True)], axis=1)
    E["_w"] = np.round(factor07[e_hh] * np.exp(0.05 * rng.standard_normal(len(E))), 4)
    c200 = ["year", "conglome", "vivienda", "hogar", "codperso", "ubigeo", "p203", "p204", "p205", "p206",
            "p207", "p208a", "p208a1", "p208a2", "p209", "_w"]
    c300 = ["year", "conglome", "vivienda", "hogar", "codperso", "ubigeo", "p300a", "p301a", "_w"]
    out = {}
    for y in years:
        py = P["year"].to_numpy() == y
        w = "facpob07" if y >= 2012 else "factor07"
        out[(y, "200")] = P.loc[py, c200].rename(columns={"_w": w}).reset_index(drop=True)
        out[(y, "300")] = P.loc[py & mem3.to_numpy(), c300].rename(columns={"_w": w}).reset_index(drop=True)
        w5 = "fac500a" if y >= 2012 else "fac500a07"
        out[(y, "500")] = E.loc[E["year"].to_numpy() == y].rename(columns={"_w": w5}).reset_index(drop=True)
    return out


def _perception(base, hh, subj, factor07, factor_perc, inter, years, rng, m: HouseholdModel) -> dict:
    """Module 01b-2 per year (one row per household, respondent = head) with INEI's missing-value
    codes: 9 in p32, p37, p39a; 2012: p39b2 = 1 (no sabe / no responde) with p39b1 blank."""
    yrs = hh["year"].to_numpy()
    n = len(yrs)
    miss = {q: rng.random(n) < m.perception_missing for q in ("p32", "p37", "p39a")}
    no_ladder = rng.random(n) < m.ladder_no_answer
    p32 = np.where(miss["p32"], 9, subj["p32"])
    p37 = np.where(miss["p37"], 9, subj["p37"])
    p39a = np.where(miss["p39a"], 9, subj["p39a"])
    out = {}
    for y in years:
        r = (yrs == y) & inter
        e = base[r].copy()
        e["codperso"] = 1
        e["dominio"], e["estrato"] = hh["dominio"].to_numpy()[r], hh["estrato"].to_numpy()[r]
        e["p32"], e["p37"] = p32[r], p37[r]
        if y <= 2011:
            e["p39a"] = p39a[r].astype(int)
            e["factor07"] = factor07[r]
        else:
            e["p39b1"] = np.where(no_ladder[r], np.nan, subj["p39b1"][r])
            e["p39b2"] = np.where(no_ladder[r], 1.0, np.nan)
        if y in (2007, 2008, 2011, 2012):
            e["factor"] = factor_perc[r]
        out[(y, "01b-2")] = e.reset_index(drop=True)
    # the truth follows the answers: a missing answer is a missing outcome
    living = np.where(miss["p37"], np.nan, subj["living"].astype(float))
    selfp = np.where(miss["p39a"], np.nan, subj["selfp"])
    return out, living, selfp


def _producer_files(base, hh, flags, prod_draws, factor07, inter, years, rng, m: HouseholdModel) -> dict:
    """The producer module as INEI ships it, per year:

    * ``2000``: one row per producer (the head, ``codperso`` 1): activities ``p20001a/b/c``
      (option number or 0), ``p20002`` (1 permanent, 2 eventual), ``p20002c`` plots, factora07;
    * ``2000a``: one row per plot (``p2005a`` 1, 2, ...): area ``p2005b`` (ha, 3 decimals), title
      ``p2005e`` (1-3 a title document, 4-10 none), irrigation ``p2005f2`` gravity / ``p2005f3``
      rain-fed (0 pase, 1 yes);
    * ``2100``: one row per crop of agricultural producers (``p2100a`` 1, 2, ...): value of the
      sales ``p21002b``, of own consumption ``p21002f`` and total ``p21002n`` (soles), factora07.
    """
    yrs = hh["year"].to_numpy()
    n = len(yrs)
    has2000 = flags["has2000"]
    eventual = rng.random(n) < m.share_eventual
    d = prod_draws
    # plots: areas split the household's hectares (Dirichlet(1) shares)
    k = np.where(has2000, d["plots"], 0)
    pidx = np.repeat(np.arange(n), k)
    pos = np.arange(len(pidx)) - np.repeat(np.cumsum(k) - k, k)
    wgt = rng.exponential(1.0, len(pidx))
    tot = np.bincount(pidx, weights=wgt, minlength=n)
    area = np.round(d["hect"][pidx] * wgt / tot[pidx], 3)
    titled = pos < d["titled"][pidx]
    code = np.where(titled, _pick(rng, m.title_codes, len(pidx), m.title_weights),
                    _pick(rng, m.untitled_codes, len(pidx), m.untitled_weights))
    rainfed = pos >= (k - d["rainfed"])[pidx]
    # crops of agricultural producers: values split by Dirichlet(1) shares
    agri = flags["agri"] & has2000
    kc = np.where(agri, 1 + rng.poisson(m.crops_extra_mean, n), 0)
    cidx = np.repeat(np.arange(n), kc)
    cpos = np.arange(len(cidx)) - np.repeat(np.cumsum(kc) - kc, kc)
    cw = rng.exponential(1.0, len(cidx))
    share = cw / np.bincount(cidx, weights=cw, minlength=n)[cidx]
    # floors keep sales + own consumption within each crop's (rounded) total
    p21002n = np.round(d["vbp"][cidx] * share)
    p21002b = np.floor(d["venta"][cidx] * share)
    p21002f = np.floor(d["autocons"][cidx] * share)
    out = {}
    keys = ["year", "conglome", "vivienda", "hogar"]
    for y in years:
        r = (yrs == y) & inter & has2000
        f = base.loc[r, keys].copy()
        f["codperso"] = 1
        f["p20001a"] = np.where(flags["agri"][r], 1, 0)
        f["p20001b"] = np.where(flags["livestock"][r], 2, 0)
        f["p20001c"] = np.where(flags["forestry"][r], 3, 0)
        f["p20002"] = np.where(eventual[r], 2, 1)
        f["p20002c"] = d["plots"][r]
        f["factora07"] = factor07[r]
        out[(y, "2000")] = f.reset_index(drop=True)
        pr = r[pidx]
        a = base.iloc[pidx[pr]][keys].reset_index(drop=True)
        a["codperso"] = 1
        a["p2005a"] = pos[pr] + 1
        a["p2005b"] = area[pr]
        a["p2005e"] = code[pr]
        a["p2005f2"] = np.where(rainfed[pr], 0, 1)
        a["p2005f3"] = np.where(rainfed[pr], 1, 0)
        out[(y, "2000a")] = a
        cr = r[cidx]
        b = base.iloc[cidx[cr]][keys].reset_index(drop=True)
        b["codperso"] = 1
        b["p2100a"] = cpos[cr] + 1
        b["p21002b"] = p21002b[cr]
        b["p21002f"] = p21002f[cr]
        b["p21002n"] = p21002n[cr]
        b["factora07"] = factor07[cidx[cr]]
        out[(y, "2100")] = b
    return out


def _truth_table(hh, c, x, money, subj, flags, inter, t) -> pd.DataFrame:
    """Per household-year truth (contract §2.4)."""
    nan = np.nan
    pc_real = money["pc_real"]
    return pd.DataFrame({
        "year": hh["year"].to_numpy().astype(int),
        "conglome": hh["conglome"].astype(int).astype(str).str.zfill(6),
        "vivienda": hh["vivienda"].astype(str).str.zfill(3), "hogar": hh["hogar"].astype(str).str.zfill(2),
        "ubigeo": hh["ubigeo"], "codccpp": hh["codccpp"], "dist_km": x["dist"],
        "nearest_id": hh["nearest_id"].to_numpy(),
        "hh_type": HH_TYPES[t], "pc_exp_real": np.where(inter, pc_real, nan),
        "ln_pc_exp": np.where(inter, np.log(pc_real), nan), "ln_pc_exp_cf": np.where(inter, x["ln_cf"], nan),
        "poor": np.where(inter, money["poor"].astype(float), nan), "poverty_gap": np.where(inter, money["gap"], nan),
        "subj_poor_living": np.where(inter, subj["living"].astype(float), nan),
        "subj_poor_self": np.where(inter, subj["selfp"], nan),
        "treated_true": x["treated"], "effect": np.where(inter, x["effect"], nan), "interview": inter.astype(int),
        "semester": x["sem"], "mes": hh["mes"].to_numpy(), "head_educ": c["head_educ"],
        "locality_size": x["size_cls"], "near_line": x["near_line"],
        "has_laborer_member": flags["has_lab"], "goods_only_producer": flags["goods_only"],
    })


def build_households(geo, scale: float, rng: np.random.Generator, years=range(2007, 2013),
                     model: HouseholdModel = DEFAULT) -> Households:
    """Draw the households of every conglomerate-year of `geo` and their survey contents.

    The steps run in a fixed order on one random stream (the order is part of the output); the
    layout details that INEI's files add (missing-value codes, plots, crops) come last, from a
    stream seeded by the main one."""
    _check_geo(geo)
    m = model
    years = [int(y) for y in years]
    cent, cong = _locality_effects(geo, rng, m, years)
    deflators, spatial = build_deflators(rng, m)

    # ---- households, covariates, production flags ----
    hh = _household_frame(cong, years, rng, m)
    n = len(hh)
    yrs = hh["year"].to_numpy()
    t = hh["hh_type_i"].to_numpy()
    inter = hh["interview"].to_numpy()
    c = _draw_covariates(rng, m, yrs, hh["_b"].to_numpy(), hh["dominio"].to_numpy().astype(int),
                         deflator_dpto(hh["ubigeo"]))
    flags = _production_flags(rng, m, t, yrs, c)
    prod = flags["prod"]

    # ---- outcomes ----
    x = _expenditure(hh, c, m, years, rng, prod, inter)
    size = c["size"]
    money = _money(hh, x, size, deflators, spatial, m)
    subj = _subjective(rng, m, c, x, yrs, years, inter, prod)
    factor07 = np.round(150 / max(scale, 1e-9) * np.exp(0.3 * rng.standard_normal(n)), 4)
    factor_perc = np.round(factor07 * np.exp(0.02 * rng.standard_normal(n)), 4)

    # ---- persons ----
    resp = np.flatnonzero(inter)
    hh_r = hh.iloc[resp].reset_index(drop=True)
    c_r = {k: v[resp] for k, v in c.items()}
    ubigeos = np.sort(geo.districts["ubigeo"].astype(str).astype(int).unique())
    pers, nonmem = _persons(hh_r, c_r, rng, m, ubigeos)
    emp = _employment(pers, t[resp], flags["has_lab"][resp], flags["goods_only"][resp],
                      flags["agri"][resp], flags["livestock"][resp], rng)
    result = np.where(inter, np.where(rng.random(n) < m.share_incomplete, 2, 1), _pick(rng, [3, 4, 5, 6, 7], n, [0.35, 0.35, 0.15, 0.05, 0.1]))

    # ---- module tables ----
    base = hh[["year", "conglome", "vivienda", "hogar", "ubigeo"]].copy()
    for k_ in ("conglome", "vivienda", "hogar"):
        base[k_] = base[k_].astype(int)
    totmieho = size + np.zeros(n, int)
    totmieho[resp] += nonmem.astype(int)
    prod_draws = _production_draws(rng, m, n, yrs)
    modules = _sumaria(base, hh, x, money, size, totmieho, factor07, inter, years, rng)
    modules.update(_housing(base, hh, c, result, factor07, inter, years, rng))
    modules.update(_person_modules(base, pers, emp, resp, factor07, years, rng))

    # ---- truth and the programme survey ----
    truth = _truth_table(hh, c, x, money, subj, flags, inter, t)
    survey, survey_truth, sparams = _programme_survey(geo, cent, cong, scale, rng, m, deflators, spatial, x["g"],
                                                      x["sig"], money["Z0"], subj["tau_l"], subj["tau_s"], truth)

    # ---- layout details of INEI's files (own stream: the draws above do not move) ----
    detail = np.random.default_rng(rng.integers(0, 2 ** 63))
    perc, living, selfp = _perception(base, hh, subj, factor07, factor_perc, inter, years, detail, m)
    modules.update(perc)
    truth["subj_poor_living"] = np.where(inter, living, np.nan)
    truth["subj_poor_self"] = np.where(inter, selfp, np.nan)
    modules.update(_producer_files(base, hh, flags, prod_draws, factor07, inter, years, detail, m))

    params = {
        "model": m.to_dict(),
        "calibrated": {
            "g_t": {str(k): v for k, v in x["g"].items()}, "eps_sd_t": {str(k): v for k, v in x["sig"].items()},
            "poverty_line_Z0": money["Z0"], "effect_scale_K": float(x["K"]),
            "tau_living": {str(k): v for k, v in subj["tau_l"].items()},
            "tau_self": {str(k): v for k, v in subj["tau_s"].items()},
        },
        "planted": {
            "spatial_dd_ln_exp": m.effect_mean, "radius_km": m.radius_km,
            "spatial_dd_subjective": 0.0,
            "spatial_dd_poverty_realised": _realised_poverty_dd(truth, money["gashog2d"], size, money["linea"],
                                                                money["i00"], money["ld"], inter, prod, m),
            "semester_effects_realised": _semester_means(truth, prod),
        },
        "matching": sparams,
        "shocks": x["shock_info"],
        "counts": {"households_interviewed": int(inter.sum()), "nonresponse_dwellings": int((~inter).sum()),
                   "persons": int(len(pers)),
                   "by_type": {HH_TYPES[k_]: int(((t == k_) & inter).sum()) for k_ in range(4)}},
    }
    return Households(modules=modules, deflators=deflators, spatial_deflator=spatial,
                      programme_survey=survey, truth=truth, params=params, survey_truth=survey_truth)


def _realised_poverty_dd(truth, gashog2d, size, linea, i00, ld, inter, prod, m):
    """Mean change in the poverty indicator caused by the planted effect among treated-post
    producers (the counterfactual is the same household with effect 0)."""
    s = inter & prod & truth["treated_true"].to_numpy() & (truth["year"].to_numpy() >= 2010)
    if not s.any():
        return 0.0
    cf = np.round(np.exp(truth["ln_pc_exp_cf"].to_numpy()[s]) * 12 * size[s] * i00[s] * ld[s], 2) / (12 * size[s])
    poor_cf = cf < linea[s]
    return float(truth["poor"].to_numpy()[s].mean() - poor_cf.mean())


def _semester_means(truth, prod):
    s = (truth["interview"] == 1).to_numpy() & prod & truth["treated_true"].to_numpy()
    return {k: float(v) for k, v in truth.loc[s].groupby("semester")["effect"].mean().items()}


# ----------------------------------------------------------------------------- programme survey
def _survey_population(geo, cent, cong, m: HouseholdModel) -> pd.DataFrame:
    """The population the matching baseline samples, as centres of the frame districts with a
    weight (``hh_exp``), for an independent second sample of it.

    The baseline is the ENAHO conglomerates of the frame districts with their producer
    households of ``survey_baseline_year``. Each baseline centre hands its households to its
    ``survey_twins`` nearest twins: other centres of the same group, dominio and INEI
    urban/rural class (2007 population > 2,000) that hold no ENAHO conglomerate, nearest in
    (log10 households_2007, altitude in km). So both periods draw their centres from the same
    locality characteristics, with their own locality effects (independent samples, as the
    bootstrap assumes). A centre without a twin (no other centre in its cell) is kept itself."""
    from scipy.spatial import cKDTree

    frame = geo.frame[["ubigeo", "grupo"]].copy()
    frame["ubigeo"] = frame["ubigeo"].astype(str).str.zfill(6)
    dom = geo.districts.assign(ubigeo=geo.districts["ubigeo"].astype(str).str.zfill(6)).set_index("ubigeo")["dominio"]
    c = cent.assign(ubigeo=cent["ubigeo"].astype(str).str.zfill(6)).merge(frame, on="ubigeo", how="inner")
    c["dominio"] = c["ubigeo"].map(dom).astype(int)
    c["urban"] = c["poblacion_2007"].to_numpy(float) > 2000
    base = f"n_hh_{m.survey_baseline_year}"
    if base not in cong.columns:
        raise GeographyError(f"geography.conglomerates lacks column {base}")
    hh = cong.assign(codccpp=cong["codccpp"].astype(str)).groupby("codccpp")[base].sum()
    c["hh_base"] = c["codccpp"].map(hh).fillna(0.0).to_numpy(float)
    c["in_enaho"] = c["codccpp"].isin(hh.index)
    xy = np.column_stack([np.log10(c["hogares_2007"].to_numpy(float) + 1),
                          c["altitud"].to_numpy(float) / 1000])
    weight = np.zeros(len(c))
    for _, cell in c.groupby(["grupo", "dominio", "urban"], sort=True).indices.items():
        src = cell[c["hh_base"].to_numpy()[cell] > 0]
        dst = cell[~c["in_enaho"].to_numpy()[cell]]
        if len(src) == 0:
            continue
        if len(dst) == 0:
            weight[src] += c["hh_base"].to_numpy()[src]
            continue
        k = min(m.survey_twins, len(dst))
        _, nn = cKDTree(xy[dst]).query(xy[src], k=k)
        nn = np.asarray(nn).reshape(len(src), k)
        np.add.at(weight, dst[nn].ravel(), np.repeat(c["hh_base"].to_numpy()[src] / k, k))
    c["hh_exp"] = weight
    return c[c["hh_exp"] > 0].drop(columns=["urban", "hh_base", "in_enaho"]).reset_index(drop=True)


def _survey_candidates(geo, cent, cong, scale, rng, m: HouseholdModel):
    """Candidate households of the programme survey, drawn from the population that the
    matching baseline samples (:func:`_survey_population`): each candidate's centre drawn with
    probability ∝ the baseline households it stands for within its group (docs §6.1).
    Adjacent districts: exactly the households needed; corridor districts: survey_pool_factor
    times as many (selection on observables follows in _survey_selection)."""
    pop = _survey_population(geo, cent, cong, m)
    frame = geo.frame[["ubigeo", "grupo"]].copy()
    frame["ubigeo"] = frame["ubigeo"].astype(str).str.zfill(6)
    n_t, n_c = int(round(m.survey_n_corridor * scale)), int(round(m.survey_n_adjacent * scale))
    n_bad = int(round(m.survey_n_unusable * scale))
    groups, need = [], {}
    for grp, nn in (("corredor", n_t), ("adyacente", n_c)):
        pool = pop[pop["grupo"] == grp]
        if len(pool) == 0:
            raise GeographyError(f"geography: no {m.survey_baseline_year} producer households "
                                 f"expected in '{grp}' districts")
        w = pool["hh_exp"].to_numpy(float)
        need[grp] = (nn, nn + (n_bad * nn) // max(n_t + n_c, 1))
        n_draw = need[grp][1] * (m.survey_pool_factor if grp == "corredor" else 1)
        pick = rng.choice(len(pool), size=n_draw, p=w / w.sum())
        groups.append(pool.iloc[pick].copy())
    sv = pd.concat(groups, ignore_index=True)
    # INEI's estrato of the centre as the geography assigns it to ENAHO conglomerates
    from pra.embedded.geography import _estrato
    sv["estrato"] = _estrato(sv["poblacion_2007"].to_numpy(), sv["hogares_2007"].to_numpy(),
                             sv["dominio"].to_numpy(), rng.random(len(sv)))
    return sv, need, frame


def _survey_selection(geo, sv, need, rng, m: HouseholdModel):
    """Covariates of the candidates (as ENAHO 2012 households) and the kept households.

    Corridor candidates, in random (draw) order, are accepted with probability odds / max(odds),
    odds = exp(γ'x) with x the probit's covariates as the harmonised survey shows them
    (docs/embedded_data.md §6), and the first ones accepted are kept. The kept households are
    then an exact exp(γ'x)-tilt of the candidates: whether a candidate is kept depends on x and
    chance only, so given x the kept households have the same unobservables (locality effect,
    SES, electricity, water, ..., residual) as adjacent households."""
    dist_ = geo.districts.copy()
    dist_["ubigeo"] = dist_["ubigeo"].astype(str).str.zfill(6)
    n = len(sv)
    tr = (sv["grupo"] == "corredor").to_numpy()
    dom = dist_.set_index("ubigeo")["dominio"].reindex(sv["ubigeo"]).to_numpy()
    if pd.isna(dom).any():
        raise GeographyError("geography.districts: no dominio for survey ubigeos "
                             f"{sv.loc[pd.isna(dom), 'ubigeo'].unique()[:5].tolist()}")
    dom = dom.astype(int)
    estr = sv["estrato"].to_numpy().astype(int)   # the centre's, by the rule ENAHO's follow
    dpto = deflator_dpto(sv["ubigeo"])
    c = _draw_covariates(rng, m, np.full(n, 2012), sv["_b"].to_numpy(), dom, dpto)
    x = _survey_selection_covariates(c, sv["altitud"].to_numpy(float) if "altitud" in sv else np.zeros(n))
    lo = sum(g_ * x[k_] for k_, g_ in m.survey_selection.items())
    acc = tr & (rng.random(n) < np.exp(lo - (lo[tr].max() if tr.any() else 0.0)))
    ci_ = np.flatnonzero(acc)
    if len(ci_) < need["corredor"][1]:
        raise GeographyError(f"programme survey: only {len(ci_)} of {need['corredor'][1]} corridor "
                             "households accepted; raise survey_pool_factor")
    keep = ~tr
    keep[ci_[:need["corredor"][1]]] = True   # candidates are in random (draw) order
    sv = sv[keep].reset_index(drop=True)
    c = {k_: v[keep] for k_, v in c.items()}
    return sv, c, dom[keep], estr[keep], dpto[keep], tr[keep]


def _survey_usable(sv, need, rng) -> np.ndarray:
    """Unusable rows (gasto incompleto) at random within each group."""
    use = np.zeros(len(sv), bool)
    for grp, (nn, _) in need.items():
        idx = rng.permutation(np.flatnonzero((sv["grupo"] == grp).to_numpy()))
        use[idx[:nn]] = True
    return use


def _survey_outcomes(sv, c, dom, estr, dpto, tr, use, rng, m: HouseholdModel, deflators, spatial,
                     g, sig, Z0) -> dict:
    """Expenditure with the programme's effect on corridor households (larger for the
    counterfactually poor, mean exact), lines and poverty, as in sumaria 2012."""
    n = len(sv)
    yrs = np.full(n, 2012)
    rural = (estr >= 6).astype(float)
    alt = sv["altitud"].to_numpy(float) if "altitud" in sv else np.zeros(n)
    h = _loc_year(m, yrs, rural, alt / 1000, np.isin(dom, (1, 2, 3, 8)).astype(float), (dom == 7).astype(float))
    ln_cf = (g[2012] if 2012 in g else float(m.ln_exp_mean[2012])) + sv["_a"].to_numpy() + _lnexp_covariates(c, m) + h \
        + m.kappa * 3 * _educ_index(c["head_educ"]) + sig.get(2012, 0.5) * rng.standard_normal(n)
    size = c["size"]
    dA = dominio_a(sv["ubigeo"], dom, estr)
    ld = pd.Series(dA).map(spatial.set_index("dominioa")["ld"]).to_numpy()
    i00 = deflators.set_index(["year", "dpto"])["i00"].reindex(pd.MultiIndex.from_arrays([yrs, dpto])).to_numpy()
    ratio = np.where(dA == 17, m.line_ratio_lima, np.where(np.isin(dA, (1, 3, 5, 7, 9, 11, 13, 15)), m.line_ratio_urban, m.line_ratio_rural))
    linea = Z0 * ratio * i00 * ld
    poor_cf = np.exp(ln_cf) < Z0 * ratio
    T = tr & use
    n_pt = int((T & poor_cf).sum())
    n_T = int(T.sum())
    d_lo = (n_T * m.att_ln_exp - n_pt * m.att_ln_exp_poor) / max(n_T - n_pt, 1)
    delta = np.where(T, np.where(poor_cf, m.att_ln_exp_poor, d_lo), 0.0)
    # the violation switch: corridor households' 2012 expenditure moves by corridor_trend
    # whatever the programme did (their counterfactual moves with it); effects stay as planted
    ln_cf_t = ln_cf + m.corridor_trend * tr
    gashog2d = np.round(np.exp(ln_cf_t + delta) * 12 * size * i00 * ld, 2)
    pc_nom = gashog2d / (12 * size)
    pobreza = np.where(pc_nom < m.extreme_line_ratio * linea, 1, np.where(pc_nom < linea, 2, 3))

    def poor_nom(ln):  # poverty of the rounded nominal value, as sumaria's rule reads it
        return np.round(np.exp(ln) * 12 * size * i00 * ld, 2) / (12 * size) < linea
    return {"alt": alt, "ln_cf": ln_cf_t, "ln_cf_design": ln_cf, "delta": delta, "d_lo": d_lo,
            "gashog2d": gashog2d, "pobreza": pobreza, "linea": linea, "poor_cf_nom": poor_nom(ln_cf_t),
            "poor_cf_design": poor_nom(ln_cf), "T": T, "n_T": n_T, "i00": i00, "ld": ld, "size": size}


def _survey_subjective(c, o: dict, use, rng, m: HouseholdModel) -> dict:
    """Counterfactual subjective poverty from the latent indices, then the planted shifts
    among corridor households."""
    n = len(use)
    # the design's counterfactual: corridor_trend moves expenditure only
    ln_cf, T, n_T = o["ln_cf_design"], o["T"], o["n_T"]
    Ll = -ln_cf + m.subj_age_coef * c["head_age"] + m.subj_female_coef * c["head_female"] + m.subj_noise_sd * rng.standard_normal(n)
    Lsf = -ln_cf + m.subj_age_coef * c["head_age"] + m.subj_female_coef * c["head_female"] + m.subj_noise_sd * rng.standard_normal(n)
    liv_cf = Ll > np.quantile(Ll[use], 1 - m.survey_subj_living)
    self_cf = Lsf > np.quantile(Lsf[use], 1 - m.survey_subj_self)
    q_l = min(1.0, -m.att_living / max(liv_cf[T].mean(), 1e-9)) if n_T else 0.0
    q_s = min(1.0, -m.att_self / max(self_cf[T].mean(), 1e-9)) if n_T else 0.0
    liv = liv_cf & ~(T & (rng.random(n) < q_l))
    slf = self_cf & ~(T & (rng.random(n) < q_s))
    u = rng.random(n)
    p37 = np.where(liv, np.where(u < 0.2, 4, 3), np.where(u < 0.1, 1, 2))
    p39a = np.where(slf, 1, _pick(rng, [2, 3, 4], n, [0.5, 0.4, 0.1]))
    return {"liv_cf": liv_cf, "self_cf": self_cf, "liv": liv, "slf": slf, "p37": p37, "p39a": p39a}


def _survey_table(geo, sv, c, dom, estr, o: dict, s: dict, use, rng, m: HouseholdModel):
    """The survey file (one row per household, shuffled ``id_hogar``) and the draw order."""
    n = len(sv)
    # production (survey households are producers by the programme's sampling)
    agri = rng.random(n) < 0.889
    lives = rng.random(n) < 0.815
    fore = rng.random(n) < 0.018
    agri = agri | (~lives & ~fore)
    hect = np.round(np.exp(np.log(m.hectares_mean) - m.hectares_log_sd ** 2 / 2 + m.hectares_log_sd * rng.standard_normal(n)), 2)
    order = rng.permutation(n)
    ubis = np.sort(geo.districts["ubigeo"].astype(str).str.zfill(6).astype(int).unique())
    other = ubis[rng.integers(0, len(ubis), n)]
    ubi_i = sv["ubigeo"].astype(int).to_numpy()
    other = np.where(other == ubi_i, ubis[(np.searchsorted(ubis, ubi_i) + 1) % len(ubis)], other)
    head_civ = np.where(c["head_married"], _pick(rng, [1, 2], n, [0.6, 0.4]), _pick(rng, [3, 4, 5, 6], n, [0.25, 0.05, 0.25, 0.45]))
    p301a = np.select([c["head_educ"] <= 5, c["head_educ"] == 6],
                      [pd.Series(c["head_educ"]).map({1: 1, 2: 3, 3: 4, 4: 5, 5: 6}).to_numpy(), 8], 10)
    linea = o["linea"]
    out = pd.DataFrame({
        "id_hogar": 0, "ubigeo": sv["ubigeo"].to_numpy(), "codccpp": sv["codccpp"].to_numpy(),
        "nomccpp": sv["nomccpp"].to_numpy() if "nomccpp" in sv else "",
        "dominio": dom, "estrato": estr,
        "latitud": sv["latitud"].to_numpy(float) if "latitud" in sv else np.nan,
        "longitud": sv["longitud"].to_numpy(float) if "longitud" in sv else np.nan,
        "altitud": o["alt"], "mes": _pick(rng, list(m.survey_months), n),
        "mieperho": o["size"], "gashog2d": np.where(use, o["gashog2d"], np.nan), "linea": linea,
        "linpe": m.extreme_line_ratio * linea, "pobreza": np.where(use, o["pobreza"], np.nan),
        "p37": s["p37"], "p39a": s["p39a"],
        "p207": np.where(c["head_female"], 2, 1), "p208a": c["head_age"], "p209": head_civ, "p301a": p301a,
        "p208a2": np.where(c["head_migrant"], other, ubi_i), "p300a": c["head_lang"],
        "n_0_5": c["n05"], "n_6_14": c["n614"], "n_65plus": c["n65"],
        "p102": c["p102"], "p103": c["p103"], "p103a": c["p103a"], "p104": c["p104"], "p110": c["p110"],
        "p111": c["p111"], "p1121": c["p1121"], "p113a": c["p113a"],
        "p20001a": np.where(agri, 1, 0), "p20001b": np.where(lives, 2, 0), "p20001c": np.where(fore, 3, 0),
        "hectareas": np.maximum(hect, 0.01), "valida": use.astype(int),
        "motivo": np.where(use, "", "gasto incompleto"),
    }).iloc[order].reset_index(drop=True)
    out["id_hogar"] = np.arange(1, n + 1)
    return out, order


def _survey_params(sv, out, order, o: dict, s: dict, use, frame, truth, m: HouseholdModel):
    """Per survey household truth, the realised planted ATTs and a naive (unmatched) DD against
    ENAHO 2009 frame producers."""
    st = pd.DataFrame({"id_hogar": out["id_hogar"], "grupo": sv["grupo"].to_numpy()[order], "usable": use[order],
                       "ln_pc_exp_cf": o["ln_cf"][order], "effect": o["delta"][order],
                       "poor_cf": o["poor_cf_nom"][order], "poor": (o["pobreza"] <= 2)[order],
                       "living_cf": s["liv_cf"][order], "living": s["liv"][order],
                       "self_cf": s["self_cf"][order], "self": s["slf"][order]})
    Tm = st["usable"] & (st["grupo"] == "corredor")
    Tm0 = o["T"]   # the same households in draw order

    def att(a, b=None):
        if not Tm.any():
            return 0.0
        v = st.loc[Tm, a].astype(float)
        return float((v - st.loc[Tm, b].astype(float)).mean() if b else v.mean())

    params = {
        "att_dd_ln_exp": att("effect"),
        "att_dd_poverty": att("poor", "poor_cf"),
        "att_dd_living": att("living", "living_cf"),
        "att_dd_self": att("self", "self_cf"),
        "effect_poor": m.att_ln_exp_poor, "effect_nonpoor": float(o["d_lo"]),
        # the violation switch and the bias it puts into the matching DD (expected: ln exp)
        "corridor_trend": float(m.corridor_trend),
        "corridor_trend_bias_ln_exp": float(m.corridor_trend),
        "corridor_trend_bias_poverty": float((o["poor_cf_nom"] & Tm0).sum() - (o["poor_cf_design"] & Tm0).sum())
        / max(int(Tm0.sum()), 1),
        "n_usable": {"corredor": int(Tm.sum()), "adyacente": int((st["usable"] & (st["grupo"] == "adyacente")).sum())},
        "n_unusable": int((~st["usable"]).sum()),
    }
    e09 = truth[(truth["year"] == 2009) & (truth["interview"] == 1) & (truth["hh_type"] == "producer")]
    e09 = e09.merge(frame, on="ubigeo", how="inner")
    us = st["usable"].to_numpy()
    if len(e09) and e09["grupo"].nunique() == 2:
        d09 = e09.groupby("grupo")["ln_pc_exp"].mean()
        real12 = np.log(o["gashog2d"] / (12 * o["size"] * o["i00"] * o["ld"]))[order]
        d12 = pd.Series(real12[us]).groupby(st["grupo"].to_numpy()[us]).mean()
        params["unmatched_dd_ln_exp_realised"] = float((d12["corredor"] - d12["adyacente"]) - (d09["corredor"] - d09["adyacente"]))
    return st, params


def _programme_survey(geo, cent, cong, scale, rng, m, deflators, spatial, g, sig, Z0, tau_l, tau_s, truth):
    """The programme's 2012 household survey (matching design, Table 16; docs §6)."""
    if "dominio" not in geo.districts:
        raise GeographyError("geography.districts lacks column dominio")
    sv, need, frame = _survey_candidates(geo, cent, cong, scale, rng, m)
    sv, c, dom, estr, dpto, tr = _survey_selection(geo, sv, need, rng, m)
    use = _survey_usable(sv, need, rng)
    o = _survey_outcomes(sv, c, dom, estr, dpto, tr, use, rng, m, deflators, spatial, g, sig, Z0)
    s = _survey_subjective(c, o, use, rng, m)
    out, order = _survey_table(geo, sv, c, dom, estr, o, s, use, rng, m)
    st, params = _survey_params(sv, out, order, o, s, use, frame, truth, m)
    return out, st, params
