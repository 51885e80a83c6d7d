"""One contract, two backends: every test runs against the embedded index and Elasticsearch.

`loaded` is the shared corpus (read-only); `fresh` is an empty backend for tests that write.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from archive.backends.base import SCHEMA_VERSION, SHA_LOOKUP, IndexItem
from archive.errors import BadRequest, IndexMismatch
from archive.models import FACET_FIELDS, Filters, KeywordQuery, Tokens
from archive.text import document_tokens, fold, tokenize


def load(backend, items):
    for item in items:
        backend.index_documents([item])
    return backend


def kq(text: str = "", phrases=(), excluded=()) -> KeywordQuery:
    phrases = tuple(fold(p) for p in phrases)
    return KeywordQuery(tuple(tokenize(text)), phrases, tuple(fold(e) for e in excluded),
                        phrase_terms=tuple(tuple(tokenize(p)) for p in phrases))


def first_passages(item: IndexItem, n: int) -> IndexItem:
    """The item cut to its first n passages, tokens and all."""
    doc, chunks, vectors, tokens = item
    return IndexItem(doc, chunks[:n], vectors[:n], document_tokens(doc.title, chunks[:n], tokens.bodies[:n]))


def ids(scored) -> list[str]:
    return [s.chunk_id for s in scored]


def chunk_facts(corpus) -> dict[str, dict]:
    """chunk_id -> its document, the facet values and folded text, straight from the corpus."""
    return {c.chunk_id: {"doc": doc, "region": doc.region, "year": doc.year, "doc_type": doc.doc_type,
                         "province": doc.in_province, "city": doc.in_city, "fold": fold(c.text)}
            for doc, chunks, _, _ in corpus for c in chunks}


def passes(facts: dict, f: Filters) -> bool:
    return f.matches(facts["doc"])  # the rule both backends' translations are held to


FILTERS = [
    Filters(region=("云岭县",)),
    Filters(region=("海澄区", "北原市")),
    Filters(doc_type=("自查报告",)),
    Filters(year=(2020,)),
    Filters(year_from=2022, year_to=2023),
    Filters(region=("青川市",), year_to=2021),
]


# -- storing and reading back ------------------------------------------------------


def test_documents_and_chunks_read_back(loaded, corpus):
    for doc, chunks, _, _ in corpus:
        assert loaded.get_document(doc.doc_id) == doc
        assert loaded.get_chunks(doc.doc_id) == list(chunks)
        assert loaded.find_by_sha256(doc.sha256) == doc.doc_id
    wanted = [corpus[0][1][2].chunk_id, corpus[4][1][0].chunk_id, "no-such-0001"]
    assert set(loaded.get_chunks_by_id(wanted)) == set(wanted[:2])
    assert loaded.get_chunks_by_id(wanted)[wanted[1]] == corpus[4][1][0]
    assert set(loaded.get_documents(["qc-2021", "by-2019", "nope"])) == {"qc-2021", "by-2019"}
    docs = [doc for doc, *_ in corpus]
    assert loaded.list_documents() == sorted(docs, key=lambda d: (d.region, d.year, d.doc_id))
    assert loaded.get_document("nope") is None and loaded.get_chunks("nope") == []
    assert loaded.find_by_sha256("0" * 64) is None


def test_hashes_looked_up_many_at_once(loaded, corpus):
    stored = {doc.sha256: doc.doc_id for doc, *_ in corpus}
    unknown = [f"{n:064x}" for n in range(2 * SHA_LOOKUP + 7)]  # more hashes than one request takes
    asked = unknown[:SHA_LOOKUP] + list(stored) + unknown[SHA_LOOKUP:] + list(stored)[:2]  # repeats too
    assert loaded.find_by_sha256s(asked) == stored
    assert loaded.find_by_sha256s([]) == {}
    assert loaded.find_by_sha256s(iter(unknown[:3])) == {}


def test_stats(loaded, corpus, embedder):
    stats = loaded.stats()
    assert (stats.documents, stats.passages) == (len(corpus), sum(len(c) for _, c, _, _ in corpus))
    assert (stats.model_id, stats.dim, stats.schema_version) == (embedder.model_id, embedder.dim,
                                                                       SCHEMA_VERSION)
    assert stats.backend == loaded.name and stats.size_bytes > 0
    # `python -m indexer stats` shows the common fields and each backend's own beside them
    shown = stats.to_dict()
    assert shown["passages"] == stats.passages and "details" not in shown
    assert set(stats.details) == ({"path"} if loaded.name == "embedded" else {"url", "alias", "index"})
    assert {k: shown[k] for k in stats.details} == stats.details
    loaded.ping()
    loaded.check_compatible()


def test_indexing_the_same_document_twice_changes_nothing(fresh, corpus):
    def state():
        # A set: ties may reorder, and Elasticsearch's BM25 statistics count an overwritten
        # passage until its segment is merged, so scores may drift a little.
        hits = fresh.keyword_search(kq("行政复议"), Filters(), 40)
        return fresh.stats(), fresh.get_chunks("qc-2022"), set(ids(hits))

    load(fresh, corpus)
    before = state()
    fresh.index_documents([corpus[1]])
    after = state()
    assert (before[0].documents, before[0].passages) == (after[0].documents, after[0].passages)
    assert before[1:] == after[1:]


def test_replacing_with_fewer_passages_removes_the_rest(fresh, corpus):
    load(fresh, corpus)
    doc, chunks, vectors, tokens = corpus[0]
    fresh.index_documents([first_passages(corpus[0], 2)])
    gone = [c.chunk_id for c in chunks[2:]]
    assert fresh.get_chunks(doc.doc_id) == list(chunks[:2])
    assert fresh.get_chunks_by_id(gone) == {}
    assert not set(gone) & set(ids(fresh.keyword_search(kq("执法案卷 评查 出庭"), Filters(), 40)))
    assert not set(gone) & set(ids(fresh.vector_search(vectors[3], Filters(), 40)))
    assert fresh.stats().passages == sum(len(c) for _, c, _, _ in corpus) - 3


def test_documents_written_together_read_as_written_one_by_one(fresh, make_backend, corpus):
    alone = load(make_backend(fresh.name), corpus)
    fresh.index_documents(corpus[:5])
    fresh.index_documents(corpus[5:])
    fresh.index_documents(corpus[2:4])  # again: replaced, not doubled
    for backend in (fresh, alone):
        assert backend.stats().passages == sum(len(c) for _, c, _, _ in corpus)
    assert [fresh.get_chunks(d.doc_id) for d, *_ in corpus] == [alone.get_chunks(d.doc_id) for d, *_ in corpus]
    query = kq("行政复议 案件")
    assert set(ids(fresh.keyword_search(query, Filters(), 40))) == set(ids(alone.keyword_search(query, Filters(), 40)))


def test_a_document_twice_in_one_batch_ends_as_its_second(fresh, corpus):
    doc, chunks, vectors, tokens = corpus[0]
    fresh.index_documents([corpus[0], corpus[1], first_passages(corpus[0], 2)])
    assert fresh.get_chunks(doc.doc_id) == list(chunks[:2])
    assert fresh.get_chunks(corpus[1][0].doc_id) == list(corpus[1][1])
    assert fresh.stats().passages == 2 + len(corpus[1][1])


def _short(item: IndexItem, part: str) -> IndexItem:
    """The item with one of its per-passage parts missing its last entry."""
    if part == "vectors":
        return item._replace(vectors=item.vectors[:-1])
    cut = {name: getattr(item.tokens, name)[:-1] if name == part else getattr(item.tokens, name)
           for name in ("title", "sections", "bodies", "folded")}
    return item._replace(tokens=Tokens(**cut))


@pytest.mark.parametrize("part", ["vectors", "bodies", "sections", "folded"])
def test_a_malformed_document_in_a_batch_writes_none_of_it(fresh, corpus, part):
    with pytest.raises(ValueError, match="same length"):
        fresh.index_documents([corpus[0], _short(corpus[1], part)])
    assert fresh.stats().documents == 0
    assert fresh.get_document(corpus[0][0].doc_id) is None


def test_delete_document(fresh, corpus):
    load(fresh, corpus)
    assert fresh.delete_document("by-2019") is True
    assert fresh.get_document("by-2019") is None and fresh.get_chunks("by-2019") == []
    assert fresh.keyword_search(kq("生产总值"), Filters(), 10) == []
    assert all(not i.startswith("by-2019") for i in ids(fresh.vector_search(corpus[6][2][0], Filters(), 40)))
    assert "2019" not in dict(fresh.facets(kq("依法行政"), Filters()).fields["year"])
    assert fresh.delete_document("by-2019") is False
    left = sum(len(c) for _, c, _, _ in corpus) - 5
    assert (fresh.stats().documents, fresh.stats().passages) == (len(corpus) - 1, left)


# -- filters, facets, paging ------------------------------------------------------


@pytest.mark.parametrize("flt", FILTERS, ids=str)
def test_filters_apply_inside_keyword_search(loaded, corpus, flt):
    facts = chunk_facts(corpus)
    query = kq("行政复议 案件 法治政府")
    full = loaded.keyword_search(query, Filters(), 40)
    expected = [s for s in full if passes(facts[s.chunk_id], flt)]
    got = loaded.keyword_search(query, flt, 2)
    assert all(passes(facts[i], flt) for i in ids(got))
    assert [s.score for s in got] == pytest.approx([s.score for s in expected[:2]], rel=1e-4)


@pytest.mark.parametrize("flt", FILTERS, ids=str)
def test_filters_apply_inside_vector_search(loaded, corpus, embedder, flt):
    facts = chunk_facts(corpus)
    vector = embedder.embed_query("行政复议案件办理数量")
    full = loaded.vector_search(vector, Filters(), 40)
    expected = [s for s in full if passes(facts[s.chunk_id], flt)]
    got = loaded.vector_search(vector, flt, 3)
    assert all(passes(facts[i], flt) for i in ids(got))
    assert [s.score for s in got] == pytest.approx([s.score for s in expected[:3]], abs=1e-4)


def test_filters_are_not_applied_after_a_top_k_cut(loaded, corpus, embedder):
    """A filter whose matches all rank below the unfiltered top-k still gets its own top-k."""
    query, vector = kq("行政复议 案件"), embedder.embed_query("行政复议案件办理数量")
    for search in (lambda f, k: loaded.keyword_search(query, f, k), lambda f, k: loaded.vector_search(vector, f, k)):
        top = set(ids(search(Filters(), 2)))
        below = [f for f in FILTERS if search(f, 2) and not set(ids(search(f, 2))) & top]
        assert below, "no filter's matches ranked below the unfiltered top 2; the corpus no longer tests this"


def expected_facets(facts: dict, chunk_ids: set[str]) -> dict[str, list[tuple[str, int]]]:
    out = {}
    for name in FACET_FIELDS:
        counts = Counter(facts[i][name] for i in chunk_ids if facts[i][name] is not None)
        out[name] = [(str(v), n) for v, n in sorted(counts.items(), key=lambda p: (-p[1], p[0]))]
    return out


@pytest.mark.parametrize("flt", [Filters(), Filters(year_from=2021, year_to=2022), Filters(region=("海澄区",))],
                         ids=str)
def test_facets_count_matching_passages(loaded, corpus, embedder, flt):
    facts = chunk_facts(corpus)
    query = kq("行政复议 执法")
    keyword = set(ids(loaded.keyword_search(query, flt, 40)))
    extra = set(ids(loaded.vector_search(embedder.embed_query("营商环境"), Filters(), 5)))
    union = keyword | {i for i in extra if passes(facts[i], flt)}
    counts = loaded.facets(query, flt, extra)
    assert counts.total == len(union)
    assert counts.fields == expected_facets(facts, union)
    overview = {i for i, f in facts.items() if passes(f, flt)}
    assert loaded.facets(None, flt).total == len(overview)
    assert loaded.facets(None, flt).fields == expected_facets(facts, overview)


def test_paging_is_consistent(loaded):
    query = kq("行政 法治")
    everything = ids(loaded.keyword_search(query, Filters(), 15))
    pages = [ids(loaded.keyword_search(query, Filters(), 5, offset)) for offset in (0, 5, 10)]
    assert len(everything) == 15
    assert [i for page in pages for i in page] == everything


# -- query semantics -----------------------------------------------------------------


def test_phrases_are_exact_folded_sequences(loaded, corpus):
    facts = chunk_facts(corpus)
    assert ids(loaded.keyword_search(kq("案件", phrases=["案件120件"]), Filters(), 40)) == ["qc-2021-0001"]
    hits = set(ids(loaded.keyword_search(kq(phrases=["纠错率"]), Filters(), 40)))
    assert hits == {i for i, f in facts.items() if "纠错率" in f["fold"]}
    assert "hc-2020-0001" in hits  # written 糾錯率


def test_exclusions_remove_passages(loaded, corpus):
    facts = chunk_facts(corpus)
    with_all = set(ids(loaded.keyword_search(kq("行政复议"), Filters(), 40)))
    without = set(ids(loaded.keyword_search(kq("行政复议", excluded=["纠错率"]), Filters(), 40)))
    assert without == {i for i in with_all if "纠错率" not in facts[i]["fold"]}
    assert without and without < with_all


def test_traditional_characters_are_found_by_simplified_queries(loaded):
    assert "hc-2020-0001" in ids(loaded.keyword_search(kq("行政复议 纠错率"), Filters(), 5))
    assert "hc-2020-0003" in ids(loaded.keyword_search(kq("政务公开"), Filters(), 5))
    assert "hc-2020-0001" in ids(loaded.keyword_search(kq(phrases=["行政復議案件75件"]), Filters(), 5))


@pytest.mark.es
@pytest.mark.parametrize("other", ["elasticsearch", "cluster"])
@pytest.mark.parametrize("text", ["行政复议 纠错率", "负责人 出庭 应诉率", "政务公开 信息", "法治 培训 干部",
                                  "合法性审查 法律顾问", "执法 案卷 评查", "行政调解 成功率"])
def test_backends_rank_keyword_results_alike(loaded_backends, text, other):
    # Lucene's BM25 on both sides: every match, in the same order, with the same score; on three
    # shards too, whose document frequencies the search gathers first (dfs_query_then_fetch).
    embedded, elastic = loaded_backends("embedded"), loaded_backends(other)
    a = embedded.keyword_search(kq(text), Filters(), 40)
    b = elastic.keyword_search(kq(text), Filters(), 40)
    assert len(a) >= 3 and ids(a) == ids(b)
    assert [s.score for s in a] == pytest.approx([s.score for s in b], rel=1e-5)
    flt = Filters(year_from=2021)
    assert ids(embedded.keyword_search(kq(text), flt, 5)) == ids(elastic.keyword_search(kq(text), flt, 5))


@pytest.mark.es
@pytest.mark.parametrize("other", ["elasticsearch", "cluster"])
@pytest.mark.parametrize("text", ["行政复议案件数量", "政府信息公开", "生态环境保护", "领导干部法治培训"])
def test_backends_rank_vector_results_alike(loaded_backends, embedder, text, other):
    vector = embedder.embed_query(text)
    a = loaded_backends("embedded").vector_search(vector, Filters(), 3)
    b = loaded_backends(other).vector_search(vector, Filters(), 3)
    assert ids(a) == ids(b)
    assert [s.score for s in a] == pytest.approx([s.score for s in b], abs=1e-4)


def tied_document(embedder, doc_id: str, text: str, count: int):
    """A document of `count` identical passages (equal scores), stored in reverse chunk-id order,
    so that an engine's own tie order (insertion order) is not the contract's (chunk id)."""
    from archive.models import Chunk, Document, chunk_id_for

    doc = Document(doc_id, f"{doc_id}年度报告", "云岭县", 2024, "年度报告", sha256=doc_id)
    chunks = [Chunk(chunk_id_for(doc_id, i), doc_id, i, "一、总体情况", text) for i in reversed(range(count))]
    vectors = embedder.embed_passages([c.text for c in chunks])
    return IndexItem(doc, chunks, vectors, document_tokens(doc.title, chunks))


@pytest.mark.parametrize(("offset", "limit"), [(0, 30), (0, 5), (1, 2), (2, 4), (7, 7), (3, 20)])
def test_score_ties_are_ordered_by_chunk_id_across_every_cut(fresh, embedder, offset, limit):
    """Three passages tie at the top and 25 below them: a page cut inside either tie group gives
    the same order as reading everything, ties by chunk id."""
    load(fresh, [tied_document(embedder, "tie-b", "行政复议 办案 行政复议 办案", 3),
                 tied_document(embedder, "tie-a", "行政复议 办案 统计", 25)])
    everything = fresh.keyword_search(kq("行政复议 办案"), Filters(), 40)
    assert ids(everything) == sorted(ids(everything)[:3]) + sorted(ids(everything)[3:])
    assert {s.chunk_id.split("-")[1] for s in everything[:3]} == {"b"}
    assert len({s.score for s in everything}) == 2
    page = fresh.keyword_search(kq("行政复议 办案"), Filters(), limit, offset)
    assert ids(page) == ids(everything)[offset:offset + limit]


def test_deep_paging_is_refused_or_answered(loaded):
    """Elasticsearch cannot page past 10,000 hits: a clear BadRequest, never a server error."""
    if loaded.name == "elasticsearch":
        with pytest.raises(BadRequest, match="10,000"):
            loaded.keyword_search(kq("行政"), Filters(), 10, offset=9_995)
    else:
        assert loaded.keyword_search(kq("行政"), Filters(), 10, offset=9_995) == []


# -- rebuild and compatibility -------------------------------------------------------


def test_rebuild_switches_while_searches_continue(fresh, corpus, embedder):
    load(fresh, corpus)
    vector = embedder.embed_query("行政复议")
    results, errors, stop = [], [], threading.Event()

    def search_loop():
        while not stop.is_set():
            try:
                results.append(len(fresh.keyword_search(kq("行政复议"), Filters(), 5)))
                results.append(len(fresh.vector_search(vector, Filters(), 5)))
            except Exception as exc:  # the assertion below reports it
                errors.append(exc)
            time.sleep(0.01)

    before = fresh.stats().details.get("index")
    thread = threading.Thread(target=search_loop)
    thread.start()
    try:
        assert fresh.rebuild(iter(corpus)) == len(corpus)
        time.sleep(0.3)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert errors == []
    assert len(results) > 10 and min(results) == 5
    stats = fresh.stats()
    assert (stats.documents, stats.passages) == (len(corpus), sum(len(c) for _, c, _, _ in corpus))
    if fresh.name == "elasticsearch":
        assert (before, stats.details["index"]) == (f"{fresh.alias}-v1", f"{fresh.alias}-v2")
        assert list(fresh.client.indices.get_alias(name=fresh.alias)) == [f"{fresh.alias}-v2"]
        assert not fresh.client.indices.exists(index=f"{fresh.alias}-v1")


def test_the_index_says_which_embedder_built_it(fresh, corpus, make_backend, embedder):
    # ARCHIVE_EMBEDDER=auto asks before it knows the model: a backend built for any model reads the record
    probe = make_backend(fresh.name, like=fresh, model_id="another-model")
    assert probe.recorded_model_id() is None
    assert fresh.recorded_model_id() is None  # the question wrote no index (it would say another-model)
    load(fresh, corpus[:1])
    assert probe.recorded_model_id() == fresh.recorded_model_id() == embedder.model_id
    fresh.check_compatible()


def test_another_embedder_is_refused(fresh, corpus, make_backend):
    load(fresh, corpus[:1])
    other = make_backend(fresh.name, like=fresh, model_id="another-model")
    with pytest.raises(IndexMismatch, match="another-model"):
        other.check_compatible()
    with pytest.raises(IndexMismatch):
        other.index_documents([corpus[1]])
    fresh.check_compatible()
    assert fresh.stats().documents == 1
