"""Publication tables, the specification curve, the results index (the report stage).

Modules: :mod:`pra.report.tables` (table model, renderers, builders of Tables 1–16, Annex A and
the executive summary), :mod:`pra.report.speccurve` (specification curve), :mod:`pra.report.index`
(``results/README.md``).

This module stays import-light (no pandas, no pyfixest): ``rules/report.smk`` reads the names
below at parse time, and every Snakemake job re-parses the workflow.
"""

# Every table, in the report's order; file stems of results/tables/{name}.{fmt}.
TABLE_NAMES = ["summary", "table1", "table2", "table3", "table4", "table5", "table6", "table7",
               "table8", "table9", "table10", "table11", "table12", "table13", "table14", "table15",
               "table16", "annexA"]
TABLE_FORMATS = ["tex", "html", "md", "csv"]

# Report chapters (Snakemake report categories; the report sorts categories by name, hence the
# numbers) and the chapter of each table.
CHAPTERS = {
    "summary": "1. Executive summary",
    "data": "2. Data",
    "dd": "3. Difference-in-differences",
    "matching": "4. Matching DD",
    "robustness": "5. Robustness",
    "inference": "6. Robustness and inference",
    "validation": "7. Validation",
}
TABLE_CHAPTER = {
    "summary": "summary", "table1": "data", "table2": "data", "table3": "data", "table4": "data",
    "table5": "data", "table6": "dd", "table7": "dd", "annexA": "dd", "table8": "robustness",
    "table9": "robustness", "table10": "robustness", "table11": "robustness", "table12": "robustness",
    "table13": "robustness", "table14": "matching", "table15": "matching", "table16": "matching",
}

__all__ = ["TABLE_NAMES", "TABLE_FORMATS", "CHAPTERS", "TABLE_CHAPTER"]
