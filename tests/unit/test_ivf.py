import numpy as np
import pytest

from archive import ivf
from archive.backends.embedded_vectors import Probed

DIM = 384
# bench.corpus mixes 0.7 x one of 100 topic centroids with unit-norm noise. At 20,000 rows that
# leaves ~1.4 lists per topic, so the nearest list alone holds most neighbours; half as many
# topics and half as much noise again spread each topic over several overlapping lists (at 1M
# rows a topic spans ~10), so the probe has to find them.
TOPICS = 50
NOISE = 1.5
K = 100


def clustered(n: int, rng: np.random.Generator, centroids: np.ndarray) -> np.ndarray:
    v = centroids[rng.integers(0, len(centroids), n)] * 0.7
    v += rng.standard_normal((n, centroids.shape[1]), dtype=np.float32) * (NOISE / np.sqrt(centroids.shape[1]))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def unit_rows(n: int, dim: int, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, dim), dtype=np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def top(mat: np.ndarray, rows: np.ndarray, q: np.ndarray, k: int = K) -> set[int]:
    """Exact top k of `rows` by dot product, as the backend rescores them."""
    k = min(k, len(rows))
    sims = mat[rows] @ q
    return set(rows[np.argpartition(-sims, k - 1)[:k]].tolist()) if k else set()


_PROBED: dict[int, Probed] = {}


def candidates(mat, index, q, want, mask=None, nprobe=None) -> np.ndarray:
    """The rows the serving path (`Probed.search`, vectors in list order) scores for `q`; their
    similarities are checked against the matrix on the way."""
    probed = _PROBED.get(id(index))
    if probed is None or probed.index is not index:
        probed = _PROBED[id(index)] = Probed(index, np.ascontiguousarray(mat[index.members]))
    rows, sims = probed.search(q, want, mask, nprobe)
    assert rows.dtype == np.int64
    np.testing.assert_allclose(sims, mat[rows] @ q, rtol=1e-4, atol=1e-5)
    return rows


def recall(mat, index, queries, nprobe=None) -> float:
    """Mean recall@K of IVF candidates rescored exactly, against brute force over every row."""
    everything = np.arange(len(mat))
    scores = []
    for q in queries:
        truth = top(mat, everything, q)
        got = top(mat, candidates(mat, index, q, K, nprobe=nprobe), q)
        scores.append(len(got & truth) / len(truth))
    return float(np.mean(scores))


@pytest.fixture(scope="module")
def corpus():
    rng = np.random.default_rng(7)
    centroids = unit_rows(TOPICS, DIM, seed=1)
    mat = clustered(20_000, rng, centroids)
    queries = clustered(20, rng, centroids)
    return mat, queries, ivf.build(mat)


@pytest.fixture(scope="module")
def small():
    mat = clustered(3_000, np.random.default_rng(3), unit_rows(TOPICS, DIM, seed=1))
    return mat, ivf.build(mat)


# ---------------------------------------------------------------- defaults

@pytest.mark.parametrize("n, expected", [
    (1, 1), (3, 2), (4, 2), (20_000, 141), (1_000_000, 1000), (10**8, 4096),
])
def test_default_nlist(n, expected):
    assert ivf.default_nlist(n) == expected


@pytest.mark.parametrize("nlist, expected", [(1, 1), (5, 5), (20, 8), (100, 25), (1000, 250), (4096, 1024)])
def test_default_nprobe(nlist, expected):
    assert ivf.default_nprobe(nlist) == expected


# ---------------------------------------------------------------- build

def assert_well_formed(index: ivf.IvfIndex, mat: np.ndarray) -> None:
    n = len(mat)
    assert index.centroids.dtype == np.float32 and index.centroids.shape == (index.nlist, mat.shape[1])
    assert index.offsets.dtype == np.int64 and index.members.dtype == np.int32
    assert index.offsets[0] == 0 and index.offsets[-1] == n and len(index.offsets) == index.nlist + 1
    assert np.all(np.diff(index.offsets) >= 0)
    assert np.array_equal(np.sort(index.members), np.arange(n)), "every row must be listed exactly once"
    assert np.all(np.isfinite(index.centroids))
    np.testing.assert_allclose(np.linalg.norm(index.centroids, axis=1), 1, atol=1e-5)


