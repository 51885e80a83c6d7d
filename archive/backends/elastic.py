"""Elasticsearch backend: BM25 over jieba tokens, exact phrases over folded characters, kNN (HNSW or flat).

One index holds documents and their passages, told apart by `kind`, so one alias
flip swaps both at once. Indices are named `<alias>-v<N>`; readers only ever use
the alias. Settings and mappings are data (`mappings/passages.json`); this module
fills in only the embedder's id and dims (`elastic_mapping`). This class is the facade implementing the
Backend protocol over three parts: `elastic_transport` (the client, timeouts, errors
translated), `elastic_writer` (a document replaced as a new version of its passages made
live by one write of its record, so readers never see half of it, even after a crash) and
`elastic_reader` (searches and reads of live versions only; the protocol is in
`elastic_versions`). Query bodies are built in `elastic_queries`.

Only features of the minimal `integ-test-zip` distribution are used (no
delete-by-query, no reindex API, no analysis-common module, no scripts), so the same
code runs against it and against a full Elasticsearch 8.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence

import numpy as np
from elasticsearch import Elasticsearch

from archive.backends.base import SCHEMA_VERSION, SHA_LOOKUP, IndexItem, IndexStats, check_item
from archive.backends.elastic_mapping import DEFAULT_VECTOR_INDEX, MAPPING_PATH, load_mapping
from archive.backends.elastic_queries import (
    CHUNK_FIELDS,
    FACET_SIZE,
    HIT_FIELDS,
    HITS_ONLY,
    MAX_WINDOW,
    RANKED_ONLY,
    RANKED_SORT,
    chunk_of,
    facet_aggs,
    keyword_bool,
    keyword_where,
    kind_is,
    knn_clause,
    passages_where,
    ranked_versions,
)
from archive.backends.elastic_reader import LIVE_TRIES, LiveReader
from archive.backends.elastic_transport import IndexingFailed, Refused, Transport
from archive.backends.elastic_versions import DOCUMENT, PASSAGE, distinct_runs, hit_field, live_clauses, new_version
from archive.backends.elastic_writer import VersionedWriter, passage_actions, record_action
from archive.errors import ArchiveError, BackendUnavailable, BadRequest, IndexMismatch
from archive.models import FACET_FIELDS, Chunk, Document, FacetCounts, Filters, KeywordQuery, Scored

log = logging.getLogger(__name__)

META_TTL = 30.0  # seconds a successful compatibility check is trusted
OLD_INDEX_GRACE = 2.0  # seconds searches that resolved the alias before a flip get to finish
UNVERSIONED = ("索引 {index} 建于文档版本化之前，本版本不再读写这种索引：请先运行一次 `python -m indexer reindex` "
               "重建索引")

__all__ = ["MAPPING_PATH", "ElasticBackend", "IndexingFailed", "Refused", "load_mapping"]


class ElasticBackend:
    """Elasticsearch 8.x behind an alias; connects lazily, on first use."""

    name = "elasticsearch"
    writes_in_background = True  # the node indexes; the ingest only waits

    def __init__(self, url: str, alias: str, dim: int, model_id: str, timeout: float = 10.0,
                 options: Mapping | None = None, shards: int | None = None, replicas: int | None = None,
                 vector_index: str = DEFAULT_VECTOR_INDEX) -> None:
        self.alias = alias
        self.dim = dim
        self.model_id = model_id
        self.vector_index = vector_index  # of the indices this backend creates; any existing one is read as it is
        # Shard and replica counts of the indices this backend creates: the mapping file's unless given.
        defaults = self._index_body()["settings"]["index"]
        self.shards = shards or int(defaults["number_of_shards"])
        self.replicas = int(defaults["number_of_replicas"]) if replicas is None else replicas
        self.transport = Transport(url, timeout, options)
        self.reader = LiveReader(self.transport, alias)
        self.writer = VersionedWriter(self.transport, self.reader, alias)
        self._checked: float | None = None  # when the live index last proved compatible
        self._swept = False  # leftovers of interrupted writes cleaned up by this instance

    @property
    def url(self) -> str:
        return self.transport.url

    @property
    def timeout(self) -> float:
        return self.transport.timeout

    @property
    def options(self) -> dict:
        return self.transport.options

    @property
    def client(self) -> Elasticsearch:
        return self.transport.client

    def _call(self, api: str, **kwargs):
        return self.transport.call(api, **kwargs)

    def _read(self, api: str, default, **kwargs):
        return self.transport.read(api, default, **kwargs)

    # -- indices and the alias -------------------------------------------------

    def _live_index(self) -> str | None:
        found = self._read("indices.get_alias", {}, name=self.alias)
        return next(iter(sorted(found)), None)

    def _versions(self) -> list[int]:
        pattern = re.compile(rf"^{re.escape(self.alias)}-v(\d+)$")
        names = self._read("indices.get", {}, index=f"{self.alias}-v*", expand_wildcards="all")
        return sorted(int(m.group(1)) for m in map(pattern.match, names) if m)

    def _next_index(self) -> str:
        versions = self._versions()
        return f"{self.alias}-v{(versions[-1] if versions else 0) + 1}"

    def _index_body(self) -> dict:
        """Settings and mappings of the indices this backend creates."""
        return load_mapping(self.dim, self.model_id, self.vector_index)

    def _create(self, index: str, with_alias: bool, bulk_load: bool = False) -> None:
        body = self._index_body()
        aliases = {self.alias: {}} if with_alias else None
        settings = {**body["settings"], "index": {**body["settings"]["index"], "number_of_shards": self.shards,
                                                  "number_of_replicas": self.replicas}}
        if bulk_load:
            # No periodic refresh while a new index is filled: at 1M passages a refresh a second left
            # 767 segments under 1,000 passages each, and the merges fell behind by an hour.
            settings = {**settings, "index": {**settings["index"], "refresh_interval": "-1"}}
        self._call("indices.create", index=index, settings=settings, mappings=body["mappings"],
                   aliases=aliases)
        log.info("已创建 Elasticsearch 索引 %s%s", index, f"（别名 {self.alias}）" if with_alias else "")

    def _ensure_index(self) -> str:
        """The live index, created when there is none.

        The alias goes on only once the new index's primary shards have started: created together, the
        alias named an index no search could reach yet, and every search in the meantime failed (a 503
        in `serve`, where readers should see an empty archive). With no live index, the newest
        `<alias>-v<N>` is taken if there is one (another writer starting at the same moment made it, or
        one killed before adding the alias left it, empty either way: writes go through the alias), so
        writers that start at once all alias the same index, never two; one this backend cannot serve
        (left by a writer with another embedder) is passed over for the next version."""
        live = self._live_index()
        if live is not None:
            return live
        versions = self._versions()
        index, create = f"{self.alias}-v{versions[-1] if versions else 1}", not versions
        if versions and self._refusal(index):
            log.warning("未挂别名的索引 %s 与当前配置不符，另建新版本", index)
            index, create = f"{self.alias}-v{versions[-1] + 1}", True
        if create:
            try:
                self._create(index, with_alias=False)
            except Refused as exc:
                if exc.error_type != "resource_already_exists_exception":
                    raise
                log.info("索引 %s 已由另一个写入者先行创建", index)
        self._started(index)
        self._call("indices.update_aliases", actions=[{"add": {"index": index, "alias": self.alias}}])
        log.info("别名 %s 现指向 %s", self.alias, index)
        self._checked = None
        return self._live_index() or index

    def _started(self, index: str) -> None:
        """Wait (a second less than the request timeout: the node answers before the client gives up) until
        every primary shard of `index` has started."""
        wait = max(self.timeout - 1, 1)
        health = self._call("cluster.health", index=index, wait_for_status="yellow", timeout=f"{wait:.0f}s")
        if health.get("timed_out") or health.get("status") == "red":
            raise BackendUnavailable(f"Elasticsearch 索引 {index} 的主分片在 {wait:.0f} 秒内未能启动")

    def _writable(self) -> None:
        """Check the live index can take this writer (creating it if there is none), and clean up once."""
        self.check_compatible()
        self._ensure_index()
        if not self._swept:
            self.writer.sweep_leftovers()
            self._swept = True

    def _mappings(self, index: str) -> dict:
        mapping = self._read("indices.get_mapping", {}, index=index)
        return next(iter(mapping.values()), {}).get("mappings", {})

    def recorded_model_id(self) -> str | None:
        index = self._live_index()
        return None if index is None else self._mappings(index).get("_meta", {}).get("model_id")

    def check_compatible(self) -> None:
        """Refuse an index this code cannot serve: built before versioned documents, or with another embedder."""
        if self._checked is not None and time.monotonic() - self._checked < META_TTL:
            return
        index = self._live_index()
        if index is None:
            return
        refusal = self._refusal(index)
        if refusal:
            raise IndexMismatch(refusal)
        self._checked = time.monotonic()

    def _refusal(self, index: str) -> str | None:
        """Why this backend cannot serve `index` (built before versioned documents, or with another embedder),
        or None when it can."""
        mappings = self._mappings(index)
        if "version" not in mappings.get("properties", {}):
            return UNVERSIONED.format(index=index)
        meta = mappings.get("_meta", {})
        if meta.get("model_id") != self.model_id or str(meta.get("schema_version")) != str(SCHEMA_VERSION):
            return (f"索引 {index} 由嵌入模型 {meta.get('model_id')}（schema {meta.get('schema_version')}）建立，"
                    f"而当前配置的是 {self.model_id}（schema {SCHEMA_VERSION}）：请运行 `python -m indexer reindex`")
        return None

    # -- writing ---------------------------------------------------------------

    def index_documents(self, items: Sequence[IndexItem]) -> None:
        for item in items:
            check_item(item)
        if not items:
            return
        self._writable()
        for run in distinct_runs(items, key=lambda item: item.doc.doc_id):
            self.writer.write(run)

    def delete_document(self, doc_id: str) -> bool:
        if self._live_index() is None:
            return False
        self.check_compatible()
        return self.writer.delete(doc_id)

    def rebuild(self, items: Iterable[IndexItem]) -> int:
        old = self._live_index()
        new = self._next_index()
        self._create(new, with_alias=False, bulk_load=True)
        count = 0

        def actions() -> Iterator[dict]:
            nonlocal count
            for item in items:
                count += 1
                version = new_version()
                yield record_action(item.doc, version)
                yield from passage_actions(item, version)

        try:
            self.transport.bulk(actions(), new)
            interval = self._index_body()["settings"]["index"]["refresh_interval"]
            self._call("indices.put_settings", index=new, settings={"index": {"refresh_interval": interval}})
            self._call("indices.refresh", index=new)
            stored = self._call("count", index=new, query={"term": {"kind": DOCUMENT}})["count"]
            if stored != count:
                raise ArchiveError(f"重建的索引 {new} 有 {stored} 份报告，应为 {count} 份；仍使用 {old}")
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
        log.info("别名 %s 现指向 %s（原为 %s）", self.alias, new, old)
        self._checked = None
        if old:
            time.sleep(OLD_INDEX_GRACE)
            self._read("indices.delete", None, index=old)
            log.info("已删除旧索引 %s", old)

    # -- searching ---------------------------------------------------------------

    def keyword_search(self, query: KeywordQuery, filters: Filters, limit: int,
                       offset: int = 0) -> list[Scored]:
        if query.is_empty() or limit <= 0:
            return []
        if offset + limit > MAX_WINDOW:
            raise BadRequest(f"只能翻到前 {MAX_WINDOW:,} 条结果：请用筛选条件或更多检索词缩小范围")
        self.check_compatible()

        def ranked(every_word: bool | None, start: int, size: int) -> list[Scored]:
            def body(hidden: tuple[str, ...]) -> dict:
                # Ties by chunk id, as in the embedded backend. Sorting them here past a margin was tried:
                # the generated 1M corpus ties by the hundred, and the second request cost more than the sort.
                return {"query": keyword_where(query, filters, hidden, every_word), "sort": RANKED_SORT,
                        "from_": start, "size": size, "track_total_hits": False, **RANKED_ONLY,
                        **self._global_idf}

            hits = self.reader.live_only(body, ranked_versions)
            return [Scored(chunk_id, float(score)) for score, chunk_id, *_ in (h["sort"] for h in hits)]

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
        hits = self.reader.live_only(lambda hidden: {
            "knn": knn_clause(vector, filters, k, hidden), "size": k, **HITS_ONLY})
        # Cosine similarity is stored as (1 + cos) / 2; report cos, as the embedded backend does.
        return [Scored(hit_field(h, "chunk_id"), 2.0 * float(h["_score"]) - 1.0) for h in hits]

    def facets(self, query: KeywordQuery | None, filters: Filters,
               extra_ids: Iterable[str] = ()) -> FacetCounts:
        self.check_compatible()
        alternatives = [keyword_bool(query)] if query is not None and not query.is_empty() else []
        extra = list(dict.fromkeys(extra_ids))
        if extra:
            alternatives.append({"terms": {"chunk_id": extra}})
        # No query and no ids: every passage under the filters (the archive's overview).
        either = [{"bool": {"should": alternatives, "minimum_should_match": 1}}] if alternatives else []
        res = self.reader.live_search(lambda hidden: {
            "query": passages_where(filters, *either, *live_clauses(hidden)), "size": 0, "track_total_hits": True,
            "aggs": facet_aggs()})
        aggs = res.get("aggregations", {})
        fields = {f: [(str(b["key"]), b["doc_count"]) for b in aggs.get(f, {}).get("buckets", [])]
                  for f in FACET_FIELDS}
        return FacetCounts(res["hits"]["total"]["value"], fields)

    # -- reading -----------------------------------------------------------------

    def get_document(self, doc_id: str) -> Document | None:
        record = self.reader.record(doc_id)
        return Document.from_dict(record.source) if record.is_document else None

    def get_documents(self, doc_ids: Iterable[str]) -> dict[str, Document]:
        sources = [d["_source"] for d in self.reader.records(doc_ids)]
        return {s["doc_id"]: Document.from_dict(s) for s in sources if s.get("kind") == DOCUMENT}

    def get_chunks_by_id(self, chunk_ids: Sequence[str]) -> dict[str, Chunk]:
        ids = list(dict.fromkeys(chunk_ids))
        found: dict[str, Chunk] = {}
        step = MAX_WINDOW // 2  # room for two versions of each while an ingest replaces them
        for start in range(0, len(ids), step):
            found.update(self._live_chunks(ids[start:start + step]))
        return found

    def _live_chunks(self, chunk_ids: list[str]) -> dict[str, Chunk]:
        """Passages by their public id (the `_id` holds a version too), of their live versions."""
        hits = self.reader.live_only(lambda hidden: {
            "query": {"bool": {"filter": [{"terms": {"chunk_id": chunk_ids}}, *live_clauses(hidden)]}},
            "size": min(MAX_WINDOW, len(chunk_ids) * 2), "_source": CHUNK_FIELDS, "docvalue_fields": HIT_FIELDS})
        return {h["_source"]["chunk_id"]: chunk_of(h["_source"]) for h in hits}

    def get_vectors(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors of live passages, from the field's doc values (vectors are not kept in _source)."""
        ids = list(dict.fromkeys(chunk_ids))
        found: dict[str, np.ndarray] = {}
        step = MAX_WINDOW // 2  # room for two versions of each while an ingest replaces them
        for start in range(0, len(ids), step):
            part = ids[start:start + step]
            hits = self.reader.live_only(lambda hidden, part=part: {
                "query": {"bool": {"filter": [{"terms": {"chunk_id": part}}, *live_clauses(hidden)]}},
                "size": min(MAX_WINDOW, len(part) * 2), **HITS_ONLY, "docvalue_fields": [*HIT_FIELDS, "vector"]})
            found.update({hit_field(h, "chunk_id"): np.asarray(h["fields"]["vector"][0], np.float32) for h in hits})
        return found

    def get_chunks(self, doc_id: str) -> list[Chunk]:
        for _ in range(LIVE_TRIES):
            record = self.reader.record(doc_id)
            if not record.is_document:
                return []
            chunks = self._chunks_of(doc_id, record.live)
            # Still live after the scan, so read whole: a version's passages go only after a switch.
            if self.reader.record(doc_id).live == record.live:
                return chunks
        raise BackendUnavailable(f"报告 {doc_id} 在读取期间一直在变化，请稍后重试")

    def _chunks_of(self, doc_id: str, version: str | None) -> list[Chunk]:
        # None: a record of an index from before versions (refused by check_compatible), whose passages
        # have no version: read only so that `indexer reindex` can carry such an index over.
        same = {"term": {"version": version}} if version else {"bool": {"must_not": [{"exists": {"field": "version"}}]}}
        query = passages_where(Filters(), {"term": {"doc_id": doc_id}}, same)
        hits = self.reader.scan(query, [{"position": "asc"}, {"chunk_id": "asc"}], CHUNK_FIELDS)
        return [chunk_of(h["_source"]) for h in hits]

    def list_documents(self) -> list[Document]:
        sort = [{"region": {"order": "asc", "missing": "_first"}},
                {"year": {"order": "asc", "missing": "_first"}}, {"doc_id": "asc"}]
        hits = self.reader.scan({"bool": {"filter": [kind_is(DOCUMENT)]}}, sort, True)
        return [Document.from_dict(h["_source"]) for h in hits]

    def document_facts(self) -> dict[str, tuple[int, float]]:
        records = self.reader.scan({"bool": {"filter": [kind_is(DOCUMENT)]}}, [{"doc_id": "asc"}],
                                   ["doc_id", "indexed_at"])
        written = {h["_source"]["doc_id"]: h["_source"].get("indexed_at", 0) / 1000 for h in records}
        # Live passages only, counted per document (at most FACET_SIZE documents are counted).
        res = self.reader.live_search(lambda hidden: {
            "query": passages_where(Filters(), *live_clauses(hidden)), "size": 0,
            "aggs": {"passages": {"terms": {"field": "doc_id", "size": FACET_SIZE}}}})
        counts = {b["key"]: b["doc_count"] for b in res.get("aggregations", {}).get("passages", {}).get("buckets", [])}
        return {doc_id: (counts.get(doc_id, 0), at) for doc_id, at in written.items()}

    def find_by_sha256(self, sha256: str) -> str | None:
        return self.find_by_sha256s([sha256]).get(sha256)

    def find_by_sha256s(self, sha256s: Iterable[str]) -> dict[str, str]:
        wanted, found = sorted(set(sha256s)), {}
        for start in range(0, len(wanted), SHA_LOOKUP):
            query = {"bool": {"filter": [kind_is(DOCUMENT), {"terms": {"sha256": wanted[start:start + SHA_LOOKUP]}}]}}
            for hit in self.reader.scan(query, [{"doc_id": "asc"}], ["doc_id", "sha256"]):
                found.setdefault(hit["_source"]["sha256"], hit["_source"]["doc_id"])  # the first id, as both backends
        return found

    def stats(self) -> IndexStats:
        index = self._live_index()
        details = {"url": self.url, "alias": self.alias, "index": index}
        if index is None:
            return IndexStats(self.name, 0, 0, self.model_id, self.dim, SCHEMA_VERSION, 0, details)
        meta = self._mappings(index).get("_meta", {})
        res = self.reader.live_search(lambda hidden: {
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
            raise BackendUnavailable(f"Elasticsearch（{self.url}）状态为 red：部分数据无法读取")
        # At start-up too: an index this code cannot serve is said in one line (IndexMismatch, 503).
        self.check_compatible()

    def close(self) -> None:
        self.transport.close()
