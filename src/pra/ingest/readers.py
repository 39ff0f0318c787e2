"""Find and read ENAHO module files (Stata 7/14+, SPSS, CSV) with normalised names and keys.

Layout facts: ``docs/enaho_layout.md`` §1 and ``docs/contract.md`` §1.
Every reader returns lower-case column names, the year column renamed ``year`` and id keys
normalised to canonical zero-filled strings, so modules of any year and format join directly.

Files are found as INEI ships them: in the year folder or any sub-folder, or inside INEI's
per-module zip archives (``<code>-Modulo<NN>.zip``) there, names in any case. Archives are
untrusted input: a member is read through a copy in a private temporary folder (removed after
the read), never extracted beside the data; a member name with ``..`` or an absolute path is
refused, and a truncated or corrupt archive stops the run with an error naming it.
"""
from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Iterator, Union

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


# Up to this many distinct values a column's text is checked in plain Python (pandas' per-call
# overhead dominates on the small columns); above it pandas' vectorised text methods are faster.
FEW_DISTINCT = 256


def few_distinct(values: pd.Series) -> set | None:
    """The distinct values of a text column as Python text (missing as None) when there are at
    most FEW_DISTINCT of them, to be checked in plain Python; None when there are more."""
    distinct = set(values.to_numpy(dtype=object, na_value=None))
    return distinct if len(distinct) <= FEW_DISTINCT else None


class IngestError(ValueError):
    """Bad or missing ENAHO input; the message names year, file, column and rows."""


def _stem_regex(stem: str) -> re.Pattern:
    return re.compile(r"^" + re.escape(stem) + r"\.(dta|sav|csv)$", re.IGNORECASE)


@dataclass(frozen=True)
class ArchiveMember:
    """A module file inside a zip archive; read through :func:`local_copy`."""

    archive: Path
    member: str  # the name inside the archive, e.g. '291-Modulo01/enaho01-2011-100.dta'

    @property
    def name(self) -> str:
        """The file name without the archive's folders (as for a :class:`Path`)."""
        return PurePosixPath(self.member.replace("\\", "/")).name

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.name).suffix

    def __str__(self) -> str:
        return f"{self.archive}:{self.member}"


ModuleSource = Union[Path, ArchiveMember]

# Errors of a damaged archive (truncated, bad CRC, bad deflate stream) and of what zipfile cannot
# read (encrypted members, compression methods such as deflate64).
_ARCHIVE_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError)


def source_name(source: ModuleSource) -> str:
    """How messages and reports name a module file: its name, or ``archive.zip:member``."""
    if isinstance(source, ArchiveMember):
        return f"{source.archive.name}:{source.member}"
    return Path(source).name


def _unsafe_member(name: str) -> bool:
    """An absolute path (``/x``, ``\\x``, ``C:x``) or a ``..`` part: never followed."""
    parts = re.split(r"[/\\]", name)
    return name.startswith(("/", "\\")) or bool(re.match(r"^[A-Za-z]:", name)) or ".." in parts


def archive_members(archive: str | Path) -> list[str]:
    """The file members of a zip archive (directory entries skipped), checked for unsafe names.

    Raises IngestError naming the archive when it is not a readable zip (truncated, corrupt)
    and naming archive and member when a member's name is absolute or contains ``..``.
    """
    archive = Path(archive)
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
    except _ARCHIVE_ERRORS as err:
        raise IngestError(f"archive {archive}: cannot read it as a zip archive (truncated or "
                          f"corrupt?): {err}") from err
    for info in infos:
        if _unsafe_member(info.filename):
            raise IngestError(f"archive {archive}: member {info.filename!r} has an absolute path "
                              "or '..' in its name: refused (archives are untrusted input)")
    return [i.filename for i in infos if not i.is_dir()]


