"""The embedded backend's IVF vector search (large indices): close to exact, never wrong under a filter,
kept beside the index for the next process, and built in the background without blocking searches.

The threshold is lowered so a few thousand generated passages (bench/corpus.py: real region names,
jieba tokens, vectors clustered by topic) take the path a 1M-passage archive takes.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from archive import ivf
from archive.backends.embedded import EmbeddedBackend
from archive.models import Filters

DIM, MODEL = 384, "bench:clustered-384"


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    from bench.corpus import iter_items

    directory = tmp_path_factory.mktemp("ivf-index")
    backend = EmbeddedBackend(directory, DIM, MODEL)
    backend.rebuild(iter_items(4000, DIM, seed=3))
    backend.close()
    return directory


def opened(directory, **kwargs) -> EmbeddedBackend:
    return EmbeddedBackend(directory, DIM, MODEL, **kwargs)


@pytest.fixture(scope="module")
def exact(index_dir):
    backend = opened(index_dir, ivf_min_rows=10**9)
    yield backend
    backend.close()


@pytest.fixture(scope="module")
def probed(index_dir):
    backend = opened(index_dir, ivf_min_rows=1)
    backend.warm()
    yield backend
    backend.close()


def queries(backend, n=20, seed=7) -> list[np.ndarray]:
    """Stored passage vectors with noise: queries that have real neighbours in the index."""
    mat = backend._vectors()
    rng = np.random.default_rng(seed)
    out = []
    for row in rng.choice(len(mat), n, replace=False):
        q = mat[row] + rng.normal(0, 0.5 / np.sqrt(DIM), DIM).astype(np.float32)
        out.append(q / np.linalg.norm(q))
    return out


def passes(f: Filters, region, year, doc_type) -> bool:
    return ((not f.region or region in f.region) and (not f.doc_type or doc_type in f.doc_type)
            and (not f.year or year in f.year)
            and (f.year_from is None or (year is not None and year >= f.year_from))
            and (f.year_to is None or (year is not None and year <= f.year_to)))


def pairs(results) -> list[tuple[str, float]]:
    return [(s.chunk_id, round(s.score, 5)) for s in results]


def test_probed_search_finds_nearly_what_exact_search_finds(exact, probed):
    assert probed._ivf is not None and probed._ivf[1].index.nlist > 1
    recalls = []
    for q in queries(exact):
        want = pairs(exact.vector_search(q, Filters(), 50))
        got = pairs(probed.vector_search(q, Filters(), 50))
        assert len(got) == 50
        # Every hit carries its exact similarity, best first; only a few far ones may be missed.
        assert set(got) <= set(pairs(exact.vector_search(q, Filters(), 4000)))
        assert [s for _, s in got] == sorted((s for _, s in got), reverse=True)
        recalls.append(len(set(got) & set(want)) / 50)
    assert np.mean(recalls) >= 0.95, recalls


@pytest.mark.parametrize("which", ["one year", "biggest region over years", "a type since 2020", "no such region"])
def test_filters_hold_on_the_probed_path(exact, probed, which):
    region = probed.connections.one("SELECT region FROM chunks GROUP BY region ORDER BY count(*) DESC")[0]
    filters = {"one year": Filters(year=(2019,)),
               "biggest region over years": Filters(region=(region,), year_from=2016, year_to=2024),
               "a type since 2020": Filters(doc_type=("自查报告",), year_from=2020),
               "no such region": Filters(region=("不存在的地区",))}[which]
    allowed = {c for c, region, year, doc_type in probed.connections.current().execute(
        "SELECT chunk_id, region, year, doc_type FROM chunks") if passes(filters, region, year, doc_type)}
    for q in queries(exact, n=5):
        got = probed.vector_search(q, filters, 20)
        assert {c for c, _ in pairs(got)} <= allowed
        want = exact.vector_search(q, filters, 20)
        assert len(got) == len(want) == min(20, len(allowed))
        if len(allowed) <= 200:  # a selective filter scores every row it lets through: exact
            assert pairs(got) == pairs(want)


def test_the_ivf_lists_are_kept_for_the_next_process(index_dir, probed, monkeypatch):
    home = probed._snap.home
    kept = {p.name for p in home.iterdir()}
    assert {"ivf_centroids.npy", "ivf_offsets.npy", "ivf_members.npy", "ivf_vectors.npy"} <= kept

    def no_build(*args, **kwargs):
        raise AssertionError("built again although the lists were kept")

    monkeypatch.setattr(ivf, "build", no_build)
    again = opened(index_dir, ivf_min_rows=1)
    try:
        q = queries(probed, n=1)[0]
        assert pairs(again.vector_search(q, Filters(), 10)) == pairs(probed.vector_search(q, Filters(), 10))
        assert again._ivf is not None
    finally:
        again.close()


def test_searches_stay_exact_while_the_lists_are_built_in_the_background(tmp_path, exact, monkeypatch):
    from bench.corpus import iter_items

    backend = opened(tmp_path, ivf_min_rows=1)
    backend.rebuild(iter_items(600, DIM, seed=5))
    reference = opened(tmp_path, ivf_min_rows=10**9)
    release = threading.Event()
    real_build = ivf.build

    def slow_build(mat, *args, **kwargs):
        assert release.wait(30)
        return real_build(mat, *args, **kwargs)

    monkeypatch.setattr(ivf, "build", slow_build)
    try:
        q = queries(reference, n=1)[0]
        for _ in range(3):  # the build is held: every search meanwhile is the exact one
            assert pairs(backend.vector_search(q, Filters(), 10)) == pairs(reference.vector_search(q, Filters(), 10))
        builders = [t for t in threading.enumerate() if t.name == "ivf-build"]
        assert len(builders) == 1  # started once, not once per search
        release.set()
        builders[0].join(30)
        assert backend._ivf is not None and backend._ivf[0] == backend._snap.generation
    finally:
        release.set()
        backend.close()
        reference.close()
