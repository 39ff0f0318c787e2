"""The script skeleton (pra.runlog): every script is ``main(snakemake)`` behind one guard, every rule
that runs a script has a log, and that log says what the script did (or why it failed)."""
from __future__ import annotations

import ast
import logging
import os
import re
import sys
import warnings

import pytest

from pra.runlog import run
from workflow import ROOT

SCRIPTS = sorted((ROOT / "scripts").glob("*.py"))
RULE_FILES = [ROOT / "Snakefile", *sorted((ROOT / "rules").glob("*.smk"))]
# top-level statements a script may have besides main and the guard
ALLOWED_TOP = (ast.Import, ast.ImportFrom, ast.Assign, ast.AnnAssign, ast.FunctionDef, ast.ClassDef)


def _is_snakemake_guard(test: ast.expr) -> bool:
    """``"snakemake" in globals()``, alone or and-ed with ``__name__ == "__main__"``."""
    parts = test.values if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And) else [test]
    return any(isinstance(p, ast.Compare) and isinstance(p.left, ast.Constant)
               and p.left.value == "snakemake" and isinstance(p.ops[0], ast.In)
               and isinstance(p.comparators[0], ast.Call)
               and getattr(p.comparators[0].func, "id", "") == "globals" for p in parts)


def _skeleton_problems(path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    bad = []
    if not ast.get_docstring(tree):
        bad.append("no module docstring")
    body = tree.body[1:] if ast.get_docstring(tree) else tree.body
    mains = [n for n in body if isinstance(n, ast.FunctionDef) and n.name == "main"]
    if len(mains) != 1 or len(mains[0].args.args) != 1:
        bad.append("needs exactly one `def main(snakemake)` with one argument")
    guard = body[-1] if body else None
    if not (isinstance(guard, ast.If) and _is_snakemake_guard(guard.test)):
        bad.append('does not end with `if "snakemake" in globals():`')
    else:
        calls = [n for n in ast.walk(guard) if isinstance(n, ast.Call)]
        imports = [n for n in guard.body if isinstance(n, ast.ImportFrom)]
        ok_import = any(i.module == "pra.runlog" and [a.name for a in i.names] == ["run"] for i in imports)
        ok_call = any(getattr(c.func, "id", "") == "run" and [getattr(a, "id", "") for a in c.args]
                      == ["main", "snakemake"] for c in calls)
        if not (ok_import and ok_call) or len(guard.body) != 2 or guard.orelse:
            bad.append("the guard must hold only `from pra.runlog import run` and `run(main, snakemake)`")
    for node in body[:-1]:
        if not isinstance(node, ALLOWED_TOP):
            bad.append(f"line {node.lineno}: top-level {type(node).__name__} (code belongs in main)")
    for node in ast.walk(ast.Module(body=body[:-1], type_ignores=[])):
        if isinstance(node, ast.Name) and node.id == "snakemake":
            bad.append(f"line {node.lineno}: uses the global `snakemake` (main gets it as argument)")
        if (isinstance(node, ast.Attribute) and node.attr == "stderr" and isinstance(node.ctx, ast.Store)):
            bad.append(f"line {node.lineno}: assigns sys.stderr (pra.runlog does that)")
    return bad


def test_every_script_follows_the_skeleton():
    assert len(SCRIPTS) > 10
    problems = {p.name: _skeleton_problems(p) for p in SCRIPTS}
    problems = {k: v for k, v in problems.items() if v}
    assert not problems, problems


def test_skeleton_check_detects_old_style(tmp_path):
    old = tmp_path / "old.py"
    old.write_text('import sys\nsys.stderr = open(snakemake.log[0], "w")\nprint(1)\n')
    found = " ".join(_skeleton_problems(old))
    assert "no module docstring" in found and "def main" in found and "globals()" in found


def _rules() -> dict[str, str]:
    """rule name -> the text of its block, from the Snakefile and rules/*.smk."""
    out = {}
    for path in RULE_FILES:
        text = path.read_text(encoding="utf-8")
        heads = list(re.finditer(r"^(\s*)(?:local)?rule (\w+):\s*$", text, re.M))
        for i, m in enumerate(heads):
            end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
            block = text[m.end():end]
            # the block ends where a line is indented no deeper than the rule keyword
            lines = []
            for line in block.splitlines():
                if line.strip() and len(line) - len(line.lstrip()) <= len(m.group(1)):
                    break
                lines.append(line)
            out[m.group(2)] = "\n".join(lines)
    return out


def test_every_rule_with_a_script_has_a_log():
    rules = _rules()
    with_script = {r: b for r, b in rules.items() if re.search(r"^\s*script:", b, re.M)}
    assert len(with_script) >= len(SCRIPTS)
    assert not [r for r, b in with_script.items() if not re.search(r"^\s*log:", b, re.M)]
    used = {re.search(r'script:\s*\n\s*"\.\./scripts/(\w+\.py)"', b).group(1) for b in with_script.values()}
    assert used == {p.name for p in SCRIPTS}  # no script without its rule, no rule without its script


def test_run_sends_logging_warnings_stderr_and_traceback_to_the_log(tmp_path, make_snakemake):
    src = tmp_path / "in.txt"
    src.write_text("x")
    log = tmp_path / "logs" / "rule.log"
    smk = make_snakemake(input={"data": src}, output=[tmp_path / "out.txt"], log=[log], rule="demo")
    root_handlers, stderr = list(logging.getLogger().handlers), sys.stderr

    def main(s):
        logging.info("read %d bytes", len(open(s.input.data).read()))
        warnings.warn("a warning from the script", UserWarning)
        print("to sys.stderr", file=sys.stderr)
        os.write(2, b"to file descriptor 2\n")
        raise ValueError("the reason the job failed")

    with pytest.raises(ValueError, match="the reason"):
        run(main, smk)
    text = log.read_text()
    for expected in ["INFO demo: reads", "in.txt (1 bytes)", "INFO demo: read 1 bytes",
                     "a warning from the script", "to sys.stderr", "to file descriptor 2",
                     "ERROR demo: failed after", "Traceback", "ValueError: the reason the job failed"]:
        assert expected in text, (expected, text)
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO demo: ", text)  # timestamped lines
    # everything restored for whatever runs next in this process
    assert sys.stderr is stderr and logging.getLogger().handlers == root_handlers


def test_run_logs_outputs_and_returns(tmp_path, make_snakemake):
    out, log = tmp_path / "out.txt", tmp_path / "rule.log"
    smk = make_snakemake(output={"table": out}, log=[log], rule="demo")
    assert run(lambda s: out.write_text("12345") and "done", smk) == "done"
    text = log.read_text()
    assert "wrote " + str(out) + " (5 bytes)" in text and "done in" in text


@pytest.mark.workflow
def test_rule_logs_of_a_run_hold_the_scripts_lines(pipeline_run):
    logs = pipeline_run / "logs"
    files = sorted(p.relative_to(logs).as_posix() for p in logs.rglob("*.log"))
    # one log per job of every rule that runs a script (did_batch: one per batch)
    names = {re.sub(r"/[0-9a-f]{10}\.log$|_\d{4}\.log$|\.log$", "", f) for f in files}
    script_rules = {r for r, b in _rules().items() if re.search(r"^\s*script:", b, re.M)}
    # the full sensitivity grid's rules (rules/grid.smk) run only with did.grid: full
    grid_only = set(re.findall(r"^rule (\w+):", (ROOT / "rules" / "grid.smk").read_text(), re.M))
    assert grid_only and grid_only <= script_rules
    # the "Robustness and inference" chapter (rules/inference.smk) is its own target
    inference_only = set(re.findall(r"^rule (\w+):", (ROOT / "rules" / "inference.smk").read_text(), re.M))
    script_rules -= inference_only
    # the Monte Carlo (rules/validation.smk) is its own target too: `snakemake montecarlo`
    script_rules -= set(re.findall(r"^rule (\w+):", (ROOT / "rules" / "validation.smk").read_text(), re.M))
    assert names == {"harmonise" if r == "harmonise_year" else r for r in script_rules - grid_only}, files
    for f in files:
        text = (logs / f).read_text()
        assert re.search(r"INFO \S+: done in [\d.]+ s$", text.strip()), (f, text[-500:])
        assert " wrote " in text, f
    expected = {  # a line each script writes itself
        "synthesize.log": r"wrote \d+ files under",
        "harmonise_2010.log": r"2010: \d+ households kept",
        "pool_years.log": r"pooled \d+ household-years from 6 years",
        "georeference.log": r"register rows, \d+ centres",
        "distances.log": r"distances: \d+ household-years",
        "ledger.log": r"ledger: \d+ entries .* it balances",
        "did_store.log": r"store: \d+ rows, \d+ specifications from \d+ batches",
        "matching_estimate.log": r"Table 16:",
        "matching_sample.log": r"matching sample: \d+ households",
        "matching_programme.log": r"programme survey: \d+ rows read",
        "dictionary.log": r"dictionary: \d+ variables",
        "results_index.log": r"results index: \d+ lines",
    }
    for f, pattern in expected.items():
        assert re.search(pattern, (logs / f).read_text()), (f, pattern)
    batch_logs = list((logs / "did_batch").glob("*.log"))
    assert batch_logs and all(re.search(r"\d+ estimate rows from \d+ specifications", p.read_text())
                              for p in batch_logs)
