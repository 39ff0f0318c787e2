"""Orchestration of the embedded data: draw geography and households, write INEI's layouts.

``synthesize(out_dir, scale, seed)`` seeds one ``np.random.SeedSequence(seed)``, spawns
independent generators for :func:`pra.embedded.geography.build_geography` and
:func:`pra.embedded.households.build_households`, and writes the tree of ``docs/contract.md``
§1 with the FORMAT quirks of the real files (the content quirks, e.g. ``p111a`` or the reversed
2012 ``p37`` codes, come from ``build_households``):

* file format by year (``layout.FORMAT``): Stata 7 (format 110) 2007/2009/2011, CSV 2008 (UTF-8,
  ids as plain integers), SPSS ``.sav`` 2010 (upper-case names, ``Enaho01B-2010-2.sav``), Stata
  format 118 2012 (pyreadstat ``write_dta(version=14)``);
* year column ``aÑo``, except ``año`` in 2009 module 500 and ``a_o`` in 2011 modules 2000,
  2000a, 2100 and 01b-2, stored as text (``'2007'``), first column;
* ids as the dictionaries define them: in .dta files zero-padded text of INEI's widths
  (conglome 4, wider only if a larger scale needs more ids; vivienda 3, hogar 2, codperso 2);
  in the .sav file (the format the dictionaries describe) the dictionary's type per file:
  numeric in sumaria, 200, 300 (and 500 in 2007, 2008, 2011, 2012), text elsewhere; in CSV
  plain integers; ``ubigeo`` likewise (6-character text or number); ``mes`` 2-character text;
* ``codccpp`` (module 100, 2007–2011) the 4-character code within the district;
* ``latitud`` as text in 2011 module 100; ``p208a2`` numeric in 2007 and in the .sav file, text
  2008–2012 (blank for those born in the district); ``dominio``/``estrato`` 1-char text in the
  2012 perception module;
* value labels where INEI has them (incl. the "pobreno extremo" misspelling 2007–2010, no
  ``p113a`` labels in 2007, code 9 "missing value" in the perception module); none in CSV;
* the deflator file keyed by a numeric ``aniorec`` and ``dpto`` (INEI's do-files merge it on
  ``aniorec dpto``), the spatial deflator by ``dominioA``.

Everything is written into a temporary sibling directory that replaces ``out_dir`` only when the
whole tree is written, so a failed run leaves no partial tree. Time stamps inside ``.dta``/``.sav``
headers are fixed, so the same seed and scale give byte-identical files.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyreadstat

from pra.digests import sha256
from pra.embedded import layout
from pra.embedded.archives import pack_year
from pra.embedded.stata7 import write_dta110

log = logging.getLogger(__name__)

# Fixed header clocks (byte-identical output); the dates INEI's 2012 release could carry.
DTA_TIME_STAMP = "01 Jan 2013 00:00"
SAV_DATE, SAV_TIME = b"01 Jan 13", b"00:00:00"
DTA_MODERN_VERSION = 14  # pyreadstat version 14 -> format 118 (contract §1); 15 would give 119

ID_COLS = ("conglome", "vivienda", "hogar", "codperso")
ID_WIDTH = {"conglome": 4, "vivienda": 3, "hogar": 2, "codperso": 2}  # INEI's widths (dictionary)
# Modules whose ids and ubigeo the dictionaries type N (numeric), by year; used where the file
# format is the one the dictionaries describe (.sav). INEI's .dta files store them as text.
NUMERIC_IDS = {"sumaria": set(layout.YEARS), "200": set(layout.YEARS), "300": set(layout.YEARS),
               "500": {2007, 2008, 2011, 2012}}
BANDS_KM = (0, 2, 4, 6, 8, 10, 15, 20)  # Table 2 bands (config spatial.bands_km)


class SynthesizeError(ValueError):
    """The generated tables cannot be written in the layout (names the file, column, rows)."""


# --------------------------------------------------------------------------------------------
# value labels (docs/enaho_layout.md §2)
# --------------------------------------------------------------------------------------------
_P37_OLD = {1: "muy bien", 2: "bien", 3: "mal", 4: "muy mal", 9: "missing value"}
_P37_2012 = {1: "muy mal", 2: "mal", 3: "bien", 4: "muy bien", 9: "missing"}
_COMMON_LABELS: dict[str, dict[int, str]] = {
    "result": {1: "completa", 2: "incompleta", 3: "rechazo", 4: "ausente", 5: "desocupada",
               6: "no iniciada", 7: "otro"},
    "p101": {1: "casa independiente", 2: "departamento en edificio", 3: "vivienda en quinta",
             4: "vivienda en casa de vecindad", 5: "choza o cabaña", 6: "vivienda improvisada",
             7: "local no destinado para habitación humana", 8: "otro"},
    "p102": {1: "ladrillo o bloque de cemento", 2: "piedra o sillar con cal o cemento",
             3: "adobe", 4: "tapia", 5: "quincha (caña con barro)", 6: "piedra con barro",
             7: "madera", 8: "estera", 9: "otro material"},
    "p103": {1: "parquet o madera pulida", 2: "láminas asfálticas, vinílicos o similares",
             3: "losetas, terrazos o similares", 4: "madera (entablados)", 5: "cemento",
             6: "tierra", 7: "otro material"},
    "p103a": {1: "concreto armado", 2: "madera", 3: "tejas", 4: "planchas de calamina, fibra de cemento",
              5: "caña o estera con torta de barro", 6: "estera", 7: "paja, hojas de palmera",
              8: "otro material"},
    "p110": {1: "red pública, dentro de la vivienda", 2: "red pública, fuera de la vivienda",
             3: "pilón de uso público", 4: "camión-cisterna u otro similar", 5: "pozo",
             6: "río, acequia, manantial o similar", 7: "otra"},
    "p111": {1: "red pública de desagüe dentro de la vivienda",
             2: "red pública de desagüe fuera de la vivienda", 3: "pozo séptico",
             4: "pozo ciego o negro / letrina", 5: "río, acequia o canal", 6: "no tiene"},
    "p111a": {1: "red pública de desagüe dentro de la vivienda",
              2: "red pública de desagüe fuera de la vivienda", 3: "letrina", 4: "pozo séptico",
              5: "pozo ciego o negro", 6: "río, acequia o canal", 7: "otra", 8: "no tiene"},
    "p113a": {1: "electricidad", 2: "gas (glp)", 3: "gas natural", 4: "kerosene", 5: "carbón",
              6: "leña", 7: "otro", 8: "no cocinan"},
    "p203": {0: "panel", 1: "jefe/jefa", 2: "esposo(a)", 3: "hijo(a)", 4: "yerno/nuera",
             5: "nieto(a)", 6: "padres/suegros", 7: "otros parientes",
             8: "trabajador del hogar", 9: "pensionista", 10: "otros no parientes"},
    "p207": {1: "hombre", 2: "mujer"},
    "p209": {1: "conviviente", 2: "casado(a)", 3: "viudo(a)", 4: "divorciado(a)",
             5: "separado(a)", 6: "soltero(a)"},
    "p300a": {1: "quechua", 2: "aimara", 3: "otra lengua nativa", 4: "castellano", 5: "inglés",
              6: "portugués", 7: "otra lengua extranjera", 8: "es sordo-mudo"},
    "p301a": {1: "sin nivel", 2: "educación inicial", 3: "primaria incompleta",
              4: "primaria completa", 5: "secundaria incompleta", 6: "secundaria completa",
              7: "superior no universitaria incompleta", 8: "superior no universitaria completa",
              9: "superior universitaria incompleta", 10: "superior universitaria completa",
              11: "post-grado universitario"},
    "p507": {1: "empleador o patrono", 2: "trabajador independiente", 3: "empleado",
             4: "obrero", 5: "trabajador familiar no remunerado", 6: "trabajador del hogar",
             7: "otro"},
    "p32": {1: "logra ahorrar dinero", 2: "apenas logra equilibrar sus ingresos con sus gastos",
            3: "tiene que gastar sus ahorros", 4: "tiene que endeudarse", 9: "missing value"},
    "p39a": {1: "muy pobre", 2: "pobre", 3: "más o menos pobre", 4: "no pobre", 9: "missing value"},
    "p39b2": {1: "no sabe / no responde"},
    "p208a1": {1: "nació en este distrito"},
    "p20002": {1: "permanente", 2: "eventual", 9: "missing value"},
    "p2005e": {1: "título inscrito en los registros públicos", 2: "título pett no inscrito",
               3: "título sin registrar", 4: "título en trámite",
               5: "certificado de posesión del ministerio de agricultura",
               6: "certificado de posesión de la comunidad campesina o nativa",
               7: "contrato de compra venta", 8: "propietario sin título",
               9: "herencia (hijuelas, declaratoria de herederos, etc.)", 10: "otro"},
    "p2005f2": {0: "pase", 1: "por gravedad"},
    "p2005f3": {0: "pase", 1: "secano"},
    "ocu500": {1: "ocupado", 2: "desocupado abierto", 3: "desocupado oculto", 4: "no pea"},
}


def value_labels_for(year: int, module: str, columns) -> dict[str, dict[int, str]]:
    """INEI's value labels of the columns present in one (year, module) file."""
    labels = dict(_COMMON_LABELS)
    # "pobreno extremo": INEI's misspelling of code 2 in 2007–2010
    labels["pobreza"] = {1: "pobre extremo",
                         2: "pobreno extremo" if year <= 2010 else "pobre no extremo",
                         3: "no pobre"}
    labels["p37"] = _P37_2012 if year >= 2012 else _P37_OLD
    if year == 2007:
        del labels["p113a"]  # 2007: p113a has no value labels (dictionary range 0–7)
    return {c: labels[c] for c in columns if c in labels}


