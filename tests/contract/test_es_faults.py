"""Elasticsearch going away and coming back: clear 503-style errors within the timeout, then recovery.

This test runs its own node on a free port (the shared test node keeps serving the
other tests) and removes it afterwards.
"""

from __future__ import annotations

import time

import pytest

from archive.errors import BackendUnavailable
from archive.models import Filters, KeywordQuery
from archive.text import tokenize
from tests import es_server

TIMEOUT = 3.0
SLACK = 5.0  # seconds allowed beyond the configured timeout

pytestmark = pytest.mark.es


@pytest.fixture()
def own_node():
    node = es_server.EsNode.fresh()
    es_server.start_node(node)
    yield node
    node.remove()


def timed(fn) -> tuple[type[BaseException] | None, float]:
    start = time.monotonic()
    try:
        fn()
    except BackendUnavailable as exc:
        return type(exc), time.monotonic() - start
    return None, time.monotonic() - start


def test_unavailable_within_timeout_then_recovers(own_node, make_backend, corpus, embedder):
    backend = make_backend("elasticsearch", url=own_node.url, timeout=TIMEOUT)
    backend.index_document(*corpus[0])
    query = KeywordQuery(tuple(tokenize("行政复议")))
    vector = embedder.embed_query("行政复议")
    assert backend.keyword_search(query, Filters(), 3)

    own_node.stop()
    for call in (backend.ping, lambda: backend.keyword_search(query, Filters(), 3),
                 lambda: backend.vector_search(vector, Filters(), 3), lambda: backend.get_document("qc-2021"),
                 lambda: backend.index_document(*corpus[1])):
        raised, elapsed = timed(call)
        assert raised is BackendUnavailable
        assert elapsed < TIMEOUT + SLACK

    own_node.start()
    backend.ping()
    assert backend.keyword_search(query, Filters(), 3)
    assert backend.get_document("qc-2021") is not None
