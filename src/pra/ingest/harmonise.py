"""Harmonise one ENAHO year into the household-year table of ``docs/contract.md`` §3.

``harmonise_year`` reads only that year's module files, the two deflator files and the
populated-centre map, so a fix to one year's input reruns only that year. Every raw household
row ends in the ingest ledger (kept, or dropped with its reason); unknown codes are counted in
the report and flagged per household in ``unknown_codes``; missing files/columns and duplicated
keys stop the run with a message naming year, file, column and rows.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pra import ledger as ledger_mod
from pra.ingest import schemas as S
from pra.ingest.readers import (
    IngestError,
    find_module,
    non_numeric,
    normalise_id,
    read_meta,
    read_module,
    to_number,
)

STAGE = "ingest"

# contract §1.2: CIIU rev.3 codes of PRA-II goods (111–500 farming/fishing, dairy, textiles).
PRA_GOODS_CIIU_EXTRA = (1520, 1711, 1721, 1730, 1810)
FARM_CIIU = (111, 500)

# Sanitation: raw code -> harmonised category (layout §2.2; 2012 p111a codes change meaning).
SANITATION_P111 = {1: "public_in", 2: "public_out", 3: "septic", 4: "latrine_pit", 5: "river",
                   6: "none_other"}
SANITATION_P111A = {1: "public_in", 2: "public_out", 3: "latrine_pit", 4: "septic",
                    5: "latrine_pit", 6: "river", 7: "none_other", 8: "none_other"}

# Head education (p301a) -> 7 categories of the study (none … university).
EDUC_P301A = {1: 1, 2: 1, 3: 2, 4: 3, 5: 4, 6: 5, 7: 6, 8: 6, 9: 7, 10: 7, 11: 7}

# Natural region from dominio (layout §2.8): 1–3 coast, 4–6 sierra, 7 selva, 8 Lima (coast).
REGION_DOMINIO = {1: "costa", 2: "costa", 3: "costa", 4: "sierra", 5: "sierra", 6: "sierra",
                  7: "selva", 8: "costa"}

CENTRE_COLUMNS = ["codccpp", "ubigeo", "latitud", "longitud", "altitud", "hogares_2007",
                  "poblacion_2007"]


# --------------------------------------------------------------------------------------------
# helpers


def year_folder(enaho_dir: str | Path, year: int) -> Path:
    """``enaho_dir/<year>`` if it exists, else ``enaho_dir`` itself (a year folder given)."""
    p = Path(enaho_dir)
    return p / str(year) if (p / str(year)).is_dir() else p


class _Ctx:
    """Per-year state: report accumulators and per-household unknown-code flags."""

    def __init__(self, year: int):
        self.year = year
        self.report: dict = {
            "year": year,
            "files": {},
            "rows": {},
            "unknown_codes": {},
            "out_of_range": {},
            "ledger": {},
            "checks": {},
        }
        self.flags: list[pd.DataFrame] = []  # HH_KEYS + flag text

    def count_failures(self, module: str, df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
        """Numeric view of ``cols``; unknown codes/out-of-range counted and flagged per row.

        Returns a frame of the numeric values with failing cells set to NaN (the failure is
        recorded in the report and in the household's ``unknown_codes`` flag, so nothing is
        lost silently).
        """
        num = pd.DataFrame({c: to_number(df[c]) for c in cols}, index=df.index)
        schema = S.raw_schema(module, self.year)
        sub = schema.columns.keys() & set(cols)
        counts = S.failure_counts(
            type(schema)({c: schema.columns[c] for c in sorted(sub)}), num[sorted(sub)]
        ) if sub else {"codes": {}, "range": {}}
        bad_any = pd.Series(False, index=df.index)
        flag_txt = pd.Series("", index=df.index, dtype=object)
        for c in cols:
            text_bad = non_numeric(df[c])  # e.g. 'x' in a code column: reported, not lost
            if text_bad.any():
                vc = df.loc[text_bad, c].astype(str).value_counts()
                bucket = counts["codes"].setdefault(c, {})
                for k, v in vc.sort_index().items():
                    bucket[k] = bucket.get(k, 0) + int(v)
            bad = text_bad.copy()
            if c in S.CODES.get(module, {}):
                bad |= num[c].notna() & ~num[c].isin(S.CODES[module][c])
            if c in S.RANGES.get(module, {}):
                lo, hi = S.RANGES[module][c]
                bad |= num[c].notna() & ((num[c] < lo) | (num[c] > hi))
            if bad.any():
                raw = df.loc[bad, c].map(_fmt_value)
                flag_txt[bad] = flag_txt[bad] + f"{module}.{c}=" + raw + ";"
                num.loc[bad, c] = np.nan
                bad_any |= bad
        for kind, target in (("codes", "unknown_codes"), ("range", "out_of_range")):
            for c, d in counts[kind].items():
                tgt = self.report[target].setdefault(f"{module}.{c}", {})
                for k, v in d.items():
                    tgt[k] = tgt.get(k, 0) + v
        if bad_any.any() and all(k in df.columns for k in S.HH_KEYS):
            f = df.loc[bad_any, S.HH_KEYS].copy()
            f["flag"] = flag_txt[bad_any]
            self.flags.append(f)
        return num


def _fmt_value(v) -> str:
    """A raw value as text for flags: 9.0 -> '9', ' x ' -> 'x'."""
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v).strip()


def _load(ctx: _Ctx, year_dir: Path, module: str, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    stem = S.MODULE_STEMS[module].format(year=ctx.year)
    path = find_module(year_dir, stem)
    meta = read_meta(path)
    cols = S.required_columns(module, ctx.year)
    # the year column is read wherever present so a file of the wrong year is caught
    cols = cols + [c for c in ("year",) + tuple(extra) if c in meta.original and c not in cols]
    df = read_module(path, cols, year=ctx.year, meta=meta)
    keys = S.PERSON_KEYS if "codperso" in cols else S.HH_KEYS
    blank = df[keys].isna().any(axis=1)
    if blank.any():
        rows = (np.flatnonzero(blank.to_numpy())[:10] + 1).tolist()
        raise IngestError(
            f"year {ctx.year}: file {path.name}: missing id ({', '.join(keys)}) in "
            f"{int(blank.sum())} row(s), e.g. data rows {rows}"
        )
    ctx.report["files"][module] = path.name
    ctx.report["rows"][module] = int(len(df))
    return df


def _check_unique(ctx: _Ctx, df: pd.DataFrame, keys: list[str], module: str) -> None:
    dup = df.duplicated(keys, keep=False)
    if dup.any():
        rows = (np.flatnonzero(dup.to_numpy())[:10] + 1).tolist()
        example = df.loc[dup, keys].head(4).to_dict("records")
        raise IngestError(
            f"year {ctx.year}: file {ctx.report['files'][module]}: duplicated key "
            f"({', '.join(keys)}) in {int(dup.sum())} rows, e.g. data rows {rows}: {example}"
        )


def _read_deflators(deflator_dir: str | Path) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Time (year × dpto → i00) and space (dominioA → ld) deflators, validated."""
    d = Path(deflator_dir)
    tpath = find_module(d, S.DEFLATOR_STEMS["time"])
    spath = find_module(d, S.DEFLATOR_STEMS["space"])
    tm = read_meta(tpath)
    for c in ("year", "dpto", "i00"):
        if c not in tm.original:
            raise IngestError(f"deflator file {tpath.name} lacks column {c!r} "
                              f"(has {sorted(tm.original)})")
    t = read_module(tpath, ["year", "dpto", "i00"], meta=tm)
    t = pd.DataFrame({"defl_year": to_number(t["year"]), "dpto_defl": to_number(t["dpto"]),
                      "i00": to_number(t["i00"])})
    sm = read_meta(spath)
    # INEI spells it dominioA; lower-cased by the reader.
    for c in ("dominioa", "ld"):
        if c not in sm.original:
            raise IngestError(f"deflator file {spath.name} lacks column {c!r} "
                              f"(has {sorted(sm.original)})")
    s = read_module(spath, ["dominioa", "ld"], meta=sm)
    s = pd.DataFrame({"dominioa": to_number(s["dominioa"]), "ld": to_number(s["ld"])})
    for name, df, keys in ((tpath.name, t, ["defl_year", "dpto_defl"]),
                           (spath.name, s, ["dominioa"])):
        if df[keys].isna().any().any() or df.duplicated(keys).any():
            bad = df[df[keys].isna().any(axis=1) | df.duplicated(keys, keep=False)]
            raise IngestError(f"deflator file {name}: missing or duplicated key {keys} in rows "
                              f"{(bad.index[:10] + 1).tolist()}")
    return t, s, {"time": tpath.name, "space": spath.name}


