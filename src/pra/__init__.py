"""PRA-II impact evaluation: ENAHO harmonisation, spatial DD, matching DD, tables."""

__version__ = "0.1.0"
