"""Benchmark: the whole pipeline through Snakemake against the same computations in one process.

Prints, for each scale asked:
- the full workflow (`rule all`) from clean `resources/` and `results/` with --cores 2;
- the floor: the same library calls, in the same order, in one warm Python process (data
  generation, data dictionary, six harmonisation years, geo-referencing, distances, spatial
  sample, Map 1, the whole DD grid, Figures 6-8, the spec curves, the matching design with
  Figure 9 and Map 2, every publication table);
- their ratio (target <= 1.5);
- a no-op rerun (target < 5 s) and the DAG construction time of the full grid (a dry run from a
  clean directory: every job planned).

    python benchmarks/bench_pipeline.py [--scales 1 10] [--workdir /tmp/pra-bench-pipeline]
"""
from __future__ import annotations

import argparse
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def smk(workdir: Path, config: Path, *args: str) -> float:
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(workdir),
           "--configfile", str(config), "--quiet", "all", *args]
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def floor(scale: float, out: Path) -> float:
    """The pipeline's computations in this one process (imports warmed up beforehand)."""
    import pra.config
    from pra.did.batch import order_store, run_batch
    from pra.did.figures import figure6, figure7, figure8
    from pra.did.specs import build_specs, chunks_by_id
    from pra.embedded.synthesize import synthesize
    from pra.geo.distance import connect, nearest_locality
    from pra.geo.georef import georeference
    from pra.geo.map2 import map2
    from pra.geo.maps import map1
    from pra.geo.sample import attach_distances, spatial_sample, table2
    from pra.ingest import read_centres
    from pra.ingest.dictionary import write_dictionary
    from pra.ingest.harmonise import harmonise_year
    from pra.ingest.programme import harmonise_programme_survey, read_frame
    from pra.matching import plot_score_densities
    from pra.matching.outputs import run_matching, table5
    from pra.matching.sample import matching_sample, table3
    from pra.report import tables as T
    from pra.report.speccurve import plot_curve

    cfg = pra.config.load(overrides={"data": {"embedded": {"scale": scale}}})
    sp, m = cfg["spatial"], cfg["matching"]
    t0 = time.perf_counter()
    emb = out / "embedded"
    synthesize(emb, scale=scale, seed=cfg["seed"])
    write_dictionary(out / "dictionary.csv", out / "dictionary.md")
    centres = read_centres(emb / "centros_poblados.csv")
    years = [harmonise_year(emb / "enaho", emb / "enaho/2012", y, centres)[0] for y in cfg["years"]]
    hh = pd.concat(years, ignore_index=True).sort_values("hh_id", kind="stable").reset_index(drop=True)
    codes = {"codccpp": str, "ubigeo": str}
    register = pd.read_csv(emb / "pra2_localidades.csv", dtype=codes)
    localities, t1 = georeference(register, pd.read_csv(emb / "centros_poblados.csv", dtype=codes))
    con = connect(threads=2)
    dist = nearest_locality(hh[["hh_id", "latitude", "longitude"]], localities, con=con)
    con.close()
    sample, _ = spatial_sample(hh, dist, sample_space_km=sp["sample_space_km"],
                               treatment_radius_km=sp["treatment_radius_km"], ring_km=sp["ring_km"],
                               bands_km=sp["bands_km"], post_start=cfg["post_start"], sample=sp["sample"])
    with_dist = attach_distances(hh, dist)
    t2 = table2(with_dist, sp["bands_km"], sp["sample_space_km"], cfg["years"])
    space = with_dist[with_dist["dist_km"] <= sp["sample_space_km"]].reset_index(drop=True)
    map1(with_dist[["hh_id", "latitude", "longitude", "dist_km"]], localities,
         sample_space_km=sp["sample_space_km"], treatment_radius_km=sp["treatment_radius_km"],
         paths=[out / "map1.png", out / "map1.pdf"])
    chunks = chunks_by_id(build_specs(cfg), cfg["did"]["batch_size"])
    store = order_store(pd.concat([run_batch(space, s, cluster=cfg["did"]["cluster"])
                                   for s in chunks.values()], ignore_index=True))
    for fig in (figure6, figure7, figure8):
        fig(store, [out / f"{fig.__name__}.png", out / f"{fig.__name__}.pdf"])
    for y in cfg["did"]["outcomes"]:
        plot_curve(store, y, [out / f"speccurve_{y}.png", out / f"speccurve_{y}.pdf"])
    frame = read_frame(emb / "marco_muestral_2012.csv")
    prog, _, _ = harmonise_programme_survey(emb / "encuesta_pra2_2012.dta", frame,
                                            deflator_dir=emb / "enaho/2012", centres=centres)
    msample, _ = matching_sample(hh, prog, frame, baseline_year=m["baseline_year"],
                                 months=tuple(m["baseline_months"]), followup_year=m["followup_year"])
    mout = run_matching(msample, outcomes=list(m["outcomes"]), kernel=m["kernel"],
                        bandwidth=m["bandwidth"], common_support=m["common_support"],
                        trim_pct=m["trim_pct"], reps=m["bootstrap_reps"], seed=cfg["seed"],
                        on_separation=m["on_separation"])
    plot_score_densities(mout.densities, [out / "figure9.png", out / "figure9.pdf"], title="Figure 9")
    map2(msample, frame, paths=[out / "map2.png", out / "map2.pdf"])
    tabs = T.build_all(store=store, matching_store=mout.estimates, table1_csv=t1, table2_csv=t2,
                       dd_sample=sample, table3_csv=table3(msample), table5_csv=table5(msample),
                       table14_csv=mout.table14, table15_csv=mout.table15, table16_csv=mout.table16)
    T.write_tables(tabs, out / "tables")
    T.write_excel(tabs, out / "tables.xlsx")
    return time.perf_counter() - t0


