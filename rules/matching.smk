# Matching difference-in-differences (Design 2): the programme survey, the matching sample,
# Tables 3, 5, 14, 15, 16, Figure 9, Map 2 and the matching rows of the estimates store.


def matching_outputs():
    return [
        "results/matching/sample.parquet",
        "results/matching/table3.csv",
        "results/matching/table5.csv",
        "results/matching/table14.csv",
        "results/matching/table15.csv",
        "results/matching/table16.csv",
        "results/matching/figure9.png",
        "results/matching/figure9.pdf",
        "results/matching/map2.png",
        "results/matching/map2.pdf",
        "results/matching/estimates.parquet",
    ]


rule matching_programme:
    input:
        survey=input_file("programme_survey"),
        frame=input_file("sample_frame"),
        centres=input_file("centres"),
        deflators=deflator_inputs(),
    output:
        table="results/matching/programme.parquet",
        counts="results/matching/programme_counts.csv",
        report="results/matching/programme_report.json",
    params:
        input_sha256=lambda w: input_sha256([input_file(k) for k in ("programme_survey", "sample_frame", "centres")]
                                            + deflator_inputs()),
        deflator_dir=deflator_dir(),
    log:
        "logs/matching_programme.log",
    script:
        "../scripts/matching_programme.py"


rule matching_sample:
    input:
        harmonised="results/harmonised/enaho.parquet",
        programme="results/matching/programme.parquet",
        frame=input_file("sample_frame"),
    output:
        sample="results/matching/sample.parquet",
        counts="results/matching/sample_counts.csv",
        table3="results/matching/table3.csv",
        table5="results/matching/table5.csv",
    params:
        input_sha256=lambda w: input_sha256([input_file("sample_frame")]),
        matching=config["matching"],
    log:
        "logs/matching_sample.log",
    script:
        "../scripts/matching_sample.py"


rule matching_estimate:
    input:
        sample="results/matching/sample.parquet",
    output:
        table14="results/matching/table14.csv",
        table15="results/matching/table15.csv",
        table16="results/matching/table16.csv",
        dropped="results/matching/estimation_dropped.csv",
        covariates_dropped="results/matching/covariates_dropped.csv",
        estimates="results/matching/estimates.parquet",
        fig_png=report("results/matching/figure9.png", caption="../report/figure9.rst",
                       category="4. Matching DD", subcategory="Figures",
                       labels={"figure": "Figure 9", "content": "score densities"}),
        fig_pdf="results/matching/figure9.pdf",
    # The longest single job (bootstrap): start it as soon as its sample exists, beside the DD
    # batches, rather than after them where it would be the whole tail of the run.
    priority: 10
    params:
        matching=config["matching"],
        seed=config["seed"],
    log:
        "logs/matching_estimate.log",
    script:
        "../scripts/matching_estimate.py"


rule matching_map2:
    input:
        sample="results/matching/sample.parquet",
        frame=input_file("sample_frame"),
    output:
        png=report("results/matching/map2.png", caption="../report/map2.rst", category="4. Matching DD",
                   subcategory="Figures", labels={"figure": "Map 2", "content": "frame districts"}),
        pdf="results/matching/map2.pdf",
    params:
        input_sha256=lambda w: input_sha256([input_file("sample_frame")]),
    log:
        "logs/matching_map2.log",
    script:
        "../scripts/matching_map2.py"
