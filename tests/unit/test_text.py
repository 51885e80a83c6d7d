import functools

import pytest

from archive.text import (
    SYNONYMS,
    USER_DICT,
    char_mapping,
    fold,
    fold_with_offsets,
    nfkc,
    normalise,
    parse_synonyms,
    parse_userdict,
    synonyms,
    tokenize,
)


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
    ("办结率９９．７７％，共１２３件。", "办结率99.77%,共123件。"),  # full width: the table's case
    ("①项Ⅻ条㎡", "1项XII条m2"),
    ("ｅ\u0301", "é"),  # a full-width letter made ASCII still composes with the accent after it
    ("e\u0301", "é"),  # no table character at all: NFKC itself
    ("\u1100\u1161", "가"),  # conjoining jamo compose
    ("가나다", "가나다"),  # Hangul syllables stay whole (NFKC keeps them, NFKD would not)
    ("ｶﾞ", "ガ"),  # half-width katakana and its voicing mark compose
    ("行政復議（一）", "行政復議(一)"),
    ("", ""),
])
def test_nfkc(raw, expected):
    assert nfkc(raw) == expected


@pytest.mark.parametrize("table", [
    {ord("，"): ",", ord("（"): "(", ord("）"): ")", ord("㎡"): "m2"},
    {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: 0x20},
    {ord("]"): "[", ord("\\"): "/", ord("-"): None, ord("^"): "v", ord("."): "。", 0x1F600: "smile"},
])
@pytest.mark.parametrize("text", [
    "", "行政复议（一）共１２３件，占９９. ７７％", "a]b\\c-d^e.f\U0001F600g", "无表内字符", "，，，",
    "𠀀\U0001F600𠀁",  # beyond the BMP: one in the third table, two in none
])
def test_char_mapping_is_str_translate(table, text):
    assert char_mapping(table)(text) == text.translate(table)


def _bmp_beside(neighbours: str, *more):
    """Every BMP character alone, beside one of `neighbours` (in turn) on either side, doubled, and in `more`'s
    (prefix, suffix) pairs."""
    for cp in range(0x20, 0x10000):
        if 0xD800 <= cp < 0xE000:
            continue
        c, n = chr(cp), neighbours[cp % len(neighbours)]
        yield from (c, c + n, n + c, c + c, *(prefix + c + suffix for prefix, suffix in more))


def test_nfkc_is_unicodedata_nfkc_for_every_bmp_character_and_its_neighbours():
    import unicodedata

    for s in _bmp_beside("\u0301\u0308\u3099\u309a\u0327\u1161\u11a8\uff9e", ("a", "\u0301")):
        assert nfkc(s) == unicodedata.normalize("NFKC", s), ascii(s)


@pytest.mark.parametrize("raw, expected", [
    ("行政復議", "行政复议"),
    ("ＡＢＣ１２３", "abc123"),
    ("辦案數", "办案数"),
    ("法治政府", "法治政府"),
])
def test_fold(raw, expected):
    assert fold(raw) == expected


def test_fold_is_fold_char_for_every_character(seeds_dir, demo_dir):
    """`fold` maps only the characters it found `fold_char` changing: it must agree with `fold_char` character by
    character over the whole BMP, beyond it (compatibility ideographs, mathematical letters, emoji, rare
    characters), and on whole reports."""
    import re

    from archive.text import fold_char

    astral = [0x1D400, 0x1D7CE, 0x1F600, 0x1F1E6, 0x20000, 0x2A6D6, 0x2F800, 0x2F8A6, 0x2FA1D, 0xE0041, 0x10FFFD]
    for cp in [*range(0xD800), *range(0xE000, 0x10000), *astral]:
        assert fold(chr(cp)) == fold_char(chr(cp)), hex(cp)
    bmp = "".join(map(chr, range(0x20, 0xD800)))
    assert fold(bmp) == "".join(map(fold_char, bmp))
    from indexer.reading import read_document

    texts = [read_document(p).text for p in [*sorted(seeds_dir.glob("*.txt")), *sorted(demo_dir.rglob("*.txt"))]]
    assert len(texts) >= 5
    for text in texts + ["行政復議\U0002F800ＡＢＣ\u3000𠀀" * 3]:
        assert fold(text) == "".join(map(fold_char, text))
        assert re.search(r"[A-Z\uff01-\uff5e]", fold(text)) is None


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


