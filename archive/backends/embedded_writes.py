"""The embedded backend's write side: the schema of its SQLite file, and writing a document.

`insert` stores one document with its passages (text, folded text, vector, figures, field lengths),
their FTS5 rows and the document's postings (per term, the passages and their term frequencies in
title, section and body, which keyword search scores with Lucene's BM25); `delete` removes all of
that again; `build_beside` and `swap_in` are a reindex's new file and its switch. The facade
(`embedded.py`) runs them inside `Connections.writing()` transactions.
"""

from __future__ import annotations

import json
import os
import sqlite3
import string
import time
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path

import numpy as np

from archive.backends.base import IndexItem, check_item
from archive.backends.embedded_db import Connections
from archive.models import Document

# 2: FTS5 tokens are exactly the whitespace-separated jieba tokens, field lengths stored.
LAYOUT = "2"
# Every ASCII punctuation mark is part of a token ("99.77%"), as with Elasticsearch's
# whitespace analyzer: one FTS5 token per jieba token, so the counts agree.
_TOKENIZE = "ascii tokenchars '" + string.punctuation.replace("'", "''") + "'"
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY, title TEXT NOT NULL, region TEXT, year INTEGER, doc_type TEXT NOT NULL,
    publisher TEXT, published TEXT, doc_number TEXT, source_name TEXT, sha256 TEXT,
    missing TEXT NOT NULL DEFAULT '[]', indexed_at REAL NOT NULL,
    region_level TEXT, province TEXT, city TEXT, covers INTEGER, notes TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS documents_sha ON documents (sha256);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY, chunk_id TEXT NOT NULL UNIQUE, doc_id TEXT NOT NULL, position INTEGER NOT NULL,
    section TEXT NOT NULL, text TEXT NOT NULL, fold TEXT NOT NULL,
    region TEXT, year INTEGER, doc_type TEXT NOT NULL, vec BLOB NOT NULL, figures TEXT NOT NULL DEFAULT '[]',
    n_title INTEGER NOT NULL DEFAULT 0, n_section INTEGER NOT NULL DEFAULT 0, n_body INTEGER NOT NULL DEFAULT 0,
    province TEXT, city TEXT
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks (doc_id, position);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5 (title, section, body, tokenize = "{}");
CREATE TABLE IF NOT EXISTS postings (
    term TEXT NOT NULL, doc INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (term, doc)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS postings_doc ON postings (doc);
""".format(_TOKENIZE.replace('"', '""'))

REBUILD_GROUP = 64  # documents a reindex writes per statement (their items are held in memory meanwhile)


class Postings:
    """Postings as stored: per (term, document row), rows of (passage row id, tf in title, section, body)."""

    def __init__(self) -> None:
        self.by_doc: dict[int, dict[str, list[int]]] = {}

    def add(self, doc_row: int, row_id: int, fields: Sequence[Counter]) -> None:
        """One passage's term counts, field by field (title, section, body)."""
        title, section, body = fields
        # Most terms are in the body only: its entries are made in one pass, the few heading terms set after.
        mine = {term: [row_id, 0, 0, n] for term, n in body.items()}
        for f, counts in ((1, title), (2, section)):
            for term, n in counts.items():
                entry = mine.get(term)
                if entry is None:
                    mine[term] = entry = [row_id, 0, 0, 0]
                entry[f] = n
        terms = self.by_doc.setdefault(doc_row, {})
        for term, entry in mine.items():
            flat = terms.get(term)
            if flat is None:
                terms[term] = entry
            else:
                flat += entry

    def rows(self) -> list[tuple[str, int, bytes]]:
        """(term, document row, blob) in key order: inserted in b-tree order, each page is touched once."""
        # array("i"): C ints, int32 wherever the index is read (numpy int32), as np.array(..., np.int32) wrote them.
        rows = [(term, doc, array("i", flat).tobytes()) for doc, terms in self.by_doc.items()
                for term, flat in terms.items()]
        rows.sort()  # (term, doc) is unique: blobs are never compared
        return rows


def insert(db: sqlite3.Connection, item: IndexItem) -> None:
    """Store one document, its passages, their FTS5 rows and its postings (replacing what was there)."""
    insert_many(db, [item])


def insert_many(db: sqlite3.Connection, items: Sequence[IndexItem]) -> None:
    """Store documents as `insert` does, FTS rows and postings of all of them in one statement each."""
    postings, fts_rows = Postings(), []
    for item in items:
        check_item(item)
        stored = db.execute("SELECT rowid FROM documents WHERE doc_id = ?", (item.doc.doc_id,)).fetchone()
        if stored is not None:  # a replaced document: what is pending goes in first, then the old rows go
            _write_pending(db, postings, fts_rows)
            postings, fts_rows = Postings(), []
            delete(db, item.doc.doc_id)
        # Passage row ids as SQLite would choose them (one more than the largest in use), known before
        # inserting, so FTS rows and postings need no row id read back passage by passage.
        next_id = (db.execute("SELECT max(id) FROM chunks").fetchone()[0] or 0) + 1
        doc_row = _insert_document(db, item.doc)
        chunk_rows = []
        for row_id, chunk_row, fts_row, fields in _passages(item, next_id):
            chunk_rows.append(chunk_row)
            fts_rows.append(fts_row)
            postings.add(doc_row, row_id, fields)
        db.executemany(_CHUNK_INSERT, chunk_rows)
    _write_pending(db, postings, fts_rows)


def _write_pending(db: sqlite3.Connection, postings: Postings, fts_rows: list[tuple]) -> None:
    db.executemany("INSERT INTO fts (rowid, title, section, body) VALUES (?,?,?,?)", fts_rows)
    db.executemany("INSERT INTO postings VALUES (?,?,?)", postings.rows())


_CHUNK_INSERT = ("INSERT INTO chunks (id, chunk_id, doc_id, position, section, text, fold, region, year, doc_type, "
                 "vec, figures, n_title, n_section, n_body, province, city) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")


def _insert_document(db: sqlite3.Connection, doc: Document) -> int:
    """The document's row; its row id (what its postings are stored under)."""
    d = doc.to_dict()
    return db.execute(
        "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (doc.doc_id, doc.title, doc.region, doc.year, doc.doc_type, doc.publisher, doc.published,
         doc.doc_number, doc.source_name, doc.sha256, json.dumps(d["missing"]), time.time(),
         doc.region_level, doc.province, doc.city, doc.covers,
         json.dumps(d["notes"], ensure_ascii=False))).lastrowid