# --------------------------------------------------------------------------------------------
# quirks
# --------------------------------------------------------------------------------------------
def year_column(year: int, module: str) -> str:
    """The year column's spelling in one file (docs/enaho_layout.md §1.3)."""
    if year == 2009 and module == "500":
        return "año"
    if year == 2011 and module in ("2000", "2000a", "2100", "01b-2"):
        return "a_o"
    return "aÑo"


def _int_ids(df: pd.DataFrame, col: str, where: str) -> pd.Series:
    """Ids as non-negative integers; a missing or non-integral id is an error naming rows."""
    s = df[col]
    if s.dtype.kind in "iu":  # numpy integers: never missing nor fractional
        bad = s.to_numpy() < 0
    else:
        s = pd.to_numeric(s, errors="coerce")
        bad = s.isna() | (s < 0) | (s != s.round())
    if bad.any():
        raise SynthesizeError(f"{where}: column {col!r} has missing or non-integer ids "
                              f"(rows {list(df.index[bad][:5])})")
    return s.astype("int64")


def _pad(ints: np.ndarray, width: int, fill: str, missing: np.ndarray | None = None) -> np.ndarray:
    """Integers as text left-padded with ``fill`` to ``width`` (object array; missing -> '').

    Arrow's string kernels: numpy's int -> str casts give 21-wide arrays and are slow.
    """
    txt = pc.cast(pa.array(np.asarray(ints, dtype=np.int64)), pa.string())
    if width > 1:
        txt = pc.utf8_lpad(txt, width=width, padding=fill)
    out = txt.to_numpy(zero_copy_only=False)
    if missing is not None and missing.any():
        out = np.where(missing, "", out).astype(object)
    return out


