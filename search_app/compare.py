"""Across years and regions: the region x year grid (figure tables: search_app/figures.py; similar passages:
search_app/similar.py).

Each function takes the archive and search parameters and returns the JSON shape
the API serves; the pages render the same dicts.
"""

from __future__ import annotations

import re
from dataclasses import replace

from archive.errors import BadRequest
from archive.models import Chunk, Document
from archive.services import Archive
from archive.text import fold
from search_app.params import SearchParams
from search_app.query import ParsedQuery, highlight_needles
from search_app.search import result_set
from search_app.service import passage_url
from search_app.snippets import snippet

# How many matching passages feed a figures table or a grid: every match in an archive of
# a few hundred reports, the best ones in a bigger one.
MATCH_DEPTH = 2000
_ALNUM = re.compile(r"[0-9a-z]+")


def _matches(archive: Archive, params: SearchParams) -> tuple[ParsedQuery, list[Chunk], dict[str, Document]]:
    """Passages matching the query's words (BM25 order) with their documents: the keyword search's
    result set (synonyms, phrases, /s and /p as the search applies them), its first MATCH_DEPTH."""
    if not params.q:
        raise BadRequest("请输入检索词（q 参数）")
    result = result_set(archive, replace(params, mode="keyword", sort="relevance"))
    parsed = result.plan.parsed
    wanted = result.ids[:MATCH_DEPTH]
    chunks = archive.backend.get_chunks_by_id(wanted)
    ordered = [chunks[i] for i in wanted if i in chunks]
    docs = archive.backend.get_documents({c.doc_id for c in ordered})
    return parsed, ordered, docs


def sentence_matches(sentence: str, needles: list[str]) -> bool:
    """True if the sentence holds one of the query's words, or every part of one of them.

    "2023年办理复议案件406件" after "加强行政复议…" holds 行政复议; "12345政务服务便民热线…受理"
    holds both parts of 12345热线 though not the word itself.
    """
    folded = fold(sentence)
    words = [n for n in needles if not any(n != other and n in other for other in needles)]
    for word in words:
        # A word's parts: the query's shorter tokens inside it, and its runs of digits or letters
        # (jieba keeps 12345热线 whole, but a report writes 12345政务服务便民热线).
        parts = {n for n in needles if n != word and n in word} | set(_ALNUM.findall(word)) - {word}
        if word in folded or (len(parts) >= 2 and all(p in folded for p in parts)):
            return True
    return False


ROLLUPS = ("region", "province", "city")


def parse_rollup(raw: str | None) -> str:
    """The grid's rows: one per region (default), or per province / city its reports fall under."""
    value = (raw or "region").strip() or "region"
    if value not in ROLLUPS:
        raise BadRequest(f"参数 rollup 必须是 {' / '.join(ROLLUPS)} 之一（收到 {value[:20]!r}）")
    return value


def _row_of(doc: Document, rollup: str) -> str | None:
    """A report's grid row: its region, or the province / city it falls under (else its own region)."""
    above = {"province": doc.in_province, "city": doc.in_city}.get(rollup)
    return above or doc.region


def grid(archive: Archive, params: SearchParams, rollup: str = "region") -> dict:
    """Region x year: the best passage per cell, or why there is none (no report / not mentioned).

    With `rollup` province or city, a row holds every report under that government: its cell's
    passage is the best of them all."""
    parsed, chunks, docs = _matches(archive, params)
    filters = params.filters(parsed)
    reports = [d for d in archive.backend.list_documents()
               if d.region and d.year and filters.matches(d)]
    have = {(_row_of(d, rollup), d.year) for d in reports}
    best: dict[tuple[str, int], Chunk] = {}
    for chunk in chunks:  # BM25 order: the first passage of a cell is its best
        doc = docs.get(chunk.doc_id)
        if doc and doc.region and doc.year:
            best.setdefault((_row_of(doc, rollup), doc.year), chunk)
    regions = sorted({r for r, _ in have})
    years = sorted({y for _, y in have})
    needles = highlight_needles(parsed)
    cells = [_cell(region, year, best.get((region, year)), docs, have, needles, params.q)
             for region in regions for year in years]
    return {"query": params.q, "rollup": rollup, "regions": regions, "years": years, "cells": cells}


def _cell(region, year, chunk, docs, have, needles, q) -> dict:
    cell = {"region": region, "year": year, "state": "no_report", "hit": None}
    if chunk is not None:
        doc = docs[chunk.doc_id]
        cell["state"] = "match"
        cell["hit"] = {"chunk_id": chunk.chunk_id, "doc_id": doc.doc_id, "title": doc.title, "region": doc.region,
                       "section": chunk.section, "snippet": snippet(chunk.text, needles, q, width=100),
                       "url": passage_url(doc.doc_id, chunk.anchor, q)}
    elif (region, year) in have:
        cell["state"] = "no_mention"
    return cell
