"""Properties that hold for every input: the query parser, chunker, snippets, text folding, figures.

Hypothesis generates the inputs: Chinese report text with its punctuation and heading markers,
full-width characters, arbitrary (surrogate-free) unicode, and a few huge inputs.
"""

from __future__ import annotations

import re
from html import unescape

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from archive.text import fold, fold_with_offsets, normalise
from indexer.chunking import _TOKEN_CHARS, chunk_text
from search_app.query import highlight_needles, parse_query
from search_app.snippets import ELLIPSIS, highlight, snippet

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- strategies -------------------------------------------------------------------------------

HANZI = "法治政府建设年度报告行政复议办案数执法监督热线规范性文件审查乡镇街道数字化改革全市县区"
TRADITIONAL = "復議執法規範縣區數據與會議"
PUNCT = "。，、；：！？“”‘’（）《》【】…—·,.;:!?()[]\"'%％‰-－~～/"
FULLWIDTH = "０１２３４５６７８９ＡＢＣａｂｃ　＂＜＞＆（）．"
HOSTILE = "<>&\"'`=\\\u200e\u200f\u202e\u2066\x00\x0b\x0c\u2028\u2029\ufeff\xa0\u3000\t"
FRAGMENTS = [
    "一、", "二、总体情况", "（一）", "(三)", "十一)", ")", "1.", "2、", "（1）", "一是", "第一，", "第二部分 ",
    "2021年", "99.77%", "17.92万件", "1,234", "6.5%-7%", "2021—2025", "12345热线", "152件", "行政复议",
    '"', "“", "”", "-", "year:", "year:2019..2023", "region:", "type:年度报告", "..", ":", "\n", "\n\n", " ",
    "<mark>", "</mark>", "<script>alert(1)</script>", "&amp;", "&lt;", "ﬁ", "㍿", "Ⅻ", "①",
]

chars = st.sampled_from(HANZI + TRADITIONAL + PUNCT + FULLWIDTH + HOSTILE + "0123456789abcXYZ \n")
# Any unicode but surrogates (hypothesis's default for text() already excludes category Cs).
any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=300)
report_text = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(chars, max_size=40)), max_size=60).map("".join)
texts = st.one_of(report_text, any_text, st.text(chars, max_size=400))

# Inputs far bigger than a passage: long lines, long unpunctuated runs, many lines.
HUGE = [
    "行政复议" * 50_000,
    "1" * 20_000 + "件",
    ("一、总体情况\n" + "全年收到行政复议申请152件，受理138件。" * 40 + "\n") * 200,
    "a" * 3000 + " " + "b" * 3000,
    "\n".join(f"{i}.{HANZI}" for i in range(5000)),
    "　" * 10_000 + "末",
]


# -- query parser -----------------------------------------------------------------------------


@FAST
@given(texts)
@example('"unclosed phrase')
@example('year:2021..2019 year:..2020 year:2019.. year:abc region: type: -')
@example("\u3000行政\u00a0复议\u2028办案\x0b数")
@example("x" * 500)  # the API's longest query (params.MAX_QUERY_CHARS)
@example("行政复议" * 125)
def test_parse_query_never_raises_and_terms_have_no_whitespace(raw):
    parsed = parse_query(raw)
    for term in parsed.terms:
        assert term and not re.search(r"\s", term), term
    for value in (*parsed.regions, *parsed.doc_types):
        assert value and not re.search(r"\s", value)
    for year in (*parsed.years, parsed.year_from, parsed.year_to):
        assert year is None or 1000 <= year <= 9999
    assert parsed.text == parsed.text.strip()
    highlight_needles(parsed)  # never raises either


# -- chunker ----------------------------------------------------------------------------------


def assert_passages_cover(body: str, max_chars: int) -> None:
    passages = chunk_text(body, max_chars=max_chars)
    pos = 0
    for p in passages:
        assert p.text and body[p.start : p.start + len(p.text)] == p.text
        assert p.start >= pos, "passages overlap or are out of order"
        assert body[pos : p.start].strip() == "", "non-whitespace text was left out"
        pos = p.start + len(p.text)
        if len(p.text) > max_chars:
            # Only a run that cannot be cut may be longer: no space and only number, code or
            # Latin characters in its first max_chars characters (see chunking._cuttable).
            head = p.text[: max_chars + 1]
            assert all(c in _TOKEN_CHARS for c in head[:max_chars]), head
            assert not any(c.isspace() for c in head), head
    assert body[pos:].strip() == ""


@FAST
@given(texts, st.integers(min_value=1, max_value=600))
@example("", 500)
@example("   \n\n\t", 500)
@example("一、\n（一）\n1.\n", 1)
@example("12345678901234567890 1234", 5)
def test_chunker_slices_the_body_exactly(body, max_chars):
    assert_passages_cover(body, max_chars)


@pytest.mark.parametrize("body", HUGE, ids=range(len(HUGE)))
def test_chunker_on_huge_inputs(body):
    assert_passages_cover(body, 500)


