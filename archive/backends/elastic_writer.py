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
from archive.backends.elastic_transport import Transport
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
            "vector": np.ascontiguousarray(vec, np.float32)}}  # written as float32 by the client (orjson)


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

    def put_records(self, changes: Sequence[tuple[Record, dict | None]]) -> list[Record | ConcurrentChange]:
        """Replace each `base` by its `source` (or delete it, for None) in one bulk, each unless another
        writer changed it since it was read; what each became, or the ConcurrentChange it met."""
        def action(base: Record, source: dict | None) -> dict:
            guard = base.guard()
            op = guard.pop("op_type", "index") if source is not None else "delete"
            body = {} if source is None else {"_source": source}
            return {"_op_type": op, "_id": doc_record_id(base.doc_id), "_routing": base.doc_id, **guard, **body}

        answers = self.transport.bulk_each((action(base, source) for base, source in changes), self.alias,
                                           require_alias=True)
        out: list[Record | ConcurrentChange] = []
        for base, source in changes:
            info = answers[doc_record_id(base.doc_id)]
            if info.get("status") == 409:
                out.append(ConcurrentChange(f"报告 {base.doc_id} 在写入期间被另一个写入者修改："
                                            "请重新运行导入"))
            elif source is None:
                out.append(Record(base.doc_id))
            else:
                out.append(Record(base.doc_id, source, info["_seq_no"], info["_primary_term"]))
        return out

    def _stale_passages(self, doc_ids: set[str], versions: set[str]) -> Iterator[dict]:
        """Delete actions for the passages of these versions of these documents (a version is one document's)."""
        query = passages_where(Filters(), {"terms": {"doc_id": sorted(doc_ids)}},
                               {"terms": {"version": sorted(versions)}})
        for hit in self.reader.scan(query, [{"chunk_id": "asc"}, {"version": "asc"}], ["doc_id"]):
            yield {"_op_type": "delete", "_id": hit["_id"], "_routing": hit["_source"]["doc_id"]}

    def sweep(self, sweeps: Sequence[tuple[Record, set[str]]]) -> None:
        """Delete the passages of each record's hidden `versions`, then stop hiding those no writer can add to.

        Only versions whose writers are finished, or that the record was written after (their writers
        can no longer make them live), may be swept; the caller refreshed since they were written.
        One scan, one bulk of deletes and one bulk of records for all of them."""
        sweeps = [(record, versions) for record, versions in sweeps if versions]
        if not sweeps:
            return
        self._bulk(self._stale_passages({r.doc_id for r, _ in sweeps}, set().union(*(v for _, v in sweeps))))
        settled = []
        for record, versions in sweeps:
            done = record.finished() & versions
            if done:
                source = record.unhiding(done)
                empty = not record.is_document and not source["hidden"]  # a placeholder with nothing to hide
                settled.append((record, None if empty else source))
        for (record, _), outcome in zip(settled, self.put_records(settled), strict=True):
            if isinstance(outcome, ConcurrentChange):  # harmless: the versions stay hidden until the next sweep
                log.info("%s 在清理期间被修改，下次写入时完成清理", record.doc_id)

    def sweep_leftovers(self) -> None:
        """Finish the clean-up of writes that died after making their version live (or were abandoned)."""
        query = {"bool": {"filter": [{"exists": {"field": "hidden"}}]}}
        hits = list(self.reader.scan(query, [{"doc_id": "asc"}], ["doc_id"]))
        if not hits:
            return
        self._refresh()
        records = self.reader.records_of([hit["_source"]["doc_id"] for hit in hits]).values()
        unfinished = [r for r in records if r.finished()]
        for record in unfinished:
            log.info("正在删除中断的写入留下的 %s 的段落", record.doc_id)
        # Only the finished versions: one still being written by a running ingest must stay.
        self.sweep([(r, r.finished()) for r in unfinished])

    def write(self, items: Sequence[IndexItem]) -> None:
        """Each document (no two alike) as a new version made live by one write of its record.

        The steps of every document together: one mget of the records, one bulk announcing the new
        versions, the passages' bulks, a refresh, one bulk switching the records, the sweep, a
        refresh, where each document cost three to six requests of its own before. A document another
        writer changed meanwhile is left to it; the others are written, then ConcurrentChange says which."""
        versions = [new_version() for _ in items]
        bases = self.reader.records_of([doc.doc_id for doc, *_ in items])
        # The records hide the new versions before any passage of them is written: a writer (or node)
        # that dies from here on leaves the old version, or nothing, visible.
        announced = self.put_records([(bases[doc.doc_id], bases[doc.doc_id].hiding([version]))
                                      for (doc, *_), version in zip(items, versions, strict=True)])
        staged = [(item, version, bases[item[0].doc_id], ann)
                  for item, version, ann in zip(items, versions, announced, strict=True) if isinstance(ann, Record)]
        self._bulk(action for item, version, _, _ in staged for action in passage_actions(item, version))
        # Searchable before the switch: whoever reads the switched record by id finds all its passages.
        self._refresh()
        switches = []
        for (doc, *_), version, base, ann in staged:
            # One write switches readers to the new version and hides the old one (and any hidden before).
            retired = ann.retired | ({base.live} if base.live else set())
            switches.append((ann, document_source(doc, version, (ann.hidden | retired) - {version}, retired)))
        lives = self.put_records(switches)
        self.sweep([(live, live.hidden) for live in lives if isinstance(live, Record)])
        self._refresh()  # searches from now on see the new versions
        conflicts = [c for c in [*announced, *lives] if isinstance(c, ConcurrentChange)]
        if conflicts:
            raise conflicts[0] if len(conflicts) == 1 else ConcurrentChange("；".join(map(str, conflicts)))

    def delete(self, doc_id: str) -> bool:
        """Hide a whole document with one write of its record, then delete its passages."""
        base = self.reader.record(doc_id)
        if not base.is_document:  # absent, or the placeholder of an ingest that never finished
            return False
        retired = base.retired | ({base.live} - {None})
        (gone,) = self.put_records([(base, with_hidden({"kind": PLACEHOLDER, "doc_id": doc_id},
                                                        base.hidden | retired, retired))])
        if isinstance(gone, ConcurrentChange):
            raise gone
        self.sweep([(gone, gone.hidden)])
        self._refresh()
        return True
