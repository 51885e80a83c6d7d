"""Writing documents as versions made live by one write of their record (`elastic_versions`).

A document's record and passages are routed by its doc id, so they share a shard, where
writes apply in order. Records are written conditionally (seq_no): of two writers of one
document, one fails with ConcurrentChange instead of deleting the other's passages under it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from archive.backends.base import IndexItem, check_item
from archive.backends.elastic_queries import document_source, passages_where
from archive.backends.elastic_reader import LiveReader
from archive.backends.elastic_transport import Refused, Transport
from archive.backends.elastic_versions import (
    PASSAGE,
    PLACEHOLDER,
    ConcurrentChange,
    Record,
    doc_record_id,
    new_version,
    passage_id,
    with_hidden,
)
from archive.models import Document, Filters

log = logging.getLogger(__name__)


def passage_actions(item: IndexItem, version: str) -> Iterator[dict]:
    """The bulk actions writing a document's passages as `version`, with the tokens the item carries."""
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


def record_action(doc: Document, version: str) -> dict:
    """The bulk action writing a document's record as live at `version` (for a fresh index)."""
    return {"_id": doc_record_id(doc.doc_id), "_routing": doc.doc_id, "_source": document_source(doc, version)}


class VersionedWriter:
    """Replaces and deletes documents of one alias so that readers only ever see whole ones."""

    def __init__(self, transport: Transport, reader: LiveReader, alias: str) -> None:
        self.transport = transport
        self.reader = reader
        self.alias = alias

    def _refresh(self) -> None:
        self.transport.call("indices.refresh", index=self.alias)

    def _bulk(self, actions: Iterable[dict]) -> None:
        self.transport.bulk(actions, self.alias, require_alias=True)

    def put_record(self, base: Record, source: dict | None) -> Record:
        """Replace `base` by `source` (or delete it, for None) unless another writer changed it since it was read."""
        where = {"index": self.alias, "id": doc_record_id(base.doc_id), "routing": base.doc_id, **base.guard()}
        try:
            if source is None:
                self.transport.call("delete", **where)
                return Record(base.doc_id)
            res = self.transport.call("index", document=source, require_alias=True, **where)
        except Refused as exc:
            if exc.error_type != "version_conflict_engine_exception":
                raise
            raise ConcurrentChange(f"document {base.doc_id} was changed by another writer while this one "
                                   "wrote it; run the ingest again") from exc
        return Record(base.doc_id, source, res["_seq_no"], res["_primary_term"])

    def _passage_ids(self, doc_id: str, versions: Iterable[str]) -> list[str]:
        query = passages_where(Filters(), {"term": {"doc_id": doc_id}}, {"terms": {"version": sorted(versions)}})
        return [h["_id"] for h in self.reader.scan(query, [{"chunk_id": "asc"}, {"version": "asc"}], False)]

    def sweep(self, record: Record, versions: set[str]) -> None:
        """Delete the passages of hidden `versions`, then stop hiding those no writer can add to.

        Only versions whose writers are finished, or that `record` was written after (their writers
        can no longer make them live), may be swept; the caller refreshed since they were written."""
        if not versions:
            return
        ids = self._passage_ids(record.doc_id, versions)
        self._bulk({"_op_type": "delete", "_id": i, "_routing": record.doc_id} for i in ids)
        done = record.finished() & versions
        if not done:
            return
        settled = record.unhiding(done)
        empty = not record.is_document and not settled["hidden"]  # a placeholder with nothing left to hide
        try:
            self.put_record(record, None if empty else settled)
        except ConcurrentChange:  # harmless: the versions stay hidden until the next sweep
            log.info("%s changed during its clean-up; the next write finishes it", record.doc_id)

    def sweep_leftovers(self) -> None:
        """Finish the clean-up of writes that died after making their version live (or were abandoned)."""
        query = {"bool": {"filter": [{"exists": {"field": "hidden"}}]}}
        hits = list(self.reader.scan(query, [{"doc_id": "asc"}], ["doc_id"]))
        if not hits:
            return
        self._refresh()
        for hit in hits:
            record = self.reader.record(hit["_source"]["doc_id"])
            if record.finished():
                log.info("removing passages an interrupted write left of %s", record.doc_id)
                self.sweep(record, record.finished())

    def write(self, items: Sequence[IndexItem]) -> None:
        """Each document (no two alike) as a new version made live by one write of its record.

        The steps of every document in turn, but one bulk and two refreshes for them all: a refresh
        each was most of a document's 135 ms."""
        staged = []
        for doc, *_ in items:
            version = new_version()
            base = self.reader.record(doc.doc_id)
            # The record hides the new version before any passage of it is written: a writer (or node)
            # that dies from here on leaves the old version, or nothing, visible.
            staged.append((base, self.put_record(base, base.hiding([version])), version))
        self._bulk(action for item, (_, _, version) in zip(items, staged, strict=True)
                   for action in passage_actions(item, version))
        # Searchable before the switch: whoever reads the switched record by id finds all its passages.
        self._refresh()
        for (doc, *_), (base, announced, version) in zip(items, staged, strict=True):
            # One write switches readers to the new version and hides the old one. Versions hidden
            # before can no longer go live either (their writers' conditional writes now fail): all
            # may be deleted.
            retired = announced.retired | ({base.live} if base.live else set())
            live = self.put_record(announced, document_source(doc, version,
                                                              (announced.hidden | retired) - {version}, retired))
            self.sweep(live, live.hidden)
        self._refresh()  # searches from now on see the new versions

    def delete(self, doc_id: str) -> bool:
        """Hide a whole document with one write of its record, then delete its passages."""
        base = self.reader.record(doc_id)
        if not base.is_document:  # absent, or the placeholder of an ingest that never finished
            return False
        retired = base.retired | ({base.live} - {None})
        gone = self.put_record(base, with_hidden({"kind": PLACEHOLDER, "doc_id": doc_id}, base.hidden | retired,
                                                 retired))
        self.sweep(gone, gone.hidden)
        self._refresh()
        return True
