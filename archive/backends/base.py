"""The interface every index backend implements; the contract tests hold both to it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

import numpy as np

from archive.models import Chunk, Document, FacetCounts, Filters, KeywordQuery, Scored

# 2: passages carry their figures; 3: documents carry region level, province, city, covers and notes, and
# passages the province and city they fall under (an older index is refused until `python -m indexer reindex`)
SCHEMA_VERSION = 3

# (document, its passages, their vectors, their tokens): one unit of indexing.
IndexItem = tuple[Document, Sequence[Chunk], np.ndarray, Sequence[Sequence[str]]]


def check_lengths(chunks: Sequence, vectors: np.ndarray, tokens: Sequence) -> None:
    """An item's passages, vectors and tokens come in threes; a backend refuses anything else."""
    if not (len(chunks) == len(vectors) == len(tokens)):
        raise ValueError("chunks, vectors and tokens must have the same length")


class Backend(Protocol):
    """Stores documents with their passages and vectors; answers keyword and vector searches."""

    name: str

    def index_document(self, doc: Document, chunks: Sequence[Chunk], vectors: np.ndarray,
                       tokens: Sequence[Sequence[str]]) -> None:
        """Add or replace a document and all its passages atomically (old passages disappear)."""

    def index_documents(self, items: Sequence[IndexItem]) -> None:
        """index_document for several documents, in as few commits as the backend can; each stays whole.
        Items are checked first: one that is malformed (ValueError) writes none of them."""

    def delete_document(self, doc_id: str) -> bool:
        """Remove a document and its passages; False if it was not there."""

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
        """The id of a document with exactly this content, if any."""

    def list_documents(self) -> list[Document]: ...

    def document_facts(self) -> dict[str, tuple[int, float]]:
        """Per document id: its passage count and when it was last written (seconds since the epoch)."""

    def rebuild(self, items: Iterable[IndexItem]) -> int:
        """Build a fresh index from `items` beside the live one, check it, switch to it atomically.

        Searches keep answering from the old index until the switch. Returns the document count.
        """

    def stats(self) -> dict:
        """Counts (documents, passages), embedder id and dims, schema version, backend details."""

    def warm(self) -> None:
        """Prepare, after a write, what the next process's first search would otherwise wait for."""

    def ping(self) -> None:
        """Raise BackendUnavailable unless the index can answer."""

    def close(self) -> None: ...
