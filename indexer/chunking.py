"""Section-aware chunking: cut a cleaned report body into passages under their heading path.

Headings are recognised by the report's own numbering (一、 / （一） / 1. ...) on a normalised
view of each line, but every passage is a slice of the original body, so offsets stay exact:
each passage's text equals `body[start:start + len(text)]`, passages are in order, and only
whitespace between them is left uncovered.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, lru_cache

from archive.text import DATA_DIR, normalise

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
_HEADING_SPAN = _MARKER_PREFIX + HEADING_MAX_CHARS  # all of a line `_heading` reads (> HEADING_MAX_CHARS + 1)
# What a marker above can start with, besides a decimal digit (`\d`): tests/unit/test_chunking.py holds
# every pattern to it.
_MARKER_FIRST = frozenset("第()" + _CN)
# What `normalise(...).lstrip()` takes off the front of a line: whitespace, and the spaces it makes of these.
_BLANK = "".join(chr(c) for c in range(0x3001) if chr(c).isspace()) + "\u200b\ufeff"


@lru_cache(maxsize=4096)
def _may_open_marker(first: str) -> bool:
    """Whether a line whose first non-blank character is `first` may open with a marker once normalised: NFKC
    makes "（", "⑴", "㈠", "１" of it, say, and composes nothing into or out of these characters."""
    head = normalise(first).lstrip()
    return not head or head[0] in _MARKER_FIRST or head[0].isdecimal()

# Where a long paragraph may break, coarsest first. Each pattern's match end is a cut point.
_SENTENCE_END = re.compile(
    r"[。！？；!?;][”’\"」』)）】》]*"  # a closing quote or bracket stays with its sentence
    r"|(?<=[，,：:])(?=[一二三四五六七八九十]{1,2}是)"  # inline 一是/二是 items are natural sub-items
)
# "1,234" and "3，256" are one number, not a clause break (a full-width comma before three digits: see
# `indexer.figures._thousands`)
_COMMA = re.compile(r"(?<!\d)，|，(?![0-9]{3}(?![0-9]))|(?<!\d),|,(?!\d)")
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
    # What decides it is the line's first _HEADING_SPAN characters (its marker, and whether its first sentence
    # ends within a heading's length): repairing, cutting and titling ask again of the same lines.
    return _heading_of(line[:_HEADING_SPAN])


def _may_open(line: str) -> bool:
    """Whether a line may open with a heading marker: most lines cannot, and need no normalising."""
    first = line.lstrip(_BLANK)[:1]
    return bool(first) and _may_open_marker(first)


@lru_cache(maxsize=4096)
def _heading_of(line: str) -> _Heading | None:
    if not _may_open(line):
        return None
    head = normalise(line[:_MARKER_PREFIX]).lstrip()
    for level, enumeration, pattern in _MARKERS:
        match = pattern.match(head)
        if match:
            if is_numbered_sentence(line) or is_table_row(line):
                return None
            return _Heading(level, enumeration, _heading_text(line, match.end()))
    return None


_CLAUSE_COMMA = re.compile(r"[,，]")
_MARKER_CELL = 4  # "一、", "（十二）": a first cell this short is a list marker, and a tab after it its spacing


def is_table_row(line: str) -> bool:
    """A table's row as the readers write it, cells apart by tabs ("一、本年新收政府信息公开申请数量<tab>120"):
    numbered like a heading, yet no heading. A tab right after the marker alone ("一、<tab>总体情况", Word's list
    spacing) parts no cells."""
    cells = [cell for cell in line.split("\t") if cell.strip(_BLANK)]
    if cells and len(cells[0].strip(_BLANK)) <= _MARKER_CELL:
        cells = cells[1:]
    return len(cells) > 1


def is_numbered_sentence(line: str) -> bool:
    """A numbered line that is a sentence, not a heading: "(三十四)各部门要提高站位,拔高标准,认真落实…。"
    Its first sentence runs past a heading's length with two clause breaks in a heading's span."""
    end = _HEADING_END.search(line)
    first = line[: end.start()] if end else line
    return len(first) > HEADING_MAX_CHARS and len(_CLAUSE_COMMA.findall(line, 0, HEADING_MAX_CHARS)) >= 2


def _heading_text(line: str, marker_end: int) -> str:
    """The line up to its first sentence end after the marker, at most HEADING_MAX_CHARS."""
    end = _HEADING_END.search(line, min(marker_end, HEADING_MAX_CHARS), HEADING_MAX_CHARS)
    # A 40-character cut can end on a comma; a path element reads better without it.
    return line[: end.start() if end else HEADING_MAX_CHARS].rstrip(" \t,，、")


# ---------------------------------------------------------------- repairs before cutting

_LOST_OPEN = re.compile(rf"([{_CN}]+)[)）](?=\s*\w)")  # "十一)": the opening bracket lost
_LOST_NUMBER = re.compile(r"[)）](?=\s*\w)")  # ")加强…": the number lost with it
_LEVEL_TWO = re.compile(rf"[(（]([{_CN}]+)[)）]")
_LEVEL_ONE = re.compile(rf"[{_CN}]+、")
# Where a report's line breaks were lost, a heading marker right after a sentence end starts a line.
_INLINE_HEADING = re.compile(rf"(?<=[。；！？!?;])[ \t\u3000]*(?=(?:[{_CN}]{{1,3}}、|[(（][{_CN}]{{1,3}}[)）]"
                             rf"|第[{_CN}]+部分)\S)")
UNFOLD_MIN_CHARS = 200  # a line this long with headings inside it is a report that lost its breaks
_ITEM = re.compile(r"[^,，。；;]{2,30}。")  # an item whose number was lost: a short first sentence


@cache
def _body_verbs() -> re.Pattern[str]:
    table = json.loads((DATA_DIR / "headings.json").read_text("utf-8"))
    return re.compile("|".join(map(re.escape, table["body_verbs"])))


def repair_headings(body: str) -> str:
    """The body with its headings made whole: one-line reports broken before their headings, lost
    brackets and numbers restored ("十一)" -> "（十一）"), a heading run into its body split from it;
    and its paragraphs whole where the text was wrapped at a page's width (`unwrap`)."""
    lines = [piece for line in unwrap(body.split("\n")) for piece in _unfold(line)]
    lines = _restore_numbers(lines)
    return "\n".join(piece for line in lines for piece in _split_fused(line))


