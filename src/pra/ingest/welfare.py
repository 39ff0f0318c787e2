"""Welfare measures, one home for both harmonisers (ENAHO and the programme survey).

INEI's deflators (``deflactores_base2012_new``: ``i00`` by year and department;
``despacial_ldnew``: ``ld`` by dominioA), real per-capita expenditure, INEI's poverty status and
the poverty gap, and subjective poverty from the perception module (``p37``, ``p39a``). Rules:
``docs/enaho_layout.md`` §3 (deflation), ``docs/contract.md`` §3 (the harmonised variables).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pra.ingest import schemas as S
from pra.ingest.readers import (
    IngestError,
    ModuleSource,
    find_module,
    read_meta,
    read_module,
    source_name,
)

LIMA, CALLAO = 15, 7
SELVA_BAJA_DPTOS = (16, 17, 25)  # Loreto, Madre de Dios, Ucayali
P37_CODINGS = {True: "1 muy mal … 4 muy bien", False: "1 muy bien … 4 muy mal"}


@dataclass(frozen=True)
class Deflators:
    """INEI's two deflator tables, validated (one row per key)."""

    time: pd.DataFrame  # defl_year, dpto_defl, i00
    space: pd.DataFrame  # dominioa, ld
    files: dict  # {"time": file name, "space": file name}


def _columns(path: ModuleSource, wanted: list[str]) -> pd.DataFrame:
    meta = read_meta(path)
    for c in wanted:
        if c not in meta.original:
            raise IngestError(f"deflator file {source_name(path)} lacks column {c!r} "
                              f"(has {sorted(meta.original)})")
    return read_module(path, wanted, meta=meta)


def read_deflators(deflator_dir: str | Path, health=None) -> Deflators:
    """Time (year × dpto → i00) and space (dominioA → ld) deflators, validated; values that fail
    to parse are counted in ``health`` (:class:`pra.ingest.health.Health`) and stop the run
    (``i00``/``ld`` are of class expenditure, the keys of class keys)."""
    from pra.ingest.health import Health, parse_numbers

    health = health if health is not None else Health()

    def num(df, col, file):
        return parse_numbers(df[col], file=file, column=col, health=health)

    d = Path(deflator_dir)
    tpath = find_module(d, S.DEFLATOR_STEMS["time"])
    spath = find_module(d, S.DEFLATOR_STEMS["space"])
    # INEI's do-files merge the file on a numeric ``aniorec`` (the year) and ``dpto``; a file
    # keyed by its year column (aÑo) is read the same way
    ykey = "aniorec" if "aniorec" in read_meta(tpath).original else "year"
    t = _columns(tpath, [ykey, "dpto", "i00"])
    tf, sf = source_name(tpath), source_name(spath)
    t = pd.DataFrame({"defl_year": num(t, ykey, tf), "dpto_defl": num(t, "dpto", tf),
                      "i00": num(t, "i00", tf)})
    s = _columns(spath, ["dominioa", "ld"])  # INEI spells it dominioA; lower-cased by the reader
    s = pd.DataFrame({"dominioa": num(s, "dominioa", sf), "ld": num(s, "ld", sf)})
    names = {"time": source_name(tpath), "space": source_name(spath)}
    for name, df, keys in ((names["time"], t, ["defl_year", "dpto_defl"]),
                           (names["space"], s, ["dominioa"])):
        if df[keys].isna().any().any() or df.duplicated(keys).any():
            bad = df[df[keys].isna().any(axis=1) | df.duplicated(keys, keep=False)]
            raise IngestError(f"deflator file {name}: missing or duplicated key {keys} in rows "
                              f"{(bad.index[:10] + 1).tolist()}")
    return Deflators(t, s, names)


def deflator_dpto(dpto: pd.Series) -> pd.Series:
    """The department whose ``i00`` applies: Callao uses Lima's (layout §3)."""
    return dpto.where(dpto != CALLAO, LIMA)


def dominio_a(dominio: pd.Series, estrato: pd.Series, dpto: pd.Series) -> tuple[pd.Series, pd.Series]:
    """INEI's dominioA (1–17) and urban flag (layout §3): Lima Metropolitana is urban."""
    estr = estrato.where(dominio != 8, 1)
    urban = estr < 6
    dA = pd.Series(np.nan, index=dominio.index)
    m16 = dominio.between(1, 6)
    dA[m16] = np.where(urban[m16], 2 * dominio[m16] - 1, 2 * dominio[m16])
    m7 = dominio == 7
    selva_baja = dpto.isin(list(SELVA_BAJA_DPTOS))
    dA[m7 & ~selva_baja] = np.where(urban[m7 & ~selva_baja], 13, 14)
    dA[m7 & selva_baja] = np.where(urban[m7 & selva_baja], 15, 16)
    dA[dominio == 8] = 17
    urban = urban.astype("float64").where(dominio.notna() & estrato.notna())
    return dA, urban


