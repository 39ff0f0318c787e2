"""Data health: every value that fails to parse, every repair, every short module, counted.

One ledger per job (:class:`Health`) collects, per file and column, the rows read, the values
that failed to parse or were repaired by a documented rule, and the households dropped or left
incomplete with the reason. Thresholds come from ``data.checks`` (config): above them the run
stops with a message naming file, column, rows and example values. Rules (``docs/data_health.md``):

* **Numbers.** A value that is not a plain number is repaired only when exactly one reading of it
  is possible: a decimal comma (``-12,05`` → -12.05), thousand separators in the Spanish
  (``1.234,5``) or English (``1,234.5``) style. ``a,bbb`` (one comma, three digits) reads as
  a decimal comma *or* a thousands separator: it is repaired only when the column's valid range
  (:data:`VALID_RANGES`) or its integer type rules one reading out (``-12,345`` as a latitude
  can only be -12.345), else it is a parse failure marked *ambiguous*.
* **Text files.** CSV files are read as UTF-8 (with or without BOM), else as Windows-1252
  (Latin-1's superset), with ``,``, ``;`` or tab as delimiter, whichever the header uses. Text
  that was UTF-8 decoded as Windows-1252 and saved again (mojibake: ``Ã‘`` for ``Ñ``) is
  repaired (``repair_mojibake: true``) or stops the run.
"""
from __future__ import annotations

import csv
import io
import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from pra.ingest.readers import IngestError, few_distinct

# data.checks defaults (config.yaml / schemas/config.schema.yaml hold the same values).
DEFAULT_CHECKS = {
    "max_parse_failures": {"keys": 0, "coordinates": 0, "expenditure": 0, "weights": 0,
                           "other": None},
    "repair_decimal_comma": True,
    "repair_mojibake": True,
    "max_missing_share": 0.02,
    "max_missing_households": 1,
}

# Columns of each class of max_parse_failures (names as the readers give them, lower case).
COLUMN_CLASSES = {
    "keys": ("conglome", "vivienda", "hogar", "codperso", "ubigeo", "codccpp", "id_hogar",
             "id_localidad", "aniorec", "dpto", "dominioa"),
    "coordinates": ("latitud", "longitud", "latitude", "longitude"),
    "expenditure": ("gashog2d", "i00", "ld"),  # and INEI's deflators of it
    "weights": ("factor07", "factora07"),
}
# Valid ranges (and integer type) that decide an ambiguous 'a,bbb' (see module docstring).
VALID_RANGES = {
    "latitud": (-90.0, 90.0, False), "longitud": (-180.0, 180.0, False),
    "latitude": (-90.0, 90.0, False), "longitude": (-180.0, 180.0, False),
    "altitud": (-500.0, 7000.0, False),
    "hogares_2007": (0.0, math.inf, True), "poblacion_2007": (0.0, math.inf, True),
    "mieperho": (1.0, 100.0, True),
}

HEALTH_COLUMNS = ["year", "file", "column", "item", "count", "examples", "action"]
EXAMPLES = 5

# ---------------------------------------------------------------------------------------------
# the ledger