# Text wrapped at a width (PDF text layers, OCR, hard-wrapped .txt): most long lines are one width, in display
# columns (a CJK character two, a digit one: justified lines hold more digits), and most of those stop mid-sentence.
_WRAP_SLACK = 3  # display columns a full line may fall short of the width (a line ends before a wide character)
_WRAP_INDENT = 4  # display columns a paragraph's first line is indented by ("　　", two full-width spaces), stripped
_WRAP_MIN_WIDTH = 24  # narrower "lines" are lists of short items, not wrapped prose
_WRAP_MIN_LINES = 6
_WRAP_SHARE = 0.4  # of the long lines at the width
_WRAP_OPEN_SHARE = 0.6  # of those, the share that stops mid-sentence
_SENTENCE_CLOSE = "。！？!?；;：:"


_NARROW = re.compile(r"[\u0000-\u10ff]+")


def _columns(line: str) -> int:
    """Display columns: two a character from U+1100 (CJK, full-width forms), one any other."""
    return 2 * len(line) - sum(map(len, _NARROW.findall(line)))


def wrap_width(lines: list[str]) -> int | None:
    """The width, in display columns, a text was wrapped at; None where its lines are paragraphs."""
    measured = [(line, _columns(line)) for line in lines if len(line) >= 10 and "\t" not in line]
    widths = sorted(w for _, w in measured)
    if len(widths) < _WRAP_MIN_LINES:
        return None
    # the width most lines reach, give or take the slack (a line is as wide as it or a little short of it)
    best, width = max((bisect_right(widths, at) - bisect_left(widths, at - _WRAP_SLACK), at) for at in set(widths))
    if width < _WRAP_MIN_WIDTH or best < _WRAP_SHARE * len(widths):
        return None
    full = [line for line, w in measured if width - _WRAP_SLACK <= w <= width]
    open_ended = sum(1 for line in full if line.rstrip()[-1:] not in _SENTENCE_CLOSE)
    return width if open_ended >= _WRAP_OPEN_SHARE * len(full) else None


