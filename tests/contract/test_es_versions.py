"""Elasticsearch only: what versioned documents add beyond the shared contract.

Two writers of one document at once (one wins whole, the other fails clearly), and an index
built before versions (read as before; writes ask for a reindex, after which they work).
"""

from __future__ import annotations

import pytest

from archive.backends.elastic import ElasticBackend, load_mapping
from archive.backends.elastic_versions import ConcurrentChange
from archive.errors import IndexMismatch
from archive.models import Filters, KeywordQuery
from archive.text import tokenize
from tests.es_reads import check_reads, raw_passages, revised, version_of

pytestmark = pytest.mark.es


def test_two_writers_of_one_document_one_wins_whole(make_backend, corpus, monkeypatch):
    first = make_backend("elasticsearch")
    first.index_documents([corpus[0]])
    second = make_backend("elasticsearch", like=first)
    mine, theirs = revised(corpus[0], 7), revised(corpus[0], 3)
    real, raced = ElasticBackend._bulk, []

    def bulk(self, actions, index):
        if self is first and not raced:  # `first` has announced its version: `second` writes all of theirs
            raced.append(True)
            second.index_documents([theirs])
        return real(self, actions, index)

    monkeypatch.setattr(ElasticBackend, "_bulk", bulk)
    with pytest.raises(ConcurrentChange, match="another writer"):
        first.index_documents([mine])
    monkeypatch.undo()
    options = {corpus[0][0].doc_id: [version_of(corpus[0]), version_of(mine), version_of(theirs)]}
    assert check_reads(first, options, settled=True) == {corpus[0][0].doc_id: version_of(theirs)}
    first.index_documents([mine])  # trying again works, and clears away both earlier writes
    assert check_reads(second, options, settled=True) == {corpus[0][0].doc_id: version_of(mine)}
    assert raw_passages(first) == sorted(version_of(mine)[1])


def legacy_index(backend: ElasticBackend, items) -> None:
    """An index as written before versions: no version fields, passages stored under their chunk ids,
    nothing routed (on three shards, so that reading a record where a routed one would be misses)."""
    body = load_mapping(backend.dim, backend.model_id)
    body["settings"]["index"]["number_of_shards"] = 3
    for name in ("version", "hidden", "retired"):
        del body["mappings"]["properties"][name]
    backend.client.indices.create(index=f"{backend.alias}-v1", aliases={backend.alias: {}}, **body)
    operations = []
    for item in items:
        doc = item.doc
        operations += [{"index": {"_id": f"{doc.doc_id}#doc"}}, {**doc.to_dict(), "kind": "document"}]
        for action in backend._passage_actions(item, "unused"):
            source = {k: v for k, v in action["_source"].items() if k != "version"}
            operations += [{"index": {"_id": source["chunk_id"]}}, source]
    backend.client.bulk(index=backend.alias, operations=operations, refresh=True)


def test_an_index_from_before_versions_is_read_and_reindexed_once(make_backend, corpus):
    backend = make_backend("elasticsearch")
    legacy_index(backend, corpus)
    doc, chunks = corpus[0][0], list(corpus[0][1])
    assert backend.get_documents([d.doc_id for d, *_ in corpus]) == {d.doc_id: d for d, *_ in corpus}
    for item in corpus:
        assert (backend.get_document(item[0].doc_id), backend.get_chunks(item[0].doc_id)) == (item[0], item[1])
    assert backend.get_chunks_by_id([c.chunk_id for c in chunks]) == {c.chunk_id: c for c in chunks}
    assert backend.keyword_search(KeywordQuery(tuple(tokenize("行政复议"))), Filters(), 5)
    assert backend.stats().passages == sum(len(c) for _, c, _, _ in corpus)
    for write in (lambda: backend.index_documents([corpus[2]]), lambda: backend.delete_document(doc.doc_id)):
        with pytest.raises(IndexMismatch, match="python -m indexer reindex"):
            write()
    assert backend.rebuild(iter(corpus)) == len(corpus)  # what `python -m indexer reindex` does
    backend.index_documents([revised(corpus[0], 3)])
    assert backend.delete_document(corpus[1][0].doc_id)
    options = {doc.doc_id: [version_of(revised(corpus[0], 3))], corpus[1][0].doc_id: [None],
               **{item[0].doc_id: [version_of(item)] for item in corpus[2:]}}
    check_reads(backend, options, settled=True)


def test_a_rebuild_loads_without_refreshes_then_refreshes_as_the_mapping_says(make_backend, corpus, monkeypatch):
    backend = make_backend("elasticsearch")
    backend.index_documents([corpus[0]])
    seen = []
    real = ElasticBackend._bulk

    def bulk(self, actions, index):
        (settings,) = self.client.indices.get_settings(index=index).body.values()
        seen.append(settings["settings"]["index"].get("refresh_interval"))
        return real(self, actions, index)

    monkeypatch.setattr(ElasticBackend, "_bulk", bulk)
    assert backend.rebuild(corpus) == len(corpus)
    assert seen == ["-1"]  # no refresh a second while the new index fills: no pile of tiny segments
    monkeypatch.undo()
    live = backend._live_index()
    interval = backend.client.indices.get_settings(index=live)[live]["settings"]["index"]["refresh_interval"]
    assert interval == load_mapping(backend.dim, backend.model_id)["settings"]["index"]["refresh_interval"]
    backend.index_documents([revised(corpus[1], 2)])  # writes after the rebuild become visible as before
    assert backend.get_chunks(corpus[1][0].doc_id) == list(revised(corpus[1], 2)[1])


def test_passages_are_stored_without_their_vectors_and_still_found_by_them(make_backend, corpus):
    backend = make_backend("elasticsearch")
    for item in corpus:
        backend.index_documents([item])
    res = backend.client.search(index=backend.alias, query={"term": {"kind": "passage"}}, size=100)
    sources = [h["_source"] for h in res["hits"]["hits"]]
    assert len(sources) == sum(len(chunks) for _, chunks, _, _ in corpus)
    assert all("vector" not in s and s["text"] for s in sources)
    doc, chunks, vectors, _ = corpus[2]
    for chunk, vector in zip(chunks, vectors, strict=True):
        assert backend.vector_search(vector, Filters(), 1)[0].chunk_id == chunk.chunk_id
