"""The Snakemake HTML report of a test-size run, opened in headless Chromium.

What is screenshotted: the report is a single-page app without URL routing (no fragment selects a
result). Clicking a result's eye button calls ``app.setView({content, contentPath: data_uri,
resultPath})`` (snakemake/report/html_reporter/template/components/result_view_button.js). The
test writes a copy of the report with one extra ``<script>`` that makes that same call after
load for one result, then lets Chromium take a screenshot: the picture is the report page itself
(navigation panel with the caption on the left, the result on the right) in the state a click on
the eye button leaves it. ``--dump-dom`` of the same page confirms what is displayed.

Broken images: a second injected script loads the data URI of every image result of the report
into an ``<img>`` and records ``naturalWidth``; the test reads the record from the dumped DOM.

Chromium: Debian package ``chromium`` (``apt-get install -y chromium``, which ``ci/setup.sh`` runs as
root). Missing: the screenshot tests fail where ``ci/setup.sh`` could have installed it (root with
apt-get) and are skipped, with that reason, where it cannot.
"""
from __future__ import annotations

import base64
import json
import re
import subprocess
from pathlib import Path

import pytest

from helpers import require_program
from workflow import snakemake

pytestmark = pytest.mark.workflow  # the report of the session's pipeline run

CHROMIUM_NAMES = ["chromium", "chromium-browser", "google-chrome"]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars"]
SUMMARY = "results/tables/summary.html"
FIGURE8 = "results/figures/figure8.png"
EXPECTED_IMAGES = ["results/figures/figure6.png", "results/figures/figure7.png", FIGURE8, "results/geo/map1.png",
                   "results/matching/figure9.png", "results/matching/map2.png",
                   "results/figures/speccurve_ln_pc_exp.png", "results/figures/speccurve_poor.png",
                   "results/figures/speccurve_subj_poor_living.png"]


def _chromium() -> str:
    # skipped (with the reason) where ci/setup.sh cannot install Chromium; a failure where it can
    return require_program(CHROMIUM_NAMES, "the HTML report screenshots (headless Chromium)")


@pytest.fixture(scope="module")
def report(pipeline_run) -> tuple[Path, dict, dict]:
    wd = pipeline_run
    snakemake(wd, "--report", "results/report.html")
    path = wd / "results" / "report.html"
    html = path.read_text(encoding="utf-8")
    return path, _var(html, "results"), _var(html, "categories")


def _var(html: str, name: str):
    m = re.search(rf'<script id="{name}">\s*var {name} = (.*?);?\s*</script>', html, re.S)
    assert m, f"report.html: no <script id={name}> block (Snakemake report layout changed?)"
    return json.loads(m.group(1).rstrip().rstrip(";"))


def _inject(report_path: Path, out: Path, script: str) -> Path:
    html = report_path.read_text(encoding="utf-8")
    i = html.rfind("</body>")
    assert i > 0
    out.write_text(html[:i] + f"<script>\n{script}\n</script>\n" + html[i:], encoding="utf-8")
    return out