def unwrap(lines: list[str]) -> list[str]:
    """Lines wrapped at a width joined into their paragraphs: a full line that stops mid-sentence runs on into the
    next, unless that is blank, a heading or a table row. Text whose lines are paragraphs is returned as it is."""
    width = wrap_width(lines)
    if width is None:
        return lines
    out: list[str] = []
    joined = False  # whether out[-1] ends with a full line
    for line in lines:
        prev = out[-1] if out else ""
        if (joined and line.strip() and "\t" not in line and not _opens_heading(line)):
            out[-1] = prev + (" " if prev[-1:].isascii() and prev[-1:].isalnum() and line[:1].isascii()
                              and line[:1].isalpha() else "") + line.strip()
        else:
            out.append(line)
        last = out[-1]
        # a paragraph's first line is full short of its indent, which cleaning took away
        short_by = _WRAP_SLACK + (_WRAP_INDENT if last is line else 0)
        joined = (bool(last.strip()) and "\t" not in line and _columns(line.strip()) >= width - short_by
                  and line.rstrip()[-1:] not in _SENTENCE_CLOSE and not (last is line and _bare_heading(line)))
    return out


_CONTINUES = ")）]】》”’,，.。、;；:：!！?？"  # a wrapped line opening with one of these goes on with a sentence


def _opens_heading(line: str) -> bool:
    """A heading starts the line: in wrapped text never one that opens with a closing bracket or punctuation
    (")一体化化解…" is a sentence going on, not a heading whose number was lost)."""
    return line.lstrip()[:1] not in _CONTINUES and detect_heading(line) is not None


def _bare_heading(line: str) -> bool:
    """A heading with no body after it on its line."""
    heading = detect_heading(line) if _opens_heading(line) else None
    return heading is not None and len(heading[1]) >= len(line.strip())


def _unfold(line: str) -> list[str]:
    if len(line) < UNFOLD_MIN_CHARS:
        return [line]
    return [piece for piece in _INLINE_HEADING.split(line) if piece]


def _restore_numbers(lines: list[str]) -> list[str]:
    """Second-level numbers: "十一)" gets its bracket; a lone ")" gets its number where the numbers
    around it and the items between (short first sentences) agree on one, or where it stands right
    before or after a known number; otherwise it stays as it is."""
    out = list(lines)
    pending: list[tuple[int, int]] = []  # (line index, items since the previous number)
    known, items, gap = None, 0, 0  # gap: paragraphs of any kind since the last number or lone ")"
    for i, line in enumerate(lines):
        bare = line.lstrip()
        if m := _LOST_OPEN.match(bare):
            out[i] = line[: len(line) - len(bare)] + f"（{m.group(1)}）" + bare[m.end() :]
        m = m or _LEVEL_TWO.match(bare)
        if m:
            number = _numeral(m.group(1))
            _number_pending(out, pending, known, items, gap, number)
            pending, known, items, gap = [], number, 0, 0
        elif _LOST_NUMBER.match(bare) and not is_numbered_sentence(bare):
            if known is not None and not pending and gap == 0:  # right after (k): it is k + 1
                _set_number(out, i, known + 1)
                known += 1
            else:
                pending.append((i, items))
            items, gap = 0, 0
        elif bare and not _LEVEL_ONE.match(bare):
            items += bool(_ITEM.match(bare))
            gap += 1
    return out


@lru_cache(maxsize=1024)  # the same few numerals head every report's items, and cn2an checks each slowly
def _numeral(text: str) -> int:
    from cn2an import cn2an

    return cn2an(text, "smart")


def _number_pending(out: list[str], pending: list[tuple[int, int]], known: int | None, items: int, gap: int,
                    number: int) -> None:
    if not pending:
        return
    if known is not None and known + sum(n for _, n in pending) + len(pending) + items == number - 1:
        for j, between in pending:
            known += between + 1
            _set_number(out, j, known)
    elif gap == 0:  # right before (m): it is m - 1
        _set_number(out, pending[-1][0], number - 1)


def _set_number(out: list[str], i: int, number: int) -> None:
    from cn2an import an2cn

    bare = out[i].lstrip()
    out[i] = out[i][: len(out[i]) - len(bare)] + f"（{an2cn(number)}）" + bare[1:]


_SPACED_HEAD = re.compile(rf"([^\s。，,；;：:]{{3,{HEADING_MAX_CHARS}}})[ \t\u3000]+(?=\S*[，,。])")