def _passages(item: IndexItem, first_id: int) -> Iterator[tuple[int, tuple, tuple, tuple[Counter, ...]]]:
    """Per passage: its row id, its chunks row, its FTS5 row and its term counts per field."""
    doc, tokens = item.doc, item.tokens
    title_tokens = tokens.title
    title_counts, title_text = Counter(title_tokens), " ".join(title_tokens)
    province, city = doc.in_province, doc.in_city
    sections: dict[tuple[str, ...], tuple[Counter, str]] = {}  # passages of one section share its tokens
    for row_id, (chunk, vec, section_tokens, toks, folded) in enumerate(
            zip(item.chunks, item.vectors, tokens.sections, tokens.bodies, tokens.folded, strict=True), first_id):
        if section_tokens not in sections:
            sections[section_tokens] = (Counter(section_tokens), " ".join(section_tokens))
        section_counts, section_text = sections[section_tokens]
        chunk_row = (row_id, chunk.chunk_id, doc.doc_id, chunk.position, chunk.section, chunk.text, folded,
                     doc.region, doc.year, doc.doc_type, np.asarray(vec, np.float32).tobytes(),
                     json.dumps(list(chunk.figures), ensure_ascii=False),
                     len(title_tokens), len(section_tokens), len(toks), province, city)
        yield row_id, chunk_row, (row_id, title_text, section_text, " ".join(toks)), \
            (title_counts, section_counts, Counter(toks))


def delete(db: sqlite3.Connection, doc_id: str) -> bool:
    """Remove a document and everything stored of it; whether it was there."""
    row = db.execute("SELECT rowid FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
    if row is None:  # a new document (most of an ingest): nothing of it is stored
        return False
    db.execute("DELETE FROM postings WHERE doc = ?", (row[0],))
    db.execute("DELETE FROM fts WHERE rowid IN (SELECT id FROM chunks WHERE doc_id = ?)", (doc_id,))
    db.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
    return db.execute("DELETE FROM documents WHERE rowid = ?", (row[0],)).rowcount > 0


def build_beside(connections: Connections, path: Path, items: Iterable[IndexItem],
                 write_meta: Callable[[sqlite3.Connection], None]) -> tuple[Path, int]:
    """A whole new index file written beside `path` in one transaction; (its path, documents written)."""
    tmp = path.with_name(path.name + ".rebuild")
    for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        leftover.unlink(missing_ok=True)
    new = connections.open(tmp)
    count = 0
    with connections.writing(new):
        write_meta(new)
        it = iter(items)
        while group := list(islice(it, REBUILD_GROUP)):
            insert_many(new, group)
            count += len(group)
    stored = new.execute("SELECT count(*) FROM documents").fetchone()[0]
    new.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    new.close()
    if stored != count:
        raise RuntimeError(f"重建的索引有 {stored} 份报告，应为 {count} 份；仍使用原索引")
    return tmp, count


def swap_in(tmp: Path, path: Path) -> None:
    """Put a file built beside the index in its place (its connections closed first)."""
    # An atomic rename: readers see either the old file or the new one, never a half-built index.
    os.replace(tmp, path)
    for side in ("-wal", "-shm"):
        Path(f"{path}{side}").unlink(missing_ok=True)
