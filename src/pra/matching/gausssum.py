"""Gaussian kernel sums in linear time: a one-dimensional fast Gauss transform.

    S[i] = sum_j exp(-(x_i - y_j)^2) Q[j, :]      (x: targets, y: sources, both scaled scores)

Kernel matching with a Gaussian kernel needs these sums for every treated unit (targets) over
every control (sources). Done directly that is n_t x n_c exponentials per bootstrap replication:
fine at the study's size, quadratic beyond it (at 10x the study, ~1e9 per replication). Here the
sources are grouped in boxes of width 1 and each box is summarised by the first ``TERMS``
moments of its sources about the box centre c (Greengard & Strain 1991):

    exp(-(t - s)^2) = sum_n  s^n / n!  h_n(t),   t = x - c, s = y - c, |s| <= 1/2,

with the Hermite functions h_n(t) = H_n(t) exp(-t^2). By Cramér's inequality the terms after
``TERMS`` = 30 are below 1e-20 of exp(-t^2/2), so the truncation is far under double precision
*relative* to each box's own contribution. Only boxes whose centre lies within ``REACH`` of a
target are summed. Targets whose nearest source is farther than ``NEAR`` are returned in ``far``
for the caller to sum directly; for every other target the boxes left out weigh less than
exp(-(REACH - 1/2)^2 + NEAR^2) ~ 1e-31 of its nearest source, so the result equals the direct sum
to rounding (tested against it). Cost: O((n_t + n_c) * TERMS) per column of Q.
"""
from __future__ import annotations

import numpy as np

TERMS = 30
REACH = 9.5
NEAR = 3.0


def _hermite_functions(t: np.ndarray) -> np.ndarray:
    """h_0..h_{TERMS-1} at t (len(t) x TERMS): h_{n+1} = 2t h_n - 2n h_{n-1}."""
    h = np.empty((len(t), TERMS))
    h[:, 0] = np.exp(-t * t)
    h[:, 1] = 2.0 * t * h[:, 0]
    for n in range(1, TERMS - 1):
        h[:, n + 1] = 2.0 * t * h[:, n] - 2.0 * n * h[:, n - 1]
    return h


def far_targets(x, y) -> np.ndarray:
    """Targets whose nearest source is farther than NEAR (left to a direct sum)."""
    x, ys = np.asarray(x, float), np.sort(np.asarray(y, float))
    if len(ys) == 0:
        return np.ones(len(x), bool)
    k = np.searchsorted(ys, x)
    near = np.minimum(np.abs(x - ys[np.clip(k - 1, 0, len(ys) - 1)]),
                      np.abs(x - ys[np.clip(k, 0, len(ys) - 1)]))
    return near > NEAR


def gauss_sums(x, y, Q) -> tuple[np.ndarray, np.ndarray]:
    """sum_j exp(-(x_i - y_j)^2) Q[j] for each target i, and the mask of targets left to the caller.

    Returns (S, far): S is len(x) x Q.shape[1] with rows of ``far`` set to 0; ``far`` marks the
    targets whose nearest source is farther than NEAR (their sums underflow relative to the
    expansion's rounding, so the caller sums them directly).
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    Q = np.asarray(Q, float)
    Q2 = Q.reshape(len(y), -1)
    S = np.zeros((len(x), Q2.shape[1]))
    far = far_targets(x, y)
    if far.all():
        return S.reshape((len(x),) + Q.shape[1:]), far

    # moments of each box about its centre: A[b, n, :] = sum_{j in b} s_j^n / n! Q[j, :]
    b0 = np.floor(y.min())
    box = (np.floor(y) - b0).astype(np.int64)
    n_boxes = int(box.max()) + 1
    centres = b0 + np.arange(n_boxes) + 0.5
    s = y - centres[box]
    powers = np.empty((len(y), TERMS))
    powers[:, 0] = 1.0
    for n in range(1, TERMS):
        powers[:, n] = powers[:, n - 1] * s / n
    order = np.argsort(box, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(box[order]) != 0])
    terms = powers[order][:, :, None] * Q2[order][:, None, :]
    A = np.zeros((n_boxes, TERMS, Q2.shape[1]))
    A[box[order][starts]] = np.add.reduceat(terms, starts, axis=0)

    # each target sums the boxes whose centre is within REACH of it
    xi = np.flatnonzero(~far)
    xt = x[xi]
    home = np.floor(xt - b0).astype(np.int64)
    span = int(np.ceil(REACH)) + 1
    for off in range(-span, span + 1):
        bb = home + off
        ok = (bb >= 0) & (bb < n_boxes)
        ok[ok] &= np.abs(xt[ok] - centres[bb[ok]]) <= REACH
        if not ok.any():
            continue
        t = xt[ok] - centres[bb[ok]]
        S[xi[ok]] += np.einsum("in,ink->ik", _hermite_functions(t), A[bb[ok]])
    return S.reshape((len(x),) + Q.shape[1:]), far
