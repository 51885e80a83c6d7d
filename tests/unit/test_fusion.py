import pytest

from search_app.fusion import rrf


@pytest.mark.parametrize("lists, k, expected_order", [
    ({"keyword": ["a", "b"], "semantic": ["b", "a"]}, 60, ["a", "b"]),  # tie: best rank, then id
    ({"keyword": ["a", "b", "c"], "semantic": ["c"]}, 60, ["c", "a", "b"]),
    ({"keyword": [], "semantic": ["x", "y"]}, 60, ["x", "y"]),
    ({"keyword": ["a"], "semantic": []}, 1, ["a"]),
    ({"keyword": ["a", "a", "b"]}, 60, ["a", "b"]),  # duplicates count once
    ({}, 60, []),
])
def test_rrf_order(lists, k, expected_order):
    assert [f.chunk_id for f in rrf(lists, k)] == expected_order


def test_rrf_scores_and_matched():
    fused = {f.chunk_id: f for f in rrf({"keyword": ["a", "b"], "semantic": ["b"]}, k=10)}
    assert fused["b"].score == pytest.approx(1 / 12 + 1 / 11)
    assert fused["a"].score == pytest.approx(1 / 11)
    assert fused["b"].matched == ["keyword", "semantic"]
    assert fused["a"].matched == ["keyword"]
    assert fused["b"].ranks == {"keyword": 2, "semantic": 1}


def test_rrf_is_its_definition_on_long_lists_with_ties_and_repeats():
    import random

    rng = random.Random(20261202)
    ids = [f"c{i:05d}" for i in range(3000)]
    lists = {"keyword": rng.choices(ids, k=2500), "semantic": rng.sample(ids, 400)}
    got = rrf(lists, k=60)
    # the statement: score = sum of 1 / (k + rank) over the lists, a repeated id ranked where it first comes;
    # order by score, then best rank, then id
    ranks = {}
    for name, ranked in lists.items():
        for rank, cid in enumerate(dict.fromkeys(ranked), start=1):
            ranks.setdefault(cid, {})[name] = rank
    want = sorted(ranks, key=lambda c: (-sum(1 / (60 + r) for r in ranks[c].values()), min(ranks[c].values()), c))
    assert [f.chunk_id for f in got] == want
    assert all(f.ranks == ranks[f.chunk_id] and list(f.ranks) == list(ranks[f.chunk_id]) for f in got)
    assert all(f.score == sum(1 / (60 + r) for r in ranks[f.chunk_id].values()) for f in got)
