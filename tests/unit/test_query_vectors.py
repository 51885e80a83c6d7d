"""The query-vector memo: the same text embedded once per embedder, read-only, bounded."""

from __future__ import annotations

import numpy as np
import pytest

from archive.embedders import make_embedder
from search_app.query_vectors import KEPT, query_vector


class Counting:
    """The hash embedder, counting the queries it embeds."""

    def __init__(self) -> None:
        self.inner, self.calls = make_embedder("hash"), []

    def embed_query(self, text: str) -> np.ndarray:
        self.calls.append(text)
        return self.inner.embed_query(text)


def test_the_same_text_is_embedded_once():
    e = Counting()
    first, again = query_vector(e, "行政复议"), query_vector(e, "行政复议")
    assert e.calls == ["行政复议"] and again is first
    assert np.array_equal(first, e.inner.embed_query("行政复议"))
    with pytest.raises(ValueError):
        first[0] = 1.0  # shared between searches: read-only


def test_each_embedder_keeps_its_own_and_only_the_last_few():
    a, b = Counting(), Counting()
    query_vector(a, "普法")
    query_vector(b, "普法")
    assert a.calls == b.calls == ["普法"]
    for i in range(KEPT):
        query_vector(a, f"词{i}")
    query_vector(a, "普法")  # pushed out by KEPT newer queries: embedded again
    query_vector(a, f"词{KEPT - 1}")  # still kept
    assert a.calls.count("普法") == 2 and a.calls.count(f"词{KEPT - 1}") == 1
