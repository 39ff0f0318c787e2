"""The rules both harmonisers share (pra.ingest.welfare, .variables, .centres): unit tests, and
the same household read from ENAHO and from the programme survey gives the same variables."""
from __future__ import annotations


import numpy as np
import pandas as pd
import pyreadstat
import pytest

import fixtures_ingest as F

from pra.ingest import schemas as S
from pra.ingest.centres import PreparedCentres, centre_lookup, nearest_centre, prepare_centres
from pra.ingest.harmonise import harmonise_year
from pra.ingest.programme import SURVEY_COLUMNS, harmonise_programme_survey
from pra.ingest.health import Health, check_keys, merge_checks
from pra.ingest.readers import IngestError, format_value, to_number
from pra.ingest.variables import (
    SANITATION_P111,
    SANITATION_P111A,
    head_variables,
    housing_indicators,
    region_variables,
    rooms,
)
from pra.ingest.welfare import (
    deflator_dpto,
    dominio_a,
    expenditure_and_poverty,
    p37_reversed,
    price_indices,
    read_deflators,
    subjective_poverty,
)


@pytest.fixture(scope="module")
def deflator_dir(tmp_path_factory):
    return F.write_deflators(tmp_path_factory.mktemp("defl"))


# ------------------------------------------------------------------------------------- welfare
def test_price_indices_callao_uses_lima(deflator_dir):
    d = read_deflators(deflator_dir)
    assert d.files == {"time": "deflactores_base2012_new.dta", "space": "despacial_ldnew.dta"}
    dpto = pd.Series([7, 15, 8])
    assert deflator_dpto(dpto).tolist() == [15, 15, 8]
    dA = pd.Series([17.0, 17.0, np.nan])  # a household without dominioA keeps ld missing
    i00, ld = price_indices(d, 2009, dpto, dA, source="test")
    assert i00.tolist() == [F.i00_of(2009, 15), F.i00_of(2009, 15), F.i00_of(2009, 8)]
    assert ld[:2].tolist() == [F.ld_of(17)] * 2 and np.isnan(ld[2])


def test_price_indices_missing_rows_stop(deflator_dir):
    d = read_deflators(deflator_dir)
    with pytest.raises(IngestError, match=r"survey x: deflator file deflactores_base2012_new.dta: "
                                          r"no i00 for year 2013, dpto \[8\]"):
        price_indices(d, 2013, pd.Series([8]), pd.Series([1.0]), source="survey x")
    with pytest.raises(IngestError, match=r"despacial_ldnew.dta: no ld for dominioA \[18.0\]"):
        price_indices(d, 2012, pd.Series([8]), pd.Series([18.0]), source="survey x")


def test_deflator_file_without_column_stops(tmp_path):
    t, s = F.deflator_tables()
    F.write_frame(t.drop(columns="i00"), tmp_path / "deflactores_base2012_new.dta", "dta")
    F.write_frame(s, tmp_path / "despacial_ldnew.dta", "dta")
    with pytest.raises(IngestError, match="deflator file deflactores_base2012_new.dta lacks column 'i00'"):
        read_deflators(tmp_path)


def test_expenditure_and_poverty_hand_values():
    gas = pd.Series([2400.0, 12000.0, 2400.0, 0.0])
    mie = pd.Series([2.0, 2.0, 1.0, 1.0])
    linea = pd.Series([200.0, 300.0, 150.0, 100.0])
    pobreza = pd.Series([1.0, 3.0, 2.0, np.nan])
    i00, ld = np.array([0.5, 1.0, 1.0, 1.0]), np.array([1.0, 2.0, 1.0, 1.0])
    cols, checks = expenditure_and_poverty(gas, mie, linea, pobreza, i00, ld)
    np.testing.assert_allclose(cols["pc_exp_real"], [200.0, 250.0, 200.0, 0.0])
    np.testing.assert_allclose(cols["ln_pc_exp"][:3], np.log([200.0, 250.0, 200.0]))
    assert np.isnan(cols["ln_pc_exp"][3])  # log of a non-positive expenditure is missing
    assert cols["poor"].tolist()[:3] == [1.0, 0.0, 1.0] and np.isnan(cols["poor"][3])
    # nominal 100 against a line of 200 -> gap 0.5; the non-poor have 0; a poor household above
    # its line (200 > 150) is counted and its gap set to 0
    assert cols["poverty_gap"].tolist()[:3] == [0.5, 0.0, 0.0] and np.isnan(cols["poverty_gap"][3])
    assert checks == {"nonpositive_expenditure": 1, "poor_with_expenditure_above_line": 1}


