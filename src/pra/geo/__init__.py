"""Geo stage: geo-referencing the PRA-II register, DuckDB-spatial distances, the spatial sample,
Tables 1–2 and Map 1 (contract §4). Submodules are imported on use (matplotlib, DuckDB are heavy)."""
from __future__ import annotations

__all__ = ["georef", "distance", "sample", "maps"]
