"""Attention over time: for a query, the share of the archive's reports of each year that mention it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

from archive.services import Archive
from archive.text import fold, synonyms
from search_app.compare import _matches
from search_app.params import SearchParams
from search_app.query import query_terms


def holds(folded: str, part: str) -> bool:
    """True when a folded passage holds one typed word: as written, as a synonym, or all its tokens.

    Stricter than the retrieval's any-word match: 低空经济 is not mentioned by a passage on 经济.
    """
    part = fold(part)
    tokens = [t for t in query_terms(part) if t != part]
    return (part in folded or any(fold(s) in folded for s in synonyms().get(part, ()))
            or bool(tokens) and all(t in folded for t in tokens))


def attention(archive: Archive, params: SearchParams) -> dict:
    """Per report year: how many reports there are, how many mention the query, and the share."""
    parsed, chunks, _ = _matches(archive, replace(params, year=()))
    parts = parsed.text.split() + list(parsed.phrases)
    # A report mentions the query when one of its passages holds every word typed.
    mentioning: set[str] = set()
    for chunk in chunks:
        if chunk.doc_id not in mentioning and parts:  # one passage is enough: skip the report's others
            folded = fold(chunk.text)
            if all(holds(folded, p) for p in parts):
                mentioning.add(chunk.doc_id)
    filters = replace(params.filters(parsed), year=())  # the years are what is counted; from/to bound them
    reports: dict[int, set[str]] = defaultdict(set)
    for doc in archive.backend.list_documents():
        if doc.year is not None and filters.matches(doc):
            reports[doc.year].add(doc.doc_id)
    years = [{"year": y, "reports": len(ids), "mentioning": len(ids & mentioning),
              "share": round(len(ids & mentioning) / len(ids), 4)} for y, ids in sorted(reports.items())]
    return {"query": params.q, "years": years}
