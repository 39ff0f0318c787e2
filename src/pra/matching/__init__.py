"""Matching difference-in-differences (Design 2): probit score per period, psmatch2 kernel
weights, kernel DD with a populated-centre cluster bootstrap, balance tables and Figure 9."""
from .balance import balance_table, plot_score_densities, score_densities
from .bootstrap import draws as bootstrap_draws
from .kernel import MatchingResult, kernel_did, kernel_weights, support_mask
from .pscore import PscoreError, PscoreResult, fit_probit, probit_newton

__all__ = [
    "MatchingResult",
    "PscoreError",
    "PscoreResult",
    "balance_table",
    "bootstrap_draws",
    "fit_probit",
    "kernel_did",
    "kernel_weights",
    "plot_score_densities",
    "probit_newton",
    "score_densities",
    "support_mask",
]