def _text_code(s: pd.Series, width: int) -> pd.Series:
    """Integer codes (or text) as zero-filled text of ``width``; missing -> ''."""
    if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
        txt = pa.array(s.astype(object).where(s.notna(), "").tolist(), pa.string())
        filled = pc.utf8_lpad(txt, width=width, padding="0").to_numpy(zero_copy_only=False)
        empty = pc.equal(txt, "").to_numpy(zero_copy_only=False)
        return pd.Series(np.where(empty, "", filled), index=s.index, dtype=object)
    v = pd.to_numeric(s)
    nan = v.isna().to_numpy()
    ints = v.fillna(0).to_numpy().astype(np.int64)
    return pd.Series(_pad(ints, width, "0", nan), index=s.index, dtype=object)


def _fmt_float(s: pd.Series) -> pd.Series:
    """Floats as text with 6 decimals ('-12.345678'); missing -> ''."""
    v = pd.to_numeric(s).to_numpy(dtype=float, na_value=np.nan)
    txt = np.char.mod("%.6f", np.nan_to_num(v))
    return pd.Series(np.where(np.isnan(v), "", txt), index=s.index, dtype=object)


def apply_quirks(df: pd.DataFrame, year: int, module: str) -> pd.DataFrame:
    """One canonical module table -> the columns as INEI stored them in that (year, module).

    Input: canonical lower-case names, integer ids, ``year`` int column. Output names are still
    lower-case (upper-casing for ``.sav`` happens in the writer).
    """
    fmt = layout.FORMAT[year]
    where = f"{layout.module_file(year, module)}"
    if "year" in df.columns:
        yrs = pd.to_numeric(df["year"], errors="coerce")
        bad = yrs != year
        if bad.any():
            raise SynthesizeError(f"{where}: column 'year' differs from {year} "
                                  f"(rows {list(df.index[bad][:5])})")
        out = df.drop(columns="year")  # a new frame (copy-on-write: df stays as it is)
    else:
        out = df.copy()
    ycol = year_column(year, module)
    if ycol in out.columns:
        raise SynthesizeError(f"{where}: canonical table already has a column {ycol!r}")
    out.insert(0, ycol, year if fmt == "csv" else str(year))

    numeric_ids = fmt == "sav" and year in NUMERIC_IDS.get(module, ())
    for col in ID_COLS:
        if col not in out.columns:
            continue
        ids = _int_ids(out, col, where)
        if fmt == "csv" or numeric_ids:
            out[col] = ids  # CSV: padding lost; .sav: the dictionary's numeric type
            continue
        width = ID_WIDTH[col]
        if col == "conglome":  # INEI's 4 digits; a scale with more conglomerates widens it
            width = max(width, len(str(int(ids.max()))) if len(ids) else width)
        out[col] = pd.Series(_pad(ids.to_numpy(), width, "0"), index=out.index, dtype=object)

    if "ubigeo" in out.columns:
        out["ubigeo"] = pd.to_numeric(out["ubigeo"]) if numeric_ids else _text_code(out["ubigeo"], 6)
    if "mes" in out.columns and fmt != "csv":
        out["mes"] = _text_code(out["mes"], 2)
    if "codccpp" in out.columns:  # %4s, the code within the district, in every format
        out["codccpp"] = _text_code(out["codccpp"], 4)
    if "p208a2" in out.columns:
        if year == 2007 or fmt == "sav":
            out["p208a2"] = pd.to_numeric(out["p208a2"], errors="raise")
        else:
            # districts keep their 6 digits; small foreign-country codes stay unpadded; blank
            # for those born in the district
            v = out["p208a2"]
            if v.dtype == object or pd.api.types.is_string_dtype(v.dtype):
                out["p208a2"] = v.astype(object).where(v.notna(), "")
            else:
                num = pd.to_numeric(v)
                padded = _text_code(num, 6)
                plain = _text_code(num, 1)
                out["p208a2"] = padded.where(num.fillna(0) >= 10000, plain)
    if year == 2011 and module == "100" and "latitud" in out.columns:
        out["latitud"] = _fmt_float(out["latitud"])
    if year == 2012 and module == "01b-2":
        for col in ("dominio", "estrato"):
            if col in out.columns:
                out[col] = _text_code(out[col], 1)
    return out


