"""The catalogue: every report with its metadata, passage count and source file; the region x year
coverage; and a staff member's correction of a report's metadata, which its passages follow.

Filters here are the search's (`Filters.matches`, the one rule), applied to the documents' records.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace

from werkzeug.datastructures import MultiDict

from archive.backends.base import IndexItem
from archive.embedders import embedding_text
from archive.errors import BadRequest, NotFound, Unprocessable
from archive.models import Document, Filters
from archive.services import Archive
from archive.text import document_tokens
from search_app import sources
from search_app.params import SearchParams, parse_params

SORTS = ("region", "year", "title", "indexed")
ORDERS = ("asc", "desc")
DEFAULT_SIZE = 50
# Catalogue-only parameters; the rest (filters, page, size) are the search's.
_OWN = ("sort", "order")


@dataclass(frozen=True)
class CatalogueParams:
    """Which reports to list and how: the search's filters and paging, a sort key and an order."""

    search: SearchParams
    sort: str = "region"
    order: str = "asc"

    def filters(self) -> Filters:
        return self.search.filters()


def _one(args: Mapping, name: str, options: tuple[str, ...]) -> str:
    value = (args.get(name) or options[0]).strip() or options[0]
    if value not in options:
        raise BadRequest(f"参数 {name} 必须是 {' / '.join(options)} 之一（收到 {value[:20]!r}）")
    return value


def parse_catalogue(args: Mapping) -> CatalogueParams:
    """Validate the catalogue's query string; BadRequest (400) names the first bad parameter."""
    pairs = args.items(multi=True) if isinstance(args, MultiDict) else args.items()
    rest = MultiDict([(k, v) for k, v in pairs if k not in _OWN])
    if "size" not in rest:
        rest["size"] = str(DEFAULT_SIZE)
    return CatalogueParams(parse_params(rest), _one(args, "sort", SORTS), _one(args, "order", ORDERS))


def _sort_key(sort: str, facts: dict[str, tuple[int, float]]):
    last = "\uffff"  # unknown values sort after every name
    keys = {
        "region": lambda d: (d.region_path or (last,), d.year or 0, d.doc_id),
        "year": lambda d: (d.year is None, d.year or 0, d.region_path, d.doc_id),
        "title": lambda d: (d.title, d.doc_id),
        "indexed": lambda d: (facts.get(d.doc_id, (0, 0.0))[1], d.doc_id),
    }
    return keys[sort]


def _row(doc: Document, facts: dict[str, tuple[int, float]]) -> dict:
    passages, written = facts.get(doc.doc_id, (0, 0.0))
    return {**doc.to_dict(), "region_path": list(doc.region_path), "passages": passages,
            "indexed_at": dt.datetime.fromtimestamp(written, dt.UTC).isoformat(timespec="seconds"),
            "url": f"/doc/{doc.doc_id}", "api_url": f"/api/v1/documents/{doc.doc_id}"}


def _selected(archive: Archive, filters: Filters) -> list[Document]:
    return [d for d in archive.backend.list_documents() if filters.matches(d)]


def documents(archive: Archive, cp: CatalogueParams) -> dict:
    """One page of the reports under the filters, sorted, each with its passage count and source file."""
    facts = archive.backend.document_facts()
    docs = sorted(_selected(archive, cp.filters()), key=_sort_key(cp.sort, facts), reverse=cp.order == "desc")
    size, page = cp.search.size, cp.search.page
    return {"total": len(docs), "page": page, "size": size, "sort": cp.sort, "order": cp.order,
            "documents": [{**_row(d, facts), **sources.links(archive, d)}
                          for d in docs[(page - 1) * size: page * size]]}


def coverage(archive: Archive, cp: CatalogueParams) -> dict:
    """Region x year: which reports the archive holds for each region and year, and which years are missing."""
    filters = cp.filters()
    docs = _selected(archive, filters)
    placed = [d for d in docs if d.region and d.year]
    held = [d.year for d in placed]
    low = filters.year_from if filters.year_from is not None else min(held, default=None)
    high = filters.year_to if filters.year_to is not None else max(held, default=None)
    if filters.year:  # chosen years only: the others cannot hold a report under these filters
        years = sorted(filters.year)
    else:
        years = list(range(low, high + 1)) if low is not None and high is not None and low <= high else []
    by_region: dict[str, list[Document]] = {}
    for doc in placed:
        by_region.setdefault(doc.region, []).append(doc)
    rows = [_coverage_row(group, years) for group in by_region.values()]
    rows.sort(key=lambda r: (r["region_path"], r["region"]))
    return {"years": years, "rows": rows, "missing_total": sum(len(r["missing"]) for r in rows),
            "unplaced": [{"doc_id": d.doc_id, "title": d.title, "region": d.region, "year": d.year,
                          "url": f"/doc/{d.doc_id}"} for d in docs if not (d.region and d.year)]}


def _coverage_row(group: list[Document], years: list[int]) -> dict:
    first = group[0]
    cells = [{"year": year, "reports": [{"doc_id": d.doc_id, "title": d.title, "doc_type": d.doc_type,
                                          "url": f"/doc/{d.doc_id}"}
                                         for d in sorted(group, key=lambda d: d.doc_id) if d.year == year]}
             for year in years]
    return {"region": first.region, "region_level": first.region_level, "province": first.province,
            "city": first.city, "region_path": list(first.region_path),
            "held": sum(1 for c in cells if c["reports"]), "missing": [c["year"] for c in cells if not c["reports"]],
            "cells": cells}


def correct(archive: Archive, doc_id: str, body) -> dict:
    """Change a report's metadata; its passages are written again with it (same text and vectors).
    Returns the report's catalogue row."""
    import indexer

    FIELDS, SIDECAR_FIELDS = indexer.metadata_fields()  # noqa: N806 (the indexer's constants, by their names)
    if not isinstance(body, dict) or not body:
        raise BadRequest('请求体必须是非空的 JSON 对象，如 {"region": "安康市", "year": 2023}')
    unknown = sorted(set(body) - set(SIDECAR_FIELDS))
    if unknown:
        raise BadRequest(f"不能修改的字段：{'、'.join(unknown)[:200]}；可修改：{'、'.join(SIDECAR_FIELDS)}")
    try:
        values = indexer.checked_metadata(body)
    except ValueError as exc:
        raise Unprocessable(str(exc)) from None
    if "title" in values and not values["title"]:
        raise Unprocessable("title 不能为空")
    doc = archive.backend.get_document(doc_id)
    if doc is None:
        raise NotFound(f"没有编号为 {doc_id[:80]} 的报告")
    if values.get("region", doc.region) != doc.region:
        # The old region's level and parents would file the report under the wrong province: a
        # new region without them leaves them empty (an absent parent misleads no filter).
        for name in ("region_level", "province", "city"):
            values.setdefault(name, None)
    # Fields left alone stay as found; a field given a value is no longer missing; one cleared is.
    missing = [f for f in doc.missing if f not in values] + [f for f in FIELDS if f in values and values[f] is None]
    changed = replace(doc, **values, missing=tuple(missing))
    chunks = archive.backend.get_chunks(doc_id)
    # The embedding cache holds every passage's vector since ingest: nothing is embedded again.
    vectors = archive.embedder.embed_passages([embedding_text(c) for c in chunks])
    archive.backend.index_documents([IndexItem(changed, chunks, vectors, document_tokens(changed.title, chunks))])
    return _row(changed, {doc_id: (len(chunks), dt.datetime.now(dt.UTC).timestamp())})
