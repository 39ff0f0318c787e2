"""Content digests of the raw inputs: a change of content reruns what depends on it.

Snakemake reruns a job when an input is *newer* than the job's outputs (below
``--max-checksum-file-size`` it also skips the rerun when the checksum is unchanged). A corrected
file restored with its old timestamp (``cp -p``, a backup, an archive) is not newer, so the old
tables would stay. The rules that read raw inputs therefore carry ``{file: SHA-256}`` of those
inputs as a param: Snakemake's params trigger reruns a job whose params changed (default
``--rerun-triggers``; the local profile keeps it).

Hashing every input on every DAG build would cost the no-op rerun about a second per GB, in the
main process and again in every job. A small cache in the working directory (``CACHE``) keeps
each file's digest with its size, mtime, ctime and inode, and a file is hashed again only when
one of them changed. ``cp -p``, ``touch -d`` and ``os.utime`` can set the mtime but not the
ctime (the time of the last status change, set by the kernel): a replaced or rewritten file
always gets a new one. File times tick in steps of a few milliseconds, so a file changed twice
within one tick can keep its stamp: as git does for such "racy" files, an entry is trusted only
if the file's status had not changed for ``RACY_NS`` when it was hashed.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Iterable

CACHE = Path(".snakemake") / "pra_input_sha256.json"
HEX = 16  # hex digits kept: 64 bits tell two versions of a file apart; the reasons stay readable
MISSING = "missing"
RACY_NS = 2_000_000_000  # 2 s: coarser than any file system's time step

_memo: dict[str, dict[str, dict]] = {}  # cache file -> its entries (read once per process)


def _stamp(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def _load(cache: Path) -> dict[str, dict]:
    key = str(cache.resolve())
    if key not in _memo:
        try:
            _memo[key] = json.loads(cache.read_text(encoding="utf-8"))
        except (OSError, ValueError):  # no cache yet, or a damaged one: hash again
            _memo[key] = {}
    return _memo[key]


def _save(cache: Path, entries: dict[str, dict]) -> None:
    """Atomic: jobs running side by side read a whole file (or none) and lose at most an entry."""
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache.parent, prefix=f".{cache.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(entries, fh, sort_keys=True)
        os.replace(tmp, cache)
    except OSError:  # a read-only working directory: digests stay right, only slower
        pass


def input_digests(paths: Iterable[str | Path], cache: str | Path = CACHE) -> dict[str, str]:
    """``{path: first HEX hex digits of its SHA-256}`` (``"missing"`` for an absent file)."""
    cache = Path(cache)
    entries = _load(cache)
    out: dict[str, str] = {}
    changed = False
    for p in paths:
        name = str(p)
        try:
            st = os.stat(name)
        except OSError:
            out[name] = MISSING
            continue
        real = os.path.realpath(name)
        hit = entries.get(real)
        if hit is None or hit["stat"] != _stamp(st) or st.st_ctime_ns > hit.get("hashed_ns", 0) - RACY_NS:
            hit = {"stat": _stamp(st), "hashed_ns": time.time_ns(), "sha256": sha256(name)}
            entries[real] = hit
            changed = True
        out[name] = hit["sha256"][:HEX]
    if changed:
        _save(cache, entries)
    return out


__all__ = ["CACHE", "input_digests", "sha256"]