BUILD_CASES = [
    ("one row", unit_rows(1, 8, seed=0), None, 1),
    ("fewer rows than lists", unit_rows(5, 8, seed=0), 10, 5),
    ("one list", unit_rows(50, 8, seed=0), 1, 1),
    # every row identical: all but one cluster empties and must be re-seeded, not turn NaN
    ("identical rows", np.tile(unit_rows(1, 8, seed=0), (40, 1)), 4, 4),
    ("default nlist", unit_rows(400, 16, seed=0), None, 20),
]


@pytest.mark.parametrize("name, mat, nlist, expected_nlist", BUILD_CASES, ids=[c[0] for c in BUILD_CASES])
def test_build_is_well_formed(name, mat, nlist, expected_nlist):
    index = ivf.build(mat, nlist)
    assert index.nlist == expected_nlist
    assert_well_formed(index, mat)


def test_build_on_clustered_rows_is_well_formed(small):
    mat, index = small
    assert_well_formed(index, mat)


def test_every_row_is_listed_under_its_nearest_centroid(small):
    mat, index = small
    labels = np.repeat(np.arange(index.nlist), np.diff(index.offsets))
    nearest = np.argmax(mat[index.members] @ index.centroids.T, axis=1)
    assert np.array_equal(labels, nearest)


def test_build_is_deterministic_for_a_seed(small):
    mat, index = small
    again = ivf.build(mat)
    for field in ("centroids", "offsets", "members"):
        assert np.array_equal(getattr(index, field), getattr(again, field)), field
    assert not np.array_equal(index.centroids, ivf.build(mat, seed=1).centroids)


def test_block_size_does_not_change_the_index(small):
    mat, index = small
    blocked = ivf.build(mat, block=333)
    assert np.array_equal(index.members, blocked.members)
    assert np.array_equal(index.offsets, blocked.offsets)


@pytest.mark.parametrize("mat, nlist", [
    pytest.param(np.zeros((0, 8), np.float32), None, id="no rows"),
    pytest.param(np.ones(8, np.float32), None, id="1-D"),
    pytest.param(unit_rows(10, 8, seed=0), 0, id="no lists"),
])
def test_build_rejects(mat, nlist):
    with pytest.raises(ValueError):
        ivf.build(mat, nlist)


# ---------------------------------------------------------------- unfiltered search

def test_recall_at_100_with_default_nprobe(corpus):
    mat, queries, index = corpus
    assert recall(mat, index, queries) >= 0.95


def test_neighbours_are_not_all_in_the_nearest_list(corpus):
    """Guards the recall test: on trivially separated data any probe would pass it."""
    mat, queries, index = corpus
    assert recall(mat, index, queries, nprobe=1) < 0.8


def test_probing_every_list_is_exact_search(corpus):
    mat, queries, index = corpus
    rows = candidates(mat, index, queries[0], K, nprobe=index.nlist)
    assert np.array_equal(np.sort(rows), np.arange(len(mat)))
    assert recall(mat, index, queries[:3], nprobe=index.nlist) == 1.0


def test_candidates_are_unique_int64_rows(corpus):
    mat, queries, index = corpus
    rows = candidates(mat, index, queries[0], K)
    assert rows.dtype == np.int64
    assert len(np.unique(rows)) == len(rows) >= K


def test_want_beyond_the_probe_widens_it(corpus):
    mat, queries, index = corpus
    narrow = candidates(mat, index, queries[0], 1, nprobe=2)
    wide = candidates(mat, index, queries[0], 5_000, nprobe=2)
    assert len(narrow) < 5_000 <= len(wide)
    assert set(narrow.tolist()) <= set(wide.tolist())


# ---------------------------------------------------------------- filtered search

def random_mask(fraction: float):
    return lambda mat, q: np.random.default_rng(11).random(len(mat)) < fraction


