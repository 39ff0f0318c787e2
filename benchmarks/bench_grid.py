"""Benchmark of the full sensitivity grid (issue 18), and the Monte Carlo of its joint test.

    python benchmarks/bench_grid.py [--scale 1] [--workdir DIR]            # timings
    python benchmarks/bench_grid.py --montecarlo 100 [--workdir DIR]       # size of the joint test

Timings: the study-size inputs (harmonised sample, distances) are built once in ``--workdir``
(not timed); then, from the harmonised sample to the curves, the explorer and the joint tests:
(a) ``snakemake --cores 2`` with ``did.grid: full`` at the defaults of config.yaml (every grid
output removed first); (b) the same computations in one warm Python process (modules imported
and warmed on a small grid first; the grid sample, every specification in one ``run_grid`` call,
the store, the joint tests, the curves and the explorer). Prints specifications per second and
the ratio (a) / (b).

Monte Carlo: ``--montecarlo N`` placebo geographies (locality distances permuted) of the
study-size grid sample, a 144-specification ln-expenditure grid (3 radii, 2 sample spaces, 3
household samples, models 1 and 3, both weights, both post periods), the joint test at 5% in each
(``--mc-draws`` bootstrap draws); prints the rejection rate of each summary.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from pra.threads import single_threaded  # noqa: E402

single_threaded()  # as every Snakemake job, so the ratio compares like with like

INPUTS = ["results/harmonised/enaho.parquet", "results/geo/distances.parquet"]
TARGETS = ["results/grid/explorer.html", "results/grid/dropped.csv"]


def smk(workdir: Path, *args: str, configfiles=()) -> float:
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(workdir)]
    if configfiles:
        cmd += ["--configfile", *map(str, configfiles)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    t = time.perf_counter()
    proc = subprocess.run(cmd + list(args), capture_output=True, text=True, env=env)
    if proc.returncode:
        raise SystemExit(f"snakemake failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return time.perf_counter() - t


def machine() -> str:
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{cpu or platform.processor()}, {os.cpu_count()} cores, Python {platform.python_version()}, load {load:.1f}"


def config(scale: float, grid: dict | None = None) -> dict:
    import yaml

    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    cfg["data"]["embedded"]["scale"] = scale
    cfg["did"]["grid"] = "full"
    if grid:
        cfg["did"]["full_grid"] = {**cfg["did"]["full_grid"], **grid}
    return cfg


def warm_process(workdir: Path, cfg: dict, out: Path) -> tuple[float, float, int]:
    """The grid from the harmonised sample in this process; (total s, estimation s, specs)."""
    import pandas as pd

    from pra.grid.estimate import grid_sample, run_grid
    from pra.grid.explorer import explorer_html
    from pra.grid.joint import joint_tests
    from pra.grid.specs import build_grid, grid_settings, max_sample_space
    from pra.report.speccurve import grid_curve_data, plot_grid_curve

    g = grid_settings(cfg)
    t0 = time.perf_counter()
    hh = pd.read_parquet(workdir / INPUTS[0])
    dist = pd.read_parquet(workdir / INPUTS[1])
    data = grid_sample(hh, dist, max_sample_space(cfg))
    specs, _ = build_grid(cfg)
    t1 = time.perf_counter()
    # an outcome with missing values has rows of its own: every sample is demeaned once more for
    # it (the cost per specification grows with the number of such missing-value patterns)
    na = {y: int(n) for y, n in data[list(g["outcomes"])].isna().sum().items() if n}
    print(f"grid sample: {len(data)} rows; outcomes with missing values: {na or 'none'}")
    store, psi = run_grid(data, specs, post_start=cfg["post_start"], years=cfg["years"],
                          se_kinds=g["se_clusters"], alpha=g["alpha"])
    t2 = time.perf_counter()
    tests, _, null = joint_tests(store, psi, draws=g["bootstrap_draws"], seed=cfg["seed"], alpha=g["alpha"],
                                 return_null=True)
    out.mkdir(parents=True, exist_ok=True)
    store.to_parquet(out / "estimates.parquet", index=False)
    for y in g["outcomes"]:
        d, left = grid_curve_data(store, y)
        jt = tests[tests["outcome"] == y].to_dict("records")
        plot_grid_curve(d, y, [out / f"speccurve_{y}.png", out / f"speccurve_{y}.pdf"],
                        joint=jt[0] if jt else None, left_out=left)
    (out / "explorer.html").write_text(explorer_html(store, tests, null, alpha=g["alpha"]), encoding="utf-8")
    t3 = time.perf_counter()
    print(tests[["outcome", "n_specs", "median", "share_significant", "share_dominant_sign", "p_median",
                 "p_share_significant", "p_share_dominant_sign"]].to_string(index=False))
    return t3 - t0, t2 - t1, int((store["status"] == "ok").sum())


def prepare(workdir: Path, scale: float) -> None:
    import yaml

    base = workdir / "bench_config.yaml"
    base.write_text(yaml.safe_dump({"data": {"embedded": {"scale": scale}}}))
    print(f"preparing the inputs at scale {scale} in {workdir} (not timed) ...", flush=True)
    smk(workdir, "--cores", "2", *INPUTS, configfiles=[base])


def bench(args) -> None:
    import yaml

    wd = Path(args.workdir).resolve()
    wd.mkdir(parents=True, exist_ok=True)
    prepare(wd, args.scale)
    cfg = config(args.scale)
    cfgfile = wd / "bench_grid_config.yaml"
    cfgfile.write_text(yaml.safe_dump({"data": {"embedded": {"scale": args.scale}}, "did": {"grid": "full"}}))
    print(f"machine: {machine()}")
    # warm up the single process on a small grid
    warm_process(wd, config(args.scale, {"radii_km": [10], "sample_spaces_km": [20], "rings_km": [0],
                                         "bootstrap_draws": 50}), wd / "bench_warm")
    total, est, n = warm_process(wd, cfg, wd / "bench_single")
    print(f"one warm process: {total:.1f} s in all; estimation of {n} specifications {est:.1f} s "
          f"({n / est:.0f} specs/s, {1000 * est / n:.2f} ms per spec on one core)")
    shutil.rmtree(wd / "results" / "grid", ignore_errors=True)
    t = smk(wd, "--cores", "2", *TARGETS, configfiles=[cfgfile])
    print(f"snakemake --cores 2 (harmonised sample -> curves, joint tests, explorer): {t:.1f} s; "
          f"{n / t:.0f} specs/s; ratio snakemake / one warm process = {t / total:.2f}")
    print(f"machine after: {machine()}")


def montecarlo(args) -> None:
    import numpy as np
    import pandas as pd

    from pra.grid.estimate import grid_sample, run_grid
    from pra.grid.joint import monte_carlo, rejection_rates
    from pra.grid.specs import build_grid

    wd = Path(args.workdir).resolve()
    wd.mkdir(parents=True, exist_ok=True)
    prepare(wd, args.scale)
    # the grid's variety (household samples, models, weights, post periods) at the cost of 24
    # demeanings per draw (no ring: the radii share them)
    cfg = config(args.scale, {"radii_km": [6, 10, 14], "sample_spaces_km": [20, 30], "rings_km": [0],
                              "samples": ["producers", "producers_and_laborers", "laborers_only"],
                              "models": [1, 3], "outcomes": ["ln_pc_exp"], "weights": ["none", "factor07"],
                              "post_periods": [[2010, 2012], [2011, 2012]]})
    specs, _ = build_grid(cfg)
    data = grid_sample(pd.read_parquet(wd / INPUTS[0]), pd.read_parquet(wd / INPUTS[1]), 30)
    print(f"machine: {machine()}; {len(specs)} specifications per draw, {args.montecarlo} draws, "
          f"{args.mc_draws} bootstrap draws each", flush=True)
    t = time.perf_counter()

    def run(d):
        return run_grid(d, specs, post_start=cfg["post_start"], years=cfg["years"])

    def progress(i, row):
        if (i + 1) % 10 == 0:
            print(f"  draw {i + 1}: {time.perf_counter() - t:.0f} s", flush=True)

    mc = monte_carlo(data, run, n_draws=args.montecarlo, seed=cfg["seed"], bootstrap_draws=args.mc_draws,
                     on_draw=progress)
    mc.to_csv(wd / "montecarlo.csv", index=False)
    rates = rejection_rates(mc)
    print(f"rejection rates at 5% under no effect ({args.montecarlo} draws, {time.perf_counter() - t:.0f} s):")
    print(rates.to_string(index=False))
    se = np.sqrt(0.05 * 0.95 / args.montecarlo)
    print(f"(binomial s.e. of a 5% rate with {args.montecarlo} draws: {se:.3f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--workdir", default="/tmp/pra_bench_grid")
    ap.add_argument("--montecarlo", type=int, default=0, help="Monte Carlo draws (0: timings instead)")
    ap.add_argument("--mc-draws", type=int, default=499, help="bootstrap draws per Monte Carlo draw")
    args = ap.parse_args()
    if args.montecarlo:
        montecarlo(args)
    else:
        bench(args)


if __name__ == "__main__":
    main()
