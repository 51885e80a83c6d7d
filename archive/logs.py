"""Logging for the two programs (`indexer`, `serve`): one line per event, tracebacks only at DEBUG."""

from __future__ import annotations

import logging


class _Brief(logging.Formatter):
    """Leaves out tracebacks: the archive's errors already say in one line what failed and why."""

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text, record.stack_info
        record.exc_info = record.exc_text = record.stack_info = None
        try:
            return super().format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved


def configure_logging(level: str, fmt: str) -> None:
    """Log at `level` to stderr. Below DEBUG the Elasticsearch transport (which logs every request, and
    every retry with its traceback) speaks only on errors, and no record prints a traceback."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(fmt) if level == "DEBUG" else _Brief(fmt))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.getLogger("elastic_transport").setLevel(logging.DEBUG if level == "DEBUG" else logging.ERROR)
