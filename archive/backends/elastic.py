"""Elasticsearch backend: BM25 over jieba tokens, exact phrases over folded characters, HNSW kNN.

One index holds documents and their passages, told apart by `kind`, so one alias
flip swaps both at once. Indices are named `<alias>-v<N>`; readers only ever use
the alias. Settings and mappings are data (`mappings/passages.json`); this module
fills in only the embedder's id and dims. Every call to Elasticsearch goes through
`_guarded`, so an unreachable or failing cluster surfaces as BackendUnavailable
within about `timeout` seconds, never as a transport exception.

Only features of the minimal `integ-test-zip` distribution are used (no
delete-by-query, no reindex API, no analysis-common module), so the same code
runs against it and against a full Elasticsearch 8.
"""

from __future__ import annotations

import json
import logging
import operator
import re
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from elasticsearch import ApiError, Elasticsearch, NotFoundError, TransportError, helpers

from archive.backends.base import SCHEMA_VERSION, IndexItem
from archive.bm25 import FIELD_BOOSTS
from archive.errors import ArchiveError, BackendUnavailable, BadRequest, IndexMismatch
from archive.models import FACET_FIELDS, Chunk, Document, FacetCounts, Filters, KeywordQuery, Scored

log = logging.getLogger(__name__)

MAPPING_PATH = Path(__file__).resolve().parents[2] / "mappings" / "passages.json"
PASSAGE, DOCUMENT = "passage", "document"
MAX_WINDOW = 10_000  # index.max_result_window, and the largest k a kNN search takes
FACET_SIZE = 10_000
SCAN_PAGE = 1_000
# BM25 fields and boosts; the embedded backend weighs the same columns 3 / 1.5 / 1.
# The same boosts as the embedded backend (archive/bm25.py), so both rank alike.
TERM_FIELDS = tuple((f"{name}_tokens" if name != "body" else "tokens", boost)
                    for name, boost in FIELD_BOOSTS.items())
CHUNK_FIELDS = ["chunk_id", "doc_id", "position", "section", "text", "figures"]
BULK_TIMEOUT = 120.0
META_TTL = 30.0  # seconds a successful compatibility check is trusted
OLD_INDEX_GRACE = 2.0  # seconds searches that resolved the alias before a flip get to finish


class IndexingFailed(ArchiveError):
    """Elasticsearch refused some passages or documents; their ids are listed."""

    code = "indexing_failed"
    status = 500

    def __init__(self, failures: dict[str, str]) -> None:
        self.failures = failures
        shown = ", ".join(f"{i} ({why})" for i, why in list(failures.items())[:10])
        more = f" and {len(failures) - 10} more" if len(failures) > 10 else ""
        super().__init__(f"Elasticsearch refused {len(failures)} item(s): {shown}{more}")


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


def doc_record_id(doc_id: str) -> str:
    """`_id` of a document's own record; passage ids end in digits, so this never collides."""
    return f"{doc_id}#doc"


# -- query pieces ------------------------------------------------------------


def kind_is(kind: str) -> dict:
    return {"term": {"kind": kind}}


def filter_clauses(filters: Filters) -> list[dict]:
    """Filter-context clauses for a set of filters (applied inside every retriever)."""
    clauses = [{"terms": {name: list(getattr(filters, name))}}
               for name in ("region", "doc_type", "year") if getattr(filters, name)]
    bounds = {k: v for k, v in (("gte", filters.year_from), ("lte", filters.year_to)) if v is not None}
    if bounds:
        clauses.append({"range": {"year": bounds}})
    return clauses


def term_clauses(terms: Iterable[str]) -> list[dict]:
    """BM25 on the passage, its title (boosted) and its section path, any term matching."""
    text = " ".join(sorted(set(terms)))
    return [{"match": {field: {"query": text, "boost": boost}}} for field, boost in TERM_FIELDS]