@contextmanager
def local_copy(source: ModuleSource) -> Iterator[Path]:
    """A plain file to read ``source`` from: the file itself, or the archive member copied into a
    private temporary folder (mode 0700) that is removed on exit."""
    if not isinstance(source, ArchiveMember):
        yield Path(source)
        return
    with tempfile.TemporaryDirectory(prefix="pra-archive-") as tmp:
        dest = Path(tmp) / source.name  # the base name only: nothing written outside tmp
        try:
            with zipfile.ZipFile(source.archive) as zf, zf.open(source.member) as src, \
                    open(dest, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
        except _ARCHIVE_ERRORS as err:
            raise IngestError(f"archive {source.archive}: cannot read member {source.member!r} "
                              f"(truncated or corrupt archive?): {err}") from err
        yield dest


def _crc32(path: Path) -> int:
    crc = 0
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            crc = zlib.crc32(chunk, crc)
    return crc


def _same_as_members(path: Path, members: list[ArchiveMember]) -> bool:
    """Whether every archive member holds exactly the bytes of ``path`` (size and CRC-32)."""
    crc, size = _crc32(path), path.stat().st_size
    for m in members:
        with zipfile.ZipFile(m.archive) as zf:
            info = zf.getinfo(m.member)
        if (info.CRC, info.file_size) != (crc, size):
            return False
    return True


def find_module(year_dir: str | Path, stem: str) -> ModuleSource:
    """The file of ``stem`` (e.g. ``enaho01b-2010-2``) in ``year_dir``, matched case-insensitively.

    Looked for in ``year_dir`` and its sub-folders, and inside every ``*.zip`` there (any folder
    inside the archive). The stem must match exactly (``sumaria-2012-12g`` is not
    ``sumaria-2012``); extensions .dta, .sav, .csv. Returns a :class:`Path`, or an
    :class:`ArchiveMember` when only an archive holds it. A file unpacked beside its archive is
    used when its bytes equal the member's; different bytes stop the run.

    Raises FileNotFoundError naming year, stem and folder when absent, and IngestError when
    several candidates are present (ambiguous) or an archive is unsafe or damaged.
    """
    year_dir = Path(year_dir)
    year = re.search(r"(19|20)\d\d", stem)
    if not year_dir.is_dir():
        raise FileNotFoundError(
            f"year {year.group(0) if year else '?'}: folder {year_dir} does not exist "
            f"(looking for module {stem!r})"
        )
    rx = _stem_regex(stem)
    files = sorted(p for p in year_dir.rglob("*") if p.is_file())
    plain = [p for p in files if rx.match(p.name)]
    members = [ArchiveMember(z, m) for z in files if z.suffix.lower() == ".zip"
               for m in archive_members(z) if rx.match(ArchiveMember(z, m).name)]
    if len(plain) > 1 or (not plain and len(members) > 1):
        found = [str(p.relative_to(year_dir)) for p in plain] + [source_name(m) for m in members]
        raise IngestError(f"module {stem!r}: several candidate files in {year_dir}: {found}")
    if plain and members and not _same_as_members(plain[0], members):
        raise IngestError(
            f"module {stem!r}: {plain[0].relative_to(year_dir)} differs from "
            f"{[source_name(m) for m in members]} in {year_dir}: keep one of them")
    if plain:
        return plain[0]
    if members:
        return members[0]
    raise FileNotFoundError(
        f"year {year.group(0) if year else '?'}: no file for module {stem!r} "
        f"(.dta/.sav/.csv, any case, also inside .zip archives) in {year_dir}"
    )


def find_year_column(columns) -> str | None:
    """The original name of the year column (aÑo/año/a_o/mojibake), or None if absent."""
    hits = [c for c in columns if _YEAR_RE.match(str(c).lower())]
    if len(hits) > 1:
        raise IngestError(f"several year columns: {hits}")
    return hits[0] if hits else None


def _canonical_name(name: str, year_col: str | None) -> str:
    return "year" if name == year_col else str(name).lower()


_FLOAT_ID = re.compile(r"\.0+$")  # ids stored as floats in some formats: '5.0' -> '5'


def normalise_id(values: pd.Series, width: int, strip_zeros: bool = True) -> pd.Series:
    """Strip spaces, strip leading zeros, zero-fill to ``width``; numbers read as 5.0 → '5'.

    Missing or blank values stay missing (<NA>) so the caller can report them. Each distinct
    value is normalised once (ids repeat: a conglomerate's code is on every member's row), in
    plain Python after pandas' text conversion and strip (a few hundred distinct ids: pandas'
    per-call overhead was most of the time of a small year's harmonisation).
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    stripped = _plain_digits(uniques)
    if stripped is None:
        stripped = pd.Series(uniques).astype("string").str.strip().to_numpy(dtype=object,
                                                                             na_value=None)
    norm = []
    for v in stripped:
        if v is not None:
            v = _FLOAT_ID.sub("", v)
            if v == "":
                v = None  # blank: missing
            else:
                if strip_zeros:
                    v = v.lstrip("0") or "0"  # an all-zero id is the id 0, not a blank
                v = v.zfill(width)
        norm.append(v)
    norm = pd.array(norm, dtype="string")
    return pd.Series(norm.take(codes, allow_fill=True), index=values.index, name=values.name, dtype="string")


_DIGITS_DOT = re.compile(r"[0-9.]+")


def _plain_digits(uniques) -> np.ndarray | None:
    """The distinct ids as Python text when they are text of digits (and dots) only, which
    pandas' text conversion and strip leave as they are (the ids of a file as read); else None."""
    if not isinstance(uniques.dtype, pd.StringDtype) or len(uniques) > FEW_DISTINCT:
        return None  # many ids (the centre map's): pandas' vectorised strip is faster
    out = uniques.to_numpy(dtype=object, na_value=None)
    return out if all(_DIGITS_DOT.fullmatch(v) for v in out) else None


def normalise_keys(df: pd.DataFrame) -> pd.DataFrame:
    """Normalise every id/code column present in ``df`` (in place on a copy)."""
    out = df.copy(deep=False)  # each normalised column is set anew: df keeps its own
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

    path: Path | ArchiveMember  # the file, or the archive member it was read from
    columns: list[str]
    original: dict[str, str]  # canonical name -> name in the file
    value_labels: dict[str, dict] = field(default_factory=dict)
    column_labels: dict[str, str] = field(default_factory=dict)


def _what_is_wrong(path: Path, label: str, kind: str, err: Exception) -> IngestError:
    """An error naming the file and what it looks like when pyreadstat cannot read it."""
    size = path.stat().st_size if path.exists() else 0
    head = open(path, "rb").read(64) if size else b""
    if size == 0:
        why = "the file is empty (0 bytes)"
    elif head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        why = "it is a zip archive, not a module file (name it .zip)"
    elif head.startswith(b"<stata_dta>") and kind == "Stata":
        why = f"a Stata file, truncated or damaged ({err})"
    elif head.startswith((b"$FL2", b"$FL3")) and kind == "Stata":
        why = "it is an SPSS file (name it .sav)"
    elif (head.startswith(b"<stata_dta>") or head[:1] in (b"\x6e", b"\x6f", b"\x71", b"\x72",
                                                          b"\x73")) and kind == "SPSS":
        why = "it looks like a Stata file (name it .dta)"
    elif b"\x00" not in head and head.strip() and kind in ("Stata", "SPSS"):
        why = "it holds text, not a binary file (a CSV file with the wrong extension?)"
    else:
        why = f"truncated or not a {kind} file ({err})"
    return IngestError(f"{label}: cannot read it as a {kind} file: {why}")


def _read_stata(path: Path, label: str, **kw):
    # INEI 2007–2011 files are Stata 7 (format 110) in latin-1; pyreadstat guesses the encoding
    # for newer formats but needs it spelled out for old ones with non-ASCII names (aÑo).
    try:
        return pyreadstat.read_dta(str(path), **kw)
    except Exception as first:  # noqa: BLE001 - retry with the legacy encoding, then re-raise
        try:
            return pyreadstat.read_dta(str(path), encoding="latin1", **kw)
        except Exception:
            raise _what_is_wrong(path, label, "Stata", first) from first


def _read_sav(path: Path, label: str, **kw):
    try:
        return pyreadstat.read_sav(str(path), **kw)
    except Exception as err:  # noqa: BLE001 - named and explained
        raise _what_is_wrong(path, label, "SPSS", err) from err


def _source(path: str | Path | ArchiveMember) -> ModuleSource:
    return path if isinstance(path, ArchiveMember) else Path(path)


def read_meta(path: str | Path | ArchiveMember) -> ModuleMeta:
    """Column names and value labels (pyreadstat ``metadataonly``; CSV: header only)."""
    source = _source(path)
    label = str(source)  # the full path (for a member: archive path and member name)
    ext = source.suffix.lower()
    if ext not in EXTENSIONS:
        raise IngestError(f"{label}: unsupported extension {ext!r} (expected {EXTENSIONS})")
    with local_copy(source) as local:
        if ext == ".dta":
            _, meta = _read_stata(local, label, metadataonly=True)
        elif ext == ".sav":
            _, meta = _read_sav(local, label, metadataonly=True)
        else:
            from pra.ingest.health import read_csv_file

            header = read_csv_file(local, "", nrows=0, name=label).columns.tolist()
            header = [_unmojibake_name(c) for c in header]
            ycol = find_year_column(header)
            orig = {_canonical_name(c, ycol): c for c in header}
            return ModuleMeta(source, list(orig), orig)
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
    return ModuleMeta(source, list(orig), orig, vl, cl)


def _num_key(k):
    # 2012 files carry keys like '1.0'; compare codes numerically.
    try:
        f = float(k)
        return int(f) if f.is_integer() else f
    except (TypeError, ValueError):
        return k


def read_module(
    path: str | Path | ArchiveMember,
    columns: list[str] | None = None,
    *,
    year: int | None = None,
    meta: ModuleMeta | None = None,
) -> pd.DataFrame:
    """Read one module file: lower-case names, year column → ``year``, normalised id keys.

    ``path``: a file, or an :class:`ArchiveMember` (as :func:`find_module` returns it).
    ``columns`` are canonical (lower-case, ``year`` for the year column); a requested column the
    file lacks raises IngestError naming year, file and column. Value labels are attached as
    ``df.attrs['value_labels']`` ({column: {code: label}}) when the format carries them.
    """
    source = _source(path)
    meta = meta or read_meta(source)
    if columns is not None:
        missing = [c for c in columns if c not in meta.original]
        if missing:
            raise IngestError(
                f"year {year if year is not None else '?'}: file {source_name(source)} lacks "
                f"column(s) {missing} (has {sorted(meta.original)})"
            )
        wanted = list(dict.fromkeys(columns))
        use = [meta.original[c] for c in wanted]
    else:
        use = None
    with local_copy(source) as local:
        df = _read_columns(local, str(source), meta, use)
    health = df.attrs.get("health", [])
    for row in health:  # name the file as reports do (a member: archive.zip:member)
        row["file"] = source_name(source)
    inv = {v: k for k, v in meta.original.items()}
    df = df.rename(columns=inv)
    if use is not None:
        df = df[wanted]
    # Blank strings are missing in every format (Stata/SPSS store empty text, CSV reads NaN).
    for c, dtype in df.dtypes.items():
        if dtype == object or isinstance(dtype, pd.StringDtype):
            text = df[c].astype("string")
            df[c] = text if _nothing_to_strip(text) else text.str.strip().replace("", pd.NA)
    df = normalise_keys(df)
    df.attrs["value_labels"] = {k: v for k, v in meta.value_labels.items() if k in df.columns}
    df.attrs["source"] = source_name(source)
    df.attrs["health"] = health
    return df


def _nothing_to_strip(text: pd.Series) -> bool:
    """Whether no value of a text column is blank or starts or ends with a character that may
    be white space (only printable ASCII at both ends): strip and blank-to-missing would leave
    the column as it is (a plain Python look at the distinct values costs less than they do)."""
    distinct = few_distinct(text)
    return distinct is not None and all(
        v is None or (v != "" and "!" <= v[0] <= "~" and "!" <= v[-1] <= "~") for v in distinct)


def _read_columns(path: Path, label: str, meta: ModuleMeta, use: list[str] | None) -> pd.DataFrame:
    """The columns ``use`` (original names; None = all) of a plain file, by its extension."""
    ext = path.suffix.lower()
    if ext == ".dta":
        return _read_stata(path, label, usecols=use)[0]
    if ext == ".sav":
        return _read_sav(path, label, usecols=use)[0]
    from pra.ingest.health import read_csv_file

    inv = {v: k for k, v in meta.original.items()}
    dtype = {orig: "string" for orig, canon in inv.items() if canon in TEXT_COLUMNS}
    # keep_default_na=False + explicit na_values: '' is missing, but 'NA' text is not.
    # Encoding, delimiter and mojibake as pra.ingest.health documents (header names repaired
    # there are the names read_meta gives).
    wanted = None if use is None else set(use)
    df = read_csv_file(path, "", dtype=dtype, keep_default_na=False, na_values=[""], name=label,
                       usecols=None if use is None else (lambda c: _unmojibake_name(c) in wanted))
    return df


def _unmojibake_name(name: str) -> str:
    from pra.ingest.health import unmojibake

    return unmojibake(name) or name


_SHORT_INTEGER = re.compile(r"[0-9]{1,15}")  # below 2**53: any parser gives the same float


def to_number(values: pd.Series) -> pd.Series:
    """Numeric view of a column that may be stored as text ('1', ' 2', '-12.3'); float64."""
    if pd.api.types.is_numeric_dtype(values):
        return values.astype("float64")
    # each distinct text parsed once (a year or month column holds a few values)
    codes, uniques = pd.factorize(values.astype("string"), use_na_sentinel=True)
    texts = uniques.to_numpy(dtype=object)
    if all(_SHORT_INTEGER.fullmatch(v) for v in texts):  # years, months: exact as floats
        num = np.array([float(v) for v in texts], dtype="float64")
    else:
        num = pd.to_numeric(pd.Series(uniques, dtype="string").str.strip(),
                            errors="coerce").astype("float64").to_numpy()
    out = np.full(len(codes), np.nan)
    have = codes >= 0
    out[have] = num[codes[have]]
    return pd.Series(out, index=values.index, name=values.name)


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
    "ArchiveMember",
    "IngestError",
    "ModuleMeta",
    "archive_members",
    "find_module",
    "find_year_column",
    "format_value",
    "local_copy",
    "normalise_id",
    "normalise_keys",
    "read_centres",
    "read_meta",
    "read_module",
    "source_name",
    "to_number",
    "non_numeric",
]


def read_centres(path: str | Path, checks: dict | None = None) -> pd.DataFrame:
    """The populated-centre map CSV (contract §1.3) with codes kept as text; any encoding and
    delimiter (:func:`pra.ingest.health.read_csv_file`: what was repaired in ``attrs['health']``)."""
    from pra.ingest.health import read_csv_file

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"populated-centre map {path} does not exist")
    df = read_csv_file(path, "populated-centre map", checks=checks,
                       dtype={"codccpp": "string", "ubigeo": "string"})
    df.attrs["source"] = path.name
    return df
