"""ENAHO ingest: readers, per-year harmonisation, pandera schemas, data dictionary, Table 4 stats.

Entry point: :func:`harmonise_year` (``docs/contract.md`` §3).
"""
from pra.ingest.harmonise import harmonise_year
from pra.ingest.readers import IngestError, find_module, read_centres, read_meta, read_module

__all__ = ["harmonise_year", "IngestError", "find_module", "read_centres", "read_meta",
           "read_module"]
