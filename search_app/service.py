"""Search, as one function that pages and the JSON API both call."""

from __future__ import annotations

import time
from concurrent.futures import wait
from urllib.parse import quote, urlencode

from archive.errors import BadRequest, NotFound
from archive.models import FACET_FIELDS, Chunk, Document, FacetCounts, KeywordQuery, Scored
from archive.services import Archive
from archive.text import fold
from search_app.fusion import Fused, rrf
from search_app.params import MAX_EMBED_CHARS, MAX_QUERY_CHARS, SearchParams
from search_app.proximity import satisfies
from search_app.query import ParsedQuery, highlight_needles, parse_query, synonym_terms
from search_app.snippets import highlight, snippet
from search_app.vocabulary import vocabulary


def passage_url(doc_id: str, anchor: str, q: str = "") -> str:
    """Permalink to a passage in the reading view, with the query's words highlighted."""
    query = "?" + urlencode({"q": q}) if q else ""
    return f"/doc/{quote(doc_id, safe='')}{query}#{anchor}"


# How deep the keyword retriever reads when /s constraints are checked after it (at least).
PROXIMITY_DEPTH = 1000
# Hybrid mode fuses only the keyword hits that look meant (measured on tests/eval, see README):
# with any-word matching, a hit scoring under this share of the best BM25 score shares one common
# word with the query, and fused with equal weight it pushes the semantic finds down;
HYBRID_KEYWORD_FLOOR = 0.4
# and when none of the top few keyword hits holds this share of the query's words, the query is a
# paraphrase the words do not find, so the keyword list stays out of the fusion altogether.
HYBRID_MIN_COVERAGE = 0.4
COVERAGE_TOP = 3


def understand(archive: Archive, params: SearchParams) -> ParsedQuery:
    """The query box taken apart; regions and years the archive holds become filters unless `literal`."""
    return parse_query(params.q, None if params.literal or not params.q else vocabulary(archive))


def keyword_query(parsed: ParsedQuery) -> KeywordQuery:
    """Typed terms plus their synonyms are ranked, passages holding every word first; phrases and
    /s, /p operands are required."""
    groups = tuple(tuple(synonym_terms(a) for a in word) for word in parsed.words)
    return KeywordQuery(terms=tuple(dict.fromkeys((*parsed.terms, *parsed.expansions))),
                        phrases=parsed.required, excluded=parsed.excluded,
                        groups=tuple(tuple(a for a in g if a) for g in groups))


def _text_constraints_ok(chunk: Chunk | None, kq: KeywordQuery, parsed: ParsedQuery) -> bool:
    """Phrases, exclusions and /s, /p constraints, checked on the passage text."""
    if chunk is None:
        return False
    folded = fold(chunk.text)
    return (all(p in folded for p in kq.phrases) and not any(x in folded for x in kq.excluded)
            and satisfies(folded, parsed.proximity))


def _keep(archive: Archive, found: list[Scored], kq: KeywordQuery, parsed: ParsedQuery) -> list[Scored]:
    chunks = archive.backend.get_chunks_by_id([s.chunk_id for s in found])
    return [s for s in found if _text_constraints_ok(chunks.get(s.chunk_id), kq, parsed)]


