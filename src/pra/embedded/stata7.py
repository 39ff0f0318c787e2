"""Writer of Stata 7 ``.dta`` files (format 110, little-endian), as INEI shipped ENAHO 2004–2011.

No maintained Python library writes format 110 (pyreadstat writes 113+ only), so the embedded
generator writes the bytes itself. Layout (ReadStat ``src/stata/readstat_dta.c`` and Stata's
``dta_113`` help for the older variants; format 110 = "Stata 7", before 7/SE's 111):

=================  ==========================================================================
header             ds_format=110, byteorder=2 (LOHI), filetype=1, unused=0, nvar u16, nobs u32,
                   data_label 81 bytes, time_stamp 18 bytes ("dd Mon yyyy hh:mm\\0")
typlist            1 byte per variable: 'b' byte, 'i' int, 'l' long, 'f' float, 'd' double,
                   0x7F + N for strN (N = 1..80).  (111+ use 251..255 and N; not this format.)
varlist            33 bytes per variable (name, NUL padded)
srtlist            2 * (nvar + 1) bytes (all zero: unsorted)
fmtlist            12 bytes per variable ("%9.0g", "%4s")
lbllist            33 bytes per variable (value-label set name or empty)
variable labels    81 bytes per variable
expansion fields   terminated by data_type 0 + int32 length 0 (5 zero bytes)
data               nobs records of fixed width; strings NUL padded, not terminated at width
value labels       per set: int32 len, name 33, 3 pad, then int32 n, int32 txtlen,
                   int32 off[n], int32 val[n], txt (NUL-terminated labels)
=================  ==========================================================================

Missing values before format 113 are a single code per type: byte 127, int 32767, long
2147483647, float 2**127, double 2**1023; valid integers therefore stop one below
(126, 32766, 2147483646).
"""
from __future__ import annotations

import os
import struct
from collections.abc import Mapping

import numpy as np
import pandas as pd

FORMAT_VERSION = 110
MAX_STR = 80  # Stata 7 (non-SE) maximum string width
NAME_LEN = 33
FMT_LEN = 12
LBL_LEN = 33
VARLABEL_LEN = 81
DATALABEL_LEN = 81
# A fixed time stamp keeps output byte-identical across runs (the header has no other clock).
DEFAULT_TIME_STAMP = "01 Jan 2013 00:00"

# type name -> (typlist code, numpy little-endian dtype, missing value, valid range)
_NUMERIC = {
    "byte": (ord("b"), "<i1", 0x7F, (-127, 0x7E)),
    "int": (ord("i"), "<i2", 0x7FFF, (-32767, 0x7FFE)),
    "long": (ord("l"), "<i4", 0x7FFFFFFF, (-2147483647, 0x7FFFFFFE)),
    "float": (ord("f"), "<f4", np.float32(2.0**127), None),
    "double": (ord("d"), "<f8", 2.0**1023, None),
}
_DEFAULT_FMT = {"byte": "%8.0g", "int": "%8.0g", "long": "%12.0g", "float": "%9.0g",
                "double": "%10.0g"}


class Stata7Error(ValueError):
    """The frame cannot be written as a Stata 7 (format 110) file."""


def _latin1(text: str, what: str, path) -> bytes:
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError as exc:
        raise Stata7Error(f"{path}: {what} {text!r} is not latin-1 encodable") from exc


def _fixed(raw: bytes, width: int, what: str, path) -> bytes:
    """NUL-pad ``raw`` to ``width`` bytes, leaving room for the terminating NUL."""
    if len(raw) > width - 1:
        raise Stata7Error(f"{path}: {what} {raw!r} longer than {width - 1} bytes")
    return raw + b"\0" * (width - len(raw))


def _is_text(s: pd.Series) -> bool:
    return s.dtype == object or pd.api.types.is_string_dtype(s.dtype)


