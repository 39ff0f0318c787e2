"""Harmonise one ENAHO year into the household-year table of ``docs/contract.md`` §3.

``harmonise_year`` reads only that year's module files, the two deflator files and the
populated-centre map, so a fix to one year's input reruns only that year. Every raw household
row ends in the ingest ledger (kept, or dropped with its reason); unknown codes are counted in
the report and flagged per household in ``unknown_codes``; missing files/columns and duplicated
keys stop the run with a message naming year, file, column and rows.

The rules shared with the programme survey live in :mod:`pra.ingest.welfare` (deflation,
poverty, subjective poverty), :mod:`pra.ingest.variables` (head, region, housing) and
:mod:`pra.ingest.centres` (the populated-centre map); this module reads ENAHO's modules and
applies them, one function per section of the table.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pra import ledger as ledger_mod
from pra.ingest import schemas as S
from pra.ingest.centres import PreparedCentres, centre_lookup, nearest_centre, prepare_centres
from pra.ingest.health import Health, check_keys, coverage, merge_checks, parse_numbers
from pra.ingest.readers import (
    IngestError,
    find_module,
    format_value,
    normalise_id,
    read_meta,
    read_module,
    source_name,
    to_number,
)
from pra.ingest.variables import head_variables, housing_indicators, region_variables, rooms
from pra.ingest.welfare import (
    Deflators,
    dominio_a,
    expenditure_and_poverty,
    p37_reversed,
    price_indices,
    read_deflators,
    subjective_poverty,
)

STAGE = "ingest"

# contract §1.2: CIIU rev.3 codes of PRA-II goods (111–500 farming/fishing, dairy, textiles).
PRA_GOODS_CIIU_EXTRA = (1520, 1711, 1721, 1730, 1810)
FARM_CIIU = (111, 500)

# Modules read (in this order) and the columns read besides the required ones wherever present.
MODULES = ("sumaria", "100", "200", "300", "500", "2000", "2000a", "2100", "01b2")
EXTRA_COLUMNS = {"sumaria": ("year", "ld"), "100": ("year", "ubigeo")}
# Key of each module's rows, in the order the checks run.
MODULE_KEYS = {"sumaria": S.HH_KEYS, "100": S.HH_KEYS, "01b2": S.HH_KEYS,
               "200": S.PERSON_KEYS, "300": S.PERSON_KEYS, "500": S.PERSON_KEYS,
               "2000": S.PERSON_KEYS, "2000a": S.PLOT_KEYS, "2100": S.CROP_KEYS}


def year_folder(enaho_dir: str | Path, year: int) -> Path:
    """``enaho_dir/<year>`` if it exists, else ``enaho_dir`` itself (a year folder given)."""
    p = Path(enaho_dir)
    return p / str(year) if (p / str(year)).is_dir() else p


class _Ctx:
    """Per-year state: report accumulators and per-household unknown-code flags."""

    def __init__(self, year: int, checks: dict | None = None):
        self.year = year
        self.health = Health(year, merge_checks(checks))  # data health (pra.ingest.health)
        self.report: dict = {
            "year": year,
            "files": {},
            "rows": {},
            "unknown_codes": {},
            "missing_codes": {},
            "out_of_range": {},
            "ledger": {},
            "checks": {},
        }
        self.flags: list[pd.DataFrame] = []  # HH_KEYS + flag text
        self.persons: pd.DataFrame | None = None  # module 200's coded persons

    @property
    def checks(self) -> dict:
        return self.report["checks"]

    def count_failures(self, module: str, df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
        """Numeric view of ``cols``; unknown codes/out-of-range counted and flagged per row.

        Returns a frame of the numeric values with failing cells set to NaN (the failure is
        recorded in the report and in the household's ``unknown_codes`` flag, so nothing is
        lost silently).
        """
        file = self.report["files"].get(module, module)
        # text that is not a number: repaired by the documented rules or a counted failure
        # (stops above data.checks.max_parse_failures); also reported as an unknown code below
        num = pd.DataFrame({c: parse_numbers(df[c], file=file, column=c, health=self.health)
                            for c in cols}, index=df.index)
        # before INEI's missing codes are set missing; numpy masks: a year's ~30 columns pass
        # with no failure, and pandas' per-call overhead was most of this function's time
        failed = df[cols].notna().to_numpy() & num.isna().to_numpy()
        self._missing_codes(module, num)
        # failing codes and ranges counted from the masks below, for the required columns
        # (S.required_columns) with their codes (S.CODES) and ranges (S.RANGES)
        counts: dict[str, dict[str, dict]] = {"codes": {}, "range": {}}
        checked = set(S.required_columns(module, self.year))
        bad_any = np.zeros(len(df), dtype=bool)
        flag_txt = None  # built at the first failure
        for j, c in enumerate(cols):
            text_bad = failed[:, j]  # e.g. 'x' in a code column: reported, not lost
            if text_bad.any():
                vc = df.loc[text_bad, c].astype(str).value_counts()
                bucket = counts["codes"].setdefault(c, {})
                for k, v in vc.sort_index().items():
                    bucket[k] = bucket.get(k, 0) + int(v)
            bad = text_bad.copy()
            x = num[c].to_numpy()
            if c in S.CODES.get(module, {}):
                fail = ~np.isnan(x) & ~np.isin(x, S.CODES[module][c])
                if fail.any():
                    _count_values(counts["codes"], c, num.loc[fail, c], c in checked)
                bad |= fail
            if c in S.RANGES.get(module, {}):
                lo, hi = S.RANGES[module][c]
                fail = ~np.isnan(x) & ((x < lo) | (x > hi))
                if fail.any():
                    _count_values(counts["range"], c, num.loc[fail, c], c in checked)
                bad |= fail
            if bad.any():
                if flag_txt is None:
                    flag_txt = pd.Series("", index=df.index, dtype=object)
                raw = df.loc[bad, c].map(format_value)
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

    def _missing_codes(self, module: str, num: pd.DataFrame) -> None:
        """INEI's missing-value codes (9 in the perception module, ...) become missing values,
        counted per column in the report (they are answers INEI marks missing, not errors)."""
        for c, code in S.MISSING_CODES.get(module, {}).items():
            if c not in num.columns:
                continue
            hit = num[c].to_numpy() == code
            if hit.any():
                key = f"{module}.{c}"
                self.report["missing_codes"][key] = self.report["missing_codes"].get(key, 0) + int(hit.sum())
                num.loc[hit, c] = np.nan


# --------------------------------------------------------------------------------------------
# reading and checking the modules


def _load(ctx: _Ctx, year_dir: Path, module: str, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    stem = S.MODULE_STEMS[module].format(year=ctx.year)
    path = find_module(year_dir, stem)
    meta = read_meta(path)
    cols, renamed = _aliased(S.required_columns(module, ctx.year), meta, module)
    # the year column is read wherever present so a file of the wrong year is caught
    cols = cols + [c for c in ("year",) + tuple(extra) if c in meta.original and c not in cols]
    df = read_module(path, cols, year=ctx.year, meta=meta).rename(columns=renamed)
    ctx.health.extend(df.attrs.get("health"))
    ctx.health.rows_read(source_name(path), len(df))
    if df.empty:  # a module with its header only: the year's sample would silently shrink
        raise IngestError(f"year {ctx.year}: file {source_name(path)}: the module holds no data "
                          f"rows (header only): expected one row per "
                          f"{'person' if 'codperso' in cols else 'household'} (module {module})")
    check_keys(df, [c for c in ("conglome", "vivienda", "hogar", "codperso", "ubigeo")
                    if c in cols], file=source_name(path), health=ctx.health)
    if renamed:
        ctx.checks[f"{module}_columns_read_as"] = {v: k for k, v in renamed.items()}
    keys = S.PERSON_KEYS if "codperso" in cols else S.HH_KEYS
    blank = df[keys].isna().any(axis=1)
    if blank.any():
        rows = (np.flatnonzero(blank.to_numpy())[:10] + 1).tolist()
        raise IngestError(
            f"year {ctx.year}: file {path.name}: missing id ({', '.join(keys)}) in "
            f"{int(blank.sum())} row(s), e.g. data rows {rows}"
        )
    ctx.report["files"][module] = source_name(path)  # a member: "<archive>.zip:<member>"
    ctx.report["rows"][module] = int(len(df))
    return df


def _aliased(cols: list[str], meta, module: str) -> tuple[list[str], dict[str, str]]:
    """Required columns with the file's own name where it uses a documented alternative
    (``S.COLUMN_ALIASES``, e.g. linea09 in sumaria 2011); and the renames back."""
    out, renamed = [], {}
    for c in cols:
        alt = next((a for a in S.COLUMN_ALIASES.get(module, {}).get(c, ())
                    if c not in meta.original and a in meta.original), None)
        out.append(alt or c)
        if alt:
            renamed[alt] = c
    return out, renamed


def _check_unique(ctx: _Ctx, df: pd.DataFrame, keys: list[str], module: str) -> None:
    dup = df.duplicated(keys, keep=False)
    if dup.any():
        rows = (np.flatnonzero(dup.to_numpy())[:10] + 1).tolist()
        example = df.loc[dup, keys].head(4).to_dict("records")
        raise IngestError(
            f"year {ctx.year}: file {ctx.report['files'][module]}: duplicated key "
            f"({', '.join(keys)}) in {int(dup.sum())} rows, e.g. data rows {rows}: {example}"
        )


def _check_year_column(ctx: _Ctx, df: pd.DataFrame, module: str) -> None:
    """A file of another year (its year column says so) stops the run."""
    if "year" not in df.columns:
        return
    yv = to_number(df["year"])
    wrong = yv.notna() & (yv != ctx.year)
    if wrong.any():
        raise IngestError(f"year {ctx.year}: file {ctx.report['files'][module]}: year column holds "
                          f"{sorted(yv[wrong].unique().tolist())[:5]} in "
                          f"{int(wrong.sum())} rows (e.g. rows "
                          f"{(np.flatnonzero(wrong.to_numpy())[:10] + 1).tolist()})")


def read_year_modules(ctx: _Ctx, year_dir: Path) -> dict[str, pd.DataFrame]:
    """The year's modules (``MODULES``), each with unique keys and of the right year."""
    mods = {m: _load(ctx, year_dir, m, extra=EXTRA_COLUMNS.get(m, ())) for m in MODULES}
    for module, keys in MODULE_KEYS.items():
        _check_unique(ctx, mods[module], keys, module)
        _check_year_column(ctx, mods[module], module)
    return mods


