"""Parse what a user typed into the search box into text, phrases, exclusions and field filters.

Syntax: "quoted phrase" (exact character sequence), -词 (exclude), year:2021,
year:2019..2023, region:太原市, type:年度报告. Anything else is plain text, and
a malformed query degrades to plain text: parsing never fails.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from archive.text import fold, normalise, tokenize

_PHRASE = re.compile(r'"([^"]+)"|“([^”]+)”')
_FIELD = re.compile(r"(?<!\S)(year|region|type|doc_type):(\S+)", re.IGNORECASE)
_EXCLUDE = re.compile(r"(?<!\S)-(\S+)")
_YEAR_RANGE = re.compile(r"^(\d{4})(?:\.\.(\d{4})?)?$|^\.\.(\d{4})$")


@dataclass(frozen=True)
class ParsedQuery:
    """A search box's content, taken apart."""

    text: str  # what is left for keyword terms and for the embedder
    phrases: tuple[str, ...] = ()  # folded
    excluded: tuple[str, ...] = ()  # folded
    regions: tuple[str, ...] = ()
    doc_types: tuple[str, ...] = ()
    years: tuple[int, ...] = ()
    year_from: int | None = None
    year_to: int | None = None
    terms: tuple[str, ...] = field(default=())

    @property
    def semantic_text(self) -> str:
        """The text to embed: the plain words plus the phrases' words."""
        return " ".join(p for p in (self.text, *self.phrases) if p).strip()


def _year_filter(value: str) -> tuple[tuple[int, ...], int | None, int | None] | None:
    m = _YEAR_RANGE.match(value)
    if not m:
        return None
    single, upper, only_upper = m.groups()
    if only_upper:
        return (), None, int(only_upper)
    if ".." in value:
        return (), int(single), int(upper) if upper else None
    return (int(single),), None, None


def parse_query(raw: str) -> ParsedQuery:
    """Split a query string into its parts; unknown or malformed syntax stays as plain text."""
    q = normalise(raw or "").strip()
    phrases = tuple(fold(a or b).strip() for a, b in _PHRASE.findall(q) if (a or b).strip())
    q = _PHRASE.sub(" ", q)
    regions, types, years, year_from, year_to = [], [], [], None, None

    def take_field(m: re.Match) -> str:
        nonlocal year_from, year_to
        name, value = m.group(1).lower(), m.group(2)
        if name == "year":
            parsed = _year_filter(value)
            if parsed is None:
                return m.group(0)  # not a year: keep it as words
            years.extend(parsed[0])
            year_from = parsed[1] if parsed[1] is not None else year_from
            year_to = parsed[2] if parsed[2] is not None else year_to
        elif name == "region":
            regions.append(value)
        else:
            types.append(value)
        return " "

    q = _FIELD.sub(take_field, q)
    excluded = tuple(fold(w) for w in _EXCLUDE.findall(q))
    q = _EXCLUDE.sub(" ", q).replace('"', " ")
    text = " ".join(q.split())
    return ParsedQuery(
        text=text, phrases=phrases, excluded=excluded, regions=tuple(regions), doc_types=tuple(types),
        years=tuple(years), year_from=year_from, year_to=year_to, terms=tuple(tokenize(text)),
    )


def highlight_needles(parsed: ParsedQuery) -> list[str]:
    """Folded strings to mark in snippets: phrases and terms, longest first; single characters
    only when the query has nothing longer (marking every 数 or 年 helps nobody)."""
    words = {fold(w) for w in (*parsed.phrases, *parsed.terms) if w.strip()}
    if any(len(w) > 1 for w in words):
        words = {w for w in words if len(w) > 1}
    return sorted(words, key=lambda w: (-len(w), w))