def merge_checks(checks: dict | None) -> dict:
    """``data.checks`` over the defaults (missing keys take the default)."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in DEFAULT_CHECKS.items()}
    for k, v in (checks or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k].update(v)
        else:
            out[k] = v
    return out


def column_class(column: str) -> str:
    for cls, cols in COLUMN_CLASSES.items():
        if column in cols:
            return cls
    return "other"


def _rows_text(mask: np.ndarray) -> str:
    rows = (np.flatnonzero(mask)[:10] + 1).tolist()
    return f"data rows {rows}" + (" ..." if int(mask.sum()) > 10 else "")


@dataclass
class Health:
    """The data-health ledger of one job (see :data:`HEALTH_COLUMNS`)."""

    year: int | None = None
    checks: dict = field(default_factory=lambda: merge_checks(None))
    rows: list[dict] = field(default_factory=list)

    def add(self, file: str, column: str, item: str, count: int, examples="", action="") -> None:
        if isinstance(examples, (list, tuple)):
            examples = "; ".join(str(e) for e in list(examples)[:EXAMPLES])
        self.rows.append({"year": self.year, "file": str(file), "column": column, "item": item,
                          "count": int(count), "examples": examples, "action": action})

    def rows_read(self, file: str, n: int) -> None:
        self.add(file, "", "rows read", n)

    def extend(self, rows) -> None:
        """Rows recorded elsewhere (a reader's ``df.attrs['health']``), with this year."""
        for r in rows or ():
            self.add(r["file"], r["column"], r["item"], r["count"], r["examples"], r["action"])

    def parse_failures(self, file: str, column: str, failed: np.ndarray, raw: pd.Series,
                       note: str = "") -> None:
        """Record values that failed to parse; stop when above the column class's threshold."""
        failed = np.asarray(failed, dtype=bool)
        n = int(failed.sum())
        if not n:
            return
        examples = pd.Series(raw.to_numpy()[failed]).astype(str).drop_duplicates().head(EXAMPLES)
        ex = [repr(v) for v in examples]
        cls = column_class(column)
        limit = self.checks["max_parse_failures"].get(cls)
        where = f"{'year ' + str(self.year) + ': ' if self.year is not None else ''}file {file}"
        if limit is not None and n > limit:
            self.add(file, column, "failed to parse", n, ex, "stopped")
            raise IngestError(
                f"{where}: column '{column}': {n} value(s) fail to parse as numbers{note} in "
                f"{_rows_text(failed)}, e.g. {', '.join(ex)} (data.checks.max_parse_failures."
                f"{cls} allows {limit})")
        self.add(file, column, "failed to parse" + note, n, ex, "set missing")

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=HEALTH_COLUMNS)

    def warn(self, logger: logging.Logger | None = None) -> int:
        """One ``logging.warning`` per entry above zero (rows read excepted); their number."""
        log = logger or logging.getLogger()
        n = 0
        for r in self.rows:
            if r["item"] != "rows read" and r["count"] > 0 and r["action"] != "by design":
                n += 1
                log.warning("data health: %s%s%s: %s: %d (%s) %s",
                            f"{r['year']} " if r["year"] is not None else "", r["file"],
                            f", column {r['column']}" if r["column"] else "", r["item"],
                            r["count"], r["action"] or "reported", r["examples"])
        return n


def coverage(health: Health, file: str, what: str, missing: pd.DataFrame, expected: int) -> None:
    """Key coverage between modules of one year: ``missing`` (key rows) of ``expected`` lack a
    row in ``file``. More than ``max_missing_households`` and more than ``max_missing_share`` of
    ``expected`` stops the run (a short or truncated module); any other shortfall is reported."""
    n = int(len(missing))
    if not n:
        return
    share_limit = health.checks["max_missing_share"] * max(expected, 1)
    rows_limit = health.checks["max_missing_households"]
    examples = [" ".join(str(v) for v in r) for r in missing.head(EXAMPLES).itertuples(index=False)]
    if n > rows_limit and n > share_limit:
        health.add(file, "", f"households incomplete: {what}", n, examples, "stopped")
        where = f"{'year ' + str(health.year) + ': ' if health.year is not None else ''}file {file}"
        raise IngestError(
            f"{where}: {what}: {n} of {expected} ({100 * n / max(expected, 1):.1f}%), e.g. "
            f"households {examples} — is the file short or truncated? (data.checks allows "
            f"max_missing_households {rows_limit} or max_missing_share "
            f"{health.checks['max_missing_share']})")
    health.add(file, "", f"households incomplete: {what}", n, examples, "reported")


def health_table(rows) -> pd.DataFrame:
    """The data-health table from the entries of several jobs: one row per year, file, column
    and item, in a fixed order (years first; entries without a year last)."""
    t = pd.DataFrame(list(rows), columns=HEALTH_COLUMNS)
    t["year"] = pd.array(t["year"], dtype="Int64")
    t["count"] = t["count"].astype("int64")
    t = t.drop_duplicates(subset=["year", "file", "column", "item"], keep="first")
    t["_rows_read"] = t["item"] != "rows read"
    t = t.sort_values(["year", "file", "_rows_read", "column", "item"], na_position="last",
                      kind="mergesort").drop(columns="_rows_read")
    return t.reset_index(drop=True)


