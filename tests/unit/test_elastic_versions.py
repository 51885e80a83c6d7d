"""The bookkeeping of versioned documents (archive/backends/elastic_versions.py), without Elasticsearch."""

import time

import pytest

from archive.backends.elastic_versions import (
    STALE_AFTER_MS,
    LiveCache,
    Record,
    abandoned,
    distinct_runs,
    doc_record_id,
    hidden_in,
    live_clauses,
    new_version,
    passage_id,
    record_doc_id,
)

NOW = time.time_ns() // 1_000_000
FRESH, OLD = f"{NOW - 1000}-aaaa", f"{NOW - STALE_AFTER_MS - 1}-bbbb"


def test_versions_are_unique_and_stamped_with_their_start():
    a, b = new_version(), new_version()
    assert a != b and not abandoned(a) and passage_id("d-0001", a) == f"d-0001@{a}"


@pytest.mark.parametrize("version, expected", [
    (FRESH, False), (OLD, True), ("no-stamp", False), ("", False),
], ids=["fresh", "old", "no-stamp", "empty"])  # not the stamps: each xdist worker collects at its own moment
def test_abandoned(version, expected):
    assert abandoned(version, now_ms=NOW) is expected


@pytest.mark.parametrize("source, live, finished", [
    ({}, None, set()),  # no record
    ({"kind": "placeholder", "hidden": ["v1"]}, None, set()),  # a new document being written
    ({"kind": "document", "version": "v2", "hidden": ["v1"], "retired": ["v1"]}, "v2", {"v1"}),  # after a switch
    ({"kind": "document", "version": "v2", "hidden": ["v3"]}, "v2", set()),  # another write under way
    ({"kind": "document", "version": "v2", "hidden": [OLD]}, "v2", {OLD}),  # a write that died long ago
    ({"kind": "document", "title": "before versions"}, None, set()),
])
def test_record_states(source, live, finished):
    record = Record("d", source, 1 if source else None, 1 if source else None)
    assert (record.live, record.finished()) == (live, finished)


def test_hiding_and_unhiding():
    absent = Record("d")
    assert absent.guard() == {"op_type": "create"}
    announced = Record("d", absent.hiding(["v1"]), 0, 1)
    assert announced.source == {"kind": "placeholder", "doc_id": "d", "hidden": ["v1"], "retired": []}
    assert announced.guard() == {"if_seq_no": 0, "if_primary_term": 1}
    switched = Record("d", {"kind": "document", "doc_id": "d", "version": "v2", "hidden": ["v1", "v3"],
                            "retired": ["v1"]}, 5, 1)
    assert switched.unhiding({"v1"}) == {**switched.source, "hidden": ["v3"], "retired": []}


def test_hidden_versions_are_read_from_the_answer_and_left_out():
    answer = {"aggregations": {"hidden_versions": {"records": {"versions": {"buckets": [{"key": "v2"},
                                                                                        {"key": "v1"}]}}}}}
    assert hidden_in(answer) == ("v1", "v2")
    assert hidden_in({"aggregations": {}}) == ()
    assert live_clauses(()) == []
    assert live_clauses({"v2", "v1"}) == [{"bool": {"must_not": [{"terms": {"version": ["v1", "v2"]}}]}}]


HEAD = ("archive-v1", 7, 1)


@pytest.mark.parametrize(("head", "version", "confirmed"), [
    (HEAD, "v-live", True),
    (HEAD, "v-old", False),  # another version of the same document
    (("archive-v1", 8, 1), "v-live", False),  # the record was written since
    (("archive-v1", 7, 2), "v-live", False),  # a new primary
    (("archive-v2", 7, 1), "v-live", False),  # the alias moved to another index
    (None, "v-live", False),  # the record is gone
])
def test_live_cache_only_confirms_a_record_standing_where_it_was(head, version, confirmed):
    cache = LiveCache()
    cache.remember("doc", HEAD, "v-live")
    assert cache.confirms("doc", head, version) is confirmed
    assert not cache.confirms("other", head, version)


def test_live_cache_forgets_the_oldest_first_and_keeps_what_was_read_again():
    cache = LiveCache(size=2)
    cache.remember("a", HEAD, "1")
    cache.remember("b", HEAD, "2")
    cache.remember("a", HEAD, "1")  # read again: now the newest
    cache.remember("c", HEAD, "3")
    assert [cache.confirms(d, HEAD, v) for d, v in (("a", "1"), ("b", "2"), ("c", "3"))] == [True, False, True]


@pytest.mark.parametrize("doc_id", ["qc-2021", "a#doc-b", "区-2020#doc"])
def test_a_record_id_names_its_document(doc_id):
    assert record_doc_id(doc_record_id(doc_id)) == doc_id


@pytest.mark.parametrize(("keys", "runs"), [
    ("", []),
    ("abc", ["abc"]),
    ("abca", ["abc", "a"]),
    ("aab", ["a", "ab"]),
    ("abcbd", ["abc", "bd"]),
])
def test_a_document_twice_in_a_batch_goes_in_two_runs(keys, runs):
    assert ["".join(run) for run in distinct_runs(list(keys), key=str)] == runs
