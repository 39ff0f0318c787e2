"""Geo-referencing the PRA-II beneficiary register on INEI's populated-centre map (study §3.1.1).

Rule (documented in the study, footnote 7):

1. **Code.** A register row whose ``codccpp`` is non-empty and present in the centre map takes that
   centre's coordinates (``match='code'``).
2. **Name within district.** Every other row (no code, or a code absent from the map) is matched on
   the normalised locality name (``pra.names.normalise_name``: accents, case, prefixes such as
   "CC.PP."/"CASERIO"/"ANEXO", abbreviations STA./STO./SN./GRAL.) against the normalised names of the
   centres *in the same district* (``ubigeo``). One candidate: ``match='name'``. Several candidates:
   ``match='ambiguous'`` and every candidate is kept, one row each (the study keeps all of them).
3. Otherwise ``match='unmatched'`` (no coordinates) with a ``reason``; a district code that is not
   in the map is reported as ``'unknown district'``.

Table 1 counts, by department, the unmatched register localities ("No") and the geo-referenced
rows ("Yes": one per candidate, so ambiguous localities count once per candidate, as in the study's
139 / 878 / 1,017).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

REGISTER_COLUMNS = ["id_localidad", "departamento", "ubigeo", "codccpp", "localidad"]
CENTRE_COLUMNS = ["codccpp", "ubigeo", "nomccpp", "latitud", "longitud"]
LOCALITY_COLUMNS = [
    "id_localidad", "departamento", "ubigeo", "localidad", "codccpp",
    "latitude", "longitude", "match", "reason",
]
MATCHES = ("code", "name", "ambiguous", "unmatched")


def _default_normaliser() -> Callable[[str], str]:
    # Imported lazily: pra.names is owned by another stage and may be edited independently.
    from pra.names import normalise_name

    return normalise_name


def _require(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {missing}; present: {list(frame.columns)}")


def _code(series: pd.Series, width: int) -> pd.Series:
    """Codes as zero-filled strings ('' when missing); CSV readers may have turned them into ints."""
    s = series.astype("string").str.strip().fillna("")
    s = s.str.replace(r"\.0$", "", regex=True)  # 10101.0 from a float column
    return s.where(s == "", s.str.zfill(width)).astype(object)


def _normalise_all(names: pd.Series, norm: Callable[[str], str]) -> pd.Series:
    """Apply ``norm`` once per distinct name (INEI's 94,922 centres carry 62,503 distinct names)."""
    s = names.astype("string").fillna("").astype(object)
    uniq = pd.unique(s)
    lookup = dict(zip(uniq, (norm(u) if u else "" for u in uniq)))
    return s.map(lookup).fillna("").astype(object)


def georeference(
    register: pd.DataFrame,
    centres: pd.DataFrame,
    normalise: Callable[[str], str] | None = None,
    health=None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Match the register to the centre map; return ``(localities, table1)``.

    ``localities`` has one row per register locality and candidate centre with columns
    ``LOCALITY_COLUMNS`` (``latitude``/``longitude`` NaN and ``codccpp`` '' when unmatched;
    ``reason`` '' when matched). ``table1`` is :func:`table1` of it. Codes and coordinates that
    fail to parse are counted in ``health`` (:class:`pra.ingest.health.Health`; a default one
    when None) and stop the run above ``data.checks.max_parse_failures``.
    """
    from pra.ingest.health import Health, check_keys, parse_numbers

    health = health if health is not None else Health()
    reg_file = register.attrs.get("source", "pra2_localidades.csv")
    cen_file = centres.attrs.get("source", "centros_poblados.csv")
    _require(register, REGISTER_COLUMNS, "register (pra2_localidades.csv)")
    _require(centres, CENTRE_COLUMNS, "centre map (centros_poblados.csv)")
    norm = normalise or _default_normaliser()

    reg = register[REGISTER_COLUMNS].copy()
    dup = reg["id_localidad"].duplicated(keep=False)
    if dup.any():
        ids = sorted(reg.loc[dup, "id_localidad"].unique().tolist())
        raise ValueError(
            f"register (pra2_localidades.csv), column id_localidad: duplicated ids {ids[:10]} "
            f"({int(dup.sum())} rows, register rows {reg.index[dup].tolist()[:10]})"
        )
    check_keys(reg, ["ubigeo", "codccpp"], file=reg_file, health=health)
    reg["ubigeo"] = _code(reg["ubigeo"], 6)
    reg["codccpp"] = _code(reg["codccpp"], 10)
    reg["localidad"] = reg["localidad"].astype("string").fillna("").astype(object)
    reg["departamento"] = reg["departamento"].astype("string").str.strip().str.upper().astype(object)

    cen = centres[CENTRE_COLUMNS].copy()
    cen["codccpp"] = _code(cen["codccpp"], 10)
    cen["ubigeo"] = _code(cen["ubigeo"], 6)
    check_keys(centres, ["codccpp", "ubigeo"], file=cen_file, health=health)
    cen["latitude"] = parse_numbers(cen["latitud"], file=cen_file, column="latitud", health=health)
    cen["longitude"] = parse_numbers(cen["longitud"], file=cen_file, column="longitud",
                                     health=health)
    dupc = cen["codccpp"].duplicated(keep=False) & (cen["codccpp"] != "")
    if dupc.any():
        raise ValueError(
            "centre map (centros_poblados.csv), column codccpp: duplicated codes "
            f"{sorted(cen.loc[dupc, 'codccpp'].unique().tolist())[:10]}"
        )
    known = set(cen["ubigeo"])
    # A centre without coordinates cannot place a locality: it is left out of both matching steps
    # (counted in the reason of the localities it would have matched).
    cen = cen.loc[cen["latitude"].notna() & cen["longitude"].notna(),
                  ["codccpp", "ubigeo", "nomccpp", "latitude", "longitude"]]

    # 1. by centre code
    by_code = reg[reg["codccpp"] != ""].merge(
        cen[["codccpp", "latitude", "longitude"]], on="codccpp", how="inner")
    by_code["match"] = "code"
    by_code["reason"] = ""
    rest = reg[~reg["id_localidad"].isin(by_code["id_localidad"])].copy()

    # 2. by normalised name within the district (names normalised once per distinct string)
    unknown = ~rest["ubigeo"].isin(known)
    rest["key"] = _normalise_all(rest["localidad"], norm)
    # only the centres of those rows' districts can match (the merge is within the district)
    cen_names = cen[cen["ubigeo"].isin(rest["ubigeo"])]
    cen_names = cen_names.assign(key=_normalise_all(cen_names["nomccpp"], norm))
    cen_names = cen_names[cen_names["key"] != ""]
    cand = rest[~unknown & (rest["key"] != "")].merge(
        cen_names[["ubigeo", "key", "codccpp", "latitude", "longitude"]],
        on=["ubigeo", "key"], how="inner", suffixes=("_reg", ""),
    ).drop(columns="codccpp_reg")
    n_cand = cand.groupby("id_localidad")["codccpp"].transform("size")
    cand["match"] = np.where(n_cand > 1, "ambiguous", "name")
    cand["reason"] = ""

    # 3. unmatched, each with its reason
    un = rest[~rest["id_localidad"].isin(cand["id_localidad"])].copy()
    had_code = un["codccpp"] != ""
    un["reason"] = np.select(
        [~un["ubigeo"].isin(known), un["key"] == "", had_code],
        ["unknown district", "no code and no name", "code not in map (or centre without coordinates); no name match in district"],
        default="no name match in district",
    )
    un["match"] = "unmatched"
    un["codccpp"] = ""
    un["latitude"] = np.nan
    un["longitude"] = np.nan

    out = pd.concat([by_code, cand, un], ignore_index=True)
    out = out[LOCALITY_COLUMNS].sort_values(["id_localidad", "codccpp"], kind="mergesort")
    out = out.reset_index(drop=True)
    assert set(out["id_localidad"]) == set(reg["id_localidad"]), "a register row was lost"
    return out, table1(out)


def table1(localities: pd.DataFrame) -> pd.DataFrame:
    """Study Table 1: by department, No (unmatched localities) / Yes (geo-referenced rows) / Total,
    vertical % (share of each column's total) and horizontal % (share of the department's total)."""
    _require(localities, ["departamento", "match"], "localities")
    yes = localities["match"] != "unmatched"
    t = (
        pd.DataFrame({"departamento": localities["departamento"], "no": ~yes, "yes": yes})
        .groupby("departamento", sort=True)[["no", "yes"]]
        .sum()
        .astype("int64")
    )
    t.loc["Total"] = t.sum()
    t["total"] = t["no"] + t["yes"]
    for c in ["no", "yes", "total"]:
        t[f"{c}_vpct"] = 100 * t[c] / t.loc["Total", c] if t.loc["Total", c] else np.nan
    for c in ["no", "yes", "total"]:
        t[f"{c}_hpct"] = 100 * t[c] / t["total"].where(t["total"] > 0)
    return t.reset_index()


def unmatched_report(localities: pd.DataFrame) -> pd.DataFrame:
    """Counts of unmatched register localities by reason (for the log)."""
    un = localities[localities["match"] == "unmatched"]
    return un.groupby("reason").size().rename("localities").reset_index()
