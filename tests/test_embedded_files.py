"""The embedded data's FILES: the Stata 7 writer and every format quirk of the written tree.

Two sources feed the same checks: small stand-in builders defined here (always run; they give
the writers every column type of contract §1.1) and, when importable, the package's real
``build_geography`` / ``build_households`` at scale 0.1.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from pra.embedded.geography import Geography
import pyreadstat
import pytest

from pra.embedded import layout
from pra.embedded import synthesize as synth
from pra.embedded.stata7 import Stata7Error, write_dta110

HERE = Path(__file__).resolve().parent
YEARS = layout.YEARS
MODULES = [m for m, _ in layout.MODULES]


# ------------------------------------------------------------------------------------------
# stand-in builders (same signatures and fields as contract §2.1-2.2)
# ------------------------------------------------------------------------------------------
@dataclass
class FakeHH:
    modules: dict
    deflators: pd.DataFrame
    spatial_deflator: pd.DataFrame
    programme_survey: pd.DataFrame
    truth: pd.DataFrame
    params: dict = field(default_factory=dict)


def fake_geography(scale, rng):
    n_cong = max(3, int(round(40 * scale)))
    ubigeos = ["010101", "080601", "150101"]
    centres = pd.DataFrame({
        "codccpp": [f"{u}{i:04d}" for u in ubigeos for i in range(1, 5)],
        "ubigeo": [u for u in ubigeos for _ in range(4)],
        "departamento": [d for d in ("AMAZONAS", "CUSCO", "LIMA") for _ in range(4)],
        "provincia": "P", "distrito": "D",
        "nomccpp": [f"PIÑA {i}" for i in range(12)],
        "latitud": rng.uniform(-15, -5, 12), "longitud": rng.uniform(-78, -70, 12),
        "altitud": rng.integers(0, 4500, 12), "hogares_2007": rng.integers(5, 500, 12),
        "poblacion_2007": rng.integers(20, 2000, 12),
    })
    register = pd.DataFrame({
        "id_localidad": [1, 2, 3], "departamento": ["CUSCO", "CUSCO", "LIMA"],
        "provincia": "P", "distrito": "D", "ubigeo": ["080601", "080601", "150101"],
        "codccpp": ["0806010001", "", ""], "localidad": ["X", "CC.PP. Piña 2", "NADA"],
        "cadena": ["papa", "leche", "cuy"]})
    register_truth = pd.DataFrame({
        "id_localidad": [1, 2, 2, 3], "status": ["code", "ambiguous", "ambiguous", "unmatched"],
        "codccpp_true": ["0806010001", "0806010002", "0806010003", ""]})
    cong = pd.DataFrame({
        "conglome": np.arange(1, n_cong + 1) * 37, "ubigeo": rng.choice(ubigeos, n_cong),
        "dist_km": rng.uniform(0, 40, n_cong)})
    frame = pd.DataFrame({"ubigeo": ["080601"], "departamento": ["CUSCO"], "provincia": ["P"],
                          "distrito": ["D"], "grupo": ["corredor"]})
    return Geography(scale, pd.DataFrame({"ubigeo": ubigeos}), centres, register, register_truth,
                     centres.head(2)[["codccpp", "latitud", "longitud"]], frame, cong)


def fake_households(geo, scale, rng):
    cong = geo.conglomerates
    modules = {}
    truth = []
    for year in YEARS:
        hh = cong.loc[cong.index.repeat(2)].reset_index(drop=True)
        n = len(hh)
        hh["vivienda"] = np.tile([1, 12], len(cong))
        hh["hogar"] = 11
        hh["year"] = year
        keys = ["year", "conglome", "vivienda", "hogar"]
        base = hh[keys + ["ubigeo"]].copy()
        mes = rng.integers(1, 13, n)
        s = base.assign(dominio=rng.integers(1, 9, n), estrato=rng.integers(1, 9, n),
                        mieperho=rng.integers(1, 9, n), totmieho=rng.integers(1, 9, n),
                        gashog2d=rng.uniform(1000, 40000, n), inghog1d=rng.uniform(500, 50000, n),
                        pobreza=rng.integers(1, 4, n), factor07=rng.uniform(10, 300, n))
        if year >= 2009:
            s["gashog1d"] = rng.uniform(500, 9000, n)
        suffix = "09" if year == 2011 else ""
        s["linea" + suffix], s["linpe" + suffix] = rng.uniform(150, 300, n), rng.uniform(80, 150, n)
        if year == 2012:
            s["ld"] = rng.uniform(0.8, 1.2, n)
        modules[(year, "sumaria")] = s
        m100 = base.assign(mes=mes, dominio=s["dominio"], estrato=s["estrato"],
                           result=rng.integers(1, 8, n), p101=1, p102=rng.integers(1, 10, n),
                           p103=rng.integers(1, 8, n), p103a=rng.integers(1, 9, n),
                           p104=rng.integers(1, 5, n), p110=rng.integers(1, 8, n),
                           p1121=rng.integers(0, 2, n), p113a=rng.integers(1, 9, n),
                           nomccpp="PIÑA", latitud=rng.uniform(-15, -5, n),
                           longitud=rng.uniform(-78, -70, n), factor07=s["factor07"])
        m100["p102"] = m100["p102"].astype(float)
        m100.loc[0, "p102"] = np.nan  # a missing code
        m100[("p111a" if year == 2012 else "p111")] = rng.integers(1, 7, n)
        if year <= 2011:
            m100["codccpp"] = "0001"
        if year >= 2010:
            m100["altitud"] = rng.integers(0, 4500, n)
        modules[(year, "100")] = m100
        pers = hh.loc[hh.index.repeat(2), keys + ["ubigeo"]].reset_index(drop=True)
        pers["codperso"] = np.tile([1, 2], n)
        k = len(pers)
        born_here = rng.random(k) < 0.7
        w = "facpob07" if year == 2012 else "factor07"
        modules[(year, "200")] = pers.assign(
            p203=np.tile([1, 3], n), p204=1, p205=2, p206=np.nan, p207=rng.integers(1, 3, k),
            p208a=rng.integers(0, 90, k), p208a1=np.where(born_here, 1, 0),
            p208a2=np.where(born_here, np.nan, rng.choice([80601, 150101, 4002], k)),
            p209=rng.integers(1, 7, k), **{w: rng.uniform(10, 300, k)})
        modules[(year, "300")] = pers.assign(p300a=rng.integers(1, 5, k),
                                             p301a=rng.integers(1, 12, k),
                                             **{w: rng.uniform(10, 300, k)})
        modules[(year, "500")] = pers.assign(ocu500=1, p507=rng.integers(1, 8, k),
                                             p506=rng.choice([111, 1520, 5211], k),
                                             **{("fac500a" if year == 2012 else "fac500a07"):
                                                rng.uniform(10, 300, k)})
        heads = pers[pers["codperso"] == 1].reset_index(drop=True)
        modules[(year, "2000")] = heads.drop(columns="ubigeo").assign(
            p20001a=1, p20001b=2, p20001c=0, p20002=1, p20002c=2, factora07=rng.uniform(10, 300, n))
        plots = heads.drop(columns="ubigeo").loc[heads.index.repeat(2)].reset_index(drop=True)
        modules[(year, "2000a")] = plots.assign(
            p2005a=np.tile([1, 2], n), p2005b=rng.uniform(0, 5, 2 * n).round(3),
            p2005e=rng.integers(1, 11, 2 * n), p2005f2=0, p2005f3=1)
        modules[(year, "2100")] = heads.drop(columns="ubigeo").assign(
            p2100a=1, p21002b=rng.integers(0, 900, n), p21002f=rng.integers(0, 900, n),
            p21002n=rng.integers(2000, 9000, n), factora07=rng.uniform(10, 300, n))
        p = heads.drop(columns="ubigeo").assign(dominio=s["dominio"], estrato=s["estrato"],
                                                p32=rng.integers(1, 5, n),
                                                p37=rng.integers(1, 5, n))
        if year <= 2011:
            p["p39a"] = rng.integers(1, 5, n)
            p["factor07"] = rng.uniform(10, 300, n)
        else:
            p["p39b1"] = rng.integers(1, 11, n).astype(float)
            p["p39b2"] = np.nan
            p.loc[0, ["p39b1", "p39b2"]] = [np.nan, 1]  # no sabe / no responde
            p["factor"] = rng.uniform(10, 300, n)
        modules[(year, "01b-2")] = p
        t = hh[keys + ["dist_km"]].copy()
        t["hh_type"] = rng.choice(["producer", "laborer"], n)
        t["interview"] = 1
        truth.append(t)
    defl = pd.DataFrame([(y, d) for y in range(2004, 2013) for d in range(1, 26) if d != 7],
                        columns=["year", "dpto"])
    for i in range(9):
        defl[f"i{i:02d}"] = rng.uniform(0.7, 1.1, len(defl))
    spatial = pd.DataFrame({"dominioa": np.arange(1, 18), "ld": rng.uniform(0.7, 1.2, 17)})
    survey = pd.DataFrame({"conglome": [1, 2], "grupo": ["corredor", "adyacente"],
                           "gasto": rng.uniform(100, 900, 2)})
    params = {"radius_km": 10.0, "effect_mean": 0.043, "by_year": {2007: 1.0, 2012: 2.0},
              "cuts": (200, 2000), "n": np.int64(5)}
    return FakeHH(modules, defl, spatial, survey, pd.concat(truth, ignore_index=True), params)


FAKE_SCALE = 0.1


def _real_builders():
    from pra.embedded.geography import build_geography
    from pra.embedded.households import build_households

    return build_geography, build_households


def _hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


# the real builders run at the seed of conftest.py's embedded_tree, which is synthesize's output
# for that seed with the real builders' draws (embedded_geography, embedded_households): the real
# tree is that one, not written twice (the byte-identity test below draws it afresh in a child
# process)
SEEDS = {"standin": 11, "real": 20140601}


@pytest.fixture(scope="module")
def standin_tree(tmp_path_factory):
    """The stand-ins' tree at FAKE_SCALE and seed SEEDS["standin"] (read only: the tests that
    need a written stand-in tree of some seed share it)."""
    built = {}

    def hh_recording(geo, scale, rng):  # keep what the builder planted, for the truth check
        built["hh"] = fake_households(geo, scale, rng)
        return built["hh"]

    out = tmp_path_factory.mktemp("emb_standin") / "embedded"
    truth = synth.synthesize(out, scale=FAKE_SCALE, seed=SEEDS["standin"],
                             build_geography=fake_geography, build_households=hh_recording)
    return out, truth, built["hh"].params


@pytest.fixture(scope="module", params=["standin", "real"])
def tree(request):
    if request.param == "real":
        out = request.getfixturevalue("embedded_tree")
        truth = request.getfixturevalue("embedded_truth")
        assert truth["scale"] == 0.1 and truth["seed"] == SEEDS["real"]
        return "real", out, truth, request.getfixturevalue("embedded_households").params
    return ("standin", *request.getfixturevalue("standin_tree"))


# ------------------------------------------------------------------------------------------
# Stata 7 writer
# ------------------------------------------------------------------------------------------
def _frame():
    return pd.DataFrame({
        "aÑo": ["2007"] * 4,
        "conglome": ["   5", "0012", " 123", "9999"],
        "p102": [1.0, 3.0, np.nan, 9.0],
        "big": pd.array([1, 30000, None, -5], dtype="Int64"),
        "huge": [1, 2**31 - 2, 0, -(2**31 - 1)],
        "x": [1.5, np.nan, -2.25, 1e300],
        "f32": np.array([1.5, 2, 3, np.nan], dtype="float32"),
        "nomccpp": ["Ñuñoa ", "", None, "a" * 80],
        "neg": [-127, 126, 0, 5],
        "flag": [True, False, True, False],
    })


def test_stata7_round_trip(tmp_path):
    df = _frame()
    path = tmp_path / "t.dta"
    write_dta110(df, path, variable_labels={"p102": "material de las paredes"},
                 value_labels={"p102": {1: "ladrillo", 3: "adobe", 9: "otro"}},
                 data_label="prueba")
    raw = path.read_bytes()
    # header: format 110, LOHI, filetype 1, nvar, nobs
    assert struct.unpack("<BBBBHI", raw[:10]) == (110, 2, 1, 0, df.shape[1], len(df))
    typlist = raw[10 + 81 + 18: 10 + 81 + 18 + df.shape[1]]
    # old-format type codes ('b','i','l','f','d'; strN = 0x7F+N), smallest integer type
    assert list(typlist) == [0x7F + 4, 0x7F + 4, ord("b"), ord("i"), ord("l"), ord("d"),
                             ord("f"), 0x7F + 80, ord("b"), ord("b")]
    assert b"a\xd1o\x00" in raw  # the latin-1 variable name

    got, meta = pyreadstat.read_dta(str(path), encoding="latin1")
    assert list(got.columns) == list(df.columns)
    assert got["aÑo"].tolist() == ["2007"] * 4
    assert got["conglome"].tolist() == ["   5", "0012", " 123", "9999"]  # padding kept
    assert got["nomccpp"].tolist() == ["Ñuñoa ", "", "", "a" * 80]
    np.testing.assert_array_equal(got["p102"].astype(float), [1, 3, np.nan, 9])
    np.testing.assert_array_equal(got["big"].astype(float), [1, 30000, np.nan, -5])
    np.testing.assert_array_equal(got["huge"], df["huge"])
    np.testing.assert_array_equal(got["x"], df["x"])
    np.testing.assert_array_equal(got["f32"], df["f32"])
    np.testing.assert_array_equal(got["neg"], df["neg"])
    assert meta.variable_value_labels == {"p102": {1: "ladrillo", 3: "adobe", 9: "otro"}}
    assert meta.column_names_to_labels["p102"] == "material de las paredes"
    assert meta.file_label == "prueba"
    assert meta.original_variable_types["conglome"] == "%4s"
    assert meta.readstat_variable_types["p102"] == "int8"


def test_stata7_pandas_reader(tmp_path):
    """pandas before 3.0 rejects format 110 (the real-world quirk: pandas-dev/pandas#47176);
    pandas 3.0 added a 110 reader (PR #58044), which then serves as a second, independent
    check of the bytes."""
    df = _frame()
    path = tmp_path / "t.dta"
    write_dta110(df, path, value_labels={"p102": {1: "ladrillo", 3: "adobe"}})
    if int(pd.__version__.split(".")[0]) < 3:
        with pytest.raises(ValueError, match="110"):
            pd.read_stata(path)
        return
    with pd.io.stata.StataReader(path) as rd:
        got = rd.read(convert_categoricals=False)
        labels = rd.value_labels()
        assert rd.time_stamp == "01 Jan 2013 00:00"
    assert list(got.columns) == list(df.columns)
    assert got["conglome"].tolist() == df["conglome"].tolist()
    np.testing.assert_array_equal(got["huge"], df["huge"])
    np.testing.assert_array_equal(got["p102"].astype(float), [1, 3, np.nan, 9])
    assert {int(k): v for k, v in labels["p102"].items()} == {1: "ladrillo", 3: "adobe"}


@pytest.mark.parametrize("bad, match", [
    (pd.DataFrame({"s": ["x" * 81]}), "str80"),
    (pd.DataFrame({"s": ["Ω"]}), "latin-1"),
    (pd.DataFrame({"n" * 33: [1]}), "longer than 32"),
    (pd.DataFrame({"s": ["a", 1]}), "mixes text"),
])
def test_stata7_rejects_bad_input(tmp_path, bad, match):
    with pytest.raises(Stata7Error, match=match):
        write_dta110(bad, tmp_path / "bad.dta")


def test_stata7_forced_type_out_of_range(tmp_path):
    with pytest.raises(Stata7Error, match="outside byte"):
        write_dta110(pd.DataFrame({"v": [1, 127]}), tmp_path / "b.dta", types={"v": "byte"})


# ------------------------------------------------------------------------------------------
# the written tree
# ------------------------------------------------------------------------------------------
def _module_path(root: Path, year: int, module: str) -> Path:
    """The module file; for a year shipped as INEI zips, its member unpacked beside the tree."""
    if year not in layout.ARCHIVE_YEARS:
        return root / layout.module_file(year, module)
    import zipfile

    zip_rel, member = layout.archive_member(year, module)
    out = root.parent / "unpacked" / member
    if not out.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(root / zip_rel) as zf:
            out.write_bytes(zf.read(member))
    return out


_READ: dict = {}


def _read(root: Path, year: int, module: str) -> tuple[pd.DataFrame, object]:
    """The module file as its format's reader returns it, with the reader's metadata. Each file
    is read once per run (the trees are read only; several tests check each file); every call
    gets its own copy of the frame (callers rename its columns)."""
    key = (str(root), year, module)
    if key not in _READ:
        _READ[key] = _read_file(root, year, module)
    df, meta = _READ[key]
    return df.copy(), meta


def _read_file(root: Path, year: int, module: str) -> tuple[pd.DataFrame, object]:
    path = _module_path(root, year, module)
    fmt = layout.FORMAT[year]
    if fmt == "dta110":
        return pyreadstat.read_dta(str(path), encoding="latin1")
    if fmt == "dta":
        return pyreadstat.read_dta(str(path))
    if fmt == "sav":
        return pyreadstat.read_sav(str(path))
    return pd.read_csv(path, encoding="utf-8", dtype={"codccpp": str}), None


def test_tree_complete(tree):
    kind, root, truth, params = tree
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) == \
        sorted(layout.all_files())
    assert (root / "enaho/2010/Enaho01B-2010-2.sav").is_file()
    assert not list(root.parent.glob(".embedded.*"))  # no temporary siblings left


def test_file_formats(tree):
    _, root, _, _ = tree
    for year in YEARS:
        for module in MODULES:
            raw = _module_path(root, year, module).read_bytes()[:64]
            fmt = layout.FORMAT[year]
            if fmt == "dta110":
                assert raw[:2] == bytes([110, 2]), (year, module)
            elif fmt == "dta":
                assert raw.startswith(b"<stata_dta><header><release>118</release>")
            elif fmt == "sav":
                assert raw[:4] == b"$FL2"
            else:
                raw.decode("utf-8")


def _canonical(df: pd.DataFrame, year: int, module: str) -> pd.DataFrame:
    """Lower-case names (the .sav upper-cases them), the year column as INEI spells it."""
    ycol = synth.year_column(year, module)
    df = df.copy()
    df.columns = [ycol if c.upper() == ycol.upper() else c.lower() for c in df.columns]
    return df


def test_year_column_and_ids(tree):
    _, root, _, _ = tree
    for year in YEARS:
        for module in MODULES:
            df, meta = _read(root, year, module)
            where = (year, module)
            fmt = layout.FORMAT[year]
            ycol = synth.year_column(year, module)
            if fmt == "sav":
                assert all(c == c.upper() for c in df.columns), where
                assert df.columns[0] == ycol.upper() == "AÑO", where
            df = _canonical(df, year, module)
            assert df.columns[0] == ycol, where
            if year == 2009 and module == "500":
                assert ycol == "año"
            elif year == 2011 and module in ("2000", "2000a", "2100", "01b-2"):
                assert ycol == "a_o"
            else:
                assert ycol == "aÑo"
            if fmt == "csv":
                assert pd.api.types.is_integer_dtype(df[ycol]) and (df[ycol] == year).all()
                for c in ("conglome", "vivienda", "hogar"):
                    assert pd.api.types.is_integer_dtype(df[c]), (where, c)
                continue
            assert (df[ycol] == str(year)).all(), where
            ids = ["conglome", "vivienda", "hogar"] + (["codperso"] if "codperso" in df else [])
            numeric = fmt == "sav" and year in synth.NUMERIC_IDS.get(module, ())
            for c in ids + ["ubigeo"] * ("ubigeo" in df):
                v = df[c]
                if numeric:  # the dictionary's type N, in the format the dictionary describes
                    assert _numbers(v), (where, c)
                    continue
                # zero-padded text of INEI's widths: '0012', '001', '11', '01'
                width = {"conglome": 4, "vivienda": 3, "hogar": 2, "codperso": 2, "ubigeo": 6}[c]
                assert v.map(lambda s: isinstance(s, str)).all(), (where, c)
                assert (v.str.len() == width).all() and v.str.isdigit().all(), (where, c)
            if "mes" in df:
                assert df["mes"].str.fullmatch(r"\d{2}").all(), where


def test_conglome_within_inei_width(tree):
    """At scale <= 1 every conglome fits INEI's 4 digits (the dictionaries: CONGLOME 4)."""
    _, root, _, _ = tree
    df, _ = _read(root, 2007, "sumaria")
    assert df["conglome"].str.len().max() == 4


INEI = pd.read_csv(HERE / "data" / "inei_columns.csv", dtype=str, keep_default_na=False)


@functools.cache
def _inei(year: int, module: str) -> pd.DataFrame:
    """INEI's columns of the real file of (year, module), keyed by lower-case name (read only)."""
    stem = dict(layout.MODULES)[module].replace("YYYY", str(year)).lower()
    rows = INEI[(INEI["year"] == str(year)) & (INEI["file"] == stem)]
    assert len(rows), (year, module, stem)
    return rows.set_index("column")


def test_columns_exist_in_inei_files(tree):
    """Every embedded ENAHO file: no column that INEI's real file of that year lacks."""
    _, root, _, _ = tree
    for year in YEARS:
        for module in MODULES:
            df = _canonical(_read(root, year, module)[0], year, module)
            real = _inei(year, module)
            cols = ["año" if c == synth.year_column(year, module) else c for c in df.columns]
            extra = sorted(set(cols) - set(real.index))
            assert not extra, f"{layout.module_file(year, module)}: not in INEI's file: {extra}"


# .dta storage that differs from the dictionaries' type, as INEI's .dta files have it
DTA_TEXT = {"conglome", "vivienda", "hogar", "codperso", "ubigeo"}


def _numbers(s: pd.Series) -> bool:
    """Stored as numbers (pyreadstat gives integer columns with missing values as object
    columns of numbers and NaN)."""
    if pd.api.types.is_numeric_dtype(s):
        return True
    v = s.dropna()
    return bool(v.map(lambda x: isinstance(x, (int, float, np.integer, np.floating))).all())


def _dta_text_exception(year: int, module: str, col: str) -> bool:
    return (col in DTA_TEXT or (col == "p208a2" and year >= 2008)
            or (col == "latitud" and year == 2011)
            or (module == "01b-2" and year == 2012 and col in ("dominio", "estrato")))


def test_types_and_widths_follow_the_dictionaries(tree):
    """The .sav file (the format the dictionaries describe) has each column's dictionary type;
    the .dta files too, except the text storage INEI's .dta files use (ids, ubigeo, p208a2
    2008-2012, latitud 2011, dominio/estrato in the 2012 perception file). Text never exceeds
    the dictionary's width."""
    _, root, _, _ = tree
    for year in YEARS:
        fmt = layout.FORMAT[year]
        if fmt == "csv":
            continue
        for module in MODULES:
            df = _canonical(_read(root, year, module)[0], year, module)
            real = _inei(year, module)
            for col in df.columns:
                name = "año" if col == synth.year_column(year, module) else col
                typ, width = real.loc[name, "type"], real.loc[name, "width"]
                text = df[col].map(lambda v: isinstance(v, str)).all()
                where = (year, module, col)
                if typ == "C":
                    assert text, where
                    if width:
                        assert df[col].str.len().max() <= int(width), where
                elif typ == "N":
                    if fmt == "sav" or not _dta_text_exception(year, module, col):
                        assert _numbers(df[col]), where
                    else:
                        assert text, where


def test_type_quirks(tree):
    _, root, _, _ = tree
    for year in YEARS:
        m100, _ = _read(root, year, "100")
        m100.columns = [c.lower() for c in m100.columns]
        lat_text = m100["latitud"].map(lambda s: isinstance(s, str)).all()
        assert lat_text == (year == 2011), year
        if year == 2011:
            assert pd.to_numeric(m100["latitud"]).between(-19, 0).all()
        if year <= 2011:  # the centre code within the district: 4 characters, '0001' ...
            cc = m100["codccpp"].astype(str)
            assert cc.str.fullmatch(r"\d{4}").all(), year
        else:
            assert "codccpp" not in m100
        m200, _ = _read(root, year, "200")
        m200.columns = [c.lower() for c in m200.columns]
        born_here = m200["p208a1"] == 1
        assert set(m200["p208a1"]) <= {0, 1} and born_here.any() and (~born_here).any()
        if year == 2007 or layout.FORMAT[year] == "sav":
            assert _numbers(m200["p208a2"])
            assert m200.loc[born_here, "p208a2"].isna().all()
            assert m200.loc[~born_here, "p208a2"].notna().all()
        elif year != 2008:  # CSV has no types
            assert m200["p208a2"].map(lambda s: isinstance(s, str)).all(), year
            assert (m200.loc[born_here, "p208a2"] == "").all()
            assert (m200.loc[~born_here, "p208a2"] != "").all()
        p, _ = _read(root, year, "01b-2")
        p.columns = [c.lower() for c in p.columns]
        for c in ("dominio", "estrato"):
            is_text = p[c].map(lambda s: isinstance(s, str)).all()
            assert is_text == (year == 2012), (year, c)
            if year == 2012:
                assert (p[c].str.len() == 1).all()
        if year == 2012:  # ladder not answered: p39b2 = 1 and p39b1 blank
            dk = p["p39b2"] == 1
            assert dk.any() and p.loc[dk, "p39b1"].isna().all() and p.loc[~dk, "p39b1"].notna().all()


def test_value_labels(tree):
    _, root, _, _ = tree
    for year in YEARS:
        if layout.FORMAT[year] == "csv":
            continue
        lab = {}
        for module in MODULES:
            lab.update({k.lower(): {int(a): b for a, b in v.items()}
                        for k, v in _read(root, year, module)[1].variable_value_labels.items()})
        assert lab["pobreza"][2] == ("pobreno extremo" if year <= 2010 else "pobre no extremo")
        assert lab["p37"][1] == ("muy mal" if year == 2012 else "muy bien")
        assert ("p113a" in lab) == (year != 2007)
        for v in ("result", "p102", "p103", "p103a", "p110", "p203", "p207", "p209", "p300a",
                  "p301a", "p507"):
            assert v in lab, (year, v)
        if year == 2012:
            assert lab["p111a"][3] == "letrina" and "p39a" not in lab
            assert lab["p39b2"] == {1: "no sabe / no responde"}
        else:
            assert lab["p111"][3] == "pozo séptico" and lab["p39a"][1] == "muy pobre"
            assert lab["p39a"][9] == "missing value"
        assert lab["p37"][9].startswith("missing") and lab["p32"][9] == "missing value"
        assert lab["p2005e"][1].startswith("título inscrito") and lab["p2005f3"][1] == "secano"


def test_other_files(tree):
    _, root, _, _ = tree
    defl, _ = pyreadstat.read_dta(str(root / "enaho/2012/deflactores_base2012_new.dta"))
    assert list(defl.columns[:2]) == ["aniorec", "dpto"]  # INEI's do-files merge on these
    assert pd.api.types.is_numeric_dtype(defl["aniorec"]) and set(defl["aniorec"]) == set(range(2004, 2013))
    assert [f"i{i:02d}" for i in range(9)] == [c for c in defl.columns if c.startswith("i0")]
    sp, _ = pyreadstat.read_dta(str(root / "enaho/2012/despacial_ldnew.dta"))
    assert {"dominioA", "ld"} <= set(sp.columns)
    for name in ("centros_poblados.csv", "pra2_localidades.csv", "marco_muestral_2012.csv"):
        pd.read_csv(root / name, encoding="utf-8")
    pyreadstat.read_dta(str(root / "encuesta_pra2_2012.dta"))
    assert len(pd.read_parquet(root / "truth/households.parquet")) > 0
    assert len(pd.read_parquet(root / "truth/localities.parquet")) > 0


def test_truth_json_complete(tree):
    kind, root, truth, params = tree
    on_disk = json.loads((root / "truth.json").read_text(encoding="utf-8"))
    assert on_disk == json.loads(json.dumps(truth, sort_keys=True, ensure_ascii=False))
    assert on_disk["seed"] == SEEDS[kind] and on_disk["scale"] == 0.1
    assert params, "the builder planted no parameters"
    assert set(map(str, params)) <= set(on_disk["params"]), "planted parameters missing"
    assert on_disk["params"] == json.loads(json.dumps(synth._jsonable(params)))
    assert set(on_disk["files"]) == set(layout.all_files()) - {"truth.json"}
    for rel, info in on_disk["files"].items():
        assert hashlib.sha256((root / rel).read_bytes()).hexdigest() == info["sha256"], rel
    m = layout.module_file(2009, "200")
    assert on_disk["files"][m]["rows"] == len(_read(root, 2009, "200")[0])
    assert on_disk["table1"]["TOTAL"]["total"] == \
        len(pd.read_parquet(root / "truth/localities.parquet"))
    assert set(on_disk["table2"]) == {str(y) for y in YEARS}
    for row in on_disk["table2"].values():
        assert row["sample_space"] + row[">=20"] == row["total"]


_CHILD = """
import test_embedded_files as t
from pra.embedded import synthesize as s
geo_b, hh_b = (t.fake_geography, t.fake_households) if {kind!r} == "standin" else t._real_builders()
s.synthesize({out!r}, scale=0.1, seed={seed}, build_geography=geo_b, build_households=hh_b)
"""


def _synth_in_child(kind, out, seed, hashseed):
    # the child imports this module from tests/ (PYTHONPATH, not a sys.path edit)
    path = os.pathsep.join(p for p in (str(HERE), os.environ.get("PYTHONPATH")) if p)
    env = dict(os.environ, PYTHONHASHSEED=str(hashseed), PYTHONPATH=path)
    code = _CHILD.format(kind=kind, out=str(out), seed=seed)
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]


def test_same_seed_byte_identical(tree, tmp_path):
    kind, root, _, _ = tree
    out = tmp_path / "again"
    _synth_in_child(kind, out, SEEDS[kind], hashseed=12345)  # other hash seed than this process
    first, second = _hashes(root), _hashes(out)
    assert first == second


def test_different_seed_differs(standin_tree, tmp_path):
    # seed plumbing (SeedSequence -> both builders); the stand-ins keep this file under 60 s.
    # The first seed's tree is the module's stand-in tree (written by synthesize as here)
    first, _, _ = standin_tree
    other = tmp_path / "other"
    synth.synthesize(other, scale=FAKE_SCALE, seed=SEEDS["standin"] + 1,
                     build_geography=fake_geography, build_households=fake_households)
    a, b = _hashes(first), _hashes(other)
    assert a.keys() == b.keys()
    changed = [k for k in a if a[k] != b[k]]
    assert layout.module_file(2007, "sumaria") in changed
    assert "truth/households.parquet" in changed


def test_no_partial_tree_on_failure(tmp_path, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("disk full")
    monkeypatch.setattr(synth, "write_sav", boom)  # fails mid-way (2010), after 2007-2009
    out = tmp_path / "embedded"
    with pytest.raises(RuntimeError, match="disk full"):
        synth.synthesize(out, scale=FAKE_SCALE, seed=1, build_geography=fake_geography,
                         build_households=fake_households)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_failure_keeps_previous_tree(standin_tree, tmp_path, monkeypatch):
    out = tmp_path / "embedded"
    # the previous tree: a copy of one synthesize wrote (the module's stand-in tree; same bytes)
    shutil.copytree(standin_tree[0], out)
    before = _hashes(out)
    monkeypatch.setattr(synth, "write_sav", lambda *a, **k: (_ for _ in ()).throw(OSError("x")))
    with pytest.raises(OSError):
        synth.synthesize(out, scale=FAKE_SCALE, seed=2, build_geography=fake_geography,
                         build_households=fake_households)
    assert _hashes(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["embedded"]


def test_refuses_to_replace_foreign_directory(tmp_path):
    out = tmp_path / "embedded"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(synth.SynthesizeError, match="did not write"):
        synth.synthesize(out, scale=FAKE_SCALE, seed=1, build_geography=fake_geography,
                         build_households=fake_households)
    assert (out / "notes.txt").read_text() == "mine"


def test_conglome_width_grows_and_bad_ids_raise():
    df = pd.DataFrame({"year": [2007, 2007], "conglome": [5, 123456], "vivienda": [1, 2],
                       "hogar": [11, 11], "ubigeo": ["010101", "010101"], "mes": [1, 12]})
    q = synth.apply_quirks(df, 2007, "sumaria")
    assert q["conglome"].tolist() == ["000005", "123456"]
    q = synth.apply_quirks(df.head(1).assign(codperso=[1], year=2009), 2009, "200")
    assert q["conglome"].tolist() == ["0005"] and q["codperso"].tolist() == ["01"]
    assert q["vivienda"].tolist() == ["001"] and q["hogar"].tolist() == ["11"]
    q = synth.apply_quirks(df.assign(codperso=[1, 2], year=2010), 2010, "200")  # .sav: type N
    assert q["conglome"].tolist() == [5, 123456] and q["ubigeo"].tolist() == [10101, 10101]
    q = synth.apply_quirks(df.assign(year=2010), 2010, "100")  # .sav, 100: type C
    assert q["conglome"].tolist() == ["000005", "123456"] and q["mes"].tolist() == ["01", "12"]
    with pytest.raises(synth.SynthesizeError, match=r"enaho01-2007-200.*'vivienda'.*\[1\]"):
        synth.apply_quirks(df.assign(vivienda=[1, np.nan], codperso=1), 2007, "200")
    with pytest.raises(synth.SynthesizeError, match="'year' differs"):
        synth.apply_quirks(df, 2008, "sumaria")
