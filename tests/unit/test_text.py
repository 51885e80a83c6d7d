import pytest

from archive.text import fold, fold_with_offsets, normalise, tokenize


@pytest.mark.parametrize("raw, expected", [
    ("办结率99. 77%", "办结率99.77%"),
    ("１２３件", "123件"),
    ("（一）坚持", "(一)坚持"),
    ("1 234 人", "1234 人"),
    ("a\u00a0b\u3000c", "a b c"),
    ("2021年 12月", "2021年 12月"),  # a space after 年 is not inside a number
    ("6.5%-7%", "6.5%-7%"),
])
def test_normalise(raw, expected):
    assert normalise(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("行政復議", "行政复议"),
    ("ＡＢＣ１２３", "abc123"),
    ("辦案數", "办案数"),
    ("法治政府", "法治政府"),
])
def test_fold(raw, expected):
    assert fold(raw) == expected


def test_fold_offsets_point_back_to_source_characters():
    text = "㈠行政復議"
    folded, offsets = fold_with_offsets(text)
    assert len(offsets) == len(folded)
    assert folded.endswith("行政复议")
    assert text[offsets[folded.index("复")]] == "復"


@pytest.mark.parametrize("text, must_have", [
    ("全年办理行政复议案件406件", {"行政复议", "406"}),
    ("推进12345热线建设", {"12345热线"}),
    ("落实双随机一公开监管", {"双随机一公开"}),
    ("行政復議", {"行政复议"}),
    ("深化放管服改革", {"放管服"}),
    ("办结率99. 77%", {"99.77%"}),
])
def test_tokenize_keeps_domain_terms(text, must_have):
    assert must_have <= set(tokenize(text))


def test_tokenize_drops_punctuation_and_stopwords():
    tokens = tokenize("的，。！和 与")
    assert tokens == []
