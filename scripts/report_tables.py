"""Snakemake script: every publication table in LaTeX, HTML, Markdown, CSV and one Excel workbook.

input: store, matching_store, table1, table2, dd_sample, table3, table5, table14, table15, table16
output: one file per table and format (results/tables/{name}.{fmt}) and xlsx (tables.xlsx).
"""
import sys
from pathlib import Path

import pandas as pd

from pra.report import tables as T


def main(smk) -> None:
    i = smk.input
    tabs = T.build_all(
        store=pd.read_parquet(i.store), matching_store=pd.read_parquet(i.matching_store),
        table1_csv=pd.read_csv(i.table1), table2_csv=pd.read_csv(i.table2),
        dd_sample=pd.read_parquet(i.dd_sample), table3_csv=pd.read_csv(i.table3),
        table5_csv=pd.read_csv(i.table5), table14_csv=pd.read_csv(i.table14),
        table15_csv=pd.read_csv(i.table15), table16_csv=pd.read_csv(i.table16),
    )
    out_dir = Path(smk.params.out_dir)
    written = {str(p) for p in T.write_tables(tabs, out_dir)}
    T.write_excel(tabs, smk.output.xlsx)
    expected = {str(p) for k, p in smk.output.items() if k != "xlsx"}
    if written != expected:  # the rule's outputs and the builders' table list must agree
        raise RuntimeError(f"report_tables: wrote {sorted(written - expected)} not declared, "
                           f"missing {sorted(expected - written)}")
    for t in tabs:
        n_coef = sum(r.kind == "coef" for r in t.rows)
        print(f"{t.name}: {len(t.rows)} rows × {len(t.columns)} columns, {n_coef} coefficient rows; "
              f"notes: {' | '.join(t.notes)}", file=sys.stderr)


if "snakemake" in globals():
    from pra.runlog import run

    run(main, snakemake)  # noqa: F821
