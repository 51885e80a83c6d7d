"""The embedded index's own layout: an index from an older version is refused until reindexed,
keyword postings cached in memory never outlive a write, and the row arrays kept beside the
file are used only for the generation they were built from."""

from __future__ import annotations

import numpy as np
import pytest

from archive.backends import embedded_rows
from archive.errors import IndexMismatch
from archive.models import Filters, KeywordQuery
from archive.text import tokenize


def kq(text: str) -> KeywordQuery:
    return KeywordQuery(tuple(tokenize(text)))


def test_an_index_without_the_current_layout_asks_for_reindex(make_backend, corpus):
    backend = make_backend("embedded")
    for item in corpus[:3]:
        backend.index_documents([item])
    # What an index written before layout 2 looks like: no layout in its meta table.
    backend.connections.current().execute("DELETE FROM meta WHERE key = 'layout'")
    for call in (backend.check_compatible, lambda: backend.keyword_search(kq("行政复议"), Filters(), 3),
                 lambda: backend.index_documents([corpus[3]])):
        with pytest.raises(IndexMismatch, match="reindex"):
            call()

    assert backend.rebuild(corpus[:3]) == 3
    backend.check_compatible()
    assert backend.keyword_search(kq("行政复议"), Filters(), 3)


def test_cached_postings_follow_every_write(make_backend, corpus):
    narrowed = KeywordQuery(tuple(tokenize("案件")), phrases=("行政复议",), excluded=("增长",),
                            phrase_terms=(tuple(tokenize("行政复议")),))

    def found(backend) -> list:
        return ([(s.chunk_id, s.score) for s in backend.keyword_search(kq("行政复议 政务公开"), Filters(), 50)],
                [(s.chunk_id, s.score) for s in backend.keyword_search(narrowed, Filters(), 50)],
                backend.facets(narrowed, Filters()))

    def built_from(items) -> list[tuple[str, float]]:
        clean = make_backend("embedded")
        for item in items:
            clean.index_documents([item])
        return found(clean)

    backend = make_backend("embedded")
    backend.index_documents([corpus[0]])
    assert found(backend) == built_from(corpus[:1])  # fills the cache
    assert found(backend)[2].total > 0
    backend.index_documents([corpus[1]])
    assert found(backend) == built_from(corpus[:2]) != built_from(corpus[:1])
    backend.delete_document(corpus[0][0].doc_id)
    assert found(backend) == built_from(corpus[1:2])


def test_a_search_under_way_survives_a_reindex_swapping_the_file(make_backend, corpus):
    import threading

    backend = make_backend("embedded")
    for item in corpus:
        backend.index_documents([item])
    expected = [s.chunk_id for s in backend.keyword_search(kq("行政复议"), Filters(), 10)]
    with backend.connections.reading():  # a search that has begun reading the old file...
        backend._snapshot()
        swap = threading.Thread(target=backend.rebuild, args=(corpus,))
        swap.start()
        swap.join()  # ...while a reindex replaces the file under it
        during = [s.chunk_id for s in backend.keyword_search(kq("行政复议"), Filters(), 10)]
    after = [s.chunk_id for s in backend.keyword_search(kq("行政复议"), Filters(), 10)]
    assert during == expected == after


def everything(backend) -> tuple:
    """Every read that uses the row arrays: keyword (filtered too), vectors and facets."""
    q = kq("行政复议 政务公开")
    vector = backend.connections.current().execute("SELECT vec FROM chunks ORDER BY id LIMIT 1").fetchone()[0]
    vector = np.frombuffer(vector, np.float32)
    some_year = Filters(year_from=2020, year_to=2022)
    return (
        [(s.chunk_id, s.score) for s in backend.keyword_search(q, Filters(), 50)],
        [(s.chunk_id, s.score) for s in backend.keyword_search(q, some_year, 50)],
        [(s.chunk_id, round(s.score, 5)) for s in backend.vector_search(vector, Filters(), 20)],
        backend.facets(q, some_year),
    )


def kept(backend) -> list:
    return sorted(p.name for p in backend.directory.glob(f"{embedded_rows.PREFIX}*"))


