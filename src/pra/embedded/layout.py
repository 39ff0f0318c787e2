"""Where the embedded generator puts each input, in INEI's and the programme's layouts.

One source for the file names, used by the generator (to write) and by the workflow (to declare
the generator's outputs and each year's harmonisation inputs). Kept free of heavy imports: the
Snakefile imports it at parse time.
"""
from __future__ import annotations

YEARS = tuple(range(2007, 2013))

# (module key, file stem with YYYY for the year), in INEI's names
MODULES = (
    ("sumaria", "sumaria-YYYY"),
    ("100", "enaho01-YYYY-100"),
    ("200", "enaho01-YYYY-200"),
    ("300", "enaho01a-YYYY-300"),
    ("500", "enaho01a-YYYY-500"),
    ("2000", "enaho02-YYYY-2000"),
    ("2000a", "enaho02-YYYY-2000a"),
    ("2100", "enaho02-YYYY-2100"),
    ("01b-2", "enaho01b-YYYY-2"),
)

# File format per year: Stata 7 in 2007/2009/2011 (as INEI ships them), CSV in 2008, SPSS in
# 2010 (upper-case names), modern Stata in 2012.
FORMAT = {2007: "dta110", 2008: "csv", 2009: "dta110", 2010: "sav", 2011: "dta110", 2012: "dta"}
EXTENSION = {"dta110": ".dta", "dta": ".dta", "csv": ".csv", "sav": ".sav"}

# INEI's own capitalisation on disk differs by release (e.g. `Enaho01B-2010-2.sav`)
FILE_NAME_OVERRIDES = {(2010, "01b-2"): "Enaho01B-2010-2"}

# INEI's downloads: one zip per (year code, module), ``<code>-Modulo<NN>.zip``, the files inside
# a ``<code>-Modulo<NN>/`` folder (docs/enaho_layout.md §1.1–1.2). The embedded data ship the
# years in ARCHIVE_YEARS so (written by pra.embedded.archives), the others unpacked.
YEAR_CODES = {2007: 283, 2008: 284, 2009: 285, 2010: 279, 2011: 291, 2012: 324}
ARCHIVE_MODULES = {  # INEI's file stem -> the module (zip) that holds it
    "sumaria-YYYY": 34, "enaho01-YYYY-100": 1, "enaho01-YYYY-200": 2, "enaho01a-YYYY-300": 3,
    "enaho01a-YYYY-500": 5, "enaho02-YYYY-2000": 22, "enaho02-YYYY-2000a": 22,
    "enaho02-YYYY-2100": 22, "enaho02-YYYY-2500": 26, "enaho01b-YYYY-2": 85,
}
ARCHIVE_YEARS = (2011,)

DEFLATOR_FILES = ("deflactores_base2012_new.dta", "despacial_ldnew.dta")  # in enaho/2012/
OTHER_FILES = (
    "centros_poblados.csv",
    "pra2_localidades.csv",
    "encuesta_pra2_2012.dta",
    "marco_muestral_2012.csv",
)
TRUTH_FILES = ("truth.json", "truth/households.parquet", "truth/localities.parquet")


def module_file(year: int, module: str) -> str:
    """Path of a module file relative to the embedded root, e.g. 'enaho/2007/sumaria-2007.dta'."""
    stem = dict(MODULES)[module].replace("YYYY", str(year))
    stem = FILE_NAME_OVERRIDES.get((year, module), stem)
    return f"enaho/{year}/{stem}{EXTENSION[FORMAT[year]]}"


def archive_name(year: int, module: str) -> str:
    """INEI's zip of a module, without extension, e.g. '291-Modulo01' for module 100 of 2011."""
    return f"{YEAR_CODES[year]}-Modulo{ARCHIVE_MODULES[dict(MODULES)[module]]:02d}"


def archive_member(year: int, module: str) -> tuple[str, str]:
    """(zip path relative to the embedded root, member name) of a module file of an archived year."""
    name = archive_name(year, module)
    return f"enaho/{year}/{name}.zip", f"{name}/{module_file(year, module).rsplit('/', 1)[1]}"


def year_files(year: int) -> list[str]:
    """Every file of one ENAHO year (relative paths): its modules, or their zips."""
    if year in ARCHIVE_YEARS:
        return sorted({archive_member(year, m)[0] for m, _ in MODULES})
    return [module_file(year, m) for m, _ in MODULES]


def deflator_files() -> list[str]:
    return [f"enaho/2012/{name}" for name in DEFLATOR_FILES]


def all_files(years=YEARS) -> list[str]:
    """Every file the generator writes (relative to its root)."""
    out = [f for y in years for f in year_files(y)]
    return out + deflator_files() + list(OTHER_FILES) + list(TRUTH_FILES)
