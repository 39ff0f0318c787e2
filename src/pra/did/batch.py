"""Run a batch of specifications on the spatial sample and return the tidy estimates store rows.

Store rows follow :mod:`pra.store` (docs/contract.md §5): the estimate, the spec's fields, the
design it ran under (``cluster``: the clustering variable; ``years``: the survey years of the
sample), ``role`` ("treatment" for the coefficients of the spec's terms, "control" for the rest:
Annex A needs them) and ``dropped`` (JSON ``{reason: rows}``: rows removed when preparing the
sample and when estimating).

Speed: specs sharing a prepared sample (:data:`pra.did.specs.PREP_FIELDS`) are prepared once;
specs that also share their terms are estimated in one pyfixest multiple estimation
(``y1 + y2 + y3 ~ terms + controls + csw0(head, household) | locality + year``).

Figure 7 ("means" family): the conditional mean of ln expenditure by year and group is the
coefficient of each year × group cell in ``y ~ -1 + i(cell) + X̃`` without fixed effects, where
X̃ are the model-3 controls and the locality characteristics (rural, altitude, coast, selva),
each centred at its mean over the estimation sample. Each cell coefficient is therefore the mean
of y in that cell predicted at the pooled sample's average characteristics, with a CRV1
(locality) confidence interval.
"""
from __future__ import annotations

import json
from typing import Sequence

import pandas as pd

# the schema lives in pra.store; STORE_COLUMNS and order_store stay importable from here for the
# scripts and benchmarks that merge batches
from pra.store import STORE_COLUMNS, join_ints, order_store, store_frame  # noqa: F401

from .estimator import DidResult, drop_missing, estimate, estimate_many
from .specs import (FIXED_EFFECTS, HEAD, HOUSEHOLD, LOCALITY_CHARS, SPEC_FIELDS, model_blocks, prep_key,
                    prepare_sample, spec_records)
from .subgroups import SUBGROUPS


def _split_terms(terms: str) -> list[str]:
    """Split a terms string on top-level '+' (not inside parentheses)."""
    out, depth, cur = [], 0, ""
    for ch in terms:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "+" and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def _is_treatment(term: str, terms: list[str]) -> bool:
    for t in terms:
        t = t.strip()
        if t.startswith("i("):
            var = t[2:].split(",")[0].split(")")[0].strip()
            if term.startswith(f"{var}::"):
                return True
        elif term == t:
            return True
    return False


def _rows(spec: dict, res: DidResult, prep_dropped: dict[str, int], terms: list[str],
          design: dict) -> list[dict]:
    dropped = {f"prepare:{k}": v for k, v in prep_dropped.items()}
    dropped.update(res.dropped)
    djson = json.dumps(dict(sorted(dropped.items())), separators=(",", ":"))
    rows = []
    for t in res.table.itertuples(index=False):
        r = {k: spec.get(k) for k in SPEC_FIELDS}
        r.update(design)
        r.update(spec_id=spec["spec_id"], term=t.term,
                 role="treatment" if _is_treatment(t.term, terms) else "control",
                 coef=t.coef, se=t.se, pvalue=t.pvalue, ci_low=t.ci_low, ci_high=t.ci_high,
                 nobs=res.nobs, nclusters=res.nclusters, r2=res.r2, r2_within=res.r2_within,
                 dropped=djson)
        rows.append(r)
    return rows


def _means(frame: pd.DataFrame, spec: dict, cluster: str) -> DidResult:
    y = spec["outcome"]
    controls = LOCALITY_CHARS + HEAD + HOUSEHOLD
    cols = [y, "cell"] + controls + [cluster]
    kept, dropped = drop_missing(frame, cols)
    kept = kept[cols].copy()
    for c in controls:  # centre so each cell coefficient is the mean at average characteristics
        kept[c] = kept[c].astype(float) - kept[c].astype(float).mean()
    res = estimate(kept, y, ["-1", "i(cell)"], fixed_effects=[], controls=controls, cluster=cluster)
    res.dropped = {**dropped, **res.dropped}
    return res


def _check_subgroup_levels(frame: pd.DataFrame, spec: dict) -> None:
    """A level without treated post-period rows has no coefficient (pyfixest just leaves it
    out): stop and name it rather than show a table with a silently missing row."""
    name = spec.get("subgroup")
    if spec.get("family") != "subgroup" or not name:
        return
    group = SUBGROUPS[name]
    present = set(frame.loc[frame["D"] == 1, group.column].dropna().astype(float))
    missing = [v for v in group.levels if float(v) not in present]
    if missing:
        raise ValueError(f"run_batch: spec {spec['spec_id']} ({spec['outcome']}): subgroup {name!r}: "
                         f"level(s) {missing} of {group.column!r} have no treated post-period rows "
                         f"({len(frame)} rows in the sample)")


def run_batch(data: pd.DataFrame, specs: Sequence[dict] | pd.DataFrame, *,
              cluster: str = "locality") -> pd.DataFrame:
    """Estimate every spec on ``data`` (the spatial sample table); tidy store rows.

    ``cluster``: the column whose clusters the standard errors account for (``did.cluster``);
    each row records it, and the survey years of ``data``, as its design.
    Row order: specs in the given order, terms in pyfixest's order within a spec.
    """
    if cluster not in data.columns:
        raise KeyError(f"run_batch: cluster column {cluster!r} (did.cluster) is not in the sample table "
                       f"(columns: {sorted(map(str, data.columns))})")
    design = {"cluster": cluster, "years": join_ints(sorted(pd.unique(data["year"].astype("int64"))))}
    recs = spec_records(specs) if isinstance(specs, pd.DataFrame) else [dict(s) for s in specs]
    ids = [s["spec_id"] for s in recs]
    if len(set(ids)) != len(ids):
        raise ValueError("run_batch: duplicate spec_id in the batch")
    results: dict[str, list[dict]] = {}
    # prepare each distinct sample once (first-appearance order: deterministic)
    groups: dict[str, list[dict]] = {}
    for s in recs:
        groups.setdefault(prep_key(s), []).append(s)
    for key, members in groups.items():
        frame, prep_dropped = prepare_sample(data, members[0])
        ref_year = int(frame["year"].min())
        blocks = model_blocks(ref_year)
        # specs that share terms (and hence RHS apart from the nested blocks) go together
        by_rhs: dict[tuple, list[dict]] = {}
        for s in members:
            if s["family"] == "means":
                res = _means(frame, s, cluster)
                results[s["spec_id"]] = _rows(s, res, prep_dropped, ["i(cell)"], design)
                continue
            _check_subgroup_levels(frame, s)
            extra = SUBGROUPS[s["subgroup"]].main_effect if s.get("subgroup") else None
            by_rhs.setdefault((s["terms"], extra or ""), []).append(s)
        for (terms_str, extra), ss in by_rhs.items():
            terms = _split_terms(terms_str)
            models = sorted({int(s["model"]) for s in ss})
            m0, m1 = models[0], models[-1]
            controls = [t for m in range(1, m0 + 1) for t in blocks[m]] + ([extra] if extra else [])
            nested = [blocks[m] for m in range(m0 + 1, m1 + 1)]
            outcomes = list(dict.fromkeys(s["outcome"] for s in ss))
            fits = estimate_many(frame, outcomes, terms, FIXED_EFFECTS, controls=controls,
                                 nested=nested, cluster=cluster)
            for s in ss:
                res = fits[(s["outcome"], int(s["model"]) - m0)]
                results[s["spec_id"]] = _rows(s, res, prep_dropped, terms, design)
    return store_frame([r for s in recs for r in results[s["spec_id"]]])


