"""Atomic writers: an output either appears whole or not at all (no truncated files after a kill).

One home for every output format: Parquet, CSV, text, JSON (:func:`write_json_atomic`, with
:func:`jsonable` for numpy/pandas values) and figures (:func:`save_figure`, one call per figure
with the list of ``paths`` to write, e.g. ``[png, pdf]``).
"""
from __future__ import annotations

import glob
import json
import math
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _umask()


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None):
    """Yield a temporary path beside ``path``; move it into place only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = suffix or path.suffix
    # temp files of an earlier writer of this output that was killed (SIGKILL skips the cleanup
    # below): one job owns an output, so they are stale
    for stale in glob.glob(os.path.join(glob.escape(str(path.parent)), glob.escape(f".{path.name}.") + "*" + glob.escape(suffix))):
        Path(stale).unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp creates 0600; outputs follow the umask like any file
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_parquet_atomic(df: pd.DataFrame, path) -> None:
    # Fixed writer settings so the same frame gives the same bytes.
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False, engine="pyarrow", compression="zstd")


def write_csv_atomic(df: pd.DataFrame, path, **kwargs) -> None:
    kwargs.setdefault("index", False)
    kwargs.setdefault("lineterminator", "\n")
    with atomic_path(path) as tmp:
        df.to_csv(tmp, **kwargs)


def save_figure(fig, paths, *, dpi: int = 150, bbox_inches=None) -> None:
    """Write a matplotlib figure to every path (format from the suffix: .png, .pdf, ...)
    atomically and without clock metadata (same data, same bytes), then close it."""
    import matplotlib.pyplot as plt

    for p in map(Path, paths):
        suffix = p.suffix.lower()
        meta = ({"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None}
                if suffix == ".pdf" else {"Software": None} if suffix == ".png" else None)
        with atomic_path(p) as tmp:
            fig.savefig(tmp, format=suffix.lstrip("."), metadata=meta, dpi=dpi, bbox_inches=bbox_inches)
    plt.close(fig)


def write_text_atomic(text: str, path) -> None:
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")


def jsonable(x):
    """numpy / pandas scalars and containers as plain JSON types: dict keys as text, sets sorted,
    arrays, Series and Index as lists, a DataFrame as a list of records, NaN / NA / None as null.
    Anything else raises a TypeError naming its type (rather than a half-written file)."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, (set, frozenset)):
        return sorted(jsonable(v) for v in x)
    if isinstance(x, (np.ndarray, pd.Series, pd.Index)):
        return [jsonable(v) for v in x.tolist()]
    if isinstance(x, pd.DataFrame):
        return [jsonable(r) for r in x.to_dict("records")]
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return None if math.isnan(x) else float(x)
    if x is None or x is pd.NA or x is pd.NaT or isinstance(x, str):
        return None if x is pd.NA or x is pd.NaT else x
    raise TypeError(f"jsonable: cannot serialise {type(x).__name__}: {x!r}")


def write_json_atomic(obj, path, *, indent: int = 1) -> None:
    """``obj`` (through :func:`jsonable`) as UTF-8 JSON with sorted keys and a final newline:
    the same content always gives the same bytes. NaN is written as null, never as ``NaN``."""
    text = json.dumps(jsonable(obj), indent=indent, sort_keys=True, ensure_ascii=False,
                      allow_nan=False)
    write_text_atomic(text + "\n", path)
