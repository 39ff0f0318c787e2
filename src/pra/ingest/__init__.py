"""ENAHO ingest: readers, per-year harmonisation, pandera schemas, data dictionary, Table 4 stats.

Entry point: :func:`harmonise_year` (``docs/contract.md`` §3); the programme survey:
:mod:`pra.ingest.programme`. Rules both share: :mod:`pra.ingest.welfare` (deflation, poverty,
subjective poverty), :mod:`pra.ingest.variables` (head, region, housing),
:mod:`pra.ingest.centres` (the populated-centre map).
"""
from pra.ingest.readers import IngestError, find_module, read_centres, read_meta, read_module

__all__ = ["harmonise_year", "IngestError", "find_module", "read_centres", "read_meta",
           "read_module"]


def __getattr__(name: str):
    # harmonise_year loaded on first use: a script that needs only the readers (IngestError)
    # does not pay for the harmonisation's imports (pandera: a third of a second a process)
    if name == "harmonise_year":
        from pra.ingest.harmonise import harmonise_year

        return harmonise_year
    raise AttributeError(f"module 'pra.ingest' has no attribute {name!r}")
