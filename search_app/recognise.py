"""Regions and years typed in the search box, recognised from what the archive holds.

`太原 行政复议` means 行政复议 in 太原市's reports: a region the archive holds (in full, or
without a suffix of `archive/data/region_suffixes.txt`: 太原 -> 太原市) and a year it holds
(2021年, 2021年度, or 2021 as a word of its own) become filters, and the words are no longer
searched. Pure functions over a `Vocabulary` the caller reads from the index.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from archive.text import DATA_DIR, fold, fold_with_offsets, tokenize

REGION_SUFFIXES = DATA_DIR / "region_suffixes.txt"
# A year followed by 年/年度, or a bare year standing as a word of its own (never 2000件).
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)(年度|年)?(?!\d)")


@dataclass(frozen=True)
class Vocabulary:
    """What the archive holds that a query may name: its regions and its years."""

    regions: tuple[str, ...] = ()
    years: tuple[int, ...] = ()


@dataclass(frozen=True)
class Applied:
    """A filter recognised in the query text: the field, its value, and the words it came from."""

    field: str  # "region" or "year"
    value: str | int
    typed: str

    def to_dict(self) -> dict:
        return {"field": self.field, "value": self.value, "from": self.typed}


@functools.cache
def region_suffixes() -> tuple[str, ...]:
    """The suffixes of the data file, longest first."""
    lines = REGION_SUFFIXES.read_text(encoding="utf-8").splitlines()
    words = {w.strip() for w in lines if w.strip() and not w.lstrip().startswith("#")}
    return tuple(sorted(words, key=lambda w: (-len(w), w)))


def short_name(region: str) -> str | None:
    """A region's name without its suffix (太原市 -> 太原); None when that leaves under two characters."""
    for suffix in region_suffixes():
        if region.endswith(suffix) and len(region) - len(suffix) >= 2:
            return region[: -len(suffix)]
    return None


def _region_spans(folded: str, tokens: set[str], regions: tuple[str, ...]) -> list[tuple[int, int, str]]:
    """(start, end, region) in folded text for each region named as a whole word, full name first."""
    found: list[tuple[int, int, str]] = []
    for region in sorted(regions, key=lambda r: (-len(r), r)):
        for form in dict.fromkeys(f for f in (fold(region), fold(short_name(region) or "")) if f):
            # A form must be one of jieba's words here, touch no other letter (新密 in 新密 依法行政, which
            # jieba cuts 新/密; 东河镇 in 东河镇2023年, cut 东河/镇), or be a full name of three characters or
            # more that no word of the query straddles (2023年东河镇收到): 新乡 is not named in 新乡村振兴, nor
            # 朝阳区 in 朝阳区域.
            full = form == fold(region) and len(form) >= 3
            for m in re.finditer(re.escape(form), folded):
                if (form in tokens or _apart(folded, m.start(), m.end())
                        or full and not _straddled(folded, m.start(), m.end(), tokens)) and \
                        not any(s < m.end() and m.start() < e for s, e, _ in found):
                    found.append((m.start(), m.end(), region))
    return found


def _apart(folded: str, start: int, end: int) -> bool:
    """Whether no letter (a Chinese character included) touches folded[start:end] on either side."""
    return not folded[start - 1:start].isalpha() and not folded[end:end + 1].isalpha()


def _straddled(folded: str, start: int, end: int, tokens: set[str]) -> bool:
    """Whether a word of `tokens` is written across an edge of folded[start:end] (区域 across 朝阳区|域)."""
    for token in tokens:
        for m in re.finditer(re.escape(token), folded):
            if m.start() < start < m.end() or m.start() < end < m.end():
                return True
    return False


def _stands_alone(folded: str, start: int, end: int) -> bool:
    """Whether folded[start:end] is a whitespace-separated word of its own."""
    return (start == 0 or folded[start - 1].isspace()) and (end == len(folded) or folded[end].isspace())


def _year_spans(folded: str, years: tuple[int, ...]) -> list[tuple[int, int, int]]:
    spans = []
    for m in _YEAR.finditer(folded):
        if int(m.group(1)) in years and (m.group(2) or _stands_alone(folded, m.start(), m.end())):
            spans.append((m.start(), m.end(), int(m.group(1))))
    return spans


def recognise(text: str, known: Vocabulary) -> tuple[str, tuple[Applied, ...]]:
    """The text without the regions and years it names, and those as filters, in the order typed.

    When nothing else would be left to search, the words stay in the text (the filters still apply).
    """
    folded, offsets = fold_with_offsets(text)
    spans = [(s, e, "region", v) for s, e, v in _region_spans(folded, set(tokenize(text)), known.regions)]
    spans += [(s, e, "year", v) for s, e, v in _year_spans(folded, known.years)
              if not any(s < e2 and s2 < e for s2, e2, *_ in spans)]
    if not spans:
        return text, ()
    spans.sort()
    applied, kept, pos = [], [], 0
    for s, e, name, value in spans:
        start, end = offsets[s], offsets[e - 1] + 1
        applied.append(Applied(name, value, text[start:end]))
        kept.append(text[pos:start])
        pos = end
    kept.append(text[pos:])
    rest = " ".join(" ".join(kept).split())
    return (rest if tokenize(rest) else text), tuple(dict.fromkeys(applied))
