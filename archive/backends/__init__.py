"""Index backends behind one Protocol, chosen by `ARCHIVE_BACKEND`."""

from __future__ import annotations

from archive.backends.base import Backend
from archive.config import Config


def make_backend(config: Config, dim: int, model_id: str) -> Backend:
    """Build the configured backend (lazily connecting: nothing happens until first use)."""
    if config.backend == "embedded":
        from archive.backends.embedded import EmbeddedBackend

        return EmbeddedBackend(config.data_dir / "index", dim=dim, model_id=model_id)
    if config.backend == "elasticsearch":
        from archive.backends.elastic import ElasticBackend

        return ElasticBackend(config.elasticsearch_url, alias=config.es_index, dim=dim,
                              model_id=model_id, timeout=config.es_timeout)
    raise ValueError(f"unknown backend {config.backend!r}")


__all__ = ["Backend", "make_backend"]