def keyword_bool(query: KeywordQuery) -> dict:
    """Terms scored (at least one must match); phrases and exclusions as folded character sequences."""
    from archive.text import tokenize

    phrase_terms = [t for p in query.phrases for t in tokenize(p)]
    must = [{"bool": {"should": term_clauses(query.terms), "minimum_should_match": 1}}] if query.terms else []
    return {"bool": {
        "must": must,
        "should": term_clauses(phrase_terms) if phrase_terms else [],  # phrases add to the score
        "filter": [{"match_phrase": {"fold": p}} for p in query.phrases],
        "must_not": [{"match_phrase": {"fold": p}} for p in query.excluded],
    }}


def passages_where(filters: Filters, *more: dict) -> dict:
    return {"bool": {"filter": [kind_is(PASSAGE), *filter_clauses(filters), *more]}}


def facet_aggs() -> dict:
    order = [{"_count": "desc"}, {"_key": "asc"}]
    return {name: {"terms": {"field": name, "size": FACET_SIZE, "order": order}} for name in FACET_FIELDS}


def knn_clause(vector: np.ndarray, filters: Filters, k: int) -> dict:
    return {"field": "vector", "query_vector": np.asarray(vector, np.float32).tolist(), "k": k,
            "num_candidates": min(MAX_WINDOW, max(100, 4 * k)),
            "filter": [kind_is(PASSAGE), *filter_clauses(filters)]}