def _retrieve(archive: Archive, params: SearchParams, parsed: ParsedQuery, kq: KeywordQuery):
    """Keyword and semantic hits, the text of the first keyword hits (hybrid mode's coverage check)
    when they were read on the way, and the facet counts."""
    backend, filters = archive.backend, params.filters(parsed)
    sentence_bound = any(c.scope == "s" for c in parsed.proximity)
    keyword: list[Scored] = []
    semantic: list[Scored] = []
    top: dict[str, Chunk] = {}
    wants_keyword = params.mode in ("keyword", "hybrid") and not kq.is_empty()
    wants_semantic = params.mode in ("semantic", "hybrid") and bool(parsed.semantic_text)
    if wants_keyword and wants_semantic:
        # Keyword retrieval waits on Elasticsearch or SQLite while the query is embedded on the CPU:
        # overlapped, hybrid costs about the longer of the two instead of their sum.
        pending = archive.pool.submit(_keyword_and_top, archive, params, kq, filters, parsed, sentence_bound)
        try:
            semantic = _semantic_hits(archive, parsed, kq, filters)
        finally:
            wait([pending])  # a failed embedding still leaves no retrieval running past its request
        keyword, top = pending.result()
    elif wants_keyword:
        keyword = _keyword_hits(archive, params, kq, filters, parsed, sentence_bound)
    elif wants_semantic:
        semantic = _semantic_hits(archive, parsed, kq, filters)
    use_kq = params.mode != "semantic" and not kq.is_empty()
    if params.q and not use_kq and not semantic:
        return keyword, semantic, top, FacetCounts(0, {})  # nothing searchable was typed
    if sentence_bound:
        # Count what survived the sentence check rather than every passage with the words.
        ids = [s.chunk_id for s in (*keyword, *semantic)]
        facets = backend.facets(None, filters, ids) if ids else FacetCounts(0, {})
        return keyword, semantic, top, facets
    # With an empty box this counts the whole (filtered) archive: the overview on the start page.
    facets = backend.facets(kq if use_kq else None, filters, [s.chunk_id for s in semantic])
    return keyword, semantic, top, facets


def _keyword_and_top(archive: Archive, params: SearchParams, kq: KeywordQuery, filters, parsed: ParsedQuery,
                     sentence_bound: bool) -> tuple[list[Scored], dict[str, Chunk]]:
    keyword = _keyword_hits(archive, params, kq, filters, parsed, sentence_bound)
    return keyword, archive.backend.get_chunks_by_id([s.chunk_id for s in keyword[:COVERAGE_TOP]])


def _keyword_hits(archive: Archive, params: SearchParams, kq: KeywordQuery, filters, parsed: ParsedQuery,
                  sentence_bound: bool) -> list[Scored]:
    depth = params.page * params.size
    # Fusion needs the keyword list as deep as the vector one, or a passage the keyword
    # retriever ranks just below the page would get no keyword credit at all.
    limit = max(depth, archive.config.semantic_k) if params.mode == "hybrid" else depth
    if sentence_bound:
        limit = max(limit * 10, PROXIMITY_DEPTH)  # /s drops candidates after retrieval
    keyword = archive.backend.keyword_search(kq, filters, limit=limit)
    return _keep(archive, keyword, kq, parsed) if sentence_bound else keyword


def _semantic_hits(archive: Archive, parsed: ParsedQuery, kq: KeywordQuery, filters) -> list[Scored]:
    vector = archive.embedder.embed_query(parsed.semantic_text[:MAX_EMBED_CHARS])
    semantic = archive.backend.vector_search(vector, filters, limit=archive.config.semantic_k)
    return _keep(archive, semantic, kq, parsed) if kq.phrases or kq.excluded else semantic


def coverage(folded: str, terms: set[str]) -> float:
    """Share of `terms` that occur in a folded passage text (1.0 when there are none)."""
    return sum(t in folded for t in terms) / len(terms) if terms else 1.0


def _fusable(keyword: list[Scored], parsed: ParsedQuery, top: dict[str, Chunk]) -> list[Scored]:
    """The keyword hits worth fusing in hybrid mode (see HYBRID_KEYWORD_FLOOR and HYBRID_MIN_COVERAGE);
    `top` holds the passages of the first COVERAGE_TOP, read beside the query embedding."""
    if not keyword:
        return keyword
    terms = {t for t in parsed.terms if len(t) > 1}
    if max((coverage(fold(c.text), terms) for c in top.values()), default=1.0) < HYBRID_MIN_COVERAGE:
        return []
    floor = keyword[0].score * HYBRID_KEYWORD_FLOOR
    return [s for s in keyword if s.score >= floor]


def _fuse(keyword: list[Scored], semantic: list[Scored], k: int) -> list[Fused]:
    return rrf({"keyword": [s.chunk_id for s in keyword], "semantic": [s.chunk_id for s in semantic]}, k=k)


