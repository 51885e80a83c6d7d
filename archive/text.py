"""Text handling shared by indexing and querying: normalise, fold, tokenise.

`normalise` makes text comparable (NFKC, full-width digits, stray spaces inside
numbers) and is what the figures and the chunker read. `fold` additionally maps
traditional characters to simplified and lowercases, character by character, so
offsets in folded text map back to the original for highlighting. `tokenize` is
the one tokenizer used at index and at query time; `document_tokens` applies it (and `fold`)
to everything a backend stores of a document, once, so no backend tokenises.

Two data files a user can extend without code (both are read once, on first use):
`data/userdict.txt` (jieba's user dictionary: government and legal terms) and
`data/synonyms.txt` (query-time synonyms for keyword retrieval; format at its top).
"""

from __future__ import annotations

import functools
import itertools
import logging
import re
import threading
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path

from archive.models import Chunk, Tokens

DATA_DIR = Path(__file__).parent / "data"
USER_DICT = DATA_DIR / "userdict.txt"
SYNONYMS = DATA_DIR / "synonyms.txt"

log = logging.getLogger(__name__)

# "99. 77%" and "1 234" on scraped pages: a space between digits (or after a
# decimal point followed by a digit) is an artefact, not a separator.
# (The digit before is matched, not looked behind at: a pattern that starts with a class is found by the
# class's scan, a lookbehind is tried at every position; the same matches, a quarter faster.)
_SPACE_IN_NUMBER = re.compile(r"(\d[.．]?)[ \u00a0\u3000]+(?=\d)")
_SPACES = re.compile(r"[\u00a0\u2002-\u200b\u3000\ufeff]")

STOPWORDS = frozenset(
    "的 了 和 与 及 或 等 是 在 对 为 以 于 将 把 被 并 其 之 中 也 有 这 那 个 一 各 "
    "我们 我 你 他 她 它 就 都 而 及其 以及 进行 情况 工作 方面".split()
)


_CN_YEAR = re.compile(r"[〇○零一二三四五六七八九]{4}(?=\s*年)")
_CN_YEAR_DIGITS = str.maketrans("〇○零一二三四五六七八九", "000123456789")


def years_as_digits(text: str) -> str:
    """Years written in Chinese numerals as digits, the text's length kept: "二〇二三年" is "2023年"."""
    return _CN_YEAR.sub(lambda m: m[0].translate(_CN_YEAR_DIGITS), text) if "年" in text else text


_CN_DAY = "([一二三四五六七八九十]{1,3})"
_CN_DATE = re.compile(rf"([〇○零一二三四五六七八九]{{4}})\s*年\s*{_CN_DAY}\s*月\s*{_CN_DAY}\s*日")
_CN_UNITS = dict(zip("一二三四五六七八九", range(1, 10)))


def _small_number(written: str) -> int | None:
    """一 to 三十一 as a number; None for what is none ("十十")."""
    head, ten, tail = written.partition("十")
    if not ten:
        return _CN_UNITS.get(written)
    tens = _CN_UNITS.get(head, 0 if head else 1) if len(head) <= 1 else 0
    ones = _CN_UNITS.get(tail, 0 if not tail else -99) if len(tail) <= 1 else -99
    return tens * 10 + ones if tens and ones >= 0 else None


def dates_as_digits(text: str) -> str:
    """Dates written in Chinese numerals as digits: "二〇二四年一月十八日" is "2024年1月18日" (a day or month that is no
    number stays as written)."""
    def digits(m: re.Match) -> str:
        month, day = _small_number(m[2]), _small_number(m[3])
        if month is None or day is None:
            return m[0]
        return f"{m[1].translate(_CN_YEAR_DIGITS)}年{month}月{day}日"

    return _CN_DATE.sub(digits, text) if "日" in text else text


def normalise(text: str) -> str:
    """NFKC, non-breaking and ideographic spaces to plain spaces, no spaces inside numbers."""
    text = nfkc(_SPACES.sub(" ", text))
    # Every space the pattern could remove is a plain one by now (NFKC, _SPACES); most passages have none.
    return _SPACE_IN_NUMBER.sub(r"\1", text) if " " in text else text


