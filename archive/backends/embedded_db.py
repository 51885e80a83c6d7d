"""The embedded backend's one door to its SQLite file, and the postings cache beside it.

`Connections` owns every connection: opening a file (schema, WAL, pragmas), one connection per
thread, reopening after a reindex swapped the file (a new inode), pinning one connection and one
read transaction per request (so a search's snapshot, postings and rows all come from the same
state, even if a swap happens meanwhile), write transactions that bump the generation and give
space back, and SQLite's errors translated to BackendUnavailable. Every read and every write of
`embedded.py` goes through it (Datasette's `Database.execute` is the model).

`PostingsCache` keeps scored postings between searches, keyed by (generation, term): a write makes
a new generation, and the first entry of a new generation clears every older one.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from archive.errors import BackendUnavailable

WRITE_CACHE_KIB = 64 * 1024
WAL_CHECKPOINT_PAGES = 8_000  # about 32 MB of WAL between checkpoints (SQLite's default: 1,000)
# Space: a deleted or replaced report frees pages that SQLite keeps in the file. With incremental
# auto-vacuum (set when the file is created; a reindex converts an older index) a write that
# leaves more than a quarter of the file free gives it back. The WAL grows until a checkpoint and
# then keeps its largest size unless limited: a write that leaves it over half the database's size
# checkpoints (PASSIVE: never waits for readers), and the next write cuts the file back (limit 0).
RECLAIM_FREE_FRACTION = 0.25
RECLAIM_MIN_PAGES = 256
WAL_CHECKPOINT_FRACTION = 0.5
WAL_CHECKPOINT_MIN_BYTES = 256 * 1024


def _unavailable(exc: BaseException) -> BackendUnavailable:
    return BackendUnavailable(f"无法读取索引：{exc}")


class Connections:
    """Every connection to one index file, per thread; the only place the backend gets one."""

    def __init__(self, path: Path, schema: str, first_meta: Callable[[sqlite3.Connection], None]) -> None:
        self.path = Path(path)
        self.schema = schema
        self.first_meta = first_meta  # writes the meta rows of a file that has none yet
        self._local = threading.local()  # .db, .inode: this thread's connection; .pinned: its open read
        # Lock 1 of the backend: one thread at a time opens a connection. Two first connections to a new
        # file both switch it to WAL and write its meta, and the loser got "database is locked" at once
        # (a hybrid search opens one per thread).
        self._opening = threading.Lock()

    def open(self, path: Path) -> sqlite3.Connection:
        """A new connection to `path` with the schema in place (the live file, or a rebuild's side file)."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA auto_vacuum=INCREMENTAL")  # takes effect only in a file without tables yet
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA journal_size_limit=0")  # a WAL reset after a checkpoint truncates the file
            db.executescript(self.schema)
        except (sqlite3.Error, OSError) as exc:
            raise BackendUnavailable(f"无法打开索引 {path}：{exc}") from exc
        db.row_factory = sqlite3.Row
        return db

    def current(self) -> sqlite3.Connection:
        """This thread's connection: the pinned one inside a read, else its own (reopened after a swap)."""
        pinned = getattr(self._local, "pinned", None)
        if pinned is not None:
            return pinned  # inside a read: the same connection, even if a reindex swapped the file meanwhile
        db = getattr(self._local, "db", None)
        # A reindex replaces the file: a connection to the old inode must be reopened.
        inode = self.path.stat().st_ino if self.path.exists() else None
        if db is not None and inode != getattr(self._local, "inode", None):
            db.close()
            db = None
        if db is None:
            with self._opening:
                db = self.open(self.path)
                if db.execute("SELECT 1 FROM meta LIMIT 1").fetchone() is None:
                    with self.writing(db):
                        self.first_meta(db)
            self._local.db = db
            self._local.inode = self.path.stat().st_ino
        return db

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """One read transaction on one connection for a whole request; nested reads share it."""
        if getattr(self._local, "pinned", None) is not None:
            yield self._local.pinned
            return
        try:
            db = self.current()
        except sqlite3.OperationalError as exc:
            raise _unavailable(exc) from exc
        own = not db.in_transaction
        self._local.pinned = db
        try:
            if own:
                db.execute("BEGIN")
            yield db
        except sqlite3.OperationalError as exc:
            raise _unavailable(exc) from exc
        finally:
            self._local.pinned = None
            if own and db.in_transaction:
                db.execute("COMMIT")

    def rows(self, sql: str, params: Sequence = ()) -> list[sqlite3.Row]:
        """Every row of one statement, read inside the request's read (or a read of its own)."""
        with self.reading() as db:
            return db.execute(sql, params).fetchall()

    def one(self, sql: str, params: Sequence = ()) -> sqlite3.Row | None:
        """The first row of one statement, or None."""
        with self.reading() as db:
            return db.execute(sql, params).fetchone()

    @contextmanager
    def writing(self, db: sqlite3.Connection | None = None) -> Iterator[sqlite3.Connection]:
        """One write transaction (this thread's connection unless given one): committed with a new
        generation and space given back, or rolled back whole."""
        try:
            db = db or self.current()
            # A writer keeps the b-tree pages of the postings it touches (spread over all terms) cached
            # between commits, and checkpoints less often: with 16 documents a commit, 993 -> 1,737
            # passages/s on the 10k corpus. Readers keep SQLite's small default cache.
            db.execute(f"PRAGMA cache_size=-{WRITE_CACHE_KIB}")
            db.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise BackendUnavailable(f"无法写入索引：{exc}") from exc
        try:
            yield db
            db.execute("INSERT OR REPLACE INTO meta VALUES ('generation', ?)", (str(time.time_ns()),))
            db.execute("COMMIT")
        except BaseException as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.OperationalError):  # locked past the timeout, disk full, I/O
                raise BackendUnavailable(f"无法写入索引：{exc}") from exc
            raise
        reclaim(db)

    def close(self) -> None:
        """Close this thread's connection (others close with their threads)."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None


def reclaim(db: sqlite3.Connection) -> None:
    """After a commit: free pages back to the file system, and a checkpoint when the WAL is large."""
    free = db.execute("PRAGMA freelist_count").fetchone()[0]
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    if free >= RECLAIM_MIN_PAGES and free >= RECLAIM_FREE_FRACTION * pages \
            and db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2:  # 2: incremental
        db.execute("PRAGMA incremental_vacuum").fetchall()  # one step per row: fetch them all
    wal = Path(db.execute("PRAGMA database_list").fetchone()[2] + "-wal")  # this db's: a rebuild writes another
    wal_bytes = wal.stat().st_size if wal.exists() else 0
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    if wal_bytes > max(WAL_CHECKPOINT_MIN_BYTES, WAL_CHECKPOINT_FRACTION * pages * page_size):
        db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


Entry = tuple[np.ndarray, np.ndarray]  # (row positions, a score there)


class PostingsCache:
    """Scored postings by (generation, key), least recently used first, up to a size in bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple[str, str], Entry] = OrderedDict()
        self._size = 0
        # Lock 3 of the backend: searches on several threads read and evict the same entries.
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Forget every entry (the bench measures cold searches with it)."""
        with self._lock:
            self._entries.clear()
            self._size = 0

    def recall(self, key: tuple[str, str]) -> Entry | None:
        with self._lock:
            cached = self._entries.get(key)
            if cached is not None:
                self._entries.move_to_end(key)
            return cached

    def remember(self, key: tuple[str, str], value: Entry) -> None:
        with self._lock:
            if self._entries and next(iter(self._entries))[0] != key[0]:
                self._entries.clear()  # written to since: every older entry is stale
                self._size = 0
            if key not in self._entries:
                self._entries[key] = value
                self._size += value[0].nbytes + value[1].nbytes
            while self._size > self.max_bytes and len(self._entries) > 1:
                _, (rows, scores) = self._entries.popitem(last=False)
                self._size -= rows.nbytes + scores.nbytes