# --------------------------------------------------------------------------------------------
# writers
# --------------------------------------------------------------------------------------------
def _for_pyreadstat(df: pd.DataFrame) -> pd.DataFrame:
    """Nullable ints -> float (NaN = missing); text missing -> '' (no string missing in dta/sav)."""
    out = df.copy()
    for c in out.columns:
        s = out[c]
        if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
            out[c] = s.astype(object).where(s.notna(), "")
        elif pd.api.types.is_extension_array_dtype(s.dtype) and pd.api.types.is_numeric_dtype(s.dtype):
            out[c] = s.astype("float64") if s.isna().any() else s.to_numpy(dtype=np.int64 if
                                                                             pd.api.types.is_integer_dtype(s.dtype) else np.float64)
    return out


def _fix_dta_timestamp(path: Path) -> None:
    """Replace the write-time clock in a format 117+ header by a fixed one."""
    raw = bytearray(path.read_bytes())
    i = raw.find(b"<timestamp>", 0, 400)
    if i < 0:
        raise SynthesizeError(f"{path}: no <timestamp> in the .dta header")
    n = raw[i + len("<timestamp>")]
    if n:
        if n != 17:
            raise SynthesizeError(f"{path}: unexpected time stamp length {n}")
        start = i + len("<timestamp>") + 1
        raw[start:start + 17] = DTA_TIME_STAMP.encode("ascii")
    path.write_bytes(bytes(raw))


