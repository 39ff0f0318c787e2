"""Tiny hand-built ENAHO module files for the ingest tests (every format and quirk).

Five raw households per year, chosen so every rule is exercised:

| key (conglome, vivienda, hogar) | module 100 | sumaria | type |
|---|---|---|---|
| H1 (5, 1, 11)  | result 1 | yes | Callao, Lima Metropolitana, dependent-only |
| H2 (5, 2, 11)  | result 2 | yes | rural sierra, producer, poor |
| H3 (12, 1, 11) | result 3 | no  | non-response (empty row) |
| H4 (12, 3, 11) | result 1 | no  | complete but not in sumaria |
| H5 (12, 4, 11) | result 1 | yes | selva baja (Loreto) rural, farm laborer, poor |

Files follow INEI's real layouts (tests/data/inei_columns.csv): ids zero-padded text of INEI's
widths in .dta, the dictionary's types in .sav (numeric in sumaria, 200, 300), plain integers in
CSV; ``mes`` in module 100 (sumaria has none), ``codccpp`` the 4-character code within the
district, ``p208a1`` with ``p208a2`` only for those born elsewhere, the producer module as
-2000 / -2000a plots / -2100 crops, sumaria 2011's lines named linea09 / linpe09.
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat

H1, H2, H3, H4, H5 = (5, 1, 11), (5, 2, 11), (12, 1, 11), (12, 3, 11), (12, 4, 11)
KEPT = [H1, H2, H5]
# modules whose ids the dictionaries type N (numeric): so written in the .sav files
NUMERIC_IDS = {"sumaria", "200", "300"}
WIDTH = {"conglome": 4, "vivienda": 3, "hogar": 2, "codperso": 2}
STEMS = {
    "sumaria": "sumaria-{y}", "100": "enaho01-{y}-100", "200": "enaho01-{y}-200",
    "300": "enaho01a-{y}-300", "500": "enaho01a-{y}-500", "2000": "enaho02-{y}-2000",
    "2000a": "enaho02-{y}-2000a", "2100": "enaho02-{y}-2100", "01b2": "enaho01b-{y}-2",
}
# File format per year, as in the embedded tree (contract §1).
FORMAT = {2007: "dta110", 2008: "csv", 2009: "dta110", 2010: "sav", 2011: "dta110", 2012: "dta"}


def year_column(year: int, module: str) -> str:
    if year == 2009 and module == "500":
        return "año"
    if year == 2011 and module in ("2000", "2000a", "2100", "01b2"):
        return "a_o"
    return "aÑo"


def _hh(key, **kw):
    return dict(conglome=key[0], vivienda=key[1], hogar=key[2], **kw)


def tables(year: int) -> dict[str, pd.DataFrame]:
    """Canonical tables (integer ids, lower-case names, column ``year``) for one year: a fresh
    copy each call (tests edit them), of tables built once per process."""
    return {m: df.copy() for m, df in _tables(year).items()}


@functools.cache
def _tables(year: int) -> dict[str, pd.DataFrame]:
    nan = np.nan
    sumaria = pd.DataFrame([
        _hh(H1, ubigeo="070101", dominio=8, estrato=3, mieperho=2, totmieho=3,
            gashog2d=12000.0, linea=300.0, linpe=150.0, pobreza=3, factor07=100.5),
        _hh(H2, ubigeo="080101", dominio=5, estrato=7, mieperho=2, totmieho=2,
            gashog2d=2400.0, linea=200.0, linpe=100.0, pobreza=1, factor07=80.0),
        _hh(H5, ubigeo="160101", dominio=7, estrato=6, mieperho=1, totmieho=1,
            gashog2d=2400.0, linea=250.0, linpe=120.0, pobreza=2, factor07=60.0),
    ])
    if year == 2011:  # the 2011 dictionary's names
        sumaria = sumaria.rename(columns={"linea": "linea09", "linpe": "linpe09"})
    if year == 2012:
        sumaria["ld"] = [ld_of(17), ld_of(10), ld_of(16)]
    s12 = year >= 2012
    m100 = pd.DataFrame([
        _hh(H1, ubigeo="070101", mes=3, result=1, p102=1, p103=5, p103a=1, p104=2, p110=1,
            san=3, p1121=1, p113a=2, latitud=-12.05, longitud=-77.10,
            codccpp="0001", altitud=20.0),
        _hh(H2, ubigeo="080101", mes=8, result=2, p102=3, p103=6, p103a=4, p104=1, p110=6,
            san=4, p1121=0, p113a=6, latitud=-13.50, longitud=-71.90,
            codccpp="0005", altitud=3400.0),
        _hh(H3, ubigeo="080101", mes=5, result=3, p102=nan, p103=nan, p103a=nan, p104=nan, p110=nan,
            san=nan, p1121=nan, p113a=nan, latitud=nan, longitud=nan, codccpp="",
            altitud=nan),
        _hh(H4, ubigeo="080101", mes=6, result=1, p102=3, p103=6, p103a=4, p104=1, p110=6,
            san=4, p1121=0, p113a=6, latitud=-13.51, longitud=-71.91,
            codccpp="0005", altitud=3400.0),
        _hh(H5, ubigeo="160101", mes=12, result=1, p102=7, p103=6, p103a=7, p104=1, p110=6,
            san=6, p1121=0, p113a=5, latitud=-3.75, longitud=-73.25,
            codccpp="0003", altitud=110.0),
    ]).rename(columns={"san": "p111a" if s12 else "p111"})
    if s12:
        m100 = m100.drop(columns="codccpp")
    if year < 2010:
        m100 = m100.drop(columns="altitud")
    # born elsewhere (p208a1 = 0): H2's members and H4's head, in district 080102; p208a2 is
    # asked only of them
    elsewhere = 80102.0 if year == 2007 else "080102"
    m200 = pd.DataFrame([
        _hh(H1, codperso=1, ubigeo="070101", p203=1, p204=1, p207=2, p208a=40, p208a1=1, p208a2=nan, p209=2),
        _hh(H1, codperso=2, ubigeo="070101", p203=3, p204=1, p207=1, p208a=3, p208a1=1, p208a2=nan, p209=nan),
        _hh(H1, codperso=3, ubigeo="070101", p203=8, p204=2, p207=2, p208a=70, p208a1=1, p208a2=nan, p209=6),
        _hh(H2, codperso=1, ubigeo="080101", p203=1, p204=1, p207=1, p208a=70, p208a1=0, p208a2=elsewhere, p209=6),
        _hh(H2, codperso=2, ubigeo="080101", p203=5, p204=1, p207=2, p208a=10, p208a1=0, p208a2=elsewhere, p209=nan),
        _hh(H4, codperso=1, ubigeo="080101", p203=1, p204=1, p207=1, p208a=50, p208a1=0, p208a2=elsewhere, p209=1),
        _hh(H5, codperso=1, ubigeo="160101", p203=1, p204=1, p207=1, p208a=30, p208a1=1, p208a2=nan, p209=1),
    ])
    if year == 2007:
        m200["p208a2"] = m200["p208a2"].astype("float64")
    m300 = pd.DataFrame([
        _hh(H1, codperso=1, p300a=4, p301a=6), _hh(H1, codperso=2, p300a=4, p301a=2),
        _hh(H1, codperso=3, p300a=4, p301a=3), _hh(H2, codperso=1, p300a=1, p301a=3),
        _hh(H2, codperso=2, p300a=1, p301a=3), _hh(H4, codperso=1, p300a=4, p301a=6),
        _hh(H5, codperso=1, p300a=2, p301a=10),
    ])
    m500 = pd.DataFrame([
        _hh(H1, codperso=1, ocu500=1, p507=3, p506=8000),
        _hh(H1, codperso=3, ocu500=4, p507=nan, p506=nan),
        _hh(H2, codperso=1, ocu500=1, p507=2, p506=111),
        _hh(H4, codperso=1, ocu500=1, p507=2, p506=1711),
        _hh(H5, codperso=1, ocu500=1, p507=4, p506=200),
    ])
    # H2 has two producers: plots 1.5 + 1.0 + 0.5 ha (one titled, two rain-fed), crops worth
    # 3000 + 2000 + 800 (sales 2000 + 1000 + 100, own consumption 500 + 1000 + 600)
    m2000 = pd.DataFrame([
        _hh(H2, codperso=1, p20001a=1, p20001b=2, p20001c=0, p20002=1, p20002c=2, factora07=80.0),
        _hh(H2, codperso=2, p20001a=0, p20001b=2, p20001c=3, p20002=2, p20002c=1, factora07=80.0),
    ])
    m2000a = pd.DataFrame([
        _hh(H2, codperso=1, p2005a=1, p2005b=1.5, p2005e=1, p2005f3=1),
        _hh(H2, codperso=1, p2005a=2, p2005b=1.0, p2005e=6, p2005f3=1),
        _hh(H2, codperso=2, p2005a=1, p2005b=0.5, p2005e=8, p2005f3=0),
    ])
    m2100 = pd.DataFrame([
        _hh(H2, codperso=1, p2100a=1, p21002b=2000.0, p21002f=500.0, p21002n=3000.0, factora07=80.0),
        _hh(H2, codperso=1, p2100a=2, p21002b=1000.0, p21002f=1000.0, p21002n=2000.0, factora07=80.0),
        _hh(H2, codperso=2, p2100a=1, p21002b=100.0, p21002f=600.0, p21002n=800.0, factora07=80.0),
    ])
    m01b = pd.DataFrame([
        _hh(H1, codperso=1, p32=1, p37=1, p39a=4, p39b1=8),
        _hh(H2, codperso=1, p32=4, p37=3, p39a=1, p39b1=2),
        _hh(H5, codperso=1, p32=2, p37=4, p39a=2, p39b1=3),
    ])
    m01b = m01b.drop(columns="p39a" if s12 else "p39b1")
    out = {"sumaria": sumaria, "100": m100, "200": m200, "300": m300, "500": m500,
           "2000": m2000, "2000a": m2000a, "2100": m2100, "01b2": m01b}
    for df in out.values():
        df.insert(0, "year", year)
    return out


P37_OLD = {1: "muy bien", 2: "bien", 3: "mal", 4: "muy mal"}
P37_2012 = {1: "muy mal", 2: "mal", 3: "bien", 4: "muy bien"}


def i00_of(year: int, dpto: int) -> float:
    return round(1.0 - 0.02 * (2012 - year) + 0.001 * dpto, 6)


def ld_of(dominio_a: int) -> float:
    return round(0.8 + 0.02 * dominio_a, 6)


def deflator_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = [{"aniorec": y, "dpto": d, "i00": i00_of(y, d), "i01": 1.0}
            for y in range(2004, 2013) for d in range(1, 26) if d != 7]
    t = pd.DataFrame(rows)
    s = pd.DataFrame({"dominioA": list(range(1, 18)), "ld": [ld_of(a) for a in range(1, 18)]})
    return t, s


def centres() -> pd.DataFrame:
    """Populated-centre map; in 2012 each household must pick the nearest of *its* district."""
    return pd.DataFrame([
        ("0701010001", "070101", -12.0501, -77.1001, 15.0, 5000, 21000),
        ("0701010002", "070101", -12.2000, -77.3000, 30.0, 100, 400),
        ("0801010005", "080101", -13.5001, -71.9001, 3500.0, 80, 300),
        ("0801010006", "080101", -13.7000, -72.2000, 3900.0, 20, 90),
        ("0801020001", "080102", -13.5000, -71.9000, 3450.0, 40, 150),  # nearer, other district
        ("1601010003", "160101", -3.7501, -73.2501, 105.0, 60, 250),
    ], columns=["codccpp", "ubigeo", "latitud", "longitud", "altitud", "hogares_2007",
                "poblacion_2007"])


def quirk(df: pd.DataFrame, year: int, module: str, fmt: str) -> pd.DataFrame:
    """Canonical table -> as stored by INEI: year column spelling, id padding, text codes."""
    out = df.copy()
    ycol = year_column(year, module)
    out = out.rename(columns={"year": ycol})
    out[ycol] = year if fmt == "csv" else str(year)
    numeric = fmt == "csv" or (fmt == "sav" and module in NUMERIC_IDS)
    for col, w in WIDTH.items():
        if col not in out.columns:
            continue
        ids = out[col].astype(int)
        out[col] = ids if numeric else ids.astype(str).str.zfill(w)
    if "ubigeo" in out.columns and fmt == "sav" and module in NUMERIC_IDS:
        out["ubigeo"] = out["ubigeo"].astype(int)
    if "mes" in out.columns and fmt != "csv":
        out["mes"] = out["mes"].astype(int).astype(str).str.zfill(2)
    if year == 2011 and module == "100":
        out["latitud"] = out["latitud"].map(lambda v: "" if pd.isna(v) else f"{v:.6f}")
    return out


def write_frame(df: pd.DataFrame, path: Path, fmt: str, labels: dict | None = None) -> Path:
    """Write ``df`` as ``fmt`` (dta | dta110 | sav | csv); text NaN -> '' for Stata/SPSS."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = df.copy()
    for c in frame.columns:
        if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c].dtype):
            frame[c] = frame[c].astype(object).where(frame[c].notna(), "")
    labels = {k: v for k, v in (labels or {}).items() if k in frame.columns}
    if fmt == "dta":
        pyreadstat.write_dta(frame, str(path), version=15, variable_value_labels=labels or None)
    elif fmt == "dta110":
        from pra.embedded.stata7 import write_dta110

        write_dta110(frame, path, value_labels=labels)
    elif fmt == "sav":
        frame.columns = [c.upper() for c in frame.columns]
        pyreadstat.write_sav(frame, str(path),
                             variable_value_labels={k.upper(): v for k, v in labels.items()} or None)
    elif fmt == "csv":
        df.to_csv(path, index=False, encoding="utf-8")
    else:
        raise ValueError(fmt)
    return path


