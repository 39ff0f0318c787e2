"""Geo stage: geo-referencing, DuckDB-spatial distances, spatial sample, Tables 1–2, Map 1."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from helpers import nearest_haversine_numpy
from pra.geo.distance import gaussian_radius_km, haversine_km, nearest_locality
from pra.geo.georef import georeference, table1
from pra.geo.sample import assign_band, attach_distances, spatial_sample, table2
from pra.ledger import check_balance

BANDS = [0, 2, 4, 6, 8, 10, 15, 20]


# ----------------------------------------------------------------------------- distances
def _random_points(rng, n, lat=(-16.0, -6.0), lon=(-78.5, -69.5)):
    return rng.uniform(*lat, n), rng.uniform(*lon, n)


@pytest.fixture(scope="module")
def con():
    """One DuckDB connection for the tests' distance calls: loading the spatial extension costs
    ~0.3 CPU-s per connection (random_case keeps the default, own-connection path)."""
    from pra.geo.distance import connect

    c = connect()
    yield c
    c.close()


@pytest.fixture(scope="module")
def random_case():
    rng = np.random.default_rng(20140601)
    llat, llon = _random_points(rng, 300, (-15.0, -7.0), (-77.5, -70.5))
    locs = pd.DataFrame({"id_localidad": rng.permutation(np.arange(1, 301)),
                         "latitude": llat, "longitude": llon, "match": "code"})
    hlat, hlon = _random_points(rng, 3000)
    hh = pd.DataFrame({"hh_id": [f"h{i}" for i in range(3000)], "latitude": hlat, "longitude": hlon})
    return hh, locs, nearest_locality(hh, locs)


def test_distances_match_independent_haversine(random_case):
    hh, locs, res = random_case
    assert len(res) == len(hh) and (res["reason"] == "").all() and not res["beyond"].any()
    # independent check: brute-force NumPy haversine over all pairs
    dm = haversine_km(hh["latitude"].to_numpy()[:, None], hh["longitude"].to_numpy()[:, None],
                      locs["latitude"].to_numpy()[None], locs["longitude"].to_numpy()[None])
    order = np.sort(dm, axis=1)
    best = locs["id_localidad"].to_numpy()[dm.argmin(axis=1)]
    rel = np.abs(res["dist_km"].to_numpy() / order[:, 0] - 1)
    assert rel.max() < 0.005
    clear = order[:, 1] > order[:, 0] * 1.01  # nearest well separated from the second
    assert clear.mean() > 0.8
    assert (res["nearest_id"].to_numpy()[clear] == best[clear]).all()
    # the far households (beyond the 25 km prefilter) got their true distance too
    assert (res["dist_km"] > 25).sum() > 100


def test_axis_order_known_pair(con):
    # Lima -> Cusco; pyproj's Geod (WGS84) as reference: a lon/lat swap would be off by ~7 km.
    pyproj = pytest.importorskip("pyproj", reason="pyproj gives the reference geodesic")
    ref = pyproj.Geod(ellps="WGS84").inv(-77.0428, -12.0464, -71.9675, -13.5320)[2] / 1000
    res = nearest_locality(
        pd.DataFrame({"hh_id": ["lima"], "latitude": [-12.0464], "longitude": [-77.0428]}),
        pd.DataFrame({"id_localidad": [1], "latitude": [-13.5320], "longitude": [-71.9675]}), con=con,
    )
    assert res["dist_km"].iloc[0] == pytest.approx(ref, abs=1e-3)
    assert res["nearest_id"].iloc[0] == 1


def test_gaussian_radius():
    assert gaussian_radius_km(0.0) == pytest.approx(6356.75, abs=0.1)


def test_tie_breaking_smallest_id(con):
    locs = pd.DataFrame({"id_localidad": [9, 4, 7, 12],
                         "latitude": [-10.0, -10.0, -10.0, -10.0],
                         "longitude": [-75.05, -75.05, -74.95, -75.20]})
    hh = pd.DataFrame({"hh_id": ["a", "b", "c"], "latitude": [-10.0, -10.0, -10.0],
                       "longitude": [-75.0, -75.05, -74.95]})
    res = nearest_locality(hh, locs, con=con).set_index("hh_id")
    # a: 9 and 4 share a point, 7 mirrors them across a's meridian -> all equidistant: smallest id
    assert res.loc["a", "nearest_id"] == 4
    assert res.loc["b", "nearest_id"] == 4 and res.loc["b", "dist_km"] == 0
    assert res.loc["c", "nearest_id"] == 7


def test_invalid_coordinates_reported_not_dropped(con):
    locs = pd.DataFrame({"id_localidad": [1], "latitude": [-10.0], "longitude": [-75.0]})
    hh = pd.DataFrame({"hh_id": list("abcde"),
                       "latitude": [-10.05, np.nan, -75.0, 40.0, "-10.1"],
                       "longitude": [-75.0, -75.0, -10.0, -3.0, "-75.0"]})
    res = nearest_locality(hh, locs, con=con)
    assert res["hh_id"].tolist() == list("abcde")
    assert res["reason"].tolist() == ["", "missing coordinates", "swapped lat/lon", "outside Peru", ""]
    assert res["dist_km"].iloc[1:4].isna().all() and res["nearest_id"].iloc[1:4].isna().all()
    assert res["dist_km"].iloc[4] == pytest.approx(11.06, abs=0.05)  # text coordinates parsed


def test_max_km_beyond_and_errors(con):
    locs = pd.DataFrame({"id_localidad": [1, 2], "latitude": [-10.0, -12.0],
                         "longitude": [-75.0, -75.0]})
    hh = pd.DataFrame({"hh_id": ["near", "far"], "latitude": [-10.1, -11.0],
                       "longitude": [-75.0, -75.0]})
    res = nearest_locality(hh, locs, max_km=20, con=con)
    assert not res["beyond"].iloc[0] and res["beyond"].iloc[1] and np.isinf(res["dist_km"].iloc[1])
    exact = nearest_locality(hh, locs, con=con)
    d, n = nearest_haversine_numpy(hh["latitude"], hh["longitude"], locs["latitude"],
                                   locs["longitude"], locs["id_localidad"])
    assert exact["dist_km"].to_numpy() == pytest.approx(d, rel=0.005)
    assert exact["nearest_id"].tolist() == [1, 1]
    with pytest.raises(ValueError, match="hh_id"):
        nearest_locality(pd.concat([hh, hh]), locs)
    with pytest.raises(ValueError, match="localities"):
        nearest_locality(hh, locs.assign(latitude=[-10.0, 50.0]))


# ----------------------------------------------------------------------------- geo-referencing
def _centres():
    return pd.DataFrame({
        "codccpp": ["0801010001", "0801010002", "0801010003", "0801010004", "0801020001",
                    "0801020002"],
        "ubigeo": ["080101", "080101", "080101", "080101", "080102", "080102"],
        "nomccpp": ["SANTA ROSA", "SAN JUAN", "SAN JUAN", "HUAYLLA", "PIÑA", "GENERAL ORTIZ"],
        "latitud": [-13.5, -13.6, -13.7, -13.8, -13.9, -14.0],
        "longitud": [-72.0, -72.1, -72.2, -72.3, -72.4, -72.5],
    })


def _register():
    return pd.DataFrame({
        "id_localidad": [1, 2, 3, 4, 5, 6, 7, 8, 9],
        "departamento": ["CUSCO"] * 7 + ["PUNO", "PUNO"],
        "ubigeo": ["080101", "080101", "080101", "080101", "080102", "80102", "080101",
                   "210101", "080102"],
        "codccpp": ["0801010004", "", None, "", "", "", "0801019999", "", ""],
        "localidad": ["whatever", "CC.PP. Sta. Rosa", "caserio san juan", "NO EXISTE",
                      "Anexo Pina ", "Gral. Ortiz", "Santa  Rosa", "SANTA ROSA", ""],
    })


@pytest.fixture(scope="module")
def georef_result():
    return georeference(_register(), _centres())


def test_georeference_rules(georef_result):
    loc, _ = georef_result
    by = loc.groupby("id_localidad")
    assert by["match"].first().to_dict() == {
        1: "code", 2: "name", 3: "ambiguous", 4: "unmatched", 5: "name", 6: "name", 7: "name",
        8: "unmatched", 9: "unmatched"}
    assert loc.loc[loc["id_localidad"] == 1, "codccpp"].tolist() == ["0801010004"]
    assert loc.loc[loc["id_localidad"] == 2, "codccpp"].tolist() == ["0801010001"]
    # ambiguous: every candidate kept, one row each
    assert loc.loc[loc["id_localidad"] == 3, "codccpp"].tolist() == ["0801010002", "0801010003"]
    assert loc.loc[loc["id_localidad"] == 6, "codccpp"].tolist() == ["0801020002"]  # padding lost
    reasons = loc.set_index("id_localidad")["reason"]
    assert reasons[8] == "unknown district"
    assert reasons[4] == "no name match in district"
    assert reasons[9] == "no code and no name"
    un = loc[loc["match"] == "unmatched"]
    assert un["latitude"].isna().all() and (un["codccpp"] == "").all()
    assert loc.loc[loc["match"] != "unmatched", "latitude"].notna().all()


def test_table1_structure(georef_result):
    loc, t1 = georef_result
    t1 = t1.set_index("departamento")
    assert list(t1.index) == ["CUSCO", "PUNO", "Total"]
    assert t1.loc["CUSCO", ["no", "yes", "total"]].tolist() == [1, 7, 8]  # 3 is ambiguous: 2 rows
    assert t1.loc["PUNO", ["no", "yes", "total"]].tolist() == [2, 0, 2]
    assert t1.loc["Total", ["no", "yes", "total"]].tolist() == [3, 7, 10]
    assert t1.loc["Total", "total"] == len(loc)
    assert t1.loc[["CUSCO", "PUNO"], "yes_vpct"].sum() == pytest.approx(100)
    assert (t1["no_hpct"] + t1["yes_hpct"]).to_numpy() == pytest.approx(100)
    assert t1.loc["CUSCO", "yes_hpct"] == pytest.approx(87.5)


def test_georeference_duplicate_ids():
    reg = pd.concat([_register(), _register().iloc[[2]]])
    with pytest.raises(ValueError, match=r"id_localidad: duplicated ids \[3\]"):
        georeference(reg, _centres())


def test_table1_study_totals():
    # the study's 139 unmatched, 878 geo-referenced rows: 17 ambiguous localities hold 34 rows
    n = 139 + 844 + 17
    match = ["unmatched"] * 139 + ["code"] * 844 + ["ambiguous"] * 17
    loc = pd.DataFrame({"id_localidad": np.arange(n), "departamento": "PUNO", "match": match})
    extra = loc[loc["match"] == "ambiguous"]
    t = table1(pd.concat([loc, extra])).set_index("departamento")
    assert t.loc["Total", ["no", "yes", "total"]].tolist() == [139, 878, 1017]


# ----------------------------------------------------------------------------- sample
def _households(n=600, seed=3):
    rng = np.random.default_rng(seed)
    hh = pd.DataFrame({
        "year": rng.choice([2007, 2008, 2009, 2010, 2011, 2012], n).astype("int16"),
        "conglome": [f"{i:06d}" for i in range(n)], "vivienda": "001", "hogar": "11",
        "producer": rng.integers(0, 2, n), "has_laborer": rng.integers(0, 2, n),
    })
    hh["hh_id"] = hh["year"].astype(str) + "-" + hh["conglome"] + "-001-11"
    d = rng.uniform(0, 35, n)
    d[:6] = [0.0, 2.0, 10.0, 20.0, 20.000001, 9.0]
    dist = pd.DataFrame({"hh_id": hh["hh_id"], "dist_km": d, "nearest_id": 1, "reason": ""})
    dist.loc[6:8, ["dist_km", "reason"]] = [np.nan, "missing coordinates"]
    return hh, dist


def test_band_edges():
    s = pd.Series([0.0, 1e-9, 2.0, 2.0 + 1e-9, 10.0, 15.0, 20.0, 20.0 + 1e-9, np.nan, np.inf])
    assert assign_band(s, BANDS).tolist() == [
        "0-2", "0-2", "0-2", "2-4", "8-10", "10-15", "15-20", pd.NA, pd.NA, pd.NA]


@pytest.mark.parametrize("sample,rule", [
    ("producers", lambda h: h["producer"] == 1),
    ("producers_and_laborers", lambda h: (h["producer"] == 1) | (h["has_laborer"] == 1)),
    ("laborers_only", lambda h: (h["producer"] == 0) & (h["has_laborer"] == 1)),
])
def test_spatial_sample_filters_and_ledger(sample, rule):
    hh, dist = _households()
    out, led = spatial_sample(hh, dist, sample_space_km=20, treatment_radius_km=10, ring_km=None,
                              bands_km=BANDS, post_start=2010, sample=sample)
    check_balance(led, ["spatial", "sample"])
    m = hh.merge(dist, on="hh_id")
    expect = m[(m["dist_km"] <= 20) & rule(m)]
    assert sorted(out["hh_id"]) == sorted(expect["hh_id"])
    assert (led["stage"] == "spatial").sum() == len(hh)  # every household-year accounted for
    assert (led["outcome"] == "kept").sum() - (led["stage"] == "sample").sum() == len(out)
    assert (led["reason"] == "no usable coordinates: missing coordinates").sum() == 3
    assert out["treated"].tolist() == (out["dist_km"] <= 10).astype(int).tolist()
    assert out["post"].tolist() == (out["year"] >= 2010).astype(int).tolist()
    assert out["band"].notna().all()
    edge = out.set_index("hh_id")
    for i, (band, treated) in {0: ("0-2", 1), 2: ("8-10", 1), 3: ("15-20", 0)}.items():
        h = hh["hh_id"].iloc[i]
        if h in edge.index:
            assert (edge.loc[h, "band"], edge.loc[h, "treated"]) == (band, treated)
    assert hh["hh_id"].iloc[4] not in edge.index  # 20.000001 km: beyond


def test_ring_dropped_and_recorded():
    hh, dist = _households()
    hh["producer"] = 1
    out, led = spatial_sample(hh, dist, sample_space_km=20, treatment_radius_km=10, ring_km=[9, 11],
                              bands_km=BANDS, post_start=2010)
    check_balance(led)
    m = hh.merge(dist, on="hh_id")
    n_ring = int(((m["dist_km"] > 9) & (m["dist_km"] <= 11)).sum())
    assert n_ring > 0
    assert (led["reason"] == "in the non-contamination ring (9-11 km)").sum() == n_ring
    assert not ((out["dist_km"] > 9) & (out["dist_km"] <= 11)).any()
    # exactly 9 km is not in the ring (9, 11]: it stays in the sample
    assert hh["hh_id"].iloc[5] in set(out["hh_id"])


@pytest.mark.parametrize("kwargs,key", [
    (dict(treatment_radius_km=25), "spatial.treatment_radius_km"),
    (dict(ring_km=[11, 13]), "spatial.ring_km"),
    (dict(ring_km=[5, 21]), "spatial.ring_km"),
    (dict(bands_km=[0, 5, 15]), "spatial.bands_km"),
    (dict(bands_km=[0, 5, 5, 20]), "spatial.bands_km"),
    (dict(sample="everyone"), "spatial.sample"),
    (dict(sample_space_km=0), "spatial.sample_space_km"),
])
def test_argument_validation(kwargs, key):
    hh, dist = _households(20)
    args = dict(sample_space_km=20, treatment_radius_km=10, ring_km=None, bands_km=BANDS,
                post_start=2010, sample="producers")
    args.update(kwargs)
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        spatial_sample(hh, dist, **args)


def test_table2_counts():
    hh, dist = _households()
    t = table2(attach_distances(hh, dist), BANDS, 20, [2007, 2008, 2009, 2010, 2011, 2012])
    t = t.set_index("year")
    assert list(t.columns) == ["0-2", "2-4", "4-6", "6-8", "8-10", "10-15", "15-20", "sample space",
                               ">20 km", "no coordinates", "total ENAHO"]
    m = hh.merge(dist, on="hh_id")
    m = m[m["producer"] == 1]
    assert t.loc["Total", "total ENAHO"] == len(m)
    assert t.loc["Total", "sample space"] == int((m["dist_km"] <= 20).sum())
    assert t.loc["Total", ">20 km"] == int((m["dist_km"] > 20).sum())
    assert t.loc["2010", "0-2"] == int(((m["year"] == 2010) & (m["dist_km"] <= 2)).sum())
    body = t.drop(index="Total")
    assert (body.sum() == t.loc["Total"]).all()


@pytest.mark.parametrize("sample,ring", [("producers", None), ("producers_and_laborers", [9, 11]),
                                         ("laborers_only", [8, 12])])
def test_one_sample_rule_for_the_spatial_sample_and_the_dd_grid(sample, ring):
    """The DD grid's estimation frame (pra.did.specs.prepare_sample) keeps the same households as
    the spatial sample and drops the others for the same reasons, counted alike."""
    from pra.did.specs import prepare_sample

    hh, dist = _households()
    hh["locality"] = hh["conglome"]
    hh["semester"] = hh["year"].astype(str) + "-I"
    out, led = spatial_sample(hh, dist, sample_space_km=20, treatment_radius_km=10, ring_km=ring,
                              bands_km=BANDS, post_start=2010, sample=sample)
    spec = {"spec_id": "x", "family": "base", "sample": sample, "sample_space_km": 20.0, "radius_km": 10.0,
            "ring": None if ring is None else f"{ring[0]}-{ring[1]}", "post_start": 2010}
    frame, dropped = prepare_sample(attach_distances(hh, dist), spec)
    assert sorted(frame["hh_id"]) == sorted(out["hh_id"])
    assert frame.set_index("hh_id")["treated"].sort_index().tolist() == \
        out.set_index("hh_id")["treated"].sort_index().tolist()
    ledger_drops = led[led["outcome"] == "dropped"]["reason"].value_counts().to_dict()
    assert dropped == ledger_drops and sum(dropped.values()) > 0


# ----------------------------------------------------------------------------- Maps 1 and 2
# Peru's 25 departments (INEI codes; Callao is 07), typed here independently of the data file
DEPARTMENTS = {
    "01": "AMAZONAS", "02": "ANCASH", "03": "APURIMAC", "04": "AREQUIPA", "05": "AYACUCHO",
    "06": "CAJAMARCA", "07": "CALLAO", "08": "CUSCO", "09": "HUANCAVELICA", "10": "HUANUCO",
    "11": "ICA", "12": "JUNIN", "13": "LA LIBERTAD", "14": "LAMBAYEQUE", "15": "LIMA",
    "16": "LORETO", "17": "MADRE DE DIOS", "18": "MOQUEGUA", "19": "PASCO", "20": "PIURA",
    "21": "PUNO", "22": "SAN MARTIN", "23": "TACNA", "24": "TUMBES", "25": "UCAYALI",
}


def test_department_polygons_are_the_25_real_ones():
    import json
    from importlib.resources import files

    from pra.geo.maps import department_polygons

    polys = department_polygons()
    assert list(polys) == sorted(DEPARTMENTS)
    feats = json.loads((files("pra") / "data" / "peru_departamental_simple.geojson")
                       .read_text(encoding="utf-8"))["features"]
    names = {f["properties"]["FIRST_IDDP"]: f["properties"]["NOMBDEP"] for f in feats}
    assert {k: v.replace("Á", "A") for k, v in names.items()} == DEPARTMENTS
    # real geometry: Lima's capital inside Lima, Cusco's inside Cusco, Puno's by Lake Titicaca
    from shapely import Point
    assert polys["15"].contains(Point(-77.0428, -12.0464))
    assert polys["08"].contains(Point(-71.9675, -13.5320))
    assert polys["21"].contains(Point(-70.0199, -15.8402))
    # Peru's area is about 1.285 million km² (planar degrees² at ~10°S, a loose check)
    area = sum(p.area for p in polys.values()) * 111.32 ** 2 * np.cos(np.radians(10))
    assert 1.15e6 < area < 1.45e6


def test_map1_written_and_deterministic(tmp_path, random_case):
    from pra.geo.maps import map1

    hh, locs, res = random_case
    h = hh.iloc[:400].merge(res[["hh_id", "dist_km"]], on="hh_id")
    h.loc[0, "latitude"] = np.nan
    digests = []
    for run in range(2):
        png, pdf = tmp_path / f"m{run}.png", tmp_path / f"m{run}.pdf"
        info = map1(h, locs.iloc[:60], sample_space_km=20, treatment_radius_km=10,
                    paths=[png, pdf], dpi=40)
        assert png.read_bytes()[:4] == b"\x89PNG" and pdf.read_bytes()[:4] == b"%PDF"
        digests.append((png.read_bytes(), pdf.read_bytes()))
        assert info["departments"] == sorted(DEPARTMENTS)
        assert info["households_without_coordinates"] == 1 and info["households_drawn"] == 399
    assert digests[0] == digests[1]
    # the caption credits the boundaries' source
    assert "juaneladio/peru-geojson" in info["caption"] and "MPL-2.0" in info["caption"]
    assert "1 household-years without usable coordinates" in info["caption"]


def test_map2_fills_frame_districts_and_draws_the_25_departments(tmp_path):
    from pra.geo.map2 import map2

    frame = pd.DataFrame({"ubigeo": ["080601", "080602", "090101", "050413", "999999"],
                          "grupo": ["corredor", "adyacente", "corredor", "adyacente", "corredor"]})
    sample = pd.DataFrame({"period": [2009, 2009, 2012, 2012], "grupo": ["corredor", "adyacente"] * 2,
                           "latitude": [-14.2, -14.3, -14.25, np.nan],
                           "longitude": [-71.4, -71.5, -71.45, -71.4]})
    png, pdf = tmp_path / "m2.png", tmp_path / "m2.pdf"
    info = map2(sample, frame, paths=[png, pdf], dpi=40)
    assert info["departments"] == sorted(DEPARTMENTS)
    # 050413 was created after 2007 (no polygon): drawn at its capital; 999999 exists nowhere
    assert info["frame_districts_filled"] == 3 and info["frame_districts_at_capital"] == 1
    assert info["frame_districts_not_drawn"] == 1
    assert info["households_drawn"] == 3 and info["households_without_coordinates"] == 1
    assert png.read_bytes()[:4] == b"\x89PNG" and pdf.read_bytes()[:4] == b"%PDF"
    assert "juaneladio/peru-geojson" in info["caption"] and "1 frame districts without a polygon" \
        in info["caption"]


# ----------------------------------------------------------------------------- embedded data
@pytest.fixture(scope="module")
def embedded(embedded_tree):
    return embedded_tree  # scale 0.1, seed 20140601 (conftest.py)


def test_embedded_table1_recovers_truth(embedded):
    codes = {"codccpp": str, "ubigeo": str}
    reg = pd.read_csv(embedded / "pra2_localidades.csv", dtype=codes)
    cen = pd.read_csv(embedded / "centros_poblados.csv", dtype=codes)
    loc, t1 = georeference(reg, cen)
    truth = pd.read_parquet(embedded / "truth" / "localities.parquet")
    # status of every locality, and the exact set of candidate centres
    got = loc.drop_duplicates("id_localidad").set_index("id_localidad")["match"].sort_index()
    want = truth.drop_duplicates("id_localidad").set_index("id_localidad")["status"].sort_index()
    assert got.index.equals(want.index)
    assert (got == want).all(), pd.crosstab(got, want)
    pairs = set(zip(loc["id_localidad"], loc["codccpp"]))
    assert pairs == set(zip(truth["id_localidad"], truth["codccpp_candidate"].fillna("")))
    t_json = json.loads((embedded / "truth.json").read_text())["table1"]
    t1 = t1.set_index("departamento").rename(index={"Total": "TOTAL"})
    assert {d: {k: int(t1.loc[d, k]) for k in ["no", "yes", "total"]} for d in t1.index} == t_json


def _conglomerate_points(embedded) -> pd.DataFrame:
    """Conglomerate coordinates from module 100 of 2008 (CSV) and 2012 (Stata 118), readable
    without the ingest stage; every conglomerate of the panel appears in one of them."""
    a = pd.read_csv(embedded / "enaho" / "2008" / "enaho01-2008-100.csv",
                    usecols=["conglome", "latitud", "longitud"])
    b = pd.read_stata(embedded / "enaho" / "2012" / "enaho01-2012-100.dta",
                      columns=["conglome", "latitud", "longitud"], convert_categoricals=False)
    pts = pd.concat([a, b], ignore_index=True)
    pts["conglome"] = pd.to_numeric(pts["conglome"]).astype("int64")
    pts = pts.dropna().drop_duplicates()
    assert not pts["conglome"].duplicated().any(), "a conglomerate with two positions"
    return pts


def test_embedded_distances_and_table2_equal_truth(embedded, con):
    codes = {"codccpp": str, "ubigeo": str}
    loc, _ = georeference(pd.read_csv(embedded / "pra2_localidades.csv", dtype=codes),
                          pd.read_csv(embedded / "centros_poblados.csv", dtype=codes))
    th = pd.read_parquet(embedded / "truth" / "households.parquet")
    th = th[th["interview"] == 1].copy()
    th["hh_id"] = (th["year"].astype(str) + "-" + th["conglome"] + "-" + th["vivienda"] + "-"
                   + th["hogar"])
    pts = _conglomerate_points(embedded)
    th["cong"] = pd.to_numeric(th["conglome"]).astype("int64")
    hh = th.merge(pts, left_on="cong", right_on="conglome", how="left", suffixes=("", "_m"))
    assert hh["latitud"].notna().all(), "truth households without conglomerate coordinates"
    res = nearest_locality(hh.rename(columns={"latitud": "latitude", "longitud": "longitude"}), loc, con=con)
    assert (res["reason"] == "").all()
    assert res["dist_km"].to_numpy() == pytest.approx(hh["dist_km"].to_numpy(), abs=1e-3)
    assert (res["nearest_id"].to_numpy() == hh["nearest_id"].to_numpy()).all()

    # Table 2 on the producer households (truth hh_type), against truth.json
    flags = hh[["hh_id", "year"]].assign(producer=(hh["hh_type"] == "producer").astype(int),
                                         has_laborer=0)
    t2 = table2(attach_distances(flags, res), BANDS, 20, [2007, 2008, 2009, 2010, 2011, 2012])
    t2 = t2.set_index("year")
    want = json.loads((embedded / "truth.json").read_text())["table2"]
    rename = {"sample space": "sample_space", ">20 km": ">=20", "total ENAHO": "total"}
    for year, row in want.items():
        got = t2.loc[year].rename(rename)
        assert got["no coordinates"] == 0
        assert {k: int(got[k]) for k in row} == row, year


def test_household_without_distance_row_is_recorded():
    hh, dist = _households(50)
    out, led = spatial_sample(hh, dist.iloc[5:], sample_space_km=20, treatment_radius_km=10,
                              bands_km=BANDS, post_start=2010)
    check_balance(led)
    assert (led["reason"] == "no usable coordinates: no distance computed").sum() == 5
    assert not set(hh["hh_id"].iloc[:5]) & set(out["hh_id"])