def _fix_sav_timestamp(path: Path) -> None:
    """Replace creation date (offset 92, 9 bytes) and time (101, 8 bytes) of the .sav header."""
    raw = bytearray(path.read_bytes())
    if raw[:4] not in (b"$FL2", b"$FL3"):
        raise SynthesizeError(f"{path}: not an SPSS system file")
    raw[92:101] = SAV_DATE
    raw[101:109] = SAV_TIME
    path.write_bytes(bytes(raw))


def write_modern_dta(df: pd.DataFrame, path: Path, value_labels=None, variable_format=None) -> None:
    frame = _for_pyreadstat(df)
    pyreadstat.write_dta(frame, str(path), version=DTA_MODERN_VERSION,
                         variable_value_labels=value_labels or None,
                         variable_format=variable_format or None)
    _fix_dta_timestamp(path)


def write_sav(df: pd.DataFrame, path: Path, value_labels=None) -> None:
    frame = _for_pyreadstat(df)
    frame.columns = [c.upper() for c in frame.columns]
    labels = {k.upper(): v for k, v in (value_labels or {}).items()}
    pyreadstat.write_sav(frame, str(path), variable_value_labels=labels or None)
    _fix_sav_timestamp(path)


def write_csv(df: pd.DataFrame, path: Path) -> None:
    df.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")


def write_module(df: pd.DataFrame, year: int, module: str, root: Path) -> Path:
    """Apply the (year, module) quirks and write the file; returns its path."""
    fmt = layout.FORMAT[year]
    path = root / layout.module_file(year, module)
    path.parent.mkdir(parents=True, exist_ok=True)
    quirked = apply_quirks(df, year, module)
    labels = value_labels_for(year, module, quirked.columns)
    if fmt == "dta110":
        formats = {}
        if year == 2011 and module == "100" and "latitud" in quirked.columns:
            formats["latitud"] = "%10s"  # as INEI's 2011 file
        write_dta110(quirked, path, value_labels=labels, formats=formats,
                     data_label=path.stem, time_stamp=DTA_TIME_STAMP)
    elif fmt == "csv":
        write_csv(quirked, path)
    elif fmt == "sav":
        write_sav(quirked, path, labels)
    elif fmt == "dta":
        write_modern_dta(quirked, path, labels)
    else:
        raise SynthesizeError(f"unknown format {fmt!r} for {year}")
    return path


