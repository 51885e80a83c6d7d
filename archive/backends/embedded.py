"""Embedded backend: one SQLite file (WAL) with FTS5 over jieba tokens, vectors searched with numpy.

Exact vector search: at the sizes one office keeps (up to ~1M passages) a numpy
matrix product is fast enough and needs no index build; the benchmarks in
`bench/` hold the figures. Filters become a row mask applied before ranking, so
a filtered search never loses hits to a top-k cut.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from archive.backends.base import SCHEMA_VERSION, IndexItem
from archive.errors import BackendUnavailable, IndexMismatch
from archive.models import FACET_FIELDS, Chunk, Document, FacetCounts, Filters, KeywordQuery, Scored

log = logging.getLogger(__name__)

DB_NAME = "archive.sqlite"
# BM25 column weights: title, section path, passage body.
BM25_WEIGHTS = (3.0, 1.5, 1.0)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY, title TEXT NOT NULL, region TEXT, year INTEGER, doc_type TEXT NOT NULL,
    publisher TEXT, published TEXT, doc_number TEXT, source_name TEXT, sha256 TEXT,
    missing TEXT NOT NULL DEFAULT '[]', indexed_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_sha ON documents (sha256);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY, chunk_id TEXT NOT NULL UNIQUE, doc_id TEXT NOT NULL, position INTEGER NOT NULL,
    section TEXT NOT NULL, text TEXT NOT NULL, fold TEXT NOT NULL,
    region TEXT, year INTEGER, doc_type TEXT NOT NULL, vec BLOB NOT NULL, figures TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks (doc_id, position);
CREATE INDEX IF NOT EXISTS chunks_filters ON chunks (region, year, doc_type);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5 (title, section, body, tokenize = 'unicode61 remove_diacritics 0');
"""


def fts_phrase(token: str) -> str:
    """One token as an FTS5 string literal: user text never reaches MATCH unquoted."""
    return '"' + token.replace('"', '""') + '"'


def match_expression(query: KeywordQuery) -> str | None:
    """FTS5 MATCH for a keyword query: any term (BM25 ranks), every phrase's tokens required."""
    from archive.text import tokenize

    parts = []
    terms = sorted(set(query.terms))
    if terms:
        parts.append("(" + " OR ".join(fts_phrase(t) for t in terms) + ")")
    for phrase in query.phrases:
        toks = tokenize(phrase)
        if toks:
            parts.append("(" + " AND ".join(fts_phrase(t) for t in dict.fromkeys(toks)) + ")")
    return " AND ".join(parts) if parts else None


def filter_sql(filters: Filters, alias: str = "c") -> tuple[str, list]:
    """WHERE fragments (joined with AND) and their parameters for a set of filters."""
    clauses, params = [], []
    for name in ("region", "doc_type", "year"):
        values = getattr(filters, name)
        if values:
            clauses.append(f"{alias}.{name} IN ({','.join('?' * len(values))})")
            params.extend(values)
    if filters.year_from is not None:
        clauses.append(f"{alias}.year >= ?")
        params.append(filters.year_from)
    if filters.year_to is not None:
        clauses.append(f"{alias}.year <= ?")
        params.append(filters.year_to)
    return " AND ".join(clauses) or "1", params


def _substring_sql(query: KeywordQuery, alias: str = "c") -> tuple[str, list]:
    clauses = [f"instr({alias}.fold, ?) > 0" for _ in query.phrases]
    clauses += [f"instr({alias}.fold, ?) = 0" for _ in query.excluded]
    return " AND ".join(clauses) or "1", [*query.phrases, *query.excluded]


