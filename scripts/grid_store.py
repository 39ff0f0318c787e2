"""Snakemake script: the full grid's store, its drop record and the joint test of each curve.

input: estimates (chunk parquets), influence (chunk .npy, rows aligned with the chunk's rows);
params: invalid ({reason: specifications} dropped when the grid was built), draws, alpha, seed.
output: store (one row per specification and term, in a fixed order), joint (one row per
outcome: the three summaries, their p-values), null (the bootstrap draws of the summaries, for
the explorer), dropped (CSV: stage, reason, specifications).
"""
import sys

import numpy as np
import pandas as pd

from pra.grid.joint import joint_tests
from pra.io import write_csv_atomic, write_parquet_atomic

ORDER = ["outcome", "radius_km", "sample_space_km", "ring_km", "sample", "post_start", "post_end", "weights",
         "model", "spec_id", "term"]


def main(smk) -> None:
    parts = [pd.read_parquet(p) for p in smk.input.estimates]
    psis = [np.load(p, allow_pickle=False) for p in smk.input.influence]
    for path, part, psi in zip(smk.input.estimates, parts, psis):
        if len(part) != psi.shape[0]:
            raise ValueError(f"{path}: {len(part)} rows but {psi.shape[0]} influence rows")
    store = pd.concat(parts, ignore_index=True)
    psi = np.vstack(psis) if psis else np.zeros((0, 0))
    order = store.sort_values(ORDER, kind="mergesort").index.to_numpy()
    store, psi = store.loc[order].reset_index(drop=True), psi[order]
    if store["spec_id"].duplicated().any():
        raise ValueError("grid store: a specification appears in two chunks")
    tests, left_out, null = joint_tests(store, psi, draws=smk.params.draws, seed=smk.params.seed,
                                        alpha=smk.params.alpha, return_null=True)
    dropped = [{"stage": "grid", "reason": k, "specifications": v} for k, v in smk.params.invalid.items()]
    bad = store[store["status"] != "ok"].groupby(["outcome", "status"]).size()
    dropped += [{"stage": "estimation", "reason": f"{y}: {st}", "specifications": int(n)} for (y, st), n in bad.items()]
    write_parquet_atomic(store, smk.output.store)
    write_csv_atomic(tests, smk.output.joint)
    write_parquet_atomic(null, smk.output.null)
    write_csv_atomic(pd.DataFrame(dropped, columns=["stage", "reason", "specifications"]), smk.output.dropped)
    print(f"grid store: {len(store)} rows; invalid combinations dropped: {dict(smk.params.invalid)}; "
          f"not estimated: {left_out}", file=sys.stderr)
    for rec in tests.to_dict("records"):
        print(f"joint test {rec['outcome']}: median {rec['median']:.4f} (p {rec['p_median']:.4f}), "
              f"significant {rec['share_significant']:.3f} (p {rec['p_share_significant']:.4f}), "
              f"{rec['dominant_sign']} {rec['share_dominant_sign']:.3f} (p {rec['p_share_dominant_sign']:.4f})",
              file=sys.stderr)


if "snakemake" in globals():
    from pra.runlog import run

    run(main, snakemake)  # noqa: F821