# --------------------------------------------------------------------------------------------
# truth
# --------------------------------------------------------------------------------------------
def _jsonable(x: Any) -> Any:
    """numpy / pandas scalars and containers -> plain JSON types (sorted-key dicts)."""
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return [_jsonable(v) for v in x.tolist()]
    if isinstance(x, (pd.Series, pd.Index)):
        return [_jsonable(v) for v in x.tolist()]
    if isinstance(x, pd.DataFrame):
        return [_jsonable(r) for r in x.to_dict("records")]
    if isinstance(x, (np.bool_, bool)):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, (np.floating, float)):
        v = float(x)
        return None if np.isnan(v) else v
    if x is None or isinstance(x, (int, str)):
        return x
    if isinstance(x, (set, frozenset)):
        return sorted(_jsonable(v) for v in x)
    raise SynthesizeError(f"truth.json: cannot serialise {type(x).__name__}: {x!r}")


def table1_truth(register: pd.DataFrame, register_truth: pd.DataFrame) -> dict:
    """Geo-referenced register rows (after matching) by department: no / yes / total."""
    rt = register_truth
    if "departamento" not in rt.columns:
        rt = rt.merge(register[["id_localidad", "departamento"]], on="id_localidad",
                      how="left", validate="many_to_one")
    if rt["departamento"].isna().any():
        raise SynthesizeError("register_truth: id_localidad not in the register "
                              f"(rows {list(rt.index[rt['departamento'].isna()][:5])})")
    yes = rt["status"].isin(["code", "name", "ambiguous"])
    out: dict[str, dict[str, int]] = {}
    for dep in sorted(rt["departamento"].unique()):
        m = rt["departamento"] == dep
        out[str(dep)] = {"no": int((m & ~yes).sum()), "yes": int((m & yes).sum()),
                         "total": int(m.sum())}
    out["TOTAL"] = {"no": int((~yes).sum()), "yes": int(yes.sum()), "total": int(len(rt))}
    return out


def _band_label(lo, hi) -> str:
    return f"{lo}-{hi}"


def table2_truth(truth: pd.DataFrame, bands=BANDS_KM) -> dict:
    """Producer households with a complete interview by year and distance band [lo, hi) km."""
    t = truth
    if "hh_type" in t.columns:
        t = t[t["hh_type"] == "producer"]
    if "interview" in t.columns:
        t = t[t["interview"] == 1]
    out: dict[str, dict[str, int]] = {}
    d = t["dist_km"].to_numpy(dtype=float)
    years = t["year"].to_numpy()
    for y in sorted(pd.unique(years)):
        dy = d[years == y]
        row = {}
        for lo, hi in zip(bands[:-1], bands[1:]):
            row[_band_label(lo, hi)] = int(((dy >= lo) & (dy < hi)).sum())
        row["sample_space"] = int((dy < bands[-1]).sum())
        row[f">={bands[-1]}"] = int((dy >= bands[-1]).sum())
        row["total"] = int(len(dy))
        out[str(int(y))] = row
    return out