def test_the_remembered_terms_stay_bounded_and_tokens_stay_the_same(monkeypatch):
    """Words remembered with their tokens are forgotten all at once when there are too many (a text made of ever
    new words cannot grow the memory): tokens are the same remembered or not."""
    from archive import text

    words = [f"第{i}号文件行政复议决定书" for i in range(300)]
    fresh = [tokenize(w) for w in words]
    monkeypatch.setattr(text, "_REMEMBERED", 50)
    monkeypatch.setattr(text, "_terms_of", text._Remembered())
    sizes = []
    for word, expected in zip(words, fresh, strict=True):
        assert tokenize(word) == expected
        sizes.append(len(text._terms_of))
    assert max(sizes) <= 50 and min(sizes[100:]) < max(sizes)  # filled, emptied, filled again


# --- the dictionary and synonym files ------------------------------------------------------------

@pytest.mark.parametrize("lines, expected", [
    (["复议 => 行政复议"], {"复议": ("行政复议",)}),
    (["政务热线, 12345热线, 便民热线"], {"政务热线": ("12345热线", "便民热线"), "12345热线": ("政务热线", "便民热线"),
                                     "便民热线": ("政务热线", "12345热线")}),
    (["上访、来访 => 信访，信访事项"], {"上访": ("信访", "信访事项"), "来访": ("信访", "信访事项")}),
    (["复议 => 行政复议", "复议 => 行政复议决定"], {"复议": ("行政复议", "行政复议决定")}),  # rules add up
    (["# 注释", "", "  复议 => 行政复议  # 行尾注释"], {"复议": ("行政复议",)}),
    (["行政復議 => 复议决定"], {"行政复议": ("复议决定",)}),  # folded like everything else
    (["ＡＢＣ => abc"], {}),  # folds to itself: nothing to add
    (["=> 行政复议", "复议 =>", "=>", "孤词", ",,,"], {}),  # malformed lines are skipped
    (["a => b => c"], {"a": ("b => c",)}),  # only the first arrow splits
])
def test_parse_synonyms(lines, expected):
    assert parse_synonyms(lines) == expected


@pytest.mark.parametrize("lines, expected", [
    (["行政复议 20000 n"], [("行政复议", 20000, "n")]),
    (["双随机一公开"], [("双随机一公开", None, None)]),
    (["放管服 8000"], [("放管服", 8000, None)]),
    (["清理 v"], [("清理", None, "v")]),
    (["# 注释", "", "   "], []),
    (["行政復議 5"], [("行政复议", 5, None)]),
])
def test_parse_userdict(lines, expected):
    assert parse_userdict(lines) == expected


def test_shipped_dictionary_and_synonyms_are_substantial_and_clean():
    entries = parse_userdict(USER_DICT.read_text(encoding="utf-8").splitlines())
    words = [w for w, _, _ in entries]
    assert len(words) >= 300 and len(set(words)) == len(words)
    table = synonyms()
    assert len(table) >= 100
    assert "行政复议" in table["复议"] and "12345热线" in table["政务热线"]
    assert SYNONYMS.read_text(encoding="utf-8").startswith("#")  # the format is documented at the top


@pytest.mark.parametrize("text, must_have", [
    ("法治政府建设", {"法治政府建设", "法治政府"}),  # 4+ character words inside a long word
    ("12345政务服务便民热线", {"政务服务", "便民热线", "12345"}),
    ("推进12345热线建设", {"12345热线", "12345"}),
    ("办结率99.77%", {"99.77%", "99.77"}),
    ("2021年", {"2021"}),
    ("２０２１年", {"2021"}),
    ("行政复议法", {"行政复议法", "行政复议"}),
    ("互联网+监管", {"互联网+监管"}),
])
def test_tokenize_yields_inner_words_and_numbers(text, must_have):
    assert must_have <= set(tokenize(text))


