"""Find and read ENAHO module files (Stata 7/14+, SPSS, CSV) with normalised names and keys.

Layout facts: ``docs/enaho_layout.md`` §1 and ``docs/contract.md`` §1.
Every reader returns lower-case column names, the year column renamed ``year`` and id keys
normalised to canonical zero-filled strings, so modules of any year and format join directly.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat

EXTENSIONS = (".dta", ".sav", ".csv")

# Canonical widths after normalisation (contract §1.1).
ID_WIDTHS = {"conglome": 6, "vivienda": 3, "hogar": 2, "codperso": 2}
# Geographic codes: zero-filled only (leading zeros are significant digits of the code).
# ``codccpp`` in module 100 is INEI's 4-character centre code within the district (%4s); a
# 10-character national code (ubigeo + codccpp) passes unchanged.
CODE_WIDTHS = {"ubigeo": 6, "codccpp": 4}
# Columns always read as text from CSV (ids, codes, year/month).
TEXT_COLUMNS = set(ID_WIDTHS) | set(CODE_WIDTHS) | {"year", "mes", "p208a2", "nomccpp"}

# The year column: aÑo, año, a_o, AÑO and mojibake ('a—o', 'aÒo', 'aÃ±o'); lower-cased here.
_YEAR_RE = re.compile(r"^a(?:[^a-z0-9]{1,3}|n|ni)o$")


class IngestError(ValueError):
    """Bad or missing ENAHO input; the message names year, file, column and rows."""


def _stem_regex(stem: str) -> re.Pattern:
    return re.compile(r"^" + re.escape(stem) + r"\.(dta|sav|csv)$", re.IGNORECASE)


def find_module(year_dir: str | Path, stem: str) -> Path:
    """The file of ``stem`` (e.g. ``enaho01b-2010-2``) in ``year_dir``, matched case-insensitively.

    The stem must match exactly (``sumaria-2012-12g`` is not ``sumaria-2012``); extensions
    .dta, .sav, .csv. Raises FileNotFoundError naming year, stem and folder when absent, and
    IngestError when several formats of the same stem are present (ambiguous).
    """
    year_dir = Path(year_dir)
    year = re.search(r"(19|20)\d\d", stem)
    if not year_dir.is_dir():
        raise FileNotFoundError(
            f"year {year.group(0) if year else '?'}: folder {year_dir} does not exist "
            f"(looking for module {stem!r})"
        )
    rx = _stem_regex(stem)
    hits = sorted(p for p in year_dir.iterdir() if p.is_file() and rx.match(p.name))
    if not hits:
        raise FileNotFoundError(
            f"year {year.group(0) if year else '?'}: no file for module {stem!r} "
            f"(.dta/.sav/.csv, any case) in {year_dir}"
        )
    if len(hits) > 1:
        raise IngestError(
            f"module {stem!r}: several candidate files in {year_dir}: {[p.name for p in hits]}"
        )
    return hits[0]


def find_year_column(columns) -> str | None:
    """The original name of the year column (aÑo/año/a_o/mojibake), or None if absent."""
    hits = [c for c in columns if _YEAR_RE.match(str(c).lower())]
    if len(hits) > 1:
        raise IngestError(f"several year columns: {hits}")
    return hits[0] if hits else None


def _canonical_name(name: str, year_col: str | None) -> str:
    return "year" if name == year_col else str(name).lower()


def normalise_id(values: pd.Series, width: int, strip_zeros: bool = True) -> pd.Series:
    """Strip spaces, strip leading zeros, zero-fill to ``width``; numbers read as 5.0 → '5'.

    Missing or blank values stay missing (<NA>) so the caller can report them.
    """
    s = values.astype("string").str.strip()
    s = s.str.replace(r"\.0+$", "", regex=True)  # ids stored as floats in some formats
    blank = s.isna() | (s == "")
    if strip_zeros:
        s = s.str.lstrip("0")
        s = s.mask(s == "", "0")  # an all-zero id is the id 0, not a blank
    return s.str.zfill(width).mask(blank)


def normalise_keys(df: pd.DataFrame) -> pd.DataFrame:
    """Normalise every id/code column present in ``df`` (in place on a copy)."""
    out = df.copy()
    for col, w in ID_WIDTHS.items():
        if col in out.columns:
            out[col] = normalise_id(out[col], w)
    for col, w in CODE_WIDTHS.items():
        if col in out.columns:
            out[col] = normalise_id(out[col], w, strip_zeros=False)
    return out


@dataclass
class ModuleMeta:
    """Column names (canonical) and value labels {column: {code: label}} of a module file."""

    path: Path
    columns: list[str]
    original: dict[str, str]  # canonical name -> name in the file
    value_labels: dict[str, dict] = field(default_factory=dict)
    column_labels: dict[str, str] = field(default_factory=dict)


def _read_stata(path: Path, **kw):
    # INEI 2007–2011 files are Stata 7 (format 110) in latin-1; pyreadstat guesses the encoding
    # for newer formats but needs it spelled out for old ones with non-ASCII names (aÑo).
    try:
        return pyreadstat.read_dta(str(path), **kw)
    except Exception as first:  # noqa: BLE001 - retry with the legacy encoding, then re-raise
        try:
            return pyreadstat.read_dta(str(path), encoding="latin1", **kw)
        except Exception:
            raise IngestError(f"{path}: cannot read Stata file ({first})") from first


def read_meta(path: str | Path) -> ModuleMeta:
    """Column names and value labels (pyreadstat ``metadataonly``; CSV: header only)."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext == ".dta":
        _, meta = _read_stata(path, metadataonly=True)
    elif ext == ".sav":
        _, meta = pyreadstat.read_sav(str(path), metadataonly=True)
    elif ext == ".csv":
        header = pd.read_csv(path, nrows=0).columns.tolist()
        ycol = find_year_column(header)
        orig = {_canonical_name(c, ycol): c for c in header}
        return ModuleMeta(path, list(orig), orig)
    else:
        raise IngestError(f"{path}: unsupported extension {ext!r} (expected {EXTENSIONS})")
    names = list(meta.column_names)
    ycol = find_year_column(names)
    orig = {_canonical_name(c, ycol): c for c in names}
    inv = {v: k for k, v in orig.items()}
    vl = {}
    for var, lblname in (meta.variable_to_label or {}).items():
        labels = (meta.value_labels or {}).get(lblname)
        if labels and var in inv:
            vl[inv[var]] = {_num_key(k): v for k, v in labels.items()}
    cl = {inv[c]: l for c, l in zip(names, meta.column_labels or []) if c in inv and l}
    return ModuleMeta(path, list(orig), orig, vl, cl)


