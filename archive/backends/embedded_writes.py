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
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from archive.backends.base import IndexItem, check_item
from archive.backends.embedded_db import Connections

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


class Postings:
    """One document's postings as stored: per term, rows of (passage row id, tf in title, section, body)."""

    def __init__(self) -> None:
        self.by_term: dict[str, list[list[int]]] = {}

    def add(self, row_id: int, fields: Sequence[Sequence[str]]) -> None:
        mine: dict[str, list[int]] = {}
        for f, tokens in enumerate(fields):
            for token in tokens:
                mine.setdefault(token, [row_id, 0, 0, 0])[1 + f] += 1
        for term, entry in mine.items():
            self.by_term.setdefault(term, []).append(entry)

    def rows(self, doc_row: int) -> Iterator[tuple[str, int, bytes]]:
        for term, entries in self.by_term.items():
            yield term, doc_row, np.array(entries, np.int32).tobytes()



def insert(db: sqlite3.Connection, item: IndexItem) -> None:
    """Store one document, its passages, their FTS5 rows and its postings (replacing what was there)."""
    check_item(item)
    doc, tokens = item.doc, item.tokens
    delete(db, doc.doc_id)
    d = doc.to_dict()
    doc_row = db.execute(
        "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (doc.doc_id, doc.title, doc.region, doc.year, doc.doc_type, doc.publisher, doc.published,
         doc.doc_number, doc.source_name, doc.sha256, json.dumps(d["missing"]), time.time(),
         doc.region_level, doc.province, doc.city, doc.covers,
         json.dumps(d["notes"], ensure_ascii=False))).lastrowid
    title_tokens = tokens.title
    postings = Postings()
    for chunk, vec, section_tokens, toks, folded in zip(item.chunks, item.vectors, tokens.sections,
                                                        tokens.bodies, tokens.folded, strict=True):
        cur = db.execute(
            "INSERT INTO chunks (chunk_id, doc_id, position, section, text, fold, region, year, "
            "doc_type, vec, figures, n_title, n_section, n_body, province, city) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (chunk.chunk_id, doc.doc_id, chunk.position, chunk.section, chunk.text, folded,
             doc.region, doc.year, doc.doc_type, np.asarray(vec, np.float32).tobytes(),
             json.dumps(list(chunk.figures), ensure_ascii=False),
             len(title_tokens), len(section_tokens), len(toks), doc.in_province, doc.in_city))
        db.execute("INSERT INTO fts (rowid, title, section, body) VALUES (?,?,?,?)",
                   (cur.lastrowid, " ".join(title_tokens), " ".join(section_tokens), " ".join(toks)))
        postings.add(cur.lastrowid, (title_tokens, section_tokens, toks))
    db.executemany("INSERT INTO postings VALUES (?,?,?)", postings.rows(doc_row))

def delete(db: sqlite3.Connection, doc_id: str) -> bool:
    """Remove a document and everything stored of it; whether it was there."""
    db.execute("DELETE FROM postings WHERE doc = (SELECT rowid FROM documents WHERE doc_id = ?)", (doc_id,))
    db.execute("DELETE FROM fts WHERE rowid IN (SELECT id FROM chunks WHERE doc_id = ?)", (doc_id,))
    db.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
    return db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,)).rowcount > 0



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
        for item in items:
            insert(new, item)
            count += 1
    stored = new.execute("SELECT count(*) FROM documents").fetchone()[0]
    new.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    new.close()
    if stored != count:
        raise RuntimeError(f"rebuilt index holds {stored} documents, expected {count}; kept the old one")
    return tmp, count


def swap_in(tmp: Path, path: Path) -> None:
    """Put a file built beside the index in its place (its connections closed first)."""
    # An atomic rename: readers see either the old file or the new one, never a half-built index.
    os.replace(tmp, path)
    for side in ("-wal", "-shm"):
        Path(f"{path}{side}").unlink(missing_ok=True)