def _sort(fused: list[Fused], params: SearchParams, archive: Archive) -> list[Fused]:
    if params.sort != "date" or not fused:
        return fused
    chunks = archive.backend.get_chunks_by_id([f.chunk_id for f in fused])
    docs = archive.backend.get_documents({c.doc_id for c in chunks.values()})

    def key(f: Fused):
        doc = docs.get(chunks[f.chunk_id].doc_id) if f.chunk_id in chunks else None
        return (-(doc.year or 0) if doc else 0, (doc.published or "") if doc else "")

    return sorted(fused, key=key)  # stable: relevance order within a year


def explain(f: Fused, scores: dict[str, float], rrf_k: int) -> dict:
    """Why a hit ranks where it does: each retriever's rank and raw score, and the fused score."""
    def part(name: str, score_name: str) -> dict | None:
        if name not in f.ranks:
            return None
        return {"rank": f.ranks[name], score_name: scores.get(name)}

    return {"keyword": part("keyword", "score"), "semantic": part("semantic", "similarity"),
            "fused": round(f.score, 6), "rrf_k": rrf_k}


def _hit(f: Fused, chunk: Chunk, doc: Document, scores: dict, params: SearchParams, needles,
         rrf_k: int) -> dict:
    hit = {
        "chunk_id": chunk.chunk_id, "doc_id": doc.doc_id, "title": doc.title, "region": doc.region,
        "year": doc.year, "doc_type": doc.doc_type, "section": chunk.section, "text": chunk.text,
        "snippet": snippet(chunk.text, needles, params.q), "score": round(f.score, 6),
        "matched": f.matched, "url": passage_url(doc.doc_id, chunk.anchor, params.q),
        "anchor": chunk.anchor, "position": chunk.position,
    }
    if params.explain:
        own = scores.get(chunk.chunk_id, {})
        hit.update(ranks=dict(f.ranks), scores=own, explain=explain(f, own, rrf_k))
    return hit


def search(archive: Archive, params: SearchParams) -> dict:
    """Run a search and return the API's JSON shape (pages render the same dict)."""
    started = time.perf_counter()
    parsed = understand(archive, params)
    kq = keyword_query(parsed)
    keyword, semantic, top, facets = _retrieve(archive, params, parsed, kq)
    if params.mode == "hybrid" and semantic:
        keyword = _fusable(keyword, parsed, top)
    fused = _sort(_fuse(keyword, semantic, archive.config.rrf_k), params, archive)
    window = fused[(params.page - 1) * params.size: params.page * params.size]
    chunks = archive.backend.get_chunks_by_id([f.chunk_id for f in window])
    docs = archive.backend.get_documents({c.doc_id for c in chunks.values()})
    scores: dict[str, dict] = {}
    for name, lst in (("keyword", keyword), ("semantic", semantic)):
        for s in lst:
            scores.setdefault(s.chunk_id, {})[name] = round(s.score, 6)
    needles = highlight_needles(parsed)
    hits = [_hit(f, chunks[f.chunk_id], docs[chunks[f.chunk_id].doc_id], scores, params, needles,
                 archive.config.rrf_k)
            for f in window if f.chunk_id in chunks and chunks[f.chunk_id].doc_id in docs]
    return {
        "query": params.q, "mode": params.mode, "total": facets.total if params.q else 0,
        "page": params.page, "size": params.size,
        "took_ms": round((time.perf_counter() - started) * 1000, 1),
        "hits": hits,
        "applied": [a.to_dict() for a in parsed.applied],
        "facets": {name: [{"value": v, "count": n} for v, n in facets.fields.get(name, [])]
                   for name in FACET_FIELDS},
        "answer": _answer(archive, params),
    }


def _answer(archive: Archive, params: SearchParams) -> dict | None:
    """The answer card of a question naming a measure, a region and a year (search_app/answer.py)."""
    from search_app.answer import answer_for  # imported here: answer.py reads figures through this module

    return answer_for(archive, params)


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