EXT = {"dta": ".dta", "dta110": ".dta", "sav": ".sav", "csv": ".csv"}


def write_year(root: Path, year: int, fmt: str | None = None,
               tabs: dict[str, pd.DataFrame] | None = None, labels: bool = True) -> Path:
    """Write one year's module files under ``root/<year>/``; returns the folder."""
    fmt = fmt or FORMAT[year]
    tabs = tabs or _tables(year)  # read only here (quirk copies)
    yd = Path(root) / str(year)
    for module, df in tabs.items():
        stem = STEMS[module].format(y=year)
        if year == 2010 and module == "01b2":
            stem = "Enaho01B-2010-2"  # INEI's capitalisation on disk
        path = yd / (stem + EXT[fmt])
        key = (year, fmt, module, labels)
        if key in _WRITTEN and _is_default(df, year, module):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(_WRITTEN[key])
            continue
        lab = {"p37": P37_2012 if year >= 2012 else P37_OLD} if labels else {}
        write_frame(quirk(df, year, module, fmt), path, fmt, lab)
        if _is_default(df, year, module):
            _WRITTEN[key] = path.read_bytes()
    return yd


# Bytes of the unedited modules as written once in this process, by (year, format, module,
# labels): most tests edit one module of a year, and the files of the others are copied (writing
# them again cost a third of the ingest tests' time).
_WRITTEN: dict[tuple, bytes] = {}


