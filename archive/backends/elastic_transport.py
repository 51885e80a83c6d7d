"""The Elasticsearch backend's one way to the cluster: the client, its timeouts, and errors translated.

Every call goes through `Transport.guarded`, so an unreachable or failing cluster surfaces as
BackendUnavailable within about `timeout` seconds, refused credentials or an untrusted
certificate as BackendMisconfigured, never as a transport exception.
"""

from __future__ import annotations

import logging
import operator
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

from elastic_transport import TlsError
from elasticsearch import ApiError, Elasticsearch, NotFoundError, TransportError, helpers
from elasticsearch.serializer import OrjsonSerializer

from archive.errors import ArchiveError, BackendMisconfigured, BackendUnavailable

log = logging.getLogger(__name__)

SCAN_PAGE = 1_000
BULK_TIMEOUT = 120.0
BULK_CHUNK = 200  # actions per bulk request (passages carry a vector each: ~1 MB a request)
CREDENTIALS_REFUSED = "拒绝了凭据（401），请检查 ELASTICSEARCH_API_KEY 或 ELASTICSEARCH_USERNAME/ELASTICSEARCH_PASSWORD"
PERMISSION_REFUSED = "拒绝了请求（403）：该用户没有档案索引所需的权限"


class IndexingFailed(ArchiveError):
    """Elasticsearch refused some passages or documents; their ids are listed."""

    code = "indexing_failed"
    status = 500

    def __init__(self, failures: dict[str, str]) -> None:
        self.failures = failures
        shown = "；".join(f"{i}（{why}）" for i, why in list(failures.items())[:10])
        more = f"；另有 {len(failures) - 10} 项" if len(failures) > 10 else ""
        super().__init__(f"Elasticsearch 拒绝写入 {len(failures)} 项：{shown}{more}")


class Refused(ArchiveError):
    """Elasticsearch rejected a request (a 4xx other than 404): a bug or a misconfigured index."""

    code = "elasticsearch_refused"
    status = 500

    def __init__(self, exc: ApiError) -> None:
        self.error_type = str(exc.error)
        super().__init__(f"Elasticsearch 拒绝了请求：{exc}")