class ElasticBackend:
    """Elasticsearch 8.x behind an alias; connects lazily, on first use."""

    name = "elasticsearch"

    def __init__(self, url: str, alias: str, dim: int, model_id: str, timeout: float = 10.0) -> None:
        self.url = url
        self.alias = alias
        self.dim = dim
        self.model_id = model_id
        self.timeout = timeout
        self._client: Elasticsearch | None = None
        self._lock = threading.Lock()
        self._checked: float | None = None  # when the live index last proved compatible

    # -- plumbing ------------------------------------------------------------

    @property
    def client(self) -> Elasticsearch:
        with self._lock:
            if self._client is None:
                # One retry on a refused connection, none on a timeout: a down cluster answers within ~timeout.
                self._client = Elasticsearch(self.url, request_timeout=self.timeout, max_retries=1,
                                             retry_on_timeout=False)
            return self._client

    @contextmanager
    def _guarded(self) -> Iterator[None]:
        try:
            yield
        except TransportError as exc:  # connection refused, timeouts, TLS, unreadable answers
            raise BackendUnavailable(f"Elasticsearch at {self.url} is unavailable: {exc}") from exc
        except NotFoundError:
            raise  # `_read` turns it into "nothing there"
        except ApiError as exc:
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

    def _create(self, index: str, with_alias: bool) -> None:
        body = load_mapping(self.dim, self.model_id)
        aliases = {self.alias: {}} if with_alias else None
        self._call("indices.create", index=index, settings=body["settings"], mappings=body["mappings"],
                   aliases=aliases)
        log.info("created Elasticsearch index %s%s", index, f" behind {self.alias}" if with_alias else "")

    def _ensure_index(self) -> None:
        if self._live_index() is not None:
            return
        versions = self._versions()
        try:
            self._create(f"{self.alias}-v{(versions[-1] if versions else 0) + 1}", with_alias=True)
        except Refused as exc:
            if exc.error_type != "resource_already_exists_exception" or self._live_index() is None:
                raise
            log.info("another writer created the index first")

    def _meta(self, index: str) -> dict:
        mapping = self._read("indices.get_mapping", {}, index=index)
        return next(iter(mapping.values()), {}).get("mappings", {}).get("_meta", {})

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

    def _actions(self, doc: Document, chunks: Sequence[Chunk], vectors: np.ndarray,
                 tokens: Sequence[Sequence[str]]) -> Iterator[dict]:
        from archive.text import fold, tokenize

        if not (len(chunks) == len(vectors) == len(tokens)):
            raise ValueError("chunks, vectors and tokens must have the same length")
        shared = {"doc_id": doc.doc_id, "region": doc.region, "year": doc.year, "doc_type": doc.doc_type}
        record = {**doc.to_dict(), "kind": DOCUMENT, "indexed_at": int(time.time() * 1000)}
        yield {"_id": doc_record_id(doc.doc_id), "_source": record}
        title_tokens = " ".join(tokenize(doc.title))
        for chunk, vec, toks in zip(chunks, vectors, tokens, strict=True):
            yield {"_id": chunk.chunk_id, "_source": {
                **shared, "kind": PASSAGE, "chunk_id": chunk.chunk_id, "position": chunk.position,
                "section": chunk.section, "text": chunk.text, "fold": fold(chunk.text),
                "figures": list(chunk.figures),
                "tokens": " ".join(toks), "title_tokens": title_tokens,
                "section_tokens": " ".join(tokenize(chunk.section)),
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

    def _ids_of(self, doc_id: str, keep: Sequence[str] = ()) -> list[str]:
        query = {"bool": {"filter": [kind_is(PASSAGE), {"term": {"doc_id": doc_id}}],
                          "must_not": [{"ids": {"values": list(keep)}}] if keep else []}}
        return [h["_id"] for h in self._scan(query, [{"chunk_id": "asc"}], False)]

    def index_document(self, doc: Document, chunks: Sequence[Chunk], vectors: np.ndarray,
                       tokens: Sequence[Sequence[str]]) -> None:
        self.check_compatible()
        self._ensure_index()
        # Overwrite in place first, then drop what the new version no longer has: a reader sees the
        # old or the new passages (for a moment a mix), never a document with none.
        self._bulk(self._actions(doc, chunks, vectors, tokens), self.alias)
        stale = self._ids_of(doc.doc_id, keep=[c.chunk_id for c in chunks])
        self._bulk(({"_op_type": "delete", "_id": i} for i in stale), self.alias)
        self._call("indices.refresh", index=self.alias)

    def delete_document(self, doc_id: str) -> bool:
        if self.get_document(doc_id) is None:
            return False
        ids = [*self._ids_of(doc_id), doc_record_id(doc_id)]
        self._bulk(({"_op_type": "delete", "_id": i} for i in ids), self.alias)
        self._call("indices.refresh", index=self.alias)
        return True

    def rebuild(self, items: Iterable[IndexItem]) -> int:
        old = self._live_index()
        versions = self._versions()
        new = f"{self.alias}-v{(versions[-1] if versions else 0) + 1}"
        self._create(new, with_alias=False)
        count = 0

        def actions() -> Iterator[dict]:
            nonlocal count
            for doc, chunks, vectors, tokens in items:
                count += 1
                yield from self._actions(doc, chunks, vectors, tokens)

        try:
            self._bulk(actions(), new)
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
        self._checked = None
        if old:
            time.sleep(OLD_INDEX_GRACE)
            self._read("indices.delete", None, index=old)
            log.info("deleted old index %s", old)

    # -- searching ---------------------------------------------------------------

    def keyword_search(self, query: KeywordQuery, filters: Filters, limit: int,
                       offset: int = 0) -> list[Scored]:
        if query.is_empty() or limit <= 0:
            return []
        if offset + limit > MAX_WINDOW:
            raise BadRequest(f"results beyond the first {MAX_WINDOW:,} cannot be paged to; "
                             "narrow the search with filters or more words")
        body = passages_where(filters)
        body["bool"]["must"] = [keyword_bool(query)]
        res = self._search(query=body, sort=[{"_score": "desc"}, {"chunk_id": "asc"}],
                           from_=offset, size=limit, _source=False, track_total_hits=False)
        return [Scored(h["_id"], float(h["_score"])) for h in res["hits"]["hits"]]

    def vector_search(self, vector: np.ndarray, filters: Filters, limit: int) -> list[Scored]:
        self.check_compatible()
        k = min(limit, MAX_WINDOW)
        if k <= 0:
            return []
        res = self._search(knn=knn_clause(vector, filters, k), size=k, _source=False)
        # Cosine similarity is stored as (1 + cos) / 2; report cos, as the embedded backend does.
        return [Scored(h["_id"], 2.0 * float(h["_score"]) - 1.0) for h in res["hits"]["hits"]]

    def facets(self, query: KeywordQuery | None, filters: Filters,
               extra_ids: Iterable[str] = ()) -> FacetCounts:
        alternatives = [keyword_bool(query)] if query is not None and not query.is_empty() else []
        extra = list(dict.fromkeys(extra_ids))
        if extra:
            alternatives.append({"ids": {"values": extra}})
        # No query and no ids: every passage under the filters (the archive's overview).
        either = [{"bool": {"should": alternatives, "minimum_should_match": 1}}] if alternatives else []
        where = passages_where(filters, *either)
        res = self._search(query=where, size=0, track_total_hits=True, aggs=facet_aggs())
        aggs = res.get("aggregations", {})
        fields = {f: [(str(b["key"]), b["doc_count"]) for b in aggs.get(f, {}).get("buckets", [])]
                  for f in FACET_FIELDS}
        return FacetCounts(res["hits"]["total"]["value"], fields)

    # -- reading -----------------------------------------------------------------

    def get_document(self, doc_id: str) -> Document | None:
        hit = self._read("get", None, index=self.alias, id=doc_record_id(doc_id))
        return Document.from_dict(hit["_source"]) if hit and hit.get("found") else None

    def _mget(self, ids: list[str]) -> list[dict]:
        if not ids:
            return []
        res = self._read("mget", {"docs": []}, index=self.alias, ids=ids)
        return [d["_source"] for d in res["docs"] if d.get("found")]

    def get_documents(self, doc_ids: Iterable[str]) -> dict[str, Document]:
        sources = self._mget([doc_record_id(i) for i in dict.fromkeys(doc_ids)])
        return {s["doc_id"]: Document.from_dict(s) for s in sources}

    def get_chunks_by_id(self, chunk_ids: Sequence[str]) -> dict[str, Chunk]:
        sources = self._mget(list(dict.fromkeys(chunk_ids)))
        return {s["chunk_id"]: _chunk(s) for s in sources if s.get("kind") == PASSAGE}

    def get_chunks(self, doc_id: str) -> list[Chunk]:
        query = passages_where(Filters(), {"term": {"doc_id": doc_id}})
        hits = self._scan(query, [{"position": "asc"}, {"chunk_id": "asc"}], CHUNK_FIELDS)
        return [_chunk(h["_source"]) for h in hits]

    def list_documents(self) -> list[Document]:
        sort = [{"region": {"order": "asc", "missing": "_first"}},
                {"year": {"order": "asc", "missing": "_first"}}, {"doc_id": "asc"}]
        hits = self._scan({"bool": {"filter": [kind_is(DOCUMENT)]}}, sort, True)
        return [Document.from_dict(h["_source"]) for h in hits]

    def find_by_sha256(self, sha256: str) -> str | None:
        query = {"bool": {"filter": [kind_is(DOCUMENT), {"term": {"sha256": sha256}}]}}
        hits = self._search(query=query, size=1, sort=[{"doc_id": "asc"}], _source=["doc_id"])["hits"]["hits"]
        return hits[0]["_source"]["doc_id"] if hits else None

    def stats(self) -> dict:
        index = self._live_index()
        out = {"backend": self.name, "documents": 0, "passages": 0, "model_id": self.model_id, "dim": self.dim,
               "schema_version": SCHEMA_VERSION, "url": self.url, "alias": self.alias, "index": index,
               "size_bytes": 0}
        if index is None:
            return out
        meta = self._meta(index)
        kinds = self._search(size=0, aggs={"kind": {"terms": {"field": "kind"}}})["aggregations"]["kind"]
        counts = {b["key"]: b["doc_count"] for b in kinds["buckets"]}
        store = self._call("indices.stats", index=index, metric="store")["indices"][index]["primaries"]["store"]
        out.update(documents=counts.get(DOCUMENT, 0), passages=counts.get(PASSAGE, 0),
                   model_id=meta.get("model_id"), dim=int(meta.get("dim") or 0),
                   schema_version=int(meta.get("schema_version") or 0), size_bytes=store["size_in_bytes"])
        return out

    def ping(self) -> None:
        health = self._call("cluster.health")
        if health.get("status") == "red":
            raise BackendUnavailable(f"Elasticsearch at {self.url} is red: some data cannot be read")

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


def _chunk(source: dict) -> Chunk:
    return Chunk(source["chunk_id"], source["doc_id"], source["position"], source["section"], source["text"],
                 tuple(source.get("figures") or ()))
