"""Bad-input catalogue, readers (issue 16, classes 1-3 and the readers' messages).

1. values that fail to parse: counted per file and column, repaired by a documented rule or
   reported, and above ``data.checks`` the run stops naming file, column, rows and examples;
2. files that read fine but hold less than they should: a header-only or truncated module stops
   the run naming the file, what is missing and how many;
3. encodings and delimiters: UTF-8 with/without BOM, Windows-1252/Latin-1, ``;``; mojibake
   repaired (and reported) or stopped;
4. readers say what is wrong with a file (empty, truncated, another format), naming it.

Where a case is repaired, the table equals the clean run's and the repair is in the data-health
entries; where it stops, the error is an IngestError naming the file (no table is returned; the
workflow case checks that no output file is left). Inputs: the hand-built years of
``fixtures_ingest`` (year 2008 is CSV, 2010 SPSS, 2012 Stata 14).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import fixtures_ingest as F
from workflow import TEST_CONFIG, snakemake

from pra.geo.georef import georeference
from pra.ingest.centres import prepare_centres
from pra.ingest.harmonise import harmonise_year
from pra.ingest.health import (DEFAULT_CHECKS, Health, health_table, merge_checks, parse_numbers,
                               read_csv_file, unmojibake, warnings_of)
from pra.ingest.programme import read_frame
from pra.ingest.readers import IngestError, read_centres, read_meta, read_module

H2K = (5, 2, 11)
H5K = (12, 4, 11)


@pytest.fixture(scope="module")
def deflators(tmp_path_factory):
    return F.write_deflators(tmp_path_factory.mktemp("defl"))


@pytest.fixture(scope="module")
def clean_2008(tmp_path_factory, deflators):
    """The clean run of the CSV year: (table, ledger, report)."""
    root = tmp_path_factory.mktemp("clean")
    F.write_year(root, 2008)
    return harmonise_year(root, deflators, 2008, F.centres())


def _rows(df: pd.DataFrame, key: tuple) -> pd.Series:
    return df["conglome"].eq(key[0]) & df["vivienda"].eq(key[1]) & df["hogar"].eq(key[2])


def _csv_module(root: Path, module: str, df: pd.DataFrame, year: int = 2008, **to_csv) -> Path:
    """Overwrite one CSV module of ``year`` with ``df`` (canonical table) as INEI stores it."""
    path = root / str(year) / (F.STEMS[module].format(y=year) + ".csv")
    raw = F.quirk(df, year, module, "csv")
    kw = {"index": False, "encoding": "utf-8", **to_csv}
    raw.to_csv(path, **kw)
    return path


def _items(rows, item_start: str) -> list[dict]:
    return [r for r in rows if r["item"].startswith(item_start)]


def _text_in(df: pd.DataFrame, column: str, key: tuple, text: str) -> None:
    """Write ``text`` into numeric ``column`` of household ``key`` (the column becomes text)."""
    df[column] = df[column].astype(object)
    df.loc[_rows(df, key), column] = text


def _stops(tmp_path, deflators, year, tabs, *needles, checks=None):
    """Harmonise ``year`` from ``tabs``; assert it stops with every needle in the message."""
    F.write_year(tmp_path, year, tabs=tabs)
    with pytest.raises(IngestError) as err:
        harmonise_year(tmp_path, deflators, year, F.centres(), checks=checks)
    msg = str(err.value)
    for n in needles:
        assert n in msg, msg
    return msg


# =============================================================================================
# 1. values that fail to parse
# =============================================================================================
@pytest.mark.parametrize("text, column, expected, rule", [
    ("-12,05", "latitud", -12.05, "decimal comma"),
    ("-12,345", "latitud", -12.345, "decimal comma"),     # -12345 is no latitude
    ("1.234,5", "gashog2d", 1234.5, "thousands separator"),
    ("1,234.5", "gashog2d", 1234.5, "thousands separator"),
    ("2400,75", "gashog2d", 2400.75, "decimal comma"),
    ("1,234", "poblacion_2007", 1234.0, "thousands separator"),  # a count is an integer
    ("1.234.567", "poblacion_2007", 1234567.0, "thousands separator"),
])
def test_number_repaired_by_documented_rule(text, column, expected, rule):
    h = Health()
    out = parse_numbers(pd.Series(["1", text, None]), file="f.csv", column=column, health=h)
    assert out.iloc[1] == pytest.approx(expected) and out.iloc[0] == 1 and np.isnan(out.iloc[2])
    [entry] = h.rows
    assert entry["item"] == f"repaired: {rule}" and entry["count"] == 1
    assert entry["action"] == "repaired" and text in entry["examples"]


@pytest.mark.parametrize("text, column", [("2,400", "gashog2d"), ("12,5", "poblacion_2007")])
def test_number_ambiguous_or_impossible_is_a_failure(text, column):
    h = Health(checks=merge_checks({"max_parse_failures": {"expenditure": None}}))
    out = parse_numbers(pd.Series([text]), file="f.csv", column=column, health=h)
    assert np.isnan(out.iloc[0])
    [entry] = h.rows
    assert entry["item"].startswith("failed to parse") and entry["count"] == 1
    assert repr(text) in entry["examples"]


def test_ambiguous_expenditure_stops_the_run_naming_it():
    with pytest.raises(IngestError) as err:
        parse_numbers(pd.Series(["1", "2,400"]), file="sumaria-2008.csv", column="gashog2d",
                      health=Health(2008))
    msg = str(err.value)
    assert "sumaria-2008.csv" in msg and "'gashog2d'" in msg and "[2]" in msg
    assert "'2,400'" in msg and "ambiguous" in msg and "expenditure" in msg


def test_decimal_comma_coordinates_in_enaho_csv_repaired(tmp_path, deflators, clean_2008):
    tabs = F.tables(2008)
    m = tabs["100"]
    for c in ("latitud", "longitud"):
        m[c] = m[c].map(lambda v: "" if pd.isna(v) else f"{v}".replace(".", ","))
    F.write_year(tmp_path, 2008, tabs=tabs)
    table, led, rep = harmonise_year(tmp_path, deflators, 2008, F.centres())
    pd.testing.assert_frame_equal(table, clean_2008[0])
    pd.testing.assert_frame_equal(led, clean_2008[1])
    rep_lat = [r for r in _items(rep["health"], "repaired: decimal comma") if r["column"] == "latitud"]
    # the three kept households' values (the housing columns are read for kept households)
    assert rep_lat and rep_lat[0]["file"] == "enaho01-2008-100.csv" and rep_lat[0]["count"] == 3
    assert rep["unknown_codes"] == {}


def test_decimal_comma_repair_switched_off_stops(tmp_path, deflators):
    tabs = F.tables(2008)
    tabs["100"]["latitud"] = tabs["100"]["latitud"].map(
        lambda v: "" if pd.isna(v) else f"{v}".replace(".", ","))
    _stops(tmp_path, deflators, 2008, tabs, "enaho01-2008-100.csv", "'latitud'",
           "'-12,05'", "coordinates", checks={"repair_decimal_comma": False})


def test_text_in_coordinates_stops(tmp_path, deflators):
    tabs = F.tables(2008)
    _text_in(tabs["100"], "longitud", H2K, "71°54'W")
    _stops(tmp_path, deflators, 2008, tabs, "year 2008", "enaho01-2008-100.csv", "'longitud'",
           "data rows [2]", "71°54'W", "max_parse_failures.coordinates allows 0")


def test_text_in_coordinates_tolerated_is_reported(tmp_path, deflators):
    tabs = F.tables(2008)
    _text_in(tabs["100"], "longitud", H2K, "71°54'W")
    F.write_year(tmp_path, 2008, tabs=tabs)
    table, _, rep = harmonise_year(tmp_path, deflators, 2008, F.centres(),
                                   checks={"max_parse_failures": {"coordinates": 1}})
    [e] = [r for r in rep["health"] if r["column"] == "longitud"]
    assert (e["item"], e["count"], e["action"]) == ("failed to parse", 1, "set missing")
    h2 = table.set_index(["conglome", "vivienda", "hogar"]).loc[("000005", "002", "11")]
    assert np.isnan(h2["longitude"]) and "100.longitud=71°54'W" in h2["unknown_codes"]


def test_text_in_expenditure_stops_by_default(tmp_path, deflators):
    tabs = F.tables(2012)
    _text_in(tabs["sumaria"], "gashog2d", H2K, "n/a")
    _stops(tmp_path, deflators, 2012, tabs, "year 2012", "sumaria-2012.dta", "'gashog2d'",
           "'n/a'", "data rows [2]", "expenditure")


def test_text_in_weight_stops(tmp_path, deflators):
    tabs = F.tables(2008)
    _text_in(tabs["sumaria"], "factor07", H5K, "sesenta")
    _stops(tmp_path, deflators, 2008, tabs, "sumaria-2008.csv", "'factor07'", "'sesenta'",
           "data rows [3]", "weights")


def test_text_in_household_key_stops(tmp_path, deflators):
    tabs = F.tables(2008)
    m = tabs["300"].astype({"vivienda": object})
    F.write_year(tmp_path, 2008, tabs=tabs)
    raw = F.quirk(m, 2008, "300", "csv")
    raw["vivienda"] = raw["vivienda"].astype(object)
    raw.loc[3, "vivienda"] = "2b"
    raw.to_csv(tmp_path / "2008" / "enaho01a-2008-300.csv", index=False)
    with pytest.raises(IngestError) as err:
        harmonise_year(tmp_path, deflators, 2008, F.centres())
    msg = str(err.value)
    # the example is the id as normalised (zero-filled to INEI's width)
    assert "enaho01a-2008-300.csv" in msg and "'vivienda'" in msg and "'02b'" in msg
    assert "data rows [4]" in msg and "keys" in msg


def test_text_in_other_column_counted_not_stopped(tmp_path, deflators, clean_2008):
    tabs = F.tables(2008)
    _text_in(tabs["100"], "p104", H5K, "uno")
    F.write_year(tmp_path, 2008, tabs=tabs)
    table, _, rep = harmonise_year(tmp_path, deflators, 2008, F.centres())
    [e] = [r for r in rep["health"] if r["column"] == "p104"]
    assert (e["count"], e["action"], e["examples"]) == (1, "set missing", "'uno'")
    assert rep["unknown_codes"]["100.p104"] == {"uno": 1}
    assert len(table) == len(clean_2008[0])


def test_centre_map_coordinates_that_fail_stop(tmp_path):
    c = F.centres().astype({"latitud": object})
    c.loc[2, "latitud"] = "13.5 S"
    path = tmp_path / "centros_poblados.csv"
    c.to_csv(path, index=False)
    with pytest.raises(IngestError) as err:
        prepare_centres(read_centres(path))
    msg = str(err.value)
    assert "centros_poblados.csv" in msg and "'latitud'" in msg and "'13.5 S'" in msg
    assert "data rows [3]" in msg


def test_georeference_centre_without_parsable_coordinates_stops():
    # before: coerced to NaN, and the register row failed later with "no name match in district"
    reg = pd.DataFrame({"id_localidad": [1], "departamento": ["CUSCO"], "ubigeo": ["080101"],
                        "codccpp": [""], "localidad": ["Santa Rosa"]})
    cen = pd.DataFrame({"codccpp": ["0801010001"], "ubigeo": ["080101"], "nomccpp": ["SANTA ROSA"],
                        "latitud": ["-13,5x"], "longitud": ["-72.0"]})
    cen.attrs["source"] = "centros_poblados.csv"
    with pytest.raises(IngestError) as err:
        georeference(reg, cen)
    assert "centros_poblados.csv" in str(err.value) and "'latitud'" in str(err.value)


def test_georeference_decimal_comma_repaired_same_as_clean():
    reg = pd.DataFrame({"id_localidad": [1, 2], "departamento": ["CUSCO"] * 2,
                        "ubigeo": ["080101"] * 2, "codccpp": ["0801010001", ""],
                        "localidad": ["", "Huaylla"]})
    clean = pd.DataFrame({"codccpp": ["0801010001", "0801010002"], "ubigeo": ["080101"] * 2,
                          "nomccpp": ["SANTA ROSA", "HUAYLLA"], "latitud": [-13.5, -13.61],
                          "longitud": [-72.0, -72.1]})
    comma = clean.astype(str)
    comma["latitud"] = ["-13,5", "-13,61"]
    h = Health()
    a, ta = georeference(reg, clean)
    b, tb = georeference(reg, comma, health=h)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(ta, tb)
    assert _items(h.rows, "repaired: decimal comma")[0]["count"] == 2


def test_deflator_value_that_fails_stops_naming_it(tmp_path, deflators):
    # before: coerced to NaN, then "no i00 for year 2012, dpto [8]" named neither row nor value
    t, s = F.deflator_tables()
    t["i00"] = t["i00"].astype(str)
    t.loc[(t["aniorec"] == 2012) & (t["dpto"] == 8), "i00"] = "1,02a"
    d = tmp_path / "defl"
    F.write_frame(t, d / "deflactores_base2012_new.dta", "dta")
    F.write_frame(s, d / "despacial_ldnew.dta", "dta")
    F.write_year(tmp_path / "enaho", 2012)
    with pytest.raises(IngestError) as err:
        harmonise_year(tmp_path / "enaho", d, 2012, F.centres())
    msg = str(err.value)
    assert "deflactores_base2012_new.dta" in msg and "'i00'" in msg and "'1,02a'" in msg


def test_sample_frame_key_with_letter_stops(tmp_path):
    path = tmp_path / "marco_muestral_2012.csv"
    path.write_text("ubigeo,grupo\n080101,corredor\n08O102,adyacente\n", encoding="utf-8")
    with pytest.raises(IngestError) as err:
        read_frame(path)
    msg = str(err.value)
    assert "marco_muestral_2012.csv" in msg and "'ubigeo'" in msg and "'08O102'" in msg


# =============================================================================================
# 2. files that read fine but hold less than they should
# =============================================================================================
@pytest.mark.parametrize("year, module, name", [
    (2012, "200", "enaho01-2012-200.dta"),
    (2010, "sumaria", "sumaria-2010.sav"),
    (2008, "2000", "enaho02-2008-2000.csv"),
])
def test_header_only_module_stops(tmp_path, deflators, year, module, name):
    tabs = F.tables(year)
    tabs[module] = tabs[module].iloc[:0]
    if year == 2008:
        F.write_year(tmp_path, year, tabs=tabs)
        with pytest.raises(IngestError) as err:
            harmonise_year(tmp_path, deflators, year, F.centres())
        msg = str(err.value)
        assert name in msg and "header only" in msg
        return
    _stops(tmp_path, deflators, year, tabs, f"year {year}", name, "no data rows (header only)")


def test_module_200_without_heads_stops(tmp_path, deflators):
    tabs = F.tables(2012)
    m = tabs["200"]
    tabs["200"] = m[~(_rows(m, H2K) | _rows(m, H5K))]  # truncated: two households' persons lost
    _stops(tmp_path, deflators, 2012, tabs, "enaho01-2012-200.dta",
           "households without a head (p203 = 1): 2 of 3", "000005 002 11", "truncated")


def test_truncated_sumaria_stops(tmp_path, deflators):
    tabs = F.tables(2009)
    tabs["sumaria"] = tabs["sumaria"].iloc[:1]  # H1 only: H2 and H5 lost
    _stops(tmp_path, deflators, 2009, tabs, "sumaria-2009.dta",
           "complete interviews (module 100 result 1-2) without a row in sumaria: 3 of 4")


def test_truncated_module_100_stops(tmp_path, deflators):
    tabs = F.tables(2012)
    m = tabs["100"]
    tabs["100"] = m[~(_rows(m, H2K) | _rows(m, H5K))]
    _stops(tmp_path, deflators, 2012, tabs, "enaho01-2012-100.dta",
           "sumaria households without a row in module 100: 2 of 3")


def test_module_300_without_heads_rows_stops(tmp_path, deflators):
    tabs = F.tables(2010)
    tabs["300"] = tabs["300"].iloc[:2]  # only H1's first two persons
    _stops(tmp_path, deflators, 2010, tabs, "enaho01a-2010-300.sav",
           "heads without a row in module 300: 2 of 3")


def test_truncated_perception_module_stops(tmp_path, deflators):
    tabs = F.tables(2011)
    tabs["01b2"] = tabs["01b2"].iloc[:1]
    _stops(tmp_path, deflators, 2011, tabs, "enaho01b-2011-2.dta",
           "households without a row in the perception module: 2 of 3")


def test_producer_module_without_the_producers_of_plots_stops(tmp_path, deflators):
    tabs = F.tables(2012)
    plots = tabs["2000a"]
    h5_plot = plots.iloc[:1].assign(conglome=H5K[0], vivienda=H5K[1], hogar=H5K[2], codperso=1)
    tabs["2000a"] = pd.concat([plots, h5_plot], ignore_index=True)  # H5 farms a plot too
    # the producer module lost H2's and H5's rows (what is left: another household's producer)
    tabs["2000"] = tabs["2000"].iloc[:1].assign(conglome=99, vivienda=7)
    _stops(tmp_path, deflators, 2012, tabs, "enaho02-2012-2000.dta",
           "households with plots or crops (modules 2000a/2100) without a row in the producer "
           "module: 2 of 2")


def test_truncated_module_500_stops(tmp_path, deflators):
    tabs = F.tables(2007)
    tabs["500"] = tabs["500"].iloc[:1]  # only H1's head: H2, H5 lost
    _stops(tmp_path, deflators, 2007, tabs, "enaho01a-2007-500.dta",
           "households with members aged 14+ without a row in module 500: 2 of 3")


def test_one_household_short_is_reported_not_stopped(tmp_path, deflators):
    tabs = F.tables(2012)
    m = tabs["01b2"]
    tabs["01b2"] = m[~_rows(m, H5K)]
    F.write_year(tmp_path, 2012, tabs=tabs)
    table, _, rep = harmonise_year(tmp_path, deflators, 2012, F.centres())
    [e] = [r for r in _items(rep["health"], "households incomplete")
           if r["file"] == "enaho01b-2012-2.dta"]
    assert (e["count"], e["action"]) == (1, "reported")
    assert e["examples"] == "000012 004 11"
    assert rep["checks"]["households_without_perception_row"] == 1 and len(table) == 3
    assert len(warnings_of(health_table(rep["health"]))) >= 1


# =============================================================================================
# 3. encodings, delimiters, mojibake
# =============================================================================================
def _centres_csv(path: Path, **to_csv) -> Path:
    c = F.centres().copy()
    c.insert(2, "nomccpp", ["CALLAO", "LA PUNTA", "SAÑO", "ÑAUPA", "HUAYLLA", "IQUITOS"])
    c.to_csv(path, index=False, **to_csv)
    return path


@pytest.fixture
def clean_centres(tmp_path):
    return read_centres(_centres_csv(tmp_path / "clean.csv", encoding="utf-8"))


@pytest.mark.parametrize("encoding, expect_note", [
    ("utf-8-sig", None), ("cp1252", "read as windows-1252 (not UTF-8)"),
    ("latin-1", "read as windows-1252 (not UTF-8)"),
])
def test_centre_map_encodings_read_the_same(tmp_path, clean_centres, encoding, expect_note):
    c = read_centres(_centres_csv(tmp_path / "c.csv", encoding=encoding))
    pd.testing.assert_frame_equal(c, clean_centres)
    items = [r["item"] for r in c.attrs["health"]]
    assert items == ([expect_note] if expect_note else [])


def test_centre_map_semicolon_decimal_comma_as_excel_saves_it(tmp_path, clean_centres):
    path = _centres_csv(tmp_path / "c.csv", sep=";", decimal=",", encoding="cp1252")
    h = Health()
    got = prepare_centres(read_centres(path), health=h)
    want = prepare_centres(clean_centres)
    pd.testing.assert_frame_equal(got, want)
    items = {r["item"] for r in h.rows}
    assert {"delimiter ';'", "read as windows-1252 (not UTF-8)", "repaired: decimal comma"} <= items


def test_register_mojibake_repaired_and_reported(tmp_path):
    reg = pd.DataFrame({"id_localidad": [1, 2], "departamento": ["JUNIN", "CUSCO"],
                        "ubigeo": ["080101", "080101"], "codccpp": ["", ""],
                        "localidad": ["Ñaupa", "La Unión"]})
    cen = pd.DataFrame({"codccpp": ["0801010001", "0801010002"], "ubigeo": ["080101"] * 2,
                        "nomccpp": ["ÑAUPA", "LA UNION"], "latitud": [-13.5, -13.6],
                        "longitud": [-72.0, -72.1]})
    clean = tmp_path / "clean.csv"
    reg.to_csv(clean, index=False, encoding="utf-8")
    bad = tmp_path / "pra2_localidades.csv"  # UTF-8 read as Windows-1252 and saved as UTF-8
    bad.write_text(clean.read_bytes().decode("cp1252"), encoding="utf-8")
    assert "Ã‘aupa" in bad.read_text(encoding="utf-8")
    a = read_csv_file(clean, "register", dtype={"ubigeo": str, "codccpp": str})
    b = read_csv_file(bad, "register", dtype={"ubigeo": str, "codccpp": str})
    pd.testing.assert_frame_equal(a, b)
    [e] = b.attrs["health"]
    assert e["file"] == "pra2_localidades.csv" and e["item"] == "repaired: mojibake"
    assert e["count"] == 2 and "Ã‘aupa→Ñaupa" in e["examples"]
    pd.testing.assert_frame_equal(georeference(a, cen)[0], georeference(b, cen)[0])
    assert (georeference(b, cen)[0]["match"] == "name").all()


def test_mojibake_with_repair_off_stops(tmp_path):
    path = tmp_path / "pra2_localidades.csv"
    path.write_text("id_localidad,localidad\n1,Ã‘aupa\n2,Huaylla\n", encoding="utf-8")
    with pytest.raises(IngestError) as err:
        read_csv_file(path, "register", checks={"repair_mojibake": False})
    msg = str(err.value)
    assert "pra2_localidades.csv" in msg and "'localidad'" in msg and "mojibake" in msg
    assert "data rows [1]" in msg and "Ã‘aupa" in msg


@pytest.mark.parametrize("text, fixed", [("CAÃ‘ETE", "CAÑETE"), ("LA UNIÃ“N", "LA UNIÓN"),
                                         ("SEÃ‘OR DE LOS MILAGROS", "SEÑOR DE LOS MILAGROS"),
                                         ("SEÑOR", None), ("AÑO 2000", None)])
def test_unmojibake(text, fixed):
    assert unmojibake(text) == fixed


def test_enaho_csv_year_latin1_semicolon_decimal_comma(tmp_path, deflators, clean_2008):
    # the whole CSV year re-saved by a Spanish-locale spreadsheet: ';', decimal comma, cp1252
    F.write_year(tmp_path, 2008)
    for module, df in F.tables(2008).items():
        _csv_module(tmp_path, module, df, sep=";", decimal=",", encoding="cp1252")
    table, led, rep = harmonise_year(tmp_path, deflators, 2008, F.centres())
    pd.testing.assert_frame_equal(table, clean_2008[0])
    pd.testing.assert_frame_equal(led, clean_2008[1])
    items = {(r["file"], r["item"]) for r in rep["health"]}
    assert ("enaho01-2008-100.csv", "delimiter ';'") in items
    assert ("sumaria-2008.csv", "repaired: decimal comma") in items


def test_sample_frame_latin1_semicolon(tmp_path):
    path = tmp_path / "marco_muestral_2012.csv"
    path.write_bytes("ubigeo;grupo;provincia\n080101;corredor;ANTA\n080102;adyacente;CAÑETE\n"
                     .encode("cp1252"))
    f = read_frame(path)
    assert f["ubigeo"].tolist() == ["080101", "080102"]
    assert f["grupo"].tolist() == ["corredor", "adyacente"]
    assert {r["item"] for r in f.attrs["health"]} == {"delimiter ';'",
                                                     "read as windows-1252 (not UTF-8)"}


# =============================================================================================
# 4. readers say what is wrong with a file
# =============================================================================================
def test_empty_csv_named(tmp_path):
    path = tmp_path / "centros_poblados.csv"
    path.write_bytes(b"")
    with pytest.raises(IngestError, match=r"populated-centre map .*centros_poblados.csv: the file "
                                          r"is empty"):
        read_centres(path)


def test_stata_file_named_csv(tmp_path):
    path = F.write_frame(F.centres(), tmp_path / "centros_poblados.csv", "dta")
    with pytest.raises(IngestError, match=r"centros_poblados.csv: not a text \(CSV\) file"):
        read_centres(path)


def test_ragged_csv_named(tmp_path):
    path = tmp_path / "marco_muestral_2012.csv"
    path.write_text("ubigeo,grupo\n080101,corredor\n080102,adyacente,extra,x\n", encoding="utf-8")
    with pytest.raises(IngestError) as err:
        read_frame(path)
    assert "marco_muestral_2012.csv" in str(err.value) and "cannot parse it as CSV" in str(err.value)


def _dta(tmp_path) -> Path:
    return F.write_frame(F.quirk(F.tables(2012)["sumaria"], 2012, "sumaria", "dta"),
                         tmp_path / "sumaria-2012.dta", "dta")


@pytest.mark.parametrize("damage, expected", [
    ("empty", "the file is empty (0 bytes)"),
    ("truncated", "a Stata file, truncated or damaged"),
    ("csv", "it holds text, not a binary file (a CSV file with the wrong extension?)"),
    ("sav", "it is an SPSS file (name it .sav)"),
    ("zip", "it is a zip archive"),
])
def test_damaged_stata_file_named(tmp_path, damage, expected):
    path = _dta(tmp_path)
    if damage == "empty":
        path.write_bytes(b"")
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:200])
    elif damage == "csv":
        path.write_text("conglome,vivienda\n1,2\n", encoding="utf-8")
    elif damage == "sav":
        F.write_frame(F.tables(2012)["sumaria"], tmp_path / "x.sav", "sav")
        path.write_bytes((tmp_path / "x.sav").read_bytes())
    elif damage == "zip":
        import zipfile
        with zipfile.ZipFile(tmp_path / "x.zip", "w") as zf:
            zf.writestr("a.txt", "x")
        path.write_bytes((tmp_path / "x.zip").read_bytes())
    with pytest.raises(IngestError) as err:
        read_module(path)
    msg = str(err.value)
    assert "sumaria-2012.dta" in msg and "cannot read it as a Stata file" in msg and expected in msg


def test_damaged_spss_file_named(tmp_path):
    path = tmp_path / "sumaria-2010.sav"
    path.write_bytes(b"$FL2@(#) SPSS DATA FILE" + b"\x00" * 40)
    with pytest.raises(IngestError) as err:
        read_meta(path)
    assert "sumaria-2010.sav" in str(err.value) and "SPSS file" in str(err.value)


# =============================================================================================
# 5. the data-health table
# =============================================================================================
def test_health_table_of_a_clean_year(clean_2008):
    t = health_table(clean_2008[2]["health"])
    read = t[t["item"] == "rows read"].set_index("file")["count"]
    assert read["sumaria-2008.csv"] == 3 and read["enaho01-2008-100.csv"] == 5
    assert read["centros_poblados.csv" if "centros_poblados.csv" in read else
                "populated-centre map"] == len(F.centres())
    dropped = t[t["item"].str.startswith("households dropped")].set_index("item")
    assert dropped.loc["households dropped: non-response (result=3)", "action"] == "by design"
    assert dropped.loc["households dropped: complete interview not in sumaria", "count"] == 1
    # only the fixture's complete interview without sumaria is a warning (non-response is not)
    w = warnings_of(t)
    assert w["item"].tolist() == ["households dropped: complete interview not in sumaria",
                                  "households incomplete: complete interviews (module 100 "
                                  "result 1-2) without a row in sumaria"]
    assert (t["year"] == 2008).all()


def test_health_warnings_logged(caplog):
    h = Health(2009)
    h.rows_read("a.csv", 10)
    h.add("a.csv", "latitud", "repaired: decimal comma", 2, ["-1,5→-1.5"], "repaired")
    h.add("a.csv", "", "households dropped: non-response (result=3)", 4, action="by design")
    with caplog.at_level("WARNING"):
        assert h.warn() == 1
    assert "a.csv, column latitud: repaired: decimal comma: 2" in caplog.text
    assert "non-response" not in caplog.text


def test_health_summary_in_the_results_index():
    from pra.report.index import health_summary

    h = Health(2008)
    h.rows_read("centros_poblados.csv", 6)
    h.add("enaho01-2008-100.csv", "latitud", "repaired: decimal comma", 3, ["-12,05→-12.05"],
          "repaired")
    t = health_table(h.rows + [dict(r, year=2009) for r in h.rows[:1]])
    text = "\n".join(health_summary(t))
    assert "6 rows read from 1 files; 1 entry above zero" in text  # the map counted once
    assert "| 2008 | enaho01-2008-100.csv | latitud | repaired: decimal comma | 3 | repaired |" in text


def test_config_checks_defaults_are_the_library_defaults():
    import pra.config as pc

    cfg = pc.load()
    assert cfg["data"]["checks"] == DEFAULT_CHECKS
    raw = pc.deep_merge(pc.load(), {})
    del raw["data"]["checks"]
    assert merge_checks(pc.validate(raw)["data"].get("checks")) == DEFAULT_CHECKS


@pytest.mark.parametrize("override, key", [
    ({"max_missing_share": 2}, "data.checks.max_missing_share"),
    ({"max_parse_failures": {"coordinates": -1}}, "data.checks.max_parse_failures.coordinates"),
    ({"max_parse_failures": {"weight": 0}}, "data.checks.max_parse_failures"),
    ({"repair_mojibake": "yes"}, "data.checks.repair_mojibake"),
])
def test_config_checks_bad_values_name_the_key(override, key):
    import pra.config as pc

    with pytest.raises(pc.ConfigError) as err:
        pc.load(overrides={"data": {"checks": override}})
    assert key in str(err.value)


# =============================================================================================
# 6. the workflow: a repaired year is green with warnings; a short year stops, leaving nothing
# =============================================================================================
@pytest.mark.workflow
def test_workflow_repairs_one_year_and_stops_another(tmp_path, deflators, clean_2008):
    data = tmp_path / "data"
    for y in range(2007, 2013):
        F.write_year(data / "enaho", y)
    F.write_deflators(data / "enaho" / "2012")
    _centres_csv(data / "centros_poblados.csv", sep=";", decimal=",", encoding="cp1252")
    for module, df in F.tables(2008).items():  # 2008 re-saved by a Spanish-locale spreadsheet
        _csv_module(data / "enaho", module, df, sep=";", decimal=",", encoding="cp1252")
    tabs = F.tables(2010)  # 2010: module 200 lost two households' rows
    m = tabs["200"]
    tabs["200"] = m[~(_rows(m, H2K) | _rows(m, H5K))]
    F.write_year(data / "enaho", 2010, tabs=tabs)
    files = {"enaho_dir": str(data / "enaho"), "deflator_dir": str(data / "enaho" / "2012"),
             "centres": str(data / "centros_poblados.csv")}
    for k in ("register", "programme_survey", "sample_frame"):  # not read by these targets
        files[k] = str(data / f"{k}.csv")
    cfg = tmp_path / "files.yaml"
    cfg.write_text(yaml.safe_dump({"data": {"source": "files", "files": files}}), encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    targets = ["results/harmonised/enaho_2008.parquet", "results/harmonised/enaho_2010.parquet"]
    proc = snakemake(work, "--cores", "1", "--keep-going", *targets,
                     configfiles=(TEST_CONFIG, cfg), check=False, timeout=300)
    assert proc.returncode != 0
    log10 = (work / "logs" / "harmonise_2010.log").read_text(encoding="utf-8")
    assert "enaho01-2010-200.sav" in log10 and "households without a head" in log10
    left = sorted(p.name for p in (work / "results").rglob("*") if "2010" in p.name)
    assert left == [], left
    from pra.io import write_parquet_atomic

    write_parquet_atomic(clean_2008[0], tmp_path / "clean_2008.parquet")  # as the rule writes it
    got = pd.read_parquet(work / "results/harmonised/enaho_2008.parquet")
    pd.testing.assert_frame_equal(got, pd.read_parquet(tmp_path / "clean_2008.parquet"))
    log08 = (work / "logs" / "harmonise_2008.log").read_text(encoding="utf-8")
    assert "WARNING" in log08 and "enaho01-2008-100.csv" in log08 and "delimiter ';'" not in log08
    assert "read as windows-1252" in log08 and "repaired: decimal comma" in log08
    rep = json.loads((work / "results/harmonised/report_2008.json").read_text(encoding="utf-8"))
    assert _items(rep["health"], "repaired: decimal comma")


CATALOGUE = [  # (test, cases): the cases of each test in this file
    (test_number_repaired_by_documented_rule, 7),
    (test_number_ambiguous_or_impossible_is_a_failure, 2),
    (test_ambiguous_expenditure_stops_the_run_naming_it, 1),
    (test_decimal_comma_coordinates_in_enaho_csv_repaired, 1),
    (test_decimal_comma_repair_switched_off_stops, 1),
    (test_text_in_coordinates_stops, 1), (test_text_in_coordinates_tolerated_is_reported, 1),
    (test_text_in_expenditure_stops_by_default, 1), (test_text_in_weight_stops, 1),
    (test_text_in_household_key_stops, 1), (test_text_in_other_column_counted_not_stopped, 1),
    (test_centre_map_coordinates_that_fail_stop, 1),
    (test_georeference_centre_without_parsable_coordinates_stops, 1),
    (test_georeference_decimal_comma_repaired_same_as_clean, 1),
    (test_sample_frame_key_with_letter_stops, 1),
    (test_deflator_value_that_fails_stops_naming_it, 1),
    (test_header_only_module_stops, 3), (test_module_200_without_heads_stops, 1),
    (test_truncated_sumaria_stops, 1), (test_truncated_module_100_stops, 1),
    (test_module_300_without_heads_rows_stops, 1), (test_truncated_perception_module_stops, 1),
    (test_producer_module_without_the_producers_of_plots_stops, 1),
    (test_truncated_module_500_stops, 1), (test_one_household_short_is_reported_not_stopped, 1),
    (test_centre_map_encodings_read_the_same, 3),
    (test_centre_map_semicolon_decimal_comma_as_excel_saves_it, 1),
    (test_register_mojibake_repaired_and_reported, 1), (test_mojibake_with_repair_off_stops, 1),
    (test_enaho_csv_year_latin1_semicolon_decimal_comma, 1),
    (test_sample_frame_latin1_semicolon, 1), (test_empty_csv_named, 1),
    (test_stata_file_named_csv, 1), (test_ragged_csv_named, 1),
    (test_damaged_stata_file_named, 5), (test_damaged_spss_file_named, 1),
    (test_config_checks_bad_values_name_the_key, 4),
    (test_workflow_repairs_one_year_and_stops_another, 1),
]


def test_catalogue_size():
    # issue 16: this file's share of the >= 60 cases (readers: classes 1-3 and the messages)
    names = [f.__name__ for f, _ in CATALOGUE]
    assert len(set(names)) == len(names)
    assert sum(n for _, n in CATALOGUE) >= 30