# --- the segmenter: jieba's words, mostly cut by jieba-rs -------------------------------------------

def _jieba_words(text: str) -> list[str]:
    """jieba's own search-mode words for a text, with the project dictionary: the reference."""
    from archive.text import _jieba

    return list(_jieba().cut_for_search(fold(normalise(text))))


@pytest.mark.parametrize("text", [
    "2021年，全市共办理行政复议案件1,284件，同比增长12.5%。",
    "办结率99.77%，受理12345热线诉求3.56万件",
    "发布日期：2023-08-14 来源：司法局 文号：2023-00051",  # - between digits: jieba splits it off
    "《法治政府建设实施纲要（2021-2025年）》",
    "onclick=window.open(this.value) .style.fontsize",  # . between letters
    "rule-of-law full_width a+b c#d r&d 6.5%-7% v1.5版 3.14.15",
    "互联网+监管 互联网+政务服务",
    "行政复议\r\n办案数\n\t  2021\u3000年",  # line breaks, tabs, runs of spaces
    "ＡＢＣ类事项１２３件，行政復議",  # full-width and traditional: folded first
    "㐀㐁𠀀丽 ßæ Ωμέγα кириллица",  # characters outside jieba's Chinese range
    "依法行政，建设法治政府。",  # plain blocks only: jieba-rs cuts the whole text at once
    "依法行政，2023-08-14建设法治政府，严格执法。",  # plain run, jieba's block, plain run again
    "依法行政㐀建设法治政府",  # a character of jieba-rs's blocks but not jieba's between plain blocks
    "依法行政\x1c建设\u2028法治政府\x85执法",  # whitespace that is not ASCII's between plain blocks
    "\r\n\r\r\n依法行政\n\r",
    "",
])
def test_cut_for_search_is_jiebas(text):
    from archive.text import cut_for_search

    assert cut_for_search(fold(normalise(text))) == _jieba_words(text)


def _corpus_texts(seeds_dir, demo_dir) -> dict[str, list[str]]:
    from bench.corpus import iter_items
    from indexer.reading import read_document

    generated = ["\n".join(c.text for c in chunks) for _, chunks, _, _ in iter_items(3000)]
    return {"seeds": [p.read_text(encoding="utf-8") for p in sorted(seeds_dir.glob("*.txt"))],
            "demo": [read_document(p).text for p in sorted(demo_dir.iterdir()) if p.name != "README.md"],
            "bench corpus": generated}


def test_token_streams_equal_jiebas_on_seeds_demo_and_bench_corpus(seeds_dir, demo_dir):
    from archive.text import cut_for_search

    for name, texts in _corpus_texts(seeds_dir, demo_dir).items():
        assert texts, name
        for text in texts:
            assert cut_for_search(fold(normalise(text))) == _jieba_words(text), name