def warnings_of(table: pd.DataFrame) -> pd.DataFrame:
    """The entries of a health table that are warnings (anything above zero but rows read)."""
    return table[(table["item"] != "rows read") & (table["count"] > 0)
                 & (table["action"] != "by design")]


# ---------------------------------------------------------------------------------------------
# numbers

_PLAIN = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_ONE_COMMA = re.compile(r"^([+-]?)(\d+),(\d+)$")
_ES_GROUPS = re.compile(r"^([+-]?)(\d{1,3}(?:\.\d{3})+)(?:,(\d+))?$")   # 1.234.567 / 1.234,5
_EN_GROUPS = re.compile(r"^([+-]?)(\d{1,3}(?:,\d{3})+)(?:\.(\d+))?$")   # 1,234,567 / 1,234.5


def _candidates(v: str) -> list[tuple[float, str]]:
    """Readings of a number text that is not plain, each with the rule that gives it."""
    m = _ONE_COMMA.match(v)
    if m:
        sign, a, b = m.groups()
        cands = [(float(f"{sign}{a}.{b}"), "decimal comma")]
        if len(b) == 3 and len(a) <= 3:
            cands.append((float(f"{sign}{a}{b}"), "thousands separator"))
        return cands
    for rx in (_ES_GROUPS, _EN_GROUPS):
        m = rx.match(v)
        if m:
            sign, groups, dec = m.groups()
            digits = re.sub(r"[.,]", "", groups)
            return [(float(f"{sign}{digits}" + (f".{dec}" if dec else "")), "thousands separator")]
    return []


def _fits(x: float, column: str) -> bool:
    lo, hi, integer = VALID_RANGES.get(column, (-math.inf, math.inf, False))
    return lo <= x <= hi and (not integer or float(x).is_integer())


