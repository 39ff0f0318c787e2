# Difference-in-differences grid (Design 1): specifications as data, one job per group of
# specifications (main sample, radius sweep or other robustness families, at most did.batch_size
# each: pra.did.specs.chunk_specs), one tidy estimates store, Figures 6-8.
from pra.did.specs import build_specs, chunks_by_id
from pra.report.design import caption_texts

DID_CHUNKS = chunks_by_id(build_specs(config), config["did"]["batch_size"])
FIGURES = ["figure6", "figure7", "figure8"]


def did_outputs():
    figs = expand("results/figures/{fig}.{ext}", fig=FIGURES, ext=["png", "pdf"])
    return ["results/estimates/estimates.parquet"] + figs


rule did_batch:
    input:
        # The whole sample space: the grid itself applies radius, ring and household sample.
        sample="results/geo/sample_space.parquet",
    output:
        "results/estimates/batches/{chunk}.parquet",
    params:
        specs=lambda w: DID_CHUNKS[w.chunk],
        cluster=config["did"]["cluster"],
    log:
        "logs/did_batch/{chunk}.log",
    script:
        "../scripts/did_batch.py"


rule did_store:
    input:
        batches=expand("results/estimates/batches/{chunk}.parquet", chunk=list(DID_CHUNKS)),
    output:
        "results/estimates/estimates.parquet",
    log:
        "logs/did_store.log",
    script:
        "../scripts/did_store.py"


rule did_figures:
    input:
        estimates="results/estimates/estimates.parquet",
    output:
        fig6_png=report("results/figures/figure6.png", caption="../report/figure6.rst",
                        category="3. Difference-in-differences", subcategory="Figures",
                        labels={"figure": "Figure 6", "content": "by radius and band"}),
        fig6_pdf="results/figures/figure6.pdf",
        fig7_png=report("results/figures/figure7.png", caption="../report/figure7.rst",
                        category="3. Difference-in-differences", subcategory="Figures",
                        labels={"figure": "Figure 7", "content": "means by year"}),
        fig7_pdf="results/figures/figure7.pdf",
        fig8_png=report("results/figures/figure8.png", caption="../report/figure8.rst",
                        category="3. Difference-in-differences", subcategory="Figures",
                        labels={"figure": "Figure 8", "content": "by semester"}),
        fig8_pdf="results/figures/figure8.pdf",
    params:
        captions=caption_texts(config),  # read by report/figure{6,7,8}.rst
    log:
        "logs/did_figures.log",
    script:
        "../scripts/did_figures.py"