class Transport:
    """A lazily made client and the translation of what it raises; connects on first use."""

    def __init__(self, url: str, timeout: float, options: Mapping | None = None) -> None:
        self.url = url
        self.timeout = timeout
        self.options = dict(options or {})  # authentication and TLS (archive.backends.elastic_options)
        self._client: Elasticsearch | None = None
        self._lock = threading.Lock()

    @property
    def client(self) -> Elasticsearch:
        """The client, made on first use."""
        with self._lock:
            if self._client is None:
                # One retry on a refused connection, none on a timeout: a down cluster answers within ~timeout.
                # Several comma-separated URLs are nodes of one cluster: a lost node's requests go to the others.
                # orjson writes the bulk bodies: the standard library's json spent a quarter of an ingest's main
                # process on the passages' vectors, which orjson writes straight from float32 arrays, in half the bytes.
                self._client = Elasticsearch(self.url.split(","), request_timeout=self.timeout, max_retries=1,
                                             retry_on_timeout=False, serializer=OrjsonSerializer(), **self.options)
            return self._client

    @contextmanager
    def guarded(self) -> Iterator[None]:
        """Translate what the client raises into the archive's errors (404s pass through)."""
        try:
            yield
        except TlsError as exc:
            raise BackendMisconfigured(
                f"Elasticsearch（{self.url}）：证书不受信任或 TLS 握手失败，请设置 ELASTICSEARCH_CA_CERTS 或 "
                f"ELASTICSEARCH_CERT_FINGERPRINT（{type(exc).__name__}）") from exc
        except TransportError as exc:  # connection refused, timeouts, unreadable answers
            raise BackendUnavailable(f"无法连接 Elasticsearch（{self.url}）：{exc}") from exc
        except NotFoundError:
            raise  # `read` turns it into "nothing there"
        except ApiError as exc:
            if exc.meta.status in (401, 403):
                what = CREDENTIALS_REFUSED if exc.meta.status == 401 else PERMISSION_REFUSED
                raise BackendMisconfigured(f"Elasticsearch（{self.url}）{what}：{exc.message}") from exc
            if exc.meta.status >= 500 or exc.meta.status == 429:
                raise BackendUnavailable(f"Elasticsearch（{self.url}）暂时无法应答：{exc}") from exc
            raise Refused(exc) from exc

    def call(self, api: str, **kwargs):
        """Call a client method by dotted name (`search`, `indices.refresh`) with errors translated."""
        with self.guarded():
            return operator.attrgetter(api)(self.client)(**kwargs)

    def read(self, api: str, default, **kwargs):
        """Like `call`, but a missing index (nothing written yet) or document reads as `default`."""
        try:
            return self.call(api, **kwargs)
        except NotFoundError:
            return default

    def search(self, index: str, **body) -> dict:
        """A search that fails rather than answer from some shards only; nothing there reads as no hits."""
        empty = {"hits": {"total": {"value": 0}, "hits": []}, "aggregations": {}}
        return self.read("search", empty, index=index, allow_partial_search_results=False, **body)

    def scan(self, index: str, query: dict, sort: list, source) -> Iterator[dict]:
        """Every hit of a query, page by page with search_after (`sort` must end on a unique field)."""
        after = None
        while True:
            extra = {"search_after": after} if after else {}
            hits = self.search(index, query=query, sort=sort, size=SCAN_PAGE, _source=source, **extra)["hits"]["hits"]
            yield from hits
            if len(hits) < SCAN_PAGE:
                return
            after = hits[-1]["sort"]

    def _stream(self, actions: Iterable[dict], index: str, require_alias: bool) -> Iterator[tuple[bool, str, dict]]:
        """(ok, op, answer) of each action, sent BULK_CHUNK at a time, 429s retried with backoff."""
        client = self.client.options(request_timeout=max(self.timeout, BULK_TIMEOUT))
        # Writing to an alias must never auto-create a stray index named like it. A shard with no primary
        # (its node lost before a replica was in sync) is waited for `timeout`, not the node's default minute.
        extra = {"require_alias": True} if require_alias else {}
        extra["timeout"] = f"{max(1, round(self.timeout * 1000))}ms"
        with self.guarded():
            for ok, item in helpers.streaming_bulk(client, actions, index=index, chunk_size=BULK_CHUNK, **extra,
                                                   raise_on_error=False, max_retries=3, initial_backoff=1,
                                                   max_backoff=8, yield_ok=True):
                op, info = next(iter(item.items()))
                yield ok, op, info

    def bulk(self, actions: Iterable[dict], index: str, require_alias: bool = False) -> None:
        """Stream actions in batches; a delete of nothing is no failure. See `bulk_each` for the others."""
        self.bulk_each(actions, index, require_alias, conflicts=False)

    def bulk_each(self, actions: Iterable[dict], index: str, require_alias: bool = False,
                  conflicts: bool = True) -> dict[str, dict]:
        """Each action's answer by `_id`; with `conflicts`, version conflicts (409) are answers too.

        A shard that cannot answer (5xx, 429 after retries) fails the call at once as BackendUnavailable:
        the requests after it would each wait out the shard timeout to fail the same way (a lost node's
        unpromoted primary cost an ingest a minute a request). Any other refusal fails the call after
        every action was tried, as one request would, as IndexingFailed naming the refused ids (each at DEBUG)."""
        answers: dict[str, dict] = {}
        failures: dict[str, str] = {}
        for ok, op, info in self._stream(actions, index, require_alias):
            status, key = int(info.get("status") or 0), str(info.get("_id"))
            if ok or (conflicts and status == 409) or (op == "delete" and status == 404):
                if conflicts:
                    answers[key] = info
            elif status >= 500 or status == 429:
                raise BackendUnavailable(f"Elasticsearch（{self.url}）暂时无法应答，一次写入被拒绝："
                                         f"{op} {key}: {status} {info.get('error')}")
            else:
                failures[key] = str(info.get("error") or status)
                # One line in all (IndexingFailed, the first ten): a blocked index refuses every item of a batch.
                log.debug("Elasticsearch 拒绝写入 %s %s：%s", op, key, failures[key])
        if failures:
            raise IndexingFailed(failures)
        return answers

    def close(self) -> None:
        """Close the client; the next call makes a new one."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
