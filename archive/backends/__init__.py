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
                              model_id=model_id, timeout=config.es_timeout, options=elastic_options(config),
                              shards=config.es_shards, replicas=config.es_replicas,
                              vector_index=config.es_vector_index)
    raise ValueError(f"unknown backend {config.backend!r}")


def elastic_options(config: Config) -> dict:
    """The Elasticsearch client's authentication and TLS arguments from the settings."""
    options: dict = {}
    if config.es_api_key:
        options["api_key"] = config.es_api_key
    if config.es_username:
        options["basic_auth"] = (config.es_username, config.es_password)
    if config.es_ca_certs:
        options["ca_certs"] = str(config.es_ca_certs)
    if config.es_cert_fingerprint:
        options["ssl_assert_fingerprint"] = config.es_cert_fingerprint
    return options


__all__ = ["Backend", "elastic_options", "make_backend"]
