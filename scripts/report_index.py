"""Snakemake script: results/README.md, the results index (outputs, inputs, checksums, config).

input: tables, figures, stage, raw (named lists); params.chapters: heading → list of files.
"""
import sys

from pra.report.index import write_index


def main(smk) -> None:
    chapters = {h: list(files) for h, files in smk.params.chapters.items()}
    text = write_index(smk.output[0], outputs=chapters, stage_inputs=list(smk.input.stage),
                       raw_inputs=list(smk.input.raw), config=smk.config, notes=smk.params.notes)
    print(f"results index: {text.count(chr(10))} lines", file=sys.stderr)


if "snakemake" in globals():
    smk = snakemake  # noqa: F821  (injected by Snakemake)
    if smk.log:
        sys.stderr = open(smk.log[0], "w", buffering=1)
    main(smk)
