"""Elasticsearch backend: BM25 over jieba tokens, exact phrases over folded characters, HNSW kNN.

One index holds documents and their passages, told apart by `kind`, so one alias
flip swaps both at once. Indices are named `<alias>-v<N>`; readers only ever use
the alias. Settings and mappings are data (`mappings/passages.json`); this module
fills in only the embedder's id and dims. Every call to Elasticsearch goes through
`_guarded`, so an unreachable or failing cluster surfaces as BackendUnavailable
within about `timeout` seconds, never as a transport exception.

A document is replaced as a new version of its passages made live by one write of its
record, so readers never see half of it, even after a crash (`elastic_versions`).

Only features of the minimal `integ-test-zip` distribution are used (no
delete-by-query, no reindex API, no analysis-common module, no scripts), so the same
code runs against it and against a full Elasticsearch 8.
"""

from __future__ import annotations

import json
import logging
import operator
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from elastic_transport import TlsError
from elasticsearch import ApiError, Elasticsearch, NotFoundError, TransportError, helpers

from archive.backends.base import SCHEMA_VERSION, IndexItem, IndexStats, check_item
from archive.backends.elastic_queries import (
    CHUNK_FIELDS,
    FACET_SIZE,
    HIT_FIELDS,
    HITS_ONLY,
    MAX_WINDOW,
    chunk_of,
    document_source,
    facet_aggs,
    keyword_bool,
    keyword_where,
    kind_is,
    knn_clause,
    passages_where,
)
from archive.backends.elastic_versions import (
    DOCUMENT,
    HIDDEN_AGG,
    PASSAGE,
    PLACEHOLDER,
    ConcurrentChange,
    LiveCache,
    Record,
    distinct_runs,
    doc_record_id,
    head_of,
    hidden_agg,
    hidden_in,
    hit_field,
    is_live,
    live_clauses,
    new_version,
    passage_id,
    record_doc_id,
    with_hidden,
)
from archive.errors import ArchiveError, BackendMisconfigured, BackendUnavailable, BadRequest, IndexMismatch
from archive.models import FACET_FIELDS, Chunk, Document, FacetCounts, Filters, KeywordQuery, Scored

log = logging.getLogger(__name__)

MAPPING_PATH = Path(__file__).resolve().parents[2] / "mappings" / "passages.json"
SCAN_PAGE = 1_000
BULK_TIMEOUT = 120.0
META_TTL = 30.0  # seconds a successful compatibility check is trusted
OLD_INDEX_GRACE = 2.0  # seconds searches that resolved the alias before a flip get to finish
LIVE_TRIES = 5  # searches run again while ingests keep changing what is hidden


class IndexingFailed(ArchiveError):
    """Elasticsearch refused some passages or documents; their ids are listed."""

    code = "indexing_failed"
    status = 500

    def __init__(self, failures: dict[str, str]) -> None:
        self.failures = failures
        shown = ", ".join(f"{i} ({why})" for i, why in list(failures.items())[:10])
        more = f" and {len(failures) - 10} more" if len(failures) > 10 else ""
        super().__init__(f"Elasticsearch refused {len(failures)} item(s): {shown}{more}")


CREDENTIALS_REFUSED = "拒绝了凭据（401），请检查 ELASTICSEARCH_API_KEY 或 ELASTICSEARCH_USERNAME/ELASTICSEARCH_PASSWORD"
PERMISSION_REFUSED = "拒绝了请求（403）：该用户没有档案索引所需的权限"


class Refused(ArchiveError):
    """Elasticsearch rejected a request (a 4xx other than 404): a bug or a misconfigured index."""

    code = "elasticsearch_refused"
    status = 500

    def __init__(self, exc: ApiError) -> None:
        self.error_type = str(exc.error)
        super().__init__(f"Elasticsearch refused the request: {exc}")


def load_mapping(dim: int, model_id: str) -> dict:
    """The index body from mappings/passages.json with the embedder's facts filled in."""
    body = json.loads(MAPPING_PATH.read_text(encoding="utf-8"))
    body["mappings"]["_meta"].update(schema_version=SCHEMA_VERSION, model_id=model_id, dim=dim)
    body["mappings"]["properties"]["vector"]["dims"] = dim
    return body


