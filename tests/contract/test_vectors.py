"""`get_vectors`: every backend gives back the vectors it indexed, for live passages only."""

from __future__ import annotations

import numpy as np
import pytest

from archive.backends.base import IndexItem
from archive.models import Filters
from archive.text import document_tokens


def indexed_vectors(corpus) -> dict[str, np.ndarray]:
    return {c.chunk_id: v for _doc, chunks, vectors, _ in corpus for c, v in zip(chunks, vectors)}


@pytest.mark.parametrize("wanted", [
    ["qc-2021-0001"],
    ["qc-2021-0001", "hc-2020-0002", "by-2022-0004"],
    ["yl-2023-0000", "yl-2023-0000"],  # an id twice: one entry
])
def test_vectors_read_back_as_indexed(loaded, corpus, wanted):
    expected = indexed_vectors(corpus)
    got = loaded.get_vectors(wanted)
    assert sorted(got) == sorted(set(wanted))
    for chunk_id, vector in got.items():
        assert vector.dtype == np.float32 and vector.shape == expected[chunk_id].shape
        np.testing.assert_allclose(vector, expected[chunk_id], atol=1e-5)


@pytest.mark.parametrize("wanted, found", [
    ([], set()),
    (["no-such-0000"], set()),
    (["qc-2022-0003", "no-such-0000", "../qc-2022-0003"], {"qc-2022-0003"}),
])
def test_unknown_ids_are_left_out(loaded, wanted, found):
    assert set(loaded.get_vectors(wanted)) == found


def test_a_stored_vector_finds_its_own_passage_first(loaded):
    vector = loaded.get_vectors(["hc-2023-0003"])["hc-2023-0003"]
    best = loaded.vector_search(vector, Filters(), limit=3)
    assert best[0].chunk_id == "hc-2023-0003"
    assert best[0].score == pytest.approx(1.0, abs=1e-3)


def test_vectors_of_replaced_passages_are_gone(fresh, corpus):
    first = corpus[0]
    doc, chunks, vectors = first.doc, first.chunks, first.vectors
    fresh.index_documents([first])
    kept = 2
    fresh.index_documents([IndexItem(doc, chunks[:kept], vectors[:kept][::-1].copy(),
                                     document_tokens(doc.title, chunks[:kept]))])
    got = fresh.get_vectors([c.chunk_id for c in chunks])
    assert sorted(got) == [c.chunk_id for c in chunks[:kept]]
    # The second write's vectors (swapped), not the first's.
    np.testing.assert_allclose(got[chunks[0].chunk_id], vectors[1], atol=1e-5)
