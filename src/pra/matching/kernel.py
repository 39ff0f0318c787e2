"""Kernel propensity-score matching and the matching difference-in-differences (Design 2).

Weights follow psmatch2 (Leuven & Sianesi, v4.1.0 ``_Kernel_``/``_Match_kernel``): for treated
``i`` and control ``j`` of the same period, ``u = (p_j - p_i) / bw`` and

- Gaussian ("normal"): ``K = normalden(u)``, no truncation (every control gets weight);
- Epanechnikov ("epan"): ``K = 1 - u**2`` for ``|u| <= 1``, else 0 (the 3/4 cancels);

``w_ij = K_ij / sum_j K_ij``. A treated unit whose kernel sum is 0 goes off support.
Common support (psmatch2): ``"common"`` drops treated with a score below the minimum or above
the maximum control score; ``"trim"`` drops treated where the controls' score density is 0 or
below its ``trim_pct``-th percentile over the treated (``kdensity`` with Stata's defaults).

Design 2 estimator (``docs/study.md``, Design 2; per period, on-support treated only):
``ATT_DD = mean_i[y_i - sum_j w_ij y_j]_follow-up - mean_i[y_i - sum_j w_ij y_j]_baseline``.
The score is estimated separately in each period (repeated cross-sections). The DD without
matching (Table 16 row b) is the plain difference of group means.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import bootstrap as bs
from .gausssum import far_targets, gauss_sums
from .pscore import PscoreError, PscoreResult, fit_probit, probit_newton

KERNEL_ALIASES = {"gaussian": "gaussian", "normal": "gaussian", "epanechnikov": "epan", "epan": "epan"}
SUPPORT_RULES = (None, "none", "common", "trim")
_BLOCK = 160_000  # kernel entries per block in the bootstrap
# Gaussian kernel sums over more treated x control pairs than this use the fast Gauss transform
# (pra.matching.gausssum; equal to the direct sums to rounding, tested): linear instead of
# quadratic in the sample. The study's sizes (at most ~1e7 pairs a period) stay direct.
FAST_GAUSS_ABOVE = 25_000_000


def _kernel_name(kernel: str) -> str:
    try:
        return KERNEL_ALIASES[kernel.lower()]
    except (KeyError, AttributeError):
        raise ValueError(f"kernel must be one of {sorted(KERNEL_ALIASES)}, got {kernel!r}") from None


def _check_support_rule(common_support, trim_pct):
    if common_support not in SUPPORT_RULES:
        raise ValueError(f"common_support must be one of {SUPPORT_RULES}, got {common_support!r}")
    if common_support == "trim" and (trim_pct is None or not 0 <= trim_pct <= 100):
        raise ValueError("common_support='trim' needs trim_pct in [0, 100] (psmatch2 trim(#))")


def kernel_matrix(pt: np.ndarray, pc: np.ndarray, kernel: str, bandwidth: float) -> np.ndarray:
    """Unnormalised kernel K((p_j - p_i)/bw), treated in rows, controls in columns.

    Gaussian: the normal-density constant is dropped (it cancels in w_ij). A row is rescaled by
    its largest entry only when the nearest control is so far (> ~37 bw) that exp() would
    underflow to all zeros; row-normalised weights are unchanged by that rescaling. The scores
    are scaled before the outer difference so that the n_t x n_c array is touched only 3 times.
    """
    kernel = _kernel_name(kernel)
    if not bandwidth > 0:
        raise ValueError(f"bandwidth must be positive, got {bandwidth}")
    scale = 1.0 / bandwidth
    if kernel == "gaussian":
        scale *= np.sqrt(0.5)  # u^2 / 2 = ((p_i - p_j) / (bw sqrt 2))^2
    a = np.asarray(pt, float) * scale
    c = np.asarray(pc, float) * scale
    D = np.subtract.outer(a, c)
    np.square(D, out=D)
    if kernel == "gaussian":
        if len(a) and len(c):
            # squared distance to the nearest control per treated, from the sorted controls
            cs = np.sort(c)
            k = np.searchsorted(cs, a)
            lo = np.abs(a - cs[np.clip(k - 1, 0, len(cs) - 1)])
            hi = np.abs(a - cs[np.clip(k, 0, len(cs) - 1)])
            near2 = np.minimum(lo, hi) ** 2
            if near2.max() > 700.0:  # exp(-700) ~ 1e-304: rescale those rows to avoid 0/0
                D -= np.where(near2 > 700.0, near2, 0.0)[:, None]
        np.negative(D, out=D)
        np.exp(D, out=D)
    else:  # Epanechnikov: 1 - u^2 on |u| <= 1; clipping at 0 is exactly the truncation
        np.subtract(1.0, D, out=D)
        np.maximum(D, 0.0, out=D)
    return D


def _stata_pctile(x: np.ndarray, p: float, w: np.ndarray | None = None) -> float:
    """Stata ``_pctile`` (frequency weights allowed): first x with cumulative weight > P = W p/100,
    the mean of two neighbours when the cumulative weight equals P exactly."""
    o = np.argsort(x, kind="stable")
    x = np.asarray(x, float)[o]
    w = np.ones(len(x)) if w is None else np.asarray(w, float)[o]
    cw = np.cumsum(w)
    P = cw[-1] * p / 100.0
    i = int(np.searchsorted(cw, P, side="left"))
    if i < len(x) and np.isclose(cw[i], P) and i + 1 < len(x):
        return 0.5 * (x[i] + x[i + 1])
    return x[min(i, len(x) - 1)]


def stata_kdensity_at(at: np.ndarray, x: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    """Stata ``kdensity x, at()`` with its defaults: Epanechnikov kernel
    ``3/(4 sqrt 5) (1 - z^2/5)`` on ``|z| < sqrt 5`` and bandwidth ``0.9 min(sd, IQR/1.349) n^(-1/5)``.
    ``w`` are frequency weights (bootstrap multiplicities)."""
    x = np.asarray(x, float)
    w = np.ones(len(x)) if w is None else np.asarray(w, float)
    n = w.sum()
    mean = np.sum(w * x) / n
    sd = np.sqrt(np.sum(w * (x - mean) ** 2) / (n - 1))
    iqr = _stata_pctile(x, 75, w) - _stata_pctile(x, 25, w)
    m = min(sd, iqr / 1.349) if iqr > 0 else sd
    h = 0.9 * m / n**0.2
    z = np.subtract.outer(np.asarray(at, float), x) / h
    k = np.where(np.abs(z) < np.sqrt(5), 0.75 / np.sqrt(5) * (1 - z * z / 5), 0.0)
    return (k @ w) / (n * h)


def support_mask(pt, pc, common_support=None, trim_pct=None, wc=None, wt=None) -> np.ndarray:
    """psmatch2's support rule for the treated (before the zero-kernel-sum rule)."""
    _check_support_rule(common_support, trim_pct)
    pt = np.asarray(pt, float)
    pc = np.asarray(pc, float)
    if common_support in (None, "none"):
        return np.ones(len(pt), bool)
    if common_support == "common":
        return (pt >= pc.min()) & (pt <= pc.max())
    dens = stata_kdensity_at(pt, pc, wc)
    keep = dens > 0
    if trim_pct > 0:
        keep &= dens >= _stata_pctile(dens, trim_pct, wt)
    return keep


