"""The grid explorer: one self-contained HTML page (no server, no network) to filter the full grid.

The page is a Vega-Lite view with the data inlined and the Vega, Vega-Lite and Vega-Embed
libraries inlined from ``vl-convert-python`` (its ``javascript_bundle()``: the libraries and
their dependencies as one script), so it works offline. One drop-down per choice (outcome,
radius, sample space, ring, household sample, model, weights, post period; "all" keeps every
value); every panel follows the filter:

* the specification curve of the selected specifications (re-ranked after filtering),
* the distribution of their estimates,
* the joint test's inputs for the selection (count, median, share significant at α, share with
  the dominant sign), and the bootstrap null distributions of those three summaries for the
  outcome's whole curve with the whole curve's p-values (the test itself is run on the whole curve
  of each outcome; a filtered subset is a different curve, whose null distribution differs).

The SVG renderer keeps every label in the page's DOM (``tests/test_grid_explorer.py`` reads the
count after applying a filter in headless Chromium).
"""
from __future__ import annotations

import html
import json
from typing import Sequence

import numpy as np
import pandas as pd

from .specs import CHOICE_LABELS, CHOICES

ALL = "all"
SIGNAL = {c: f"p_{c}" for c in CHOICES}


def _display(col: str, v) -> str:
    if col == "ring_km":
        return "none" if float(v) == 0 else f"±{float(v):g}"
    if col in ("radius_km", "sample_space_km"):
        return f"{float(v):g}"
    return str(v)


def explorer_data(store: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """The rows the page carries: effect rows with an estimate, choices as display strings."""
    d = store[(store["term"] == "D") & (store["status"] == "ok") & store["coef"].notna()]
    out = pd.DataFrame({c: [_display(c, v) for v in d[c]] for c in CHOICES})
    out.insert(0, "spec_id", d["spec_id"].to_numpy())
    for c in ("coef", "ci_low", "ci_high", "pvalue"):
        out[c] = d[c].to_numpy(float).round(6)
    out["significant"] = (d["pvalue"].to_numpy(float) < alpha)
    return out


def _options(values: Sequence[str], col: str) -> list[str]:
    def key(v: str):
        try:
            return (0, float(v.lstrip("±")), v)
        except ValueError:
            return (1 if v != "none" else -1, 0.0, v)
    return sorted(set(values), key=key)


def explorer_spec(data: pd.DataFrame, joint: pd.DataFrame, null: pd.DataFrame, alpha: float) -> dict:
    """The Vega-Lite specification (data inlined)."""
    params = []
    for c in CHOICES:
        opts = _options(data[c].tolist(), c)
        if c == "outcome":  # a curve is one outcome's
            first = "ln_pc_exp" if "ln_pc_exp" in opts else opts[0]
            params.append({"name": SIGNAL[c], "value": first,
                           "bind": {"input": "select", "options": opts, "name": f"{CHOICE_LABELS[c]} "}})
        else:
            params.append({"name": SIGNAL[c], "value": ALL,
                           "bind": {"input": "select", "options": [ALL] + opts, "name": f"{CHOICE_LABELS[c]} "}})
    cond = " && ".join(f"datum.{c} == {SIGNAL[c]}" if c == "outcome" else
                       f"({SIGNAL[c]} == '{ALL}' || datum.{c} == {SIGNAL[c]})" for c in CHOICES)
    rows = json.loads(data.to_json(orient="records"))
    base_filter = [{"filter": cond}]
    tooltip = [{"field": c, "title": CHOICE_LABELS[c]} for c in CHOICES] + [
        {"field": "coef", "format": ".4f"}, {"field": "ci_low", "format": ".4f"},
        {"field": "ci_high", "format": ".4f"}, {"field": "pvalue", "format": ".4f"}, {"field": "spec_id"}]
    curve = {
        "title": "Specification curve of the selection (sorted estimates, 95% CI)",
        "width": 760, "height": 260,
        "transform": base_filter + [{"window": [{"op": "row_number", "as": "rank"}],
                                     "sort": [{"field": "coef"}, {"field": "spec_id"}]}],
        "layer": [
            {"mark": {"type": "area", "color": "#d9d9d9"},
             "encoding": {"x": {"field": "rank", "type": "quantitative", "title": "specification (sorted)"},
                          "y": {"field": "ci_low", "type": "quantitative", "title": "estimate"},
                          "y2": {"field": "ci_high"}}},
            {"mark": {"type": "point", "filled": True, "size": 8},
             "encoding": {"x": {"field": "rank", "type": "quantitative"},
                          "y": {"field": "coef", "type": "quantitative"},
                          "color": {"field": "significant", "type": "nominal",
                                    "scale": {"domain": [True, False], "range": ["black", "#969696"]},
                                    "title": f"p < {alpha:g}"},
                          "tooltip": tooltip}},
            {"mark": {"type": "rule", "strokeDash": [4, 3], "color": "#555"},
             "encoding": {"y": {"datum": 0}}},
        ],
    }
    hist = {
        "title": "Distribution of the selected estimates",
        "width": 360, "height": 200, "transform": base_filter,
        "mark": {"type": "bar", "color": "#4c78a8"},
        "encoding": {"x": {"field": "coef", "bin": {"maxbins": 40}, "type": "quantitative", "title": "estimate"},
                     "y": {"aggregate": "count", "type": "quantitative", "title": "specifications"}},
    }
    summary = {
        "title": "Joint test inputs for the selection",
        "width": 360, "height": 200,
        "transform": base_filter + [
            {"calculate": "datum.significant ? 1 : 0", "as": "sig"},
            {"calculate": "datum.coef > 0 ? 1 : 0", "as": "pos"},
            {"calculate": "datum.coef < 0 ? 1 : 0", "as": "neg"},
            {"aggregate": [{"op": "count", "as": "n"}, {"op": "median", "field": "coef", "as": "median"},
                           {"op": "mean", "field": "sig", "as": "sig"}, {"op": "mean", "field": "pos", "as": "pos"},
                           {"op": "mean", "field": "neg", "as": "neg"}]},
            {"calculate": "max(datum.pos, datum.neg)", "as": "dom"},
            {"calculate": "datum.pos >= datum.neg ? 'positive' : 'negative'", "as": "domsign"},
            {"calculate": "['specifications shown: ' + format(datum.n, ',d'), "
                          "'median estimate: ' + format(datum.median, '.4f'), "
                          f"'share significant (p < {alpha:g}): ' + format(datum.sig, '.3f'), "
                          "'share with the dominant sign (' + datum.domsign + '): ' + format(datum.dom, '.3f')]",
             "as": "lines"},
            {"flatten": ["lines"]},
            {"window": [{"op": "row_number", "as": "line"}]},
        ],
        "mark": {"type": "text", "align": "left", "fontSize": 13, "dx": 4},
        "encoding": {"y": {"field": "line", "type": "ordinal", "axis": None},
                     "text": {"field": "lines"}},
    }
    jrows = json.loads(joint.to_json(orient="records"))
    nrows = json.loads(null.to_json(orient="records"))
    null_panels = []
    for s, label in (("median", "median estimate"), ("share_significant", "share significant"),
                     ("share_dominant_sign", "share with the dominant sign")):
        null_panels.append({
            "title": f"Null draws: {label}",
            "width": 230, "height": 140,
            "layer": [
                {"data": {"values": nrows}, "transform": [{"filter": f"datum.outcome == {SIGNAL['outcome']}"}],
                 "mark": {"type": "bar", "color": "#bdbdbd"},
                 "encoding": {"x": {"field": s, "bin": {"maxbins": 30}, "type": "quantitative", "title": label},
                              "y": {"aggregate": "count", "type": "quantitative", "title": "draws"}}},
                {"data": {"values": jrows}, "transform": [{"filter": f"datum.outcome == {SIGNAL['outcome']}"}],
                 "mark": {"type": "rule", "color": "#d62728", "strokeWidth": 2},
                 "encoding": {"x": {"field": s, "type": "quantitative"},
                              "tooltip": [{"field": f"p_{s}", "title": "p-value (whole curve)", "format": ".4f"}]}},
            ],
        })
    ptext = {
        "title": "Joint test of the outcome's whole curve (bootstrap under no effect)",
        "width": 760, "height": 40,
        "data": {"values": jrows},
        "transform": [{"filter": f"datum.outcome == {SIGNAL['outcome']}"},
                      {"calculate": "'n = ' + format(datum.n_specs, ',d') + ' specifications, ' + "
                                    "format(datum.draws, ',d') + ' draws: p(median) = ' + format(datum.p_median, '.4f') + "
                                    "', p(share significant) = ' + format(datum.p_share_significant, '.4f') + "
                                    "', p(share ' + datum.dominant_sign + ') = ' + format(datum.p_share_dominant_sign, '.4f') + "
                                    "' (red lines: the whole curve\\u2019s values)'", "as": "txt"}],
        "mark": {"type": "text", "align": "left", "x": 0, "fontSize": 12},
        "encoding": {"text": {"field": "txt"}},
    }
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "data": {"name": "grid", "values": rows},
        "params": params,
        "vconcat": [curve, {"hconcat": [hist, summary]}, ptext, {"hconcat": null_panels}],
        "config": {"view": {"stroke": None}, "font": "sans-serif"},
    }


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 1.2em; color: #222; }}
.vega-embed {{ display: flex !important; flex-direction: column; }}
.vega-bindings {{ order: -1; display: grid; grid-template-columns: repeat(4, auto); gap: 0.3em 1.5em;
                  margin-bottom: 1em; justify-content: start; }}
