"""Same-sentence and same-passage constraints (`行政复议 /s 案件`, `复议 /p 纠错率`), checked on passage text.

Retrievers rank passages; these constraints only keep or drop what they found,
so they are pure functions of a passage's folded text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

SCOPES = ("s", "p")  # sentence, passage
# Sentence ends in folded text (NFKC turns ！？ into !?); a line break also ends a sentence.
_SENTENCE_END = re.compile(r"[。!?…\n]+")


@dataclass(frozen=True)
class Proximity:
    """Words (folded) that must all occur within one sentence (`s`) or one passage (`p`)."""

    scope: str
    words: tuple[str, ...]


def sentences(folded: str) -> list[str]:
    """A folded text cut at sentence ends (。！？… and line breaks); empty pieces dropped."""
    return [s for s in _SENTENCE_END.split(folded) if s.strip()]


def satisfies(folded: str, constraints: Sequence[Proximity]) -> bool:
    """True when every constraint holds in `folded` (a passage's folded text)."""
    units: list[str] | None = None
    for c in constraints:
        if c.scope == "p":
            if not all(w in folded for w in c.words):
                return False
            continue
        units = sentences(folded) if units is None else units
        if not any(all(w in unit for w in c.words) for unit in units):
            return False
    return True