def _split_fused(line: str) -> list[str]:
    """A numbered heading run into its body: split at the space between them ("一、工作回顾 过去一年，…"),
    or with no punctuation between, before the verb that opens the body ("…政府立法制定《…》")."""
    if not _may_open(line):  # no heading in it either way (a spaced head starts where the line does)
        return [line]
    spaced = _SPACED_HEAD.match(line.lstrip())
    if spaced and _heading(spaced.group(1)):
        cut = len(line) - len(line.lstrip()) + spaced.end()
        return [line[: len(line) - len(line.lstrip()) + spaced.end(1)], line[cut:]]
    heading = _heading(line)
    end = _HEADING_END.search(line)
    if heading is None or heading.level > 2 or (end and end.start() <= HEADING_MAX_CHARS):
        return [line]
    quote = line.find("《", 0, HEADING_MAX_CHARS)
    verb = None if quote < 0 else next((m for m in _body_verbs().finditer(line, 0, quote) if m.end() == quote), None)
    if verb is None or verb.start() < 6:
        return [line]
    return [line[: verb.start()], line[verb.start():]]


def chunk_text(body: str, max_chars: int = 500, min_chars: int = 80) -> list[Passage]:
    """Cut `body` into passages of at most `max_chars`, a new one at every heading.

    A heading is never a passage of its own: a heading with no body before the next heading goes into
    that heading's first passage, and a heading starts its section's first passage."""
    passages = []
    carried: list[Span] = []  # bare headings waiting for the next section's body
    last = ""
    for section, paragraphs, headed in _sections(body):
        if headed and len(paragraphs) == 1 and _is_bare_heading(body, *paragraphs[0]):
            carried.extend(_units(body, *paragraphs[0], max_chars))
            last = section
            continue
        units = carried + [u for s, e in paragraphs for u in _units(body, s, e, max_chars)]
        units = _fit_after_headings(body, units, len(carried) + headed, max_chars)
        carried = []
        for start, end in _pack(units, max_chars, min_chars):
            passages.append(Passage(section, body[start:end], start))
    if carried:  # headings at the very end (a truncated report): they close the last passage if it has room
        prev = passages[-1] if passages else None
        if prev and carried[-1][1] - prev.start <= max_chars:
            passages[-1] = Passage(prev.section, body[prev.start : carried[-1][1]], prev.start)
        else:
            passages += [Passage(last, body[s:e], s) for s, e in _pack(carried, max_chars, min_chars)]
    return passages


def _is_bare_heading(body: str, start: int, end: int) -> bool:
    heading = _heading(body[start:end])
    return heading is not None and len(heading.text) >= end - start - 1


def _fit_after_headings(body: str, units: list[Span], heads: int, max_chars: int) -> list[Span]:
    """Cut the unit after the leading headings small enough to share a passage with them."""
    if heads == 0 or len(units) <= heads:
        return units
    start, (first_start, first_end) = units[0][0], units[heads]
    budget = max_chars - (first_start - start)
    if first_end - start <= max_chars or budget < min(max_chars, 2 * HEADING_MAX_CHARS) // 2:
        return units
    return units[:heads] + _units(body, first_start, first_end, budget) + units[heads + 1 :]


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


def _sections(body: str) -> Iterator[tuple[str, list[Span], bool]]:
    """Groups of paragraphs, one group per heading (and one before the first), with their path and
    whether the group opens with its heading."""
    open_headings: list[_Heading] = []
    path, paragraphs, headed = "", [], False
    for start, end in _lines(body):
        heading = _heading(body[start : min(end, start + _HEADING_SPAN)])
        # 一是 inside a 一、/(一) outline numbers paragraphs of that section; it only opens a
        # section where the report itself is outlined by 一是 (or has no outline yet).
        if heading and heading.enumeration and open_headings and not open_headings[0].enumeration:
            heading = None
        if heading:
            if paragraphs:
                yield path, paragraphs, headed
            open_headings = [h for h in open_headings if h.level < heading.level] + [heading]
            path, paragraphs, headed = SECTION_SEP.join(h.text for h in open_headings), [], True
        paragraphs.append((start, end))
    if paragraphs:
        yield path, paragraphs, headed


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
