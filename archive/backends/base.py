"""The interface every index backend implements, and the data it takes and gives: the whole contract.

The contract tests (tests/contract) hold both backends to it. A backend gets everything already
computed: passages with their vectors and tokens (`IndexItem`), queries already tokenised
(`KeywordQuery`), filters as data (`Filters.matches` states their rule); it never tokenises.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import NamedTuple, Protocol

import numpy as np

from archive.models import Chunk, Document, FacetCounts, Filters, KeywordQuery, Scored, Tokens

# 2: passages carry their figures; 3: documents carry region level, province, city, covers and notes, and
# passages the province and city they fall under (an older index is refused until `python -m indexer reindex`)
SCHEMA_VERSION = 3
# Hashes per request of find_by_sha256s: under SQLite's oldest limit of 999 parameters, and a terms query
# of that many is one small search.
SHA_LOOKUP = 500


class IndexItem(NamedTuple):
    """One unit of indexing: a document, its passages, their vectors and their tokens, in passage order."""

    doc: Document
    chunks: Sequence[Chunk]
    vectors: np.ndarray
    tokens: Tokens


def check_item(item: IndexItem) -> None:
    """An item's passages, vectors and tokens come one for one; a backend refuses anything else."""
    chunks, vectors, tokens = item.chunks, item.vectors, item.tokens
    if not (len(chunks) == len(vectors) == len(tokens)) or not tokens.is_whole():
        raise ValueError("chunks, vectors and tokens must have the same length")


@dataclass(frozen=True)
class IndexStats:
    """What an index holds: the facts both backends report, and each one's own in `details`."""

    backend: str
    documents: int
    passages: int
    model_id: str | None
    dim: int
    schema_version: int
    size_bytes: int
    details: dict = field(default_factory=dict)  # embedded: path; elasticsearch: url, alias, index

    def to_dict(self) -> dict:
        """The JSON of `python -m indexer stats`: the common fields with the details beside them."""
        out = asdict(self)
        details = out.pop("details")
        return {**out, **details}


class Backend(Protocol):
    """Stores documents with their passages and vectors; answers keyword and vector searches."""

    name: str
    # Whether `index_documents` mostly waits on another process (a server indexing what it was sent), so that an
    # ingest may write one batch in a thread of its own while it embeds the next (`indexer.pipeline._Batch`):
    # one call at a time, in order, and no other call of the ingest's meanwhile.
    writes_in_background: bool

    def index_documents(self, items: Sequence[IndexItem]) -> None:
        """Add or replace documents, each with all its passages atomically (old passages disappear), in as
        few commits as the backend can. Items are checked first: one that is malformed (ValueError)
        writes none of them."""

    def delete_document(self, doc_id: str) -> bool:
        """Remove a document and its passages; False if it was not there."""

    def recorded_model_id(self) -> str | None:
        """The model id the archive's index was built with, read without creating or changing anything; None
        when there is no index yet. Works on a backend built with any dim and model id (`ARCHIVE_EMBEDDER=auto`
        asks before it knows them)."""

    def check_compatible(self) -> None:
        """Raise IndexMismatch unless the index was built with this embedder and schema (an empty one is)."""

    def keyword_search(self, query: KeywordQuery, filters: Filters, limit: int,
                       offset: int = 0) -> list[Scored]:
        """BM25 over passage tokens, filters applied inside the search; best first."""

    def vector_search(self, vector: np.ndarray, filters: Filters, limit: int) -> list[Scored]:
        """Nearest passages by cosine similarity, filters applied inside the search; best first."""

    def facets(self, query: KeywordQuery | None, filters: Filters,
               extra_ids: Iterable[str] = ()) -> FacetCounts:
        """Counts per year/region/doc_type over (passages matching `query` ∪ `extra_ids`) under `filters`.

        With no query and no ids: over every passage under `filters` (the archive's overview).
        """

    def get_document(self, doc_id: str) -> Document | None: ...

    def get_chunks(self, doc_id: str) -> list[Chunk]:
        """All passages of a document in reading order."""

    def get_chunks_by_id(self, chunk_ids: Sequence[str]) -> dict[str, Chunk]: ...

    def get_documents(self, doc_ids: Iterable[str]) -> dict[str, Document]: ...

    def get_vectors(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors of these passages (float32, as indexed) by id; unknown ids are left out."""

    def find_by_sha256(self, sha256: str) -> str | None:
        """The id of a document with exactly this content, if any (the first by id when several have it)."""

    def find_by_sha256s(self, sha256s: Iterable[str]) -> dict[str, str]:
        """find_by_sha256 for many hashes in a few requests (SHA_LOOKUP hashes each): hash -> id, for those
        stored. An ingest checks all its files at once with it, not one request per file."""

    def list_documents(self) -> list[Document]: ...

    def document_facts(self) -> dict[str, tuple[int, float]]:
        """Per document id: its passage count and when it was last written (seconds since the epoch)."""

    def rebuild(self, items: Iterable[IndexItem]) -> int:
        """Build a fresh index from `items` beside the live one, check it, switch to it atomically.

        Searches keep answering from the old index until the switch. Returns the document count.
        """

    def stats(self) -> IndexStats:
        """Counts (documents, passages), embedder id and dims, schema version, size, backend details."""

    def warm(self) -> None:
        """Optional: prepare, after a write, what the next process's first search would otherwise wait for.

        A backend with nothing to prepare (Elasticsearch: the node keeps what it loads) does nothing.
        """

    def ping(self) -> None:
        """Raise BackendUnavailable unless the index can answer."""

    def close(self) -> None: ...