# --------------------------------------------------------------------------------------------
# sections of the household table (each returns its columns, indexed like the household frame)


def _ledger(ctx: _Ctx, m100: pd.DataFrame, sm: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ledger entries for every raw household row of module 100 and sumaria; the kept keys."""
    r100 = ctx.count_failures("100", m100, ["result"])["result"]
    u = m100[S.HH_KEYS].assign(_in100=True, _result=r100.to_numpy()).merge(
        sm[S.HH_KEYS].assign(_insum=True), on=S.HH_KEYS, how="outer")
    u["_in100"] = u["_in100"].fillna(False).astype(bool)
    u["_insum"] = u["_insum"].fillna(False).astype(bool)
    u["year"] = ctx.year
    u = u.sort_values(S.HH_KEYS).reset_index(drop=True)
    reason = _ledger_reason(u)
    complete = u["_in100"] & u["_result"].isin([1, 2])
    coverage(ctx.health, ctx.report["files"]["sumaria"], "complete interviews (module 100 "
             "result 1-2) without a row in sumaria", u.loc[complete & ~u["_insum"], S.HH_KEYS],
             int(complete.sum()))
    coverage(ctx.health, ctx.report["files"]["100"], "sumaria households without a row in "
             "module 100", u.loc[~u["_in100"], S.HH_KEYS], int(u["_insum"].sum()))
    led = ledger_mod.entries(u, STAGE, reason)
    ctx.report["ledger"] = {str(k): int(v)
                            for k, v in led["reason"].value_counts().sort_index().items()}
    return led, u.loc[reason == "", S.HH_KEYS]


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


def _household_frame(ctx: _Ctx, kept: pd.DataFrame, sm: pd.DataFrame,
                     m100: pd.DataFrame) -> pd.DataFrame:
    """sumaria ⋈ module 100 for the kept households, in key order."""
    hh = kept.merge(sm, on=S.HH_KEYS, how="left", validate="1:1")
    m100k = m100.drop(columns=[c for c in ("year", "ubigeo") if c in m100.columns])
    hh = hh.merge(m100k, on=S.HH_KEYS, how="left", validate="1:1")
    hh = hh.sort_values(S.HH_KEYS).reset_index(drop=True)
    if hh["ubigeo"].isna().any() or hh["mes"].isna().any():
        bad = hh[hh["ubigeo"].isna() | hh["mes"].isna()]
        raise IngestError(f"year {ctx.year}: files {ctx.report['files']['sumaria']} / "
                          f"{ctx.report['files']['100']}: missing ubigeo (sumaria) or mes (module "
                          f"100) for households {bad[S.HH_KEYS].head(5).to_dict('records')}")
    return hh


def _keys_and_design(ctx: _Ctx, hh: pd.DataFrame) -> pd.DataFrame:
    """Year, household keys and id, district (sumaria), department, month (module 100: sumaria
    has no month in INEI's dictionaries) and semester."""
    year = ctx.year
    out = pd.DataFrame(index=hh.index)
    out["year"] = np.int16(year)
    for k in S.HH_KEYS:
        out[k] = hh[k].astype(str)
    out["hh_id"] = f"{year}-" + hh["conglome"] + "-" + hh["vivienda"] + "-" + hh["hogar"]
    out["ubigeo"] = hh["ubigeo"].astype(str)
    out["dpto"] = out["ubigeo"].str[:2].astype(int).astype("int64")
    mes = to_number(hh["mes"])
    if mes.isna().any() or not mes.between(1, 12).all():
        bad = hh.loc[mes.isna() | ~mes.between(1, 12), S.HH_KEYS + ["mes"]]
        raise IngestError(f"year {year}: file {ctx.report['files']['100']}: column 'mes' not "
                          f"a month in rows {bad.head(5).to_dict('records')}")
    out["mes"] = mes.astype("int64")
    out["semester"] = f"{year}-" + np.where(out["mes"] <= 6, "I", "II")
    return out


def _expenditure_and_poverty(ctx: _Ctx, hh: pd.DataFrame, snum: pd.DataFrame, dpto: pd.Series,
                             deflators: Deflators) -> tuple[pd.DataFrame, pd.Series]:
    """Deflated expenditure, poverty and the gap (layout §3); also INEI's urban flag."""
    dA, urban = dominio_a(snum["dominio"], snum["estrato"], dpto)
    i00, ld = price_indices(deflators, ctx.year, dpto, dA, source=f"year {ctx.year}")
    ctx.checks["households_without_dominioA"] = int(dA.isna().sum())
    if "ld" in hh.columns:  # 2012 sumaria carries ld: INEI drops it and re-merges; compare
        own = to_number(hh["ld"]).to_numpy()
        ctx.checks["sumaria_ld_differs_from_file"] = int(
            (np.abs(own - ld) > 1e-6 * np.abs(ld)).sum())
    cols, checks = expenditure_and_poverty(snum["gashog2d"], snum["mieperho"], snum["linea"],
                                           snum["pobreza"], i00, ld)
    ctx.checks.update(checks)
    return cols, urban


def _subjective_poverty(ctx: _Ctx, hh: pd.DataFrame, m01b: pd.DataFrame,
                        value_labels: dict) -> pd.DataFrame:
    """Module 01b-2: p37 (reversed in 2012, or as its ``value_labels`` say) and p39a (not
    asked in 2012)."""
    year = ctx.year
    has_p39a = year <= 2011
    pnum = ctx.count_failures("01b2", m01b, ["p37"] + (["p39a"] if has_p39a else []))
    reversed_p37, how = p37_reversed(
        value_labels.get("p37"), documented_reversed=year >= 2012,
        source=f"year {year}", documented_by=f"ENAHO {year}", fallback="by year")
    ctx.checks["p37_coding"] = how
    perc = m01b[S.HH_KEYS].join(subjective_poverty(
        pnum["p37"], pnum["p39a"] if has_p39a else None, reversed_p37))
    pm = hh[S.HH_KEYS].merge(perc, on=S.HH_KEYS, how="left", validate="1:1", indicator=True)
    ctx.checks["households_without_perception_row"] = int((pm["_merge"] == "left_only").sum())
    coverage(ctx.health, ctx.report["files"]["01b2"], "households without a row in the "
             "perception module", pm.loc[pm["_merge"] == "left_only", S.HH_KEYS], len(hh))
    return pd.DataFrame({"subj_poor_living": pm["subj_poor_living"].to_numpy(),
                         "subj_poor_self": pm["subj_poor_self"].to_numpy().astype(float)},
                        index=hh.index)


def _persons(ctx: _Ctx, m200: pd.DataFrame) -> pd.DataFrame:
    """Module 200: one row per person with the coded columns and the birthplace."""
    pn = ctx.count_failures("200", m200, ["p203", "p204", "p207", "p208a", "p208a1", "p209"])
    per = m200[S.PERSON_KEYS].join(pn)
    per["p208a2"] = m200["p208a2"]
    ctx.persons = per  # module 500's coverage check asks who is aged 14+
    return per


def _members(ctx: _Ctx, hh: pd.DataFrame, snum: pd.DataFrame, per: pd.DataFrame) -> pd.DataFrame:
    """Household size (sumaria's mieperho) and the members by age (p204 = 1 only)."""
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
    ctx.checks["members_p204_ne_mieperho"] = int(mismatch.sum())
    ctx.checks["members_mismatch_examples"] = (
        hh.loc[mismatch, S.HH_KEYS].head(5).assign(
            p204_count=cm.loc[mismatch, "n_members"].head(5).astype(int),
            mieperho=snum.loc[mismatch, "mieperho"].head(5)).to_dict("records"))
    out = pd.DataFrame({"hh_size": snum["mieperho"]}, index=hh.index)
    for c in ("n_0_5", "n_6_14", "n_65plus"):
        out[c] = cm[c].astype(float).to_numpy()
    return out


def _head(ctx: _Ctx, hh: pd.DataFrame, per: pd.DataFrame, m300: pd.DataFrame) -> pd.DataFrame:
    """The head (p203 = 1; the lowest codperso when several) with education from module 300."""
    heads = per[per["p203"] == 1].sort_values(S.PERSON_KEYS)
    nheads = heads.groupby(S.HH_KEYS).size()
    ctx.checks["households_with_several_heads"] = int((nheads > 1).sum())
    heads = heads.drop_duplicates(S.HH_KEYS)  # several heads: counted above; lowest codperso
    pn3 = ctx.count_failures("300", m300, ["p300a", "p301a"])
    ed = m300[S.PERSON_KEYS].join(pn3)
    heads = heads.merge(ed.assign(_in300=True), on=S.PERSON_KEYS, how="left", validate="1:1")
    hm = hh[S.HH_KEYS + ["ubigeo"]].merge(heads, on=S.HH_KEYS, how="left", validate="1:1",
                                         indicator=True)
    no_head = hm["_merge"] == "left_only"
    ctx.checks["households_without_head"] = int(no_head.sum())
    coverage(ctx.health, ctx.report["files"]["200"], "households without a head (p203 = 1)",
             hm.loc[no_head, S.HH_KEYS], len(hh))
    coverage(ctx.health, ctx.report["files"]["300"], "heads without a row in module 300",
             hm.loc[~no_head & hm["_in300"].isna(), S.HH_KEYS], int((~no_head).sum()))
    hm = hm.drop(columns="_in300")
    # migrant: not born in the district (p208a1); the birth district p208a2 where p208a1 is blank
    return head_variables(hm, hm["p208a2"], hm["ubigeo"], born_here=hm["p208a1"]).set_axis(hh.index)


def _housing(ctx: _Ctx, hh: pd.DataFrame, snum: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Module 100 housing dummies and persons per room; also the coded module-100 view."""
    year = ctx.year
    scol = "p111a" if year >= 2012 else "p111"
    hn = ctx.count_failures("100", hh, ["p102", "p103", "p103a", "p104", "p110", scol, "p1121",
                                        "p113a", "latitud", "longitud"]
                            + (["altitud"] if year >= 2010 else []))
    out = housing_indicators(hn, scol)
    n_rooms = rooms(hn["p104"])
    ctx.checks["households_with_zero_or_missing_rooms"] = int(n_rooms.isna().sum())
    out["persons_per_room"] = snum["mieperho"] / n_rooms
    return out, hn


def _count_values(counts: dict, column: str, values: pd.Series, checked: bool) -> None:
    """Add failing ``values`` of ``column`` to ``counts`` ({column: {value: n}}; integral
    floats written as integers), as the report lists unknown codes and out-of-range values."""
    if not checked or values.empty:
        return
    bucket = counts.setdefault(column, {})
    for val in values:
        key = str(int(val)) if isinstance(val, float) and float(val).is_integer() else str(val)
        bucket[key] = bucket.get(key, 0) + 1


def _household_total(ctx: _Ctx, hh: pd.DataFrame, rows: pd.DataFrame, cols: list[str],
                     module: str, how: str = "sum") -> pd.DataFrame:
    """``how`` ('sum' or 'max') of ``cols`` over a household's rows (producers, plots, crops);
    0 without rows; missing where one of its rows' values is missing (that unknown code is
    flagged; a missing value is never counted as 0)."""
    # grouped by the household's position in hh (its keys are unique there): one integer key
    # instead of three text keys, and no merge back; rows without a household count nowhere
    # (a dict of key tuples: a merge cost more on a small year)
    where = {key: i for i, key in enumerate(_key_tuples(hh))}
    pos = np.array([where.get(key, np.nan) for key in _key_tuples(rows)], dtype=float)
    pos[rows[S.HH_KEYS].isna().any(axis=1).to_numpy()] = np.nan  # groupby drops blank keys
    have = ~np.isnan(pos)
    sub, by = rows.loc[have, cols], pos[have].astype(np.int64)
    has_na = sub.isna().groupby(by).any()  # vectorised: no lambda
    agg = sub.groupby(by).agg(how).where(~has_na)
    values = np.zeros((len(hh), len(cols)))  # no row: the household produces nothing
    values[agg.index.to_numpy()] = agg.to_numpy(dtype=float)
    none = np.ones(len(hh), dtype=bool)
    none[agg.index.to_numpy()] = False
    out = pd.DataFrame(values, index=hh.index, columns=cols)
    ctx.checks[f"households_with_missing_{module}_values"] = int(
        (out.isna().any(axis=1).to_numpy() & ~none).sum())
    return out


def _key_tuples(df: pd.DataFrame):
    """Each row's household keys (S.HH_KEYS) as a tuple of Python values."""
    return zip(*(df[k].tolist() for k in S.HH_KEYS))


def _production(ctx: _Ctx, hh: pd.DataFrame, m2000: pd.DataFrame, m2000a: pd.DataFrame,
                m2100: pd.DataFrame) -> pd.DataFrame:
    """The producer module as INEI ships it, aggregated to the household:

    * activities (``-2000``, one row per producer): any producer with ``p20001a/b/c > 0``;
    * plots (``-2000a``): hectares = Σ ``p2005b``; titled plots: ``p2005e`` a title document
      (``S.TITLED_P2005E``); rain-fed plots: ``p2005f3 == 1`` (secano);
    * crops (``-2100``): gross production value = Σ ``p21002n``, sales = Σ ``p21002b``, own
      consumption = Σ ``p21002f`` (soles). Livestock (``-2500``) is not part of these values.
    """
    p2 = m2000[S.HH_KEYS].join(ctx.count_failures("2000", m2000, ["p20001a", "p20001b", "p20001c"]))
    acts = p2[S.HH_KEYS].assign(agri=(p2["p20001a"] > 0).astype(float),
                                livestock=(p2["p20001b"] > 0).astype(float),
                                forestry=(p2["p20001c"] > 0).astype(float))
    plots = m2000a[S.HH_KEYS].join(ctx.count_failures("2000a", m2000a, ["p2005b", "p2005e", "p2005f3"]))
    plots["titled_plots"] = plots["p2005e"].isin(S.TITLED_P2005E).astype(float).where(plots["p2005e"].notna())
    plots["rainfed_plots"] = (plots["p2005f3"] == 1).astype(float).where(plots["p2005f3"].notna())
    plots = plots.rename(columns={"p2005b": "hectares"})
    crops = m2100[S.HH_KEYS].join(ctx.count_failures("2100", m2100, ["p21002n", "p21002b", "p21002f"]))
    crops = crops.rename(columns={"p21002n": "prod_value", "p21002b": "sales",
                                  "p21002f": "own_consumption"})
    # the producer module lists every producer whose plots or crops the item files hold
    items = pd.concat([plots[S.HH_KEYS], crops[S.HH_KEYS]]).drop_duplicates()
    lost = items.merge(p2[S.HH_KEYS].drop_duplicates(), on=S.HH_KEYS, how="left", indicator=True)
    coverage(ctx.health, ctx.report["files"]["2000"], "households with plots or crops (modules "
             "2000a/2100) without a row in the producer module",
             lost.loc[lost["_merge"] == "left_only", S.HH_KEYS], len(items))
    return pd.concat([
        _household_total(ctx, hh, acts, ["agri", "livestock", "forestry"], "2000", how="max"),
        _household_total(ctx, hh, crops, ["prod_value", "sales", "own_consumption"], "2100"),
        _household_total(ctx, hh, plots, ["titled_plots", "hectares", "rainfed_plots"], "2000a"),
    ], axis=1)


def _labour(ctx: _Ctx, hh: pd.DataFrame, m500: pd.DataFrame,
            production: pd.DataFrame) -> pd.DataFrame:
    """Module 500 (contract §1.2): independent in PRA goods, farm laborer, dependent-only; and
    the household type built from them and the production activities."""
    ln = m500[S.HH_KEYS].join(ctx.count_failures("500", m500, ["ocu500", "p506", "p507"]))
    adults = ctx.persons.loc[(ctx.persons["p204"] == 1) & (ctx.persons["p208a"] >= 14), S.HH_KEYS]
    adults = hh[S.HH_KEYS].merge(adults.drop_duplicates(), on=S.HH_KEYS)
    lost = adults.merge(m500[S.HH_KEYS].drop_duplicates(), on=S.HH_KEYS, how="left", indicator=True)
    coverage(ctx.health, ctx.report["files"]["500"], "households with members aged 14+ without a "
             "row in module 500", lost.loc[lost["_merge"] == "left_only", S.HH_KEYS], len(adults))
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
    out = pd.DataFrame(index=hh.index)
    out["indep_pra_goods"] = (lm["indep"] > 0).astype(float).to_numpy()
    out["has_laborer"] = (lm["laborer"] > 0).astype(float).to_numpy()
    # every employed member dependent (a household with nobody employed is not dependent-only)
    out["dependent_only"] = ((lm["emp"] > 0) & (lm["emp_nondep"] == 0)).astype(float).to_numpy()
    agri_hh = (production["agri"] + production["livestock"] + production["forestry"]) > 0
    producer = (agri_hh | (out["indep_pra_goods"] == 1)) & (out["dependent_only"] == 0)
    out["producer"] = producer.astype(float)
    out["hh_type"] = np.select(
        [producer, out["has_laborer"] == 1, out["dependent_only"] == 1],
        ["producer", "laborer", "dependent"], "other")
    return out


def _locality(ctx: _Ctx, hh: pd.DataFrame, hn: pd.DataFrame, ubigeo: pd.Series,
              cen: pd.DataFrame) -> pd.DataFrame:
    """Locality (codccpp until 2011, else the nearest centre of the district), coordinates,
    altitude and the centre map's 2007 census counts."""
    year, checks = ctx.year, ctx.checks
    out = pd.DataFrame({"latitude": hn["latitud"], "longitude": hn["longitud"]}, index=hh.index)
    if year <= 2011:
        code = national_centre_code(ubigeo, hh["codccpp"])
        bad = code.notna() & (code.str.len() != 10)
        if bad.any():
            raise IngestError(
                f"year {year}: file {ctx.report['files']['100']}: column 'codccpp' is neither the "
                f"4-character code within the district nor a 10-character national code for "
                f"households {hh.loc[bad, S.HH_KEYS + ['codccpp']].head(5).to_dict('records')}")
        out["locality"] = code.to_numpy()
        checks["locality_source"] = "ubigeo + codccpp (module 100)"
    else:
        pts = pd.DataFrame({"ubigeo": ubigeo, "latitude": out["latitude"],
                            "longitude": out["longitude"]})
        out["locality"] = nearest_centre(pts, cen).to_numpy()
        checks["locality_source"] = "nearest populated centre of the district"
    out["locality"] = out["locality"].astype(object).where(out["locality"].notna(), None)
    checks["households_without_locality"] = int(out["locality"].isna().sum())
    lk, checks["localities_not_in_centre_map"] = centre_lookup(out["locality"], cen)
    if year >= 2010:
        out["altitude"] = hn["altitud"]
        checks["altitude_source"] = "altitud (module 100)"
    else:
        out["altitude"] = lk["altitud"].to_numpy()
        checks["altitude_source"] = "populated-centre map by locality"
    checks["households_without_altitude"] = int(out["altitude"].isna().sum())
    out["households_2007"] = lk["hogares_2007"].to_numpy()
    out["population_2007"] = lk["poblacion_2007"].to_numpy()
    return out


def national_centre_code(ubigeo: pd.Series, codccpp: pd.Series) -> pd.Series:
    """INEI's national populated-centre code: module 100 carries the 4-character code within the
    district (%4s), so the national code is ubigeo + codccpp; a 10-character code already
    national passes unchanged; blank stays missing."""
    code = normalise_id(codccpp, 4, strip_zeros=False)
    within = code.str.len() == 4
    return (ubigeo.astype("string") + code).where(within, code)


def _household_flags(ctx: _Ctx, out: pd.DataFrame) -> pd.Series:
    """'module.column=value;' for every unknown code of the household (heads' rows included)."""
    if not ctx.flags:
        return pd.Series("", index=out.index)
    f = pd.concat(ctx.flags, ignore_index=True)
    f = f.groupby(S.HH_KEYS, sort=True)["flag"].apply(lambda s: "".join(s)).reset_index()
    m = out[S.HH_KEYS].merge(f, on=S.HH_KEYS, how="left")
    return m["flag"].fillna("").to_numpy()


def _finalise(out: pd.DataFrame) -> pd.DataFrame:
    """Contract order and types: numbers float64 (year, dpto, mes integers), ids text."""
    out = out[S.HARMONISED_COLUMNS].reset_index(drop=True)
    for c, dtype in out.dtypes.items():
        if dtype == object or isinstance(dtype, pd.StringDtype):
            continue
        if c not in ("year", "dpto", "mes"):
            out[c] = out[c].astype("float64")
    for c in ("conglome", "vivienda", "hogar", "hh_id", "ubigeo", "semester", "hh_type",
              "unknown_codes"):
        out[c] = out[c].astype(str)
    for c in ("locality", "sanitation", "region"):
        out[c] = out[c].astype(object).where(pd.notna(out[c]), None)
    return out


# --------------------------------------------------------------------------------------------
# main entry


def harmonise_year(enaho_dir, deflator_dir, year: int, centres: pd.DataFrame | PreparedCentres,
                   checks: dict | None = None):
    """Harmonise ENAHO ``year`` → (household table, ingest ledger entries, report dict).

    ``enaho_dir``: the ENAHO root (with ``<year>/`` sub-folders) or the year folder itself.
    ``deflator_dir``: folder holding ``deflactores_base2012_new`` and ``despacial_ldnew``.
    ``centres``: the populated-centre map (contract §1.3) as a DataFrame, or prepared once
    (:class:`pra.ingest.centres.PreparedCentres`) by a caller that harmonises several years.
    ``checks``: ``data.checks`` of the config (thresholds of :mod:`pra.ingest.health`).
    The report's ``health`` lists the year's data-health entries (rows read, parse failures,
    repairs, households dropped or incomplete).
    """
    ctx = _Ctx(int(year), checks)
    mods = read_year_modules(ctx, year_folder(enaho_dir, ctx.year))
    deflators = read_deflators(deflator_dir, health=ctx.health)
    return harmonise_modules(mods, deflators, ctx.year, centres, ctx=ctx)


def harmonise_modules(modules: dict[str, pd.DataFrame], deflators: Deflators, year: int,
                      centres: pd.DataFrame | PreparedCentres, *, ctx: _Ctx | None = None,
                      checks: dict | None = None):
    """Harmonise ENAHO ``year`` from its modules as read → (household table, ledger, report).

    ``modules``: {module: frame} for every module of :data:`MODULES`, as
    :func:`read_year_modules` returns them (canonical names, normalised keys); frames built in
    memory (the Monte Carlo of :mod:`pra.validate`) are checked the same way (unique keys, year).
    ``deflators``: :func:`pra.ingest.welfare.read_deflators`' tables; ``checks`` as for
    :func:`harmonise_year`. ``centres``: the map, or :class:`pra.ingest.centres.PreparedCentres`
    (one map prepared once for several years: the same table and health entries).
    """
    # pandas deep-copies attrs (value labels, health rows) on every operation of a frame that
    # carries them: the checks and sections work on views without attrs
    mods = {m: _without_attrs(df) for m, df in modules.items()}
    if ctx is None:
        ctx = _Ctx(int(year), checks)
        for m in MODULES:
            ctx.report["files"][m] = modules[m].attrs.get("source", f"module {m} (in memory)")
            ctx.report["rows"][m] = int(len(modules[m]))
        for module, keys in MODULE_KEYS.items():
            _check_unique(ctx, mods[module], keys, module)
            _check_year_column(ctx, mods[module], module)
    rep = ctx.report
    rep["files"].update({"deflator_time": deflators.files["time"],
                         "deflator_space": deflators.files["space"]})
    cen = (centres.for_health(ctx.health) if isinstance(centres, PreparedCentres)
           else prepare_centres(centres, health=ctx.health))

    led, kept = _ledger(ctx, mods["100"], mods["sumaria"])
    hh = _household_frame(ctx, kept, mods["sumaria"], mods["100"])
    out = _keys_and_design(ctx, hh)
    snum = ctx.count_failures("sumaria", hh, ["dominio", "estrato", "mieperho", "gashog2d",
                                              "linea", "pobreza", "factor07"])
    out["factor07"] = snum["factor07"]
    # The sections in this order: unknown-code flags are listed in the order they are found.
    welfare, urban = _expenditure_and_poverty(ctx, hh, snum, out["dpto"], deflators)
    sections = [welfare, _subjective_poverty(ctx, hh, mods["01b2"],
                                             modules["01b2"].attrs.get("value_labels", {}))]
    per = _persons(ctx, mods["200"])
    sections += [_members(ctx, hh, snum, per), _head(ctx, hh, per, mods["300"])]
    housing, hn = _housing(ctx, hh, snum)
    production = _production(ctx, hh, mods["2000"], mods["2000a"], mods["2100"])
    sections += [housing, production, _labour(ctx, hh, mods["500"], production),
                 _locality(ctx, hh, hn, out["ubigeo"], cen),
                 region_variables(snum["dominio"], urban)]
    for part in sections:
        for c in part.columns:
            out[c] = part[c]
    out["unknown_codes"] = _household_flags(ctx, out)

    out = _finalise(out)
    S.validate_harmonised(out)
    rep["rows"]["harmonised"] = int(len(out))
    _dropped(ctx, led)
    if len(out) + sum(v for k, v in rep["ledger"].items() if k != "kept") != len(led):
        raise IngestError("internal: ledger does not balance")  # pragma: no cover
    return out, led, _jsonable(rep)


def _without_attrs(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy(deep=False)  # shares the data (copy-on-write)
    out.attrs = {}
    return out


def _dropped(ctx: _Ctx, led: pd.DataFrame) -> None:
    """Households dropped, by reason, into the health table (non-response is by design)."""
    files = f"{ctx.report['files']['100']} / {ctx.report['files']['sumaria']}"
    for why, n in ctx.report["ledger"].items():
        if why != "kept":
            ctx.health.add(files, "", f"households dropped: {why}", n,
                           action="by design" if why.startswith("non-response") else "dropped")
    ctx.report["health"] = ctx.health.rows


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


__all__ = ["harmonise_modules", "harmonise_year", "national_centre_code", "read_year_modules", "year_folder"]
