"""The embedded backend's IVF probing: which index serves a generation, how it is built and kept.

Exact search reads every vector (its time at 100k and 1M passages: `archive/ivf.py`'s opening). From
IVF_MIN_ROWS on, searches probe an IVF index (`archive/ivf.py`) once one exists for the current
generation: at 1M 2.6x faster, recall@100 0.97; at 100k only 1.3x faster for recall 0.94, not
worth it (bench/RESULTS.md). The index is kept with the generation's row arrays
(`embedded_rows.py`), its vectors stored in list order so a probe reads whole runs of rows.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from archive import ivf
from archive.backends.embedded_rows import Snapshot

log = logging.getLogger(__name__)

IVF_MIN_ROWS = 200_000
_ARRAYS = ("ivf_centroids", "ivf_offsets", "ivf_members")


@dataclass
class Probed:
    """An IVF index with the vectors stored in its list order."""

    index: ivf.IvfIndex
    vectors: np.ndarray  # vectors[j] is the vector of row index.members[j]
    slot: np.ndarray = field(init=False)  # slot[row] = j: where a row's vector is in `vectors`

    def __post_init__(self) -> None:
        self.slot = np.empty(len(self.index.members), np.int64)
        self.slot[self.index.members] = np.arange(len(self.index.members))

    def search(self, query: np.ndarray, limit: int, mask: np.ndarray | None,
               nprobe: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(row positions, exact similarities) of the rows the IVF plan selects (`ivf.plan`)."""
        index = self.index
        lists = ivf.plan(index, query, limit, mask, nprobe)
        if lists is None:  # so few rows pass the filter that all of them are scored
            at = np.sort(self.slot[np.flatnonzero(mask)])
            return index.members[at].astype(np.int64), self.vectors[at] @ query
        spans = ivf.runs(index, lists) or [(0, 0)]
        rows = np.concatenate([index.members[a:b] for a, b in spans]).astype(np.int64)
        sims = np.concatenate([self.vectors[a:b] @ query for a, b in spans])
        if mask is not None:
            keep = mask[rows]
            rows, sims = rows[keep], sims[keep]
        return rows, sims


class Probing:
    """The IVF index of the current generation: kept, built now, or being built in the background."""

    def __init__(self, min_rows: int = IVF_MIN_ROWS, lock: threading.Lock | None = None) -> None:
        self.min_rows = min_rows
        # The backend's generation lock (never held while calling in here): the index in use changes
        # with the generation, under the same lock as the snapshot it was built for.
        self._lock = lock or threading.Lock()
        self.current: tuple[str, Probed] | None = None  # set to None with the lock held
        self._building: str | None = None  # the generation a build was started for

    def index(self, snap: Snapshot, mat: np.ndarray, wait: bool = False) -> Probed | None:
        """The index for this generation; None (search exactly) below min_rows or while it is built."""
        if len(mat) < self.min_rows:
            return None
        with self._lock:
            if self.current is not None and self.current[0] == snap.generation:
                return self.current[1]
            kept = _kept(snap, mat)
            if kept is not None:
                self.current = (snap.generation, kept)
                return kept
            started = self._building == snap.generation
            self._building = snap.generation
        if wait:
            return self._build(snap, mat)
        if not started:
            # Searches stay exact meanwhile: at 1M passages clustering takes ~30 s of one core.
            threading.Thread(target=self._build, args=(snap, mat), name="ivf-build", daemon=True).start()
        return None

    def _build(self, snap: Snapshot, mat: np.ndarray) -> Probed | None:
        t = time.perf_counter()
        try:
            index = ivf.build(mat)
            vectors = np.asarray(mat)[index.members]
        except (MemoryError, ValueError) as exc:
            log.warning("未能为 %d 个向量建立 IVF 索引（检索保持精确比对）：%s", len(mat), exc)
            return None
        for name, values in zip(_ARRAYS, (index.centroids, index.offsets, index.members)):
            snap.keep(name, values)
        snap.keep("ivf_vectors", vectors)
        probed = Probed(index, vectors)
        with self._lock:
            self.current = (snap.generation, probed)
        log.info("%d 个向量的 IVF 索引（%d 个列表）已建好，用时 %.1f 秒", len(mat), index.nlist,
                 time.perf_counter() - t)
        return probed


def _kept(snap: Snapshot, mat: np.ndarray) -> Probed | None:
    kept = [snap.array(name, mmap=False) for name in _ARRAYS]
    vectors = snap.array("ivf_vectors")
    if any(a is None for a in kept) or vectors is None or vectors.shape != mat.shape:
        return None
    if len(kept[2]) != len(mat) or kept[1][-1] != len(mat):
        return None
    return Probed(ivf.IvfIndex(*kept), vectors)
