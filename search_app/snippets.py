"""Snippets and highlighting: escaped HTML with <mark> around query words.

Chinese has no spaces, so matching is on characters: the passage and the
needles are folded (full-width, traditional, case) and spans are mapped back to
the original characters, which is what the user sees.
"""

from __future__ import annotations

import re
from html import escape

from archive.text import fold_with_offsets

ELLIPSIS = "…"
_SENTENCE_END = re.compile(r"[。！？；!?;\n]")


def find_spans(text: str, needles: list[str]) -> list[tuple[int, int]]:
    """Spans of every needle in the text, overlapping ones merged.

    The needles are what was searched (`search_app.query.highlight_needles`: the typed words,
    phrases and synonyms), never jieba's fragments of them, so every one of them is marked:
    复议 in 复议案件 as well as 行政复议, and 行政 of 依法行政 never for a query of 行政复议.
    """
    return _spans(text, needles)


def _spans(text: str, needles: list[str]) -> list[tuple[int, int]]:
    """Non-overlapping (start, end) spans of the original text matching any folded needle."""
    folded, offsets = fold_with_offsets(text)
    hits = []
    for needle in needles:
        start = folded.find(needle) if needle else -1
        while start >= 0:
            end = start + len(needle)
            hits.append((offsets[start], offsets[end - 1] + 1))
            start = folded.find(needle, end)
    hits.sort(key=lambda s: (s[0], -s[1]))
    merged: list[tuple[int, int]] = []
    for s, e in hits:
        if merged and s <= merged[-1][1]:  # adjacent spans read as one mark
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def render(text: str, spans: list[tuple[int, int]], start: int = 0, end: int | None = None) -> str:
    """Escape text[start:end] and wrap the spans inside it in <mark>."""
    end = len(text) if end is None else end
    out, pos = [], start
    for s, e in spans:
        s, e = max(s, start), min(e, end)
        if s >= e:
            continue
        out.append(escape(text[pos:s]))
        out.append(f"<mark>{escape(text[s:e])}</mark>")
        pos = e
    out.append(escape(text[pos:end]))
    return "".join(out)


def highlight(text: str, needles: list[str]) -> str:
    """The whole text, escaped, every needle marked."""
    return render(text, find_spans(text, needles))


def _best_window(text: str, spans: list[tuple[int, int]], needles_of: list[str], width: int) -> int:
    """Start of the window of `width` characters covering the most distinct matched words."""
    best, best_key = 0, (-1, -1)
    for s, _ in spans:
        inside = [j for j, (s2, e2) in enumerate(spans) if s <= s2 and e2 <= s + width]
        key = (len({needles_of[j] for j in inside}), len(inside))
        if key > best_key:
            best, best_key = s, key
    return best


def _closest_sentence(text: str, query: str) -> int:
    """Start of the sentence sharing the most characters with the query (for semantic-only hits)."""
    wanted = set(query)
    best, best_score, start = 0, 0, 0
    for m in [*_SENTENCE_END.finditer(text), None]:
        end = m.end() if m else len(text)
        score = len(wanted & set(text[start:end]))
        if score > best_score:
            best, best_score = start, score
        start = end
    return best


def snippet(text: str, needles: list[str], query: str = "", width: int = 160) -> str:
    """The passage's best window of about `width` characters, escaped, matches marked."""
    spans = find_spans(text, needles)
    if len(text) <= width:
        return render(text, spans)
    if spans:
        folded_words = [fold_with_offsets(text[s:e])[0] for s, e in spans]
        anchor = _best_window(text, spans, folded_words, width)
        # Open the window a little before the first match, at a sentence start when one is near.
        start = max(0, min(anchor - width // 6, len(text) - width))
        boundary = max(text.rfind(c, max(0, start - 20), anchor) for c in "。；！？\n")
        if boundary >= 0 and anchor - boundary <= width // 3:
            start = boundary + 1
    else:
        start = min(_closest_sentence(text, query), max(0, len(text) - width))
    end = min(len(text), start + width)
    end = next((e for s, e in spans if s < end < e), end)  # never cut a match in two
    html = render(text, spans, start, end)
    return (ELLIPSIS if start > 0 else "") + html + (ELLIPSIS if end < len(text) else "")
