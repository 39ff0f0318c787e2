"""Data dictionary of the harmonised household table: variable, definition, sources per year."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from pra.ingest.schemas import HARMONISED_COLUMNS

YEARS = tuple(range(2007, 2013))

SUM = "sumaria"
M100 = "enaho01-100"
M200 = "enaho01-200"
M300 = "enaho01a-300"
M500 = "enaho01a-500"
M2000 = "enaho02-2000"
M2000A = "enaho02-2000a"
M2100 = "enaho02-2100"
M01B = "enaho01b-2"
DEFL = "deflactores_base2012_new.i00 (by aniorec, dpto) × despacial_ldnew.ld (by dominioA)"


def _same(src: str):
    return lambda y: src


def _by_year(early: str, late: str, first_late: int):
    return lambda y: late if y >= first_late else early


# (variable, group, definition, source(year) -> str)
_ENTRIES = [
    ("year", "keys", "Survey year (int16).", _same("file year (aÑo/año/a_o column checked)")),
    ("conglome", "keys", "Conglomerate, 6-char zero-filled.", _same(f"{SUM}.conglome")),
    ("vivienda", "keys", "Dwelling, 3-char zero-filled.", _same(f"{SUM}.vivienda")),
    ("hogar", "keys", "Household, 2-char zero-filled.", _same(f"{SUM}.hogar")),
    ("hh_id", "keys", "'{year}-{conglome}-{vivienda}-{hogar}', unique.", _same("derived")),
    ("ubigeo", "design", "District code (6 chars).", _same(f"{SUM}.ubigeo")),
    ("dpto", "design", "Department = first two digits of ubigeo.", _same(f"{SUM}.ubigeo")),
    ("mes", "design", "Interview month (1–12).", _same(f"{M100}.mes")),
    ("semester", "design", "Interview semester, e.g. '2007-I' (months 1–6) / '2007-II'.", _same(f"{M100}.mes")),
    ("factor07", "design", "Household expansion factor (CPV-2007 projections).", _same(f"{SUM}.factor07")),
    ("locality", "locality", "Populated-centre code (10 chars). 2007–2011 the national code "
     "ubigeo + codccpp (module 100 carries the 4-character code within the district); 2012 "
     "(no code in ENAHO) the nearest centre of the same district to the conglomerate's coordinates.",
     _by_year(f"{M100}.ubigeo + {M100}.codccpp", f"nearest centre (centros_poblados) to {M100}.latitud/longitud", 2012)),
    ("latitude", "locality", "Conglomerate latitude (decimal degrees).", _same(f"{M100}.latitud (text in 2011)")),
    ("longitude", "locality", "Conglomerate longitude (decimal degrees).", _same(f"{M100}.longitud")),
    ("altitude", "locality", "Altitude (m); ENAHO has it only 2010–2012, earlier years from the "
     "populated-centre map by locality.",
     _by_year("centros_poblados.altitud by locality", f"{M100}.altitud", 2010)),
    ("rural", "locality", "1 if rural by INEI's rule: estrato 6–8 rural, Lima Metropolitana "
     "(dominio 8) urban.", _same(f"{SUM}.estrato, {SUM}.dominio")),
    ("region", "locality", "Natural region: costa (dominio 1–3, 8), sierra (4–6), selva (7).", _same(f"{SUM}.dominio")),
    ("coast", "locality", "1 if region == costa.", _same(f"{SUM}.dominio")),
    ("selva", "locality", "1 if region == selva.", _same(f"{SUM}.dominio")),
    ("households_2007", "locality", "Households in the locality, 2007 census.", _same("centros_poblados.hogares_2007 by locality")),
    ("population_2007", "locality", "Population of the locality, 2007 census.", _same("centros_poblados.poblacion_2007 by locality")),
    ("pc_exp_real", "outcome", "Real monthly per-capita household expenditure, 2012 Lima prices: "
     "gashog2d / (12 · mieperho · i00 · ld); i00 by (year, department, Callao 07 → Lima 15), "
     "ld by INEI's dominioA.", _same(f"{SUM}.gashog2d, {SUM}.mieperho; {DEFL}")),
    ("ln_pc_exp", "outcome", "log(pc_exp_real).", _same("derived")),
    ("poor", "outcome", "Monetary poverty: 1 if pobreza ∈ {1 extreme, 2 non-extreme}.", _same(f"{SUM}.pobreza")),
    ("poverty_gap", "outcome", "(linea − nominal per-capita expenditure)/linea for the poor, 0 "
     "otherwise (equal to (z − y)/z in real terms). The 2011 file names the line linea09.",
     lambda y: f"{SUM}.{'linea09' if y == 2011 else 'linea'}, {SUM}.gashog2d, {SUM}.mieperho, {SUM}.pobreza"),
    ("subj_poor_living", "outcome", "Subjective poverty by living conditions: 1 if the household "
     "lives badly or very badly with its income (p37 ∈ {3,4} 2007–2011; 2012 codes reversed, "
     "p37 ∈ {1,2}); code 9 (INEI's missing value) is missing.", _by_year(f"{M01B}.p37 (1 muy bien … 4 muy mal)", f"{M01B}.p37 (reversed: 1 muy mal … 4 muy bien)", 2012)),
    ("subj_poor_self", "outcome", "Subjective poverty by self-definition: 1 if p39a == 1 (muy pobre); "
     "code 9 missing. Not asked in 2012 (ladder p39b1 instead): missing, never imputed.",
     _by_year(f"{M01B}.p39a", "not available (missing)", 2012)),
    ("head_female", "head", "1 if the head (p203 == 1) is a woman (p207 == 2).", _same(f"{M200}.p203, p207")),
    ("head_age", "head", "Head's age in years.", _same(f"{M200}.p208a")),
    ("head_married", "head", "1 if the head is conviviente or casado(a) (p209 ∈ {1,2}).", _same(f"{M200}.p209")),
    ("head_single", "head", "1 if the head is soltero(a) (p209 == 6).", _same(f"{M200}.p209")),
    ("head_educ", "head", "Head's education 1–7: none (p301a 1–2), incomplete primary (3), complete "
     "primary (4), incomplete secondary (5), complete secondary (6), higher non-university (7–8), "
     "university (9–11).", _same(f"{M300}.p301a")),
    ("head_migrant", "head", "1 if the head was not born in the district (p208a1 = 0); where p208a1 "
     "is blank, if the birth district (p208a2, asked only of those born elsewhere) differs from ubigeo.",
     _by_year(f"{M200}.p208a1; p208a2 (numeric, zeros restored)", f"{M200}.p208a1; p208a2", 2008)),
    ("head_native_lang", "head", "1 if the head's mother tongue is Quechua, Aymara or another native "
     "language (p300a ∈ {1,2,3}).", _same(f"{M300}.p300a")),
    ("hh_size", "household", "Household members (mieperho).", _same(f"{SUM}.mieperho")),
    ("n_0_5", "household", "Members (p204 == 1) aged 0–5.", _same(f"{M200}.p204, p208a")),
    ("n_6_14", "household", "Members aged 6–14.", _same(f"{M200}.p204, p208a")),
    ("n_65plus", "household", "Members aged 65+.", _same(f"{M200}.p204, p208a")),
    ("persons_per_room", "household", "mieperho / rooms (p104; 0 rooms → missing, counted).", _same(f"{SUM}.mieperho, {M100}.p104")),
    ("wall_brick", "housing", "Walls of brick or cement block (p102 == 1).", _same(f"{M100}.p102")),
    ("floor_dirt", "housing", "Dirt floor (p103 == 6).", _same(f"{M100}.p103")),
    ("floor_finished", "housing", "Finished floor (p103 ∈ 1–5).", _same(f"{M100}.p103")),
    ("roof_concrete_tile", "housing", "Roof of reinforced concrete or tiles (p103a ∈ {1,3}).", _same(f"{M100}.p103a")),
    ("electricity", "housing", "Electric lighting (p1121 == 1).", _same(f"{M100}.p1121")),
    ("water_public", "housing", "Water from the public network or standpipe (p110 ∈ 1–3).", _same(f"{M100}.p110")),
    ("sanitation", "housing", "Sanitation, harmonised: public_in, public_out, septic, latrine_pit, river, "
     "none_other. p111 (2007–2011): 1,2,3,4,5,6 → public_in, public_out, septic, latrine_pit, river, "
     "none_other. p111a (2012): 1 public_in, 2 public_out, 3 latrine (latrine_pit), 4 septic, 5 pozo "
     "ciego (latrine_pit), 6 river, 7–8 none_other.", _by_year(f"{M100}.p111", f"{M100}.p111a (recoded)", 2012)),
    ("sanitation_public", "housing", "1 if sanitation ∈ {public_in, public_out}.", _by_year(f"{M100}.p111", f"{M100}.p111a", 2012)),
    ("cook_firewood", "housing", "Cooks mostly with coal, firewood or other (dung) (p113a ∈ {5,6,7}).", _same(f"{M100}.p113a")),
    ("agri", "production", "1 if any producer row has p20001a > 0 (agricultural).", _same(f"{M2000}.p20001a (max over producers)")),
    ("livestock", "production", "1 if any producer row has p20001b > 0 (livestock).", _same(f"{M2000}.p20001b (max over producers)")),
    ("forestry", "production", "1 if any producer row has p20001c > 0 (forestry).", _same(f"{M2000}.p20001c (max over producers)")),
    ("prod_value", "production", "Annual gross value of the crop production (soles), summed over the "
     "household's crops; 0 without crop rows (livestock, module 2500, not included).", _same(f"{M2100}.p21002n (sum over crops)")),
    ("sales", "production", "Annual value of the crop sales (soles).", _same(f"{M2100}.p21002b (sum over crops)")),
    ("own_consumption", "production", "Annual value of the crops consumed by the household (soles).", _same(f"{M2100}.p21002f (sum over crops)")),
    ("titled_plots", "production", "Plots with a title document (p2005e 1 registered, 2 PETT not "
     "registered, 3 unregistered).", _same(f"{M2000A}.p2005e (count over plots)")),
    ("hectares", "production", "Area of the household's plots (ha).", _same(f"{M2000A}.p2005b (sum over plots)")),
    ("rainfed_plots", "production", "Rain-fed plots (p2005f3 = 1, secano).", _same(f"{M2000A}.p2005f3 (count over plots)")),
    ("indep_pra_goods", "labour", "A member is employer/independent (p507 ∈ {1,2}) in PRA-II goods "
     "(p506 ∈ 111–500, 1520, 1711, 1721, 1730, 1810).", _same(f"{M500}.p507, p506")),
    ("dependent_only", "labour", "Every employed member (ocu500 == 1) is dependent (p507 ∈ {3,4,6,7}); "
     "0 when nobody is employed.", _same(f"{M500}.ocu500, p507")),
    ("has_laborer", "labour", "A member is a farm laborer (p507 == 4, p506 ∈ 111–500).", _same(f"{M500}.p507, p506")),
    ("producer", "labour", "(agri or livestock or forestry or indep_pra_goods) and not dependent_only.", _same("derived")),
    ("hh_type", "labour", "producer | laborer (non-producer with a laborer member) | dependent "
     "(dependent-only) | other.", _same("derived")),
    ("unknown_codes", "quality", "Raw cells of this household outside the allowed codes/ranges, as "
     "'module.column=value;' (the derived variable is missing; counts in the year's report).",
     _same("all modules")),
]


def data_dictionary(years=YEARS) -> pd.DataFrame:
    """One row per harmonised variable: variable, group, definition, source_<year> columns."""
    rows = []
    for var, group, definition, src in _ENTRIES:
        row = {"variable": var, "group": group, "definition": definition}
        row.update({f"source_{y}": src(y) for y in years})
        rows.append(row)
    df = pd.DataFrame(rows)
    missing = sorted(set(HARMONISED_COLUMNS) - set(df["variable"]))
    extra = sorted(set(df["variable"]) - set(HARMONISED_COLUMNS))
    if missing or extra:
        raise ValueError(f"dictionary out of step with the harmonised table: missing {missing}, extra {extra}")
    order = {v: i for i, v in enumerate(HARMONISED_COLUMNS)}
    return df.sort_values("variable", key=lambda s: s.map(order)).reset_index(drop=True)


def to_markdown(df: pd.DataFrame) -> str:
    """Markdown: variable, group, definition, and sources collapsed where years agree."""
    src_cols = [c for c in df.columns if c.startswith("source_")]
    lines = ["# Harmonised ENAHO household table: data dictionary", "",
             "One row per household-year with a complete interview (contract §3).", "",
             "| variable | group | definition | source variables |", "|---|---|---|---|"]
    for _, r in df.iterrows():
        runs: list[tuple[str, str, str]] = []  # (first year, last year, source)
        for c in src_cols:
            y, s = c.removeprefix("source_"), r[c]
            if runs and runs[-1][2] == s:
                runs[-1] = (runs[-1][0], y, s)
            else:
                runs.append((y, y, s))
        src = "<br>".join(
            (s if len(runs) == 1 else f"{a}{'' if a == b else '–' + b}: {s}") for a, b, s in runs)
        esc = lambda t: str(t).replace("|", "\\|")  # noqa: E731
        lines.append(f"| `{r['variable']}` | {r['group']} | {esc(r['definition'])} | {esc(src)} |")
    return "\n".join(lines) + "\n"


def write_dictionary(csv_path: str | Path, md_path: str | Path) -> pd.DataFrame:
    """Write the dictionary as CSV and Markdown (atomically)."""
    from pra.io import write_csv_atomic, write_text_atomic

    df = data_dictionary()
    write_csv_atomic(df, csv_path)
    write_text_atomic(to_markdown(df), md_path)
    return df
