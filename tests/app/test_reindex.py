"""`python -m indexer reindex` on each backend: searches keep answering while the index is rebuilt."""

import threading
import uuid
from dataclasses import replace

import pytest

from archive.services import Archive
from indexer.cli import main as indexer_main
from indexer.pipeline import ingest_paths, reindex
from search_app import service
from search_app.params import SearchParams
from tests.conftest import load_cache


@pytest.fixture(params=["embedded", pytest.param("elasticsearch", marks=pytest.mark.es)])
def archive(request, config, ingested, seeds_dir, tmp_path):
    """A private index of the seeds on each backend, its vectors from .cache/ (`load_cache`: a whole copy;
    the session index's own cache file, copied live, lacks what is still in its WAL on the worker that
    embedded the seeds, so every seed was embedded again)."""
    data = tmp_path / "data"
    data.mkdir()
    load_cache(data)
    changes = {"data_dir": data}
    if request.param == "elasticsearch":
        changes |= {"backend": "elasticsearch", "elasticsearch_url": request.getfixturevalue("es_url"),
                    "es_index": f"test-reindex-{uuid.uuid4().hex[:8]}"}
    archive = Archive(replace(config, **changes))
    ingest_paths(archive, [seeds_dir])
    yield archive
    if request.param == "elasticsearch":
        client = archive.backend.client
        names = list(client.indices.get(index=f"{archive.config.es_index}-v*", expand_wildcards="all"))
        client.indices.delete(index=",".join(names))
    archive.close()


def test_searches_keep_answering_during_reindex(archive):
    before = archive.backend.stats()
    expected = service.search(archive, SearchParams(q="行政复议", mode="keyword"))["total"]
    totals, errors, done = [], [], threading.Event()

    def search_loop():
        while not done.is_set():
            try:
                totals.append(service.search(archive, SearchParams(q="行政复议", mode="keyword"))["total"])
            except Exception as exc:  # recorded, then asserted on: any failure fails the test
                errors.append(exc)
            done.wait(0.01)  # a breath between searches: a tight loop took a core from the rebuild it watches

    searcher = threading.Thread(target=search_loop)
    searcher.start()
    try:
        assert reindex(archive) == before.documents
    finally:
        done.set()
        searcher.join(timeout=30)
    assert errors == []
    assert totals and set(totals) == {expected}
    after = archive.backend.stats()
    assert (after.documents, after.passages) == (before.documents, before.passages)
    if archive.config.backend == "elasticsearch":
        live = archive.backend.client.indices.get_alias(name=archive.config.es_index)
        assert list(live) == [f"{archive.config.es_index}-v2"]


def test_reindex_command(config, ingested, seeds_dir, tmp_path, monkeypatch):
    data = tmp_path / "cli"
    data.mkdir()
    load_cache(data)
    monkeypatch.setenv("ARCHIVE_DATA_DIR", str(data))
    monkeypatch.setenv("ARCHIVE_EMBEDDER", config.embedder)  # the cached vectors' model
    assert indexer_main(["ingest", "--no-progress", str(seeds_dir)]) == 0
    assert indexer_main(["reindex"]) == 0
    archive = Archive(replace(config, data_dir=data))
    assert archive.backend.stats().documents == 5
    assert service.search(archive, SearchParams(q="行政复议", mode="keyword"))["total"] > 0
