"""`python -m indexer reindex` on each backend: searches keep answering while the index is rebuilt; with
`--from-originals` each report is cut again from its kept original, its metadata kept as stored."""

import logging
import re
import threading
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from archive import originals
from archive.backends.base import IndexItem
from archive.config import load_config
from archive.embedders import embedding_text
from archive.models import Chunk, Document, chunk_id_for
from archive.services import Archive
from archive.text import document_tokens
from indexer.cli import main as indexer_main
from indexer.pipeline import Reindexed, figures_of, ingest_paths, prepare, reindex
from search_app import service
from search_app.params import SearchParams
from tests.conftest import load_cache


@pytest.fixture(params=["embedded", pytest.param("elasticsearch", marks=pytest.mark.es)])
def archive(request, config, ingested, seeds_dir, tmp_path):
    """A private index of the seeds on each backend, its vectors from .cache/ (`load_cache`: a whole copy;
    the session index's own cache file, copied live, lacks what is still in its WAL on the worker that
    embedded the seeds, so every seed was embedded again)."""
    data = tmp_path / "data"
    data.mkdir()
    load_cache(data)
    changes = {"data_dir": data}
    if request.param == "elasticsearch":
        changes |= {"backend": "elasticsearch", "elasticsearch_url": request.getfixturevalue("es_url"),
                    "es_index": f"test-reindex-{uuid.uuid4().hex[:8]}"}
    archive = Archive(replace(config, **changes))
    ingest_paths(archive, [seeds_dir])
    yield archive
    if request.param == "elasticsearch":
        client = archive.backend.client
        names = list(client.indices.get(index=f"{archive.config.es_index}-v*", expand_wildcards="all"))
        client.indices.delete(index=",".join(names))
    archive.close()


def test_searches_keep_answering_during_reindex(archive):
    before = archive.backend.stats()
    expected = service.search(archive, SearchParams(q="行政复议", mode="keyword"))["total"]
    totals, errors, done = [], [], threading.Event()

    def search_loop():
        while not done.is_set():
            try:
                totals.append(service.search(archive, SearchParams(q="行政复议", mode="keyword"))["total"])
            except Exception as exc:  # recorded, then asserted on: any failure fails the test
                errors.append(exc)
            done.wait(0.01)  # a breath between searches: a tight loop took a core from the rebuild it watches

    searcher = threading.Thread(target=search_loop)
    searcher.start()
    try:
        assert reindex(archive) == before.documents
    finally:
        done.set()
        searcher.join(timeout=30)
    assert errors == []
    assert totals and set(totals) == {expected}
    after = archive.backend.stats()
    assert (after.documents, after.passages) == (before.documents, before.passages)
    if archive.config.backend == "elasticsearch":
        live = archive.backend.client.indices.get_alias(name=archive.config.es_index)
        assert list(live) == [f"{archive.config.es_index}-v2"]


def test_reindex_command(config, ingested, seeds_dir, tmp_path, monkeypatch):
    data = tmp_path / "cli"
    data.mkdir()
    load_cache(data)
    monkeypatch.setenv("ARCHIVE_DATA_DIR", str(data))
    monkeypatch.setenv("ARCHIVE_EMBEDDER", config.embedder)  # the cached vectors' model
    assert indexer_main(["ingest", "--no-progress", str(seeds_dir)]) == 0
    assert indexer_main(["reindex"]) == 0
    archive = Archive(replace(config, data_dir=data))
    assert archive.backend.stats().documents == 5
    assert service.search(archive, SearchParams(q="行政复议", mode="keyword"))["total"] > 0


# A made-up county report hard-wrapped at 24 characters a line, as text copied out of a PDF arrives: "办结38件"
# is broken over two lines. Cut as it is now, the lines are joined again; an index built before that kept them.
_BODY = ("一、推进行政复议工作\n"
         "全年共收到行政复议申请45件，依法受理41件，办结38件，办结率92.7%。同时加强行政复议规范化建设，"
         "组织行政复议人员培训3期，参训120人次，行政复议决定书全部网上公开。\n"
         "二、规范行政执法\n"
         "全县开展行政执法案卷评查2次，评查案卷186卷，发现问题27个，均已整改到位。")
_HEADING = re.compile(r"[一二三四五六七八九十]+、")


def _wrapped_report(year: int, width: int = 24) -> str:
    lines = [f"青禾县{year}年法治政府建设年度报告"]
    for para in _BODY.split("\n"):
        lines += [para[i:i + width] for i in range(0, len(para), width)]
    return "\n".join(lines) + "\n"


def _as_an_older_version_cut_it(archive: Archive, doc: Document, path: Path) -> list[str]:
    """Store `doc` again with its file's wrapped lines kept as written, a section a passage; their texts."""
    sections: list[list[str]] = []
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        if _HEADING.match(line) or not sections:
            sections.append([])
        sections[-1].append(line)
    texts = ["\n".join(lines) for lines in sections]
    chunks = [Chunk(chunk_id_for(doc.doc_id, i), doc.doc_id, i, lines[0], text, figures_of(text))
              for i, (lines, text) in enumerate(zip(sections, texts))]
    vectors = archive.embedder.embed_passages([embedding_text(c) for c in chunks])
    archive.backend.index_documents([IndexItem(doc, chunks, vectors, document_tokens(doc.title, chunks))])
    return [c.text for c in chunks]


def _figures(archive: Archive, doc_id: str) -> set[tuple[str, float]]:
    return {(f["label"], f["value"]) for c in archive.backend.get_chunks(doc_id) for f in c.figures}