class ElasticBackend:
    """Elasticsearch 8.x behind an alias; connects lazily, on first use."""

    name = "elasticsearch"

    def __init__(self, url: str, alias: str, dim: int, model_id: str, timeout: float = 10.0,
                 options: Mapping | None = None, shards: int | None = None, replicas: int | None = None) -> None:
        self.url = url
        # Shard and replica counts of the indices this backend creates: the mapping file's unless given.
        defaults = load_mapping(dim, model_id)["settings"]["index"]
        self.shards = shards or int(defaults["number_of_shards"])
        self.replicas = int(defaults["number_of_replicas"]) if replicas is None else replicas
        self.options = dict(options or {})  # authentication and TLS (archive.backends.elastic_options)
        self.alias = alias
        self.dim = dim
        self.model_id = model_id
        self.timeout = timeout
        self._client: Elasticsearch | None = None
        self._lock = threading.Lock()
        self._checked: float | None = None  # when the live index last proved compatible
        self._versioned: set[str] = set()  # indices known to have versioned passages
        self._legacy: bool | None = None  # whether the live index predates versions (None: not known yet)
        self._swept = False  # leftovers of interrupted writes cleaned up by this instance
        self._hidden: tuple[str, ...] = ()  # what the last search saw hidden: the next one's first guess
        self._lives = LiveCache()

    # -- plumbing ------------------------------------------------------------

    @property
    def client(self) -> Elasticsearch:
        with self._lock:
            if self._client is None:
                # One retry on a refused connection, none on a timeout: a down cluster answers within ~timeout.
                # Several comma-separated URLs are nodes of one cluster: a lost node's requests go to the others.
                self._client = Elasticsearch(self.url.split(","), request_timeout=self.timeout, max_retries=1,
                                             retry_on_timeout=False, **self.options)
            return self._client

    @contextmanager
    def _guarded(self) -> Iterator[None]:
        try:
            yield
        except TlsError as exc:
            raise BackendMisconfigured(
                f"Elasticsearch at {self.url}: 证书不受信任或 TLS 握手失败，请设置 ELASTICSEARCH_CA_CERTS 或 "
                f"ELASTICSEARCH_CERT_FINGERPRINT（{type(exc).__name__}）") from exc
        except TransportError as exc:  # connection refused, timeouts, unreadable answers
            raise BackendUnavailable(f"Elasticsearch at {self.url} is unavailable: {exc}") from exc
        except NotFoundError:
            raise  # `_read` turns it into "nothing there"
        except ApiError as exc:
            if exc.meta.status in (401, 403):
                what = CREDENTIALS_REFUSED if exc.meta.status == 401 else PERMISSION_REFUSED
                raise BackendMisconfigured(f"Elasticsearch at {self.url} {what}: {exc.message}") from exc
            if exc.meta.status >= 500 or exc.meta.status == 429:
                raise BackendUnavailable(f"Elasticsearch at {self.url} cannot answer now: {exc}") from exc
            raise Refused(exc) from exc

    def _call(self, api: str, **kwargs):
        """Call a client method by dotted name (`search`, `indices.refresh`) with errors translated."""
        with self._guarded():
            return operator.attrgetter(api)(self.client)(**kwargs)

    def _read(self, api: str, default, **kwargs):
        """Like `_call`, but a missing index (nothing written yet) or document reads as `default`."""
        try:
            return self._call(api, **kwargs)
        except NotFoundError:
            return default

    def _search(self, **body) -> dict:
        empty = {"hits": {"total": {"value": 0}, "hits": []}, "aggregations": {}}
        return self._read("search", empty, index=self.alias, allow_partial_search_results=False, **body)

    def _scan(self, query: dict, sort: list, source) -> Iterator[dict]:
        """Every hit of a query, page by page with search_after (`sort` must end on a unique field)."""
        after = None
        while True:
            extra = {"search_after": after} if after else {}
            hits = self._search(query=query, sort=sort, size=SCAN_PAGE, _source=source, **extra)["hits"]["hits"]
            yield from hits
            if len(hits) < SCAN_PAGE:
                return
            after = hits[-1]["sort"]

    # -- indices and the alias -------------------------------------------------

    def _live_index(self) -> str | None:
        found = self._read("indices.get_alias", {}, name=self.alias)
        return next(iter(sorted(found)), None)

    def _versions(self) -> list[int]:
        pattern = re.compile(rf"^{re.escape(self.alias)}-v(\d+)$")
        names = self._read("indices.get", {}, index=f"{self.alias}-v*", expand_wildcards="all")
        return sorted(int(m.group(1)) for m in map(pattern.match, names) if m)

    def _create(self, index: str, with_alias: bool, bulk_load: bool = False) -> None:
        body = load_mapping(self.dim, self.model_id)
        aliases = {self.alias: {}} if with_alias else None
        settings = {**body["settings"], "index": {**body["settings"]["index"], "number_of_shards": self.shards,
                                                  "number_of_replicas": self.replicas}}
        if bulk_load:
            # No periodic refresh while a new index is filled: at 1M passages a refresh a second left
            # 767 segments under 1,000 passages each, and the merges fell behind by an hour.
            settings = {**settings, "index": {**settings["index"], "refresh_interval": "-1"}}
        self._call("indices.create", index=index, settings=settings, mappings=body["mappings"],
                   aliases=aliases)
        log.info("created Elasticsearch index %s%s", index, f" behind {self.alias}" if with_alias else "")

    def _ensure_index(self) -> str:
        live = self._live_index()
        if live is not None:
            return live
        versions = self._versions()
        index = f"{self.alias}-v{(versions[-1] if versions else 0) + 1}"
        try:
            self._create(index, with_alias=True)
        except Refused as exc:
            if exc.error_type != "resource_already_exists_exception" or self._live_index() is None:
                raise
            log.info("another writer created the index first")
        return self._live_index() or index

    def _require_versioned(self, index: str) -> None:
        """Writes need versioned passages; an index from before them is rebuilt once, by reindex."""
        if index in self._versioned:
            return
        if "version" not in self._mappings(index).get("properties", {}):
            raise IndexMismatch(f"the index {index} was built before documents were versioned (needed to replace "
                                "them safely): run `python -m indexer reindex` once")
        self._versioned.add(index)

    def _routing(self, doc_id: str) -> str | None:
        """Where a document's record lives: routed by doc id, beside its passages; not in an index
        from before versions, which reindex moves (`_legacy` is forgotten at every alias switch)."""
        if self._legacy is None:
            index = self._live_index()
            self._legacy = index is not None and "version" not in self._mappings(index).get("properties", {})
        return None if self._legacy else doc_id

    def _writable(self) -> None:
        """Check the live index can take this writer (creating it if there is none), and clean up once."""
        self.check_compatible()
        self._require_versioned(self._ensure_index())
        if not self._swept:
            self._sweep_leftovers()
            self._swept = True

    def _mappings(self, index: str) -> dict:
        mapping = self._read("indices.get_mapping", {}, index=index)
        return next(iter(mapping.values()), {}).get("mappings", {})

    def _meta(self, index: str) -> dict:
        return self._mappings(index).get("_meta", {})

    def check_compatible(self) -> None:
        """Refuse to mix vectors: the live index must have been built with the configured embedder."""
        if self._checked is not None and time.monotonic() - self._checked < META_TTL:
            return
        index = self._live_index()
        if index is None:
            return
        meta = self._meta(index)
        if meta.get("model_id") != self.model_id or str(meta.get("schema_version")) != str(SCHEMA_VERSION):
            raise IndexMismatch(
                f"the index {index} was built with embedder {meta.get('model_id')} "
                f"(schema {meta.get('schema_version')}), but {self.model_id} (schema {SCHEMA_VERSION}) "
                "is configured: run `python -m indexer reindex`")
        self._checked = time.monotonic()

    # -- writing ---------------------------------------------------------------

    def _passage_actions(self, item: IndexItem, version: str) -> Iterator[dict]:
        check_item(item)
        doc, tokens = item.doc, item.tokens
        # A passage's province and city are those it falls under (its own region for a provincial or a
        # city's report), so filters, facets and roll-ups find the report there; the record keeps the raw fields.
        shared = {"doc_id": doc.doc_id, "region": doc.region, "year": doc.year, "doc_type": doc.doc_type,
                  "province": doc.in_province, "city": doc.in_city, "kind": PASSAGE, "version": version}
        title_tokens = " ".join(tokens.title)
        for chunk, vec, section, toks, folded in zip(item.chunks, item.vectors, tokens.sections, tokens.bodies,
                                                     tokens.folded, strict=True):
            yield {"_id": passage_id(chunk.chunk_id, version), "_routing": doc.doc_id, "_source": {
                **shared, "chunk_id": chunk.chunk_id, "position": chunk.position,
                "section": chunk.section, "text": chunk.text, "fold": folded,
                "figures": list(chunk.figures),
                "tokens": " ".join(toks), "title_tokens": title_tokens,
                "section_tokens": " ".join(section),
                "vector": np.asarray(vec, np.float32).tolist()}}

    def _bulk(self, actions: Iterable[dict], index: str) -> None:
        """Stream actions in batches, retrying 429s with backoff; raise IndexingFailed listing every refusal."""
        failures: dict[str, str] = {}
        client = self.client.options(request_timeout=max(self.timeout, BULK_TIMEOUT))
        # Writing to the alias must never auto-create a stray index named like it.
        extra = {"require_alias": True} if index == self.alias else {}
        with self._guarded():
            for ok, item in helpers.streaming_bulk(client, actions, index=index, chunk_size=200, **extra,
                                                   raise_on_error=False, max_retries=3, initial_backoff=1,
                                                   max_backoff=8, yield_ok=False):
                op, info = next(iter(item.items()))
                if not ok and not (op == "delete" and info.get("status") == 404):
                    failures[str(info.get("_id"))] = str(info.get("error") or info.get("status"))
                    log.error("Elasticsearch refused %s %s: %s", op, info.get("_id"), failures[str(info.get("_id"))])
        if failures:
            raise IndexingFailed(failures)

    def _record(self, doc_id: str) -> Record:
        """A document's record in real time (a get, not a search: no refresh needed)."""
        hit = self._read("get", None, index=self.alias, id=doc_record_id(doc_id), routing=self._routing(doc_id))
        if not hit or not hit.get("found"):
            return Record(doc_id)
        return Record(doc_id, hit["_source"], hit["_seq_no"], hit["_primary_term"])

    def _put_record(self, base: Record, source: dict | None) -> Record:
        """Replace `base` by `source` (or delete it, for None) unless another writer changed it since it was read."""
        where = {"index": self.alias, "id": doc_record_id(base.doc_id), "routing": base.doc_id, **base.guard()}
        try:
            if source is None:
                self._call("delete", **where)
                return Record(base.doc_id)
            res = self._call("index", document=source, require_alias=True, **where)
        except Refused as exc:
            if exc.error_type != "version_conflict_engine_exception":
                raise
            raise ConcurrentChange(f"document {base.doc_id} was changed by another writer while this one "
                                   "wrote it; run the ingest again") from exc
        return Record(base.doc_id, source, res["_seq_no"], res["_primary_term"])

    def _passage_ids(self, doc_id: str, versions: Iterable[str]) -> list[str]:
        query = passages_where(Filters(), {"term": {"doc_id": doc_id}}, {"terms": {"version": sorted(versions)}})
        return [h["_id"] for h in self._scan(query, [{"chunk_id": "asc"}, {"version": "asc"}], False)]

    def _sweep(self, record: Record, versions: set[str]) -> None:
        """Delete the passages of hidden `versions`, then stop hiding those no writer can add to.

        Only versions whose writers are finished, or that `record` was written after (their writers
        can no longer make them live), may be swept; the caller refreshed since they were written."""
        if not versions:
            return
        ids = self._passage_ids(record.doc_id, versions)
        self._bulk(({"_op_type": "delete", "_id": i, "_routing": record.doc_id} for i in ids), self.alias)
        done = record.finished() & versions
        if not done:
            return
        settled = record.unhiding(done)
        empty = not record.is_document and not settled["hidden"]  # a placeholder with nothing left to hide
        try:
            self._put_record(record, None if empty else settled)
        except ConcurrentChange:  # harmless: the versions stay hidden until the next sweep
            log.info("%s changed during its clean-up; the next write finishes it", record.doc_id)

    def _sweep_leftovers(self) -> None:
        """Finish the clean-up of writes that died after making their version live (or were abandoned)."""
        query = {"bool": {"filter": [{"exists": {"field": "hidden"}}]}}
        hits = list(self._scan(query, [{"doc_id": "asc"}], ["doc_id"]))
        if not hits:
            return
        self._call("indices.refresh", index=self.alias)
        for hit in hits:
            record = self._record(hit["_source"]["doc_id"])
            if record.finished():
                log.info("removing passages an interrupted write left of %s", record.doc_id)
                self._sweep(record, record.finished())

    def index_documents(self, items: Sequence[IndexItem]) -> None:
        for item in items:
            check_item(item)
        if not items:
            return
        self._writable()
        for run in distinct_runs(items, key=lambda item: item.doc.doc_id):
            self._write_versions(run)

    def _write_versions(self, items: Sequence[IndexItem]) -> None:
        """Each document (no two alike) as a new version made live by one write of its record.

        The steps of every document in turn, but one bulk and two refreshes for them all: a refresh
        each was most of a document's 135 ms."""
        staged = []
        for doc, *_ in items:
            version = new_version()
            base = self._record(doc.doc_id)
            # The record hides the new version before any passage of it is written: a writer (or node)
            # that dies from here on leaves the old version, or nothing, visible.
            staged.append((base, self._put_record(base, base.hiding([version])), version))
        self._bulk((action for item, (_, _, version) in zip(items, staged, strict=True)
                    for action in self._passage_actions(item, version)), self.alias)
        # Searchable before the switch: whoever reads the switched record by id finds all its passages.
        self._call("indices.refresh", index=self.alias)
        for (doc, *_), (base, announced, version) in zip(items, staged, strict=True):
            # One write switches readers to the new version and hides the old one. Versions hidden
            # before can no longer go live either (their writers' conditional writes now fail): all
            # may be deleted.
            retired = announced.retired | ({base.live} if base.live else set())
            live = self._put_record(announced, document_source(doc, version,
                                                               (announced.hidden | retired) - {version}, retired))
            self._sweep(live, live.hidden)
        self._call("indices.refresh", index=self.alias)  # searches from now on see the new versions

    def delete_document(self, doc_id: str) -> bool:
        index = self._live_index()
        if index is None:
            return False
        self._require_versioned(index)
        base = self._record(doc_id)
        if not base.is_document:  # absent, or the placeholder of an ingest that never finished
            return False
        # One write hides the whole document; its passages are deleted after.
        retired = base.retired | ({base.live} - {None})
        gone = self._put_record(base, with_hidden({"kind": PLACEHOLDER, "doc_id": doc_id}, base.hidden | retired,
                                                  retired))
        self._sweep(gone, gone.hidden)
        self._call("indices.refresh", index=self.alias)
        return True

    def rebuild(self, items: Iterable[IndexItem]) -> int:
        old = self._live_index()
        versions = self._versions()
        new = f"{self.alias}-v{(versions[-1] if versions else 0) + 1}"
        self._create(new, with_alias=False, bulk_load=True)
        count = 0

        def actions() -> Iterator[dict]:
            nonlocal count
            for item in items:
                count += 1
                version = new_version()
                yield {"_id": doc_record_id(item.doc.doc_id), "_routing": item.doc.doc_id,
                       "_source": document_source(item.doc, version)}
                yield from self._passage_actions(item, version)

        try:
            self._bulk(actions(), new)
            interval = load_mapping(self.dim, self.model_id)["settings"]["index"]["refresh_interval"]
            self._call("indices.put_settings", index=new, settings={"index": {"refresh_interval": interval}})
            self._call("indices.refresh", index=new)
            stored = self._call("count", index=new, query={"term": {"kind": DOCUMENT}})["count"]
            if stored != count:
                raise ArchiveError(f"rebuilt index {new} holds {stored} documents, expected {count}; kept {old}")
        except BaseException:
            self._read("indices.delete", None, index=new)
            raise
        self._flip(old, new)
        return count

    def _flip(self, old: str | None, new: str) -> None:
        """Point the alias at `new` in one atomic call, then drop the old index."""
        actions = [{"add": {"index": new, "alias": self.alias}}]
        if old:
            actions.insert(0, {"remove": {"index": old, "alias": self.alias}})
        self._call("indices.update_aliases", actions=actions)
        log.info("alias %s now points at %s (was %s)", self.alias, new, old)
        self._checked = self._legacy = None
        if old:
            time.sleep(OLD_INDEX_GRACE)
            self._read("indices.delete", None, index=old)
            log.info("deleted old index %s", old)

    # -- searching ---------------------------------------------------------------

    def _live_search(self, body: Callable[[tuple[str, ...]], dict]) -> dict:
        """Count passages, leaving out the versions hidden in the very snapshot that answers.

        `body(hidden)` builds the request. The first try leaves out what the last search saw
        hidden; when this snapshot hides something else (an ingest moved on) it runs again.
        For hits, `_live_only` is cheaper; counts have no hits to check one by one."""
        guess = hidden = self._hidden
        for _ in range(LIVE_TRIES):
            request = body(guess)
            request["aggs"] = {**request.get("aggs", {}), HIDDEN_AGG: hidden_agg()}
            res = self._search(**request)
            hidden = hidden_in(res)
            if hidden == guess:
                break
            guess = hidden
        else:
            log.warning("ingests kept changing the index during a search; its counts may be approximate")
        self._hidden = hidden
        return res

    def _live_only(self, request: Callable[[tuple[str, ...]], dict]) -> list[dict]:
        """A search's hits that belong to their document's live version, as its record says now.

        `request(hidden)` builds the search, leaving out versions known to be hidden. The records of
        the hits' documents are read in real time (one mget, whatever the index size, where the
        global aggregation of `_live_search` visits every document: 15-20 ms at 1M). A hit of any
        other version means an ingest moved on since the snapshot; the search runs again without
        that version, and now sees the live version's passages (refreshed before the record switched)."""
        hidden = self._hidden
        for _ in range(LIVE_TRIES):
            hits = self._search(**request(hidden))["hits"]["hits"]
            live = self._live_versions(hits)
            stale = {hit_field(h, "version") for h in hits if not is_live(h, live)} - {None} - set(hidden)
            if not stale:
                break
            hidden = tuple(sorted({*hidden, *stale}))
        else:
            log.warning("ingests kept changing the index during a search; some hits were left out")
        return [h for h in hits if is_live(h, live)]

    def _live_versions(self, hits: list[dict]) -> dict[str, str | None]:
        """The live version of the hits' documents (None for records from before versions).

        The records' heads are read (one mget without sources); only records the cache cannot
        confirm are read whole: at 100 hits, 2.6 ms instead of 10."""
        heads = {record_doc_id(d["_id"]): head_of(d)
                 for d in self._mget_records({hit_field(h, "doc_id") for h in hits}, source=False)}
        live: dict[str, str | None] = {}
        unsure = set()
        for hit in hits:
            doc_id, version = hit_field(hit, "doc_id"), hit_field(hit, "version")
            if self._lives.confirms(doc_id, heads.get(doc_id), version):
                live[doc_id] = version
            else:
                unsure.add(doc_id)
        for found in self._mget_records(unsure):
            doc_id = found["_source"]["doc_id"]
            live[doc_id] = Record(doc_id, found["_source"]).live
            self._lives.remember(doc_id, head_of(found), live[doc_id])
        return live

    def keyword_search(self, query: KeywordQuery, filters: Filters, limit: int,
                       offset: int = 0) -> list[Scored]:
        if query.is_empty() or limit <= 0:
            return []
        if offset + limit > MAX_WINDOW:
            raise BadRequest(f"results beyond the first {MAX_WINDOW:,} cannot be paged to; "
                             "narrow the search with filters or more words")

        def ranked(every_word: bool | None, start: int, size: int) -> list[Scored]:
            def body(hidden: tuple[str, ...]) -> dict:
                # Ties by chunk id, as in the embedded backend. Sorting them here past a margin was tried:
                # the generated 1M corpus ties by the hundred, and the second request cost more than the sort.
                return {"query": keyword_where(query, filters, hidden, every_word),
                        "sort": [{"_score": "desc"}, {"chunk_id": "asc"}],
                        "from_": start, "size": size, "track_total_hits": False, **HITS_ONLY,
                        **self._global_idf}

            return [Scored(hit_field(h, "chunk_id"), float(h["_score"])) for h in self._live_only(body)]

        if not query.ranks_all_words_first:
            return ranked(None, offset, limit)
        # Passages holding every word first, then the rest: two searches, each scored by BM25 alone,
        # so the scores stay Lucene's (a constant bonus for the first tier would round them in float32).
        first = ranked(True, 0, offset + limit)
        rest = ranked(False, 0, offset + limit - len(first)) if len(first) < offset + limit else []
        return (first + rest)[offset:]

    @property
    def _global_idf(self) -> dict:
        """With several shards, BM25 takes document frequencies from the whole index (one more round
        trip), so a passage scores the same whichever shard its report is routed to, and the same as
        on one shard or on the embedded backend."""
        return {"search_type": "dfs_query_then_fetch"} if self.shards > 1 else {}

    def vector_search(self, vector: np.ndarray, filters: Filters, limit: int) -> list[Scored]:
        self.check_compatible()
        k = min(limit, MAX_WINDOW)
        if k <= 0:
            return []
        hits = self._live_only(lambda hidden: {
            "knn": knn_clause(vector, filters, k, hidden), "size": k, **HITS_ONLY})
        # Cosine similarity is stored as (1 + cos) / 2; report cos, as the embedded backend does.
        return [Scored(hit_field(h, "chunk_id"), 2.0 * float(h["_score"]) - 1.0) for h in hits]

    def facets(self, query: KeywordQuery | None, filters: Filters,
               extra_ids: Iterable[str] = ()) -> FacetCounts:
        alternatives = [keyword_bool(query)] if query is not None and not query.is_empty() else []
        extra = list(dict.fromkeys(extra_ids))
        if extra:
            alternatives.append({"terms": {"chunk_id": extra}})
        # No query and no ids: every passage under the filters (the archive's overview).
        either = [{"bool": {"should": alternatives, "minimum_should_match": 1}}] if alternatives else []
        res = self._live_search(lambda hidden: {
            "query": passages_where(filters, *either, *live_clauses(hidden)), "size": 0, "track_total_hits": True,
            "aggs": facet_aggs()})
        aggs = res.get("aggregations", {})
        fields = {f: [(str(b["key"]), b["doc_count"]) for b in aggs.get(f, {}).get("buckets", [])]
                  for f in FACET_FIELDS}
        return FacetCounts(res["hits"]["total"]["value"], fields)

    # -- reading -----------------------------------------------------------------

    def get_document(self, doc_id: str) -> Document | None:
        record = self._record(doc_id)
        return Document.from_dict(record.source) if record.is_document else None

    def get_documents(self, doc_ids: Iterable[str]) -> dict[str, Document]:
        sources = [d["_source"] for d in self._mget_records(doc_ids)]
        return {s["doc_id"]: Document.from_dict(s) for s in sources if s.get("kind") == DOCUMENT}

    def _mget_records(self, doc_ids: Iterable[str], **options) -> list[dict]:
        """The records (documents and placeholders) of these documents that exist, read in real time."""
        wanted = [{"_id": doc_record_id(i), "routing": self._routing(i)} for i in dict.fromkeys(doc_ids)]
        wanted = [{k: v for k, v in w.items() if v is not None} for w in wanted]
        if not wanted:
            return []
        res = self._read("mget", {"docs": []}, index=self.alias, docs=wanted, **options)
        return [d for d in res["docs"] if d.get("found")]

    def get_chunks_by_id(self, chunk_ids: Sequence[str]) -> dict[str, Chunk]:
        ids = list(dict.fromkeys(chunk_ids))
        found: dict[str, Chunk] = {}
        step = MAX_WINDOW // 2  # room for two versions of each while an ingest replaces them
        for start in range(0, len(ids), step):
            found.update(self._live_chunks(ids[start:start + step]))
        return found

    def _live_chunks(self, chunk_ids: list[str]) -> dict[str, Chunk]:
        """Passages by their public id (the `_id` holds a version too), of their live versions."""
        hits = self._live_only(lambda hidden: {
            "query": {"bool": {"filter": [{"terms": {"chunk_id": chunk_ids}}, *live_clauses(hidden)]}},
            "size": min(MAX_WINDOW, len(chunk_ids) * 2), "_source": CHUNK_FIELDS, "docvalue_fields": HIT_FIELDS})
        return {h["_source"]["chunk_id"]: chunk_of(h["_source"]) for h in hits}

    def get_chunks(self, doc_id: str) -> list[Chunk]:
        for _ in range(LIVE_TRIES):
            record = self._record(doc_id)
            if not record.is_document:
                return []
            chunks = self._chunks_of(doc_id, record.live)
            # Still live after the scan, so read whole: a version's passages go only after a switch.
            if self._record(doc_id).live == record.live:
                return chunks
        raise BackendUnavailable(f"document {doc_id} kept changing while it was read; try again")

    def _chunks_of(self, doc_id: str, version: str | None) -> list[Chunk]:
        # None: an index from before versions, where no passage has one.
        same = {"term": {"version": version}} if version else {"bool": {"must_not": [{"exists": {"field": "version"}}]}}
        query = passages_where(Filters(), {"term": {"doc_id": doc_id}}, same)
        hits = self._scan(query, [{"position": "asc"}, {"chunk_id": "asc"}], CHUNK_FIELDS)
        return [chunk_of(h["_source"]) for h in hits]

    def list_documents(self) -> list[Document]:
        sort = [{"region": {"order": "asc", "missing": "_first"}},
                {"year": {"order": "asc", "missing": "_first"}}, {"doc_id": "asc"}]
        hits = self._scan({"bool": {"filter": [kind_is(DOCUMENT)]}}, sort, True)
        return [Document.from_dict(h["_source"]) for h in hits]

    def document_facts(self) -> dict[str, tuple[int, float]]:
        records = self._scan({"bool": {"filter": [kind_is(DOCUMENT)]}}, [{"doc_id": "asc"}], ["doc_id", "indexed_at"])
        written = {h["_source"]["doc_id"]: h["_source"].get("indexed_at", 0) / 1000 for h in records}
        # Live passages only, counted per document (at most FACET_SIZE documents are counted).
        res = self._live_search(lambda hidden: {
            "query": passages_where(Filters(), *live_clauses(hidden)), "size": 0,
            "aggs": {"passages": {"terms": {"field": "doc_id", "size": FACET_SIZE}}}})
        counts = {b["key"]: b["doc_count"] for b in res.get("aggregations", {}).get("passages", {}).get("buckets", [])}
        return {doc_id: (counts.get(doc_id, 0), at) for doc_id, at in written.items()}

    def find_by_sha256(self, sha256: str) -> str | None:
        query = {"bool": {"filter": [kind_is(DOCUMENT), {"term": {"sha256": sha256}}]}}
        hits = self._search(query=query, size=1, sort=[{"doc_id": "asc"}], _source=["doc_id"])["hits"]["hits"]
        return hits[0]["_source"]["doc_id"] if hits else None

    def stats(self) -> IndexStats:
        index = self._live_index()
        details = {"url": self.url, "alias": self.alias, "index": index}
        if index is None:
            return IndexStats(self.name, 0, 0, self.model_id, self.dim, SCHEMA_VERSION, 0, details)
        meta = self._meta(index)
        res = self._live_search(lambda hidden: {
            "query": {"bool": {"filter": live_clauses(hidden)}}, "size": 0,
            "aggs": {"kind": {"terms": {"field": "kind"}}}})
        counts = {b["key"]: b["doc_count"] for b in res["aggregations"]["kind"]["buckets"]}
        store = self._call("indices.stats", index=index, metric="store")["indices"][index]["primaries"]["store"]
        return IndexStats(self.name, counts.get(DOCUMENT, 0), counts.get(PASSAGE, 0), meta.get("model_id"),
                          int(meta.get("dim") or 0), int(meta.get("schema_version") or 0), store["size_in_bytes"],
                          details)

    def warm(self) -> None:
        """Nothing to prepare (the Protocol's optional no-op): the node loads what a search needs, and keeps it."""

    def ping(self) -> None:
        health = self._call("cluster.health")
        if health.get("status") == "red":
            raise BackendUnavailable(f"Elasticsearch at {self.url} is red: some data cannot be read")

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
