"""Harmonise the programme's 2012 household survey (``encuesta_pra2_2012``) to the harmonised
ENAHO variables of ``docs/contract.md`` §3 (the follow-up of the matching design, Design 2).

Layout: ``docs/embedded_data.md`` §6. The survey is household level with ENAHO-like names:
``gashog2d`` is annual nominal expenditure deflated exactly as sumaria 2012 (``i00`` of 2012
by department, ``ld`` by dominioA), ``pobreza`` follows INEI's rule, ``p37`` uses the 2007–2011
coding (1 muy bien … 4 muy mal) and ``p39a`` is asked (so both subjective measures exist).
The treatment is not a column: a household is treated when its district (``ubigeo``) is a
``corredor`` district of the sample frame.

The rules it shares with ENAHO come from :mod:`pra.ingest.welfare`, :mod:`pra.ingest.variables`
and :mod:`pra.ingest.centres` (one implementation for both harmonisers).

Variables the survey does not carry (weights, module-500 labour variables, production values,
plots) are left missing, never imputed. Every row read is either kept or counted under one
drop reason; unknown codes are set missing and counted per column.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pra.contract import PROGRAMME_SURVEY_YEAR
from pra.ingest import schemas as S
from pra.ingest.centres import centre_lookup, prepare_centres
from pra.ingest.health import Health, check_keys, merge_checks, parse_numbers, read_csv_file
from pra.ingest.readers import (
    IngestError,
    format_value,
    normalise_id,
    read_meta,
    read_module,
    to_number,
)
from pra.ingest.variables import (
    HEAD_COLUMNS,
    head_variables,
    housing_indicators,
    region_variables,
    rooms,
)
from pra.ingest.welfare import (
    Deflators,
    dominio_a,
    expenditure_and_poverty,
    p37_reversed,
    price_indices,
    read_deflators,
    subjective_poverty,
)

YEAR = PROGRAMME_SURVEY_YEAR

SURVEY_COLUMNS = [
    "id_hogar", "ubigeo", "codccpp", "dominio", "estrato", "latitud", "longitud", "altitud",
    "mes", "mieperho", "gashog2d", "linea", "pobreza", "p37", "p39a", "p207", "p208a", "p209",
    "p301a", "p208a2", "p300a", "n_0_5", "n_6_14", "n_65plus", "p102", "p103", "p103a", "p104",
    "p110", "p111", "p1121", "p113a", "p20001a", "p20001b", "p20001c", "hectareas", "valida",
    "motivo",
]
# survey column -> ENAHO module whose code list (pra.ingest.schemas.CODES) applies
CODE_MODULE = {
    "pobreza": "sumaria", "dominio": "sumaria", "estrato": "sumaria",
    "p102": "100", "p103": "100", "p103a": "100", "p110": "100", "p111": "100", "p1121": "100",
    "p113a": "100", "p207": "200", "p209": "200", "p300a": "300", "p301a": "300",
    "p37": "01b2", "p39a": "01b2", "p20001a": "2000", "p20001b": "2000", "p20001c": "2000",
}
FRAME_GROUPS = ("corredor", "adyacente")

# Columns of the output, in order: the contract §3 columns plus the survey's own id and group.
OUTPUT_COLUMNS = ["id_hogar", "grupo", "treated", "source"] + S.HARMONISED_COLUMNS


def prepare_frame(frame: pd.DataFrame, name: str = "sample frame",
                  health: Health | None = None) -> pd.DataFrame:
    """Validate the sample frame (ubigeo, grupo ∈ {corredor, adyacente}, one row per district)."""
    miss = [c for c in ("ubigeo", "grupo") if c not in frame.columns]
    if miss:
        raise IngestError(f"{name}: lacks column(s) {miss} (has {list(frame.columns)})")
    f = frame[["ubigeo", "grupo"]].copy()
    f["ubigeo"] = normalise_id(f["ubigeo"], 6, strip_zeros=False)
    check_keys(f, ["ubigeo"], file=name, health=health if health is not None else Health())
    f["grupo"] = f["grupo"].astype("string").str.strip().str.lower()
    bad = f["ubigeo"].isna() | ~f["grupo"].isin(FRAME_GROUPS)
    if bad.any():
        rows = (np.flatnonzero(bad.to_numpy())[:10] + 1).tolist()
        raise IngestError(f"{name}: missing ubigeo or grupo not in {FRAME_GROUPS} in data rows {rows}")
    dup = f["ubigeo"].duplicated(keep=False)
    if dup.any():
        rows = (np.flatnonzero(dup.to_numpy())[:10] + 1).tolist()
        raise IngestError(f"{name}: column 'ubigeo' duplicated in data rows {rows}")
    return f.reset_index(drop=True)


def read_frame(path, checks: dict | None = None) -> pd.DataFrame:
    """Read and validate ``marco_muestral_2012.csv`` (ubigeo kept as text; any encoding and
    delimiter, :func:`pra.ingest.health.read_csv_file`; what was repaired in attrs['health'])."""
    df = read_csv_file(path, "sample frame", dtype={"ubigeo": "string"}, checks=checks)
    health = Health(checks=merge_checks(checks))
    out = prepare_frame(df, name=str(path), health=health)
    out.attrs["health"] = df.attrs["health"] + health.rows
    return out


def _coded(df: pd.DataFrame, report: dict, health: Health, file: str) -> pd.DataFrame:
    """Numeric view of the survey columns; unknown codes set missing and counted (text that is
    not a number: repaired by the documented rules, or a parse failure in ``health``)."""
    num = pd.DataFrame(index=df.index)
    for c in SURVEY_COLUMNS:
        if c in ("ubigeo", "codccpp", "p208a2", "motivo"):
            continue
        v = parse_numbers(df[c], file=file, column=c, health=health)
        text_bad = df[c].notna() & v.isna()
        bad = text_bad.copy()
        mod = CODE_MODULE.get(c)
        if mod and c in S.CODES.get(mod, {}):
            bad |= v.notna() & ~v.isin(S.CODES[mod][c])
        if bad.any():
            vc = df.loc[bad, c].map(format_value).value_counts().sort_index()
            report["unknown_codes"][c] = {str(k): int(n) for k, n in vc.items()}
            v = v.mask(bad)
        num[c] = v
    return num


def _read_survey(path: Path) -> tuple[pd.DataFrame, dict]:
    """The survey's columns (all required) and the value labels of its columns."""
    meta = read_meta(path)
    absent = [c for c in SURVEY_COLUMNS if c not in meta.original]
    if absent:
        raise IngestError(f"programme survey {path.name}: lacks column(s) {absent}")
    return read_module(path, SURVEY_COLUMNS, meta=meta), meta.value_labels


