"""The archive's services for one configuration: the embedder (cached) and the backend, built lazily."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property

from archive.backends import Backend, make_backend
from archive.config import Config
from archive.embedders import CachedEmbedder, make_embedder, resolve_embedder


class Archive:
    """Holds the configured embedder and backend; nothing is loaded or connected until first use."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._lock = threading.Lock()

    @cached_property
    def embedder(self) -> CachedEmbedder:
        inner = make_embedder(self.embedder_spec, device=self.config.device, threads=self.config.embed_threads)
        return CachedEmbedder(inner, self.config.data_dir / "embeddings.sqlite")

    @cached_property
    def embedder_spec(self) -> str:
        """ARCHIVE_EMBEDDER, with `auto` settled: asks the index which embedder built it (Elasticsearch down:
        BackendUnavailable, and the next call asks again)."""
        return resolve_embedder(self.config.embedder, self._recorded_model_id)

    def embedder_name(self) -> str:
        """The embedder this archive uses, once settled (`embedder_spec`); until then the setting, `auto` say,
        without asking the index (start-up logs this before any request)."""
        return self.__dict__.get("embedder_spec", self.config.embedder)

    def _recorded_model_id(self) -> str | None:
        probe = make_backend(self.config, dim=0, model_id="")
        try:
            return probe.recorded_model_id()
        finally:
            probe.close()

    @cached_property
    def backend(self) -> Backend:
        with self._lock:
            return make_backend(self.config, dim=self.embedder.dim, model_id=self.embedder.model_id)

    @cached_property
    def pool(self) -> ThreadPoolExecutor:
        """Threads for work one search can overlap: keyword retrieval while the query is embedded."""
        with self._lock:
            return ThreadPoolExecutor(max_workers=8, thread_name_prefix="archive-search")

    def close(self) -> None:
        if "pool" in self.__dict__:
            self.pool.shutdown(wait=False, cancel_futures=True)
        if "backend" in self.__dict__:
            self.backend.close()