def char_mapping(table: dict[int, str | int | None], beyond_bmp: Callable[[str], str] | None = None):
    """`lambda text: text.translate(table)` for a fixed table, the same string, faster on Chinese text where
    few characters are in the table: CPython's translate looks every character up (40-80 ns each here), a
    character class of the table's keys skips the others at C speed and maps only those it meets.
    `beyond_bmp`: what a character beyond the BMP that the table lacks becomes (unchanged if not given)."""
    by_char = {chr(k): "" if v is None else chr(v) if isinstance(v, int) else v for k, v in table.items()}
    # A class of BMP characters is a bitmap test; one with a character beyond the BMP is a list scanned per
    # character (tens of times slower): those are matched as any character beyond the BMP, then looked up.
    plane = "".join(map(re.escape, sorted(c for c in by_char if c <= "\uffff")))
    astral = beyond_bmp is not None or any(c > "\uffff" for c in by_char)
    keys = re.compile("|".join((["[" + plane + "]"] if plane else []) + (["[\U00010000-\U0010ffff]"] if astral else []))
                      or "(?!)")
    if beyond_bmp is None:
        def look(m: re.Match) -> str:
            return by_char.get(m[0], m[0])
    else:
        def look(m: re.Match) -> str:
            ch = m[0]
            return by_char[ch] if ch in by_char else beyond_bmp(ch)

    def translate(text: str) -> str:
        return keys.sub(look, text)

    return translate


@functools.cache
def _nfkc_mapping():
    return char_mapping(_nfkc_table())


@functools.cache
def _nfkc_table() -> dict[int, str]:
    """Characters of the BMP that NFKC replaces by their full compatibility decomposition, all of it
    starters (full-width ，０％Ａ, ①, …): replacing them first leaves NFKC's result as it was, because
    NFKC decomposes them into exactly that before reordering and composing."""
    table: dict[int, str] = {}
    for cp in range(0x80, 0x10000):
        ch = chr(cp)
        if 0xD800 <= cp < 0xE000:
            continue
        out = unicodedata.normalize("NFKC", ch)
        if out != ch and out == unicodedata.normalize("NFKD", ch) and not any(map(unicodedata.combining, out)):
            table[cp] = out
    return table


def nfkc(text: str) -> str:
    """`unicodedata.normalize("NFKC", text)`, the same string, faster on Chinese text.

    Report text is full of full-width punctuation, so NFKC's quick check fails on nearly every passage
    and CPython then normalises character by character; mapping those characters by table first
    leaves a text its quick check passes (measured: the largest cost of ingest before tokenising).
    """
    fast = _nfkc_mapping()(text)
    return fast if unicodedata.is_normalized("NFKC", fast) else unicodedata.normalize("NFKC", fast)