def test_load_segmenters_loads_both_and_report_text_needs_only_jieba_rs():
    # `serve` warms up with load_segmenters(): a query that later needs jieba itself must not pay for
    # loading its dictionary then. An ingest worker cutting report text (dates included) never loads it.
    import subprocess
    import sys

    code = ("import archive.text as t; t.tokenize('依法行政，发布日期：2023-08-14，法治政府建设'); "
            "print(t._tokenizer is not None, t._fast is not None); "
            "t.load_segmenters(); print(t._tokenizer is not None)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.split() == ["False", "True", "True"]


@pytest.mark.parametrize("block, expected", [
    ("2023-08-14", ["2023", "-", "08", "-", "14"]),
    ("2023-00051", ["2023", "-", "00051"]),
    ("1-2", ["1", "-", "2"]),
    ("12345-67-8-9", ["12345", "-", "67", "-", "8", "-", "9"]),
    ("2023", None),  # no hyphen: jieba-rs's block
    ("2023--08", None),  # two hyphens together, letters, a decimal point: jieba itself
    ("2023-08-", None),
    ("v1-2", None),
    ("1.5-2", None),
])
def test_cut_dashed(block, expected):
    from archive.text import _cut_dashed

    assert _cut_dashed(block) == expected
    if expected is not None:
        assert expected == _jieba_words(block)


def test_dashed_numbers_cut_as_jieba_does():
    import random

    from archive.text import cut_for_search

    rng = random.Random(20)
    for _ in range(300):
        text = "-".join(str(rng.randint(0, 10 ** rng.randint(1, 6))).zfill(rng.randint(1, 3))
                        for _ in range(rng.randint(2, 4)))
        assert cut_for_search(text) == _jieba_words(text), text


@functools.cache
def _jieba_longest() -> int:
    """The longest word of jieba's frequency table (scanning its ~350k words once, not once a token)."""
    from archive.text import _jieba

    return max(map(len, _jieba().FREQ))


def _reference_inner_words(token: str) -> list[str]:
    """`_inner_words` as it was, from jieba's own frequency table: the reference for jieba-rs's has_word."""
    from archive.text import _NUMBER, _jieba

    freq = _jieba().FREQ
    longest = _jieba_longest()
    extra: list[str] = []
    if len(token) > 4:
        for size in range(4, min(len(token), longest + 1)):
            for start in range(len(token) - size + 1):
                word = token[start:start + size]
                if freq.get(word) and word not in extra:
                    extra.append(word)
    if not token.isdigit() and any(c.isdigit() for c in token):
        extra += [n for n in _NUMBER.findall(token) if n != token and n not in extra]
    return extra


def test_inner_words_equal_jiebas_dictionary_on_seeds_demo_and_bench_corpus(seeds_dir, demo_dir):
    from archive.text import _inner_words, _jieba, _longest_word, cut_for_search

    assert _longest_word() == max(map(len, _jieba().FREQ))
    words = {w for texts in _corpus_texts(seeds_dir, demo_dir).values() for text in texts
             for w in cut_for_search(fold(normalise(text))) if len(w) > 4}
    words |= {"法治政府建设", "12345政务服务便民热线", "中华人民共和国行政复议法实施条例",
              "中华人民共和国行政复议法实施条例规定全年办理行政复议案件", "1234567890" * 3 + "法治政府"}  # > 17
    assert len(words) > 500
    for word in words:
        assert list(_inner_words(word)) == _reference_inner_words(word), word


def test_simplified_is_the_character_table_for_every_traditional_character():
    """`simplified` goes through `char_mapping`, whose class holds BMP characters only: the table's characters
    beyond the BMP (𠁞 and 354 others) are mapped as well."""
    from archive.text import simplified, t2s_table

    table = t2s_table()
    assert any(cp > 0xFFFF for cp in table)
    every = "".join(map(chr, table))
    for text in (every, "行政復議𠀀\U0001F600辦案數" + every[::-1], "无繁体字"):
        assert simplified(text) == text.translate(table)


def _plain_block_by_block(folded: str) -> bool:
    """The rule `_ALL_FAST` recognises in one pass, as stated: no `_SLOW_GAP` character, every block of jieba's
    `re_han_default` a `_FAST_BLOCK`."""
    import jieba

    from archive.text import _FAST_BLOCK, _SLOW_GAP

    parts = jieba.re_han_default.split(folded)
    return not _SLOW_GAP.search(folded) and all(map(_FAST_BLOCK.fullmatch, parts[1::2]))


@pytest.mark.parametrize("text", [
    "依法行政，建设法治政府。", "受理12345热线诉求3.56万件", "办结率99.77%", "abc5", "5abc", "v1.5", "1.5.2",
    "a.b", "%5", "5%", "5%a", "abc٣", "5٣a", "a+b", "r&d", "full_width", "2023-08-14", "依法\u3000行政",
    "依法\x85行政", "㐀依法", "行政\r\n复议", "", " ", "。", "1,234", "ΩΩ 5", "abc。def", "3.", ".3",
])
def test_all_fast_is_the_block_by_block_rule(text):
    from archive.text import _ALL_FAST

    assert bool(_ALL_FAST.fullmatch(text)) == _plain_block_by_block(text)


def test_all_fast_is_the_block_by_block_rule_on_random_strings():
    import random

    from archive.text import _ALL_FAST

    alphabet = "依法一aZ09.%+#&_-٣\u3000\u3400𠀀 ，。\t\nΩ"
    rng = random.Random(7)
    for _ in range(20000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 10)))
        assert bool(_ALL_FAST.fullmatch(text)) == _plain_block_by_block(text), ascii(text)


