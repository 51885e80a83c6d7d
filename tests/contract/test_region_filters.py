"""The region hierarchy in filters and facets: one table, the rule (`Filters.matches`) and both backends.

The corpus places (tests/contract/conftest.py PLACES): 西陵省 above 青川市 above 云岭县 and
青川高新示范区; 东滨省 above 北原市 above 海澄区.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import replace

import pytest

from archive.backends.base import IndexItem
from archive.errors import IndexMismatch
from archive.models import Filters, KeywordQuery
from archive.text import tokenize
from tests.contract.conftest import KINDS

QC = {"qc-2021", "qc-2022"}
YL = {"yl-2021", "yl-2023"}
UNDER_QC = QC | YL | {"qz-2023"}
XL = UNDER_QC | {"xl-2022"}
DB = {"by-2019", "by-2022", "hc-2020", "hc-2023"}

TABLE = [
    (Filters(region=("青川市",)), UNDER_QC),  # a city finds itself and what lies under it
    (Filters(region=("西陵省",)), XL),
    (Filters(region=("东滨省",)), DB),
    (Filters(region=("云岭县",)), YL),  # a county finds only itself
    (Filters(region=("青川高新示范区", "海澄区")), {"qz-2023", "hc-2020", "hc-2023"}),
    (Filters(province=("西陵省",)), XL),  # the province's own report falls under it
    (Filters(province=("东滨省",), doc_type=("年度报告",)), {"by-2022", "hc-2023"}),
    (Filters(city=("青川市",)), UNDER_QC),  # the city's own reports fall under it
    (Filters(city=("北原市",), year=(2023,)), {"hc-2023"}),
    (Filters(city=("青川市",), year_from=2023), {"yl-2023", "qz-2023"}),
    (Filters(province=("西陵省",), city=("北原市",)), set()),  # fields are AND'ed
    (Filters(province=("西陵省", "东滨省"), year_to=2019), {"by-2019"}),  # values are OR'ed
    (Filters(region=("西陵省",), city=("青川市",), doc_type=("自查报告",)), {"yl-2021"}),
    (Filters(province=("无此省",)), set()),
]


def case_id(value) -> str:
    """A test id that reads the same in every process: a set's members sorted (its own order follows the hash seed)."""
    return "{" + ",".join(sorted(value)) + "}" if isinstance(value, set) else str(value)


def _doc_ids(backend, chunk_ids) -> set[str]:
    return {c.doc_id for c in backend.get_chunks_by_id(list(chunk_ids)).values()}


@pytest.mark.parametrize(("flt", "expected"), TABLE, ids=case_id)
def test_the_rule_selects_the_expected_reports(corpus, flt, expected):
    assert {doc.doc_id for doc, *_ in corpus if flt.matches(doc)} == expected


@pytest.mark.parametrize(("flt", "expected"), TABLE, ids=case_id)
def test_backends_translate_the_rule(loaded, corpus, embedder, flt, expected):
    passages = {doc.doc_id: len(chunks) for doc, chunks, _, _ in corpus}
    everything = sum(passages.values())
    vector = embedder.embed_query("法治政府建设")
    assert _doc_ids(loaded, (s.chunk_id for s in loaded.vector_search(vector, flt, everything))) == expected
    query = KeywordQuery(tuple(tokenize("法治 行政 政府 建设 复议 执法")))
    unfiltered = _doc_ids(loaded, (s.chunk_id for s in loaded.keyword_search(query, Filters(), everything)))
    filtered = _doc_ids(loaded, (s.chunk_id for s in loaded.keyword_search(query, flt, everything)))
    assert filtered == unfiltered & expected
    overview = loaded.facets(None, flt)
    assert overview.total == sum(passages[d] for d in expected)


@pytest.mark.parametrize("flt", [Filters(), Filters(region=("西陵省",)), Filters(city=("北原市",))], ids=str)
def test_province_and_city_facets_count_what_falls_under_them(loaded, corpus, flt):
    want: dict[str, Counter] = {"province": Counter(), "city": Counter()}
    for doc, chunks, _, _ in corpus:
        if flt.matches(doc):
            for name, value in (("province", doc.in_province), ("city", doc.in_city)):
                if value:
                    want[name][value] += len(chunks)
    fields = loaded.facets(None, flt).fields
    for name, counts in want.items():
        assert fields[name] == sorted(counts.items(), key=lambda p: (-p[1], p[0]))
    if flt.is_empty():
        assert dict(fields["province"]) == {"西陵省": 26, "东滨省": 20}


def test_new_fields_read_back(loaded, corpus):
    zone = next(doc for doc, *_ in corpus if doc.region_level == "zone")
    got = loaded.get_document(zone.doc_id)
    assert (got.region_level, got.province, got.city, got.covers, got.notes) == \
        ("zone", "西陵省", "青川市", 2023, ("测试语料",))
    assert got.region_path == ("西陵省", "青川市", "青川高新示范区")


# -- an index of the layout before these fields ------------------------------------------------

