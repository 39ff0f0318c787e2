"""Write the embedded data (rule synthesize): thin entry point over pra.embedded.synthesize."""
import logging
import sys
from pathlib import Path

from pra.embedded.synthesize import synthesize

log_file = open(snakemake.log[0], "w", buffering=1)
sys.stderr = log_file
logging.basicConfig(stream=log_file, level=logging.INFO,
                    format="%(asctime)s %(name)s %(levelname)s %(message)s")

# truth.json sits at the root of the embedded tree
truth_path = snakemake.output.get("truth", snakemake.output[0])
out_dir = Path(truth_path).parent
truth = synthesize(out_dir, scale=float(snakemake.params.scale), seed=int(snakemake.params.seed))
logging.info("wrote %d files under %s (seed %s, scale %s)", len(truth["files"]) + 1, out_dir,
             truth["seed"], truth["scale"])
