"""BM25 exactly as Lucene (and so Elasticsearch) computes it, for the embedded backend.

Both backends must rank the same passages first for the same keyword query. SQLite's
FTS5 bm25() cannot: its IDF drops to almost nothing for words in more than half the
passages, and it scores all columns as one. So the embedded backend uses FTS5 only
to find postings and scores them here, with Lucene's formula (BM25Similarity,
k1=1.2, b=0.75), its lossy one-byte field lengths (SmallFloat.intToByte4) and its
float32 arithmetic: per field, per term, summed with the field's boost. Elasticsearch
keeps the pre-Lucene-8 score scale (LegacyBM25Similarity: the boost times k1 + 1), and
so do we, so explain=1 shows the same numbers on both backends.
"""

from __future__ import annotations

import functools
import math

import numpy as np

K1 = np.float32(1.2)
B = np.float32(0.75)


def _long_to_int4(i: int) -> int:
    bits = i.bit_length()
    if bits < 4:
        return i
    shift = bits - 4
    return ((i >> shift) & 0x07) | ((shift + 1) << 3)


def _int4_to_long(i: int) -> int:
    bits, shift = i & 0x07, (i >> 3) - 1
    return bits if shift == -1 else (bits | 0x08) << shift


_NUM_FREE_VALUES = 255 - _long_to_int4(2**31 - 1)


def encode_length(n: int) -> int:
    """Lucene's SmallFloat.intToByte4: exact below 24 tokens, then 4 significant bits."""
    return n if n < _NUM_FREE_VALUES else _NUM_FREE_VALUES + _long_to_int4(n - _NUM_FREE_VALUES)


@functools.cache
def _length_table() -> np.ndarray:
    return np.array([b if b < _NUM_FREE_VALUES else _NUM_FREE_VALUES + _int4_to_long(b - _NUM_FREE_VALUES)
                     for b in range(256)], dtype=np.float32)


def stored_lengths(lengths: np.ndarray) -> np.ndarray:
    """The field lengths Lucene scores with (what survives its one-byte norm), as float32."""
    lengths = np.asarray(lengths, dtype=np.int64)
    if not len(lengths):
        return np.zeros(0, np.float32)
    codes = {n: encode_length(int(n)) for n in np.unique(lengths)}
    encoded = np.vectorize(codes.__getitem__, otypes=[np.int64])(lengths)
    return _length_table()[encoded]


def idf(doc_freq: int, doc_count: int) -> np.float32:
    """Lucene's always-positive IDF: log(1 + (N - n + 0.5) / (n + 0.5))."""
    return np.float32(math.log(1 + (doc_count - doc_freq + 0.5) / (doc_freq + 0.5)))


def average_length(total_terms: int, doc_count: int) -> np.float32:
    return np.float32(total_terms / doc_count) if doc_count else np.float32(1)


def weight(boost: float, doc_freq: int, doc_count: int) -> np.float32:
    """A term's weight in a field: its boost, times k1 + 1 as Elasticsearch does, times its IDF."""
    return np.float32(boost) * (np.float32(1) + K1) * idf(doc_freq, doc_count)


def term_scores(tf: np.ndarray, lengths: np.ndarray, weight: np.float32, avgdl: np.float32) -> np.ndarray:
    """One term's per-passage score in one field: weight * tf / (tf + k1 * (1 - b + b * length / avgdl))."""
    # `weight` is weight()'s boost * (k1 + 1) * idf (not boost * idf); `lengths` as from stored_lengths.
    norm_inverse = np.float32(1) / (K1 * ((np.float32(1) - B) + B * lengths / avgdl))
    weight = np.float32(weight)
    return weight - weight / (np.float32(1) + np.asarray(tf, np.float32) * norm_inverse)

# Field boosts shared by both backends. Section paths repeat the same few words ("工作", "推进")
# over many passages, so they count half; chosen on tests/eval (README, "Search quality").
FIELD_BOOSTS = {"title": 1.0, "section": 0.5, "body": 1.0}
