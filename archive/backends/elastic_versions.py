"""How the Elasticsearch backend replaces a document without a reader ever seeing half of it.

Elasticsearch writes one record at a time, so a document with many passages cannot be
swapped in one step. Instead every write of a document gets a fresh `version`, stored on
each of its passages (whose `_id` is `<chunk_id>@<version>`, so the live passages are
never overwritten) and on the document's record. The record is the commit point:

1. announce: the record lists the new version under `hidden` (a new document gets a
   placeholder record), before any passage of it exists;
2. the passages are written and refreshed;
3. the flip: one write of the record makes the new version live, hides the old one and
   marks it `retired` (its writer finished: nothing is added to it any more);
4. the sweep: the passages of hidden versions are deleted, then the finished ones are no
   longer listed (a version still being written by a concurrent ingest, or by one that died
   less than STALE_AFTER_MS ago, stays hidden: passages written after the sweep would
   otherwise appear).

A document's record and passages are routed by its doc id to one shard, where writes apply in
order. So in every searcher snapshot each passage belongs to its record's live version or to
a version the record hides. Reads that return passages keep a hit only if its version is the one
its record names when read right after (in real time, by id: `LiveCache` spares reading a record
whole that has not changed); a hit of any other version means an ingest moved on, and the search
runs again without that version, by then seeing the live one's passages (they are refreshed
before the record switches). Counts have no hits to check: they ask for the hidden versions in
the same request (a `global` aggregation sees the very snapshot that counts) and count again
when the snapshot hid something else. A writer that dies at any step, even with its
node killed (the translog replays acknowledged writes in order), leaves the old version (or
nothing) visible; the next write of the document, or the first write of a later process,
cleans up.
Records are written conditionally (seq_no), so of two concurrent writers of one document
one fails with ConcurrentChange instead of deleting the other's passages under it.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from archive.errors import ArchiveError

PASSAGE, DOCUMENT, PLACEHOLDER = "passage", "document", "placeholder"
HIDDEN_AGG = "hidden_versions"
MAX_HIDDEN = 10_000  # hidden versions read per search; normally a handful
STALE_AFTER_MS = 3_600_000  # a version announced this long ago has no writer left adding passages


class ConcurrentChange(ArchiveError):
    """Another writer changed the document while this one was writing it."""

    code = "conflict"
    status = 409


def new_version() -> str:
    """A write's version: when it started (epoch ms, to recognise abandoned ones) and a random part."""
    return f"{time.time_ns() // 1_000_000}-{uuid.uuid4().hex[:12]}"


def abandoned(version: str, now_ms: int | None = None) -> bool:
    started = version.partition("-")[0]
    now_ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    return started.isdigit() and now_ms - int(started) > STALE_AFTER_MS


def passage_id(chunk_id: str, version: str) -> str:
    return f"{chunk_id}@{version}"


RECORD_SUFFIX = "#doc"


def doc_record_id(doc_id: str) -> str:
    """`_id` of a document's own record; passage ids end in a version, so this never collides."""
    return f"{doc_id}{RECORD_SUFFIX}"


def record_doc_id(record_id: str) -> str:
    return record_id.removesuffix(RECORD_SUFFIX)


@dataclass(frozen=True)
class Record:
    """A document's record as read in real time, with what a conditional write-back needs."""

    doc_id: str
    source: dict = field(default_factory=dict)
    seq_no: int | None = None  # None: there is no record
    primary_term: int | None = None

    @property
    def is_document(self) -> bool:
        return self.source.get("kind") == DOCUMENT

    @property
    def live(self) -> str | None:
        """The version readers see (None for a placeholder, or a record from before versions)."""
        return self.source.get("version") if self.is_document else None

    @property
    def hidden(self) -> set[str]:
        return set(self.source.get("hidden") or ())

    @property
    def retired(self) -> set[str]:
        return set(self.source.get("retired") or ())

    def finished(self) -> set[str]:
        """Hidden versions that nobody adds passages to any more: once live, or abandoned."""
        return self.hidden & (self.retired | {v for v in self.hidden if abandoned(v)})

    def guard(self) -> dict:
        """Write conditions: the record is still as read (or still absent)."""
        if self.seq_no is None:
            return {"op_type": "create"}
        return {"if_seq_no": self.seq_no, "if_primary_term": self.primary_term}

    def hiding(self, versions: Iterable[str]) -> dict:
        """This record's source (a placeholder if there is none) with `versions` hidden too."""
        base = self.source or {"kind": PLACEHOLDER, "doc_id": self.doc_id}
        return with_hidden(base, self.hidden | set(versions), self.retired)

    def unhiding(self, versions: set[str]) -> dict:
        return with_hidden(self.source, self.hidden - versions, self.retired - versions)


