"""The one skeleton every Snakemake script runs through: its output goes to the rule's log.

Every script in ``scripts/`` ends with::

    if "snakemake" in globals():
        from pra.runlog import run
        run(main, snakemake)  # noqa: F821

:func:`run` sends the root logger (INFO, one timestamped line per record), Python warnings and
the process's stderr (``sys.stderr`` and file descriptor 2, so C libraries and child processes
too) to the rule's ``log:`` file, logs the files the rule reads and writes, runs
``main(snakemake)``, and on an exception writes the traceback to the log before re-raising it, so
the log the user opens says why the job failed. The log's last line and the terminal then say it
in one line (:func:`failure_line`: the error's type and message, which name the file, column or
config key, and where the traceback is), instead of a traceback on the terminal. A rule without
``log:`` logs to stderr.
Scripts log with :mod:`logging` (``logging.info(...)``): records of the root logger carry the
rule's name.
"""
from __future__ import annotations

import logging
import os
import sys
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, Callable

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# more files than this in one input/output list are summarised (count and size) in the log
LIST_FILES_UP_TO = 20


def _files(named) -> list[str]:
    """The file paths of a Snakemake ``input``/``output`` list (flattened); [] if there are none."""
    if named is None:
        return []
    values = named.values() if isinstance(named, dict) else named
    out: list[str] = []
    for v in values:
        if isinstance(v, (list, tuple)):
            out.extend(str(x) for x in v)
        else:
            out.append(str(v))
    return out


def _size(path: str) -> str:
    p = Path(path)
    if p.is_dir():
        return "folder"
    if not p.exists():
        return "missing"
    n = p.stat().st_size
    return f"{n:,} bytes" if n < 10_000 else f"{n / 1e6:,.2f} MB"


def log_files(logger: logging.Logger, verb: str, paths: list[str]) -> None:
    """One line per file (with its size), or a summary line for long lists."""
    if len(paths) <= LIST_FILES_UP_TO:
        for p in paths:
            logger.info("%s %s (%s)", verb, p, _size(p))
        return
    total = sum(Path(p).stat().st_size for p in paths if Path(p).is_file())
    logger.info("%s %d files, %.2f MB in all (first: %s; last: %s)", verb, len(paths), total / 1e6,
                paths[0], paths[-1])


class _RuleName(logging.Filter):
    """Records of the root logger (the scripts' ``logging.info``) are named after the rule."""

    def __init__(self, name: str):
        super().__init__()
        self.rule = name

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "root":
            record.name = self.rule
        return True


@contextmanager
def _stderr_to(stream):
    """``sys.stderr`` and file descriptor 2 point at ``stream`` inside the block."""
    saved_fd = None
    try:
        saved_fd = os.dup(2)
        os.dup2(stream.fileno(), 2)
    except OSError:  # no fd 2 (embedded interpreter): Python-level stderr only
        saved_fd = None
    saved = sys.stderr
    sys.stderr = stream
    try:
        yield
    finally:
        sys.stderr = saved
        if saved_fd is not None:
            os.dup2(saved_fd, 2)
            os.close(saved_fd)


@contextmanager
def logging_to(stream, rule: str):
    """Root logger at INFO and warnings into ``stream`` inside the block (restored after)."""
    root = logging.getLogger()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(_RuleName(rule))
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    try:
        yield
    finally:
        logging.captureWarnings(False)
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()


def failure_line(rule: str, err: BaseException, log: str | None = None) -> str:
    """One line: which rule failed and why (``IngestError: year 2009: no file ...``)."""
    why = " ".join(str(err).split()) or "(no message)"
    where = f" (traceback in {log})" if log else ""
    return f"{rule} failed: {type(err).__name__}: {why}{where}"


def _report_at_exit(err: BaseException, line: str) -> None:
    """When ``err`` ends the script's process, print ``line`` instead of its traceback (which is
    in the log already); any other uncaught exception is printed as before."""
    previous = sys.excepthook

    def hook(kind, value, tb):
        if value is err:
            print(line, file=sys.stderr, flush=True)
        else:
            previous(kind, value, tb)

    sys.excepthook = hook


def _rule_name(main: Callable, smk: Any) -> str:
    return str(getattr(smk, "rule", None) or getattr(main, "__module__", None) or "script")


def run(main: Callable[[Any], Any], smk: Any) -> Any:
    """Run ``main(smk)`` with logging, warnings and stderr sent to ``smk.log[0]`` (if any)."""
    rule = _rule_name(main, smk)
    log_path = _files(getattr(smk, "log", None))[:1]
    if log_path:
        Path(log_path[0]).parent.mkdir(parents=True, exist_ok=True)
        stream = open(log_path[0], "w", buffering=1, encoding="utf-8")
        redirect = _stderr_to(stream)
    else:
        stream, redirect = sys.stderr, nullcontext()
    logger = logging.getLogger(rule)
    t0 = time.perf_counter()
    try:
        with redirect, logging_to(stream, rule):
            try:
                log_files(logger, "reads", _files(getattr(smk, "input", None)))
                result = main(smk)
                log_files(logger, "wrote", _files(getattr(smk, "output", None)))
            except Exception as err:
                logger.exception("failed after %.1f s", time.perf_counter() - t0)
                line = failure_line(rule, err, log_path[0] if log_path else None)
                logger.error("%s", line)
                if log_path:
                    _report_at_exit(err, line)
                raise
            except BaseException:  # KeyboardInterrupt, SystemExit: logged, shown as usual
                logger.exception("failed after %.1f s", time.perf_counter() - t0)
                raise
            logger.info("done in %.1f s", time.perf_counter() - t0)
            return result
    finally:
        if log_path:
            stream.close()


__all__ = ["FORMAT", "failure_line", "log_files", "logging_to", "run"]