# --------------------------------------------------------------------------------------------
# orchestration
# --------------------------------------------------------------------------------------------
def _rngs(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """Independent streams for geography and households from one seed."""
    geo_ss, hh_ss = np.random.SeedSequence(int(seed)).spawn(2)
    return np.random.Generator(np.random.PCG64(geo_ss)), np.random.Generator(np.random.PCG64(hh_ss))


def _write_year(frames: dict[str, pd.DataFrame], year: int, root: str) -> dict[str, int]:
    """Write one year's ENAHO modules (in layout order); return rows per file."""
    rows = {}
    for module, _ in layout.MODULES:
        write_module(frames[module], year, module, Path(root))
        rows[layout.module_file(year, module)] = int(len(frames[module]))
    if year in layout.ARCHIVE_YEARS:  # shipped as INEI's per-module zips (contract §1)
        rows = pack_year(root, year, rows)
    return rows


def write_tree(geo, hh, root: Path, *, seed: int, scale: float, workers: int = 1) -> dict:
    """Write every file of contract §1 under ``root``; return the truth.json content.

    ``workers`` > 1 writes the ENAHO years in that many processes while this one writes the other
    files: the pyreadstat and CSV writers hold the GIL, and each file's bytes do not depend on
    who writes it (the determinism test compares one worker with two).
    """
    rows: dict[str, int] = {}
    missing = [(y, m) for y in layout.YEARS for m, _ in layout.MODULES if (y, m) not in hh.modules]
    if missing:
        raise SynthesizeError(f"build_households returned no table for {missing}")
    extra = sorted(set(hh.modules) - {(y, m) for y in layout.YEARS for m, _ in layout.MODULES})
    if extra:
        raise SynthesizeError(f"build_households returned tables outside the layout: {extra}")
    years = {y: {m: hh.modules[(y, m)] for m, _ in layout.MODULES} for y in layout.YEARS}
    if workers > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawn, not fork: this process may hold pyarrow's threads. Leaving the block waits for
        # every writer, also on error, before the caller removes the temporary tree.
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            pending = [pool.submit(_write_year, years[y], y, str(root)) for y in layout.YEARS]
            _write_rest(geo, hh, root, rows)
            for fut in pending:
                rows.update(fut.result())
    else:
        for year in layout.YEARS:  # fixed year order, never dict order
            rows.update(_write_year(years[year], year, str(root)))
        _write_rest(geo, hh, root, rows)
    return _finish_tree(root, rows, hh, geo, seed=seed, scale=scale)


def deflator_table(deflators: pd.DataFrame) -> pd.DataFrame:
    """The temporal deflators as INEI's do-files merge them: numeric ``aniorec`` (the year) and
    ``dpto`` first, then ``i00``-``i08``."""
    defl = deflators.rename(columns={"year": "aniorec"})
    defl["aniorec"] = defl["aniorec"].astype(np.int16)
    return defl[["aniorec", "dpto"] + [c for c in defl.columns if c not in ("aniorec", "dpto")]]


def _write_rest(geo, hh, root: Path, rows: dict[str, int]) -> None:
    """Deflators, centres, register, frame, programme survey and the truth tables."""
    d12 = root / "enaho" / "2012"
    d12.mkdir(parents=True, exist_ok=True)
    defl = deflator_table(hh.deflators)
    write_modern_dta(defl, d12 / "deflactores_base2012_new.dta")
    rows["enaho/2012/deflactores_base2012_new.dta"] = int(len(defl))
    write_modern_dta(hh.spatial_deflator.rename(columns={"dominioa": "dominioA"}),
                     d12 / "despacial_ldnew.dta")
    rows["enaho/2012/despacial_ldnew.dta"] = int(len(hh.spatial_deflator))

    for name, frame in (("centros_poblados.csv", geo.centres), ("pra2_localidades.csv", geo.register),
                        ("marco_muestral_2012.csv", geo.frame)):
        write_csv(frame, root / name)
        rows[name] = int(len(frame))
    write_modern_dta(hh.programme_survey, root / "encuesta_pra2_2012.dta")
    rows["encuesta_pra2_2012.dta"] = int(len(hh.programme_survey))

    (root / "truth").mkdir(exist_ok=True)
    for name, frame in (("truth/households.parquet", hh.truth),
                        ("truth/localities.parquet", geo.register_truth)):
        frame.reset_index(drop=True).to_parquet(root / name, index=False, engine="pyarrow",
                                                compression="zstd")
        rows[name] = int(len(frame))


def _finish_tree(root: Path, rows: dict[str, int], hh, geo, *, seed: int, scale: float) -> dict:
    """Check the files against the layout and write truth.json (checksums, planted values)."""
    files = {rel: {"rows": rows[rel], "sha256": sha256(root / rel)} for rel in sorted(rows)}
    expected = set(layout.all_files()) - {"truth.json"}
    if set(files) != expected:
        raise SynthesizeError(f"written files differ from layout.all_files(): "
                              f"missing {sorted(expected - set(files))}, "
                              f"extra {sorted(set(files) - expected)}")
    truth = {
        "seed": int(seed),
        "scale": float(scale),
        "params": _jsonable(hh.params),
        "files": files,
        "formats": {str(y): layout.FORMAT[y] for y in layout.YEARS},
        "year_column": {layout.module_file(y, m): year_column(y, m)
                        for y in layout.YEARS for m, _ in layout.MODULES},
        "table1": table1_truth(geo.register, geo.register_truth),
        "table2": table2_truth(hh.truth),
        "table2_bands_km": list(BANDS_KM),
    }
    text = json.dumps(_jsonable(truth), indent=1, sort_keys=True, ensure_ascii=False, allow_nan=False)
    (root / "truth.json").write_text(text + "\n", encoding="utf-8")
    return truth


def _safe_to_replace(out_dir: Path) -> None:
    """Refuse to replace a directory holding anything the generator did not write."""
    allowed = set(layout.all_files())
    foreign = [str(p.relative_to(out_dir)) for p in sorted(out_dir.rglob("*"))
               if p.is_file() and str(p.relative_to(out_dir)) not in allowed]
    if foreign:
        raise SynthesizeError(f"{out_dir} holds files the generator did not write: {foreign[:10]}; "
                              "refusing to replace it")


def synthesize(out_dir: str | os.PathLike, scale: float = 1.0, seed: int = 20140601, *,
               build_geography=None, build_households=None, workers: int = 1, model=None) -> dict:
    """Generate the embedded data into ``out_dir`` and return the truth.json content.

    Deterministic: the same ``seed`` and ``scale`` give byte-identical files. The tree appears
    whole or not at all (written to a temporary sibling directory, then moved into place).
    ``build_geography`` / ``build_households`` default to the package's generators; tests pass
    small stand-ins with the same signatures. ``workers``: processes writing the ENAHO years
    (the files are the same bytes for any number). ``model``: the household model
    (:func:`pra.embedded.model.from_config` builds it from the config; None = the defaults).
    """
    if build_geography is None:
        from pra.embedded.geography import build_geography  # heavy; imported on use
    if build_households is None:
        from pra.embedded.households import build_households

    if not (isinstance(seed, (int, np.integer)) and seed >= 0):
        raise SynthesizeError(f"seed must be a non-negative integer, got {seed!r}")
    if not scale > 0:
        raise SynthesizeError(f"scale must be positive, got {scale!r}")
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    if out_dir.exists():
        _safe_to_replace(out_dir)
    t0 = time.perf_counter()
    geo_rng, hh_rng = _rngs(seed)
    geo = build_geography(scale, geo_rng)
    t1 = time.perf_counter()
    hh = build_households(geo, scale, hh_rng) if model is None else build_households(geo, scale, hh_rng, model=model)
    t2 = time.perf_counter()
    log.info("geography %.1fs, households %.1fs", t1 - t0, t2 - t1)

    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        truth = write_tree(geo, hh, tmp, seed=seed, scale=scale, workers=workers)
        os.chmod(tmp, 0o755)  # mkdtemp makes it 0700
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
            os.rmdir(old)
            os.replace(out_dir, old)
            os.replace(tmp, out_dir)
            shutil.rmtree(old)
        else:
            os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("files written in %.1fs", time.perf_counter() - t2)
    return truth
