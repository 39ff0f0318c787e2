# ENAHO ingest: one harmonisation job per year, so a fix to one year's files reruns that year only.
from pra.report import CHAPTERS as _CHAPTERS


rule harmonise_year:
    input:
        files=year_inputs,
        deflators=deflator_inputs(),
        centres=input_file("centres"),
    output:
        table="results/harmonised/enaho_{year}.parquet",
        ledger="results/ledger/ingest_{year}.parquet",
        report="results/harmonised/report_{year}.json",
    params:
        year=lambda w: int(w.year),
        year_dir=lambda w: f"{enaho_dir()}/{w.year}",
        deflator_dir=deflator_dir(),
        checks=config["data"].get("checks", {}),
    log:
        "logs/harmonise_{year}.log",
    script:
        "../scripts/harmonise.py"


rule pool_years:
    input:
        expand("results/harmonised/enaho_{year}.parquet", year=YEARS),
    output:
        "results/harmonised/enaho.parquet",
    log:
        "logs/pool_years.log",
    script:
        "../scripts/pool_years.py"


# The data-health table (pra.ingest.health): per year and file, rows read, values that failed to
# parse or were repaired, households dropped or incomplete; in the report's data chapter.
rule data_health:
    input:
        years=expand("results/harmonised/report_{year}.json", year=YEARS),
        georef="results/geo/health_georef.json",
        programme="results/matching/programme_report.json",
    output:
        report("results/harmonised/health.csv", caption="../report/health.rst",
               category=_CHAPTERS["data"], subcategory="Data health",
               labels={"table": "Data health", "content": "rows read, parse failures, repairs, "
                       "households dropped or incomplete, per year and file"}),
    log:
        "logs/data_health.log",
    script:
        "../scripts/data_health.py"


rule dictionary:
    output:
        csv="results/harmonised/dictionary.csv",
        md="results/harmonised/dictionary.md",
    log:
        "logs/dictionary.log",
    script:
        "../scripts/dictionary.py"