def _encode_text(name: str, s: pd.Series, path) -> np.ndarray:
    """Latin-1 bytes of a text column (missing -> b""), as a numpy ``S`` array.

    Latin-1 maps code points 0-255 to the same byte, so the fixed-width UCS-4 array is
    narrowed to one byte per character (vectorised; any code point > 255 is an error).
    """
    vals = s.astype(object).where(s.notna(), "")
    if len(vals) == 0:
        return np.array([], dtype="S1")
    kind = pd.api.types.infer_dtype(vals, skipna=False)
    if kind not in ("string", "empty"):
        bad = [i for i, v in zip(vals.index, vals) if not isinstance(v, str)][:5]
        raise Stata7Error(f"{path}: column {name!r} mixes text and non-text values (rows {bad})")
    arr = np.array(vals.tolist(), dtype=str)
    width = max(arr.dtype.itemsize // 4, 1)
    arr = arr.astype(f"U{width}")
    codes = arr.view(np.uint32).reshape(len(arr), width)
    high = (codes > 255).any(axis=1)
    if high.any():
        rows = list(vals.index[high][:5])
        raise Stata7Error(f"{path}: column {name!r} has values not latin-1 encodable (rows {rows})")
    return np.ascontiguousarray(codes.astype(np.uint8)).view(f"S{width}").ravel()


def _infer_type(name: str, s: pd.Series, path, encoded: np.ndarray | None) -> str:
    """Smallest Stata type holding the column: ints (or integral floats) -> byte/int/long."""
    if encoded is not None:
        # numpy S arrays drop trailing NULs, so str_len is each value's byte length
        width = max(int(np.strings.str_len(encoded).max()) if len(encoded) else 1, 1)
        if width > MAX_STR:
            raise Stata7Error(f"{path}: column {name!r} needs str{width}, Stata 7 allows str{MAX_STR}")
        return f"str{width}"
    if pd.api.types.is_bool_dtype(s.dtype):
        return "byte"
    if not pd.api.types.is_numeric_dtype(s.dtype):
        raise Stata7Error(f"{path}: column {name!r} has unsupported dtype {s.dtype}")
    vals = pd.to_numeric(s).astype("float64").to_numpy(na_value=np.nan)
    nan = np.isnan(vals)
    fin = vals[~nan]
    if np.isinf(fin).any():
        rows = list(s.index[np.isinf(vals)][:5])
        raise Stata7Error(f"{path}: column {name!r} has infinite values (rows {rows})")
    if not pd.api.types.is_integer_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        # float columns stay floating unless every value is integral (codes with NaN)
        if len(fin) == 0 or not np.all(fin == np.round(fin)):
            return "float" if s.dtype == np.float32 else "double"
    lo, hi = (fin.min(), fin.max()) if len(fin) else (0, 0)
    for t in ("byte", "int", "long"):
        vmin, vmax = _NUMERIC[t][3]
        if vmin <= lo and hi <= vmax:
            return t
    return "double"


def write_dta110(
    df: pd.DataFrame,
    path: str | os.PathLike,
    *,
    variable_labels: Mapping[str, str] | None = None,
    value_labels: Mapping[str, Mapping[int, str]] | None = None,
    data_label: str = "",
    formats: Mapping[str, str] | None = None,
    types: Mapping[str, str] | None = None,
    time_stamp: str = DEFAULT_TIME_STAMP,
) -> None:
    """Write ``df`` as a Stata 7 (format 110) little-endian ``.dta`` file.

    Column names become variable names (latin-1, at most 32 bytes). Text columns become
    fixed-width ``strN`` (N = longest latin-1 value, 1..80; missing -> ""), values written as
    given (padding spaces kept). Integer columns, and float columns whose values are all
    integral, get the smallest of byte/int/long; other floats double (float32 -> float).
    NaN -> the type's missing code. ``types`` forces a type per column ("byte", "int", "long",
    "float", "double", "strN"); ``formats`` overrides the display format. ``value_labels``
    maps a variable to {code: label}; the label set is named after the variable.
    """
    variable_labels = dict(variable_labels or {})
    value_labels = dict(value_labels or {})
    formats = dict(formats or {})
    types = dict(types or {})
    names = [str(c) for c in df.columns]
    if len(set(names)) != len(names):
        raise Stata7Error(f"{path}: duplicate column names")
    if len(names) > 32767 or len(df) > 2**31 - 1:
        raise Stata7Error(f"{path}: {len(names)} variables x {len(df)} rows exceed format 110")
    unknown = (set(variable_labels) | set(value_labels) | set(formats) | set(types)) - set(names)
    if unknown:
        raise Stata7Error(f"{path}: labels/formats/types given for absent columns {sorted(unknown)}")

    typ: list[str] = []
    encoded: dict[str, np.ndarray] = {}
    for name in names:
        _fixed(_latin1(name, "variable name", path), NAME_LEN, "variable name", path)
        if _is_text(df[name]):
            encoded[name] = _encode_text(name, df[name], path)
        t = types.get(name) or _infer_type(name, df[name], path, encoded.get(name))
        typ.append(t)

    # header
    out = bytearray()
    out += struct.pack("<BBBBHI", FORMAT_VERSION, 2, 1, 0, len(names), len(df))
    out += _fixed(_latin1(data_label, "data label", path), DATALABEL_LEN, "data label", path)
    ts = _latin1(time_stamp, "time stamp", path)
    if len(ts) != 17:
        raise Stata7Error(f"{path}: time stamp must be 17 characters 'dd Mon yyyy hh:mm'")
    out += ts + b"\0"

    # descriptors
    rec_dtype = []
    for name, t in zip(names, typ):
        if t.startswith("str"):
            w = int(t[3:])
            if not 1 <= w <= MAX_STR:
                raise Stata7Error(f"{path}: column {name!r}: {t} outside str1..str{MAX_STR}")
            out.append(0x7F + w)
            rec_dtype.append((name, f"S{w}"))
        elif t in _NUMERIC:
            out.append(_NUMERIC[t][0])
            rec_dtype.append((name, _NUMERIC[t][1]))
        else:
            raise Stata7Error(f"{path}: column {name!r}: unknown type {t!r}")
    for name in names:
        out += _fixed(_latin1(name, "variable name", path), NAME_LEN, "variable name", path)
    out += b"\0" * (2 * (len(names) + 1))
    for name, t in zip(names, typ):
        fmt = formats.get(name) or (f"%{t[3:]}s" if t.startswith("str") else _DEFAULT_FMT[t])
        out += _fixed(_latin1(fmt, f"format of {name!r}", path), FMT_LEN, "format", path)
    for name, t in zip(names, typ):
        lbl = name if name in value_labels else ""
        if lbl and t.startswith("str"):
            raise Stata7Error(f"{path}: value labels on string column {name!r}")
        out += _fixed(_latin1(lbl, "label name", path), LBL_LEN, "label name", path)
    for name in names:
        text = variable_labels.get(name, "")
        out += _fixed(_latin1(text, f"label of {name!r}", path), VARLABEL_LEN, "variable label", path)
    out += b"\0" * 5  # expansion fields: terminator only

    # data: one numpy structured record per observation (packed, little-endian)
    rec = np.zeros(len(df), dtype=np.dtype(rec_dtype, align=False))
    for name, t in zip(names, typ):
        s = df[name]
        if t.startswith("str"):
            w = int(t[3:])
            if name not in encoded:
                raise Stata7Error(f"{path}: column {name!r} forced to {t} but is not text")
            enc = encoded[name]
            too_long = np.strings.str_len(enc) > w if len(enc) else np.zeros(0, bool)
            if too_long.any():
                rows = list(s.index[too_long][:5])
                raise Stata7Error(f"{path}: column {name!r} values longer than {t} (rows {rows})")
            rec[name] = enc.astype(f"S{w}")
            continue
        code, npdt, miss, rng = _NUMERIC[t]
        if _is_text(s):
            raise Stata7Error(f"{path}: column {name!r} is text, cannot be written as {t}")
        v = pd.to_numeric(s).astype("float64").to_numpy(na_value=np.nan)
        nan = np.isnan(v)
        if rng is not None:
            fin = v[~nan]
            bad = (fin < rng[0]) | (fin > rng[1]) | (fin != np.round(fin))
            if bad.any():
                rows = list(s.index[~nan][bad][:5])
                raise Stata7Error(f"{path}: column {name!r} has values outside {t} (rows {rows})")
            col = np.where(nan, miss, np.nan_to_num(v)).astype(npdt)
        else:
            col = np.where(nan, miss, v).astype(npdt)
        rec[name] = col
    out += rec.tobytes()

    # value labels
    for name in names:
        if name not in value_labels:
            continue
        items = sorted((int(k), str(lab)) for k, lab in value_labels[name].items())
        offs, vals, txt = [], [], bytearray()
        for k, lab in items:
            if not -2147483647 <= k <= 0x7FFFFFFE:
                raise Stata7Error(f"{path}: value label code {k} of {name!r} out of range")
            offs.append(len(txt))
            vals.append(k)
            raw = _latin1(lab, f"value label of {name!r}", path)
            if len(raw) > 80:
                raise Stata7Error(f"{path}: value label {lab!r} of {name!r} longer than 80 bytes")
            txt += raw + b"\0"
        n = len(items)
        table = struct.pack(f"<ii{n}i{n}i", n, len(txt), *offs, *vals) + bytes(txt)
        out += struct.pack("<i", len(table))
        out += _fixed(_latin1(name, "label name", path), LBL_LEN, "label name", path) + b"\0" * 3
        out += table

    with open(path, "wb") as fh:
        fh.write(bytes(out))
