"""Safety: configuration values never reach a shell, and configured paths are checked.

The workflow runs Python only (``script:``/``run:`` rules): a config string such as a path with
``$(...)`` or ``;`` is then just a file name. These tests parse the workflow files, so a future
``shell:`` rule that interpolates ``config``/``params``/``wildcards`` fails here.
"""
from __future__ import annotations

import ast
import re

import pytest
import yaml

import pra.config as pc

from workflow import ROOT, snakemake

WORKFLOW_FILES = [ROOT / "Snakefile", *sorted((ROOT / "rules").glob("*.smk"))]
# A Snakemake directive line: indentation, name, colon (``shell:``, ``script:``, ...).
DIRECTIVE = re.compile(r"^(?P<indent>\s*)(?P<name>[a-z_]+):\s*(?P<rest>.*)$")
# What would put a config value into a command line.
INTERPOLATION = re.compile(r"\{(config|params|wildcards|input|output)\b|\bconfig\[|\bparams\.")


def _shell_blocks(text: str) -> list[tuple[int, str]]:
    """(line number, text) of every ``shell:`` directive body in a workflow file's text."""
    lines = text.splitlines()
    out = []
    for i, line in enumerate(lines):
        m = DIRECTIVE.match(line)
        if not m or m.group("name") != "shell":
            continue
        body = [m.group("rest")]
        indent = len(m.group("indent"))
        for nxt in lines[i + 1:]:  # the body: following lines indented deeper than the directive
            if nxt.strip() and len(nxt) - len(nxt.lstrip()) <= indent:
                break
            body.append(nxt)
        out.append((i + 1, "\n".join(body)))
    return out


def test_workflow_files_found():
    # guards the tests below against passing vacuously on an empty file list
    names = {p.name for p in WORKFLOW_FILES}
    assert {"Snakefile", "common.smk", "ingest.smk", "geo.smk"} <= names


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_no_shell_rule_with_config_values(path):
    blocks = _shell_blocks(path.read_text(encoding="utf-8"))
    bad = [(ln, body) for ln, body in blocks if INTERPOLATION.search(body)]
    assert not bad, f"{path.name}: shell: directives interpolating config/params: {bad}"
    # the project's rule: no shell: at all (script:/run: only), so nothing is ever quoted by hand
    assert not blocks, f"{path.name}: shell: directive(s) at lines {[ln for ln, _ in blocks]}; use script:"


def test_shell_detector_detects():
    # the detector itself must find a shell rule that interpolates config
    src = 'rule x:\n    output: "a"\n    shell:\n        "cat {params.path} > {output}"\n'
    blocks = _shell_blocks(src)
    assert len(blocks) == 1 and blocks[0][0] == 3 and INTERPOLATION.search(blocks[0][1])


def _python_files():
    return sorted((ROOT / "scripts").glob("*.py")) + sorted((ROOT / "src" / "pra").rglob("*.py"))


def test_no_python_shell_calls():
    """Scripts and the package never start a shell (shell=True, os.system, os.popen)."""
    bad = []
    for path in _python_files():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
            owner = getattr(f.value, "id", "") if isinstance(f, ast.Attribute) else ""
            if owner == "os" and name in ("system", "popen"):
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno} os.{name}")
            for kw in node.keywords:
                if kw.arg == "shell" and not (isinstance(kw.value, ast.Constant) and kw.value.value is False):
                    bad.append(f"{path.relative_to(ROOT)}:{node.lineno} shell=...")
    assert len(_python_files()) > 10
    assert not bad, bad


@pytest.mark.parametrize("value", ["", "resources/\nembedded", "resources/embedded\x00", "a\nb"])
def test_check_path_rejects(value):
    with pytest.raises(pc.ConfigError, match="data.embedded.dir"):
        pc._check_path("data.embedded.dir", value)


@pytest.mark.parametrize("value", ["resources/embedded", "/abs/path with space/x", "odd$(name);x"])
def test_check_path_accepts_plain_paths(value):
    # never reaches a shell, so shell metacharacters are just characters of a file name
    pc._check_path("data.embedded.dir", value)


def _raw():
    with open(ROOT / "config.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@pytest.mark.parametrize("key", ["enaho_dir", "deflator_dir", "centres", "register",
                                 "programme_survey", "sample_frame"])
def test_every_files_path_is_checked(key):
    raw = _raw()
    raw["data"]["source"] = "files"
    raw["data"]["files"][key] = "resources/x\ny"
    with pytest.raises(pc.ConfigError, match=f"data.files.{key}"):
        pc.validate(raw)


def test_embedded_dir_checked_through_validate():
    raw = _raw()
    raw["data"]["embedded"]["dir"] = "resources/\x00embedded"
    with pytest.raises(pc.ConfigError, match="data.embedded.dir"):
        pc.validate(raw)


@pytest.mark.workflow
def test_workflow_rejects_bad_path_before_any_job(tmp_path):
    """The Snakefile runs the same check: a dry run fails naming the key and creates nothing."""
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml.safe_dump({"data": {"embedded": {"dir": "resources/\nembedded"}}}), encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    proc = snakemake(work, "-n", configfiles=(ROOT / "tests" / "config_test.yaml", cfg), check=False,
                     timeout=120)
    assert proc.returncode != 0
    assert "data.embedded.dir" in proc.stdout + proc.stderr
    assert not (work / "results").exists() and not (work / "resources").exists()