def _chrome(args: list[str], profile: Path, timeout: int = 120) -> subprocess.CompletedProcess:
    cmd = [_chromium(), *FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=10000", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd}\n{proc.stderr[-3000:]}"
    return proc


def _show(result: str, content: str) -> str:
    return f"""
window.addEventListener("load", function () {{
  setTimeout(function () {{
    const key = Object.keys(results).find(k => k === {json.dumps(result)});
    if (!key) {{ const d = document.createElement("div"); d.id = "pra-missing"; document.body.appendChild(d); return; }}
    app.setView({{content: {json.dumps(content)}, contentPath: results[key].data_uri,
                  resultPath: key, navbarMode: "resultinfo"}});
  }}, 200);
}});"""


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def _png_ink(path: Path, box: tuple[float, float, float, float]) -> float:
    """Share of non-white pixels inside ``box`` (fractions x0, y0, x1, y1) of an RGB(A) PNG."""
    from matplotlib import image as mpimg

    a = mpimg.imread(path)[..., :3]
    h, w = a.shape[:2]
    x0, y0, x1, y1 = box
    sub = a[int(y0 * h):int(y1 * h), int(x0 * w):int(x1 * w)]
    return float((sub.min(axis=2) < 0.9).mean())


def test_report_lists_every_chapter(report):
    _, results, categories = report
    assert sorted(categories) == ["1. Executive summary", "2. Data", "3. Difference-in-differences",
                                  "4. Matching DD", "5. Robustness"], sorted(categories)
    tables = [k for k in results if k.startswith("results/tables/") and k.endswith(".html")]
    assert len(tables) == 18, sorted(tables)
    for k in tables:
        assert results[k]["caption"].strip(), f"{k}: empty caption"
    assert FIGURE8 in results, ("Figure 8 is not in the report: rules/did.smk must wrap fig8_png in "
                                "report(..., caption='../report/figure8.rst', ...)")
    assert SUMMARY in categories["1. Executive summary"]["Tables"]


def test_no_broken_image(report, tmp_path):
    path, results, _ = report
    images = sorted(k for k, v in results.items() if v["mime_type"].startswith("image/"))
    missing = sorted(set(EXPECTED_IMAGES) - set(images))
    assert not missing, (f"figures not in the report: {missing}; their rules (rules/did.smk, geo.smk, "
                         "matching.smk) must wrap the PNG outputs in report(...)")
    for k in images:
        uri = results[k]["data_uri"]
        assert uri.startswith(f"data:{results[k]['mime_type']}"), (k, uri[:60])
        _png_size(base64.b64decode(uri.split(",", 1)[1]))  # decodes to a PNG
    check = """
window.addEventListener("load", function () {
  const keys = Object.keys(results).filter(k => results[k].mime_type.startsWith("image/")).sort();
  const out = {};
  let pending = keys.length;
  const done = () => { const pre = document.createElement("pre"); pre.id = "pra-check";
                       pre.textContent = JSON.stringify(out); document.body.appendChild(pre); };
  keys.forEach(k => { const img = new Image();
    img.onload = () => { out[k] = img.naturalWidth; if (--pending === 0) done(); };
    img.onerror = () => { out[k] = -1; if (--pending === 0) done(); };
    img.src = results[k].data_uri; });
  // and every <img> already in the page (logo, icons)
  Array.from(document.images).forEach((im, i) => { out["page-img-" + i] = im.complete ? im.naturalWidth : -2; });
});"""
    page = _inject(path, tmp_path / "check.html", check)
    dom = _chrome(["--dump-dom", page.as_uri()], tmp_path / "profile").stdout
    m = re.search(r'<pre id="pra-check">(.*?)</pre>', dom, re.S)
    assert m, "the image check did not finish in the headless browser"
    got = json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    broken = {k: v for k, v in got.items() if v <= 0}
    assert not broken, f"broken images in the report: {broken}"
    assert set(images) <= set(got)


@pytest.mark.parametrize("result,content,name", [(SUMMARY, "html", "summary"), (FIGURE8, "img", "figure8")])
def test_screenshot(report, tmp_path_factory, result, content, name):
    path, results, _ = report
    assert result in results, f"{result} is not in the report"
    out = tmp_path_factory.mktemp(f"shot_{name}")
    page = _inject(path, out / f"view_{name}.html", _show(result, content))
    # what the page displays after the injected call (the DOM, not the pixels)
    dom = _chrome(["--dump-dom", page.as_uri()], out / "profile").stdout
    assert 'id="pra-missing"' not in dom, f"{result}: not found by the injected script"
    uri = results[result]["data_uri"]
    tag = "iframe" if content == "html" else "img"
    shown = re.findall(rf'<{tag}[^>]*src="([^"]+)"', dom)
    assert any(s.replace("&amp;", "&") == uri for s in shown), f"{result} not displayed as <{tag}>"
    assert result in dom  # the breadcrumb / result info names the file
    shot = out / f"{name}.png"
    _chrome([f"--screenshot={shot}", "--window-size=1400,900", page.as_uri()], out / "profile2")
    assert _png_size(shot.read_bytes()) == (1400, 900)
    # the right half (content pane) is not blank, nor is the left (caption, navigation)
    assert _png_ink(shot, (0.52, 0.02, 0.98, 0.5)) > 0.01, f"{shot}: content pane is blank"
    assert _png_ink(shot, (0.0, 0.0, 0.45, 0.5)) > 0.2, f"{shot}: navigation panel missing"
    print(f"screenshot of {result} in the report: {shot}")
