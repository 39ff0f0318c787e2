"""Unit tests of the matching design's inputs on tiny hand-made tables: the programme survey's
harmonisation (pra.ingest.programme) and the sample rules (pra.matching.sample)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from pra.ingest.programme import harmonise_programme_survey, prepare_frame
from pra.ingest.readers import IngestError
from pra.matching.outputs import separating_covariates
from pra.matching.sample import (COVARIATES, NEEDED, SampleError, add_covariates, estimation_rows,
                                 matching_sample, table3)

FRAME = pd.DataFrame({"ubigeo": ["020302", "020306", "20301"], "grupo": ["corredor", "Corredor", "adyacente"]})


# ------------------------------------------------------------------------------ programme survey
def _survey_row(i, ubigeo, **kw):
    row = {
        "id_hogar": i, "ubigeo": ubigeo, "codccpp": ubigeo + "0001", "dominio": 5, "estrato": 6,
        "latitud": -9.0, "longitud": -77.0, "altitud": 3000.0, "mes": 8, "mieperho": 4,
        "gashog2d": 12 * 4 * 300.0, "linea": 250.0, "pobreza": 3, "p37": 3, "p39a": 2,
        "p207": 2, "p208a": 40, "p209": 6, "p301a": 6, "p208a2": int(ubigeo), "p300a": 1,
        "n_0_5": 1, "n_6_14": 0, "n_65plus": 0, "p102": 1, "p103": 6, "p103a": 3, "p104": 2,
        "p110": 1, "p111": 1, "p1121": 1, "p113a": 6, "p20001a": 1, "p20001b": 0, "p20001c": 0,
        "hectareas": 2.5, "valida": 1, "motivo": "",
    }
    row.update(kw)
    return row


@pytest.fixture()
def survey_files(tmp_path):
    rows = [
        _survey_row(1, "020302"),  # corridor, kept
        _survey_row(2, "020301", p37=1, p39a=1, pobreza=2, gashog2d=12 * 4 * 200.0, p207=1,
                    p208a2=999999, mes=6),  # adjacent, kept
        _survey_row(3, "020302", valida=0, motivo="gasto incompleto", gashog2d=np.nan, pobreza=np.nan),
        _survey_row(4, "150101"),  # Lima: not a frame district
        _survey_row(5, "020306", p102=99),  # unknown wall code: kept, code counted and set missing
    ]
    df = pd.DataFrame(rows)
    path = tmp_path / "encuesta_pra2_2012.dta"
    pyreadstat.write_dta(df, str(path))
    ddir = tmp_path / "defl"
    ddir.mkdir()
    # i00 of 2012 for Ancash (02) = 0.9; ld of dominioA 10 (sierra centro rural) = 0.8
    pyreadstat.write_dta(pd.DataFrame({"ano": [2012, 2012, 2009], "dpto": [2, 15, 2],
                                       "i00": [0.9, 1.0, 0.8]}), str(ddir / "deflactores_base2012_new.dta"))
    pyreadstat.write_dta(pd.DataFrame({"dominioa": np.arange(1, 18), "ld": np.full(17, 0.8)}),
                         str(ddir / "despacial_ldnew.dta"))
    centres = pd.DataFrame({"codccpp": ["0203020001", "0203010001", "0203060001"],
                            "ubigeo": ["020302", "020301", "020306"], "latitud": -9.0,
                            "longitud": -77.0, "altitud": [3100.0, 0.0, 2000.0],
                            "hogares_2007": [120, 50, 3000], "poblacion_2007": [500, 150, 12000]})
    return path, ddir, centres


def test_programme_survey_harmonised(survey_files):
    path, ddir, centres = survey_files
    tab, counts, rep = harmonise_programme_survey(path, FRAME, deflator_dir=ddir, centres=centres)
    c = dict(zip(counts["reason"], counts["rows"]))
    assert c == {"kept": 3, "unusable (valida=0): gasto incompleto": 1, "district not in the sample frame": 1}
    assert sum(c.values()) == 5  # every row read is accounted for
    t = tab.set_index("id_hogar")
    assert t.loc[[1, 2, 5], "treated"].tolist() == [1, 0, 1]
    # sumaria 2012's deflation: gashog2d / (12 mieperho i00 ld), dominio 5 rural -> dominioA 10
    assert t.loc[1, "pc_exp_real"] == pytest.approx(300.0 / (0.9 * 0.8))
    assert t.loc[1, "ln_pc_exp"] == pytest.approx(np.log(300.0 / 0.72))
    assert t.loc[[1, 2], "poor"].tolist() == [0.0, 1.0]
    # p37 in the 2007–2011 coding: 3/4 bad; p39a == 1 'muy pobre'
    assert t.loc[[1, 2], "subj_poor_living"].tolist() == [1.0, 0.0]
    assert t.loc[[1, 2], "subj_poor_self"].tolist() == [0.0, 1.0]
    assert t.loc[1, "head_educ"] == 5 and t.loc[1, "head_single"] == 1 and t.loc[1, "head_female"] == 1
    assert t.loc[[1, 2], "head_migrant"].tolist() == [0.0, 1.0]  # p208a2 numeric: zeros restored
    assert t.loc[1, "wall_brick"] == 1 and np.isnan(t.loc[5, "wall_brick"])
    assert rep["unknown_codes"] == {"p102": {"99": 1}}
    assert t.loc[1, "locality"] == "0203020001" and t.loc[1, "households_2007"] == 120
    assert t.loc[1, "altitude"] == 3100.0  # from the centre map, as ENAHO 2009's altitude
    assert t.loc[1, "rural"] == 1.0 and t.loc[2, "semester"] == "2012-I"
    assert tab["hh_id"].is_unique and np.isnan(t.loc[1, "factor07"])


def test_programme_survey_bad_input(survey_files, tmp_path):
    path, ddir, centres = survey_files
    with pytest.raises(IngestError, match="grupo"):
        harmonise_programme_survey(path, FRAME.assign(grupo=["corredor", "x", "adyacente"]),
                                   deflator_dir=ddir, centres=centres)
    with pytest.raises(IngestError, match="ubigeo.*duplicated"):
        prepare_frame(pd.concat([FRAME, FRAME.iloc[:1]]))
    df, _ = pyreadstat.read_dta(str(path))
    df.loc[1, "id_hogar"] = 1
    dup = tmp_path / "dup.dta"
    pyreadstat.write_dta(df, str(dup))
    with pytest.raises(IngestError, match="id_hogar.*duplicated in data rows \\[1, 2\\]"):
        harmonise_programme_survey(dup, FRAME, deflator_dir=ddir, centres=centres)
    with pytest.raises(IngestError, match="lacks column"):
        pyreadstat.write_dta(df.drop(columns=["p37"]), str(dup))
        harmonise_programme_survey(dup, FRAME, deflator_dir=ddir, centres=centres)


# ------------------------------------------------------------------------------ sample rules
def _hh(n, **kw):
    base = {c: 1.0 for c in NEEDED}
    base.update({"year": 2009, "ubigeo": "020302", "mes": 8, "locality": "0203020001", "latitude": -9.0,
                 "longitude": -77.0, "altitude": 3000.0, "head_educ": 3.0, "head_age": 40.0,
                 "households_2007": 100.0, "producer": 1.0, "hh_size": 4.0})
    base.update(kw)
    return [dict(base, hh_id=f"{base['year']}-{kw.get('tag', 'x')}-{i}") for i in range(n)]


def _enaho():
    rows = (_hh(3, tag="t") + _hh(2, tag="c", ubigeo="020301")  # kept: 3 treated, 2 controls
            + _hh(1, tag="y", year=2010)  # other year
            + _hh(1, tag="nf", ubigeo="150101")  # not in frame
            + _hh(1, tag="m", mes=12)  # month outside 7–11
            + _hh(1, tag="m6", mes=6, producer=0.0)  # first reason wins: month
            + _hh(1, tag="np", producer=0.0, ubigeo="020301"))  # not a producer
    return pd.DataFrame(rows).drop(columns="tag")


def _programme():
    rows = (_hh(2, tag="pt", year=2012, ubigeo="020306", treated=1)
            + _hh(3, tag="pc", year=2012, ubigeo="020301", treated=0, hectares=np.nan)
            + _hh(1, tag="pnf", year=2012, ubigeo="150101", treated=0))
    return pd.DataFrame(rows).drop(columns="tag")


def test_matching_sample_rules():
    e, p = _enaho(), _programme()
    sample, counts = matching_sample(e, p, FRAME)
    c = {(r.period, r.source, r.reason): r.rows for r in counts.itertuples()}
    assert c == {
        (2009, "enaho", "not the baseline year 2009 (other ENAHO years)"): 1,
        (2009, "enaho", "district not in the sample frame"): 1,
        (2009, "enaho", "interviewed outside months 7-11"): 2,
        (2009, "enaho", "not a producer household"): 1,
        (2009, "enaho", "kept"): 5,
        (2012, "programme", "district not in the sample frame"): 1,
        (2012, "programme", "kept"): 5,
    }
    # nothing lost: every input row is kept or counted once
    assert counts[counts["source"] == "enaho"]["rows"].sum() == len(e)
    assert counts[counts["source"] == "programme"]["rows"].sum() == len(p)
    assert sample.groupby(["period", "treated"]).size().to_dict() == {(2009, 0): 2, (2009, 1): 3,
                                                                       (2012, 0): 3, (2012, 1): 2}
    assert (sample["cluster"] == sample["locality"]).all()
    assert set(COVARIATES) <= set(sample.columns)
    t3 = table3(sample).set_index("year")
    assert t3.loc["2009"].tolist() == [2, 3, 5] and t3.loc["Total"].tolist() == [5, 5, 10]
    # missing hectares: in Table 3, out of the estimation rows, counted
    assert (~sample["complete"]).sum() == 3
    rows, dropped = estimation_rows(sample)
    assert len(rows) == 7 and dropped.to_dict("records") == [{"period": 2012, "reason": "missing hectares", "rows": 3}]


def test_matching_sample_checks():
    e, p = _enaho(), _programme()
    with pytest.raises(SampleError, match="treated.*disagrees"):
        matching_sample(e, p.assign(treated=1), FRAME)
    with pytest.raises(SampleError, match="lacks column.*producer"):
        matching_sample(e.drop(columns="producer"), p, FRAME)
    with pytest.raises(SampleError, match="'year' is not 2012"):
        matching_sample(e, p.assign(year=2011), FRAME)
    # other baseline months and year
    s, c = matching_sample(e.assign(year=2010), p, FRAME, baseline_year=2010, months=(12,))
    assert (s["period"] == 2010).sum() == 1  # only the month-12 producer in a frame district


def test_covariates():
    df = pd.DataFrame({"head_educ": [1, 3, 5, 7, np.nan], "head_age": [30, 40, 50, 60, 70],
                       "altitude": [0.0, 0.5, 10.0, 3000.0, np.nan]})
    out = add_covariates(df)
    assert out["educ_complete_primary"].tolist()[:4] == [0, 1, 0, 0]
    assert out["educ_university"].tolist()[:4] == [0, 0, 0, 1] and np.isnan(out["educ_university"].iloc[4])
    assert out["head_age2"].tolist() == [900, 1600, 2500, 3600, 4900]
    # sea-level centres: ln(max(altitude, 1 m))
    np.testing.assert_allclose(out["ln_altitude"].iloc[:4], [0, 0, np.log(10), np.log(3000)])


def test_separating_covariates():
    d = pd.DataFrame({"period": [1] * 6 + [2] * 6, "treated": [1, 1, 1, 0, 0, 0] * 2,
                      "x": [1, 0, 0, 0, 0, 0, 1, 0, 1, 1, 0, 0], "z": [0.1, 0.5, 0.3, 0.2, 0.4, 0.6] * 2})
    sep = separating_covariates(d, ["x", "z"])
    assert sep[["period", "covariate"]].values.tolist() == [[1, "x"]]