def kernel_weights(
    pscore,
    treated,
    kernel: str = "gaussian",
    bandwidth: float = 0.06,
    common_support: str | None = None,
    trim_pct: float | None = None,
    return_support: bool = False,
):
    """psmatch2 kernel weights: an ``n_treated x n_controls`` array of ``w_ij``.

    Rows follow the treated units and columns the controls in their order of appearance in
    ``pscore``/``treated``. Each on-support row sums to 1; off-support treated rows are all zero.
    With ``return_support=True`` also returns the boolean on-support mask of the treated.
    A control's psmatch2 ``_weight`` is the column sum.
    """
    p = np.asarray(pscore, float)
    d = np.asarray(treated)
    if p.shape != d.shape or p.ndim != 1:
        raise ValueError("pscore and treated must be 1-d arrays of the same length")
    if np.isnan(p).any():
        raise ValueError(f"pscore has {int(np.isnan(p).sum())} missing values")
    if not np.isin(d, [0, 1]).all():
        raise ValueError("treated must be 0/1")
    d = d.astype(bool)
    if not d.any() or d.all():
        raise ValueError("need at least one treated and one control")
    pt, pc = p[d], p[~d]
    sup = support_mask(pt, pc, common_support, trim_pct)
    W = np.zeros((len(pt), len(pc)))
    if sup.any():
        K = kernel_matrix(pt[sup], pc, kernel, bandwidth)
        den = K.sum(axis=1)
        ok = den > 0
        K[ok] /= den[ok, None]
        W[sup] = K
        sup[np.flatnonzero(sup)[~ok]] = False
    return (W, sup) if return_support else W