@functools.cache
def t2s_table() -> dict[int, str]:
    import opencc  # opencc-python-reimplemented ships the character table as data

    path = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    table: dict[int, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        trad, _, simp = line.partition("\t")
        simp = simp.split(" ")[0]
        # Keep only one-to-one mappings so folded offsets stay aligned with the original.
        if len(trad) == 1 and len(simp) == 1:
            table[ord(trad)] = simp
    return table


@functools.cache
def _t2s_mapping():
    return char_mapping(t2s_table())


def simplified(text: str) -> str:
    """Traditional characters made simplified, one for one (offsets stay), nothing else changed."""
    return _t2s_mapping()(text)


@functools.lru_cache(maxsize=65536)
def fold_char(ch: str) -> str:
    """Fold one character: NFKC, traditional to simplified, lowercase; may return '' or several."""
    if ch in "\u00a0\u3000\ufeff":
        return " "
    return unicodedata.normalize("NFKC", ch).translate(t2s_table()).lower()


@functools.cache
def _fold_mapping():
    """`fold` as a `char_mapping` of the BMP characters `fold_char` changes (some 7,800; 0.03 CPU-s to find, once
    a process), the others beyond the BMP folded as met: on report text 3-10x faster than `str.translate` by a
    table of `fold_char`, which looks every character up. A character `fold_char` changes is traditional, has a
    lower case, is one of its spaces, or is one NFKC changes."""
    t2s = t2s_table()
    changed: dict[int, str] = {}
    for cp in itertools.chain(range(0xD800), range(0xE000, 0x10000)):
        ch = chr(cp)
        if cp in t2s or not unicodedata.is_normalized("NFKC", ch) or ch.lower() != ch or ch in "\u00a0\u3000\ufeff":
            if (folded := fold_char(ch)) != ch:
                changed[cp] = folded
    return char_mapping(changed, beyond_bmp=fold_char)


def fold(text: str) -> str:
    """Search form of a text: every character folded (see `fold_char`)."""
    return _fold_mapping()(text)


def fold_with_offsets(text: str) -> tuple[str, list[int]]:
    """Fold `text` and return, for each folded character, the index of its source character."""
    out: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(text):
        f = fold_char(ch)
        out.append(f)
        offsets.extend([i] * len(f))
    return "".join(out), offsets


_tokenizer = None
_tokenizer_lock = threading.Lock()


def _jieba():
    """A private jieba tokenizer with the project dictionary, built once on first use."""
    global _tokenizer
    with _tokenizer_lock:
        if _tokenizer is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            tk = jieba.Tokenizer()
            for word, freq, tag in parse_userdict(USER_DICT.read_text(encoding="utf-8").splitlines()):
                tk.add_word(word, freq, tag)
            _tokenizer = tk
    return _tokenizer


_fast = None


def _rjieba():
    """jieba-rs (rjieba) with the same dictionary and user words, built once on first use."""
    global _fast
    with _tokenizer_lock:
        if _fast is None:
            import rjieba

            fast = rjieba.Jieba()
            for word, freq, tag in parse_userdict(USER_DICT.read_text(encoding="utf-8").splitlines()):
                fast.add_word(word, freq, tag)
            _fast = fast
    return _fast


# Blocks jieba-rs cuts as jieba does: Chinese characters of jieba's own range, runs of Latin letters
# not touching a digit, and numbers (a decimal point between digits, a percent sign after them) not
# touching a letter. Elsewhere the two differ: jieba splits `-`, `_` and a `.` between letters apart
# (2023-08-14, window.open) where jieba-rs keeps them whole, and jieba-rs adds words inside v1.5 or
# 5.5g. Other blocks go to jieba itself. tests/unit/test_text.py holds the two token streams equal
# on the seeds, the demo reports and the bench corpus; on made-up strings of a few characters
# repeated (日日日年月) they can still differ, where jieba breaks ties between equally likely cuts.
_FAST_BLOCK = re.compile(r"(?:[\u4e00-\u9fd5]|[a-zA-Z]++(?![\d.%])|\d++(?:\.\d++)?+%?+(?![a-zA-Z]))+")


# A character between blocks that jieba-rs would not cut as jieba does (jieba gives each character
# there alone, "\r\n" whole; so does jieba-rs, except on its own block characters, whose ranges are wider
# than jieba's, and on whitespace other than ASCII's).
# jieba's own `re_han_default` and `re_skip_default` (jieba/__init__.py; tests/unit/test_text.py holds them
# equal): importing jieba for them cost a worker 0.13 CPU-s, and report text never needs jieba itself.
_HAN_DEFAULT = re.compile("([\u4E00-\u9FD5a-zA-Z0-9+#&\\._%\\-]+)", re.U)
_SKIP_DEFAULT = re.compile("(\r\n|\\s)", re.U)
_SLOW_GAP_CHARS = ("\u3400-\u4dbf\u9fd6-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
                   + "".join(re.escape(chr(c)) for c in range(0x3001)  # U+3000 is the last space
                             if chr(c).isspace() and chr(c) not in " \t\n\r"))
_SLOW_GAP = re.compile(f"[{_SLOW_GAP_CHARS}]")
# A text that is all plain blocks and plain gaps, recognised in one pass: `_FAST_BLOCK`'s pieces (its
# lookaheads see the same character inside a block; after one, a gap character, which none of them names)
# or a character that is neither in a block (jieba's `re_han_default`) nor in `_SLOW_GAP`.
_ALL_FAST = re.compile(r"(?:[\u4e00-\u9fd5]|[a-zA-Z]++(?![0-9.%])|[0-9]++(?:\.[0-9]++)?+%?+(?![a-zA-Z])"
                       rf"|[^\u4e00-\u9fd5a-zA-Z0-9+#&._%\-{_SLOW_GAP_CHARS}])*+")


# A block of digits joined by hyphens (a date: 2023-08-14, a number: 2023-00051) is on every page of a
# report. jieba cuts it into its digit runs and hyphens whenever no part of it longer than one
# character is a dictionary word (then every character is its own node, the whole goes to its HMM
# step, and that splits off runs of digits): cut so here, jieba's own dictionary is not needed.
_DASHED = re.compile(r"\d++(?:-\d++)++")


def _cut_dashed(block: str) -> list[str] | None:
    """jieba's search-mode words of a hyphenated number, or None where the dictionary would matter."""
    if not _DASHED.fullmatch(block):
        return None
    has_word = _rjieba().has_word
    if any(has_word(block[i:j]) for i in range(len(block)) for j in range(i + 2, len(block) + 1)):
        return None
    return [piece for piece in re.split("(-)", block) if piece]


def load_segmenters() -> None:
    """Load both segmenters' dictionaries now (`serve` does before its first query; ingest workers
    load jieba's only for a block only it cuts right: about a second a process)."""
    _jieba()
    _rjieba()


def cut_for_search(folded: str) -> list[str]:
    """jieba's `cut_for_search` with the project dictionary, word for word, mostly run by jieba-rs.

    jieba cuts each block of its `re_han_default` on its own, so blocks can go to either
    implementation: the plain ones, most of a report, to jieba-rs (bench.tokenizer: 7.4-10x faster
    than jieba alone on the seeds, demo/ and the bench corpus); a text of plain blocks only goes to
    jieba-rs whole, in one call (a call per block cost twice jieba-rs's segmentation), a run of plain
    blocks likewise. Hyphenated numbers are cut by `_cut_dashed`, anything else to jieba itself.
    """
    fast = _fast or _rjieba()  # once built, no lock (taken a passage, it was 1% of an ingest before embedding)
    if _ALL_FAST.fullmatch(folded):  # most passages: every block plain, every gap plain
        return fast.cut_for_search(folded)
    parts = _HAN_DEFAULT.split(folded)  # the blocks it matched at odd places
    words: list[str] = []
    run: list[str] = []  # blocks and the text between them, for jieba-rs in one call
    for i, part in enumerate(parts):
        if _FAST_BLOCK.fullmatch(part) if i % 2 else not _SLOW_GAP.search(part):
            run.append(part)
            continue
        if run:
            words += fast.cut_for_search("".join(run))
            run = []
        if i % 2:
            dashed = _cut_dashed(part)
            words += _jieba().cut_for_search(part) if dashed is None else dashed
        else:  # between blocks jieba gives each character alone, and "\r\n" whole
            for piece in _SKIP_DEFAULT.split(part):
                words += [piece] if piece == "\r\n" else piece
    if run:
        words += fast.cut_for_search("".join(run))
    return words


def parse_userdict(lines) -> list[tuple[str, int | None, str | None]]:
    """Dictionary lines `WORD [FREQUENCY] [TAG]` -> (word, freq, tag); blank lines and # comments skipped."""
    entries = []
    for line in lines:
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        rest = parts[2:] if freq is not None else parts[1:]
        entries.append((fold(normalise(parts[0])), freq, rest[0] if rest else None))
    return entries


def _is_word(token: str) -> bool:
    return any(unicodedata.category(c)[0] in "LN" for c in token)


_NUMBER = re.compile(r"\d+(?:\.\d+)?")


@functools.cache
def _longest_word() -> int:
    """The longest dictionary word's length: jieba's dictionary file and the project's words, read as text
    (loading jieba's dictionary costs a second a process; this a tenth)."""
    import importlib.util

    base = Path(importlib.util.find_spec("jieba").submodule_search_locations[0]) / "dict.txt"
    with open(base, encoding="utf-8") as f:
        longest = max(len(line.split(" ", 1)[0]) for line in f)
    return max([longest] + [len(word) for word, _, _ in parse_userdict(USER_DICT.read_text(encoding="utf-8")
                                                                         .splitlines())])


_LONGEST_AT_LEAST = 16  # the dictionary has words this long and longer (tests/unit/test_text.py holds it)


def _inner_words(token: str) -> tuple[str, ...]:
    """Dictionary words inside a long token that jieba's search mode leaves out, and its numbers.

    `cut_for_search` adds only the 2- and 3-character words inside a long word, so
    法治政府建设 never yields 法治政府 and a query for 法治政府 would miss it; and
    12345热线 never yields 12345. Both sides (index and query) get the same extras.
    """
    extra: list[str] = []
    if len(token) > 4:
        # jieba-rs holds the same dictionary: a word it has is one jieba gives a frequency (tests/unit/test_text.py).
        has_word = _rjieba().has_word
        # No dictionary word is longer than the longest entry: stop there, or a long run of
        # digits or letters costs cubic time. (A token up to one longer than _LONGEST_AT_LEAST needs no bound:
        # the longest entry is found only for the rare longer ones, 0.15 CPU-s a process.)
        bound = len(token) if len(token) <= _LONGEST_AT_LEAST + 1 else min(len(token), _longest_word() + 1)
        for size in range(4, bound):
            for start in range(len(token) - size + 1):
                word = token[start:start + size]
                if word not in extra and has_word(word):
                    extra.append(word)
    if not token.isdigit() and any(c.isdigit() for c in token):
        extra += [n for n in _NUMBER.findall(token) if n != token and n not in extra]
    return tuple(extra)


def _terms(word: str) -> tuple[str, ...]:
    """The search tokens one segmented word gives: none, or itself and its inner words."""
    word = word.strip()
    if not word or not _is_word(word) or word in STOPWORDS:
        return ()
    return (word, *_inner_words(word))


class _Remembered(dict):
    """word -> `_terms(word)`, each found once (report vocabularies are small, and its checks cost more than
    jieba-rs's segmentation); emptied when it holds _REMEMBERED words (a text made to grow it). A dict's own
    lookup: an `lru_cache` of `_terms` cost a quarter more, keeping its order of use."""

    def __missing__(self, word: str) -> tuple[str, ...]:
        if len(self) >= _REMEMBERED:
            self.clear()
        terms = self[word] = _terms(word)
        return terms


_REMEMBERED = 1 << 18
_terms_of = _Remembered()


def tokenize(text: str) -> list[str]:
    """Search tokens of a text: folded, segmented by jieba (search mode), no punctuation or stopwords.

    Long words also yield the dictionary words of 4+ characters inside them, and
    words mixing digits and letters (12345热线, 99.77%) also yield their numbers.
    """
    return _tokens(search_form(text))


def tokenize_folded(text: str, folded: str) -> list[str]:
    """`tokenize(text)` given `folded`, `fold(text)` (a passage's, stored beside it anyway): the same tokens,
    without normalising and folding the text again (a tenth of tokenising a passage)."""
    return _tokens(search_form_given(text, folded))


def _tokens(form: str) -> list[str]:
    return list(itertools.chain.from_iterable(map(_terms_of.__getitem__, cut_for_search(form))))


def search_form(text: str) -> str:
    """What `tokenize` segments: the text normalised, then folded."""
    return fold(normalise(text))


def search_form_given(text: str, folded: str) -> str:
    """`search_form(text)` from `folded`, `fold(text)`.

    `fold` applies NFKC character by character, `normalise` to the whole text, and takes the spaces out of
    numbers: the two differ only where NFKC joins or reorders characters across their boundaries (combining
    marks, Hangul jamo) and on a zero-width space (a space to `normalise`, kept by `fold`). A text holding one
    of those (`_in_context`) is normalised and folded afresh; any other is `folded` with the spaces in its
    numbers taken out (tests/unit/test_text.py holds the two equal on every character, on strings made of
    them, and on the seeds, demo/ and the bench corpus)."""
    if _in_context().search(text):
        return search_form(text)
    return _SPACE_IN_NUMBER.sub(r"\1", folded) if " " in folded else folded


@functools.cache
def _in_context() -> re.Pattern[str]:
    """Characters whose NFKC may depend on their neighbours, or that `normalise` and `fold` treat apart: the
    second parts of canonical compositions (Hangul vowels and final consonants among them), characters with a
    combining class, characters whose compatibility decomposition holds either, the zero-width space, and any
    character beyond the BMP (rare in reports: such a text is tokenised from scratch). Found once a process
    (about 0.05 CPU-s)."""
    bmp = [chr(cp) for cp in range(0x10000) if not 0xD800 <= cp < 0xE000]
    decomposed = [(ch, d) for ch in bmp if (d := unicodedata.decomposition(ch))]
    seconds = {chr(int(part, 16)) for _, d in decomposed if not d.startswith("<") for part in d.split()[1:]}
    seconds |= {*map(chr, range(0x1161, 0x1176)), *map(chr, range(0x11A8, 0x11C3))}  # Hangul's, algorithmic

    def joins(ch: str) -> bool:
        return ch in seconds or unicodedata.combining(ch) != 0

    # Only a character with a decomposition decomposes into others (Hangul syllables too, but into jamo that
    # join only with what follows: the vowels and final consonants, already here).
    risky = {ch for ch in bmp if joins(ch)} | {ch for ch, _ in decomposed
                                              if any(map(joins, unicodedata.normalize("NFKD", ch)))}
    risky.add("\u200b")
    return re.compile("[" + "".join(map(re.escape, sorted(risky))) + "\U00010000-\U0010ffff]")


@functools.lru_cache(maxsize=8192)
def heading_tokens(text: str) -> tuple[str, ...]:
    """tokenize() for titles and section paths, which repeat on every passage: remembered."""
    return tuple(tokenize(text))


def document_tokens(title: str, chunks: Sequence[Chunk], bodies: Sequence[Sequence[str]] | None = None) -> Tokens:
    """Every token the index stores for a document's passages (`bodies`: the passages' tokens, if known)."""
    folded = tuple(fold(c.text) for c in chunks)
    if bodies is None:
        bodies = [tokenize_folded(c.text, f) for c, f in zip(chunks, folded)]
    return Tokens(heading_tokens(title), tuple(heading_tokens(c.section) for c in chunks),
                  tuple(tuple(b) for b in bodies), folded)


def parse_synonyms(lines) -> dict[str, tuple[str, ...]]:
    """Synonym rules -> {folded term: folded terms a query with it also searches}.

    `a => b, c`: a query with a also searches b and c (one way). `a, b, c`: each
    searches all the others. `#` starts a comment; malformed lines are skipped.
    """
    table: dict[str, list[str]] = {}

    def add(src: str, targets) -> None:
        for t in targets:
            if t != src and t not in table.setdefault(src, []):
                table[src].append(t)

    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        left, arrow, right = line.partition("=>")
        sources = [w for w in (fold(normalise(x)).strip() for x in re.split(r"[,，、]", left)) if w]
        targets = [w for w in (fold(normalise(x)).strip() for x in re.split(r"[,，、]", right)) if w]
        if arrow:
            if not sources or not targets:
                continue
            for src in sources:
                add(src, targets)
        elif len(sources) > 1:
            for src in sources:
                add(src, sources)
    return {k: tuple(v) for k, v in table.items() if v}


@functools.cache
def synonyms() -> dict[str, tuple[str, ...]]:
    """The synonym table of `data/synonyms.txt`, read once (an unreadable file means no synonyms)."""
    try:
        return parse_synonyms(SYNONYMS.read_text(encoding="utf-8").splitlines())
    except OSError as exc:
        log.warning("未能从 %s 读取同义词：%s", SYNONYMS, exc)
        return {}

