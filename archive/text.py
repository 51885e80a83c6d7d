"""Text handling shared by indexing and querying: normalise, fold, tokenise.

`normalise` makes text comparable (NFKC, full-width digits, stray spaces inside
numbers) and is what the figures and the chunker read. `fold` additionally maps
traditional characters to simplified and lowercases, character by character, so
offsets in folded text map back to the original for highlighting. `tokenize` is
the one tokenizer used at index and at query time.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections.abc import Callable
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"
USER_DICT = DATA_DIR / "userdict.txt"

# "99. 77%" and "1 234" on scraped pages: a space between digits (or after a
# decimal point followed by a digit) is an artefact, not a separator.
_SPACE_IN_NUMBER = re.compile(r"(?<=\d)([.．]?)[ \u00a0\u3000]+(?=\d)")
_SPACES = re.compile(r"[\u00a0\u2002-\u200b\u3000\ufeff]")

STOPWORDS = frozenset(
    "的 了 和 与 及 或 等 是 在 对 为 以 于 将 把 被 并 其 之 中 也 有 这 那 个 一 各 "
    "我们 我 你 他 她 它 就 都 而 及其 以及 进行 情况 工作 方面".split()
)


def normalise(text: str) -> str:
    """NFKC, non-breaking and ideographic spaces to plain spaces, no spaces inside numbers."""
    text = unicodedata.normalize("NFKC", _SPACES.sub(" ", text))
    return _SPACE_IN_NUMBER.sub(r"\1", text)


@functools.cache
def _t2s_table() -> dict[int, str]:
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


@functools.lru_cache(maxsize=65536)
def fold_char(ch: str) -> str:
    """Fold one character: NFKC, traditional to simplified, lowercase; may return '' or several."""
    if ch in "\u00a0\u3000\ufeff":
        return " "
    return unicodedata.normalize("NFKC", ch).translate(_t2s_table()).lower()


def fold(text: str) -> str:
    """Search form of a text: every character folded (see `fold_char`)."""
    return "".join(fold_char(c) for c in text)


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
            import logging

            import jieba

            jieba.setLogLevel(logging.WARNING)
            tk = jieba.Tokenizer()
            tk.load_userdict(str(USER_DICT))
            _tokenizer = tk
    return _tokenizer


def _is_word(token: str) -> bool:
    return any(unicodedata.category(c)[0] in "LN" for c in token)


def tokenize(text: str) -> list[str]:
    """Search tokens of a text: folded, segmented by jieba (search mode), no punctuation or stopwords."""
    folded = fold(normalise(text))
    tokens = []
    for tok in _jieba().cut_for_search(folded):
        tok = tok.strip()
        if tok and _is_word(tok) and tok not in STOPWORDS:
            tokens.append(tok)
    return tokens


Tokenizer = Callable[[str], list[str]]
