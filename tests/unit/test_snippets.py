import re
from html import unescape

import pytest

from search_app.query import highlight_needles, parse_query
from search_app.snippets import find_spans, highlight, snippet


@pytest.mark.parametrize("text, needles, marked", [
    ("全年办理行政复议案件406件", ["行政复议"], ["行政复议"]),
    ("全年辦理行政復議案件", ["行政复议"], ["行政復議"]),  # traditional text, simplified query
    ("ＡＢＣ与abc", ["abc"], ["ＡＢＣ", "abc"]),
    ("行政复议 复议决定", ["行政", "复议", "议决"], ["行政复议", "复议决"]),  # overlapping and adjacent spans merge
    ("没有匹配", ["行政复议"], []),
])
def test_highlight_marks(text, needles, marked):
    html = highlight(text, needles)
    assert re.findall(r"<mark>(.*?)</mark>", html) == marked
    assert unescape(re.sub(r"</?mark>", "", html)) == text


@pytest.mark.parametrize("text", [
    "<script>alert(1)</script>行政复议",
    '"><img src=x onerror=alert(1)>行政复议',
    "a & b < c 行政复议",
])
def test_everything_is_escaped(text):
    html = snippet(text, ["行政复议"])
    assert "<script" not in html and "<img" not in html
    assert re.sub(r"</?mark>", "", html).count("<") == 0
    assert "<mark>行政复议</mark>" in html


def test_long_passage_window_contains_the_matches():
    text = "开头。" + "无关内容" * 60 + "全年办理行政复议案件406件，办案数增长。" + "其他" * 60
    html = snippet(text, ["行政复议", "办案数"], width=120)
    assert "<mark>行政复议</mark>" in html and "<mark>办案数</mark>" in html
    assert html.startswith("…") and html.endswith("…")
    assert len(unescape(re.sub(r"</?mark>|…", "", html))) <= 120


def test_semantic_only_hit_gets_the_closest_sentence():
    text = "第一句讲别的事情。" * 30 + "这里讲复议案件的办理。" + "再讲别的。" * 30
    html = snippet(text, [], query="复议案件办理", width=60)
    assert "复议案件的办理" in html
    assert "<mark>" not in html


def test_spans_map_to_original_offsets():
    assert find_spans("１２３件行政復議", ["行政复议"]) == [(4, 8)]


def test_window_never_cuts_a_match():
    text = "甲" * 200 + "行政复议" + "乙" * 200
    for width in range(100, 130):
        html = snippet(text, ["行政复议", "甲乙"], width=width)
        assert "<mark>" not in html or "<mark>行政复议</mark>" in html or "<mark>甲乙</mark>" in html
        assert html.count("<mark>") == html.count("</mark>")
        assert re.search(r"<mark>行政?复?议?</mark>", html) is None or "<mark>行政复议</mark>" in html


@pytest.mark.parametrize("q, text, marked", [
    # the typed word, never the fragments jieba's search mode makes of it
    ("行政复议", "办理行政复议案件，坚持依法行政，加强行政执法", ["行政复议"]),
    ("行政复议", "加强行政执法和复议工作", []),
    # a synonym (复议 => 行政复议) and the typed word both marked, wherever each occurs
    ("复议", "办理复议案件406件，行政复议决定全部履行", ["复议", "行政复议"]),
    ("三门峡 复议案件", "全市办理复议案件四百余件", ["复议案件"]),  # jieba's words 复议/案件, adjacent: one mark
    ("行政复议 办案数", "行政复议办案数同比上升", ["行政复议办案数"]),
    ('"复议决定" 撤销', "作出复议决定12件，撤销3件", ["复议决定", "撤销"]),  # phrases as typed
    ("法治宣传 -普法", "开展法治宣传，组织普法讲座", ["法治宣传"]),  # an exclusion is not marked
    ("12345热线", "市民热线接听来电", ["市民热线"]),  # a multi-word synonym as the table writes it
    ("行政復議", "办理行政复议案件", ["行政复议"]),  # traditional characters as typed
    ("税", "依法纳税，税收征管", ["税", "税"]),  # a single character when nothing longer was typed
    ("四川省粮食产量是多少？", "全省粮食产量达到", ["粮食产量"]),  # question words are not marked
])
def test_what_was_searched_is_marked(q, text, marked):
    html = highlight(text, highlight_needles(parse_query(q)))
    assert re.findall(r"<mark>(.*?)</mark>", html) == marked