def machine() -> str:
    """CPU model, cores, memory and Python: the figures mean nothing without them."""
    import os

    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = ""
    try:
        kb = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal"))
        mem = f", {kb / 2**20:.0f} GB RAM"
    except (OSError, StopIteration):
        pass
    return f"{platform.node()}: {cpu}, {os.cpu_count()} cores{mem}, Python {platform.python_version()}"


def jobs_planned(workdir: Path, config: Path) -> int:
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(workdir),
           "--configfile", str(config), "-n", "--quiet", "rules", "all"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return int(next(line.split()[-1] for line in out.splitlines() if line.startswith("total")))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scales", type=float, nargs="+", default=[1.0])
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/pra-bench-pipeline"))
    a = ap.parse_args()
    import logging
    import warnings

    logging.getLogger("fontTools").setLevel(logging.WARNING)  # matplotlib's PDF font subsetting
    warnings.filterwarnings("ignore")  # the library's warnings belong to the pipeline's logs
    print(f"machine: {machine()}", flush=True)
    rows = []
    for scale in a.scales:
        wd = a.workdir / f"scale-{scale:g}"
        shutil.rmtree(wd, ignore_errors=True)
        wd.mkdir(parents=True)
        cfg = wd / "bench_config.yaml"
        cfg.write_text(f"data:\n  embedded:\n    scale: {scale}\n")
        dag = smk(wd, cfg, "-n")  # clean directory: the DAG of every job of the full grid
        n_jobs = jobs_planned(wd, cfg)
        wall = smk(wd, cfg, "--cores", "2")
        noop = smk(wd, cfg, "--cores", "2")
        with tempfile.TemporaryDirectory(dir=a.workdir) as tmp:
            floor(0.1, Path(tmp))  # warm-up: imports, caches (not timed)
        with tempfile.TemporaryDirectory(dir=a.workdir) as tmp:
            warm = floor(scale, Path(tmp))
        rows.append((scale, wall, warm))
        print(f"scale {scale:g} ({n_jobs} jobs): snakemake --cores 2 {wall:7.1f} s | one warm process "
              f"{warm:7.1f} s | ratio {wall / warm:4.2f} (target <= 1.5) | no-op rerun {noop:5.1f} s "
              f"(target < 5) | dry run from clean (DAG) {dag:5.1f} s", flush=True)
    if len(rows) > 1:
        (s0, w0, f0), (s1, w1, f1) = rows[0], rows[-1]
        print(f"growth from scale {s0:g} to {s1:g} (data x{s1 / s0:g}): snakemake x{w1 / w0:.1f}, "
              f"warm process x{f1 / f0:.1f}")


if __name__ == "__main__":
    main()
