"""Plain data shared by the indexer, the backends and the search app."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

DOC_TYPES_FILE = Path(__file__).with_name("data") / "doc_types.json"


def _doc_types() -> tuple[str, ...]:
    # A package data file, not configuration: the kinds of report are part of the code's vocabulary.
    table = json.loads(DOC_TYPES_FILE.read_text(encoding="utf-8"))
    return tuple(t["type"] for t in table["types"]) + (table["fallback"],)


DOC_TYPES = _doc_types()
FACET_FIELDS = ("year", "region", "doc_type", "province", "city")
REGION_LEVELS = ("national", "province", "city", "county", "zone", "township")


@dataclass(frozen=True)
class Document:
    """One report: its metadata and where it came from."""

    doc_id: str
    title: str
    region: str | None = None
    year: int | None = None
    doc_type: str = "其他"
    publisher: str | None = None
    published: str | None = None  # ISO date, YYYY-MM-DD
    doc_number: str | None = None
    source_name: str = ""
    sha256: str = ""
    missing: tuple[str, ...] = ()  # metadata fields that could not be found
    # Where the region stands: its level (national | province | city | county | zone) and the
    # canonical names of the province and city above it (None where there is none).
    region_level: str | None = None
    province: str | None = None
    city: str | None = None
    covers: int | None = None  # the year a review reports on (a 政府工作报告 of 2026 covers 2025)
    notes: tuple[str, ...] = ()  # how the text was obtained, where that matters ("OCR：第 2、5 页")

    @property
    def region_path(self) -> tuple[str, ...]:
        """The region and the governments above it, outermost first, each once."""
        return tuple(dict.fromkeys(r for r in (self.province, self.city, self.region) if r))

    @property
    def in_province(self) -> str | None:
        """The province a report falls under for filters, facets and roll-ups: a provincial report its own."""
        return self.province or (self.region if self.region_level == "province" else None)

    @property
    def in_city(self) -> str | None:
        """The city a report falls under: the one above it, or its own region for a city's report."""
        return self.city or (self.region if self.region_level == "city" else None)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["missing"] = list(self.missing)
        d["notes"] = list(self.notes)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Document:
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        known["missing"] = tuple(known.get("missing") or ())
        known["notes"] = tuple(known.get("notes") or ())
        return cls(**known)


@dataclass(frozen=True)
class Chunk:
    """One passage of a report, cut along the report's own sections."""

    chunk_id: str
    doc_id: str
    position: int
    section: str  # heading path, e.g. "一、… > （三）…"; "" before the first heading
    text: str  # original text, for display
    figures: tuple[dict, ...] = ()  # numeric facts found in the text (indexer.figures.Figure.to_dict())

    @property
    def anchor(self) -> str:
        return f"p{self.position}"

    def to_dict(self) -> dict:
        return {**asdict(self), "figures": list(self.figures), "anchor": self.anchor}


def chunk_id_for(doc_id: str, position: int) -> str:
    """Stable passage id: the document id and the passage's position."""
    return f"{doc_id}-{position:04d}"


@dataclass(frozen=True)
class Filters:
    """Restrictions applied inside every retriever, never after a top-k cut."""

    region: tuple[str, ...] = ()
    doc_type: tuple[str, ...] = ()
    year: tuple[int, ...] = ()
    year_from: int | None = None
    year_to: int | None = None
    province: tuple[str, ...] = ()
    city: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        return self == Filters()

    def matches(self, doc: Document) -> bool:
        """The filter rule: what every backend's translation (SQL masks, Elasticsearch clauses) must agree with.

        A region matches the report's own region or a government above it (安康市 finds 恒口示范区);
        province and city match what the report falls under (`in_province`, `in_city`); values of one
        field are OR'ed, fields AND'ed; a year bound excludes reports without a year.
        """
        return ((not self.region or any(r in self.region for r in doc.region_path))
                and (not self.province or doc.in_province in self.province)
                and (not self.city or doc.in_city in self.city)
                and (not self.doc_type or doc.doc_type in self.doc_type)
                and (not self.year or doc.year in self.year)
                and (self.year_from is None or (doc.year is not None and doc.year >= self.year_from))
                and (self.year_to is None or (doc.year is not None and doc.year <= self.year_to)))


@dataclass(frozen=True)
class Tokens:
    """Every token an index stores for one document's passages, computed once (`archive.text.document_tokens`).

    Per passage, in passage order: its section path's tokens, its body's tokens and its folded text
    (what phrases and exclusions are matched in); once, the title's tokens. A backend stores these
    and never tokenises or folds a document itself.
    """

    title: tuple[str, ...]
    sections: tuple[tuple[str, ...], ...]
    bodies: tuple[tuple[str, ...], ...]
    folded: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.bodies)

    def is_whole(self) -> bool:
        """Whether sections, bodies and folded texts come one per passage alike."""
        return len(self.sections) == len(self.bodies) == len(self.folded)


@dataclass(frozen=True)
class KeywordQuery:
    """What a backend's keyword retriever needs, already tokenised and folded.

    `terms` are scored with BM25 (any of them may match); every phrase and
    every required term must occur; no excluded term may occur.

    `groups` are the query's words: one group a word, one alternative a way of writing
    it (the word, a synonym), each alternative the terms it needs, all of them. A passage
    holds a word when it holds every term of one of its alternatives, in any field. With
    two words or more, the passages holding every word rank first (by BM25), then the rest
    (by BM25): the same passages match either way, only their order changes.
    """

    terms: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()  # folded character sequences that must occur verbatim
    excluded: tuple[str, ...] = ()  # folded character sequences that must not occur
    groups: tuple[tuple[tuple[str, ...], ...], ...] = ()  # words -> alternatives -> terms
    # Per phrase, its tokens (`archive.text.tokenize`): a backend narrows to passages holding them
    # and scores them once more, as Elasticsearch's `should` clause does.
    phrase_terms: tuple[tuple[str, ...], ...] = ()

    def __post_init__(self) -> None:
        if len(self.phrase_terms) != len(self.phrases):
            raise ValueError("a KeywordQuery carries the tokens of each of its phrases (phrase_terms)")

    @property
    def ranks_all_words_first(self) -> bool:
        """Whether passages holding every word come first (a query of two words or more)."""
        return len(self.groups) > 1

    def is_empty(self) -> bool:
        return not self.terms and not self.phrases


@dataclass(frozen=True)
class Scored:
    """A passage id with the score one retriever gave it (higher is better)."""

    chunk_id: str
    score: float


@dataclass
class FacetCounts:
    """How many passages of the result set fall under each value of each facet field."""

    total: int = 0
    fields: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