@pytest.mark.parametrize("labels, documented, expected", [
    ({1: "muy mal", 4: "muy bien"}, True, (True, "from value labels: 1 = muy mal")),
    ({1: "Muy bien"}, False, (False, "from value labels: 1 = Muy bien")),
    (None, True, (True, "rule (no value labels in file)")),
    ({}, False, (False, "rule (no value labels in file)")),
])
def test_p37_reversed(labels, documented, expected):
    assert p37_reversed(labels, documented_reversed=documented, source="s", documented_by="d",
                        fallback="rule") == expected


def test_p37_labels_against_documentation_stop():
    with pytest.raises(IngestError, match=r"^programme survey x.dta: p37 value labels say code 1 = "
                                          r"'muy mal', but the programme survey is documented as "
                                          r"1 muy bien … 4 muy mal"):
        p37_reversed({1: "muy mal"}, documented_reversed=False, source="programme survey x.dta",
                     documented_by="the programme survey", fallback="rule")
    with pytest.raises(IngestError, match="p37 label of code 1 is 'regular'"):
        p37_reversed({1: "regular"}, documented_reversed=False, source="s", documented_by="d",
                     fallback="rule")


def test_subjective_poverty_both_codings():
    p37 = pd.Series([1.0, 2.0, 3.0, 4.0, np.nan])
    old = subjective_poverty(p37, pd.Series([1.0, 2.0, np.nan, 1.0, 2.0]), False)
    new = subjective_poverty(p37, None, True)
    assert old["subj_poor_living"].tolist()[:4] == [0.0, 0.0, 1.0, 1.0]
    assert new["subj_poor_living"].tolist()[:4] == [1.0, 1.0, 0.0, 0.0]
    assert old["subj_poor_living"].isna().tolist() == [False] * 4 + [True]
    assert old["subj_poor_self"].isna().tolist() == [False, False, True, False, False]
    assert old["subj_poor_self"].dropna().tolist() == [1.0, 0.0, 1.0, 0.0]
    assert new["subj_poor_self"].isna().all()  # no p39a: never imputed


# ----------------------------------------------------------------------------------- variables
def test_head_variables():
    head = pd.DataFrame({"p207": [2.0, 1.0, np.nan], "p208a": [40.0, 70.0, 30.0],
                         "p209": [2.0, 6.0, np.nan], "p300a": [4.0, 1.0, 2.0],
                         "p301a": [6.0, 3.0, 10.0]})
    birth = pd.Series([70101.0, 80102.0, np.nan])  # numeric in 2007: zeros restored
    v = head_variables(head, birth, pd.Series(["070101", "080101", "160101"]))
    assert v["head_female"].tolist()[:2] == [1.0, 0.0] and np.isnan(v["head_female"][2])
    assert v["head_married"].tolist()[:2] == [1.0, 0.0]
    assert v["head_single"].tolist()[:2] == [0.0, 1.0]
    assert v["head_educ"].tolist() == [5.0, 2.0, 7.0]
    assert v["head_migrant"].tolist()[:2] == [0.0, 1.0] and np.isnan(v["head_migrant"][2])
    assert v["head_native_lang"].tolist() == [0.0, 1.0, 1.0]
    assert v["head_age"].tolist() == [40.0, 70.0, 30.0]


def test_region_variables():
    dom = pd.Series([1.0, 5.0, 7.0, 8.0, np.nan])
    v = region_variables(dom, pd.Series([1.0, 0.0, 0.0, 1.0, np.nan]))
    assert v["region"].tolist()[:4] == ["costa", "sierra", "selva", "costa"]
    assert v["coast"].tolist()[:4] == [1.0, 0.0, 0.0, 1.0] and np.isnan(v["coast"][4])
    assert v["selva"].tolist()[:4] == [0.0, 0.0, 1.0, 0.0]
    assert v["rural"].tolist()[:4] == [0.0, 1.0, 1.0, 0.0]


def test_housing_same_category_from_p111_and_p111a():
    base = {"p102": [1.0, 3.0], "p103": [5.0, 6.0], "p103a": [1.0, 4.0], "p1121": [1.0, 0.0],
            "p110": [1.0, 6.0], "p113a": [2.0, 6.0]}
    old = housing_indicators(pd.DataFrame({**base, "p111": [1.0, 3.0]}), "p111")
    new = housing_indicators(pd.DataFrame({**base, "p111a": [1.0, 4.0]}), "p111a")
    pd.testing.assert_frame_equal(old, new)
    assert old["sanitation"].tolist() == ["public_in", "septic"]
    assert old["sanitation_public"].tolist() == [1.0, 0.0]
    assert (old["wall_brick"].tolist(), old["floor_dirt"].tolist()) == ([1.0, 0.0], [0.0, 1.0])
    assert rooms(pd.Series([2.0, 0.0, np.nan])).isna().tolist() == [False, True, True]


