"""The pieces of the Elasticsearch backend's requests and documents, as plain data.

Pure functions: what a search asks for (BM25 over jieba tokens, exact phrases over folded
characters, kNN with filters inside) and what a passage or a document's record holds.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

import numpy as np

from archive.backends.elastic_versions import DOCUMENT, PASSAGE, DocVersion, live_clauses
from archive.bm25 import FIELD_BOOSTS
from archive.models import FACET_FIELDS, Chunk, Document, Filters, KeywordQuery

MAX_WINDOW = 10_000  # index.max_result_window, and the largest k a kNN search takes
FACET_SIZE = 10_000
# BM25 fields and boosts: the same as the embedded backend's (archive/bm25.py), so both rank alike.
TERM_FIELDS = tuple((f"{name}_tokens" if name != "body" else "tokens", boost)
                    for name, boost in FIELD_BOOSTS.items())
CHUNK_FIELDS = ["chunk_id", "doc_id", "position", "section", "text", "figures"]
HIT_FIELDS = ["chunk_id", "doc_id", "version"]  # read from doc values: a hit's _source is large (its vector)
# A ranked hit needs nothing stored: not even its _id, whose stored-field block (shared with the
# vectors in _source) took most of a 100-hit search at 100k passages (16 ms -> 5 ms without it).
HITS_ONLY = {"_source": False, "stored_fields": "_none_", "docvalue_fields": HIT_FIELDS}
# Keyword hits rank by score, ties by chunk id. Version and doc id follow in the sort only so that each
# hit brings them as sort values from the query phase: no doc values read per hit in the fetch phase, and
# `filter_path` keeps the answer to those values (at 10k hits, a third the bytes). A chunk id names its
# document and only one version of it is live, so the last two keys never reorder what is returned.
RANKED_SORT = [{"_score": "desc"}, {"chunk_id": "asc"}, {"version": {"order": "asc", "missing": "_last"}},
               {"doc_id": "asc"}]
RANKED_ONLY = {"_source": False, "stored_fields": "_none_", "filter_path": ["hits.hits.sort"]}


def ranked_versions(hits: list[dict]) -> list[DocVersion]:
    """Each RANKED_SORT hit's document and version, from its sort values."""
    return [(doc_id, version) for _, _, version, doc_id in (h["sort"] for h in hits)]


def kind_is(kind: str) -> dict:
    return {"term": {"kind": kind}}


def filter_clauses(filters: Filters) -> list[dict]:
    """Filter-context clauses for a set of filters (applied inside every retriever)."""
    clauses = [{"terms": {name: list(getattr(filters, name))}}
               for name in ("doc_type", "year", "province", "city") if getattr(filters, name)]
    if filters.region:  # the report's own region or a government above it: `Filters.matches`
        wanted = list(filters.region)
        clauses.append({"bool": {"should": [{"terms": {name: wanted}} for name in ("region", "province", "city")],
                                 "minimum_should_match": 1}})
    bounds = {k: v for k, v in (("gte", filters.year_from), ("lte", filters.year_to)) if v is not None}
    if bounds:
        clauses.append({"range": {"year": bounds}})
    return clauses


def term_clauses(terms: Iterable[str]) -> list[dict]:
    """BM25 on the passage, its title (boosted) and its section path, any term matching."""
    text = " ".join(sorted(set(terms)))
    return [{"match": {field: {"query": text, "boost": boost}}} for field, boost in TERM_FIELDS]


def keyword_bool(query: KeywordQuery) -> dict:
    """Terms scored (at least one must match); phrases and exclusions as folded character sequences."""
    phrase_terms = [t for toks in query.phrase_terms for t in toks]
    must = [{"bool": {"should": term_clauses(query.terms), "minimum_should_match": 1}}] if query.terms else []
    return {"bool": {
        "must": must,
        "should": term_clauses(phrase_terms) if phrase_terms else [],  # phrases add to the score
        "filter": [{"match_phrase": {"fold": p}} for p in query.phrases],
        "must_not": [{"match_phrase": {"fold": p}} for p in query.excluded],
    }}


def holds_every_word(query: KeywordQuery) -> dict:
    """Passages holding every word of the query: per word, every term of one alternative, in any field."""
    def term(t: str) -> dict:
        return {"bool": {"should": [{"term": {field: t}} for field, _ in TERM_FIELDS], "minimum_should_match": 1}}

    def word(group: tuple[tuple[str, ...], ...]) -> dict:
        return {"bool": {"should": [{"bool": {"filter": [term(t) for t in alt]}} for alt in group],
                         "minimum_should_match": 1}}

    return {"bool": {"filter": [word(g) for g in query.groups]}}


def keyword_where(query: KeywordQuery, filters: Filters, hidden: Sequence[str] = (),
                  every_word: bool | None = None) -> dict:
    """Passages matching a keyword query under filters; with `every_word`, only those that hold (True)
    or do not hold (False) every word of the query, the two tiers of its ranking.

    No `kind` filter: every keyword query needs the token fields or `fold`, which only passages
    carry (the mapping is strict), and a filter matching nearly every document keeps Lucene from
    skipping: at 1M passages it made retrieval 2-3x slower."""
    where = {"bool": {"must": [keyword_bool(query)], "filter": [*filter_clauses(filters), *live_clauses(hidden)]}}
    if every_word is True:
        where["bool"]["filter"].append(holds_every_word(query))
    elif every_word is False:
        where["bool"]["must_not"] = [holds_every_word(query)]
    return where


def passages_where(filters: Filters, *more: dict) -> dict:
    return {"bool": {"filter": [kind_is(PASSAGE), *filter_clauses(filters), *more]}}


def facet_aggs() -> dict:
    order = [{"_count": "desc"}, {"_key": "asc"}]
    return {name: {"terms": {"field": name, "size": FACET_SIZE, "order": order}} for name in FACET_FIELDS}


def knn_clause(vector: np.ndarray, filters: Filters, k: int, hidden: Sequence[str] = ()) -> dict:
    """Nearest passages; only passages have vectors, so no `kind` filter (an unfiltered graph walk is cheapest)."""
    clause = {"field": "vector", "query_vector": np.asarray(vector, np.float32).tolist(), "k": k,
              "num_candidates": min(MAX_WINDOW, max(100, 4 * k))}
    where = [*filter_clauses(filters), *live_clauses(hidden)]
    return {**clause, "filter": where} if where else clause


def document_source(doc: Document, version: str, hidden: Iterable[str] = (), retired: Iterable[str] = ()) -> dict:
    """A document's record with `version` live."""
    return {**doc.to_dict(), "kind": DOCUMENT, "indexed_at": int(time.time() * 1000), "version": version,
            "hidden": sorted(hidden), "retired": sorted(retired)}


def chunk_of(source: dict) -> Chunk:
    return Chunk(source["chunk_id"], source["doc_id"], source["position"], source["section"], source["text"],
                 tuple(source.get("figures") or ()))