def price_indices(deflators: Deflators, year: int, dpto: pd.Series, dominioa: pd.Series,
                  *, source: str) -> tuple[np.ndarray, np.ndarray]:
    """``i00`` (year, department) and ``ld`` (dominioA) per household.

    A household without its ``i00``, or with a dominioA but no ``ld``, stops the run with a
    message naming ``source`` and the deflator file; a household without dominioA keeps
    ``ld`` missing (the caller counts it).
    """
    dpto_defl = deflator_dpto(dpto)
    i00 = pd.DataFrame({"defl_year": float(year), "dpto_defl": dpto_defl.astype(float)}).merge(
        deflators.time, on=["defl_year", "dpto_defl"], how="left")["i00"].to_numpy()
    if np.isnan(i00).any():
        miss = sorted(set(dpto_defl[np.isnan(i00)].tolist()))
        raise IngestError(f"{source}: deflator file {deflators.files['time']}: no i00 for year "
                          f"{year}, dpto {miss}")
    ld = pd.DataFrame({"dominioa": dominioa}).merge(
        deflators.space, on="dominioa", how="left")["ld"].to_numpy()
    no_ld = np.isnan(ld) & dominioa.notna().to_numpy()
    if no_ld.any():
        raise IngestError(f"{source}: deflator file {deflators.files['space']}: no ld for "
                          f"dominioA {sorted(set(dominioa[no_ld].tolist()))}")
    return i00, ld


def expenditure_and_poverty(gashog2d: pd.Series, mieperho: pd.Series, linea: pd.Series,
                            pobreza: pd.Series, i00: np.ndarray, ld: np.ndarray
                            ) -> tuple[pd.DataFrame, dict]:
    """Real per-capita monthly expenditure (Lima prices of 2012), its log, INEI's poverty status
    and the poverty gap; with the counts of the two consistency checks.

    ``gashog2d`` is annual nominal household expenditure; the gap uses the nominal per-capita
    expenditure against the household's own line ``linea`` (both in the survey's prices).
    """
    pc = gashog2d / (12 * mieperho * i00 * ld)
    poor = pobreza.isin([1, 2]).astype(float).where(pobreza.notna())
    nominal = gashog2d / (12 * mieperho)
    gap = ((linea - nominal) / linea).where(poor == 1, 0.0)
    gap = gap.where(poor.notna())
    checks = {
        "nonpositive_expenditure": int((pc <= 0).sum()),
        "poor_with_expenditure_above_line": int(((poor == 1) & (gap < 0)).sum()),
    }
    out = pd.DataFrame({
        "pc_exp_real": pc,
        "ln_pc_exp": np.log(pc.where(pc > 0)),
        "poor": poor,
        "poverty_gap": gap.clip(lower=0),  # counted above; a poor household's gap is ≥ 0
    })
    return out, checks


def p37_reversed(labels: dict | None, *, documented_reversed: bool, source: str,
                 documented_by: str, fallback: str) -> tuple[bool, str]:
    """Whether ``p37`` runs 1 'muy mal' … 4 'muy bien' (ENAHO 2012) rather than the reverse.

    From the value labels when the file carries them (they must agree with the documented
    coding of ``documented_by``, e.g. "ENAHO 2012"); from the documentation otherwise.
    Returns (reversed, how it was decided); ``fallback`` names the rule used without labels.
    """
    if labels and 1 in labels:
        lab = str(labels[1]).lower()
        if "mal" in lab:
            found = True
        elif "bien" in lab:
            found = False
        else:
            raise IngestError(f"{source}: p37 label of code 1 is {labels[1]!r}: "
                              "cannot tell the scale's direction")
        if found != documented_reversed:
            raise IngestError(
                f"{source}: p37 value labels say code 1 = {labels[1]!r}, but {documented_by} "
                f"is documented as {P37_CODINGS[documented_reversed]}"
            )
        return found, f"from value labels: 1 = {labels[1]}"
    return documented_reversed, f"{fallback} (no value labels in file)"


def subjective_poverty(p37: pd.Series, p39a: pd.Series | None, p37_is_reversed: bool
                       ) -> pd.DataFrame:
    """``subj_poor_living`` (the household lives 'mal' or 'muy mal', p37) and ``subj_poor_self``
    (considers itself poor, p39a = 1). Without ``p39a`` (ENAHO 2012 asks a 1–10 ladder instead)
    ``subj_poor_self`` is missing, never imputed."""
    bad_codes = [1, 2] if p37_is_reversed else [3, 4]
    living = p37.isin(bad_codes).astype(float).where(p37.notna())
    if p39a is None:
        self_poor = pd.Series(np.nan, index=p37.index)
    else:
        self_poor = (p39a == 1).astype(float).where(p39a.notna())
    return pd.DataFrame({"subj_poor_living": living, "subj_poor_self": self_poor})


__all__ = ["Deflators", "deflator_dpto", "dominio_a", "expenditure_and_poverty", "p37_reversed",
           "price_indices", "read_deflators", "subjective_poverty"]
