"""Section-aware chunking: cut a cleaned report body into passages under their heading path.

Headings are recognised by the report's own numbering (一、 / （一） / 1. ...) on a normalised
view of each line, but every passage is a slice of the original body, so offsets stay exact:
each passage's text equals `body[start:start + len(text)]`, passages are in order, and only
whitespace between them is left uncovered.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from archive.text import normalise

SECTION_SEP = " > "
HEADING_MAX_CHARS = 40
_MARKER_PREFIX = 32  # markers sit at the start of a line; normalising all of a 2 MB line would be waste

_CN = "〇零一二三四五六七八九十百"
_TEXT_FOLLOWS = r"(?=\s*\S)"  # a bare marker with nothing after it is not a heading

# (level, enumeration?, pattern), tried in order on the NFKC-normalised start of a stripped line.
# Enumerations (一是 / 第一，) number paragraphs; they are headings only at the top of an outline.
_MARKERS: tuple[tuple[int, bool, re.Pattern[str]], ...] = (
    (1, False, re.compile(rf"第[{_CN}]+部分{_TEXT_FOLLOWS}")),
    (1, True, re.compile(rf"第[{_CN}]+[,、]{_TEXT_FOLLOWS}")),
    (1, False, re.compile(rf"[{_CN}]+、{_TEXT_FOLLOWS}")),
    (1, True, re.compile(rf"[{_CN}]{{1,3}}是{_TEXT_FOLLOWS}")),
    (2, False, re.compile(rf"\([{_CN}]+\){_TEXT_FOLLOWS}")),
    # Scraping loses the opening bracket ("十一)") and sometimes the numeral with it (")").
    (2, False, re.compile(rf"[{_CN}]*\)(?=\s*\w)")),
    (3, False, re.compile(rf"\(\d{{1,2}}\){_TEXT_FOLLOWS}")),
    # "1." but not "99.77%", "3.5亿" or "1065件": a digit or % after the point means a number.
    (3, False, re.compile(r"\d{1,2}[.、](?![\d%.])(?=\s*\S)")),
)
_HEADING_END = re.compile(r"[。；：！？;:!?]")

# Where a long paragraph may break, coarsest first. Each pattern's match end is a cut point.
_SENTENCE_END = re.compile(
    r"[。！？；!?;][”’\"」』)）】》]*"  # a closing quote or bracket stays with its sentence
    r"|(?<=[，,：:])(?=[一二三四五六七八九十]{1,2}是)"  # inline 一是/二是 items are natural sub-items
)
_COMMA = re.compile(r"，|(?<!\d),|,(?!\d)")  # "1,234" is one number, not a clause break
_LIST_COMMA = re.compile(r"、")
_SPLITTERS = (_SENTENCE_END, _COMMA, _LIST_COMMA)

# Characters of numbers, codes and Latin words: a last-resort cut never lands just after one,
# so "17.92万件", "6.5%-7%" and "2021—2025" stay whole.
_TOKEN_CHARS = frozenset(
    "0123456789０１２３４５６７８９abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.．%％‰-－–—~～:/_,"
)

Span = tuple[int, int]


@dataclass(frozen=True)
class Passage:
    """A slice of a report body with the heading path it falls under."""

    section: str  # heading path joined with " > "; "" before the first heading
    text: str  # body[start:start + len(text)], stripped
    start: int


@dataclass(frozen=True)
class _Heading:
    level: int
    enumeration: bool
    text: str


def detect_heading(line: str) -> tuple[int, str] | None:
    """(level, heading text) when `line` opens with a heading marker, else None."""
    heading = _heading(line.strip())
    return (heading.level, heading.text) if heading else None


def _heading(line: str) -> _Heading | None:
    head = normalise(line[:_MARKER_PREFIX]).lstrip()
    for level, enumeration, pattern in _MARKERS:
        match = pattern.match(head)
        if match:
            return _Heading(level, enumeration, _heading_text(line, match.end()))
    return None


def _heading_text(line: str, marker_end: int) -> str:
    """The line up to its first sentence end after the marker, at most HEADING_MAX_CHARS."""
    end = _HEADING_END.search(line, min(marker_end, HEADING_MAX_CHARS), HEADING_MAX_CHARS)
    # A 40-character cut can end on a comma; a path element reads better without it.
    return line[: end.start() if end else HEADING_MAX_CHARS].rstrip(" \t,，、")


def chunk_text(body: str, max_chars: int = 500, min_chars: int = 80) -> list[Passage]:
    """Cut `body` into passages of at most `max_chars`, a new one at every heading."""
    passages = []
    for section, paragraphs in _sections(body):
        units = [u for s, e in paragraphs for u in _units(body, s, e, max_chars)]
        for start, end in _pack(units, max_chars, min_chars):
            passages.append(Passage(section, body[start:end], start))
    return passages


def _lines(body: str) -> Iterator[Span]:
    """(start, end) of every non-blank line, stripped of surrounding whitespace."""
    pos, size = 0, len(body)
    while pos < size:
        newline = body.find("\n", pos)
        line_end = size if newline < 0 else newline
        start, end = _strip(body, pos, line_end)
        if start < end:
            yield start, end
        pos = line_end + 1


def _sections(body: str) -> Iterator[tuple[str, list[Span]]]:
    """Groups of paragraphs, one group per heading (and one before the first), with their path."""
    open_headings: list[_Heading] = []
    path, paragraphs = "", []
    for start, end in _lines(body):
        heading = _heading(body[start : min(end, start + _MARKER_PREFIX + HEADING_MAX_CHARS)])
        # 一是 inside a 一、/(一) outline numbers paragraphs of that section; it only opens a
        # section where the report itself is outlined by 一是 (or has no outline yet).
        if heading and heading.enumeration and open_headings and not open_headings[0].enumeration:
            heading = None
        if heading:
            if paragraphs:
                yield path, paragraphs
            open_headings = [h for h in open_headings if h.level < heading.level] + [heading]
            path, paragraphs = SECTION_SEP.join(h.text for h in open_headings), []
        paragraphs.append((start, end))
    if paragraphs:
        yield path, paragraphs


def _units(body: str, start: int, end: int, max_chars: int, depth: int = 0) -> list[Span]:
    """Split a span into pieces of at most max_chars: at sentences, then commas, then 、, then anywhere."""
    if end - start <= max_chars:
        return [(start, end)]
    if depth == len(_SPLITTERS):
        return _cut_anywhere(body, start, end, max_chars)
    units: list[Span] = []
    for s, e in _pieces(body, start, end, _SPLITTERS[depth]):
        units.extend(_units(body, s, e, max_chars, depth + 1))
    return units


def _pieces(body: str, start: int, end: int, pattern: re.Pattern[str]) -> Iterator[Span]:
    """The stripped, non-empty pieces of body[start:end] cut after every match of `pattern`."""
    cuts = [m.end() for m in pattern.finditer(body, start, end)] + [end]
    for cut in cuts:
        s, e = _strip(body, start, cut)
        if s < e:
            yield s, e
        start = cut


def _cut_anywhere(body: str, start: int, end: int, max_chars: int) -> list[Span]:
    """Last resort for a run without punctuation: pieces of max_chars, never cut inside a number."""
    units = []
    while end - start > max_chars:
        cut = _safe_cut(body, start, start + max_chars, end)
        if cut >= end:
            break
        units.append(_strip(body, start, cut))
        start = _strip(body, cut, end)[0]
    units.append((start, end))
    return units


def _safe_cut(body: str, start: int, limit: int, end: int) -> int:
    """The last good cut point in (start, limit], else the first after it (an unsplittable run)."""
    for cut in range(limit, start, -1):
        if _cuttable(body, cut):
            return cut
    return next((cut for cut in range(limit + 1, end) if _cuttable(body, cut)), end)


def _cuttable(body: str, cut: int) -> bool:
    # Never right after a token character: that keeps a run whole and a number with its unit (万, 件).
    before, after = body[cut - 1], body[cut]
    return before.isspace() or after.isspace() or before not in _TOKEN_CHARS


def _pack(units: list[Span], max_chars: int, min_chars: int) -> list[Span]:
    """Join consecutive units while a passage stays within max_chars, then fix short tails."""
    groups: list[list[Span]] = []
    for unit in units:
        if groups and unit[1] - groups[-1][0][0] <= max_chars:
            groups[-1].append(unit)
        else:
            groups.append([unit])
    for before, after in zip(groups, groups[1:], strict=False):
        _rebalance(before, after, max_chars, min_chars)
    return [(g[0][0], g[-1][1]) for g in groups]


def _rebalance(before: list[Span], after: list[Span], max_chars: int, min_chars: int) -> None:
    """Move trailing units of `before` into a too-short `after` while both stay reasonable.

    Greedy packing already joins a short passage to whatever follows when it fits, so a
    short passage is left only where the next one is full; taking units from the previous
    passage keeps a lone tail sentence from becoming a passage of its own.
    """
    while len(before) > 1 and after[-1][1] - after[0][0] < min_chars:
        moved = before[-1]
        if after[-1][1] - moved[0] > max_chars or before[-2][1] - before[0][0] < min_chars:
            return
        after.insert(0, before.pop())


def _strip(body: str, start: int, end: int) -> Span:
    """Narrow body[start:end] to exclude surrounding whitespace."""
    while start < end and body[start].isspace():
        start += 1
    while end > start and body[end - 1].isspace():
        end -= 1
    return start, end