def parse_numbers(values: pd.Series, *, file: str, column: str,
                  health: Health | None = None) -> pd.Series:
    """``values`` as float64; text repaired by the documented rules (counted in ``health``),
    values that still fail recorded as parse failures (stop above the threshold) and missing."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype("float64")
    health = health if health is not None else Health()
    plain = _plain_numbers(values)
    if plain is not None:
        return plain
    s = values.astype("string").str.strip()
    s = s.mask(s == "")
    num = pd.to_numeric(s.where(s.str.match(_PLAIN.pattern, na=False)), errors="coerce")
    num = num.astype("float64")
    todo = s.notna() & num.isna()
    ambiguous = pd.Series(False, index=s.index)
    repaired: dict[str, list] = {}
    if todo.any() and health.checks.get("repair_decimal_comma", True):
        for idx, v in s[todo].items():
            ok = [(x, rule) for x, rule in _candidates(v) if _fits(x, column)]
            if len(ok) == 1:
                x, rule = ok[0]
                num.at[idx] = x
                repaired.setdefault(rule, []).append(f"{v}→{x:.15g}")
            elif len(ok) > 1:
                ambiguous.at[idx] = True
    for rule, ex in repaired.items():
        health.add(file, column, f"repaired: {rule}", len(ex), ex, "repaired")
    failed = (s.notna() & num.isna()).to_numpy()
    amb = ambiguous.to_numpy()
    health.parse_failures(file, column, failed & amb, values,
                          note=" (ambiguous: decimal comma or thousands separator)")
    health.parse_failures(file, column, failed & ~amb, values)
    return num


# _PLAIN with ASCII digits: a text it matches is left as it is by strip, and matches _PLAIN in
# every regex engine (pandas' text columns use pyarrow's)
_PLAIN_ASCII = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


def _plain_numbers(values: pd.Series) -> pd.Series | None:
    """:func:`parse_numbers`' result when every value is missing or a plain number that parses
    (nothing to strip, repair or report): the common case, in two pandas calls instead of a
    dozen; None otherwise (the full path decides)."""
    s = values.astype("string")
    distinct = few_distinct(s)
    if distinct is None or not all(v is None or _PLAIN_ASCII.fullmatch(v) for v in distinct):
        return None
    num = pd.to_numeric(s, errors="coerce").astype("float64")
    if (num.isna().to_numpy() & s.notna().to_numpy()).any():
        return None  # a plain text that does not parse: counted by the full path
    return num


def check_keys(df: pd.DataFrame, columns, *, file: str, health: Health) -> None:
    """Key/code columns (already normalised text) must be digits: others are parse failures."""
    for c in columns:
        if c not in df.columns:
            continue
        if _ascii_digits_or_missing(df[c]) or \
                df[c].astype("string").str.fullmatch(r"\d+", na=True).all():
            continue  # digits or missing throughout (the normalised keys): nothing fails
        v = df[c].astype("string").str.strip().str.replace(r"\.0+$", "", regex=True)
        v = v.mask(v == "")
        bad = (v.notna() & ~v.str.fullmatch(r"\d+", na=False)).to_numpy()
        health.parse_failures(file, c, bad, df[c])


_ASCII_DIGITS = re.compile(r"[0-9]+")


def _ascii_digits_or_missing(values: pd.Series) -> bool:
    """Whether every value of a text column is ASCII digits or missing: the common case, checked
    in plain Python over the distinct values (pandas' regex call per key column cost more than
    the rest of the check); digits 0-9 are digits to every regex engine."""
    if not isinstance(values.dtype, pd.StringDtype):
        return False
    distinct = few_distinct(values)  # None for many (the centre map's codes): pandas is faster
    return distinct is not None and all(v is None or _ASCII_DIGITS.fullmatch(v) for v in distinct)


# ---------------------------------------------------------------------------------------------
# text files

# Mojibake: UTF-8 bytes of accented letters read as Windows-1252 (Ã + one char; Â before
# punctuation such as NBSP/º).
_MOJIBAKE = re.compile("[ÃÂ][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192"
                       "\u02c6\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039"
                       "\u203a\u20ac\u2122]")


def unmojibake(text: str) -> str | None:
    """The text before UTF-8 was decoded as Windows-1252 (or Latin-1), or None if it is not
    such mojibake."""
    if not isinstance(text, str) or not _MOJIBAKE.search(text):
        return None
    for enc in ("cp1252", "latin-1"):
        try:
            return text.encode(enc).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
    return None


def _decode(raw: bytes, label: str) -> tuple[str, str]:
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="strict"), "utf-8 (BOM)"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "windows-1252"
    except UnicodeDecodeError:  # bytes cp1252 leaves undefined (0x81, 0x8d, ...): Latin-1
        return raw.decode("latin-1"), "latin-1"


def _delimiter(header: str) -> str:
    counts = {d: len(next(csv.reader([header], delimiter=d))) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: (counts[d], d == ","))


def read_csv_file(path, what: str, *, dtype=None, usecols=None, nrows=None,
                  checks: dict | None = None, name: str | None = None, **kw) -> pd.DataFrame:
    """A CSV input read whatever its encoding and delimiter, repaired or stopped as the module
    docstring says; ``df.attrs['health']`` holds the rows of what was done (for :class:`Health`).

    Raises IngestError naming the file when it is empty, binary (e.g. a Stata file named
    .csv), holds only some of its header's columns on a row, or has mojibake and repair is off.
    """
    path = Path(path)
    checks = merge_checks(checks)
    name = name or str(path)  # how messages name it (an archive member: archive.zip:member)
    label = f"{what} {name}" if what else name
    try:
        if nrows == 0:  # the header only (read_meta): the first lines are enough
            with open(path, "rb") as fh:
                raw = fh.read(1 << 16)
            raw = raw[:raw.rfind(b"\n") + 1] or raw
        else:
            raw = path.read_bytes()
    except OSError as err:
        raise IngestError(f"{label}: cannot read the file ({err.strerror})") from err
    if not raw.strip():
        raise IngestError(f"{label}: the file is empty (expected a CSV header and data rows)")
    if b"\x00" in raw[:4096]:
        raise IngestError(f"{label}: not a text (CSV) file: it holds binary data (a Stata/SPSS "
                          "file with a .csv name?)")
    text, enc = _decode(raw, label)
    header = text[:1 << 20].lstrip("\ufeff").splitlines()[0]  # not the whole text: it may be large
    sep = _delimiter(header)
    notes = []
    if enc not in ("utf-8", "utf-8 (BOM)"):
        notes.append(dict(column="", item=f"read as {enc} (not UTF-8)", count=1, examples="",
                          action="repaired"))
    if sep != ",":
        notes.append(dict(column="", item=f"delimiter {sep!r}", count=0, examples="", action=""))
    pandas_enc = {"utf-8 (BOM)": "utf-8-sig", "windows-1252": "cp1252"}.get(enc, enc)
    try:  # the C parser on the bytes (faster than on the decoded text)
        df = pd.read_csv(io.BytesIO(raw), sep=sep, dtype=dtype, usecols=usecols, nrows=nrows,
                         encoding=pandas_enc, **kw)
    except (pd.errors.ParserError, ValueError) as err:
        raise IngestError(f"{label}: cannot parse it as CSV (delimiter {sep!r}, {enc}): "
                          f"{str(err).strip()}") from err
    if nrows != 0:
        # one scan of the text (a plain find first: the regex is slower); columns only on a hit
        if ("Ã" in text or "Â" in text) and _MOJIBAKE.search(text):
            df = _repair_mojibake(df, label, notes, checks)
        if df.empty:
            raise IngestError(f"{label}: the file holds its header only (no data rows)")
    df.attrs["health"] = [dict(file=path.name, **n) for n in notes]
    return df


def _repair_mojibake(df: pd.DataFrame, label: str, notes: list, checks: dict) -> pd.DataFrame:
    renamed = {c: unmojibake(c) for c in df.columns if unmojibake(c)}
    hits = {}
    for c in df.columns:
        if df[c].dtype == object or isinstance(df[c].dtype, pd.StringDtype):
            maybe = df[c].astype("string").str.contains(_MOJIBAKE, na=False)  # cheap screen
            if not maybe.any():
                continue
            fixed = df[c].where(maybe).map(lambda v: unmojibake(v) if isinstance(v, str) else None)
            hit = fixed.notna()
            if hit.any():
                hits[c] = (hit, fixed)
    if not hits and not renamed:
        return df
    if not checks.get("repair_mojibake", True):
        c, (hit, _) = next(iter(hits.items())) if hits else (next(iter(renamed)), (None, None))
        ex = df.loc[hit, c].head(EXAMPLES).tolist() if hit is not None else [c]
        rows = _rows_text(hit.to_numpy()) if hit is not None else "the header"
        raise IngestError(f"{label}: column '{c}': mojibake (UTF-8 text decoded as Latin-1 and "
                          f"saved again) in {rows}, e.g. {ex} (data.checks.repair_mojibake is off)")
    out = df.copy()
    for c, (hit, fixed) in hits.items():
        ex = [f"{a}→{b}" for a, b in zip(df.loc[hit, c].head(EXAMPLES), fixed[hit].head(EXAMPLES))]
        out.loc[hit, c] = fixed[hit]
        notes.append(dict(column=renamed.get(c, c), item="repaired: mojibake", count=int(hit.sum()),
                          examples="; ".join(ex), action="repaired"))
    if renamed:
        notes.append(dict(column="", item="repaired: mojibake in header", count=len(renamed),
                          examples="; ".join(f"{a}→{b}" for a, b in renamed.items()),
                          action="repaired"))
        out = out.rename(columns=renamed)
    return out


__all__ = ["DEFAULT_CHECKS", "HEALTH_COLUMNS", "Health", "check_keys", "column_class", "coverage",
           "health_table", "merge_checks", "parse_numbers", "read_csv_file", "unmojibake", "warnings_of"]
