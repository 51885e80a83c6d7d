"""The embedded backend's batched write stores exactly what writing the same documents one at a time stores."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from archive.backends.base import IndexItem
from archive.backends.embedded import EmbeddedBackend
from archive.backends.embedded_writes import Postings
from archive.embedders import HashEmbedder
from archive.models import Chunk, Document, chunk_id_for
from archive.text import document_tokens

EMB = HashEmbedder()


def item(doc_id: str, title: str, passages: list[tuple[str, str]]) -> IndexItem:
    """A made-up report as the indexer hands it over: its passages (section, text), vectors and tokens."""
    doc = Document(doc_id, title, region="临江市", year=2023, doc_type="法治政府建设年度报告", sha256=doc_id * 4)
    chunks = [Chunk(chunk_id_for(doc_id, i), doc_id, i, section, text, ({"value": i},))
              for i, (section, text) in enumerate(passages)]
    return IndexItem(doc, chunks, EMB.embed_passages([c.text for c in chunks]), document_tokens(title, chunks))


FIRST = item("aaaa", "临江市2023年法治政府建设情况报告", [
    ("一、主要工作", "全年办理行政复议案件１２８件，同比增长12.5%。"),
    ("一、主要工作", "行政复议 行政复议 纠错率3.1%，法律顾问覆盖率100%。"),
    ("二、存在问题", "基层执法力量不足，行政执法人员培训有待加强。")])
SECOND = item("bbbb", "北山县司法局2023年度工作总结", [("", "推进12345热线诉求办理，办结率99.77%。")])
FIRST_AGAIN = item("aaaa", "临江市2023年法治政府建设情况报告（修订）",
                   [("一、主要工作", "修订后的报告只有一段：证明事项告知承诺制。")])


def stored(directory) -> list:
    """Everything the file holds of its documents, passages, FTS rows and postings (not the time of writing)."""
    db = sqlite3.connect(directory / "archive.sqlite")
    try:
        return [db.execute(sql).fetchall() for sql in (
            "SELECT rowid, doc_id, title, region, year, doc_type, sha256, missing, notes FROM documents ORDER BY rowid",
            "SELECT * FROM chunks ORDER BY id",
            "SELECT rowid, title, section, body FROM fts ORDER BY rowid",
            "SELECT * FROM postings ORDER BY term, doc",
            "SELECT rowid FROM fts WHERE fts MATCH '行政复议' ORDER BY rowid")]
    finally:
        db.close()


@pytest.mark.parametrize("batches", [
    [[FIRST, SECOND, FIRST_AGAIN]],  # a document replaced inside the batch that wrote it
    [[FIRST, SECOND], [FIRST_AGAIN]],  # replaced by a later batch
    [[FIRST_AGAIN, FIRST, SECOND, FIRST_AGAIN]],
])
def test_a_batch_stores_what_one_document_at_a_time_stores(tmp_path, batches):
    one, many = EmbeddedBackend(tmp_path / "one", EMB.dim, EMB.model_id), \
        EmbeddedBackend(tmp_path / "many", EMB.dim, EMB.model_id)
    for batch in batches:
        for it in batch:
            one.index_documents([it])
        many.index_documents(batch)
    one.close()
    many.close()
    assert stored(tmp_path / "many") == stored(tmp_path / "one")
    docs, chunks, fts, postings, _ = stored(tmp_path / "many")
    assert [d[1] for d in docs] == ["bbbb", "aaaa"] and docs[1][2].endswith("（修订）")
    ids = {c[0] for c in chunks}
    assert {r[0] for r in fts} == ids  # no FTS row of a replaced passage is left behind
    assert {p[1] for p in postings} == {d[0] for d in docs}
    assert all(set(np.frombuffer(p[2], np.int32).reshape(-1, 4)[:, 0]) <= ids for p in postings)


def test_postings_hold_each_fields_term_frequencies_in_passage_order():
    from collections import Counter

    postings = Postings()
    postings.add(7, 1, (Counter(["复议"]), Counter(), Counter(["复议", "复议", "案件"])))
    postings.add(7, 2, (Counter(["复议"]), Counter(["案件"]), Counter()))
    rows = {(term, doc): np.frombuffer(data, np.int32).reshape(-1, 4).tolist() for term, doc, data in postings.rows()}
    assert rows == {("复议", 7): [[1, 1, 0, 2], [2, 1, 0, 0]], ("案件", 7): [[1, 0, 0, 1], [2, 0, 1, 0]]}
    assert [r[0] for r in postings.rows()] == sorted(r[0] for r in postings.rows())