def test_the_bound_inner_words_skip_for_short_tokens_holds():
    """`_inner_words` looks up the dictionary's longest word only for tokens longer than _LONGEST_AT_LEAST + 1:
    for shorter ones the bound cannot cut their search short, provided the longest word is that long."""
    from archive.text import _LONGEST_AT_LEAST, _longest_word

    assert _longest_word() >= _LONGEST_AT_LEAST
    assert _jieba_longest() >= _LONGEST_AT_LEAST


def test_block_patterns_are_jiebas():
    """The block and skip patterns `cut_for_search` splits with are jieba's own, copied so that cutting report
    text needs no import of jieba."""
    import jieba

    from archive.text import _HAN_DEFAULT, _SKIP_DEFAULT

    for ours, theirs in ((_HAN_DEFAULT, jieba.re_han_default), (_SKIP_DEFAULT, jieba.re_skip_default)):
        assert (ours.pattern, ours.flags) == (theirs.pattern, theirs.flags)


def test_search_form_from_the_folded_text_is_the_search_form_for_every_character_and_string_of_them():
    """`search_form_given(text, fold(text))` is `search_form(text)`: for every BMP character alone, beside the marks
    and jamo NFKC joins with its neighbours, and on random strings of characters, digits, spaces, full-width forms,
    combining marks and Hangul compatibility jamo (ㄱㅏ is 가 to NFKC of the whole, two letters one by one)."""
    import random

    from archive.text import search_form, search_form_given

    joiners = "\u0301\u0308\u3099\u309a\u0327\u1161\u11a8\uff9e\u314f\u3131\u200b"
    for s in _bmp_beside(joiners, ("1 ", " 2")):
        assert search_form_given(s, fold(s)) == search_form(s), ascii(s)
    rng = random.Random(7)
    pool = list("行政复議辦案數法治政府ＡＢＣａé가각") + list("0123456789０１２ 　\u00a0.．%") * 3 + list(joiners)
    for _ in range(50_000):
        s = "".join(rng.choice(pool) for _ in range(rng.randint(1, 8)))
        assert search_form_given(s, fold(s)) == search_form(s), ascii(s)


def test_tokens_from_the_folded_text_are_tokenizes_on_seeds_demo_and_bench_corpus(seeds_dir, demo_dir):
    """What the index stores for a passage (`document_tokens`, from its folded text) is what a query's `tokenize`
    makes of the same text."""
    from archive.text import tokenize_folded

    for name, texts in _corpus_texts(seeds_dir, demo_dir).items():
        assert texts, name
        for text in texts:
            for passage in text.split("\n"):
                assert tokenize_folded(passage, fold(passage)) == tokenize(passage), name


@pytest.mark.parametrize("text, expected", [
    ("二〇二三年", "2023年"), ("二○二二年度", "2022年度"), ("一九九八 年", "1998 年"), ("二零二四年", "2024年"),
    ("二〇二三", "二〇二三"),  # no 年: not said to be a year
    ("十二年", "十二年"), ("一二三年", "一二三年"), ("", ""),
])
def test_years_as_digits(text, expected):
    from archive.text import years_as_digits

    assert years_as_digits(text) == expected and len(years_as_digits(text)) == len(text)


@pytest.mark.parametrize("text, expected", [
    ("二〇二四年一月十八日", "2024年1月18日"),
    ("西陵县人民政府 二○二三年十二月三十一日", "西陵县人民政府 2023年12月31日"),
    ("二〇二二年十月十日", "2022年10月10日"),
    ("二〇二四年二月二十日", "2024年2月20日"),
    ("二〇二四年一月十十日", "二〇二四年一月十十日"),  # no day: as written
    ("二〇二三年工作", "二〇二三年工作"),  # a year alone is years_as_digits'
    ("2024年1月18日", "2024年1月18日"),
])
def test_dates_as_digits(text, expected):
    from archive.text import dates_as_digits

    assert dates_as_digits(text) == expected
