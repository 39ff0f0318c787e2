"""Romano–Wolf and Westfall–Young adjusted p-values for a family of hypotheses ``β_h = 0``.

A family is several fits (the subgroups of Tables 9–10, the outcomes of Table 6, the semesters of
Table 7), each with its own demeaned design, term and rows. The **joint** bootstrap draws one
weight per cluster of the union of their clusters (sorted ids) and gives every hypothesis the
weights of its own clusters: the same cluster draws for every hypothesis, so that the bootstrap
keeps the dependence between the estimates (shared clusters, shared shocks). Each hypothesis'
t* is its WCR bootstrap t (null imposed, :class:`pra.inference.bootstrap.WildBootstrap`).

* Romano and Wolf (2005, 2016) step-down: order the hypotheses by |t| (largest first); the s-th
  p-value is ``(#{b: max_{h ≥ s} |t*_{bh}| ≥ |t_s|} + 1) / (B + 1)``, then made monotone (running
  maximum). This is Stata ``rwolf``'s and pyfixest's ``rwolf`` convention.
* Westfall and Young (1993, algorithm 2.8) free step-down minP on p-values: ``p_h`` and ``p*_{bh}``
  from t(G_h − 1) of |t| and |t*|; order by p (smallest first); the s-th p-value is
  ``#{b: min_{h ≥ s} p*_{bh} ≤ p_s} / B``, then the running maximum (pyfixest's ``wyoung``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .bootstrap import WildBootstrap, draw_weights
from .design import Design

__all__ = ["Hypothesis", "joint_bootstrap", "romano_wolf", "westfall_young", "adjusted_pvalues"]


@dataclass(frozen=True)
class Hypothesis:
    """``H0: term = 0`` in the fit ``design``; ``name`` labels it in the table."""

    name: str
    design: Design
    term: str


def joint_bootstrap(family: Sequence[Hypothesis], cluster: str, weights: str = "rademacher",
                    B: int = 9999, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                             list[WildBootstrap]]:
    """t (H,), t* (B × H) and the t df (H,) from one draw of cluster weights for the family."""
    ids = [pd.Index(pd.unique(h.design.frame[cluster])) for h in family]
    union = pd.Index(sorted(set().union(*[set(i) for i in ids])))
    V = draw_weights(weights, len(union), B, np.random.default_rng(seed))
    boots = []
    for h, own in zip(family, ids):
        rows = union.get_indexer(pd.Index(sorted(own)))
        boots.append(WildBootstrap(h.design, h.term, cluster, weights, seed=seed, v=V[rows]))
    t = np.array([b.tstat(0.0) for b in boots])
    tstar = np.column_stack([b.tstar(0.0) for b in boots])
    df = np.array([b.G - 1 for b in boots])
    return t, tstar, df, boots


def romano_wolf(t: np.ndarray, tstar: np.ndarray) -> np.ndarray:
    """Romano–Wolf step-down adjusted p-values from |t| (H,) and bootstrap |t*| (B × H)."""
    t, tstar = np.abs(np.asarray(t, float)), np.abs(np.asarray(tstar, float))
    B = tstar.shape[0]
    order = np.argsort(-t, kind="stable")
    # max over the hypotheses not yet rejected: a running maximum from the smallest |t| upwards
    tail_max = np.maximum.accumulate(tstar[:, order[::-1]], axis=1)[:, ::-1]
    p = (np.sum(tail_max >= t[order][None, :], axis=0) + 1) / (B + 1)
    p = np.minimum(np.maximum.accumulate(p), 1.0)
    out = np.empty_like(p)
    out[order] = p
    return out


def westfall_young(p: np.ndarray, pstar: np.ndarray) -> np.ndarray:
    """Westfall–Young free step-down minP adjusted p-values from p (H,) and p* (B × H)."""
    p, pstar = np.asarray(p, float), np.asarray(pstar, float)
    B = pstar.shape[0]
    order = np.argsort(p, kind="stable")
    tail_min = np.minimum.accumulate(pstar[:, order[::-1]], axis=1)[:, ::-1]
    adj = np.maximum.accumulate(np.sum(tail_min <= p[order][None, :], axis=0) / B)
    out = np.empty_like(adj)
    out[order] = adj
    return out


def adjusted_pvalues(family: Sequence[Hypothesis], cluster: str, weights: str = "rademacher",
                     B: int = 9999, seed: int = 0) -> pd.DataFrame:
    """One row per hypothesis: name, term, coef, tstat, the CRV1 p-value (t(G−1)), its WCR
    bootstrap p-value and the Romano–Wolf and Westfall–Young adjusted p-values."""
    t, tstar, df, boots = joint_bootstrap(family, cluster, weights, B, seed)
    p = 2 * stats.t.sf(np.abs(t), df)
    pstar = 2 * stats.t.sf(np.abs(tstar), df[None, :])
    return pd.DataFrame({
        "name": [h.name for h in family], "term": [h.term for h in family],
        "coef": [b.coef for b in boots], "tstat": t, "pvalue": p,
        "pvalue_wcr": [float(np.mean(np.abs(tstar[:, i]) > abs(t[i]))) for i in range(len(t))],
        "pvalue_rw": romano_wolf(t, tstar), "pvalue_wy": westfall_young(p, pstar),
        "B": tstar.shape[0], "weights": weights, "seed": seed,
    })