# -- snippets and highlighting ----------------------------------------------------------------

_MARK = re.compile(r"</?mark>")
_ENTITY = re.compile(r"&(?:amp|lt|gt|quot|#x27);")


def assert_escaped_html(html: str) -> str:
    """Marks balanced and not nested, nothing else tag-like, every & an entity; returns the text."""
    depth = 0
    for m in _MARK.finditer(html):
        depth += 1 if m.group() == "<mark>" else -1
        assert depth in (0, 1), html
    assert depth == 0, html
    bare = _MARK.sub("", html)
    assert "<" not in bare and ">" not in bare and '"' not in bare and "'" not in bare
    assert "&" not in _ENTITY.sub("", bare)
    return unescape(bare)


needles_for = st.one_of(
    texts.map(lambda q: highlight_needles(parse_query(q))),
    st.lists(st.one_of(st.text(chars, min_size=1, max_size=6), any_text.map(lambda t: t[:5])), max_size=6),
)


@st.composite
def text_and_needles(draw):
    text = draw(texts)
    needles = draw(needles_for)
    if text and draw(st.booleans()):  # needles taken from the text itself, so there are matches
        i = draw(st.integers(0, len(text) - 1))
        needles = [*needles, fold(text[i : i + draw(st.integers(1, 8))])]
    return text, needles


@FAST
@given(text_and_needles())
@example(("<script>alert(1)</script>", ["script", "alert"]))
@example(('"><img src=x onerror=alert(1)>', ["img", "onerror"]))
@example(("ﬁnance ﬁ", ["fi", "f"]))
@example(("行政復議行政复议", ["行政复议", "复议", "行政"]))
def test_highlight_is_escaped_and_gives_back_the_text(case):
    text, needles = case
    assert assert_escaped_html(highlight(text, needles)) == text


@FAST
@given(text_and_needles(), texts, st.integers(min_value=1, max_value=400))
@example(("甲" * 300 + "<b>复议</b>" + "乙" * 300, ["复议"]), "复议", 160)
@example(("。" * 500, []), "。", 160)
def test_snippet_is_escaped_and_a_window_of_the_text(case, query, width):
    text, needles = case
    window = assert_escaped_html(snippet(text, needles, query, width=width))
    candidates = [window]
    if window.startswith(ELLIPSIS):
        candidates.append(window[1:])
    if window.endswith(ELLIPSIS):
        candidates += [c[:-1] for c in list(candidates)]
    assert any(c in text for c in candidates), window
    if len(text) <= width:
        assert window == text


# Thousands of separate matches make the window search quadratic (snippets._best_window), so
# the many-matches input is kept to passage-like sizes; real passages are at most ARCHIVE_CHUNK_CHARS.
@pytest.mark.parametrize("text", [*HUGE[:2], "全年收到行政复议申请152件，受理138件。" * 40], ids=range(3))
def test_snippet_on_huge_inputs(text):
    needles = highlight_needles(parse_query("行政复议 152件"))
    window = assert_escaped_html(snippet(text, needles, "行政复议"))
    assert window.strip(ELLIPSIS) in text


# -- normalise and fold -----------------------------------------------------------------------


@FAST
@given(texts)
@example("ﬁ㍿Ⅻ①\u00a0\u3000\ufeff１２３")
@example("99. 77% 1 234")
def test_normalise_and_fold_never_raise_and_offsets_point_back(text):
    normalise(text)
    folded, offsets = fold_with_offsets(text)
    assert folded == fold(text)
    assert len(offsets) == len(folded)
    assert all(0 <= i < len(text) for i in offsets)
    assert all(a <= b for a, b in zip(offsets, offsets[1:]))


# -- figures --------------------------------------------------------------------------------


FIGURE_TEXT = ["全年收到行政复议申请152件，受理138件，办结率99.77%。", "12345热线受理17.92万件，同比增长6.5%。",
               "培训１２００人次", "投入资金1,234.5万元", "2021年", "二〇二一年", "下降3个百分点", "共计-5件"]
figure_text = st.lists(st.one_of(st.sampled_from(FIGURE_TEXT), st.sampled_from(FRAGMENTS), st.text(chars, max_size=20)),
                       max_size=30).map("".join)


@SLOW
@given(st.one_of(figure_text, any_text))
@example("")
@example("数字" * 5000 + "152件")
def test_figures_never_raise_and_point_into_their_passage(passage):
    from indexer.figures import extract_figures

    for figure in extract_figures(passage):
        start, text = _figure_span(figure)
        assert passage[start : start + len(text)] == text, (figure, passage)


def _figure_span(figure) -> tuple[int, str]:
    """(start, text) of a figure, whether it is a dataclass or a dict."""
    data = figure if isinstance(figure, dict) else figure.to_dict() if hasattr(figure, "to_dict") else vars(figure)
    return data["start"], data["text"]
