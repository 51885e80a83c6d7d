"""Reading an Elasticsearch index the way users do, and checking each document is seen whole.

A version of a document is (its record as a Document, its passages as (chunk id, text) pairs);
`options` maps each doc id to the versions a reader may see of it (None: not there at all).
Whatever is written, killed or raced when, every read must show every document whole, as one
of its versions: never half of one, never passages of two.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

import numpy as np

from archive.backends.base import IndexItem
from archive.models import Chunk, Document, Filters, KeywordQuery, chunk_id_for
from archive.text import document_tokens, tokenize

Version = tuple[Document, tuple[tuple[str, str], ...]]


def version_of(item) -> Version:
    doc, chunks, _, _ = item
    return doc, tuple((c.chunk_id, c.text) for c in chunks)


def revised(item, count: int, doc_id: str | None = None):
    """Another version of a corpus document with `count` passages, none equal to an old one
    (vectors are re-used: these tests compare ids and texts, not ranking)."""
    doc, chunks, vectors, _ = item
    doc_id = doc_id or doc.doc_id
    picks = [i % len(chunks) for i in range(count)]
    texts = [f"{chunks[p].text}（修订稿第{i + 1}段）" for i, p in enumerate(picks)]
    new_chunks = [Chunk(chunk_id_for(doc_id, i), doc_id, i, chunks[p].section, t)
                  for i, (p, t) in enumerate(zip(picks, texts))]
    new_doc = replace(doc, doc_id=doc_id, title=f"{doc.title}（修订）",
                      sha256=hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest())
    vectors = np.stack([vectors[p] for p in picks])
    return IndexItem(new_doc, new_chunks, vectors, document_tokens(new_doc.title, new_chunks))


def replacements(corpus) -> list:
    """A second ingest: four documents replaced (two grow, two shrink), two new ones."""
    return [revised(corpus[0], 7), revised(corpus[1], 3), revised(corpus[2], 6, "new-yl-2021"),
            revised(corpus[3], 8), revised(corpus[4], 4, "new-hc-2020"), revised(corpus[5], 2)]


def options_for(before: list[Version], after: list[Version]) -> dict[str, list[Version | None]]:
    options: dict[str, list[Version | None]] = {doc.doc_id: [(doc, ps)] for doc, ps in before}
    for doc, ps in after:
        options.setdefault(doc.doc_id, [None]).append((doc, ps))
    return options


def passages_in(version: Version | None) -> frozenset:
    return frozenset(version[1]) if version else frozenset()


def grouped(chunk_ids, owner: dict[str, str]) -> dict[str, frozenset]:
    """Chunk ids by document; an id twice (two versions of one passage at once) fails at once."""
    chunk_ids = list(chunk_ids)
    assert len(chunk_ids) == len(set(chunk_ids)), "a passage returned twice: two versions visible"
    out: dict[str, set] = {}
    for cid in chunk_ids:
        out.setdefault(owner[cid], set()).add(cid)
    return {d: frozenset(ids) for d, ids in out.items()}


def check_reads(backend, options: dict[str, list[Version | None]], settled: bool) -> dict[str, Version | None]:
    """Every read path shows each document whole, as one of its versions.

    While writers run (`settled=False`) each call is checked on its own; once they stopped, every
    path must also show the same version of each document. Returns doc id -> the version seen."""
    owner = {cid: d for d, versions in options.items() for v in versions if v for cid, _ in v[1]}
    texts = [t for versions in options.values() for v in versions if v for _, t in v[1]]
    whole = {d: [passages_in(v) for v in versions] for d, versions in options.items()}
    ids_only = {d: [frozenset(cid for cid, _ in ps) for ps in sets] for d, sets in whole.items()}

    seen = {}
    for doc_id, versions in options.items():
        chunks = frozenset((c.chunk_id, c.text) for c in backend.get_chunks(doc_id))
        assert chunks in whole[doc_id], f"{doc_id} read half-written or mixed: {sorted(c for c, _ in chunks)}"
        seen[doc_id] = versions[whole[doc_id].index(chunks)]
    by_id = backend.get_chunks_by_id(list(owner))
    for doc_id, ids in grouped(by_id, owner).items():
        assert frozenset((cid, by_id[cid].text) for cid in ids) in whole[doc_id], f"{doc_id} by id: {sorted(ids)}"
    lists = {"keyword": backend.keyword_search(KeywordQuery(tuple({t for x in texts for t in tokenize(x)})),
                                               Filters(), 1000),
             "vector": backend.vector_search(np.full(backend.dim, backend.dim ** -0.5, np.float32), Filters(), 1000)}
    for name, found in lists.items():
        for doc_id, ids in grouped((s.chunk_id for s in found), owner).items():
            assert ids in ids_only[doc_id], f"{name} search shows part of {doc_id}: {sorted(ids)}"
    total = backend.facets(None, Filters()).total
    assert total in possible_totals(whole), f"facets count {total} passages: no whole versions add up to that"
    if settled:
        visible = {cid for v in seen.values() if v for cid, _ in v[1]}
        assert set(by_id) == visible
        for found in lists.values():
            assert {s.chunk_id for s in found} == visible
        assert total == len(visible)
        for doc_id, version in seen.items():
            assert backend.get_document(doc_id) == (version[0] if version else None)
        assert {d.doc_id for d in backend.list_documents()} == {d for d, v in seen.items() if v}
        stats = backend.stats()
        assert (stats.documents, stats.passages) == (sum(v is not None for v in seen.values()), len(visible))
    return seen


def possible_totals(whole: dict[str, list[frozenset]]) -> set[int]:
    totals = {0}
    for sets in whole.values():
        totals = {t + len(s) for t in totals for s in sets}
    return totals



def raw_passages(backend) -> list[tuple[str, str]]:
    """Every passage stored, visible or not: what a crash could leave behind."""
    res = backend.client.search(index=backend.alias, query={"term": {"kind": "passage"}}, size=10_000,
                                _source=["chunk_id", "text"])
    return sorted((h["_source"]["chunk_id"], h["_source"]["text"]) for h in res["hits"]["hits"])


def versions_in(backend) -> dict[str, Version]:
    return {d.doc_id: (d, tuple((c.chunk_id, c.text) for c in backend.get_chunks(d.doc_id)))
            for d in backend.list_documents()}
