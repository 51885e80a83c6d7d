"""The search page says what its result set is: nothing found (with suggestions that lead somewhere),
or only passages similar in meaning. Over the seed reports, through the real app."""

from __future__ import annotations

import pytest

from tests.app.test_pages import api_search, args_of, get_page

EMPTY = "没有找到与“{q}”相关的结果"


@pytest.mark.parametrize("mode", ["hybrid", "keyword", "semantic"])
def test_a_topic_the_archive_never_mentions_gets_the_empty_page(client, mode):
    page = get_page(client, "/search", q="量子计算机", mode=mode)
    assert EMPTY.format(q="量子计算机") in page.html and '<li class="hit">' not in page.html
    assert "换一种写法" in page.html
    # Every mode finds nothing, so none is suggested (the old page sent keyword users to hybrid's junk).
    assert "可找到" not in page.html


def test_keyword_mode_suggests_only_modes_that_find_something(client):
    q = "老百姓"  # no passage holds the word; some are close in meaning
    page = get_page(client, "/search", q=q, mode="keyword")
    assert EMPTY.format(q=q) in page.html
    for label, mode in (("混合模式", "hybrid"), ("语义模式", "semantic")):
        link = page.link(label)
        assert args_of(link["href"]).get("mode", "hybrid") == mode and args_of(link["href"])["q"] == q
        total = api_search(client, q=q, mode=mode)["total"]
        assert total > 0 and f"{label}</a>可找到 {total} 条结果" in page.html


def test_fewer_words_and_wider_years_are_offered_when_they_apply(client):
    page = get_page(client, "/search", q="量子计算机 火星探测器", year_from=2020)
    assert args_of(page.link("“量子计算机”")["href"])["q"] == "量子计算机"
    wider = args_of(page.link("不限年份再试")["href"])
    assert "year_from" not in wider and wider["q"] == "量子计算机 火星探测器"
    single = get_page(client, "/search", q="量子计算机")
    assert "减少检索词" not in single.html and "放宽年份范围" not in single.html


def test_only_semantic_neighbours_are_labelled(client):
    body = api_search(client, q="老百姓")
    assert body["total"] > 0 and body["result_set"]["semantic_only"]
    assert all(h["matched"] == ["semantic"] for h in body["hits"])
    page = get_page(client, "/search", q="老百姓")
    assert "仅语义近似" in page.html
    assert "仅语义近似" not in get_page(client, "/search", q="行政复议").html
    assert "仅语义近似" not in get_page(client, "/search", q="老百姓", mode="semantic").html  # asked for meaning
