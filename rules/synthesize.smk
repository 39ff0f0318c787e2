# The embedded data: every input of the study in INEI's and the programme's layouts, with
# planted effects recorded in truth.json. Runs only when data.source is 'embedded'.
if EMBEDDED:

    rule synthesize:
        output:
            truth=f"{DATA_DIR}/truth.json",
            files=[f"{DATA_DIR}/{f}" for f in layout.all_files() if f != "truth.json"],
        threads: 2  # writes the ENAHO years in 2 processes (fewer with --cores 1)
        params:
            scale=config["data"]["embedded"]["scale"],
            seed=config["seed"],
            # the model's overrides (pra.embedded.model.from_config), e.g. corridor_trend
            embedded=config["data"]["embedded"],
        log:
            "logs/synthesize.log",
        benchmark:
            "benchmarks/out/synthesize.tsv"
        script:
            "../scripts/synthesize.py"
