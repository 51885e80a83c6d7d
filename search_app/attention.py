"""Attention over time: for a query, the share of the archive's reports of each year that mention it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

from archive.models import Document, Filters
from archive.services import Archive
from search_app.compare import _matches, sentence_matches
from search_app.params import SearchParams
from search_app.query import highlight_needles


def _wanted(doc: Document, f: Filters) -> bool:
    """Region and type filters; the years are what is counted, so year filters bound the range only."""
    return ((not f.region or doc.region in f.region) and (not f.doc_type or doc.doc_type in f.doc_type)
            and (f.year_from is None or (doc.year or 0) >= f.year_from)
            and (f.year_to is None or (doc.year or 9999) <= f.year_to))


def attention(archive: Archive, params: SearchParams) -> dict:
    """Per report year: how many reports there are, how many mention the query, and the share."""
    parsed, chunks, _ = _matches(archive, replace(params, year=()))
    needles = highlight_needles(parsed)
    # Any-word retrieval finds 经济 for 低空经济: a report mentions the query when a passage holds it.
    mentioning = {c.doc_id for c in chunks if sentence_matches(c.text, needles)}
    filters = params.filters(parsed)
    reports: dict[int, set[str]] = defaultdict(set)
    for doc in archive.backend.list_documents():
        if doc.year is not None and _wanted(doc, filters):
            reports[doc.year].add(doc.doc_id)
    years = [{"year": y, "reports": len(ids), "mentioning": len(ids & mentioning),
              "share": round(len(ids & mentioning) / len(ids), 4)} for y, ids in sorted(reports.items())]
    return {"query": params.q, "years": years}
