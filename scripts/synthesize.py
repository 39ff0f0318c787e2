"""Write the embedded data (rule synthesize): thin entry point over pra.embedded.synthesize."""
import logging
import sys
from pathlib import Path

from pra.embedded.synthesize import synthesize


def main(smk) -> None:
    log_file = open(smk.log[0], "w", buffering=1)
    sys.stderr = log_file
    logging.basicConfig(stream=log_file, level=logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # truth.json sits at the root of the embedded tree
    out_dir = Path(smk.output.get("truth", smk.output[0])).parent
    truth = synthesize(out_dir, scale=float(smk.params.scale), seed=int(smk.params.seed),
                       workers=smk.threads)
    logging.info("wrote %d files under %s (seed %s, scale %s)", len(truth["files"]) + 1, out_dir,
                 truth["seed"], truth["scale"])


# The guard matters: the writer processes are spawned, and spawn re-imports this file.
if __name__ == "__main__":
    main(snakemake)  # noqa: F821  (injected by Snakemake)
