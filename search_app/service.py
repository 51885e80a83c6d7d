"""Search, as one function that pages and the JSON API both call."""

from __future__ import annotations

import time
from urllib.parse import quote, urlencode

from archive.errors import BadRequest, NotFound
from archive.models import FACET_FIELDS, Chunk, Document, FacetCounts, KeywordQuery, Scored
from archive.services import Archive
from archive.text import fold
from search_app.fusion import Fused, rrf
from search_app.params import MAX_QUERY_CHARS, SearchParams
from search_app.query import ParsedQuery, highlight_needles, parse_query
from search_app.snippets import highlight, snippet


def passage_url(doc_id: str, anchor: str, q: str = "") -> str:
    """Permalink to a passage in the reading view, with the query's words highlighted."""
    query = "?" + urlencode({"q": q}) if q else ""
    return f"/doc/{quote(doc_id, safe='')}{query}#{anchor}"


def _keyword_query(parsed: ParsedQuery) -> KeywordQuery:
    return KeywordQuery(terms=parsed.terms, phrases=parsed.phrases, excluded=parsed.excluded)


def _text_constraints_ok(chunk: Chunk | None, kq: KeywordQuery) -> bool:
    """Phrases and exclusions bind the semantic retriever too (checked on the passage text)."""
    if chunk is None:
        return False
    folded = fold(chunk.text)
    return all(p in folded for p in kq.phrases) and not any(x in folded for x in kq.excluded)


def _retrieve(archive: Archive, params: SearchParams, parsed: ParsedQuery, kq: KeywordQuery):
    backend, filters, depth = archive.backend, params.filters(parsed), params.page * params.size
    keyword: list[Scored] = []
    semantic: list[Scored] = []
    if params.mode in ("keyword", "hybrid") and not kq.is_empty():
        keyword = backend.keyword_search(kq, filters, limit=depth)
    if params.mode in ("semantic", "hybrid") and parsed.semantic_text:
        vector = archive.embedder.embed_query(parsed.semantic_text)
        semantic = backend.vector_search(vector, filters, limit=archive.config.semantic_k)
        if kq.phrases or kq.excluded:
            found = backend.get_chunks_by_id([s.chunk_id for s in semantic])
            semantic = [s for s in semantic if _text_constraints_ok(found.get(s.chunk_id), kq)]
    use_kq = params.mode != "semantic" and not kq.is_empty()
    if params.q and not use_kq and not semantic:
        return keyword, semantic, FacetCounts(0, {})  # nothing searchable was typed
    # With an empty box this counts the whole (filtered) archive: the overview on the start page.
    facets = backend.facets(kq if use_kq else None, filters, [s.chunk_id for s in semantic])
    return keyword, semantic, facets


def _sort(fused: list[Fused], params: SearchParams, archive: Archive) -> list[Fused]:
    if params.sort != "date" or not fused:
        return fused
    chunks = archive.backend.get_chunks_by_id([f.chunk_id for f in fused])
    docs = archive.backend.get_documents({c.doc_id for c in chunks.values()})

    def key(f: Fused):
        doc = docs.get(chunks[f.chunk_id].doc_id) if f.chunk_id in chunks else None
        return (-(doc.year or 0) if doc else 0, (doc.published or "") if doc else "")

    return sorted(fused, key=key)  # stable: relevance order within a year


def _hit(f: Fused, chunk: Chunk, doc: Document, scores: dict, params: SearchParams, needles) -> dict:
    return {
        "chunk_id": chunk.chunk_id, "doc_id": doc.doc_id, "title": doc.title, "region": doc.region,
        "year": doc.year, "doc_type": doc.doc_type, "section": chunk.section, "text": chunk.text,
        "snippet": snippet(chunk.text, needles, params.q), "score": round(f.score, 6),
        "matched": f.matched, "url": passage_url(doc.doc_id, chunk.anchor, params.q),
        "anchor": chunk.anchor, "position": chunk.position,
        "ranks": dict(f.ranks), "scores": scores.get(chunk.chunk_id, {}),
    }


def search(archive: Archive, params: SearchParams) -> dict:
    """Run a search and return the API's JSON shape (pages render the same dict)."""
    started = time.perf_counter()
    parsed = parse_query(params.q)
    kq = _keyword_query(parsed)
    keyword, semantic, facets = _retrieve(archive, params, parsed, kq)
    fused = _sort(rrf({"keyword": [s.chunk_id for s in keyword],
                       "semantic": [s.chunk_id for s in semantic]}, k=archive.config.rrf_k), params, archive)
    window = fused[(params.page - 1) * params.size: params.page * params.size]
    chunks = archive.backend.get_chunks_by_id([f.chunk_id for f in window])
    docs = archive.backend.get_documents({c.doc_id for c in chunks.values()})
    scores: dict[str, dict] = {}
    for name, lst in (("keyword", keyword), ("semantic", semantic)):
        for s in lst:
            scores.setdefault(s.chunk_id, {})[name] = round(s.score, 6)
    needles = highlight_needles(parsed)
    hits = [_hit(f, chunks[f.chunk_id], docs[chunks[f.chunk_id].doc_id], scores, params, needles)
            for f in window if f.chunk_id in chunks and chunks[f.chunk_id].doc_id in docs]
    return {
        "query": params.q, "mode": params.mode, "total": facets.total if params.q else 0,
        "page": params.page, "size": params.size,
        "took_ms": round((time.perf_counter() - started) * 1000, 1),
        "hits": hits,
        "facets": {name: [{"value": v, "count": n} for v, n in facets.fields.get(name, [])]
                   for name in FACET_FIELDS},
    }


def document(archive: Archive, doc_id: str, q: str = "") -> dict:
    """A document's metadata, its table of contents and its passages (highlighted when `q` is given)."""
    if len(q) > MAX_QUERY_CHARS:
        raise BadRequest(f"查询过长：最多 {MAX_QUERY_CHARS} 个字符（收到 {len(q)}）")
    doc = archive.backend.get_document(doc_id)
    if doc is None:
        raise NotFound(f"没有编号为 {doc_id[:80]} 的报告")
    chunks = archive.backend.get_chunks(doc_id)
    needles = highlight_needles(parse_query(q)) if q else []
    sections, seen = [], set()
    for c in chunks:
        if c.section and c.section not in seen:
            seen.add(c.section)
            sections.append({"section": c.section, "anchor": c.anchor,
                             "depth": c.section.count(" > ")})
    return {
        **doc.to_dict(),
        "sections": sections,
        "chunks": [{**c.to_dict(), "url": passage_url(doc_id, c.anchor, q),
                    "html": highlight(c.text, needles)} for c in chunks],
    }
