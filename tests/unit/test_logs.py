"""One line per event; tracebacks and Elasticsearch's request log only at DEBUG."""

import subprocess
import sys

import pytest

PROGRAM = """
import logging, sys
from archive.logs import configure_logging
configure_logging(sys.argv[1], "%(levelname)s %(name)s: %(message)s")
logging.getLogger("elastic_transport.transport").info("POST http://es:9200/_bulk [status:200]")
try:
    raise ConnectionError("node lost")
except ConnectionError as exc:
    logging.getLogger("search_app.errors").error("unhandled error on /search: %s", exc, exc_info=exc)
"""


@pytest.mark.parametrize("level, traceback, requests", [("INFO", False, False), ("DEBUG", True, True)])
def test_tracebacks_and_request_lines_only_at_debug(level, traceback, requests):
    done = subprocess.run([sys.executable, "-c", PROGRAM, level], capture_output=True, text=True, timeout=60,
                          check=True)
    assert "unhandled error on /search: node lost" in done.stderr
    assert ("Traceback" in done.stderr) is traceback
    assert ("_bulk" in done.stderr) is requests
    if not traceback:
        assert len(done.stderr.strip().splitlines()) == 1