def _is_default(df: pd.DataFrame, year: int, module: str) -> bool:
    """Whether ``df`` is the unedited table of ``module`` (same names, types and values)."""
    default = _tables(year)[module]
    return list(df.columns) == list(default.columns) and df.equals(default)


def write_deflators(folder: Path) -> Path:
    t, s = deflator_tables()
    write_frame(t, Path(folder) / "deflactores_base2012_new.dta", "dta")
    write_frame(s, Path(folder) / "despacial_ldnew.dta", "dta")
    return Path(folder)


def expected(year: int) -> pd.DataFrame:
    """Hand-derived harmonised values of the three kept households (keys canonical)."""
    i = {H1: i00_of(year, 15), H2: i00_of(year, 8), H5: i00_of(year, 16)}  # Callao 07 -> 15
    ld = {H1: ld_of(17), H2: ld_of(10), H5: ld_of(16)}  # Lima; sierra centro rural; selva baja rural
    gas = {H1: 12000.0, H2: 2400.0, H5: 2400.0}
    mie = {H1: 2, H2: 2, H5: 1}
    s12 = year >= 2012
    rows = []
    for k, poor, gap, p37, p39a, san_old, san_new in (
        (H1, 0, 0.0, 1, 4, "septic", "latrine_pit"),
        (H2, 1, 0.5, 3, 1, "latrine_pit", "septic"),
        (H5, 1, 0.2, 4, 2, "none_other", "river"),
    ):
        rows.append(dict(
            conglome=f"{k[0]:06d}", vivienda=f"{k[1]:03d}", hogar=f"{k[2]:02d}",
            pc_exp_real=gas[k] / (12 * mie[k] * i[k] * ld[k]), poor=float(poor), poverty_gap=gap,
            subj_poor_living=float(p37 in ((1, 2) if s12 else (3, 4))),
            subj_poor_self=np.nan if s12 else float(p39a == 1),
            sanitation=san_new if s12 else san_old,
        ))
    return pd.DataFrame(rows)
