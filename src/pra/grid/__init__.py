"""The full sensitivity grid (issue 18): the cartesian product of the analyst's choices.

Modules: :mod:`pra.grid.specs` (the grid from config, invalid combinations counted, chunks),
:mod:`pra.grid.estimate` (fast estimation: one demeaning per sample, fixed effects and weights,
shared by outcomes, models and radii; CRV1 errors as :func:`pra.did.estimate`),
:mod:`pra.grid.joint` (joint inference on the curve: cluster multiplier bootstrap, Monte Carlo),
:mod:`pra.grid.explorer` (the offline HTML explorer). Docs: ``docs/grid.md``.

Kept import-light: the Snakefile imports :mod:`pra.grid.specs` at parse time.
"""