class EmbeddedBackend:
    """SQLite + FTS5 + numpy, in one directory; safe for one writer and many readers."""

    name = "embedded"

    def __init__(self, directory: Path, dim: int, model_id: str) -> None:
        self.directory = Path(directory)
        self.path = self.directory / DB_NAME
        self.dim = dim
        self.model_id = model_id
        self._local = threading.local()
        self._matrix_lock = threading.Lock()
        self._matrix: tuple[str, np.ndarray, np.ndarray] | None = None  # (generation, row ids, vectors)

    # -- connections -------------------------------------------------------

    def _connect(self, path: Path) -> sqlite3.Connection:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise BackendUnavailable(f"cannot open the index at {path}: {exc}") from exc
        db.row_factory = sqlite3.Row
        return db

    @property
    def db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        # A reindex replaces the file: a connection to the old inode must be reopened.
        inode = self.path.stat().st_ino if self.path.exists() else None
        if db is not None and inode != getattr(self._local, "inode", None):
            db.close()
            db = None
        if db is None:
            db = self._connect(self.path)
            self._ensure_meta(db)
            self._local.db = db
            self._local.inode = self.path.stat().st_ino
        return db

    def _ensure_meta(self, db: sqlite3.Connection) -> None:
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        if not meta:
            with self._write(db):
                self._write_meta(db)

    def _write_meta(self, db: sqlite3.Connection) -> None:
        db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [
            ("schema_version", str(SCHEMA_VERSION)), ("model_id", self.model_id),
            ("dim", str(self.dim)), ("generation", str(time.time_ns())),
        ])

    def _meta(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT key, value FROM meta").fetchall())

    def check_compatible(self) -> None:
        """Refuse to mix vectors: the index must have been built with the configured embedder."""
        meta = self._meta()
        if meta.get("model_id") != self.model_id or meta.get("schema_version") != str(SCHEMA_VERSION):
            raise IndexMismatch(
                f"the index at {self.path} was built with embedder {meta.get('model_id')} "
                f"(schema {meta.get('schema_version')}), but {self.model_id} (schema {SCHEMA_VERSION}) "
                "is configured: run `python -m indexer reindex`")

    @contextmanager
    def _write(self, db: sqlite3.Connection | None = None) -> Iterator[sqlite3.Connection]:
        db = db or self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("INSERT OR REPLACE INTO meta VALUES ('generation', ?)", (str(time.time_ns()),))
        db.execute("COMMIT")

    # -- writing -----------------------------------------------------------

    def index_document(self, doc: Document, chunks: Sequence[Chunk], vectors: np.ndarray,
                       tokens: Sequence[Sequence[str]]) -> None:
        self.check_compatible()
        with self._write() as db:
            self._insert(db, doc, chunks, vectors, tokens)

    def _insert(self, db, doc, chunks, vectors, tokens) -> None:
        from archive.text import fold, tokenize

        if len(chunks) != len(vectors) or len(chunks) != len(tokens):
            raise ValueError("chunks, vectors and tokens must have the same length")
        self._delete(db, doc.doc_id)
        d = doc.to_dict()
        db.execute(
            "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (doc.doc_id, doc.title, doc.region, doc.year, doc.doc_type, doc.publisher, doc.published,
             doc.doc_number, doc.source_name, doc.sha256, json.dumps(d["missing"]), time.time()))
        title_tokens = " ".join(tokenize(doc.title))
        for chunk, vec, toks in zip(chunks, vectors, tokens):
            cur = db.execute(
                "INSERT INTO chunks (chunk_id, doc_id, position, section, text, fold, region, year, "
                "doc_type, vec, figures) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (chunk.chunk_id, doc.doc_id, chunk.position, chunk.section, chunk.text, fold(chunk.text),
                 doc.region, doc.year, doc.doc_type, np.asarray(vec, np.float32).tobytes(),
                 json.dumps(list(chunk.figures), ensure_ascii=False)))
            db.execute("INSERT INTO fts (rowid, title, section, body) VALUES (?,?,?,?)",
                       (cur.lastrowid, title_tokens, " ".join(tokenize(chunk.section)), " ".join(toks)))

    def _delete(self, db, doc_id: str) -> bool:
        db.execute("DELETE FROM fts WHERE rowid IN (SELECT id FROM chunks WHERE doc_id = ?)", (doc_id,))
        db.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
        return db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,)).rowcount > 0

    def delete_document(self, doc_id: str) -> bool:
        with self._write() as db:
            return self._delete(db, doc_id)

    def rebuild(self, items: Iterable[IndexItem]) -> int:
        tmp = self.directory / (DB_NAME + ".rebuild")
        for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            leftover.unlink(missing_ok=True)
        new = self._connect(tmp)
        count = 0
        with self._write(new):
            self._write_meta(new)
            for doc, chunks, vectors, tokens in items:
                self._insert(new, doc, chunks, vectors, tokens)
                count += 1
        stored = new.execute("SELECT count(*) FROM documents").fetchone()[0]
        new.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        new.close()
        if stored != count:
            raise RuntimeError(f"rebuilt index holds {stored} documents, expected {count}; kept the old one")
        self.close()
        # An atomic rename: readers see either the old file or the new one, never a half-built index.
        os.replace(tmp, self.path)
        for side in ("-wal", "-shm"):
            Path(f"{self.path}{side}").unlink(missing_ok=True)
        return count

    # -- reading -----------------------------------------------------------

    def _guard(self, fn, *args):
        try:
            return fn(*args)
        except sqlite3.OperationalError as exc:
            raise BackendUnavailable(f"the index cannot be read: {exc}") from exc

    def keyword_search(self, query: KeywordQuery, filters: Filters, limit: int,
                       offset: int = 0) -> list[Scored]:
        match = match_expression(query)
        if match is None:
            return []
        where, params = filter_sql(filters)
        subs, sub_params = _substring_sql(query)
        sql = (f"SELECT c.chunk_id, bm25(fts, {', '.join(map(str, BM25_WEIGHTS))}) AS s "
               f"FROM fts JOIN chunks c ON c.id = fts.rowid "
               f"WHERE fts MATCH ? AND {where} AND {subs} ORDER BY s, c.id LIMIT ? OFFSET ?")
        rows = self._guard(lambda: self.db.execute(sql, [match, *params, *sub_params, limit, offset]).fetchall())
        return [Scored(r[0], -float(r[1])) for r in rows]

    def _vectors(self) -> tuple[np.ndarray, np.ndarray]:
        generation = self._meta().get("generation", "")
        with self._matrix_lock:
            if self._matrix is None or self._matrix[0] != generation:
                rows = self.db.execute("SELECT id, vec FROM chunks ORDER BY id").fetchall()
                ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
                mat = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), -1) \
                    if rows else np.zeros((0, self.dim), np.float32)
                self._matrix = (generation, ids, mat)
                log.debug("loaded %d vectors", len(rows))
            return self._matrix[1], self._matrix[2]

    def vector_search(self, vector: np.ndarray, filters: Filters, limit: int) -> list[Scored]:
        self.check_compatible()
        ids, mat = self._guard(self._vectors)
        if not len(ids):
            return []
        if filters.is_empty():
            rows = np.arange(len(ids))
        else:
            where, params = filter_sql(filters)
            allowed = np.fromiter((r[0] for r in self.db.execute(
                f"SELECT c.id FROM chunks c WHERE {where}", params)), dtype=np.int64)
            rows = np.nonzero(np.isin(ids, allowed))[0]
        if not len(rows):
            return []
        # One product over the whole matrix: cheaper than copying the filtered rows out first.
        sims = (mat @ np.asarray(vector, np.float32))[rows]
        k = min(limit, len(rows))
        top = np.argpartition(-sims, k - 1)[:k]
        top = top[np.lexsort((ids[rows[top]], -sims[top]))]  # ties broken by insertion order
        chosen = ids[rows[top]].tolist()
        names = dict(self.db.execute(
            f"SELECT id, chunk_id FROM chunks WHERE id IN ({','.join('?' * len(chosen))})", chosen).fetchall())
        return [Scored(names[i], float(s)) for i, s in zip(chosen, sims[top])]

    def facets(self, query: KeywordQuery | None, filters: Filters,
               extra_ids: Iterable[str] = ()) -> FacetCounts:
        where, params = filter_sql(filters)
        extra = list(dict.fromkeys(extra_ids))
        alternatives, alt_params = [], []
        match = match_expression(query) if query else None
        if match:
            subs, sub_params = _substring_sql(query)
            alternatives.append(f"(c.id IN (SELECT rowid FROM fts WHERE fts MATCH ?) AND {subs})")
            alt_params += [match, *sub_params]
        if extra:
            alternatives.append(f"c.chunk_id IN ({','.join('?' * len(extra))})")
            alt_params += extra
        # No query and no ids: the whole (filtered) archive, for an overview.
        either = f"({' OR '.join(alternatives)})" if alternatives else "1"
        base = f"FROM chunks c WHERE {where} AND {either}"
        args = [*params, *alt_params]
        return self._guard(self._count_facets, base, args)

    def _count_facets(self, base: str, args: list) -> FacetCounts:
        """Run the (possibly expensive) MATCH once into a temporary table, then count from it."""
        db = self.db
        db.execute("DROP TABLE IF EXISTS temp.result_set")
        db.execute(f"CREATE TEMP TABLE result_set AS SELECT c.year, c.region, c.doc_type {base}", args)
        try:
            total = db.execute("SELECT count(*) FROM temp.result_set").fetchone()[0]
            fields = {}
            for name in FACET_FIELDS:
                rows = db.execute(f"SELECT {name}, count(*) AS n FROM temp.result_set WHERE {name} IS NOT NULL "
                                  f"GROUP BY {name} ORDER BY n DESC, {name}").fetchall()
                fields[name] = [(str(v), n) for v, n in rows]
        finally:
            db.execute("DROP TABLE IF EXISTS temp.result_set")
        return FacetCounts(total, fields)

    def _doc(self, row: sqlite3.Row) -> Document:
        d = dict(row)
        d["missing"] = tuple(json.loads(d["missing"]))
        return Document.from_dict(d)

    def get_document(self, doc_id: str) -> Document | None:
        row = self._guard(lambda: self.db.execute("SELECT * FROM documents WHERE doc_id = ?", (doc_id,)).fetchone())
        return self._doc(row) if row else None

    def get_documents(self, doc_ids: Iterable[str]) -> dict[str, Document]:
        ids = list(dict.fromkeys(doc_ids))
        if not ids:
            return {}
        rows = self._guard(lambda: self.db.execute(
            f"SELECT * FROM documents WHERE doc_id IN ({','.join('?' * len(ids))})", ids).fetchall())
        return {r["doc_id"]: self._doc(r) for r in rows}

    def list_documents(self) -> list[Document]:
        rows = self._guard(lambda: self.db.execute(
            "SELECT * FROM documents ORDER BY region, year, doc_id").fetchall())
        return [self._doc(r) for r in rows]

    @staticmethod
    def _chunk(row: sqlite3.Row) -> Chunk:
        return Chunk(row["chunk_id"], row["doc_id"], row["position"], row["section"], row["text"],
                     tuple(json.loads(row["figures"])))

    def get_chunks(self, doc_id: str) -> list[Chunk]:
        rows = self._guard(lambda: self.db.execute(
            "SELECT chunk_id, doc_id, position, section, text, figures FROM chunks WHERE doc_id = ? ORDER BY position",
            (doc_id,)).fetchall())
        return [self._chunk(r) for r in rows]

    def get_chunks_by_id(self, chunk_ids: Sequence[str]) -> dict[str, Chunk]:
        ids = list(dict.fromkeys(chunk_ids))
        if not ids:
            return {}
        rows = self._guard(lambda: self.db.execute(
            "SELECT chunk_id, doc_id, position, section, text, figures FROM chunks "
            f"WHERE chunk_id IN ({','.join('?' * len(ids))})", ids).fetchall())
        return {r["chunk_id"]: self._chunk(r) for r in rows}

    def find_by_sha256(self, sha256: str) -> str | None:
        row = self.db.execute("SELECT doc_id FROM documents WHERE sha256 = ?", (sha256,)).fetchone()
        return row[0] if row else None

    def stats(self) -> dict:
        meta = self._meta()
        docs, chunks = self._guard(lambda: self.db.execute(
            "SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM chunks)").fetchone())
        return {
            "backend": self.name, "documents": docs, "passages": chunks,
            "model_id": meta.get("model_id"), "dim": int(meta.get("dim", 0)),
            "schema_version": int(meta.get("schema_version", 0)),
            "path": str(self.path), "size_bytes": self.path.stat().st_size if self.path.exists() else 0,
        }

    def ping(self) -> None:
        self._guard(lambda: self.db.execute("SELECT 1 FROM meta LIMIT 1").fetchall())

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None
        with self._matrix_lock:
            self._matrix = None