def with_hidden(source: dict, hidden: Iterable[str], retired: Iterable[str]) -> dict:
    return {**source, "hidden": sorted(hidden), "retired": sorted(retired)}


# -- reading: leave hidden versions out ---------------------------------------------------------


def live_clauses(hidden: Iterable[str]) -> list[dict]:
    """Filter clauses leaving out the passages of hidden versions."""
    hidden = sorted(hidden)
    return [{"bool": {"must_not": [{"terms": {"version": hidden}}]}}] if hidden else []


def hidden_agg() -> dict:
    """Every version some record hides; `global` reads the whole snapshot that answers the search."""
    versions = {"terms": {"field": "hidden", "size": MAX_HIDDEN}}
    return {"global": {}, "aggs": {"records": {"filter": {"exists": {"field": "hidden"}},
                                               "aggs": {"versions": versions}}}}


def hidden_in(response: dict) -> tuple[str, ...]:
    agg = (response.get("aggregations") or {}).get(HIDDEN_AGG)
    return tuple(sorted(b["key"] for b in agg["records"]["versions"]["buckets"])) if agg else ()


def hit_field(hit: dict, name: str):
    """A docvalue field of a hit (None when the passage has none, e.g. written before versions)."""
    return (hit.get("fields", {}).get(name) or [None])[0]


Head = tuple[str, int, int]  # where a record stands: its index, seq_no and primary term


class LiveCache:
    """The live version each record named when last read whole, keyed by where the record stood.

    Every write of a record gives it a new (seq_no, primary term), so a record still standing where
    it did names the same live version, and reading just its head (no source: a quarter of the cost)
    is enough. It only ever confirms that a hit's version is live: an index dropped and made again
    under the same name restarts its seq_nos, but not the random versions its records name."""

    def __init__(self, size: int = 100_000) -> None:
        self.size = size
        self._known: dict[str, tuple[Head, str | None]] = {}
        self._lock = threading.Lock()

    def confirms(self, doc_id: str, head: Head | None, version: str | None) -> bool:
        with self._lock:
            known = self._known.get(doc_id)
        return head is not None and known == (head, version)

    def remember(self, doc_id: str, head: Head, live: str | None) -> None:
        with self._lock:
            self._known.pop(doc_id, None)
            self._known[doc_id] = (head, live)
            while len(self._known) > self.size:  # oldest first
                del self._known[next(iter(self._known))]


def head_of(found: dict) -> Head:
    """Where a record read by mget stands (see LiveCache)."""
    return found["_index"], found["_seq_no"], found["_primary_term"]


DocVersion = tuple[str | None, str | None]  # a hit's document id and version


def doc_versions(hits: list[dict]) -> list[DocVersion]:
    """Each hit's document and version, from its doc values (HIT_FIELDS)."""
    return [(hit_field(h, "doc_id"), hit_field(h, "version")) for h in hits]


def is_live(doc_id: str | None, version: str | None, live: dict[str, str | None]) -> bool:
    """Whether a hit of this document and version is live (`live`: doc id -> its record's live version)."""
    return doc_id in live and live[doc_id] == version


def distinct_runs(items: Sequence, key: Callable) -> Iterator[list]:
    """Consecutive runs of items in which no key repeats. A batch's documents go through each step
    together, and a document twice in one batch would collide with itself: it is written twice."""
    run: list = []
    seen: set = set()
    for item in items:
        if key(item) in seen:
            yield run
            run, seen = [], set()
        run.append(item)
        seen.add(key(item))
    if run:
        yield run
