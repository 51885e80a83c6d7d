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
