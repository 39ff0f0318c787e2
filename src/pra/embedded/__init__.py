"""Embedded data generator: INEI-layout data with known truth (see docs/contract.md §2)."""