def test_row_arrays_kept_beside_the_index_serve_the_next_process(make_backend, corpus, monkeypatch):
    backend = make_backend("embedded")
    for item in corpus:
        backend.index_documents([item])
    expected = everything(backend)
    generation = backend._meta()["generation"]
    assert kept(backend) == [f"{embedded_rows.PREFIX}{generation}"]
    assert {"ids.npy", "vectors.npy", "meta.json"} <= {p.name for p in backend._snap.home.iterdir()}

    def no_full_read(*args):
        raise AssertionError("the row arrays were read from SQLite again")

    monkeypatch.setattr(embedded_rows.Snapshot, "from_db", classmethod(no_full_read))
    again = make_backend("embedded", like=backend)
    assert everything(again) == expected
    assert isinstance(again._vectors(), np.memmap)  # mapped from the kept file, not read row by row


def test_a_write_makes_new_row_arrays_and_drops_the_old(make_backend, corpus):
    backend = make_backend("embedded")
    for item in corpus[:-1]:
        backend.index_documents([item])
    everything(backend)
    before = kept(backend)
    backend.index_documents([corpus[-1]])
    reader = make_backend("embedded", like=backend)  # another process that saw the old generation
    assert everything(reader) == everything(backend)
    after = kept(backend)
    assert len(before) == len(after) == 1 and before != after
    fresh = make_backend("embedded")
    for item in corpus:
        fresh.index_documents([item])
    assert everything(backend) == everything(fresh)


@pytest.mark.parametrize("damage", ["truncated ids", "wrong row count", "no meta", "vectors of another shape"])
def test_damaged_or_stale_row_arrays_are_rebuilt_not_trusted(make_backend, corpus, damage):
    backend = make_backend("embedded")
    for item in corpus:
        backend.index_documents([item])
    expected = everything(backend)
    home = backend._snap.home
    if damage == "truncated ids":
        (home / "ids.npy").write_bytes((home / "ids.npy").read_bytes()[:40])
    elif damage == "wrong row count":
        np.save(home / "ids.npy", np.load(home / "ids.npy")[:-1])
    elif damage == "no meta":
        (home / "meta.json").unlink()
    else:
        np.save(home / "vectors.npy", np.zeros((3, 4), np.float32))
    assert everything(make_backend("embedded", like=backend)) == expected


def test_row_arrays_that_cannot_be_kept_cost_speed_not_answers(make_backend, corpus):
    backend = make_backend("embedded")
    for item in corpus:
        backend.index_documents([item])
    expected = everything(backend)
    for home in backend.directory.glob(f"{embedded_rows.PREFIX}*"):
        for f in home.iterdir():
            f.unlink()
        home.rmdir()
    # A file where the directory should go: mkdir fails as on a read-only or full disk (even for root).
    blocker = backend.directory / f"{embedded_rows.PREFIX}{backend._meta()['generation']}"
    blocker.write_text("not a directory")
    reader = make_backend("embedded", like=backend)
    assert everything(reader) == expected
    assert reader._snap.home is None and blocker.is_file()


def test_a_small_postings_cache_changes_nothing_but_speed(make_backend, corpus):
    from archive.backends.embedded import EmbeddedBackend

    backend = make_backend("embedded")
    for item in corpus:
        backend.index_documents([item])
    expected = everything(backend)
    tiny = EmbeddedBackend(backend.directory, backend.dim, backend.model_id, postings_cache_bytes=64)
    try:
        assert everything(tiny) == everything(tiny) == expected
        assert len(tiny.postings) == 1  # evicted down to the last term read
    finally:
        tiny.close()


def test_threads_opening_a_new_index_at_once_all_get_answers(make_backend):
    import threading

    backend = make_backend("embedded")  # a new directory: no file yet
    start, answers, errors = threading.Barrier(8), [], []

    def first_search():
        start.wait()
        try:
            answers.append(backend.keyword_search(kq("行政复议"), Filters(), 3))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below, not swallowed
            errors.append(exc)

    threads = [threading.Thread(target=first_search) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and answers == [[]] * 8
