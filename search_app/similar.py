"""Similar passages: a passage's nearest neighbours in other regions' reports and in its region's other years.

A read that only reads: the passage's vector is the one stored at ingest (`Backend.get_vectors`), never
embedded again, so a page view neither runs the model nor writes the embedding cache. A report's own
passages, and for "其他报告" its region's, are left out by their document's fields (doc_id, region),
never by the form of their ids: one vector search is widened until enough passages of the wanted
reports are in it, so nothing needs to count the report's passages first.

The two lists split the neighbours by region: "其他地区报告" are other regions' reports, "本地区的其他报告"
the region's own other reports (other years, and another type's report of the same year, which is why the
list is not called "other years"), each once with its nearest passage; no passage is in both. Each
neighbour keeps its cosine `similarity` (the JSON contract) and gains `closeness`, the word a reader
sees, and its `rank` (`closeness`, bands in archive/data/closeness.json).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import replace

from archive.errors import NotFound
from archive.models import Chunk, Document, Filters, Scored
from archive.services import Archive
from archive.text import DATA_DIR
from search_app import sources
from search_app.service import passage_url
from search_app.snippets import snippet

BANDS = DATA_DIR / "closeness.json"
WIDEN = 4  # each search asks for this many times more neighbours than the last (the first: k times this)
MAX_CANDIDATES = 4096  # a region with more passages nearer than every other region's is not worth more


@functools.cache
def _bands() -> dict:
    return json.loads(BANDS.read_text(encoding="utf-8"))


def closeness(similarity: float, floor: float | None, rank: int) -> str:
    """The word for how close a neighbour is: from the model's calibrated floor, else from its rank (1 = nearest)."""
    bands = _bands()
    if floor is None or floor >= 1:
        for band in bands["by_rank"]:
            if band["ranks"] is None or rank <= band["ranks"]:
                return band["word"]
            rank -= band["ranks"]
    margin = (similarity - floor) / (1 - floor)
    return next(b["word"] for b in bands["by_margin"] if b["at_least"] is None or margin >= b["at_least"])


Neighbour = tuple[Scored, Chunk, Document]


def nearest(archive: Archive, vector, filters: Filters, wanted: Callable[[Document], bool], k: int,
            per_report: bool = False) -> list[Neighbour]:
    """The k passages nearest `vector` under `filters` whose report is `wanted`, best first
    (with `per_report`, only each report's nearest passage)."""
    backend = archive.backend
    chunks: dict[str, Chunk] = {}
    docs: dict[str, Document] = {}
    limit = k * WIDEN
    while True:
        found = backend.vector_search(vector, filters, limit=limit)
        chunks.update(backend.get_chunks_by_id([s.chunk_id for s in found if s.chunk_id not in chunks]))
        docs.update(backend.get_documents({c.doc_id for c in chunks.values()} - set(docs)))
        picked = [(s, chunks[s.chunk_id], docs[chunks[s.chunk_id].doc_id]) for s in found
                  if s.chunk_id in chunks and chunks[s.chunk_id].doc_id in docs
                  and wanted(docs[chunks[s.chunk_id].doc_id])]
        if per_report:
            picked = _first_per_report(picked)
        if len(picked) >= k or len(found) < limit or limit >= MAX_CANDIDATES:
            return picked[:k]
        limit = min(limit * WIDEN, MAX_CANDIDATES)


def _first_per_report(found: list[Neighbour]) -> list[Neighbour]:
    first: dict[str, Neighbour] = {}
    for n in found:  # best first: a report's first passage is its nearest
        first.setdefault(n[2].doc_id, n)
    return list(first.values())


def same_region(doc: Document, other: Document) -> bool:
    """Another report of the passage's own region (a report without a region has none)."""
    return other.doc_id != doc.doc_id and doc.region is not None and other.region == doc.region


def other_region(doc: Document, other: Document) -> bool:
    """A report of another region: what "其他报告" lists."""
    return other.doc_id != doc.doc_id and not same_region(doc, other)


def similar(archive: Archive, chunk_id: str, filters: Filters, k: int = 8) -> dict:
    """The passage's nearest neighbours in other regions' reports, and in its own region's other years."""
    chunk = archive.backend.get_chunks_by_id([chunk_id]).get(chunk_id)
    doc = archive.backend.get_document(chunk.doc_id) if chunk else None
    vector = archive.backend.get_vectors([chunk_id]).get(chunk_id) if doc else None
    if vector is None:
        raise NotFound(f"没有编号为 {chunk_id[:80]} 的段落")
    floor = archive.embedder.similarity_floor
    others = nearest(archive, vector, filters, lambda d: other_region(doc, d), k)
    own = nearest(archive, vector, replace(filters, region=(doc.region,)), lambda d: same_region(doc, d), k,
                  per_report=True) if doc.region else []
    return {
        "passage": {"chunk_id": chunk.chunk_id, "doc_id": doc.doc_id, "title": doc.title, "region": doc.region,
                    "year": doc.year, "section": chunk.section, "text": chunk.text,
                    "url": passage_url(doc.doc_id, chunk.anchor), **sources.links(archive, doc)},
        "other_reports": [_neighbour(n, rank, floor) for rank, n in enumerate(others, 1)],
        "same_region": [_neighbour(n, rank, floor) for rank, n in enumerate(own, 1)],
    }


def _neighbour(found: Neighbour, rank: int, floor: float | None) -> dict:
    s, c, d = found
    return {"chunk_id": c.chunk_id, "doc_id": d.doc_id, "title": d.title, "region": d.region,
            "year": d.year, "doc_type": d.doc_type, "section": c.section,
            "snippet": snippet(c.text, [], "", width=140), "similarity": round(s.score, 4),
            "closeness": closeness(s.score, floor, rank), "rank": rank,
            "url": passage_url(d.doc_id, c.anchor)}
