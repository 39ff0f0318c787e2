# The full sensitivity grid (did.grid: full; docs/grid.md): the cartesian product of the choice
# lists of did.full_grid, estimated in chunks of one radius (at most did.full_grid.chunk_size
# specifications each), one tidy store, the joint test of each outcome's curve, the curves and
# the offline explorer. With did.grid: study (the default) nothing here is in the default target.
from pra.grid.specs import build_grid, chunk_grid, grid_settings, max_sample_space

GRID_FULL = config["did"].get("grid", "study") == "full"
if GRID_FULL:
    try:
        GRID_SETTINGS = grid_settings(config)
        GRID_SPECS, GRID_INVALID = build_grid(config)
    except ValueError as err:
        raise WorkflowError(str(err)) from None
    GRID_CHUNKS = chunk_grid(GRID_SPECS, GRID_SETTINGS["chunk_size"])
    GRID_OUTCOMES = list(GRID_SETTINGS["outcomes"])
else:
    GRID_SETTINGS, GRID_SPECS, GRID_INVALID, GRID_CHUNKS, GRID_OUTCOMES = {}, [], {}, {}, []


def grid_curve_files():
    return expand("results/grid/speccurve_{outcome}.{ext}", outcome=GRID_OUTCOMES, ext=["png", "pdf"])


def grid_outputs():
    """The full grid's results (in `all` only when did.grid: full)."""
    if not GRID_FULL:
        return []
    return ["results/grid/estimates.parquet", "results/grid/joint.csv", "results/grid/dropped.csv",
            "results/grid/explorer.html"] + grid_curve_files()


# The sample at the largest sample space, every household type: the study's sample_space.parquet
# stays as it is (spatial.sample_space_km), the default run's outputs do not change.
rule grid_sample:
    input:
        harmonised="results/harmonised/enaho.parquet",
        distances="results/geo/distances.parquet",
    output:
        "results/grid/sample.parquet",
    params:
        max_space_km=max_sample_space(config) if GRID_FULL else None,
    log:
        "logs/grid_sample.log",
    script:
        "../scripts/grid_sample.py"


rule grid_chunk:
    input:
        sample="results/grid/sample.parquet",
    output:
        estimates="results/grid/chunks/{chunk}.parquet",
        influence="results/grid/chunks/{chunk}.npy",
    params:
        specs=lambda w: GRID_CHUNKS[w.chunk],
        post_start=config["post_start"],
        years=YEARS,
        se_clusters=GRID_SETTINGS.get("se_clusters"),
        alpha=GRID_SETTINGS.get("alpha"),
    log:
        "logs/grid_chunk/{chunk}.log",
    script:
        "../scripts/grid_chunk.py"


# The store and the joint tests in one job: both read every chunk.
rule grid_store:
    input:
        estimates=expand("results/grid/chunks/{chunk}.parquet", chunk=list(GRID_CHUNKS)),
        influence=expand("results/grid/chunks/{chunk}.npy", chunk=list(GRID_CHUNKS)),
    output:
        store="results/grid/estimates.parquet",
        joint="results/grid/joint.csv",
        null="results/grid/joint_null.parquet",
        dropped="results/grid/dropped.csv",
    params:
        invalid=GRID_INVALID,
        draws=GRID_SETTINGS.get("bootstrap_draws"),
        alpha=GRID_SETTINGS.get("alpha"),
        seed=config["seed"],
    log:
        "logs/grid_store.log",
    script:
        "../scripts/grid_store.py"


def _grid_report_outputs():
    out = {}
    for y in GRID_OUTCOMES:
        out[f"{y}_png"] = report(f"results/grid/speccurve_{y}.png", caption="../report/grid_speccurve.rst",
                                 category="5. Robustness", subcategory="Full sensitivity grid",
                                 labels={"figure": "Full-grid specification curve", "outcome": y})
        out[f"{y}_pdf"] = f"results/grid/speccurve_{y}.pdf"
    out["explorer"] = report("results/grid/explorer.html", caption="../report/grid_explorer.rst",
                             category="5. Robustness", subcategory="Full sensitivity grid",
                             labels={"figure": "Grid explorer (interactive)", "outcome": "all"})
    return out


# Curves and explorer in one job (one start-up; they read the same files).
rule grid_report:
    input:
        store="results/grid/estimates.parquet",
        joint="results/grid/joint.csv",
        null="results/grid/joint_null.parquet",
    output:
        **_grid_report_outputs(),
    params:
        outcomes=GRID_OUTCOMES,
        alpha=GRID_SETTINGS.get("alpha"),
    log:
        "logs/grid_report.log",
    script:
        "../scripts/grid_report.py"