def _check_ids(raw: pd.DataFrame, path: Path) -> None:
    """``id_hogar`` present and unique on every row."""
    ids = to_number(raw["id_hogar"])
    if ids.isna().any():
        rows = (np.flatnonzero(ids.isna().to_numpy())[:10] + 1).tolist()
        raise IngestError(f"programme survey {path.name}: column 'id_hogar' missing in data rows {rows}")
    dup = ids.duplicated(keep=False)
    if dup.any():
        rows = (np.flatnonzero(dup.to_numpy())[:10] + 1).tolist()
        raise IngestError(f"programme survey {path.name}: column 'id_hogar' duplicated in data rows {rows}")


def _screen(raw: pd.DataFrame, num: pd.DataFrame, frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Drop reason per row ('' = kept; the first applicable wins, in the order an analyst would
    screen the rows) and the row's sample-frame group."""
    grp = raw[["ubigeo"]].merge(frame, on="ubigeo", how="left")["grupo"]
    grp.index = raw.index
    valida = num["valida"]
    motivo = raw["motivo"].fillna("no reason given").astype(str)
    reason = pd.Series("", index=raw.index, dtype=object)
    checks = [
        (valida != 1, "unusable (valida=0): " + motivo),
        (grp.isna(), "district not in the sample frame"),
        (num["gashog2d"].isna() | (num["gashog2d"] < 0), "expenditure (gashog2d) missing"),
        (~(num["mieperho"] >= 1), "household size (mieperho) missing or < 1"),
        (num["dominio"].isna() | num["estrato"].isna(), "dominio/estrato missing (no deflator)"),
    ]
    for cond, why in reversed(checks):  # reversed: the first check's reason overwrites later ones
        cond = pd.Series(cond, index=raw.index).fillna(True).astype(bool)
        reason = reason.mask(cond, why)
    return reason, grp


def _reason_counts(reason: pd.Series) -> pd.DataFrame:
    """Rows per drop reason, ``kept`` included (every row read under exactly one reason)."""
    counts = (reason.where(reason != "", "kept").value_counts().rename_axis("reason")
              .rename("rows").reset_index().sort_values("reason", kind="mergesort")
              .reset_index(drop=True))
    counts["rows"] = counts["rows"].astype("int64")
    return counts


def _keys_and_design(r: pd.DataFrame, n: pd.DataFrame, g: pd.Series, path: Path) -> pd.DataFrame:
    """Survey id, frame group and treatment, the contract's keys, month and semester."""
    out = pd.DataFrame(index=r.index)
    out["id_hogar"] = n["id_hogar"].astype("int64")
    out["grupo"] = g.astype(str)
    out["treated"] = (g == "corredor").astype("int64")
    out["source"] = "programme"
    out["year"] = np.int16(YEAR)
    # no ENAHO conglomerate: the survey's own id stands in, so hh_id stays unique across sources
    out["conglome"] = "pra"
    out["vivienda"] = "000"
    out["hogar"] = out["id_hogar"].map(lambda i: f"{i:06d}")
    out["hh_id"] = f"{YEAR}-pra-" + out["hogar"]
    out["ubigeo"] = r["ubigeo"].astype(str)
    out["dpto"] = out["ubigeo"].str[:2].astype(int).astype("int64")
    mes = n["mes"]
    if not mes.between(1, 12).all():
        bad = r.loc[~mes.between(1, 12), "id_hogar"].head(5).tolist()
        raise IngestError(f"programme survey {path.name}: column 'mes' not a month for id_hogar {bad}")
    out["mes"] = mes.astype("int64")
    out["semester"] = f"{YEAR}-" + pd.Series(np.where(out["mes"] <= 6, "I", "II"), index=out.index)
    out["factor07"] = np.nan  # the survey has no expansion factor
    return out


def _expenditure_and_poverty(n: pd.DataFrame, dpto: pd.Series, deflators: Deflators,
                             report: dict, path: Path) -> tuple[pd.DataFrame, pd.Series]:
    """Sumaria 2012's deflators and poverty rule (contract §1.1); also INEI's urban flag."""
    dA, urban = dominio_a(n["dominio"], n["estrato"], dpto)
    i00, ld = price_indices(deflators, YEAR, dpto, dA, source=f"programme survey {path.name}")
    cols, checks = expenditure_and_poverty(n["gashog2d"], n["mieperho"], n["linea"],
                                           n["pobreza"], i00, ld)
    report["checks"].update(checks)
    return cols, urban


def _subjective_poverty(n: pd.DataFrame, p37_labels: dict | None, report: dict,
                        path: Path) -> pd.DataFrame:
    """p37 in ENAHO's 2007–2011 coding (checked against the labels if present) and p39a."""
    reversed_p37, report["checks"]["p37_coding"] = p37_reversed(
        p37_labels, documented_reversed=False, source=f"programme survey {path.name}",
        documented_by="the programme survey", fallback="by the survey's documentation")
    return subjective_poverty(n["p37"], n["p39a"], reversed_p37)


def _household_and_housing(n: pd.DataFrame) -> pd.DataFrame:
    """Size and members by age (asked directly), housing dummies, persons per room."""
    out = n[["mieperho", "n_0_5", "n_6_14", "n_65plus"]].rename(columns={"mieperho": "hh_size"})
    out = out.join(housing_indicators(n, "p111"))
    out["persons_per_room"] = n["mieperho"] / rooms(n["p104"])
    return out


def _production(n: pd.DataFrame) -> pd.DataFrame:
    """Only the activity flags and hectares are asked; the rest stays missing."""
    def ind(cond, col):
        return cond.astype(float).where(n[col].notna())

    out = pd.DataFrame({
        "agri": ind(n["p20001a"] > 0, "p20001a"),
        "livestock": ind(n["p20001b"] > 0, "p20001b"),
        "forestry": ind(n["p20001c"] > 0, "p20001c"),
    }, index=n.index)
    for c in ("prod_value", "sales", "own_consumption", "titled_plots", "rainfed_plots"):
        out[c] = np.nan
    out["hectares"] = n["hectareas"]
    return out


def _labour(production: pd.DataFrame, report: dict) -> pd.DataFrame:
    """Labour is not asked; producer = the activity rule of contract §1.2 (the programme
    sampled producers, and the survey has no module 500 for the dependent-only exclusion)."""
    out = pd.DataFrame(np.nan, index=production.index,
                       columns=["indep_pra_goods", "dependent_only", "has_laborer"])
    agri_hh = production[["agri", "livestock", "forestry"]].fillna(0).sum(axis=1) > 0
    out["producer"] = agri_hh.astype(float)
    out["hh_type"] = np.where(agri_hh, "producer", "other")
    report["checks"]["households_without_production_activity"] = int((~agri_hh).sum())
    return out


def _locality(r: pd.DataFrame, n: pd.DataFrame, cen: pd.DataFrame, report: dict) -> pd.DataFrame:
    """Locality = codccpp; households/population 2007 and altitude from the centre map."""
    checks = report["checks"]
    out = pd.DataFrame({"latitude": n["latitud"], "longitude": n["longitud"]}, index=r.index)
    locality = normalise_id(r["codccpp"], 10, strip_zeros=False).astype(object)
    out["locality"] = locality.where(locality.notna(), None)
    lk, not_in_map = centre_lookup(out["locality"], cen)
    checks["households_without_locality"] = int(out["locality"].isna().sum())
    checks["localities_not_in_centre_map"] = not_in_map
    # ENAHO 2009 (the baseline) takes altitude from the centre map: the same source here, the
    # survey's own altitud only where the centre is not in the map (counted)
    alt_map = lk["altitud"].to_numpy(float)
    out["altitude"] = np.where(np.isnan(alt_map), n["altitud"].to_numpy(float), alt_map)
    checks["altitude_from_survey_not_map"] = int((np.isnan(alt_map) & n["altitud"].notna()).sum())
    checks["altitude_survey_differs_from_map_gt_1m"] = int(
        (np.abs(alt_map - n["altitud"].to_numpy(float)) > 1).sum())
    out["households_2007"] = lk["hogares_2007"].to_numpy(float)
    out["population_2007"] = lk["poblacion_2007"].to_numpy(float)
    return out


def _finalise(out: pd.DataFrame) -> pd.DataFrame:
    """Output order and types: numbers float64 (ids, year, dpto, mes, treated integers)."""
    out = out[OUTPUT_COLUMNS].sort_values("id_hogar", kind="mergesort").reset_index(drop=True)
    for c in out.columns:
        if c in ("year", "dpto", "mes", "id_hogar", "treated"):
            continue
        if out[c].dtype == object or isinstance(out[c].dtype, pd.StringDtype):
            out[c] = out[c].astype(object).where(pd.notna(out[c]), None)
        else:
            out[c] = out[c].astype("float64")
    return out


def harmonise_programme_survey(path, frame: pd.DataFrame, *, deflator_dir, centres: pd.DataFrame,
                               checks: dict | None = None):
    """Harmonise the programme survey → (table, counts, report).

    ``path``: ``encuesta_pra2_2012`` (.dta/.sav/.csv, read with :func:`pra.ingest.readers.read_module`);
    ``frame``: the sample frame (ubigeo, grupo); ``deflator_dir``: the folder with
    ``deflactores_base2012_new`` and ``despacial_ldnew``; ``centres``: the populated-centre map.

    ``table``: one row per usable household, columns :data:`OUTPUT_COLUMNS` (contract §3 names;
    ``year`` 2012, ``hh_id`` ``"2012-pra-<id_hogar>"``, ``locality`` = ``codccpp``,
    ``treated`` = corridor district). ``counts``: reason, rows (``kept`` included) — every row
    read appears under exactly one reason. ``report``: unknown codes and consistency checks,
    and ``health``: the data-health entries (:mod:`pra.ingest.health`; thresholds ``checks``).
    """
    path = Path(path)
    raw, labels = _read_survey(path)
    return harmonise_programme_table(raw, labels, frame, deflator_dir=deflator_dir, centres=centres,
                                     checks=checks, name=path.name)


def harmonise_programme_table(raw: pd.DataFrame, labels: dict, frame: pd.DataFrame, *,
                              centres: pd.DataFrame, deflator_dir=None, deflators: Deflators | None = None,
                              checks: dict | None = None, name: str = "encuesta_pra2_2012"):
    """:func:`harmonise_programme_survey` on the survey's columns as read (``raw``, ``labels``:
    value labels by column), with the deflators read from ``deflator_dir`` or given as read
    (``deflators``); ``name`` names the file in messages."""
    path = Path(name)
    report: dict = {"file": path.name, "rows_read": int(len(raw)), "unknown_codes": {}, "checks": {}}
    health = Health(YEAR, merge_checks(checks))
    health.extend(frame.attrs.get("health"))
    health.extend(raw.attrs.get("health"))
    health.rows_read(path.name, len(raw))
    if raw.empty:
        raise IngestError(f"programme survey {path.name}: the file holds no data rows (header only)")
    fr = prepare_frame(frame, health=health)
    cen = prepare_centres(centres, health=health)
    if deflators is None:
        deflators = read_deflators(deflator_dir, health=health)
    _check_ids(raw, path)
    num = _coded(raw, report, health, path.name)

    reason, grp = _screen(raw, num, fr)
    counts = _reason_counts(reason)
    keep = reason == ""
    r = raw[keep].reset_index(drop=True)
    n = num[keep].reset_index(drop=True)
    out = _keys_and_design(r, n, grp[keep].reset_index(drop=True), path)
    welfare, urban = _expenditure_and_poverty(n, out["dpto"], deflators, report, path)
    production = _production(n)
    sections = [
        welfare,
        _subjective_poverty(n, labels.get("p37"), report, path),
        head_variables(n[HEAD_COLUMNS], r["p208a2"], out["ubigeo"]),
        _household_and_housing(n),
        production,
        _labour(production, report),
        _locality(r, n, cen, report),
        region_variables(n["dominio"], urban),
    ]
    for part in sections:
        for c in part.columns:
            out[c] = part[c]
    out["unknown_codes"] = ""

    out = _finalise(out)
    if int(counts["rows"].sum()) != len(raw) or len(out) != int(counts.loc[counts["reason"] == "kept", "rows"].sum()):
        raise IngestError("internal: programme survey counts do not balance")  # pragma: no cover
    report["rows_kept"] = int(len(out))
    for _, row in counts[counts["reason"] != "kept"].iterrows():
        health.add(path.name, "", f"households dropped: {row['reason']}", row["rows"],
                   action="by design" if row["reason"].startswith("unusable") else "dropped")
    report["health"] = health.rows
    report["by_group"] = {k: int(v) for k, v in out["grupo"].value_counts().sort_index().items()}
    return out, counts, report

__all__ = ["OUTPUT_COLUMNS", "harmonise_programme_survey", "harmonise_programme_table", "prepare_frame", "read_frame"]
