"""Write the embedded data (rule synthesize): thin entry point over pra.embedded.synthesize."""
import logging
from pathlib import Path

from pra.embedded.model import from_config
from pra.embedded.synthesize import synthesize


def main(smk) -> None:
    # truth.json sits at the root of the embedded tree
    out_dir = Path(smk.output.get("truth", smk.output[0])).parent
    model = from_config({"data": {"embedded": dict(smk.params.embedded)}})
    truth = synthesize(out_dir, scale=float(smk.params.scale), seed=int(smk.params.seed),
                       workers=smk.threads, model=model)
    logging.info("wrote %d files under %s (seed %s, scale %s)", len(truth["files"]) + 1, out_dir,
                 truth["seed"], truth["scale"])


# The __name__ test matters: the writer processes are spawned, and spawn re-runs this file (as
# __mp_main__, with the snakemake object defined again) in every child.
if __name__ == "__main__" and "snakemake" in globals():
    from pra.runlog import run

    run(main, snakemake)  # noqa: F821
