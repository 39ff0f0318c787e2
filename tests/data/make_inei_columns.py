"""Build ``inei_columns.csv``: the columns of INEI's real ENAHO 2007-2012 files, per year and file.

Usage: ``python make_inei_columns.py DICTIONARY_DIR > inei_columns.csv``, where DICTIONARY_DIR
holds INEI's data dictionaries as text, ``ENAHO_<year>_Diccionario.txt`` (see README.md here for
their origin). Not run by the tests: they read the committed CSV.

Two sources (column ``source``):
* ``dictionary``: every variable INEI's dictionary lists for the file (name lower-cased as in
  INEI's .dta files; type C text / N numeric, width and decimals as printed; blank where the
  dictionary prints none). ``line`` is the dictionary line.
* ``dta``: variables INEI's .dta files carry that the dictionary omits or prints under another
  name (``EXTRAS`` below, each with its reason in ``note``).
"""
from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

YEARS = range(2007, 2013)
# the files the project reads or writes (file stems lower-case, YYYY = year)
FILES = ("sumaria-YYYY", "enaho01-YYYY-100", "enaho01-YYYY-200", "enaho01a-YYYY-300",
         "enaho01a-YYYY-500", "enaho01b-YYYY-2", "enaho02-YYYY-2000", "enaho02-YYYY-2000a",
         "enaho02-YYYY-2100", "enaho02-YYYY-2500")

# (file stem, years, column, type, width, note)
EXTRAS = [
    ("enaho01-YYYY-100", YEARS, "p102", "N", 1,
     "wall material; the dictionary prints P102A, INEI's .dta files name it p102"),
    ("enaho01-YYYY-100", (2012,), "p111a", "N", 1,
     "sanitation with the 2012 codes; the 2012 dictionary prints P111, the .dta names it p111a"),
    ("enaho01-YYYY-100", YEARS, "nomccpp", "C", "",
     "populated-centre name; in INEI's .dta files, not in the dictionaries"),
    ("enaho01-YYYY-100", range(2007, 2012), "codccpp", "C", 4,
     "populated-centre code within the district (%4s); national code = ubigeo + codccpp; "
     "not in the dictionaries; absent from the 2012 file"),
    ("enaho01-YYYY-100", YEARS, "latitud", "N", "",
     "coordinate; in INEI's .dta files (text %10s in 2011), not in the dictionaries"),
    ("enaho01-YYYY-100", YEARS, "longitud", "N", "",
     "coordinate; in INEI's .dta files, not in the dictionaries"),
    ("enaho01-YYYY-100", range(2010, 2013), "altitud", "N", "",
     "altitude (m); in INEI's .dta files 2010-2012, not in the dictionaries"),
    ("sumaria-YYYY", YEARS, "año", "C", 4,
     "year column (aÑo); the dictionaries list none for sumaria, INEI's do-files read it"),
    ("sumaria-YYYY", (2012,), "factor07", "N", 8,
     "household weight; the 2012 dictionary's last sumaria entry prints FACTORA07 with the "
     "agricultural module's label, INEI's poverty do-files weight sumaria by factor07"),
]

TITLE = re.compile(r"^\d+\.\d+\.\s*(?P<name>(?:ENAHO|SUMARIA)[^:]*?)(?:\.SAV)?\s*(?::|-\s*SUMARIA|$)",
                   re.I)
VAR = re.compile(r"^(?P<name>[A-Za-zÑ][A-Za-z0-9_$Ñ]*)\s+(?P<w>\d+)\s+(?P<d>\d+)\s+(?P<t>[CNA])\b")
VAR_NOWIDTH = re.compile(r"^(?P<name>P\d[A-Z0-9_$]*)(?:\s|$)")


def file_stem(raw: str) -> str | None:
    """'ENAHO.01B–2009–2' / 'Sumaria-2007' -> 'enaho01b-2009-2' / 'sumaria-2007'."""
    s = raw.upper().replace("–", "-").replace("—", "-").replace(" ", "").replace(".SAV", "")
    s = s.replace("ENAHO.", "ENAHO")
    m = re.match(r"^SUMARIA-(\d{4})", s)
    if m:
        return f"sumaria-{m.group(1)}"
    m = re.match(r"^ENAHO(\d\d[AB]?)-?(\d{4})-?(.+)$", s)
    return f"enaho{m.group(1).lower()}-{m.group(2)}-{m.group(3).lower()}" if m else None


def parse(path: Path, year: int) -> list[dict]:
    # the PDF extraction left some glyphs as '(cid:N)': N + 29 is the character code
    text = re.sub(r"\(cid:(\d+)\)", lambda m: chr(int(m.group(1)) + 29),
                  path.read_text(encoding="utf-8"))
    rows, current = [], None
    for i, line in enumerate(text.splitlines(), 1):
        t = re.sub(r"\s+", " ", line.replace("\xa0", " ")).strip()
        if "...." in t:  # table of contents
            continue
        m = TITLE.match(t)
        if m and file_stem(m.group("name")):
            current = file_stem(m.group("name"))
            continue
        if current is None:
            continue
        m = VAR.match(t)
        if m and not m.group("name").upper().startswith("RANGO"):
            rows.append(dict(year=year, file=current, column=m.group("name").lower(),
                             type=m.group("t"), width=int(m.group("w")),
                             decimals=int(m.group("d")), source="dictionary", line=i, note=""))
            continue
        m = VAR_NOWIDTH.match(t)
        if m:
            rows.append(dict(year=year, file=current, column=m.group("name").lower(), type="",
                             width="", decimals="", source="dictionary", line=i,
                             note="no width or type printed"))
    return rows


def build(folder: Path) -> list[dict]:
    wanted = {f.replace("YYYY", str(y)) for f in FILES for y in YEARS}
    out, seen = [], set()
    for y in YEARS:
        for r in parse(folder / f"ENAHO_{y}_Diccionario.txt", y):
            key = (r["year"], r["file"], r["column"])
            if r["file"] in wanted and key not in seen:
                seen.add(key)
                out.append(r)
    for stem, years, col, typ, width, note in EXTRAS:
        for y in years:
            key = (y, stem.replace("YYYY", str(y)), col)
            if key in seen:
                raise SystemExit(f"extra {key} is already in the dictionary")
            seen.add(key)
            out.append(dict(year=y, file=key[1], column=col, type=typ, width=width, decimals="",
                            source="dta", line="", note=note))
    missing = wanted - {r["file"] for r in out}
    if missing:
        raise SystemExit(f"no variables parsed for {sorted(missing)}")
    return sorted(out, key=lambda r: (r["year"], FILES.index(r["file"].replace(str(r["year"]), "YYYY", 1)),
                                      r["source"] != "dictionary", r["line"] or 0))


if __name__ == "__main__":
    rows = build(Path(sys.argv[1]))
    w = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