# ------------------------------------------------------------------------------------- centres
def test_nearest_centre_same_district_and_ties():
    cen = prepare_centres(F.centres())
    pts = pd.DataFrame({"ubigeo": ["080101", "080101", "999999"],
                        "latitude": [-13.5, np.nan, -13.5], "longitude": [-71.9, -71.9, -71.9]})
    # the nearer centre 0801020001 is in another district; no coordinates / no centre: missing
    assert nearest_centre(pts, cen).tolist() == ["0801010005", pd.NA, pd.NA]
    tie = pd.DataFrame({"codccpp": ["0101010002", "0101010001"], "ubigeo": "010101",
                        "latitud": [-6.0, -6.0], "longitud": [-78.01, -77.99], "altitud": 0,
                        "hogares_2007": 1, "poblacion_2007": 1})
    one = pd.DataFrame({"ubigeo": ["010101"], "latitude": [-6.0], "longitude": [-78.0]})
    assert nearest_centre(one, prepare_centres(tie)).tolist() == ["0101010001"]


def test_centre_lookup_counts_unmatched():
    cen = prepare_centres(F.centres())
    lk, missing = centre_lookup(pd.Series(["0701010001", "0000000000", None]), cen)
    assert lk["hogares_2007"].tolist()[0] == 5000 and lk["hogares_2007"][1:].isna().all()
    assert missing == 1  # a missing locality is not "not in the map"


def test_centre_lookup_is_the_merge():
    # the look-up by position gives the left merge's frame, cell for cell and type for type
    cen = prepare_centres(F.centres())
    for loc in (pd.Series(["0801010006", "0000000000", None, "0701010001", "0801010006"],
                          index=[9, 7, 5, 3, 1], dtype=object),
                pd.Series(["0701010002", None], dtype="string"), pd.Series([], dtype=object)):
        lk, missing = centre_lookup(loc, cen)
        want = loc.to_frame("locality").merge(cen.rename(columns={"codccpp": "locality"}),
                                              on="locality", how="left", validate="m:1",
                                              indicator=True)
        pd.testing.assert_frame_equal(lk, want, check_exact=True)
        assert missing == int((want["_merge"].eq("left_only") & loc.notna().to_numpy()).sum())


def test_prepared_centres_replay_the_same_health():
    raw = F.centres().assign(altitud=["15,5", "30", "x", "3900", "3450", "105"])
    raw.attrs["source"] = "centros.csv"
    direct = Health(2009)
    table = prepare_centres(raw, health=direct)
    prepared = PreparedCentres.of(raw)
    for year in (2009, 2010):  # once prepared, every year gets the entries with its year
        replayed = Health(year)
        pd.testing.assert_frame_equal(prepared.for_health(replayed), table, check_exact=True)
        assert replayed.rows == [dict(r, year=year) for r in direct.rows]
    assert any(r["item"].startswith("repaired") for r in direct.rows)
    strict = Health(2009, {**direct.checks, "max_parse_failures": {
        **direct.checks["max_parse_failures"], "other": 0}})  # 'x' now stops the run
    with pytest.raises(IngestError):  # other data.checks: prepared again under them
        prepared.for_health(strict)


def test_to_number_and_check_keys_per_distinct_value():
    s = pd.Series([" 1", "x", None, "2.5", "1 ", "", "1"], index=[6, 5, 4, 3, 2, 1, 0], name="v",
                  dtype="string")
    want = pd.to_numeric(s.str.strip(), errors="coerce").astype("float64")
    pd.testing.assert_series_equal(to_number(s), want, check_exact=True)
    pd.testing.assert_series_equal(to_number(s.astype(object)), want, check_exact=True)
    h = Health(2009, merge_checks({"max_parse_failures": {"keys": None}}))  # counted, not stopped
    check_keys(pd.DataFrame({"conglome": ["0012", None, "0013"], "hogar": ["11", "1x", "12"]}),
               ["conglome", "hogar"], file="f", health=h)
    assert [(r["column"], r["count"], r["examples"]) for r in h.rows] == [("hogar", 1, "'1x'")]


def test_format_value():
    assert [format_value(v) for v in (9.0, " x ", 2.5, 3)] == ["9", "x", "2.5", "3"]