@pytest.fixture(params=[("embedded", 1), ("embedded", 2), pytest.param(("elasticsearch", 1), marks=pytest.mark.es)],
                ids=["embedded-1-job", "embedded-2-jobs", "elasticsearch"])
def wrapped(request, tmp_path):
    """16 hard-wrapped reports (enough for two workers to prepare them) ingested with the hash embedder, then
    stored again as an older version cut them: (archive, {doc id: file}, {doc id: the stored passages' texts})."""
    backend, jobs = request.param
    folder = tmp_path / "reports"
    folder.mkdir()
    for year in range(2010, 2026):
        (folder / f"青禾县{year}年法治政府建设年度报告.txt").write_text(_wrapped_report(year), encoding="utf-8")
    changes = {"ingest_jobs": jobs}
    if backend == "elasticsearch":
        changes |= {"backend": "elasticsearch", "elasticsearch_url": request.getfixturevalue("es_url"),
                    "es_index": f"test-reread-{uuid.uuid4().hex[:8]}"}
    archive = Archive(load_config({}, data_dir=tmp_path / "data", embedder="hash", **changes))
    report = ingest_paths(archive, [folder])
    assert len(report.indexed) == 16 and report.ok
    files = {doc.doc_id: folder / doc.source_name for doc in archive.backend.list_documents()}
    old = {doc_id: _as_an_older_version_cut_it(archive, archive.backend.get_document(doc_id), path)
           for doc_id, path in files.items()}
    yield archive, files, old
    if backend == "elasticsearch":
        client = archive.backend.client
        names = list(client.indices.get(index=f"{archive.config.es_index}-v*", expand_wildcards="all"))
        client.indices.delete(index=",".join(names))
    archive.close()


def test_reindex_from_originals_cuts_each_report_again_and_keeps_what_the_index_knows_of_it(wrapped):
    archive, files, old = wrapped
    ids = sorted(files)
    corrected_id, gone_id, empty_id = ids[0], ids[1], ids[2]
    corrected = replace(archive.backend.get_document(corrected_id), title="青禾县法治政府建设情况报告（更正稿）",
                        publisher="青禾县司法局")
    _as_an_older_version_cut_it(archive, corrected, files[corrected_id])  # a correction, as PATCH stores it

    assert reindex(archive) == 16  # the stored passages: their lines stay broken, and "办结38件" is not found
    for doc_id in ids:
        assert [c.text for c in archive.backend.get_chunks(doc_id)] == old[doc_id]
        assert ("办结", 38.0) not in _figures(archive, doc_id)

    gone = originals.find(archive.config.data_dir, archive.backend.get_document(gone_id)).file
    gone.unlink()
    originals.find(archive.config.data_dir, archive.backend.get_document(empty_id)).file.write_bytes(b"")

    done = Reindexed()
    assert reindex(archive, from_originals=True, report=done) == 16
    assert done.documents == 16 and done.reread == 14
    kept = dict(done.kept)
    assert set(kept) == {gone_id, empty_id} and kept[gone_id] == "没有保存原始文件"
    assert kept[empty_id].startswith("原始文件无法重新读取：")
    for doc_id in ids:
        chunks = archive.backend.get_chunks(doc_id)
        assert [c.chunk_id for c in chunks] == [chunk_id_for(doc_id, i) for i in range(len(chunks))]
        if doc_id in kept:  # nothing lost: the stored passages stay
            assert [c.text for c in chunks] == old[doc_id]
            continue
        assert [c.text for c in chunks] == [c.text for c in prepare(files[doc_id], archive.config.chunk_chars).chunks]
        assert {("办结", 38.0), ("办结率", 92.7), ("评查案卷", 186.0)} <= _figures(archive, doc_id)
    assert archive.backend.get_document(corrected_id) == corrected
    hits = service.search(archive, SearchParams(q="更正稿", mode="keyword"))
    assert sorted({r["doc_id"] for r in hits["hits"]}) == [corrected_id]  # the corrected title's tokens
    assert service.search(archive, SearchParams(q="青禾县2010年法治政府建设年度报告", mode="keyword"))["total"] > 0
    assert archive.backend.stats().documents == 16


def test_reindex_command_from_originals_says_what_it_kept(wrapped, caplog, monkeypatch):
    archive, files, old = wrapped
    first = sorted(files)[0]
    originals.find(archive.config.data_dir, archive.backend.get_document(first)).file.unlink()
    config = archive.config
    monkeypatch.setenv("ARCHIVE_DATA_DIR", str(config.data_dir))
    monkeypatch.setenv("ARCHIVE_EMBEDDER", "hash")
    monkeypatch.setenv("ARCHIVE_BACKEND", config.backend)
    if config.backend == "elasticsearch":
        monkeypatch.setenv("ELASTICSEARCH_URL", config.elasticsearch_url)
        monkeypatch.setenv("ARCHIVE_ES_INDEX", config.es_index)
    caplog.set_level(logging.INFO, logger="indexer")
    archive.close()
    assert indexer_main(["reindex", "--from-originals", "--no-progress"]) == 0
    assert f"沿用已存段落: {first}: 没有保存原始文件" in caplog.text
    assert "重建索引完成: 16 篇; 15 篇从原始文件重新切分, 1 篇沿用已存段落" in caplog.text
    reopened = Archive(config)
    try:
        assert [c.text for c in reopened.backend.get_chunks(first)] == old[first]
        assert ("办结", 38.0) in _figures(reopened, sorted(files)[1])
    finally:
        reopened.close()
