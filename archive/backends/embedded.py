"""Embedded backend: one SQLite file (WAL) with FTS5 over jieba tokens, vectors searched with numpy.

A facade over named parts; this module owns the index's facts (meta, compatibility), the searches
and the reads. `embedded_writes.py` owns the schema and writing (documents, passages, FTS rows,
postings; a reindex's new file); `embedded_db.py` is the one door to the file (connections, pinned
reads, writes, errors) and the postings cache; `embedded_rows.py` the per-generation row arrays
(filters, facets, lengths); `embedded_vectors.py` the IVF index in use.

Keyword search reads its own postings and scores them with Lucene's BM25 (`archive/bm25.py`),
so both backends rank alike; FTS5 only narrows phrases and exclusions. Vector search is exact
(one matrix product) below IVF_MIN_ROWS passages; above, it probes an IVF index
(`archive/ivf.py`, `embedded_vectors.py`), approximate like Elasticsearch's HNSW. Filters become a row mask applied
before ranking, so a filtered search never loses hits to a top-k cut. Row arrays, vectors and
the IVF lists are kept beside the file per generation (`embedded_rows.py`). Figures: `bench/`.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from archive import bm25
from archive.backends.base import SCHEMA_VERSION, SHA_LOOKUP, IndexItem, IndexStats, check_item
from archive.backends.embedded_db import Connections, PostingsCache
from archive.backends.embedded_rows import Snapshot
from archive.backends.embedded_vectors import IVF_MIN_ROWS, Probing
from archive.backends.embedded_writes import LAYOUT, SCHEMA, build_beside, delete, insert_many, swap_in
from archive.errors import IndexMismatch
from archive.models import Chunk, Document, FacetCounts, Filters, KeywordQuery, Scored

log = logging.getLogger(__name__)

DB_NAME = "archive.sqlite"
FIELDS = tuple(bm25.FIELD_BOOSTS)
# Scored postings kept in memory between searches, in bytes (8 a passage: position and score).
# A common word has ~70k passages at 100k and ~700k at 1M; reading one from SQLite takes
# 40-150 ms at 1M, scoring it from memory a few.
POSTINGS_CACHE_BYTES = 256 * 2**20


def fts_phrase(token: str) -> str:
    """One token as an FTS5 string literal: user text never reaches MATCH unquoted."""
    return '"' + token.replace('"', '""') + '"'


def match_expression(query: KeywordQuery) -> str | None:
    """FTS5 MATCH for a keyword query: any term (BM25 ranks), every phrase's tokens required."""
    parts = []
    terms = sorted(set(query.terms))
    if terms:
        parts.append("(" + " OR ".join(fts_phrase(t) for t in terms) + ")")
    for toks in query.phrase_terms:
        if toks:
            parts.append("(" + " AND ".join(fts_phrase(t) for t in dict.fromkeys(toks)) + ")")
    return " AND ".join(parts) if parts else None


def _substring_sql(query: KeywordQuery, alias: str = "c") -> tuple[str, list]:
    clauses = [f"instr({alias}.fold, ?) > 0" for _ in query.phrases]
    clauses += [f"instr({alias}.fold, ?) = 0" for _ in query.excluded]
    return " AND ".join(clauses) or "1", [*query.phrases, *query.excluded]


def _best(rows: np.ndarray, values: np.ndarray, order: np.ndarray, k: int) -> np.ndarray:
    """The k rows with the highest values, best first; ties go to the smaller chunk id, as in Elasticsearch."""
    k = min(k, len(rows))
    if k <= 0:
        return rows[:0]
    top = np.argpartition(-values, k - 1)[:k] if k < len(rows) else np.arange(len(rows))
    cut = values[top].min()
    # Rows tied with the last one kept compete on chunk id too, so the cut is deterministic.
    top = np.union1d(top, np.nonzero(values == cut)[0])
    return rows[top[np.lexsort((order[rows[top]], -values[top]))][:k]]


