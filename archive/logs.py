"""Logging for the two programs (`indexer`, `serve`): one line per event, tracebacks only at DEBUG."""

from __future__ import annotations

import logging
import re

_LOG_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def log_safe(text: str) -> str:
    """Control characters as visible escapes, so a logged value can never start a forged line."""
    return _LOG_UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class SafeFormatter(logging.Formatter):
    """Escapes control characters in each message (a file name with a newline cannot forge a line;
    tracebacks keep their lines)."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 -- logging's name
        record.message = log_safe(record.message)
        return super().formatMessage(record)


class _Brief(SafeFormatter):
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
    handler.setFormatter(SafeFormatter(fmt) if level == "DEBUG" else _Brief(fmt))
    # Not force=True: where logging is already set up (a test runner's capture, an embedding program),
    # its handlers stay; only the transport's level below is ours to set there.
    logging.basicConfig(level=level, handlers=[handler])
    logging.getLogger("elastic_transport").setLevel(logging.DEBUG if level == "DEBUG" else logging.ERROR)
