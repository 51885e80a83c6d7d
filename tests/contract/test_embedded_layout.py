"""The embedded index's own layout: an index from an older version is refused until reindexed,
and keyword postings cached in memory never outlive a write."""

from __future__ import annotations

import pytest

from archive.errors import IndexMismatch
from archive.models import Filters, KeywordQuery
from archive.text import tokenize


def kq(text: str) -> KeywordQuery:
    return KeywordQuery(tuple(tokenize(text)))


def test_an_index_without_the_current_layout_asks_for_reindex(make_backend, corpus):
    backend = make_backend("embedded")
    for item in corpus[:3]:
        backend.index_document(*item)
    # What an index written before layout 2 looks like: no layout in its meta table.
    backend.db.execute("DELETE FROM meta WHERE key = 'layout'")
    for call in (backend.check_compatible, lambda: backend.keyword_search(kq("行政复议"), Filters(), 3),
                 lambda: backend.index_document(*corpus[3])):
        with pytest.raises(IndexMismatch, match="reindex"):
            call()

    assert backend.rebuild(corpus[:3]) == 3
    backend.check_compatible()
    assert backend.keyword_search(kq("行政复议"), Filters(), 3)


def test_cached_postings_follow_every_write(make_backend, corpus):
    def found(backend) -> list[tuple[str, float]]:
        return [(s.chunk_id, s.score) for s in backend.keyword_search(kq("行政复议 政务公开"), Filters(), 50)]

    def built_from(items) -> list[tuple[str, float]]:
        clean = make_backend("embedded")
        for item in items:
            clean.index_document(*item)
        return found(clean)

    backend = make_backend("embedded")
    backend.index_document(*corpus[0])
    assert found(backend) == built_from(corpus[:1])  # fills the cache
    backend.index_document(*corpus[1])
    assert found(backend) == built_from(corpus[:2]) != built_from(corpus[:1])
    backend.delete_document(corpus[0][0].doc_id)
    assert found(backend) == built_from(corpus[1:2])


def test_a_search_under_way_survives_a_reindex_swapping_the_file(make_backend, corpus):
    import threading

    backend = make_backend("embedded")
    for item in corpus:
        backend.index_document(*item)
    expected = [s.chunk_id for s in backend.keyword_search(kq("行政复议"), Filters(), 10)]
    with backend._reading():  # a search that has begun reading the old file...
        backend._snapshot()
        swap = threading.Thread(target=backend.rebuild, args=(corpus,))
        swap.start()
        swap.join()  # ...while a reindex replaces the file under it
        during = [s.chunk_id for s in backend.keyword_search(kq("行政复议"), Filters(), 10)]
    after = [s.chunk_id for s in backend.keyword_search(kq("行政复议"), Filters(), 10)]
    assert during == expected == after
