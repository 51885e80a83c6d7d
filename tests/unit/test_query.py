import pytest

from search_app.proximity import Proximity, satisfies, sentences
from search_app.query import expand_synonyms, highlight_needles, parse_query, query_terms


@pytest.mark.parametrize("raw, text, phrases, excluded", [
    ("行政复议 办案数", "行政复议 办案数", (), ()),
    ('"复议决定" 撤销', "撤销", ("复议决定",), ()),
    ("“复议决定”", "", ("复议决定",), ()),
    ("行政复议 -撤销", "行政复议", (), ("撤销",)),
    ('unbalanced "quote', "unbalanced quote", (), ()),
    ("", "", (), ()),
    ("a-b", "a-b", (), ()),  # a hyphen inside a word is not an exclusion
    ('"行政復議"', "", ("行政复议",), ()),
])
def test_text_phrases_exclusions(raw, text, phrases, excluded):
    p = parse_query(raw)
    assert (p.text, p.phrases, p.excluded) == (text, phrases, excluded)


@pytest.mark.parametrize("raw, years, year_from, year_to, regions, types, text", [
    ("year:2021 复议", (2021,), None, None, (), (), "复议"),
    ("year:2019..2023", (), 2019, 2023, (), (), ""),
    ("year:2019..", (), 2019, None, (), (), ""),
    ("year:..2020", (), None, 2020, (), (), ""),
    ("year:abc 复议", (), None, None, (), (), "year:abc 复议"),  # malformed: stays text
    ("region:太原市 type:年度报告 热线", (), None, None, ("太原市",), ("年度报告",), "热线"),
    ("year:２０２１", (2021,), None, None, (), (), ""),  # full-width digits
])
def test_field_filters(raw, years, year_from, year_to, regions, types, text):
    p = parse_query(raw)
    assert (p.years, p.year_from, p.year_to, p.regions, p.doc_types, p.text) == \
        (years, year_from, year_to, regions, types, text)


@pytest.mark.parametrize("raw", [
    '"""', "-", "--", "year:", ":", "NEAR(a b)", "a* ^b col:x", "<script>alert(1)</script>", "\x00\x01",
    "(" * 300, '"' * 499,
])
def test_hostile_queries_never_raise(raw):
    p = parse_query(raw)
    assert isinstance(p.text, str)


def test_needles_prefer_words_over_single_characters():
    needles = highlight_needles(parse_query("行政复议 办案数"))
    assert "行政复议" in needles and "办案数" in needles
    assert all(len(n) > 1 for n in needles)
    assert needles == sorted(needles, key=lambda n: (-len(n), n))


def test_needles_keep_single_character_queries():
    assert highlight_needles(parse_query("税")) == ["税"]


# --- OR, /s and /p, years, synonyms --------------------------------------------------------------

@pytest.mark.parametrize("raw, text, proximity", [
    ("行政复议 /s 案件", "行政复议 案件", (Proximity("s", ("行政复议", "案件")),)),
    ("行政复议 /p 纠错率", "行政复议 纠错率", (Proximity("p", ("行政复议", "纠错率")),)),
    ("行政复议 /S 案件", "行政复议 案件", (Proximity("s", ("行政复议", "案件")),)),  # either case
    ("a /s b /s c", "a b c", (Proximity("s", ("a", "b", "c")),)),  # a chain is one constraint
    ("a /s b /p c", "a b c", (Proximity("s", ("a", "b")), Proximity("p", ("b", "c")))),
    ("a /s b c /s d", "a b c d", (Proximity("s", ("a", "b")), Proximity("s", ("c", "d")))),
    ('"复议决定" /s 撤销', "撤销", (Proximity("s", ("复议决定", "撤销")),)),  # a phrase as operand
    ("行政復議 /s 案件", "行政復議 案件", (Proximity("s", ("行政复议", "案件")),)),  # operands are folded
    # malformed: an operator without a word on both sides is dropped, the words stay plain text
    ("/s 行政复议", "行政复议", ()),
    ("行政复议 /s", "行政复议", ()),
    ("/p", "", ()),
    ("a /s /p b", "a b", ()),
    ("-撤销 /s 案件", "案件", ()),
    ("a OR /s b", "a b", ()),
    ("行政复议/s案件", "行政复议/s案件", ()),  # glued: plain text
])
def test_proximity_operators(raw, text, proximity):
    p = parse_query(raw)
    assert (p.text, p.proximity) == (text, proximity)