def dominio_a(dominio: pd.Series, estrato: pd.Series, dpto: pd.Series) -> tuple[pd.Series, pd.Series]:
    """INEI's dominioA (1–17) and urban flag (layout §3): Lima Metropolitana is urban."""
    estr = estrato.where(dominio != 8, 1)
    urban = estr < 6
    dA = pd.Series(np.nan, index=dominio.index)
    m16 = dominio.between(1, 6)
    dA[m16] = np.where(urban[m16], 2 * dominio[m16] - 1, 2 * dominio[m16])
    m7 = dominio == 7
    selva_baja = dpto.isin([16, 17, 25])
    dA[m7 & ~selva_baja] = np.where(urban[m7 & ~selva_baja], 13, 14)
    dA[m7 & selva_baja] = np.where(urban[m7 & selva_baja], 15, 16)
    dA[dominio == 8] = 17
    urban = urban.astype("float64").where(dominio.notna() & estrato.notna())
    return dA, urban


def _haversine_km(lat1, lon1, lat2, lon2):
    r = 6371.0088
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi, dl = p2 - p1, np.radians(lon2 - lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * r * np.arcsin(np.sqrt(a))


def nearest_centre(points: pd.DataFrame, centres: pd.DataFrame) -> pd.Series:
    """Code of the nearest populated centre *of the same district* for each point.

    ``points``: ubigeo, latitude, longitude (any index); ``centres``: codccpp, ubigeo, latitud,
    longitud. Ties broken by the smaller code (deterministic). NaN where the district has no
    centre or the point has no coordinates.
    """
    pts = points[["ubigeo", "latitude", "longitude"]].copy()
    pts["_pid"] = np.arange(len(pts))
    cen = centres[["codccpp", "ubigeo", "latitud", "longitud"]].dropna()
    m = pts.dropna().merge(cen, on="ubigeo", how="inner")
    out = pd.Series(pd.NA, index=points.index, dtype="string")
    if m.empty:
        return out
    m["d"] = _haversine_km(m["latitude"].to_numpy(float), m["longitude"].to_numpy(float),
                           m["latitud"].to_numpy(float), m["longitud"].to_numpy(float))
    best = m.sort_values(["_pid", "d", "codccpp"]).drop_duplicates("_pid")
    out.iloc[best["_pid"].to_numpy()] = best["codccpp"].to_numpy()
    return out


def prepare_centres(centres: pd.DataFrame) -> pd.DataFrame:
    """Validate and normalise the populated-centre map (contract §1.3)."""
    miss = [c for c in CENTRE_COLUMNS if c not in centres.columns]
    if miss:
        raise IngestError(f"populated-centre map lacks column(s) {miss} "
                          f"(has {list(centres.columns)})")
    c = centres[CENTRE_COLUMNS].copy()
    c["codccpp"] = normalise_id(c["codccpp"], 10, strip_zeros=False)
    c["ubigeo"] = normalise_id(c["ubigeo"], 6, strip_zeros=False)
    for col in CENTRE_COLUMNS[2:]:
        c[col] = to_number(c[col])
    dup = c["codccpp"].duplicated(keep=False) & c["codccpp"].notna()
    if dup.any():
        raise IngestError(f"populated-centre map: duplicated codccpp in rows "
                          f"{(np.flatnonzero(dup.to_numpy())[:10] + 1).tolist()}")
    return c


# --------------------------------------------------------------------------------------------
# main entry


def housing_indicators(h: pd.DataFrame, sanitation_col: str, sanitation_map: dict) -> pd.DataFrame:
    """Housing dummies of contract §3 from module-100 codes (missing where the code is missing);
    shared by ENAHO and the programme survey, which use the same codes."""
    def ind(cond, col):
        return cond.astype(float).where(h[col].notna())

    sanitation = h[sanitation_col].map(sanitation_map).astype(object)
    return pd.DataFrame({
        "wall_brick": ind(h["p102"] == 1, "p102"),
        "floor_dirt": ind(h["p103"] == 6, "p103"),
        "floor_finished": ind(h["p103"].between(1, 5), "p103"),
        "roof_concrete_tile": ind(h["p103a"].isin([1, 3]), "p103a"),
        "electricity": ind(h["p1121"] == 1, "p1121"),
        "water_public": ind(h["p110"].between(1, 3), "p110"),
        "sanitation": sanitation,
        "sanitation_public": sanitation.isin(["public_in", "public_out"]).astype(float).where(
            sanitation.notna()),
        "cook_firewood": ind(h["p113a"].isin([5, 6, 7]), "p113a"),
    }, index=h.index)


def harmonise_year(enaho_dir, deflator_dir, year: int, centres: pd.DataFrame):
    """Harmonise ENAHO ``year`` → (household table, ingest ledger entries, report dict).

    ``enaho_dir``: the ENAHO root (with ``<year>/`` sub-folders) or the year folder itself.
    ``deflator_dir``: folder holding ``deflactores_base2012_new`` and ``despacial_ldnew``.
    ``centres``: the populated-centre map (contract §1.3) as a DataFrame.
    """
    year = int(year)
    ctx = _Ctx(year)
    yd = year_folder(enaho_dir, year)
    rep = ctx.report

    # --- read ---------------------------------------------------------------------------
    sm = _load(ctx, yd, "sumaria", extra=("year", "ld"))
    m100 = _load(ctx, yd, "100", extra=("year", "ubigeo"))
    m200 = _load(ctx, yd, "200")
    m300 = _load(ctx, yd, "300")
    m500 = _load(ctx, yd, "500")
    m2000 = _load(ctx, yd, "2000")
    m01b = _load(ctx, yd, "01b2")
    tdef, sdef, dfiles = _read_deflators(deflator_dir)
    rep["files"].update({"deflator_time": dfiles["time"], "deflator_space": dfiles["space"]})
    cen = prepare_centres(centres)

    for mod, df, keys in (("sumaria", sm, S.HH_KEYS), ("100", m100, S.HH_KEYS),
                          ("01b2", m01b, S.HH_KEYS), ("200", m200, S.PERSON_KEYS),
                          ("300", m300, S.PERSON_KEYS), ("500", m500, S.PERSON_KEYS),
                          ("2000", m2000, S.PERSON_KEYS)):
        _check_unique(ctx, df, keys, mod)
        if "year" in df.columns:
            yv = to_number(df["year"])
            wrong = yv.notna() & (yv != year)
            if wrong.any():
                raise IngestError(f"year {year}: file {rep['files'][mod]}: year column holds "
                                  f"{sorted(yv[wrong].unique().tolist())[:5]} in "
                                  f"{int(wrong.sum())} rows (e.g. rows "
                                  f"{(np.flatnonzero(wrong.to_numpy())[:10] + 1).tolist()})")

    # --- ledger: every raw household row of module 100 and sumaria ------------------------
    r100 = ctx.count_failures("100", m100, ["result"])["result"]
    u = m100[S.HH_KEYS].assign(_in100=True, _result=r100.to_numpy()).merge(
        sm[S.HH_KEYS].assign(_insum=True), on=S.HH_KEYS, how="outer")
    u["_in100"] = u["_in100"].fillna(False).astype(bool)
    u["_insum"] = u["_insum"].fillna(False).astype(bool)
    u["year"] = year
    u = u.sort_values(S.HH_KEYS).reset_index(drop=True)
    reason = _ledger_reason(u)
    led = ledger_mod.entries(u, STAGE, reason)
    rep["ledger"] = {str(k): int(v) for k, v in led["reason"].value_counts().sort_index().items()}
    kept = u.loc[reason == "", S.HH_KEYS]

    # --- household frame: sumaria ⋈ module 100 (kept only) -------------------------------
    hh = kept.merge(sm, on=S.HH_KEYS, how="left", validate="1:1")
    m100k = m100.drop(columns=[c for c in ("year", "ubigeo") if c in m100.columns])
    hh = hh.merge(m100k, on=S.HH_KEYS, how="left", validate="1:1")
    hh = hh.sort_values(S.HH_KEYS).reset_index(drop=True)

    if hh["ubigeo"].isna().any() or hh["mes"].isna().any():
        bad = hh[hh["ubigeo"].isna() | hh["mes"].isna()]
        raise IngestError(f"year {year}: file {rep['files']['sumaria']}: missing ubigeo or mes "
                          f"for households {bad[S.HH_KEYS].head(5).to_dict('records')}")

    out = pd.DataFrame(index=hh.index)
    out["year"] = np.int16(year)
    for k in S.HH_KEYS:
        out[k] = hh[k].astype(str)
    out["hh_id"] = f"{year}-" + hh["conglome"] + "-" + hh["vivienda"] + "-" + hh["hogar"]
    out["ubigeo"] = hh["ubigeo"].astype(str)
    dpto = out["ubigeo"].str[:2].astype(int)
    out["dpto"] = dpto.astype("int64")
    mes = to_number(hh["mes"])
    if mes.isna().any() or not mes.between(1, 12).all():
        bad = hh.loc[mes.isna() | ~mes.between(1, 12), S.HH_KEYS + ["mes"]]
        raise IngestError(f"year {year}: file {rep['files']['sumaria']}: column 'mes' not a month "
                          f"in rows {bad.head(5).to_dict('records')}")
    out["mes"] = mes.astype("int64")
    out["semester"] = f"{year}-" + np.where(out["mes"] <= 6, "I", "II")

    snum = ctx.count_failures("sumaria", hh, ["dominio", "estrato", "mieperho", "gashog2d",
                                              "linea", "pobreza", "factor07"])
    out["factor07"] = snum["factor07"]

    # --- deflation (layout §3) -------------------------------------------------------------
    dpto_defl = dpto.where(dpto != 7, 15)  # Callao uses Lima's deflator
    dA, urban = dominio_a(snum["dominio"], snum["estrato"], dpto)
    i00 = pd.DataFrame({"defl_year": float(year), "dpto_defl": dpto_defl.astype(float)}).merge(
        tdef, on=["defl_year", "dpto_defl"], how="left")["i00"].to_numpy()
    if np.isnan(i00).any():
        miss = sorted(set(dpto_defl[np.isnan(i00)].tolist()))
        raise IngestError(f"deflator file {dfiles['time']}: no i00 for year {year}, dpto {miss}")
    ld = pd.DataFrame({"dominioa": dA}).merge(sdef, on="dominioa", how="left")["ld"].to_numpy()
    no_ld = np.isnan(ld) & dA.notna().to_numpy()
    if no_ld.any():
        raise IngestError(f"deflator file {dfiles['space']}: no ld for dominioA "
                          f"{sorted(set(dA[no_ld].tolist()))}")
    rep["checks"]["households_without_dominioA"] = int(dA.isna().sum())
    if "ld" in hh.columns:  # 2012 sumaria carries ld: INEI drops it and re-merges; compare
        own = to_number(hh["ld"]).to_numpy()
        rep["checks"]["sumaria_ld_differs_from_file"] = int(
            (np.abs(own - ld) > 1e-6 * np.abs(ld)).sum())
    pc = snum["gashog2d"] / (12 * snum["mieperho"] * i00 * ld)
    out["pc_exp_real"] = pc
    out["ln_pc_exp"] = np.log(pc.where(pc > 0))
    rep["checks"]["nonpositive_expenditure"] = int((pc <= 0).sum())
    out["poor"] = snum["pobreza"].isin([1, 2]).astype(float).where(snum["pobreza"].notna())
    nominal = snum["gashog2d"] / (12 * snum["mieperho"])
    gap = ((snum["linea"] - nominal) / snum["linea"]).where(out["poor"] == 1, 0.0)
    gap = gap.where(out["poor"].notna())
    inconsistent = (out["poor"] == 1) & (gap < 0)
    rep["checks"]["poor_with_expenditure_above_line"] = int(inconsistent.sum())
    out["poverty_gap"] = gap.clip(lower=0)  # counted above; a poor household's gap is ≥ 0

    # --- subjective poverty (module 01b-2) --------------------------------------------------
    pcols = ["p37"] + (["p39a"] if year <= 2011 else [])
    pnum = ctx.count_failures("01b2", m01b, pcols)
    perc = m01b[S.HH_KEYS].join(pnum)
    reversed_p37 = _p37_reversed(year, m01b.attrs.get("value_labels", {}).get("p37"), rep)
    perc["subj_poor_living"] = (perc["p37"].isin([1, 2]) if reversed_p37
                                else perc["p37"].isin([3, 4])).astype(float).where(perc["p37"].notna())
    if year <= 2011:
        perc["subj_poor_self"] = (perc["p39a"] == 1).astype(float).where(perc["p39a"].notna())
    else:
        perc["subj_poor_self"] = np.nan  # 2012 asks a 1–10 ladder instead: never imputed
    pm = hh[S.HH_KEYS].merge(perc, on=S.HH_KEYS, how="left", validate="1:1", indicator=True)
    rep["checks"]["households_without_perception_row"] = int((pm["_merge"] == "left_only").sum())
    out["subj_poor_living"] = pm["subj_poor_living"].to_numpy()
    out["subj_poor_self"] = pm["subj_poor_self"].to_numpy().astype(float)

    # --- members and head (modules 200, 300) ------------------------------------------------
    pn = ctx.count_failures("200", m200, ["p203", "p204", "p207", "p208a", "p209"])
    per = m200[S.PERSON_KEYS].join(pn)
    per["p208a2"] = m200["p208a2"]
    mem = per[per["p204"] == 1]
    age = mem["p208a"]
    counts = mem[S.HH_KEYS].assign(
        n_members=1.0, n_0_5=age.between(0, 5).astype(float),
        n_6_14=age.between(6, 14).astype(float), n_65plus=(age >= 65).astype(float),
    ).groupby(S.HH_KEYS, sort=True).sum().reset_index()
    cm = hh[S.HH_KEYS].merge(counts, on=S.HH_KEYS, how="left", validate="1:1")
    for c in ("n_members", "n_0_5", "n_6_14", "n_65plus"):
        cm[c] = cm[c].fillna(0)
    mismatch = cm["n_members"].to_numpy() != snum["mieperho"].to_numpy()
    rep["checks"]["members_p204_ne_mieperho"] = int(mismatch.sum())
    rep["checks"]["members_mismatch_examples"] = (
        hh.loc[mismatch, S.HH_KEYS].head(5).assign(
            p204_count=cm.loc[mismatch, "n_members"].head(5).astype(int),
            mieperho=snum.loc[mismatch, "mieperho"].head(5)).to_dict("records"))
    out["hh_size"] = snum["mieperho"]
    for c in ("n_0_5", "n_6_14", "n_65plus"):
        out[c] = cm[c].astype(float).to_numpy()

    heads = per[per["p203"] == 1].sort_values(S.PERSON_KEYS)
    nheads = heads.groupby(S.HH_KEYS).size()
    rep["checks"]["households_with_several_heads"] = int((nheads > 1).sum())
    heads = heads.drop_duplicates(S.HH_KEYS)  # several heads: counted above; lowest codperso
    pn3 = ctx.count_failures("300", m300, ["p300a", "p301a"])
    ed = m300[S.PERSON_KEYS].join(pn3)
    heads = heads.merge(ed, on=S.PERSON_KEYS, how="left", validate="1:1")
    hm = hh[S.HH_KEYS + ["ubigeo"]].merge(heads, on=S.HH_KEYS, how="left", validate="1:1",
                                         indicator=True)
    rep["checks"]["households_without_head"] = int((hm["_merge"] == "left_only").sum())
    out["head_female"] = (hm["p207"] == 2).astype(float).where(hm["p207"].notna()).to_numpy()
    out["head_age"] = hm["p208a"].to_numpy()
    out["head_married"] = hm["p209"].isin([1, 2]).astype(float).where(hm["p209"].notna()).to_numpy()
    out["head_single"] = (hm["p209"] == 6).astype(float).where(hm["p209"].notna()).to_numpy()
    out["head_educ"] = hm["p301a"].map(EDUC_P301A).astype(float).to_numpy()
    birth = normalise_id(hm["p208a2"], 6, strip_zeros=False)  # numeric in 2007: restore zeros
    out["head_migrant"] = (birth != hm["ubigeo"]).astype(float).where(birth.notna()).to_numpy()
    out["head_native_lang"] = hm["p300a"].isin([1, 2, 3]).astype(float).where(
        hm["p300a"].notna()).to_numpy()

    # --- housing (module 100) -----------------------------------------------------------------
    scol = "p111a" if year >= 2012 else "p111"
    hn = ctx.count_failures("100", hh, ["p102", "p103", "p103a", "p104", "p110", scol, "p1121",
                                        "p113a", "latitud", "longitud"]
                            + (["altitud"] if year >= 2010 else []))
    smap = SANITATION_P111A if year >= 2012 else SANITATION_P111
    for col, values in housing_indicators(hn, scol, smap).items():
        out[col] = values
    rooms = hn["p104"].where(hn["p104"] > 0)
    rep["checks"]["households_with_zero_or_missing_rooms"] = int(rooms.isna().sum())
    out["persons_per_room"] = snum["mieperho"] / rooms

    # --- production (module 2000): max over producers of the household -------------------
    prodcols = ["p20001a", "p20001b", "p20001c", "hectareas", "parc_titulo", "parc_secano",
                "vbp", "venta", "autocons"]
    p2 = m2000[S.HH_KEYS].join(ctx.count_failures("2000", m2000, prodcols))
    p2["agri"] = (p2["p20001a"] > 0).astype(float)
    p2["livestock"] = (p2["p20001b"] > 0).astype(float)
    p2["forestry"] = (p2["p20001c"] > 0).astype(float)
    agg = p2.groupby(S.HH_KEYS)[["agri", "livestock", "forestry"] + prodcols[3:]].max().reset_index()
    pm2 = hh[S.HH_KEYS].merge(agg, on=S.HH_KEYS, how="left", validate="1:1", indicator=True)
    no_prod = (pm2["_merge"] == "left_only").to_numpy()
    rename = {"hectareas": "hectares", "parc_titulo": "titled_plots", "parc_secano": "rainfed_plots",
              "vbp": "prod_value", "venta": "sales", "autocons": "own_consumption"}
    for c in ["agri", "livestock", "forestry"] + prodcols[3:]:
        v = pm2[c].astype(float).to_numpy().copy()
        v[no_prod] = 0.0  # no producer row: the household produces nothing
        out[rename.get(c, c)] = v

    # --- labour (module 500, contract §1.2) ------------------------------------------------
    ln = m500[S.HH_KEYS].join(ctx.count_failures("500", m500, ["ocu500", "p506", "p507"]))
    farm = ln["p506"].between(*FARM_CIIU)
    pra_goods = farm | ln["p506"].isin(PRA_GOODS_CIIU_EXTRA)
    ln["indep"] = (ln["p507"].isin([1, 2]) & pra_goods).astype(float)
    ln["laborer"] = ((ln["p507"] == 4) & farm).astype(float)
    employed = ln["ocu500"] == 1
    ln["emp"] = employed.astype(float)
    ln["emp_nondep"] = (employed & ~ln["p507"].isin([3, 4, 6, 7])).astype(float)
    la = ln.groupby(S.HH_KEYS)[["indep", "laborer", "emp", "emp_nondep"]].sum().reset_index()
    lm = hh[S.HH_KEYS].merge(la, on=S.HH_KEYS, how="left", validate="1:1").fillna(
        {"indep": 0, "laborer": 0, "emp": 0, "emp_nondep": 0})
    out["indep_pra_goods"] = (lm["indep"] > 0).astype(float).to_numpy()
    out["has_laborer"] = (lm["laborer"] > 0).astype(float).to_numpy()
    # every employed member dependent (a household with nobody employed is not dependent-only)
    out["dependent_only"] = ((lm["emp"] > 0) & (lm["emp_nondep"] == 0)).astype(float).to_numpy()
    agri_hh = (out["agri"] + out["livestock"] + out["forestry"]) > 0
    producer = (agri_hh | (out["indep_pra_goods"] == 1)) & (out["dependent_only"] == 0)
    out["producer"] = producer.astype(float)
    out["hh_type"] = np.select(
        [producer, out["has_laborer"] == 1, out["dependent_only"] == 1],
        ["producer", "laborer", "dependent"], "other")

    # --- locality, coordinates, altitude ----------------------------------------------------
    out["latitude"] = hn["latitud"]
    out["longitude"] = hn["longitud"]
    if year <= 2011:
        out["locality"] = normalise_id(hh["codccpp"], 10, strip_zeros=False).to_numpy()
        rep["checks"]["locality_source"] = "codccpp (module 100)"
    else:
        pts = pd.DataFrame({"ubigeo": out["ubigeo"], "latitude": out["latitude"],
                            "longitude": out["longitude"]})
        out["locality"] = nearest_centre(pts, cen).to_numpy()
        rep["checks"]["locality_source"] = "nearest populated centre of the district"
    out["locality"] = out["locality"].astype(object).where(out["locality"].notna(), None)
    rep["checks"]["households_without_locality"] = int(out["locality"].isna().sum())
    lk = out[["locality"]].merge(cen.rename(columns={"codccpp": "locality"}), on="locality",
                                 how="left", validate="m:1", indicator=True)
    rep["checks"]["localities_not_in_centre_map"] = int(
        ((lk["_merge"] == "left_only") & out["locality"].notna().to_numpy()).sum())
    if year >= 2010:
        out["altitude"] = hn["altitud"]
        rep["checks"]["altitude_source"] = "altitud (module 100)"
    else:
        out["altitude"] = lk["altitud"].to_numpy()
        rep["checks"]["altitude_source"] = "populated-centre map by locality"
    rep["checks"]["households_without_altitude"] = int(out["altitude"].isna().sum())
    out["households_2007"] = lk["hogares_2007"].to_numpy()
    out["population_2007"] = lk["poblacion_2007"].to_numpy()
    out["rural"] = 1.0 - urban
    out["region"] = snum["dominio"].map(REGION_DOMINIO).astype(object)
    out["coast"] = (out["region"] == "costa").astype(float).where(out["region"].notna())
    out["selva"] = (out["region"] == "selva").astype(float).where(out["region"].notna())

    # --- unknown-code flags per household ----------------------------------------------------
    out["unknown_codes"] = _household_flags(ctx, out)

    out = out[S.HARMONISED_COLUMNS].reset_index(drop=True)
    for c in out.columns:
        if out[c].dtype == object or isinstance(out[c].dtype, pd.StringDtype):
            continue
        if c not in ("year", "dpto", "mes"):
            out[c] = out[c].astype("float64")
    for c in ("conglome", "vivienda", "hogar", "hh_id", "ubigeo", "semester", "hh_type",
              "unknown_codes"):
        out[c] = out[c].astype(str)
    for c in ("locality", "sanitation", "region"):
        out[c] = out[c].astype(object).where(pd.notna(out[c]), None)
    S.validate_harmonised(out)
    rep["rows"]["harmonised"] = int(len(out))
    if len(out) + sum(v for k, v in rep["ledger"].items() if k != "kept") != len(led):
        raise IngestError("internal: ledger does not balance")  # pragma: no cover
    return out, led, _jsonable(rep)


def _ledger_reason(u: pd.DataFrame) -> pd.Series:
    """Drop reason per raw household row ('' = kept)."""
    r = pd.Series("", index=u.index, dtype=object)
    res = u["_result"]
    nonresp = u["_in100"] & res.between(3, 7)
    r[nonresp] = "non-response (result=" + res[nonresp].astype(int).astype(str) + ")"
    r[u["_in100"] & res.isna()] = "result missing or unknown code"
    r[u["_in100"] & res.isin([1, 2]) & ~u["_insum"]] = "complete interview not in sumaria"
    r[~u["_in100"]] = "in sumaria, not in module 100"
    return r


def _p37_reversed(year: int, labels: dict | None, rep: dict) -> bool:
    """Whether p37 runs 1 'muy mal' … 4 'muy bien' (2012) rather than the reverse.

    From the value labels when the file carries them (and they must agree with the year's
    documented coding); from the year otherwise.
    """
    expected = year >= 2012
    if labels and 1 in labels:
        lab = str(labels[1]).lower()
        if "mal" in lab:
            found = True
        elif "bien" in lab:
            found = False
        else:
            raise IngestError(f"year {year}: p37 label of code 1 is {labels[1]!r}: "
                              "cannot tell the scale's direction")
        if found != expected:
            raise IngestError(
                f"year {year}: p37 value labels say code 1 = {labels[1]!r}, but ENAHO {year} "
                f"is documented as {'1 muy mal … 4 muy bien' if expected else '1 muy bien … 4 muy mal'}"
            )
        rep["checks"]["p37_coding"] = f"from value labels: 1 = {labels[1]}"
        return found
    rep["checks"]["p37_coding"] = "by year (no value labels in file)"
    return expected


def _household_flags(ctx: _Ctx, out: pd.DataFrame) -> pd.Series:
    """'module.column=value;' for every unknown code of the household (heads' rows included)."""
    if not ctx.flags:
        return pd.Series("", index=out.index)
    f = pd.concat(ctx.flags, ignore_index=True)
    f = f.groupby(S.HH_KEYS, sort=True)["flag"].apply(lambda s: "".join(s)).reset_index()
    m = out[S.HH_KEYS].merge(f, on=S.HH_KEYS, how="left")
    return m["flag"].fillna("").to_numpy()


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating, float)):
        return None if np.isnan(x) else float(x)
    if x is pd.NA:
        return None
    return x