p.note {{ max-width: 60em; font-size: 0.9em; color: #444; }}
</style>
<script>{bundle}</script>
</head>
<body>
<h1>{title}</h1>
<p class="note">{note}</p>
<div id="view"></div>
<script>
const spec = {spec};
vegaEmbed("#view", spec, {{renderer: "svg", actions: false}}).then(function (result) {{
  window.praView = result.view;
  document.body.setAttribute("data-pra-ready", "1");
}}).catch(function (err) {{
  const pre = document.createElement("pre"); pre.id = "pra-error"; pre.textContent = String(err);
  document.body.appendChild(pre);
}});
</script>
</body>
</html>
"""


def explorer_html(store: pd.DataFrame, joint: pd.DataFrame, null: pd.DataFrame, *, alpha: float,
                  title: str = "PRA-II full sensitivity grid: explorer", note: str = "") -> str:
    """The page as text (deterministic for the same inputs and library version)."""
    import vl_convert

    data = explorer_data(store, alpha)
    spec = explorer_spec(data, joint, null, alpha)
    bundle = vl_convert.javascript_bundle()
    text = json.dumps(spec, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    # a "</script>" inside the JSON would end the script element early
    text = text.replace("</", "<\\/")
    return PAGE.format(title=html.escape(title), note=html.escape(note), bundle=bundle.replace("</script", "<\\/script"),
                       spec=text)


def count_shown(data: pd.DataFrame, **choices: str) -> int:
    """Specifications the page shows for a filter (``outcome`` required): the test's expectation."""
    keep = np.ones(len(data), dtype=bool)
    for c, v in choices.items():
        keep &= (data[c] == v).to_numpy()
    return int(keep.sum())
