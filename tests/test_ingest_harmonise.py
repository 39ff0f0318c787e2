"""harmonise_year on tiny hand-built years (every format), bad inputs, and the embedded truth."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import fixtures_ingest as F

from pra import ledger as L
from pra.ingest import schemas as S
from pra.ingest.harmonise import harmonise_year
from pra.ingest.welfare import dominio_a
from pra.ingest.readers import IngestError

YEARS = list(range(2007, 2013))


@pytest.fixture(scope="module")
def deflators(tmp_path_factory):
    return F.write_deflators(tmp_path_factory.mktemp("defl"))


def _run(tmp_path, year, deflators, tabs=None, fmt=None, labels=True):
    F.write_year(tmp_path, year, fmt=fmt, tabs=tabs, labels=labels)
    return harmonise_year(tmp_path, deflators, year, F.centres())


@pytest.fixture(scope="module")
def default_year(tmp_path_factory, deflators):
    """``default_year(year)``: ``_run`` on the hand-built year as written by default (no edits),
    once per year for the tests that read it (read only)."""
    done = {}

    def run(year):
        if year not in done:
            done[year] = _run(tmp_path_factory.mktemp(f"year{year}"), year, deflators)
        return done[year]

    return run


@pytest.mark.parametrize("year", YEARS)
def test_year_matches_hand_values(default_year, year):
    table, led, rep = default_year(year)
    S.validate_harmonised(table)
    exp = F.expected(year)
    got = table.merge(exp, on=["conglome", "vivienda", "hogar"], suffixes=("", "_exp"))
    assert len(got) == len(exp) == len(table) == 3
    # deflation: gashog2d / (12 mieperho i00(year, dpto; Callao->Lima) ld(dominioA))
    np.testing.assert_allclose(got["pc_exp_real"], got["pc_exp_real_exp"], rtol=1e-12)
    np.testing.assert_allclose(got["ln_pc_exp"], np.log(got["pc_exp_real_exp"]), rtol=1e-12)
    for c in ("poor", "poverty_gap", "subj_poor_living"):
        np.testing.assert_allclose(got[c], got[c + "_exp"], atol=1e-12, err_msg=c)
    if year == 2012:
        assert table["subj_poor_self"].isna().all()  # never imputed
    else:
        assert got["subj_poor_self"].tolist() == got["subj_poor_self_exp"].tolist()
    assert got["sanitation"].tolist() == got["sanitation_exp"].tolist()
    # ledger: every raw household with its reason; kept rows = the table
    assert led["reason"].value_counts().to_dict() == {
        "kept": 3, "non-response (result=3)": 1, "complete interview not in sumaria": 1}
    assert set(led.loc[led.outcome == "kept", "conglome"] + led.loc[led.outcome == "kept", "vivienda"]) \
        == set(table["conglome"] + table["vivienda"])
    L.check_balance(led)
    assert rep["unknown_codes"] == {} and rep["checks"]["members_p204_ne_mieperho"] == 0
    assert rep["checks"]["p37_coding"].startswith("from value labels") or year == 2008  # CSV: none


def _by_key(table):
    return table.set_index(["conglome", "vivienda"])


@pytest.mark.parametrize("year", [2007, 2012])
def test_household_variables(default_year, year):
    t = _by_key(default_year(year)[0])
    h1, h2, h5 = t.loc[("000005", "001")], t.loc[("000005", "002")], t.loc[("000012", "004")]
    assert h1.hh_id == f"{year}-000005-001-11" and h1.dpto == 7 and h1.semester == f"{year}-I"
    assert h2.semester == f"{year}-II" and h1.mes == 3
    # head from the p203 == 1 row; the non-member (p204 = 2) aged 70 is not counted
    assert (h1.head_female, h1.head_age, h1.head_married, h1.head_educ) == (1, 40, 1, 5)
    assert (h1.n_0_5, h1.n_65plus, h1.hh_size, h1.persons_per_room) == (1, 0, 2, 1)
    assert (h2.head_single, h2.head_migrant, h2.head_native_lang, h2.n_65plus, h2.n_6_14) == (1, 1, 1, 1, 1)
    assert (h1.head_migrant, h5.head_educ, h5.head_native_lang) == (0, 7, 1)
    # rural by INEI's estrato rule (Lima Metropolitana urban), region from dominio
    assert (h1.rural, h2.rural, h5.rural) == (0, 1, 1)
    assert (h1.region, h2.region, h5.region) == ("costa", "sierra", "selva")
    # housing
    assert (h1.wall_brick, h1.floor_finished, h1.roof_concrete_tile, h1.electricity, h1.water_public) == (1, 1, 1, 1, 1)
    assert (h2.floor_dirt, h2.cook_firewood, h5.cook_firewood, h1.cook_firewood) == (1, 1, 1, 0)
    # production: the plots (-2000a) and crops (-2100) of both producers of H2, summed
    assert (h2.agri, h2.livestock, h2.forestry, h2.hectares, h2.prod_value) == (1, 1, 1, 3.0, 5800)
    assert (h2.sales, h2.own_consumption, h2.titled_plots, h2.rainfed_plots) == (3100, 2100, 1, 2)
    assert (h1.agri, h1.prod_value) == (0, 0)
    # labour (contract §1.2)
    assert (h1.hh_type, h2.hh_type, h5.hh_type) == ("dependent", "producer", "laborer")
    assert (h2.indep_pra_goods, h5.has_laborer, h1.dependent_only, h2.producer) == (1, 1, 1, 1)
    # locality: codccpp up to 2011; 2012 the nearest centre *of the same district*
    # (0801020001 is nearer to H2 but in another district)
    assert (h1.locality, h2.locality, h5.locality) == ("0701010001", "0801010005", "1601010003")
    # altitude: 2007 from the centre map, 2012 from module 100
    assert h2.altitude == (3500.0 if year == 2007 else 3400.0)
    assert (h1.households_2007, h1.population_2007) == (5000, 21000)


def test_validation_shortcut_agrees_with_pandera(default_year):
    """validate_harmonised skips pandera for a table that plainly meets the schema: pandera must
    accept every such table, and no broken table may pass for plainly valid (it goes to pandera,
    which raises)."""
    import pandera.errors as pe

    for year in YEARS:
        table = default_year(year)[0]
        assert S._plainly_valid(table), year
        S.harmonised_schema().validate(table, lazy=True)  # pandera's own verdict
    table = default_year(2012)[0]
    broken = {
        "gap above 1": lambda t: t.assign(poverty_gap=t["poverty_gap"] + 2),
        "duplicated hh_id": lambda t: t.assign(hh_id=t["hh_id"].iloc[0]),
        "year as int64": lambda t: t.assign(year=t["year"].astype("int64")),
        "number in a text column": lambda t: t.assign(region=t["region"].where(t.index > 0, 5)),
        "unknown region": lambda t: t.assign(region=t["region"].where(t.index > 0, "mars")),
        "short conglome": lambda t: t.assign(conglome=t["conglome"].str[:5]),
        "semester III": lambda t: t.assign(semester="2012-III"),
        "dummy 0.5": lambda t: t.assign(rural=0.5),
        "missing hogar": lambda t: t.assign(hogar=None),
        "columns out of order": lambda t: t[t.columns[::-1]],
        "no rows": lambda t: t.iloc[:0],
    }
    for what, breaks in broken.items():  # each goes to pandera (one shown raising: its cost)
        assert not S._plainly_valid(breaks(table.copy())), what
    with pytest.raises(pe.SchemaErrors, match="poverty_gap"):
        S.validate_harmonised(broken["gap above 1"](table.copy()))


def test_dominio_a_rule():
    dom = pd.Series([1, 1, 6, 7, 7, 7, 8, 8])
    est = pd.Series([5, 6, 8, 3, 7, 7, 6, 1])
    dpto = pd.Series([20, 20, 8, 12, 12, 16, 15, 15])
    dA, urban = dominio_a(dom, est, dpto)
    assert dA.tolist() == [1, 2, 12, 13, 14, 16, 17, 17]
    assert urban.tolist() == [1, 0, 0, 1, 0, 0, 1, 1]  # Lima Metropolitana always urban


def test_2012_perception_labels_must_agree(tmp_path, deflators):
    # 2012 file whose labels still say 1 = muy bien: the reversal cannot be assumed -> stop
    F.write_year(tmp_path, 2012)
    tabs = F.tables(2012)
    F.write_frame(F.quirk(tabs["01b2"], 2012, "01b2", "dta"),
                  tmp_path / "2012" / "enaho01b-2012-2.dta", "dta", {"p37": F.P37_OLD})
    with pytest.raises(IngestError, match="p37 value labels say code 1 = 'muy bien'"):
        harmonise_year(tmp_path, deflators, 2012, F.centres())


def test_without_labels_coding_by_year(tmp_path, deflators):
    t, _, rep = _run(tmp_path, 2012, deflators, labels=False)
    assert rep["checks"]["p37_coding"] == "by year (no value labels in file)"
    assert t["subj_poor_living"].tolist() == [1.0, 0.0, 0.0]


def test_missing_column_stops(tmp_path, deflators):
    tabs = F.tables(2009)
    tabs["100"] = tabs["100"].drop(columns="p111")
    with pytest.raises(IngestError, match=r"year 2009: file enaho01-2009-100.dta lacks column\(s\) \['p111'\]"):
        _run(tmp_path, 2009, deflators, tabs=tabs)


def test_missing_file_stops(tmp_path, deflators):
    F.write_year(tmp_path, 2011)
    (tmp_path / "2011" / "enaho02-2011-2000.dta").unlink()
    with pytest.raises(FileNotFoundError, match="year 2011: no file for module 'enaho02-2011-2000'"):
        harmonise_year(tmp_path, deflators, 2011, F.centres())


def test_duplicated_household_key_stops(tmp_path, deflators):
    tabs = F.tables(2008)
    tabs["sumaria"] = pd.concat([tabs["sumaria"], tabs["sumaria"].iloc[[1]]], ignore_index=True)
    with pytest.raises(IngestError, match=r"file sumaria-2008.csv: duplicated key .* rows \[2, 4\]"):
        _run(tmp_path, 2008, deflators, tabs=tabs)


def test_out_of_range_code_counted_and_flagged(tmp_path, deflators):
    tabs = F.tables(2010)
    tabs["100"].loc[tabs["100"]["conglome"].eq(5) & tabs["100"]["vivienda"].eq(2), "p111"] = 9
    tabs["01b2"].loc[0, "p37"] = 7
    tabs["200"].loc[1, "p207"] = 3  # a non-head member: counted, flagged on the household
    t, led, rep = _run(tmp_path, 2010, deflators, tabs=tabs)
    assert rep["unknown_codes"] == {"100.p111": {"9": 1}, "01b2.p37": {"7": 1}, "200.p207": {"3": 1}}
    t = _by_key(t)
    assert t.loc[("000005", "002"), "unknown_codes"] == "100.p111=9;"
    assert t.loc[("000005", "001"), "unknown_codes"] == "01b2.p37=7;200.p207=3;"
    assert t.loc[("000012", "004"), "unknown_codes"] == ""
    # the derived values are missing, but the household stays, identifiable by its flag
    assert t.loc[("000005", "002"), "sanitation"] is None
    assert np.isnan(t.loc[("000005", "001"), "subj_poor_living"])
    assert len(t) == 3


def test_member_count_mismatch_reported(tmp_path, deflators):
    tabs = F.tables(2009)
    tabs["sumaria"].loc[0, "mieperho"] = 3  # roster says 2 members (p204 == 1)
    _, _, rep = _run(tmp_path, 2009, deflators, tabs=tabs)
    assert rep["checks"]["members_p204_ne_mieperho"] == 1
    assert rep["checks"]["members_mismatch_examples"][0]["p204_count"] == 2


def test_sumaria_household_missing_from_module_100(tmp_path, deflators):
    tabs = F.tables(2012)
    tabs["100"] = tabs["100"][~(tabs["100"]["conglome"].eq(12) & tabs["100"]["vivienda"].eq(4))]
    t, led, _ = _run(tmp_path, 2012, deflators, tabs=tabs)
    assert len(t) == 2
    assert led["reason"].value_counts()["in sumaria, not in module 100"] == 1


def test_missing_deflator_stops(tmp_path):
    d = tmp_path / "defl"
    t, s = F.deflator_tables()
    F.write_frame(t[t["dpto"] != 16], d / "deflactores_base2012_new.dta", "dta")
    F.write_frame(s, d / "despacial_ldnew.dta", "dta")
    F.write_year(tmp_path, 2012)
    with pytest.raises(IngestError, match=r"deflactores_base2012_new.dta: no i00 for year 2012, dpto \[16\]"):
        harmonise_year(tmp_path, d, 2012, F.centres())


# --------------------------------------------------------------------------------------------
# INEI's real layouts: missing-value codes, centre codes, birthplace, producer files, names
# --------------------------------------------------------------------------------------------
def test_inei_missing_value_code_9(tmp_path, deflators):
    """9 is INEI's 'Missing value' in the perception module: a missing answer, counted in the
    report, not an unknown code."""
    tabs = F.tables(2009)
    tabs["01b2"].loc[0, "p37"] = 9   # H1
    tabs["01b2"].loc[1, "p39a"] = 9  # H2
    t, _, rep = _run(tmp_path, 2009, deflators, tabs=tabs)
    assert rep["unknown_codes"] == {}
    assert rep["missing_codes"] == {"01b2.p37": 1, "01b2.p39a": 1}
    t = _by_key(t)
    h1, h2 = t.loc[("000005", "001")], t.loc[("000005", "002")]
    assert np.isnan(h1.subj_poor_living) and h1.subj_poor_self == 0 and h1.unknown_codes == ""
    assert np.isnan(h2.subj_poor_self) and h2.subj_poor_living == 1


def test_national_centre_code():
    from pra.ingest.harmonise import national_centre_code

    ubigeo = pd.Series(["080101"] * 4)
    got = national_centre_code(ubigeo, pd.Series(["0005", 5, "0801010005", None], dtype=object))
    assert got.tolist()[:3] == ["0801010005"] * 3 and pd.isna(got.iloc[3])


def test_centre_code_of_another_width_stops(tmp_path, deflators):
    tabs = F.tables(2009)
    tabs["100"].loc[tabs["100"]["conglome"].eq(5) & tabs["100"]["vivienda"].eq(2), "codccpp"] = "012345"
    with pytest.raises(IngestError, match=r"year 2009: file enaho01-2009-100.dta: column 'codccpp'.*"
                                          r"'conglome': '000005', 'vivienda': '002'"):
        _run(tmp_path, 2009, deflators, tabs=tabs)


def test_migrant_from_p208a1(tmp_path, deflators):
    """p208a1 decides (ENAHO asks p208a2 only of those born elsewhere); where it is blank, the
    birth district against the district of residence."""
    tabs = F.tables(2010)
    m200 = tabs["200"]
    h2_head = m200["conglome"].eq(5) & m200["vivienda"].eq(2) & m200["codperso"].eq(1)
    h5_head = m200["conglome"].eq(12) & m200["vivienda"].eq(4)
    m200.loc[h2_head, "p208a1"] = np.nan  # blank: p208a2 080102 != 080101 -> migrant
    m200.loc[h5_head, ["p208a1", "p208a2"]] = [0, np.nan]  # born elsewhere, district unknown
    t = _by_key(_run(tmp_path, 2010, deflators, tabs=tabs)[0])
    assert t.loc[("000005", "002"), "head_migrant"] == 1
    assert t.loc[("000012", "004"), "head_migrant"] == 1
    assert t.loc[("000005", "001"), "head_migrant"] == 0


def test_plot_with_missing_area_is_not_counted_as_zero(tmp_path, deflators):
    tabs = F.tables(2012)
    tabs["2000a"].loc[2, "p2005b"] = np.nan
    t, _, rep = _run(tmp_path, 2012, deflators, tabs=tabs)
    h2 = _by_key(t).loc[("000005", "002")]
    assert np.isnan(h2.hectares) and (h2.titled_plots, h2.rainfed_plots) == (1, 2)
    assert rep["checks"]["households_with_missing_2000a_values"] == 1


def test_sumaria_2011_lines_named_as_in_the_dictionary(default_year):
    _, _, rep = default_year(2011)
    assert rep["checks"]["sumaria_columns_read_as"] == {"linea": "linea09"}


def test_deflator_file_keyed_by_year_column(tmp_path, default_year):
    """INEI's do-files merge the deflators on a numeric aniorec; a file keyed by its year
    column (aÑo, text) gives the same real expenditure."""
    d = tmp_path / "defl"
    t, s = F.deflator_tables()
    t = t.rename(columns={"aniorec": "aÑo"}).assign(**{"aÑo": lambda x: x["aÑo"].astype(str)})
    F.write_frame(t, d / "deflactores_base2012_new.dta", "dta")
    F.write_frame(s, d / "despacial_ldnew.dta", "dta")
    F.write_year(tmp_path, 2009)
    a = harmonise_year(tmp_path, d, 2009, F.centres())[0]
    b = default_year(2009)[0]  # the same year with the numeric aniorec of the deflators fixture
    np.testing.assert_array_equal(a["pc_exp_real"], b["pc_exp_real"])


# --------------------------------------------------------------------------------------------
# the embedded generator: harmonised outcomes against truth, household by household
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def embedded(embedded_tree):
    return embedded_tree  # scale 0.1, seed 20140601 (conftest.py)


@pytest.mark.parametrize("year", YEARS)
def test_embedded_matches_truth(embedded, embedded_harmonised, year):
    # harmonise_year on the tree's year, centres read as scripts/harmonise.py reads them
    # (conftest.py: computed once per run, test_validate_frames.py pools the same tables)
    table, led, rep = embedded_harmonised[year]
    truth = pd.read_parquet(embedded / "truth" / "households.parquet")
    truth = truth[(truth["year"] == year)]
    interviewed = truth[truth["interview"] == 1]
    keys = ["conglome", "vivienda", "hogar"]
    m = interviewed.merge(table, on=keys, how="outer", suffixes=("_true", ""), indicator=True)
    assert (m["_merge"] == "both").all(), m["_merge"].value_counts()
    assert len(table) == len(interviewed)
    np.testing.assert_allclose(m["pc_exp_real"], m["pc_exp_real_true"], atol=0.005, rtol=0)
    np.testing.assert_allclose(m["ln_pc_exp"], m["ln_pc_exp_true"], atol=1e-6, rtol=0)
    assert (m["poor"] == m["poor_true"]).all()
    np.testing.assert_allclose(m["poverty_gap"], m["poverty_gap_true"], atol=1e-6)
    for c in ("subj_poor_living", "subj_poor_self"):
        a, b = m[c].to_numpy(float), m[c + "_true"].to_numpy(float)
        assert np.array_equal(np.isnan(a), np.isnan(b)) and (a[~np.isnan(a)] == b[~np.isnan(b)]).all(), c
    if year == 2012:
        assert table["subj_poor_self"].isna().all()
    # every non-interviewed truth household is in the ledger as dropped
    dropped = led[led["outcome"] == "dropped"]
    assert len(dropped) >= int((truth["interview"] == 0).sum())
    # design and sample-defining variables the generator also records
    assert (m["hh_type"] == m["hh_type_true"]).all()
    # (truth's has_laborer_member marks the planted non-head laborer job only; a laborer head
    # also counts under contract §1.2, so it is not compared; hh_type is.)
    assert (m["locality"] == m["codccpp"]).all()  # 2012: nearest centre of the district
    assert (m["semester"] == m["semester_true"]).all() and (m["mes"] == m["mes_true"]).all()
    assert (m["head_educ"] == m["head_educ_true"]).all()
    assert (m["ubigeo"] == m["ubigeo_true"]).all()


# --------------------------------------------------------------------------------------------
# Snakemake entry scripts, data dictionary, per-year descriptives
# --------------------------------------------------------------------------------------------
def test_harmonise_script_writes_outputs(tmp_path, deflators, make_snakemake):
    import json
    import runpy

    F.write_year(tmp_path / "enaho", 2011)
    F.centres().to_csv(tmp_path / "centros_poblados.csv", index=False)
    out = tmp_path / "results"
    sm = make_snakemake(
        input={"centres": tmp_path / "centros_poblados.csv"},
        params={"year": 2011, "year_dir": str(tmp_path / "enaho" / "2011"), "deflator_dir": str(deflators)},
        output={"table": out / "enaho_2011.parquet", "ledger": out / "ingest_2011.parquet",
                "report": out / "report_2011.json"},
        log=[tmp_path / "log.txt"],
    )
    runpy.run_path(str(Path(__file__).parents[1] / "scripts" / "harmonise.py"),
                   init_globals={"snakemake": sm})
    # the script's own log line, through pra.runlog into the rule's log
    assert "2011: 3 households kept" in (tmp_path / "log.txt").read_text()
    table = pd.read_parquet(out / "enaho_2011.parquet")
    S.validate_harmonised(table)
    assert table["year"].dtype == "int16" and len(table) == 3
    led = pd.read_parquet(out / "ingest_2011.parquet")
    assert list(led.columns) == L.COLUMNS and len(led) == 5
    rep = json.loads((out / "report_2011.json").read_text())
    assert rep["year"] == 2011 and rep["ledger"]["kept"] == 3
    assert sorted(p.name for p in out.iterdir()) == ["enaho_2011.parquet", "ingest_2011.parquet",
                                                     "report_2011.json"]  # no temp files left


def test_dictionary_covers_every_column(tmp_path):
    from pra.ingest.dictionary import data_dictionary, write_dictionary

    d = data_dictionary()
    assert d["variable"].tolist() == S.HARMONISED_COLUMNS
    row = d.set_index("variable").loc["sanitation"]
    assert row["source_2011"].endswith("p111") and "p111a" in row["source_2012"]
    assert "not available" in d.set_index("variable").loc["subj_poor_self", "source_2012"]
    write_dictionary(tmp_path / "d.csv", tmp_path / "d.md")
    assert pd.read_csv(tmp_path / "d.csv").shape == d.shape
    md = (tmp_path / "d.md").read_text()
    assert "| `pc_exp_real` |" in md and "2012: enaho01-100.p111a (recoded)" in md


def test_describe_by_year():
    from pra.ingest.describe import describe_by_year, table4_wide

    df = pd.DataFrame({"year": [2007, 2007, 2008, 2012], "poor": [1.0, 0.0, 1.0, np.nan],
                       "subj_poor_self": [1.0, 1.0, 0.0, np.nan], "head_educ": [1.0, 7.0, 7.0, 2.0]})
    long = describe_by_year(df, ["poor", "subj_poor_self", "head_educ"])
    p = long.set_index(["variable", "year"])
    assert p.loc[("poor", "all"), "obs"] == 3
    assert p.loc[("poor", "2007"), "mean"] == 0.5
    assert np.isclose(p.loc[("poor", "2007"), "sd"], np.std([1, 0], ddof=1))
    assert p.loc[("subj_poor_self", "2012"), "obs"] == 0  # missing in 2012, not zero
    assert p.loc[("head_educ_university", "all"), "mean"] == 0.5
    wide = table4_wide(long)
    assert wide.set_index("variable").loc["poor", "mean_2008"] == 1.0
    w = describe_by_year(df.assign(w=[1.0, 3.0, 1.0, 1.0]), ["poor"], weight="w", expand=False)
    assert w.set_index(["variable", "year"]).loc[("poor", "2007"), "mean"] == 0.25


def test_file_of_another_year_stops(tmp_path, deflators):
    F.write_year(tmp_path, 2009)
    wrong = F.quirk(F.tables(2009)["500"], 2009, "500", "dta110").assign(**{"año": "2008"})
    F.write_frame(wrong, tmp_path / "2009" / "enaho01a-2009-500.dta", "dta110")
    with pytest.raises(IngestError, match=r"year 2009: file enaho01a-2009-500.dta: year column holds \[2008"):
        harmonise_year(tmp_path, deflators, 2009, F.centres())
