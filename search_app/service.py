"""Search results as the API's JSON shape, which pages and the JSON API both use (the pipeline: search.py)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from urllib.parse import quote, urlencode

from archive.errors import BadRequest, NotFound
from archive.models import FACET_FIELDS, Chunk, Document
from archive.services import Archive
from search_app import sources
from search_app.fusion import Fused
from search_app.params import MAX_QUERY_CHARS, SearchParams
from search_app.query import highlight_needles, parse_query
from search_app.search import ResultSet, facet_counts, facet_options, keyword_query, page_of, result_set, understand
from search_app.snippets import highlight, snippet

__all__ = ["document", "hits", "keyword_query", "passage_url", "search", "understand"]  # their home: search.py


def passage_url(doc_id: str, anchor: str, q: str = "") -> str:
    """Permalink to a passage in the reading view, with the query's words highlighted."""
    query = "?" + urlencode({"q": q}) if q else ""
    return f"/doc/{quote(doc_id, safe='')}{query}#{anchor}"


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


def hits(archive: Archive, result: ResultSet, window: Sequence[Fused]) -> list[dict]:
    """The API's hit dicts for some members of a result set (a page, or all of them for an export)."""
    params = result.plan.params
    chunks = archive.backend.get_chunks_by_id([f.chunk_id for f in window])
    docs = archive.backend.get_documents({c.doc_id for c in chunks.values()})
    scores = result.scores() if params.explain else {}
    needles = highlight_needles(result.plan.parsed)
    origins = {doc_id: sources.links(archive, doc) for doc_id, doc in docs.items()}
    return [{**_hit(f, chunks[f.chunk_id], docs[chunks[f.chunk_id].doc_id], scores, params, needles,
                    archive.config.rrf_k), **origins[chunks[f.chunk_id].doc_id]}
            for f in window if f.chunk_id in chunks and chunks[f.chunk_id].doc_id in docs]


def search(archive: Archive, params: SearchParams) -> dict:
    """Run a search and return the API's JSON shape (pages render the same dict)."""
    started = time.perf_counter()
    result = result_set(archive, params)
    facets = facet_counts(archive, result)
    return {
        "query": params.q, "mode": params.mode, "total": result.total,
        "page": params.page, "size": params.size,
        "took_ms": round((time.perf_counter() - started) * 1000, 1),
        "hits": hits(archive, result, page_of(result, params.page, params.size)),
        "applied": [a.to_dict() for a in result.plan.parsed.applied],
        "facets": {name: facet_values(name, facets.fields.get(name, [])) for name in FACET_FIELDS},
        "facet_options": {name: facet_values(name, pairs) for name, pairs in facet_options(archive, result).items()},
        "answer": _answer(archive, params),
        "result_set": {"keyword": len(result.keyword), "semantic": len(result.semantic),
                       "semantic_only": result.semantic_only, "capped": result.capped,
                       "similarity_floor": None if result.similarity_floor is None
                       else round(result.similarity_floor, 4)},
    }


def facet_values(name: str, pairs: Sequence[tuple[str, int]]) -> list[dict]:
    """One facet field's values as the API gives them: years newest first, other fields by count."""
    if name == "year":  # a year's place is its order, not its count: 2024 comes before 2017 whatever they hold
        pairs = sorted(pairs, key=lambda p: (p[0] in (None, ""), -int(p[0]) if str(p[0]).isdigit() else 0))
    return [{"value": v, "count": n} for v, n in pairs]


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
        **sources.links(archive, doc),
        "sections": sections,
        "chunks": [{**c.to_dict(), "url": passage_url(doc_id, c.anchor, q),
                    "html": highlight(c.text, needles)} for c in chunks],
    }
