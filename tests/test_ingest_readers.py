"""Readers: file discovery, every format (Stata 7/14+, SPSS, CSV), year column, id keys."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import fixtures_ingest as F

from pra.ingest.readers import (
    IngestError,
    find_module,
    find_year_column,
    normalise_id,
    read_meta,
    read_module,
)


def _touch(p: Path) -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(b"")
    return p


def test_find_module_case_insensitive_and_exact_stem(tmp_path):
    _touch(tmp_path / "Enaho01B-2010-2.sav")
    _touch(tmp_path / "sumaria-2012-12g.dta")
    _touch(tmp_path / "sumaria-2012-12.dta")
    assert find_module(tmp_path, "enaho01b-2010-2").name == "Enaho01B-2010-2.sav"
    # only the -12/-12g alternates present: the exact stem is missing
    with pytest.raises(FileNotFoundError, match=r"year 2012.*sumaria-2012.*" + str(tmp_path.name)):
        find_module(tmp_path, "sumaria-2012")
    _touch(tmp_path / "SUMARIA-2012.DTA")
    assert find_module(tmp_path, "sumaria-2012").name == "SUMARIA-2012.DTA"
    _touch(tmp_path / "sumaria-2012.csv")
    with pytest.raises(IngestError, match="several candidate files"):
        find_module(tmp_path, "sumaria-2012")


def test_find_module_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="year 2009.*does not exist"):
        find_module(tmp_path / "2009", "enaho01-2009-100")


@pytest.mark.parametrize(
    "raw, width, want",
    [("   5", 6, "000005"), ("0005", 6, "000005"), ("5", 6, "000005"), (5.0, 6, "000005"),
     ("  11", 2, "11"), ("011", 2, "11"), ("0", 3, "000"), ("001", 3, "001")],
)
def test_key_padding(raw, width, want):
    assert normalise_id(pd.Series([raw], dtype=object), width).iloc[0] == want


def test_key_padding_keeps_blank_missing():
    out = normalise_id(pd.Series(["", "  ", None, "7"], dtype=object), 3)
    assert out.isna().tolist() == [True, True, True, False]


@pytest.mark.parametrize("name", ["aÑo", "año", "a_o", "AÑO", "aÃ±o", "a—o", "aÒo", "AÑO"])
def test_year_column_spellings(name):
    assert find_year_column(["conglome", name, "area", "anual"]) == name


def test_year_column_absent_and_ambiguous():
    assert find_year_column(["conglome", "area", "mes"]) is None
    with pytest.raises(IngestError, match="several year columns"):
        find_year_column(["aÑo", "a_o"])


def _frame():
    return pd.DataFrame({"conglome": ["   5", "  12"], "vivienda": ["001", "3"],
                         "hogar": ["11", "11"], "ubigeo": ["070101", "080101"],
                         "p37": [1.0, 4.0]})


@pytest.mark.parametrize("fmt, ycol", [("dta", "aÑo"), ("dta", "a_o"), ("dta110", "aÑo"),
                                       ("dta110", "año"), ("sav", "aÑo"), ("csv", "aÃ±o")])
def test_read_every_format(tmp_path, fmt, ycol):
    df = _frame()
    df.insert(0, ycol, "2009")
    if fmt == "csv":
        df["conglome"] = [5, 12]  # INEI's CSV export: padding lost
        df["ubigeo"] = [70101, 80101]
    path = F.write_frame(df, tmp_path / f"enaho01b-2009-2{F.EXT[fmt]}", fmt,
                         {"p37": F.P37_OLD})
    out = read_module(path, ["year", "conglome", "vivienda", "hogar", "ubigeo", "p37"], year=2009)
    assert list(out.columns) == ["year", "conglome", "vivienda", "hogar", "ubigeo", "p37"]
    assert out["conglome"].tolist() == ["000005", "000012"]
    assert out["vivienda"].tolist() == ["001", "003"]
    assert out["hogar"].tolist() == ["11", "11"]
    assert out["ubigeo"].tolist() == ["070101", "080101"]  # leading zero restored from CSV ints
    assert [int(float(v)) for v in out["year"]] == [2009, 2009]
    assert out["p37"].astype(float).tolist() == [1.0, 4.0]
    if fmt != "csv":  # value labels available for code checks (2012 p37 reversal)
        assert out.attrs["value_labels"]["p37"][1] == "muy bien"


def test_sav_upper_case_names_lowered(tmp_path):
    df = _frame()
    df.insert(0, "aÑo", "2010")
    path = F.write_frame(df, tmp_path / "Enaho01B-2010-2.sav", "sav", {"p37": F.P37_OLD})
    meta = read_meta(path)
    assert meta.original["conglome"] == "CONGLOME" and meta.original["year"] == "AÑO"
    assert meta.value_labels["p37"] == F.P37_OLD


def test_stata7_latin1_file_is_format_110(tmp_path):
    df = _frame()
    df.insert(0, "aÑo", "2007")
    df["nomccpp"] = ["PIÑA", "SAN JOSÉ"]
    path = F.write_frame(df, tmp_path / "enaho01-2007-100.dta", "dta110")
    assert path.read_bytes()[0] == 110  # Stata 7, as INEI's 2007–2011 files
    out = read_module(path)
    assert "year" in out.columns and out["nomccpp"].tolist() == ["PIÑA", "SAN JOSÉ"]


def test_missing_column_names_year_file_column(tmp_path):
    df = _frame()
    df.insert(0, "aÑo", "2008")
    path = F.write_frame(df, tmp_path / "enaho01b-2008-2.dta", "dta")
    with pytest.raises(IngestError, match=r"year 2008: file enaho01b-2008-2.dta lacks column\(s\) \['p39a'\]"):
        read_module(path, ["conglome", "p39a"], year=2008)


def test_csv_ids_read_as_text(tmp_path):
    # '0005' in a CSV must not become the float 5.0 then '5.0' ; nor 'NA' a missing value
    path = tmp_path / "x.csv"
    path.write_text("aÑo,conglome,vivienda,hogar,nomccpp\n2008,0005,1,11,NA\n", encoding="utf-8")
    out = read_module(path)
    assert out.loc[0, "conglome"] == "000005" and out.loc[0, "nomccpp"] == "NA"


@pytest.mark.parametrize("encoding, sep", [("utf-8-sig", ","), ("cp1252", ";"), ("utf-8", "\t")])
def test_csv_module_any_encoding_and_delimiter(tmp_path, encoding, sep):
    """A CSV module read the same whatever its encoding (BOM, Windows-1252) and delimiter; the
    year column aÑo found in each; what was not plain UTF-8 with commas is in attrs['health']."""
    df = F.quirk(F.tables(2008)["200"], 2008, "200", "csv")
    clean = tmp_path / "clean" / "enaho01-2008-200.csv"
    clean.parent.mkdir()
    df.to_csv(clean, index=False, encoding="utf-8")
    other = tmp_path / "enaho01-2008-200.csv"
    df.to_csv(other, index=False, encoding=encoding, sep=sep)
    assert "year" in read_meta(other).original
    a = read_module(clean, ["conglome", "codperso", "year", "p208a2"])
    b = read_module(other, ["conglome", "codperso", "year", "p208a2"])
    pd.testing.assert_frame_equal(a, b)
    items = {r["item"] for r in b.attrs["health"]}
    assert ("read as windows-1252 (not UTF-8)" in items) == (encoding == "cp1252")
    assert ("delimiter ';'" in items) == (sep == ";")


def test_csv_module_mojibake_header_repaired(tmp_path):
    # the year column's name re-saved through Latin-1 (aÃ‘o) is still the year column
    df = F.quirk(F.tables(2008)["sumaria"], 2008, "sumaria", "csv")
    path = tmp_path / "sumaria-2008.csv"
    df.to_csv(path, index=False, encoding="utf-8")
    path.write_text(path.read_text(encoding="utf-8").encode("utf-8").decode("cp1252"),
                    encoding="utf-8")
    assert "aÃ‘o" in path.read_text(encoding="utf-8").splitlines()[0]
    got = read_module(path, ["conglome", "year", "gashog2d"])
    assert got["year"].astype(int).eq(2008).all() and len(got) == 3
    assert any(r["item"] == "repaired: mojibake in header" for r in got.attrs["health"])
