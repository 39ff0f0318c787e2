"""Draws in chunks: one Snakemake job per chunk, the same draws whatever the chunk size.

Kept free of heavy imports: ``rules/validation.smk`` reads it at parse time."""
from __future__ import annotations


def chunk_ids(draws: int, chunk_size: int) -> list[str]:
    """``0000``, ``0001``, … : chunk k holds draws k·chunk_size … (k+1)·chunk_size − 1."""
    n = -(-int(draws) // int(chunk_size))
    return [f"{k:04d}" for k in range(n)]


def chunk_draws(chunk: str, draws: int, chunk_size: int) -> list[int]:
    """The draw ids of ``chunk`` (the last chunk may be shorter)."""
    k = int(chunk)
    lo = k * int(chunk_size)
    if not 0 <= lo < int(draws):
        raise ValueError(f"chunk {chunk!r}: no draws (validation.draws {draws}, chunk_size {chunk_size})")
    return list(range(lo, min(lo + int(chunk_size), int(draws))))


__all__ = ["chunk_draws", "chunk_ids"]