def _direct_sums(ps, pc, A, kernel, bandwidth):
    """kernel_matrix(ps, pc) @ A in blocks of treated rows (~160k entries, ~1.3 MB, in cache:
    about 2.5x faster than one n_t x n_c array at study size)."""
    step = max(8, _BLOCK // max(len(pc), 1))
    S = np.empty((len(ps), A.shape[1]))
    for i in range(0, len(ps), step):
        S[i : i + step] = kernel_matrix(ps[i : i + step], pc, kernel, bandwidth) @ A
    return S


def _gaussian_scale(bandwidth: float) -> float:
    return np.sqrt(0.5) / bandwidth  # exp(-u^2 / 2) = exp(-(p_i sc - p_j sc)^2)


def kernel_sums(ps, pc, A, kernel, bandwidth):
    """Unnormalised kernel sums ``K(ps, pc) @ A`` (rows as in :func:`kernel_matrix`).

    Gaussian kernel and more than FAST_GAUSS_ABOVE pairs: the fast Gauss transform, with the
    treated that lie far from every control summed directly (so that rescaling applies as in
    kernel_matrix); otherwise the direct sums.
    """
    ps, pc, A = np.asarray(ps, float), np.asarray(pc, float), np.asarray(A, float)
    if _kernel_name(kernel) != "gaussian" or len(ps) * len(pc) <= FAST_GAUSS_ABOVE:
        return _direct_sums(ps, pc, A, kernel, bandwidth)
    sc = _gaussian_scale(bandwidth)
    S, far = gauss_sums(ps * sc, pc * sc, A)
    if far.any():
        S[far] = _direct_sums(ps[far], pc, A, kernel, bandwidth)
    return S


def control_weights(ps, pc, den, kernel, bandwidth):
    """psmatch2's ``_weight`` of each control: ``sum_i w_ij = sum_i K_ij / den_i`` over the
    on-support treated ``ps`` with kernel sums ``den`` (from :func:`kernel_sums`), without
    holding the n_t x n_c matrix."""
    ps, pc, den = np.asarray(ps, float), np.asarray(pc, float), np.asarray(den, float)
    inv = 1.0 / den
    if _kernel_name(kernel) != "gaussian" or len(ps) * len(pc) <= FAST_GAUSS_ABOVE:
        step = max(8, _BLOCK // max(len(pc), 1))
        w = np.zeros(len(pc))
        for i in range(0, len(ps), step):
            w += inv[i : i + step] @ kernel_matrix(ps[i : i + step], pc, kernel, bandwidth)
        return w
    sc = _gaussian_scale(bandwidth)
    # treated far from every control had their row rescaled in den: add their rows directly
    far_t = far_targets(ps * sc, pc * sc)
    w = np.zeros(len(pc))
    if far_t.any():
        w += inv[far_t] @ kernel_matrix(ps[far_t], pc, kernel, bandwidth)
    near_t = ~far_t
    w_near, far_c = gauss_sums(pc * sc, ps[near_t] * sc, inv[near_t])
    # controls far from every such treated: their tiny sums directly (no row rescaling: these are
    # columns of the treated rows above), in blocks
    far_idx, a, inv_near = np.flatnonzero(far_c), ps[near_t] * sc, inv[near_t]
    step = max(8, _BLOCK // max(len(a), 1))
    for i in range(0, len(far_idx), step):
        rows = far_idx[i : i + step]
        D = np.subtract.outer(pc[rows] * sc, a)
        np.square(D, out=D)
        np.negative(D, out=D)
        np.exp(D, out=D)
        w_near[rows] = D @ inv_near
    return w + w_near


def _period_effects(p, d, Y, m, kernel, bandwidth, common_support, trim_pct):
    """Matching and raw differences for one period, rows weighted by multiplicity ``m``.

    Returns (matched diff per outcome, raw diff per outcome, on-support mask of treated,
    counterfactual means of treated, kernel sums of the on-support treated). Treated with
    multiplicity m_i count m_i times; a control drawn m_j times counts m_j times in every kernel
    sum (equivalent to duplicated rows).
    """
    t = d == 1
    pt, pc = p[t], p[~t]
    mt, mc = m[t], m[~t]
    Yt, Yc = Y[t], Y[~t]
    sup = support_mask(pt, pc, common_support, trim_pct, wc=mc, wt=mt)
    A = np.column_stack([mc, mc[:, None] * Yc])
    S = kernel_sums(pt[sup], pc, A, kernel, bandwidth)
    den = S[:, 0]
    ok = den > 0
    idx = np.flatnonzero(sup)
    sup[idx[~ok]] = False
    cf = np.full(Yt.shape, np.nan)
    cf[idx[ok]] = S[ok, 1:] / den[ok, None]
    ms = mt[sup]
    matched = (ms @ (Yt[sup] - cf[sup])) / ms.sum() if ms.sum() > 0 else np.full(Y.shape[1], np.nan)
    raw = (mt @ Yt) / mt.sum() - (mc @ Yc) / mc.sum()
    return matched, raw, sup, cf, den[ok]


@dataclass
class MatchingResult:
    """Matching DD (Table 16 row a) and DD without matching (row b) with bootstrap inference.

    ``att``, ``se``, ``pvalue``, ``ci_low``, ``ci_high``, ``dd`` and ``dd_se`` are Series indexed
    by outcome, for one outcome as for several (``res.att["ln_pc_exp"]``); ``n_treated``,
    ``n_control`` and ``n_on_support`` are dicts by period. ``table`` holds both estimators for
    every outcome.
    """

    outcomes: list[str]
    table: pd.DataFrame
    counts: pd.DataFrame  # per period: n_treated, n_control, n_on_support, n_off_support
    by_period: pd.DataFrame  # per period x outcome: treated mean, counterfactual, control mean
    pscore: dict  # period value -> PscoreResult (Table 14)
    scores: pd.Series  # propensity score per row (data index)
    weights: pd.Series  # psmatch2 _weight: 1 on-support treated, sum_i w_ij controls, NaN off
    support: pd.Series  # bool per row (controls True)
    boot: pd.DataFrame  # replications x (estimator, outcome); failed reps NaN
    dropped: pd.DataFrame  # rows dropped before estimation, by reason
    periods: tuple  # (baseline, follow-up)
    settings: dict = field(default_factory=dict)

    def _pick(self, col, estimator="matching") -> pd.Series:
        s = self.table[self.table["estimator"] == estimator].set_index("outcome")[col]
        return s.astype(float).rename(col)

    @property
    def att(self) -> pd.Series:
        return self._pick("estimate")

    @property
    def se(self) -> pd.Series:
        return self._pick("se")

    @property
    def pvalue(self) -> pd.Series:
        return self._pick("pvalue")

    @property
    def ci_low(self) -> pd.Series:
        return self._pick("ci_low")

    @property
    def ci_high(self) -> pd.Series:
        return self._pick("ci_high")

    @property
    def dd(self) -> pd.Series:
        """DD without matching (Table 16 row b)."""
        return self._pick("estimate", "unmatched")

    @property
    def dd_se(self) -> pd.Series:
        return self._pick("se", "unmatched")

    def _count(self, col) -> dict:
        return dict(zip(self.counts["period"], self.counts[col].astype(int)))

    @property
    def n_treated(self) -> dict:
        return self._count("n_treated")

    @property
    def n_control(self) -> dict:
        return self._count("n_control")

    @property
    def n_on_support(self) -> dict:
        return self._count("n_on_support")

    @property
    def reps_failed(self) -> int:
        return int(self.boot.isna().any(axis=1).sum())


def _prepare(data, outcomes, treated, period, covariates, cluster, missing):
    cols = list(dict.fromkeys([*outcomes, treated, period, *covariates, cluster]))
    absent = [c for c in cols if c not in data.columns]
    if absent:
        raise KeyError(f"kernel_did: columns not in the data: {absent}")
    df = data[cols].copy()
    na = df.isna()
    dropped = []
    if na.to_numpy().any():
        if missing != "drop":
            counts = na.sum()
            raise ValueError(
                "kernel_did: missing values "
                f"{counts[counts > 0].to_dict()} (e.g. index {list(df.index[na.any(axis=1)][:5])}); "
                "drop and count them first or pass missing='drop'"
            )
        # count each dropped row once, under the first column (in `cols` order) that is missing
        first = na.idxmax(axis=1).where(na.any(axis=1))
        for col in cols:
            sel = first == col
            for pv, n in df.loc[sel, period].value_counts(dropna=False).sort_index().items():
                dropped.append({"reason": f"missing {col}", "period": pv, "rows": int(n)})
        df = df[~na.any(axis=1)]
    d = pd.to_numeric(df[treated], errors="coerce")
    if not d.isin([0, 1]).all():
        bad = ~d.isin([0, 1])
        raise ValueError(
            f"kernel_did: {treated!r} must be 0/1; {int(bad.sum())} rows are not "
            f"(e.g. index {list(df.index[bad][:5])})"
        )
    periods = np.sort(df[period].unique())
    if len(periods) != 2:
        raise ValueError(f"kernel_did: {period!r} must take exactly two values, found {list(periods)}")
    dropped = pd.DataFrame(dropped, columns=["reason", "period", "rows"])
    return df, d.to_numpy(int), tuple(periods), dropped


@dataclass
class _Point:
    """The point estimates of :func:`kernel_did` and what the bootstrap and the result reuse."""

    rows: list  # row positions of each period (baseline, follow-up)
    pscore: dict  # period value -> PscoreResult
    scores: np.ndarray
    weights: np.ndarray
    support: np.ndarray
    matched: np.ndarray  # periods x outcomes: matched difference
    raw: np.ndarray  # periods x outcomes: raw difference of means
    counts: list
    by_period: list


def _point_estimates(df, d, Y, pv, periods, treated, period, covariates, cluster, kernel,
                     bandwidth, common_support, trim_pct, outcomes) -> _Point:
    """Per period: the probit score, kernel matching of the treated on support, the matched and
    raw differences, psmatch2's weights and the period's counts."""
    n = len(df)
    pt = _Point(rows=[], pscore={}, scores=np.full(n, np.nan), weights=np.full(n, np.nan),
                support=np.ones(n, bool), matched=np.zeros((2, len(outcomes))),
                raw=np.zeros((2, len(outcomes))), counts=[], by_period=[])
    for k, pval in enumerate(periods):
        r = np.flatnonzero(pv == pval)
        pt.rows.append(r)
        res = fit_probit(df.iloc[r], treated, covariates, label=f"{period}={pval}")
        pt.pscore[pval] = res
        p = res.scores.to_numpy()
        pt.scores[r] = p
        dk = d[r]
        pt.matched[k], pt.raw[k], sup, cf, den = _period_effects(
            p, dk, Y[r], np.ones(len(r)), kernel, bandwidth, common_support, trim_pct)
        t_rows, c_rows = r[dk == 1], r[dk == 0]
        pt.support[t_rows] = sup
        pt.weights[t_rows] = np.where(sup, 1.0, np.nan)
        pt.weights[c_rows] = control_weights(p[dk == 1][sup], p[dk == 0], den, kernel, bandwidth)
        pt.counts.append({
            "period": pval,
            "n_treated": int(dk.sum()),
            "n_control": int((dk == 0).sum()),
            "n_on_support": int(sup.sum()),
            "n_off_support": int((~sup).sum()),
            "n_clusters": int(df[cluster].iloc[r].nunique()),
        })
        Yt = Y[r][dk == 1]
        for j, o in enumerate(outcomes):
            pt.by_period.append({
                "period": pval,
                "outcome": o,
                "treated_mean": Yt[sup, j].mean(),
                "counterfactual_mean": cf[sup, j].mean(),
                "matched_diff": pt.matched[k, j],
                "treated_mean_all": Yt[:, j].mean(),
                "control_mean_all": Y[r][dk == 0, j].mean(),
                "raw_diff": pt.raw[k, j],
            })
    return pt


def _bootstrap(point: _Point, clusters, pv, X, d, Y, reps, seed, kernel, bandwidth,
               common_support, trim_pct) -> np.ndarray:
    """reps x (matching DD per outcome, unmatched DD per outcome); a failed replicate is NaN.

    Each replicate resamples clusters within period (multiplicities, never de-duplicated),
    re-estimates the probit (started at the point estimate) and the kernel weights."""
    n, n_out = len(d), Y.shape[1]
    lay = bs.layout(clusters, pv)
    rng = np.random.default_rng(seed)
    boot = np.full((reps, 2 * n_out), np.nan)
    starts = [res.params for res in point.pscore.values()]
    for b in range(reps):
        m_all = bs.draw(lay, rng).counts(n)  # multiplicities: duplicates kept, never deduped
        e = np.zeros((2, n_out))
        u = np.zeros((2, n_out))
        failed = False
        for k, r in enumerate(point.rows):
            mk = m_all[r]
            sel = mk > 0
            rr, mm, dk = r[sel], mk[sel].astype(float), d[r][sel]
            if dk.all() or not dk.any():
                failed = True
                break
            beta = probit_newton(X[rr], dk.astype(float), mm, start=starts[k])
            if beta is None:
                failed = True
                break
            p = _ndtr(X[rr] @ beta)
            e[k], u[k], *_ = _period_effects(p, dk, Y[rr], mm, kernel, bandwidth, common_support, trim_pct)
        if not failed:
            boot[b] = np.r_[e[1] - e[0], u[1] - u[0]]
    return boot


def _summary(att, dd, boot, outcomes, reps) -> pd.DataFrame:
    """Table 16's numbers: estimator, outcome, estimate and the bootstrap inference."""
    est_all = np.r_[att, dd]
    summ = bs.summarise(est_all, boot)
    summ.insert(0, "estimate", est_all)
    summ.insert(0, "outcome", outcomes * 2)
    summ.insert(0, "estimator", ["matching"] * len(outcomes) + ["unmatched"] * len(outcomes))
    summ["reps"] = reps
    return summ


def kernel_did(
    data: pd.DataFrame,
    outcome,
    treated: str,
    period: str,
    covariates,
    cluster: str,
    kernel: str = "gaussian",
    bandwidth: float = 0.06,
    reps: int = 200,
    seed: int = 0,
    common_support: str | None = None,
    trim_pct: float | None = None,
    missing: str = "raise",
) -> MatchingResult:
    """Kernel-matching DD with the score estimated per period and a cluster bootstrap.

    ``outcome`` is a column or a list of columns (all share the bootstrap draws). ``period``
    takes two values, the later is the follow-up. Rows with missing values raise unless
    ``missing="drop"``, which drops them and records the counts in ``result.dropped``. Each of the
    ``reps`` replications resamples ``cluster`` within period (fresh ids for duplicates),
    re-estimates the probit and the kernel weights, and recomputes both DDs; a replicate whose
    probit fails is NaN and excluded (``result.reps_failed``).
    """
    outcomes = [outcome] if isinstance(outcome, str) else list(outcome)
    if not outcomes:
        raise ValueError("kernel_did: no outcome given")
    covariates = list(covariates)
    _kernel_name(kernel)
    _check_support_rule(common_support, trim_pct)
    if missing not in ("raise", "drop"):
        raise ValueError("missing must be 'raise' or 'drop'")
    df, d, periods, dropped = _prepare(data, outcomes, treated, period, covariates, cluster, missing)
    Y = df[outcomes].apply(pd.to_numeric, errors="raise").to_numpy(float)
    pv = df[period].to_numpy()
    n = len(df)
    X = np.column_stack([np.ones(n), df[covariates].apply(pd.to_numeric).to_numpy(float)]) if covariates else np.ones((n, 1))

    point = _point_estimates(df, d, Y, pv, periods, treated, period, covariates, cluster, kernel,
                             bandwidth, common_support, trim_pct, outcomes)
    boot = _bootstrap(point, df[cluster].to_numpy(), pv, X, d, Y, reps, seed, kernel, bandwidth,
                      common_support, trim_pct)
    n_failed = int(np.isnan(boot).any(axis=1).sum())
    if n_failed:
        # Stata's bootstrap also leaves such replicates out; say so rather than hide it
        warnings.warn(
            f"kernel_did: {n_failed} of {reps} bootstrap replications failed (probit did not "
            "converge, a period lost all treated or controls, or no treated on support); "
            "the SE uses the others (see result.table['reps_ok'])",
            RuntimeWarning,
            stacklevel=2,
        )
    att = point.matched[1] - point.matched[0]
    dd = point.raw[1] - point.raw[0]
    boot_df = pd.DataFrame(
        boot, columns=pd.MultiIndex.from_product([["matching", "unmatched"], outcomes], names=["estimator", "outcome"])
    )
    idx = df.index
    return MatchingResult(
        outcomes=outcomes,
        table=_summary(att, dd, boot, outcomes, reps),
        counts=pd.DataFrame(point.counts),
        by_period=pd.DataFrame(point.by_period),
        pscore=point.pscore,
        scores=pd.Series(point.scores, index=idx, name="pscore"),
        weights=pd.Series(point.weights, index=idx, name="weight"),
        support=pd.Series(point.support, index=idx, name="support"),
        boot=boot_df,
        dropped=dropped,
        periods=periods,
        settings={
            "kernel": _kernel_name(kernel),
            "bandwidth": bandwidth,
            "common_support": common_support,
            "trim_pct": trim_pct,
            "reps": reps,
            "seed": seed,
            "covariates": covariates,
            "cluster": cluster,
            "treated": treated,
            "period": period,
        },
    )


def _ndtr(x):
    from scipy.special import ndtr

    return ndtr(x)


__all__ = [
    "MatchingResult",
    "PscoreError",
    "PscoreResult",
    "kernel_did",
    "kernel_matrix",
    "kernel_weights",
    "stata_kdensity_at",
    "support_mask",
]