def _num_key(k):
    # 2012 files carry keys like '1.0'; compare codes numerically.
    try:
        f = float(k)
        return int(f) if f.is_integer() else f
    except (TypeError, ValueError):
        return k


def read_module(
    path: str | Path,
    columns: list[str] | None = None,
    *,
    year: int | None = None,
    meta: ModuleMeta | None = None,
) -> pd.DataFrame:
    """Read one module file: lower-case names, year column → ``year``, normalised id keys.

    ``columns`` are canonical (lower-case, ``year`` for the year column); a requested column the
    file lacks raises IngestError naming year, file and column. Value labels are attached as
    ``df.attrs['value_labels']`` ({column: {code: label}}) when the format carries them.
    """
    path = Path(path)
    meta = meta or read_meta(path)
    if columns is not None:
        missing = [c for c in columns if c not in meta.original]
        if missing:
            raise IngestError(
                f"year {year if year is not None else '?'}: file {path.name} lacks column(s) "
                f"{missing} (has {sorted(meta.original)})"
            )
        wanted = list(dict.fromkeys(columns))
        use = [meta.original[c] for c in wanted]
    else:
        use = None
    ext = path.suffix.lower()
    if ext == ".dta":
        df, _ = _read_stata(path, usecols=use)
    elif ext == ".sav":
        df, _ = pyreadstat.read_sav(str(path), usecols=use)
    else:
        inv = {v: k for k, v in meta.original.items()}
        dtype = {orig: "string" for orig, canon in inv.items() if canon in TEXT_COLUMNS}
        # keep_default_na=False + explicit na_values: '' is missing, but 'NA' text is not.
        df = pd.read_csv(path, usecols=use, dtype=dtype, keep_default_na=False, na_values=[""])
    inv = {v: k for k, v in meta.original.items()}
    df = df.rename(columns=inv)
    if use is not None:
        df = df[wanted]
    # Blank strings are missing in every format (Stata/SPSS store empty text, CSV reads NaN).
    for c in df.columns:
        if df[c].dtype == object or isinstance(df[c].dtype, pd.StringDtype):
            df[c] = df[c].astype("string").str.strip().replace("", pd.NA)
    df = normalise_keys(df)
    df.attrs["value_labels"] = {k: v for k, v in meta.value_labels.items() if k in df.columns}
    df.attrs["source"] = path.name
    return df


def to_number(values: pd.Series) -> pd.Series:
    """Numeric view of a column that may be stored as text ('1', ' 2', '-12.3'); float64."""
    if pd.api.types.is_numeric_dtype(values):
        return values.astype("float64")
    return pd.to_numeric(values.astype("string").str.strip(), errors="coerce").astype("float64")


def non_numeric(values: pd.Series) -> pd.Series:
    """Mask of non-missing values that are not numbers (so they can be reported, not lost)."""
    num = to_number(values)
    return values.notna() & num.isna()


def format_value(v) -> str:
    """A raw value as text for reports and flags: 9.0 -> '9', ' x ' -> 'x'."""
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v).strip()


__all__ = [
    "IngestError",
    "ModuleMeta",
    "find_module",
    "find_year_column",
    "format_value",
    "normalise_id",
    "normalise_keys",
    "read_centres",
    "read_meta",
    "read_module",
    "to_number",
    "non_numeric",
]


def read_centres(path: str | Path) -> pd.DataFrame:
    """The populated-centre map CSV (contract §1.3) with codes kept as text."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"populated-centre map {path} does not exist")
    return pd.read_csv(path, dtype={"codccpp": "string", "ubigeo": "string"}, encoding="utf-8")
