"""What the embedded backend's searches need of every passage, per generation of the index.

Filters, facets, BM25 lengths, tie-breaks and the vector matrix are numpy arrays in row-id
order. Building them means reading every row of the SQLite file: at 1M passages that file is
7 GB and the read took 30 s. So the arrays are also kept beside the file, one directory per
generation (`rows-<generation>/`, plain .npy files), and the next process that opens the same
generation maps them in milliseconds. A write makes a new generation; its arrays are built
again by the first reader and older directories are removed then. Files are written under a
temporary name and renamed, so a reader never maps half a file.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from archive import bm25
from archive.models import FACET_FIELDS, FacetCounts, Filters

log = logging.getLogger(__name__)

FIELDS = tuple(bm25.FIELD_BOOSTS)
NO_YEAR = np.iinfo(np.int32).min
PREFIX = "rows-"
CODED = ("region", "doc_type", "province", "city")  # text columns kept as small ints per row
_ARRAYS = ("ids", "order", "year", *CODED, *(f"n_{f}" for f in FIELDS))


@dataclass
class Snapshot:
    """Row arrays of one generation; `where[id]` is a row id's position (-1: not in this generation)."""

    generation: str
    ids: np.ndarray
    order: np.ndarray  # rank of each row's chunk id: ties break as in Elasticsearch
    year: np.ndarray
    codes: dict[str, np.ndarray]  # region / doc_type / province / city as small ints, -1 for none
    names: dict[str, list[str]]
    raw_lengths: dict[str, np.ndarray]  # tokens per field
    home: Path | None = None  # the directory holding this generation's files, once saved
    where: np.ndarray = field(init=False)
    lengths: dict[str, np.ndarray] = field(init=False)  # per field, as Lucene stores them
    doc_count: dict[str, int] = field(init=False)
    avgdl: dict[str, np.float32] = field(init=False)

    def __post_init__(self) -> None:
        self.where = np.full(int(self.ids[-1]) + 1 if len(self.ids) else 0, -1, np.int64)
        self.where[self.ids] = np.arange(len(self.ids))
        self.lengths = {f: bm25.stored_lengths(n) for f, n in self.raw_lengths.items()}
        self.doc_count = {f: int((n > 0).sum()) for f, n in self.raw_lengths.items()}
        self.avgdl = {f: bm25.average_length(int(n.sum()), self.doc_count[f]) for f, n in self.raw_lengths.items()}

    # -- building and keeping -----------------------------------------------

    @classmethod
    def from_db(cls, db: sqlite3.Connection, generation: str) -> Snapshot:
        """Every row read from SQLite: slow on a big index, done once per generation."""
        rows = db.execute("SELECT id, region, year, doc_type, n_title, n_section, n_body, province, city "
                          "FROM chunks ORDER BY id").fetchall()
        n = len(rows)
        ids = np.fromiter((r[0] for r in rows), np.int64, n)
        by_chunk_id = np.fromiter((r[0] for r in db.execute("SELECT id FROM chunks ORDER BY chunk_id")), np.int64, n)
        order = np.empty(n, np.int64)
        order[np.searchsorted(ids, by_chunk_id)] = np.arange(n)
        codes, names = {}, {}
        for name, col in (("region", 1), ("doc_type", 3), ("province", 7), ("city", 8)):
            names[name] = sorted({r[col] for r in rows if r[col] is not None})
            index = {v: i for i, v in enumerate(names[name])}
            codes[name] = np.fromiter((index.get(r[col], -1) for r in rows), np.int32, n)
        year = np.fromiter((NO_YEAR if r[2] is None else r[2] for r in rows), np.int32, n)
        raw = {f: np.fromiter((r[4 + i] for r in rows), np.int64, n) for i, f in enumerate(FIELDS)}
        return cls(generation, ids, order, year, codes, names, raw)

    @classmethod
    def open(cls, directory: Path, generation: str, db: sqlite3.Connection) -> Snapshot | None:
        """This generation's arrays from disk, if a reader saved them and they still match the file."""
        home = directory / f"{PREFIX}{generation}"
        try:
            meta = json.loads((home / "meta.json").read_text("utf-8"))
            arrays = {name: np.load(home / f"{name}.npy") for name in _ARRAYS}
        except (OSError, ValueError) as exc:
            if not isinstance(exc, FileNotFoundError):
                log.warning("忽略 %s 中无法读取的行数组：%s", home, exc)
            return None
        count, top = db.execute("SELECT count(*), max(id) FROM chunks").fetchone()
        ids = arrays["ids"]
        if len(ids) != count or (count and int(ids[-1]) != top):
            log.warning("%s 中的行数组与索引不符（索引 %d 行，保存 %d 行）：正在重建",
                        home, count, len(ids))
            return None
        return cls(generation, ids, arrays["order"], arrays["year"],
                   {name: arrays[name] for name in CODED}, meta["names"],
                   {f: arrays[f"n_{f}"] for f in FIELDS}, home)

    def save(self, directory: Path) -> None:
        """Keep the arrays beside the index for the next process; drop older generations' arrays."""
        home = directory / f"{PREFIX}{self.generation}"
        arrays = {"ids": self.ids, "order": self.order, "year": self.year, **self.codes,
                  **{f"n_{f}": n for f, n in self.raw_lengths.items()}}
        try:
            home.mkdir(parents=True, exist_ok=True)
            for name, values in arrays.items():
                save_array(home / f"{name}.npy", values)
            _replace(home / "meta.json", json.dumps({"names": self.names}, ensure_ascii=False).encode())
        except OSError as exc:  # a read-only or full disk costs speed, never a search
            log.warning("未能在 %s 保存行数组：%s", home, exc)
            return
        self.home = home
        for old in directory.glob(f"{PREFIX}*"):
            if old != home:
                shutil.rmtree(old, ignore_errors=True)

    def array(self, name: str, mmap: bool = True) -> np.ndarray | None:
        """A further array saved with this generation (vectors, vector lists), or None."""
        if self.home is None:
            return None
        try:
            return np.load(self.home / f"{name}.npy", mmap_mode="r" if mmap else None)
        except (OSError, ValueError):
            return None

    def keep(self, name: str, values: np.ndarray) -> None:
        if self.home is not None:
            try:
                save_array(self.home / f"{name}.npy", values)
            except OSError as exc:
                log.warning("未能保存 %s（%s）：%s", name, self.home, exc)

    # -- reading -------------------------------------------------------------

    def locate(self, row_ids: np.ndarray) -> np.ndarray:
        """Position of each row id, -1 where this generation does not hold it."""
        row_ids = np.asarray(row_ids, np.int64)
        at = np.full(len(row_ids), -1, np.int64)
        inside = row_ids < len(self.where)
        at[inside] = self.where[row_ids[inside]]
        return at

    def positions(self, row_ids: np.ndarray) -> np.ndarray:
        """Positions of these row ids (ids this generation does not hold are dropped)."""
        at = self.locate(row_ids)
        return at[at >= 0]

    def _isin(self, name: str, values: tuple[str, ...]) -> np.ndarray:
        wanted = [self.names[name].index(v) for v in values if v in self.names[name]]
        return np.isin(self.codes[name], wanted)

    def mask(self, filters: Filters) -> np.ndarray:
        """Rows passing the filters: the translation of `Filters.matches` (the contract suite holds it there)."""
        keep = np.ones(len(self.ids), bool)
        if filters.region:  # the report's own region or a government above it
            keep &= self._isin("region", filters.region) | self._isin("province", filters.region) \
                | self._isin("city", filters.region)
        for name in ("doc_type", "province", "city"):
            values = getattr(filters, name)
            if values:
                keep &= self._isin(name, values)
        if filters.year:
            keep &= np.isin(self.year, list(filters.year))
        if filters.year_from is not None or filters.year_to is not None:
            keep &= self.year != NO_YEAR
            if filters.year_from is not None:
                keep &= self.year >= filters.year_from
            if filters.year_to is not None:
                keep &= self.year <= filters.year_to
        return keep

    def count(self, selected: np.ndarray) -> FacetCounts:
        """Facet counts over the selected rows: by count, then by value."""
        fields = {}
        for name in FACET_FIELDS:
            if name == "year":
                years = self.year[selected]
                years = years[years != NO_YEAR]
                low = int(years.min()) if len(years) else 0
                counts = np.bincount(years - low)  # a count per year, not a sort of every match
                labels = [str(low + i) for i in range(len(counts))]
            else:
                codes = self.codes[name][selected]
                counts = np.bincount(codes[codes >= 0], minlength=len(self.names[name]))
                labels = self.names[name]
            # labels are in value order (years ascending, names sorted), so ties go by position
            shown = sorted((i for i, n in enumerate(counts) if n), key=lambda i: (-counts[i], i))
            fields[name] = [(labels[i], int(counts[i])) for i in shown]
        return FacetCounts(int(selected.sum()), fields)


def _tmp(path: Path) -> Path:
    # Unique per process and thread: two writers of the same file never share a temporary.
    return path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")


def save_array(path: Path, values: np.ndarray) -> None:
    tmp = _tmp(path)
    with open(tmp, "wb") as out:
        np.save(out, np.ascontiguousarray(values), allow_pickle=False)
    os.replace(tmp, path)


def _replace(path: Path, data: bytes) -> None:
    tmp = _tmp(path)
    tmp.write_bytes(data)
    os.replace(tmp, path)