@pytest.mark.parametrize("raw, text, terms", [
    ("复议 OR 诉讼", "复议 诉讼", ("复议", "诉讼")),
    ("复议 | 诉讼", "复议 诉讼", ("复议", "诉讼")),
    ("OR", "", ()),
    ("复议 OR", "复议", ("复议",)),
    ("复议 or 诉讼", "复议 or 诉讼", ("复议", "or", "诉讼")),  # only capital OR is the operator
    ("行政复议ORB", "行政复议ORB", None),  # inside a word it is text
])
def test_or_is_accepted_and_never_a_term(raw, text, terms):
    p = parse_query(raw)
    assert p.text == text
    if terms is not None:
        assert p.terms == terms


@pytest.mark.parametrize("text, terms", [
    ("2021年", ("2021",)),
    ("2021", ("2021",)),
    ("２０２１年", ("2021",)),  # full-width digits
    ("2021年度 普法", ("2021", "普法")),
    ("2021年 12345热线", ("2021", "热线", "12345热线", "12345")),
    ("全年 年度报告", None),  # 年 without a year before it stays
])
def test_years_with_or_without_nian_give_the_same_terms(text, terms):
    got = query_terms(text)
    if terms is None:
        assert "年度" in got or "年度报告" in got
    else:
        assert got == terms


TABLE = {"复议": ("行政复议",), "政务热线": ("12345热线", "12345政务服务便民热线"),
         "12345热线": ("政务热线",), "上访": ("信访",)}


@pytest.mark.parametrize("raw, added", [
    ("复议", ("行政复议",)),
    ("行政复议", ()),  # already searched
    ("复议 案件", ("行政复议",)),
    ("政务热线", ("12345热线", "12345政务服务便民热线")),
    ("12345热线", ("政务热线",)),
    ("群众上访", ("信访",)),  # inside a longer word of the query
    ("办结率", ()),
])
def test_synonym_expansion(raw, added):
    p = parse_query(raw)
    assert expand_synonyms(p.terms, raw, TABLE) == added


@pytest.mark.parametrize("raw, expansion", [
    ("复议", "行政复议"),
    ("政务热线", "12345热线"),
    ("上访", "信访"),
])
def test_the_shipped_synonym_table(raw, expansion):
    assert expansion in parse_query(raw).expansions


def test_synonyms_never_expand_phrases_and_are_highlighted():
    assert parse_query('"复议"').expansions == ()
    needles = highlight_needles(parse_query("复议"))
    assert "行政复议" in needles and "复议" in needles


def test_required_words_are_phrases_and_operands():
    p = parse_query('"复议决定" 行政复议 /s 案件 -撤销')
    assert p.required == ("复议决定", "行政复议", "案件")
    assert p.excluded == ("撤销",)


@pytest.mark.parametrize("folded, expected", [
    ("一是办理行政复议案件。二是应诉。", ["一是办理行政复议案件", "二是应诉"]),
    ("问?答!完…", ["问", "答", "完"]),
    ("第一行\n第二行", ["第一行", "第二行"]),
    ("", []),
])
def test_sentences(folded, expected):
    assert sentences(folded) == expected


S = Proximity("s", ("行政复议", "案件"))
P = Proximity("p", ("行政复议", "案件"))


@pytest.mark.parametrize("text, constraints, expected", [
    ("全年办理行政复议案件406件。", (S,), True),
    ("全年办理行政复议申请。受理案件406件。", (S,), False),
    ("全年办理行政复议申请。受理案件406件。", (P,), True),
    ("全年办理行政复议申请!受理案件406件", (S,), False),  # folded ！ ends a sentence too
    ("只有行政复议。", (P,), False),
    ("行政复议案件。", (S, P), True),
    ("任何文字", (), True),
    ("行政复议;案件", (S,), True),  # a semicolon does not end a sentence
])
def test_satisfies(text, constraints, expected):
    assert satisfies(text, constraints) is expected


@pytest.mark.parametrize("raw", [
    "/s", "/p /s", "a /s", "OR OR", "| |", '" /s "', "\ue000 /s \ue001", "\ue0000\ue001 /s x",
    "-/s", "year:2021 /s region:太原市", "“ /p ”", "/s" * 200,
])
def test_malformed_operators_never_raise(raw):
    p = parse_query(raw)
    assert isinstance(p.text, str) and all(c.words for c in p.proximity)