def far_rows(mat, q):
    """The 1% of rows least like the query: a filter correlated with the vectors, far from the probe's start."""
    return mat @ q < np.quantile(mat @ q, 0.01)


# Measured means: 1.0, 0.99, 0.95, 0.98, 1.0. The dip at 30% is the test data's doing: the masked
# top 100 reach down to rank ~330, beyond the query's topic (~400 rows, ~120 of them passing), where
# the rest are scattered noise that no list ordering finds. In the 1M benchmark a topic holds 10,000.
FILTER_CASES = [
    # ~100 rows pass, so k is below that to make "exact top k" mean something
    ("0.5% of rows", random_mask(0.005), 10, 1.0),
    ("5% of rows", random_mask(0.05), K, 0.95),
    ("30% of rows", random_mask(0.3), K, 0.9),
    ("60% of rows", random_mask(0.6), K, 0.95),
    ("the 1% least similar rows", far_rows, K, 1.0),
]


@pytest.mark.parametrize("name, make_mask, k, min_recall", FILTER_CASES, ids=[c[0] for c in FILTER_CASES])
def test_filters_keep_recall(corpus, name, make_mask, k, min_recall):
    mat, queries, index = corpus
    scores = []
    for q in queries[:10]:
        mask = make_mask(mat, q)
        rows = candidates(mat, index, q, k, mask=mask)
        assert mask[rows].all()
        # a filter never leaves fewer rows to score than an unfiltered probe would
        assert len(rows) >= min(mask.sum(), len(candidates(mat, index, q, k)))
        truth = top(mat, np.flatnonzero(mask), q, k)
        assert len(truth) == k
        scores.append(len(top(mat, rows, q, k) & truth) / k)
    assert np.mean(scores) >= min_recall


EDGE_CASES = [
    ("nothing", lambda n: np.zeros(n, bool), K, lambda n: np.array([], np.int64)),
    ("no mask, want > N", lambda n: None, 10**9, lambda n: np.arange(n)),
    ("mask, want > N", lambda n: np.arange(n) % 3 == 0, 10**9, lambda n: np.arange(0, n, 3)),
    ("single row", lambda n: np.arange(n) == 1234, K, lambda n: np.array([1234])),
]


@pytest.mark.parametrize("name, make_mask, want, expected", EDGE_CASES, ids=[c[0] for c in EDGE_CASES])
def test_candidates_edge_cases(corpus, name, make_mask, want, expected):
    mat, queries, index = corpus
    rows = candidates(mat, index, queries[0], want, mask=make_mask(len(mat)))
    assert rows.dtype == np.int64
    assert np.array_equal(np.sort(rows), expected(len(mat)))


def test_probing_every_list_with_a_mask_gives_exactly_the_masked_rows(corpus):
    mat, queries, index = corpus
    mask = np.random.default_rng(5).random(len(mat)) < 0.3
    rows = candidates(mat, index, queries[0], 1, mask=mask, nprobe=index.nlist)
    assert np.array_equal(np.sort(rows), np.flatnonzero(mask))


@pytest.mark.parametrize("make_mask", [
    pytest.param(lambda n: np.ones(n - 1, bool), id="too short"),
    pytest.param(lambda n: np.ones(n, np.int8), id="not bool"),
])
def test_bad_masks_are_rejected(corpus, make_mask):
    mat, queries, index = corpus
    with pytest.raises(ValueError):
        candidates(mat, index, queries[0], K, mask=make_mask(len(mat)))


@pytest.mark.parametrize("lists", [[0], [2, 0, 1], [5, 3], list(range(12)), []])
def test_runs_cover_exactly_the_slots_of_the_lists(lists):
    index = ivf.build(unit_rows(600, 16, seed=4), nlist=12, seed=1)
    spans = ivf.runs(index, np.array(lists, np.int64))
    covered = [j for a, b in spans for j in range(a, b)]
    assert covered == sorted(j for i in lists for j in range(index.offsets[i], index.offsets[i + 1]))
    assert all(b > a for a, b in spans)
    assert all(b1 < a2 for (_, b1), (a2, _) in zip(spans, spans[1:]))  # adjacent lists were merged
