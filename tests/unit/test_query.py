import pytest

from search_app.query import highlight_needles, parse_query


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
