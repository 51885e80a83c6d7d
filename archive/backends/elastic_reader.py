"""Reading only the live version of each document (the protocol is in `elastic_versions`).

Records are read in real time by id; searches leave out the versions hidden in the snapshot
that answers them. What the last count saw hidden is the next count's first guess (a count checks
its guess against its own snapshot); that guess is shared by every thread searching through one
backend, so it sits behind a lock. Searches for hits start from no guess and learn what is hidden
from the records of their hits.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

from archive.backends.elastic_transport import Transport
from archive.backends.elastic_versions import (
    HIDDEN_AGG,
    DocVersion,
    LiveCache,
    Record,
    doc_record_id,
    doc_versions,
    head_of,
    hidden_agg,
    hidden_in,
    is_live,
    record_doc_id,
)

log = logging.getLogger(__name__)

LIVE_TRIES = 5  # searches run again while ingests keep changing what is hidden


class LiveReader:
    """Searches and record reads of one alias that only ever show live versions."""

    def __init__(self, transport: Transport, alias: str) -> None:
        self.transport = transport
        self.alias = alias
        self._lock = threading.Lock()
        self._hidden: tuple[str, ...] = ()  # what the last search saw hidden: the next one's first guess
        self._lives = LiveCache()

    @property
    def hidden_guess(self) -> tuple[str, ...]:
        with self._lock:
            return self._hidden

    def _saw_hidden(self, hidden: tuple[str, ...]) -> None:
        with self._lock:
            self._hidden = hidden

    def search(self, **body) -> dict:
        """A search of the alias (no index yet: no hits)."""
        return self.transport.search(self.alias, **body)

    def scan(self, query: dict, sort: list, source) -> Iterable[dict]:
        """Every hit of a query of the alias (`sort` must end on a unique field)."""
        return self.transport.scan(self.alias, query, sort, source)

    def record(self, doc_id: str) -> Record:
        """A document's record in real time (a get, not a search: no refresh needed)."""
        hit = self.transport.read("get", None, index=self.alias, id=doc_record_id(doc_id), routing=doc_id)
        if not hit or not hit.get("found"):
            return Record(doc_id)
        return Record(doc_id, hit["_source"], hit["_seq_no"], hit["_primary_term"])

    def records(self, doc_ids: Iterable[str], **options) -> list[dict]:
        """The records (documents and placeholders) of these documents that exist, read in real time."""
        wanted = [{"_id": doc_record_id(i), "routing": i} for i in dict.fromkeys(doc_ids)]
        if not wanted:
            return []
        res = self.transport.read("mget", {"docs": []}, index=self.alias, docs=wanted, **options)
        return [d for d in res["docs"] if d.get("found")]

    def records_of(self, doc_ids: Iterable[str]) -> dict[str, Record]:
        """Each document's record in real time, in one mget (an absent one as a Record without source)."""
        doc_ids = list(doc_ids)
        found = {record_doc_id(d["_id"]): d for d in self.records(doc_ids)}
        return {i: Record(i, found[i]["_source"], found[i]["_seq_no"], found[i]["_primary_term"]) if i in found
                else Record(i) for i in dict.fromkeys(doc_ids)}

    def live_search(self, body: Callable[[tuple[str, ...]], dict]) -> dict:
        """Count passages, leaving out the versions hidden in the very snapshot that answers.

        `body(hidden)` builds the request. The first try leaves out what the last search saw
        hidden; when this snapshot hides something else (an ingest moved on) it runs again.
        For hits, `live_only` is cheaper; counts have no hits to check one by one."""
        guess = hidden = self.hidden_guess
        for _ in range(LIVE_TRIES):
            request = body(guess)
            request["aggs"] = {**request.get("aggs", {}), HIDDEN_AGG: hidden_agg()}
            res = self.search(**request)
            hidden = hidden_in(res)
            if hidden == guess:
                break
            guess = hidden
        else:
            log.warning("检索期间导入一直在修改索引，本次计数可能不精确")
        self._saw_hidden(hidden)
        return res

    def live_only(self, request: Callable[[tuple[str, ...]], dict],
                  versions: Callable[[list[dict]], list[DocVersion]] = doc_versions) -> list[dict]:
        """A search's hits that belong to their document's live version, as its record says now.

        `request(hidden)` builds the search, leaving out versions known to be hidden: none at first, not
        the last count's guess, which can name a version made live since (announced then, switched now:
        its passages would be left out unseen, as no hit of it comes back to be checked). The records of
        the hits' documents are read in real time (one mget, whatever the index size, where the
        global aggregation of `live_search` visits every document: 15-20 ms at 1M). A hit of any
        other version means an ingest moved on since the snapshot; the search runs again without
        that version, and now sees the live version's passages (refreshed before the record switched).
        `versions` reads each hit's document and version (doc values unless the request asks otherwise)."""
        hidden: tuple[str, ...] = ()
        for _ in range(LIVE_TRIES):
            # .get: under filter_path, an answer without hits has no "hits" at all
            hits = self.search(**request(hidden)).get("hits", {}).get("hits", [])
            pairs = versions(hits)
            live = self._live_versions(pairs)
            stale = {v for d, v in set(pairs) if not is_live(d, v, live)} - {None} - set(hidden)
            if not stale:
                break
            hidden = tuple(sorted({*hidden, *stale}))
        else:
            log.warning("检索期间导入一直在修改索引，部分结果未列出")
        return [h for h, (doc_id, version) in zip(hits, pairs) if is_live(doc_id, version, live)]

    def _live_versions(self, pairs: list[DocVersion]) -> dict[str, str | None]:
        """The live version of the hits' documents (None for a placeholder's).

        The records' heads are read (one mget without sources); only records the cache cannot
        confirm are read whole: at 100 hits, 2.6 ms instead of 10. Each (document, version) is
        checked once: 10k hits hold a few thousand."""
        pairs = list(dict.fromkeys(pairs))
        heads = {record_doc_id(d["_id"]): head_of(d)
                 for d in self.records({doc_id for doc_id, _ in pairs}, source=False)}
        live: dict[str, str | None] = {}
        unsure = set()
        for doc_id, version in pairs:
            if self._lives.confirms(doc_id, heads.get(doc_id), version):
                live[doc_id] = version
            else:
                unsure.add(doc_id)
        for found in self.records(unsure):
            doc_id = found["_source"]["doc_id"]
            live[doc_id] = Record(doc_id, found["_source"]).live
            self._lives.remember(doc_id, head_of(found), live[doc_id])
        return live
