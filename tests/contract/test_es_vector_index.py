"""Elasticsearch only: ARCHIVE_ES_VECTOR_INDEX=flat (exact kNN, no graph) and hnsw indices read by either setting.

A setting changes only the indices made from then on; an index built with the other options is
served as it is (same answers here), and a reindex builds the new one with the configured options.
"""

from __future__ import annotations

from uuid import uuid4

import numpy as np
import pytest

from archive.backends.elastic import ElasticBackend
from archive.models import Filters
from tests.contract.conftest import drop_es_indices
from tests.es_reads import check_reads, revised, version_of

pytestmark = pytest.mark.es

QUERIES = ["行政复议案件办理情况", "执法人员培训考核", "法治政府建设工作安排", "公共法律服务"]


def index_type(backend: ElasticBackend) -> str:
    """The vector index type the live index was built with, as the node reports it."""
    live = backend._live_index()
    mapping = backend.client.indices.get_mapping(index=live)[live]["mappings"]
    return mapping["properties"]["vector"]["index_options"]["type"]


def exact(corpus, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
    """Brute force over the corpus's vectors: (chunk id, cosine) best first."""
    rows = [(c.chunk_id, float(np.dot(v, vector) / np.linalg.norm(v) / np.linalg.norm(vector)))
            for _, chunks, vectors, _ in corpus for c, v in zip(chunks, vectors, strict=True)]
    return sorted(rows, key=lambda r: -r[1])[:k]


def answers(backend, vectors, k=5):
    return [[(s.chunk_id, s.score) for s in backend.vector_search(v, Filters(), k)] for v in vectors]


def test_a_flat_index_answers_exactly_and_either_setting_reads_either_index(es_url, corpus, embedder):
    alias = f"test-vectors-{uuid4().hex[:8]}"
    flat = ElasticBackend(es_url, alias, embedder.dim, embedder.model_id, vector_index="flat")
    hnsw = ElasticBackend(es_url, alias, embedder.dim, embedder.model_id)  # the setting changed afterwards
    vectors = [embedder.embed_query(q) for q in QUERIES]
    try:
        for item in corpus:
            flat.index_documents([item])
        assert index_type(flat) == "flat"
        got = answers(flat, vectors)
        for vector, ranked in zip(vectors, got, strict=True):
            want = exact(corpus, vector, 5)
            assert [c for c, _ in ranked] == [c for c, _ in want]
            assert np.allclose([s for _, s in ranked], [s for _, s in want], atol=1e-4)
        assert answers(hnsw, vectors) == got  # the other setting serves the flat index as it is
        hnsw.check_compatible()
        hnsw.index_documents([revised(corpus[0], 2)])  # and writes into it
        assert index_type(hnsw) == "flat"
        assert hnsw.get_vectors([c.chunk_id for c in corpus[1][1]]).keys() == {c.chunk_id for c in corpus[1][1]}
        hnsw.index_documents([corpus[0]])
        assert hnsw.rebuild(corpus) == len(corpus)  # what `indexer reindex` runs: built as now configured
        assert index_type(hnsw) == "hnsw"
        assert [[c for c, _ in r] for r in answers(hnsw, vectors)] == [[c for c, _ in r] for r in got]
        assert [[c for c, _ in r] for r in answers(flat, vectors)] == [[c for c, _ in r] for r in got]
        check_reads(flat, {doc.doc_id: [version_of(item)] for item in corpus for doc in [item[0]]}, settled=True)
    finally:
        drop_es_indices(flat)
        flat.close()
        hnsw.close()