class EmbeddedBackend:
    """SQLite + FTS5 + numpy, in one directory; safe for one writer and many readers."""

    name = "embedded"
    writes_in_background = False  # its writes are this process's own work (SQLite, postings)

    def __init__(self, directory: Path, dim: int, model_id: str,
                 postings_cache_bytes: int = POSTINGS_CACHE_BYTES, ivf_min_rows: int = IVF_MIN_ROWS) -> None:
        self.directory = Path(directory)
        self.path = self.directory / DB_NAME
        self.dim = dim
        self.model_id = model_id
        self.connections = Connections(self.path, SCHEMA, self._write_meta)  # every read and write
        self.postings = PostingsCache(postings_cache_bytes)  # (generation, term) -> rows, BM25 score there
        # Lock 2 of the backend (1 opens connections, 3 guards the postings cache): the state of one
        # generation, built once however many threads ask. It guards the snapshot, the vector matrix
        # and the IVF index in use (`Probing` shares it).
        self._generation_lock = threading.Lock()
        self._probing = Probing(ivf_min_rows, self._generation_lock)
        self._matrix: tuple[str, np.ndarray] | None = None  # (generation, vectors)
        self._snap: Snapshot | None = None

    # -- the index's facts -------------------------------------------------

    def _write_meta(self, db: sqlite3.Connection) -> None:
        db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [
            ("schema_version", str(SCHEMA_VERSION)), ("model_id", self.model_id),
            ("dim", str(self.dim)), ("generation", str(time.time_ns())), ("layout", LAYOUT),
        ])

    def _meta(self) -> dict[str, str]:
        return {r[0]: r[1] for r in self.connections.rows("SELECT key, value FROM meta")}

    def recorded_model_id(self) -> str | None:
        if not self.path.exists():
            return None
        db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'model_id'").fetchone()
        except sqlite3.DatabaseError:
            return None  # not an index this code can read: opening it for the configured embedder says why
        finally:
            db.close()
        return row[0] if row else None

    def check_compatible(self) -> None:
        """Refuse to mix vectors: the index must have been built with the configured embedder."""
        meta = self._meta()
        if meta.get("model_id") != self.model_id or meta.get("schema_version") != str(SCHEMA_VERSION):
            raise IndexMismatch(
                f"索引 {self.path} 由嵌入模型 {meta.get('model_id')}（schema {meta.get('schema_version')}）建立，"
                f"而当前配置的是 {self.model_id}（schema {SCHEMA_VERSION}）：请运行 `python -m indexer reindex`")
        if meta.get("layout") != LAYOUT:
            raise IndexMismatch(f"索引 {self.path} 由旧版本档案写入（布局 {meta.get('layout', 1)}，现为 {LAYOUT}）："
                                "请运行 `python -m indexer reindex`")

    # -- writing -----------------------------------------------------------

    def index_documents(self, items: Sequence[IndexItem]) -> None:
        # One commit for many: each commit writes every page it touched (the postings of a
        # document's terms are spread over the whole b-tree), and at 10k that was most of ingest.
        for item in items:
            check_item(item)
        self.check_compatible()
        with self.connections.writing() as db:
            insert_many(db, items)

    def delete_document(self, doc_id: str) -> bool:
        with self.connections.writing() as db:
            return delete(db, doc_id)

    def rebuild(self, items: Iterable[IndexItem]) -> int:
        tmp, count = build_beside(self.connections, self.path, items, self._write_meta)
        self.close()
        swap_in(tmp, self.path)
        return count

    # -- reading -----------------------------------------------------------

    def keyword_search(self, query: KeywordQuery, filters: Filters, limit: int,
                       offset: int = 0) -> list[Scored]:
        if limit <= 0:
            return []
        self.check_compatible()
        with self.connections.reading():
            snap = self._snapshot()
            found = self._keyword(snap, query, scored=True)
            if found is None:
                return []
            matched, scores = found
            rows = np.nonzero(matched & snap.mask(filters))[0]
            want = offset + limit
            if query.ranks_all_words_first:
                held = self._holds_every_word(snap, query)[rows]
                top = _best(rows[held], scores[rows[held]], snap.order, want)
                if len(top) < want:
                    rest = rows[~held]
                    top = np.concatenate([top, _best(rest, scores[rest], snap.order, want - len(top))])
            else:
                top = _best(rows, scores[rows], snap.order, want)
            top = top[offset:]
            return self._scored(snap, top, scores[top])

    def _holds_every_word(self, snap: Snapshot, query: KeywordQuery) -> np.ndarray:
        """Per passage, whether it holds every word of the query (see KeywordQuery.groups)."""
        every = np.ones(len(snap.ids), bool)
        for group in query.groups:
            word = np.zeros(len(snap.ids), bool)
            for alternative in group:
                has = np.ones(len(snap.ids), bool)
                for term in alternative:
                    one = np.zeros(len(snap.ids), bool)
                    one[self._term(snap, term)[0]] = True
                    has &= one
                word |= has
            every &= word
        return every

    def _scored(self, snap: Snapshot, positions: np.ndarray, scores: np.ndarray) -> list[Scored]:
        """Results by chunk id: only the few shown are looked up, not a list of every passage's id."""
        if not len(positions):
            return []
        ids = [int(i) for i in snap.ids[positions]]
        # Asked in row order: the lookups then walk the table's pages in order (10,000 ids: 37 -> 19 ms at 100k).
        names = dict(map(tuple, self.connections.rows(
            f"SELECT id, chunk_id FROM chunks WHERE id IN ({','.join('?' * len(ids))})", sorted(ids))))
        return [Scored(names[i], float(s)) for i, s in zip(ids, scores)]

    def _keyword(self, snap: Snapshot, query: KeywordQuery, scored: bool) -> tuple | None:
        """(passages matching, their Lucene BM25 scores) over the snapshot's rows; None: nothing to match."""
        match = match_expression(query)
        if match is None:
            return None
        terms = sorted(set(query.terms))
        phrase_terms = sorted({t for toks in query.phrase_terms for t in toks})
        n = len(snap.ids)
        matched = np.zeros(n, bool)
        if query.phrases or query.excluded:
            matched[self._narrowed(snap, query, match)] = True
        else:
            for term in terms:
                matched[self._term(snap, term)[0]] = True
        scores = np.zeros(n, np.float32)
        # Elasticsearch scores phrase words once more (a `should` clause); so do we.
        for term in (terms + phrase_terms) if scored else ():
            rows, contribution = self._term(snap, term)
            scores[rows] += contribution
        return matched, scores

    def _narrowed(self, snap: Snapshot, query: KeywordQuery, match: str) -> np.ndarray:
        """Positions of the passages a query with phrases or exclusions matches, cached like postings."""
        # Phrases and exclusions are character sequences: FTS5 narrows, instr() decides. That reads
        # the text of every candidate (seconds at 1M for a common phrase), and facets ask again.
        key = (snap.generation, "\0" + json.dumps([query.terms, query.phrases, query.excluded], ensure_ascii=False))
        cached = self.postings.recall(key)
        if cached is not None:
            return cached[0]
        subs, sub_params = _substring_sql(query)
        found = self.connections.rows(f"SELECT c.id FROM fts JOIN chunks c ON c.id = fts.rowid "
                                      f"WHERE fts MATCH ? AND {subs}", [match, *sub_params])
        at = snap.positions(np.array([r[0] for r in found], np.int64)).astype(np.int32)
        self.postings.remember(key, (at, np.zeros(0, np.float32)))
        return at

    def _term(self, snap: Snapshot, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(row positions, the term's BM25 score there over all fields), cached for the snapshot's generation."""
        key = (snap.generation, term)
        cached = self.postings.recall(key)
        if cached is not None:
            return cached
        # One blob for all the term's documents: stepping through ~70k rows in Python cost twice as much.
        data = self.connections.one("SELECT CAST(group_concat(data, x'') AS BLOB) FROM postings WHERE term = ?",
                                    (term,))[0] or b""
        table = np.frombuffer(data, np.int32).reshape(-1, 1 + len(FIELDS))
        at = snap.locate(table[:, 0])
        held = at >= 0
        rows = at[held]
        value = (rows.astype(np.int32), self._contribution(snap, rows, table[held, 1:]))
        self.postings.remember(key, value)
        return value

    @staticmethod
    def _contribution(snap: Snapshot, rows: np.ndarray, tf: np.ndarray) -> np.ndarray:
        """Per passage, the sum over fields of Lucene's BM25 for one term with these frequencies."""
        out = np.zeros(len(tf), np.float32)
        for f, (field, boost) in enumerate(bm25.FIELD_BOOSTS.items()):
            has = tf[:, f] > 0
            df = int(has.sum())
            if df:
                weight = bm25.weight(boost, df, snap.doc_count[field])
                out[has] += bm25.term_scores(tf[has, f], snap.lengths[field][rows[has]], weight,
                                             snap.avgdl[field])
        return out

    @property
    def _ivf(self):
        """(generation, IVF index) in use, if any: for tests and the bench."""
        return self._probing.current

    def _snapshot(self) -> Snapshot:
        """The row arrays of the generation this request reads (call inside `connections.reading()`)."""
        generation = self._meta().get("generation", "")
        with self._generation_lock:
            if self._snap is None or self._snap.generation != generation:
                t = time.perf_counter()
                db = self.connections.current()  # the request's pinned connection
                snap = Snapshot.open(self.directory, generation, db)
                if snap is None:
                    snap = Snapshot.from_db(db, generation)
                    snap.save(self.directory)
                log.info("%d 个段落的行数组已就绪，用时 %.2f 秒", len(snap.ids), time.perf_counter() - t)
                # The postings cache needs no clearing: its entries are keyed by generation.
                self._snap, self._matrix = snap, None
                self._probing.current = None
            return self._snap

    def _vectors(self) -> np.ndarray:
        """Every passage's vector in snapshot order: mapped from the saved file, else read and saved."""
        with self.connections.reading() as db:
            snap = self._snapshot()
            with self._generation_lock:
                if self._matrix is None or self._matrix[0] != snap.generation:
                    mat = snap.array("vectors")
                    if mat is None or mat.shape != (len(snap.ids), self.dim) or mat.dtype != np.float32:
                        rows = db.execute("SELECT vec FROM chunks ORDER BY id").fetchall()
                        mat = np.frombuffer(b"".join(r[0] for r in rows), dtype=np.float32).reshape(len(rows), -1) \
                            if rows else np.zeros((0, self.dim), np.float32)
                        snap.keep("vectors", mat)
                    self._matrix = (snap.generation, mat)
                return self._matrix[1]

    def warm(self) -> None:
        """Build (and keep beside the index) what the first search would otherwise wait for."""
        self.check_compatible()
        with self.connections.reading():
            self._probing.index(self._snapshot(), self._vectors(), wait=True)

    def vector_search(self, vector: np.ndarray, filters: Filters, limit: int) -> list[Scored]:
        self.check_compatible()
        with self.connections.reading():
            snap = self._snapshot()
            mat = self._vectors()
            if not len(mat) or limit <= 0:
                return []
            query = np.asarray(vector, np.float32)
            probed = self._probing.index(snap, mat)
            if probed is not None:
                rows, sims = probed.search(query, limit, None if filters.is_empty() else snap.mask(filters))
                pick = _best(np.arange(len(rows)), sims, snap.order[rows], limit)
                return self._scored(snap, rows[pick], sims[pick])
            # One product over the whole matrix: cheaper than copying the filtered rows out first.
            sims = mat @ query
            rows = np.nonzero(snap.mask(filters))[0]
            top = _best(rows, sims[rows], snap.order, limit)
            return self._scored(snap, top, sims[top])

    def facets(self, query: KeywordQuery | None, filters: Filters,
               extra_ids: Iterable[str] = ()) -> FacetCounts:
        extra = list(dict.fromkeys(extra_ids))
        self.check_compatible()  # an older layout lacks the province and city columns the counts read
        with self.connections.reading() as db:
            snap = self._snapshot()
            found = self._keyword(snap, query, scored=False) if query is not None else None
            selected = found[0] if found is not None else np.zeros(len(snap.ids), bool)
            if extra:
                rows = db.execute(f"SELECT id FROM chunks WHERE chunk_id IN ({','.join('?' * len(extra))})",
                                  extra).fetchall()
                selected[snap.positions(np.array([r[0] for r in rows], np.int64))] = True
            if found is None and not extra:
                selected[:] = True  # no query and no ids: the whole (filtered) archive, for an overview
            return snap.count(selected & snap.mask(filters))

    def _doc(self, row: sqlite3.Row) -> Document:
        d = dict(row)
        d["missing"] = tuple(json.loads(d["missing"]))
        d["notes"] = tuple(json.loads(d.get("notes") or "[]"))  # an index of the old layout has none
        return Document.from_dict(d)

    def get_document(self, doc_id: str) -> Document | None:
        row = self.connections.one("SELECT * FROM documents WHERE doc_id = ?", (doc_id,))
        return self._doc(row) if row else None

    def get_documents(self, doc_ids: Iterable[str]) -> dict[str, Document]:
        ids = list(dict.fromkeys(doc_ids))
        if not ids:
            return {}
        rows = self.connections.rows(f"SELECT * FROM documents WHERE doc_id IN ({','.join('?' * len(ids))})", ids)
        return {r["doc_id"]: self._doc(r) for r in rows}

    def list_documents(self) -> list[Document]:
        rows = self.connections.rows("SELECT * FROM documents ORDER BY region, year, doc_id")
        return [self._doc(r) for r in rows]

    def document_facts(self) -> dict[str, tuple[int, float]]:
        rows = self.connections.rows(
            "SELECT d.doc_id, count(c.id), d.indexed_at FROM documents d LEFT JOIN chunks c ON c.doc_id = d.doc_id "
            "GROUP BY d.doc_id")
        return {r[0]: (int(r[1]), float(r[2])) for r in rows}

    @staticmethod
    def _chunk(row: sqlite3.Row) -> Chunk:
        return Chunk(row["chunk_id"], row["doc_id"], row["position"], row["section"], row["text"],
                     tuple(json.loads(row["figures"])))

    def get_chunks(self, doc_id: str) -> list[Chunk]:
        rows = self.connections.rows(
            "SELECT chunk_id, doc_id, position, section, text, figures FROM chunks WHERE doc_id = ? ORDER BY position",
            (doc_id,))
        return [self._chunk(r) for r in rows]

    def get_chunks_by_id(self, chunk_ids: Sequence[str]) -> dict[str, Chunk]:
        ids = list(dict.fromkeys(chunk_ids))
        if not ids:
            return {}
        rows = self.connections.rows("SELECT chunk_id, doc_id, position, section, text, figures FROM chunks "
                                     f"WHERE chunk_id IN ({','.join('?' * len(ids))})", ids)
        return {r["chunk_id"]: self._chunk(r) for r in rows}

    def get_vectors(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        ids = list(dict.fromkeys(chunk_ids))
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(ids), 500):  # under SQLite's limit on bound parameters
            part = ids[start:start + 500]
            rows = self.connections.rows(
                f"SELECT chunk_id, vec FROM chunks WHERE chunk_id IN ({','.join('?' * len(part))})", part)
            found.update({r[0]: np.frombuffer(r[1], dtype=np.float32).copy() for r in rows})
        return found

    def find_by_sha256(self, sha256: str) -> str | None:
        return self.find_by_sha256s([sha256]).get(sha256)

    def find_by_sha256s(self, sha256s: Iterable[str]) -> dict[str, str]:
        wanted, found = sorted(set(sha256s)), {}
        for start in range(0, len(wanted), SHA_LOOKUP):
            part = wanted[start:start + SHA_LOOKUP]
            marks = ",".join("?" * len(part))
            found.update(self.connections.rows(  # the first id, as both backends
                f"SELECT sha256, min(doc_id) FROM documents WHERE sha256 IN ({marks}) GROUP BY sha256", part))
        return found

    def stats(self) -> IndexStats:
        meta = self._meta()
        docs, chunks = self.connections.one("SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM chunks)")
        return IndexStats(self.name, docs, chunks, meta.get("model_id"), int(meta.get("dim", 0)),
                          int(meta.get("schema_version", 0)), self.path.stat().st_size if self.path.exists() else 0,
                          {"path": str(self.path)})

    def ping(self) -> None:
        self.connections.rows("SELECT 1 FROM meta LIMIT 1")

    def close(self) -> None:
        self.connections.close()
        with self._generation_lock:
            self._matrix = None
            self._snap = None