def test_dominio_a_and_deflator_dpto_agree_with_the_fixture():
    # the fixture's ld keys: Callao in Lima Metropolitana (17), sierra centro rural (10),
    # selva baja rural (16)
    dA, urban = dominio_a(pd.Series([8, 5, 7]), pd.Series([3, 7, 6]), pd.Series([7, 8, 16]))
    assert dA.tolist() == [17, 10, 16] and urban.tolist() == [1.0, 0.0, 0.0]


# ------------------------------------------------- one household, two sources, same variables
# The ENAHO 2012 fixture's three kept households re-written as programme-survey rows: the
# shared rules must give them the same deflated expenditure, poverty, subjective poverty,
# head, housing, region and locality variables.
SHARED = ["pc_exp_real", "ln_pc_exp", "poor", "poverty_gap", "subj_poor_living", "head_female",
          "head_age", "head_married", "head_single", "head_educ", "head_migrant",
          "head_native_lang", "hh_size", "wall_brick", "floor_dirt", "floor_finished",
          "roof_concrete_tile", "electricity", "water_public", "sanitation", "sanitation_public",
          "cook_firewood", "persons_per_room", "rural", "region", "coast", "selva", "locality",
          "latitude", "longitude", "households_2007", "population_2007", "ubigeo", "dpto", "mes"]


def _survey_rows(tabs: dict[str, pd.DataFrame], enaho: pd.DataFrame) -> pd.DataFrame:
    """Programme-survey rows holding the same answers as the ENAHO 2012 households."""
    keys = S.HH_KEYS
    heads = tabs["200"][tabs["200"]["p203"] == 1].merge(
        tabs["300"].drop(columns="year"), on=S.PERSON_KEYS)
    hh = (tabs["sumaria"].drop(columns="year")
          .merge(tabs["100"].drop(columns=["year", "ubigeo"]), on=keys)
          .merge(heads.drop(columns=["year", "ubigeo", "codperso"]), on=keys)
          .merge(tabs["01b2"].drop(columns=["year", "codperso"]), on=keys)
          .sort_values(keys).reset_index(drop=True))
    p111_of = {cat: code for code, cat in SANITATION_P111.items()}
    survey = hh.assign(
        id_hogar=np.arange(1, len(hh) + 1),
        codccpp=enaho["locality"].to_numpy(),  # ENAHO 2012: the nearest centre of the district
        p37=5 - hh["p37"],  # the survey uses the 2007–2011 coding (1 muy bien … 4 muy mal)
        # the survey records every head's birth district; ENAHO asks p208a2 only of those born
        # elsewhere (p208a1 = 0)
        p208a2=hh["p208a2"].where(hh["p208a1"] == 0, hh["ubigeo"]),
        p39a=2, p111=hh["p111a"].map(SANITATION_P111A).map(p111_of),
        n_0_5=enaho["n_0_5"].to_numpy(), n_6_14=enaho["n_6_14"].to_numpy(),
        n_65plus=enaho["n_65plus"].to_numpy(), p20001a=0, p20001b=0, p20001c=0, hectareas=0.0,
        valida=1, motivo="")
    return survey[SURVEY_COLUMNS]


def test_enaho_and_programme_rows_agree(tmp_path, deflator_dir):
    F.write_year(tmp_path / "enaho", 2012)
    enaho, _, _ = harmonise_year(tmp_path / "enaho", deflator_dir, 2012, F.centres())
    survey = _survey_rows(F.tables(2012), enaho)
    path = tmp_path / "encuesta_pra2_2012.dta"
    pyreadstat.write_dta(survey, str(path))
    frame = pd.DataFrame({"ubigeo": survey["ubigeo"], "grupo": ["corredor", "adyacente", "corredor"]})
    prog, counts, rep = harmonise_programme_survey(path, frame, deflator_dir=deflator_dir,
                                                   centres=F.centres())
    assert counts.to_dict("records") == [{"reason": "kept", "rows": 3}]
    assert rep["checks"]["p37_coding"] == "by the survey's documentation (no value labels in file)"
    pd.testing.assert_frame_equal(prog[SHARED], enaho[SHARED], check_dtype=False)
    # and they are the hand values of the fixture (Callao deflated with Lima's i00)
    exp = F.expected(2012)
    np.testing.assert_allclose(prog["pc_exp_real"], exp["pc_exp_real"], rtol=1e-12)
    assert prog["poverty_gap"].tolist() == exp["poverty_gap"].tolist()
    assert prog["subj_poor_living"].tolist() == exp["subj_poor_living"].tolist()
    assert prog["sanitation"].tolist() == exp["sanitation"].tolist()
