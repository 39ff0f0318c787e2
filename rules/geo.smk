# Geo-referencing the register, DuckDB-spatial distances, the spatial sample, Tables 1-2, Map 1.
from pra.report.design import caption_texts


rule georeference:
    input:
        register=input_file("register"),
        centres=input_file("centres"),
    output:
        localities="results/geo/localities.parquet",
        table1="results/geo/table1.csv",
        health="results/geo/health_georef.json",
    log:
        "logs/georeference.log",
    script:
        "../scripts/georeference.py"


rule distances:
    input:
        harmonised="results/harmonised/enaho.parquet",
        localities="results/geo/localities.parquet",
    output:
        distances="results/geo/distances.parquet",
    threads: 2
    log:
        "logs/distances.log",
    script:
        "../scripts/distances.py"


rule spatial_sample:
    input:
        harmonised="results/harmonised/enaho.parquet",
        distances="results/geo/distances.parquet",
    output:
        sample="results/geo/sample.parquet",
        sample_space="results/geo/sample_space.parquet",
        ledger="results/ledger/spatial.parquet",
        table2="results/geo/table2.csv",
    params:
        spatial=config["spatial"],
        post_start=config["post_start"],
        years=YEARS,
    log:
        "logs/spatial_sample.log",
    script:
        "../scripts/spatial_sample.py"


rule map1:
    input:
        harmonised="results/harmonised/enaho.parquet",
        distances="results/geo/distances.parquet",
        localities="results/geo/localities.parquet",
    output:
        png=report("results/geo/map1.png", caption="../report/map1.rst", category="2. Data",
                   subcategory="Figures", labels={"figure": "Map 1", "content": "localities and conglomerates"}),
        pdf="results/geo/map1.pdf",
    params:
        spatial=config["spatial"],
        captions=caption_texts(config),  # read by report/map1.rst
    log:
        "logs/map1.log",
    script:
        "../scripts/map1.py"


rule ledger:
    input:
        ingest=expand("results/ledger/ingest_{year}.parquet", year=YEARS),
        spatial="results/ledger/spatial.parquet",
    output:
        households="results/ledger/ledger.parquet",
        summary="results/ledger/ledger.csv",
    log:
        "logs/ledger.log",
    script:
        "../scripts/ledger.py"