PLACE_FIELDS = ("region_level", "province", "city", "covers", "notes")


def _old_documents(corpus):
    """The corpus as an older archive held it: no places, no covered year, no notes."""
    return [item._replace(doc=replace(item.doc, region_level=None, province=None, city=None, covers=None, notes=()))
            for item in corpus]


def _old_embedded(make_backend, items):
    backend = make_backend("embedded")
    for item in items:
        backend.index_documents([item])
    backend.close()
    db = sqlite3.connect(backend.path)
    for column in PLACE_FIELDS:
        db.execute(f"ALTER TABLE documents DROP COLUMN {column}")
    for column in ("province", "city"):
        db.execute(f"ALTER TABLE chunks DROP COLUMN {column}")
    db.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    return make_backend("embedded", like=backend)


def _old_elasticsearch(make_backend, items):
    from archive.backends.elastic import load_mapping
    from archive.backends.elastic_writer import passage_actions

    backend = make_backend("elasticsearch")
    body = load_mapping(backend.dim, backend.model_id)
    body["mappings"]["_meta"]["schema_version"] = 2
    for name in (*PLACE_FIELDS, "version", "hidden", "retired"):
        del body["mappings"]["properties"][name]
    backend.client.indices.create(index=f"{backend.alias}-v1", aliases={backend.alias: {}}, **body)
    operations = []
    for item in items:
        doc = item.doc
        record = {k: v for k, v in doc.to_dict().items() if k not in PLACE_FIELDS}
        operations += [{"index": {"_id": f"{doc.doc_id}#doc"}}, {**record, "kind": "document"}]
        for action in passage_actions(item, "unused"):
            source = {k: v for k, v in action["_source"].items() if k not in ("version", "province", "city")}
            operations += [{"index": {"_id": source["chunk_id"]}}, source]
    backend.client.bulk(index=backend.alias, operations=operations, refresh=True)
    return backend


@pytest.mark.parametrize("kind", KINDS)
def test_an_index_of_the_old_layout_asks_for_a_reindex_and_reads_with_the_new_fields_empty(
        kind, make_backend, corpus, embedder):
    old = _old_documents(corpus)
    backend = (_old_embedded if kind == "embedded" else _old_elasticsearch)(make_backend, old)
    vector = embedder.embed_query("行政复议")
    uses = [lambda: backend.vector_search(vector, Filters(), 5), lambda: backend.index_documents([corpus[0]]),
            lambda: backend.facets(None, Filters()),
            lambda: backend.keyword_search(KeywordQuery(("行政",)), Filters(), 5)]
    for use in uses:
        with pytest.raises(IndexMismatch, match="python -m indexer reindex"):
            use()
    docs = backend.list_documents()  # what `python -m indexer reindex` reads
    assert sorted(docs, key=lambda d: d.doc_id) == sorted((d for d, *_ in old), key=lambda d: d.doc_id)
    assert all(d.province is None and d.notes == () for d in docs)
    by_id = {item.doc.doc_id: item for item in corpus}
    items = [by_id[d.doc_id]._replace(doc=d, chunks=backend.get_chunks(d.doc_id)) for d in docs]
    assert backend.rebuild(iter(items)) == len(corpus)
    assert backend.vector_search(vector, Filters(region=("青川市",)), 50)  # region still filters
    assert backend.vector_search(vector, Filters(province=("西陵省",)), 50) == []  # no place read yet
    backend.index_documents([corpus[0]])  # writes work again, with the new fields
    assert backend.get_document(corpus[0][0].doc_id) == corpus[0][0]


def test_passages_follow_a_rewritten_documents_place(fresh, corpus, embedder):
    """What a correction does: the same passages and vectors written again under new metadata."""
    for item in corpus:
        fresh.index_documents([item])
    doc, chunks, vectors, tokens = next(i for i in corpus if i[0].doc_id == "yl-2021")
    moved = replace(doc, region="海澄区", province="东滨省", city="北原市", region_level="county")
    fresh.index_documents([IndexItem(moved, fresh.get_chunks(doc.doc_id), vectors, tokens)])
    vector = embedder.embed_query("法治政府建设")
    docs_under = {d: _doc_ids(fresh, (s.chunk_id for s in fresh.vector_search(vector, Filters(province=(d,)), 50)))
                  for d in ("西陵省", "东滨省")}
    assert doc.doc_id in docs_under["东滨省"] and doc.doc_id not in docs_under["西陵省"]
    counts = dict(fresh.facets(None, Filters()).fields["province"])
    assert counts == {"西陵省": 26 - len(chunks), "东滨省": 20 + len(chunks)}
    assert fresh.get_chunks(doc.doc_id) == list(chunks) and fresh.get_document(doc.doc_id) == moved
    query = KeywordQuery(tuple(tokenize("自查")))
    found = fresh.keyword_search(query, Filters(city=("北原市",)), 9)
    assert doc.doc_id in _doc_ids(fresh, (s.chunk_id for s in found))
