"""An ingest of many reports writes them in batches (BATCH_DOCS a batch), and reports as if file by file.

A copy of a report written in an earlier batch is a duplicate; originals replaced in any batch go
once that batch is written; a write that fails stops the ingest with one clear line and writes
nothing after it; Ctrl-C neither hangs the process nor leaves half a report. Real Elasticsearch,
real files, the hash embedder (what is tested is the order of writing, not the vectors); the
embedded backend is held to the same reports.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from archive import originals
from archive.config import load_config
from archive.errors import BackendUnavailable
from archive.services import Archive
from indexer import pipeline
from indexer.cli import main as indexer_main
from indexer.pipeline import BATCH_DOCS, content_hash, doc_id_for, ingest_paths
from tests.contract.conftest import drop_es_indices

ROOT = Path(__file__).resolve().parents[2]
REGIONS = ["临江市", "石桥县", "白沙区", "东陵县", "南湖市"]
SECTIONS = 3  # passages per report (a short report is one passage per section)
BACKENDS = ["embedded", pytest.param("elasticsearch", marks=pytest.mark.es)]
SMALL_BATCH = 8


@pytest.fixture()
def batch(monkeypatch) -> int:
    """Batches of SMALL_BATCH reports, cut by count only (no BATCH_SECONDS flush on a slow machine), so the
    tests know where each batch begins; the rule that cuts them is the one an ingest runs."""
    monkeypatch.setattr(pipeline, "BATCH_DOCS", SMALL_BATCH)
    monkeypatch.setattr(pipeline, "BATCH_SECONDS", 3600.0)
    return SMALL_BATCH


def write_report(path: Path, n: int, edition: int = 1) -> None:
    """Report number `n`, an invented one-page annual report; another `edition` reads differently."""
    region, year = REGIONS[n % len(REGIONS)], 2015 + n % 9
    lines = [f"{region}{year}年法治政府建设年度报告（第{n}号）", f"发布时间：{year + 1}-03-{10 + n % 18}"]
    for s in range(SECTIONS):
        lines += [f"{'一二三'[s]}、第{s + 1}项重点工作",
                  f"{region}第{n}号报告第{s + 1}部分（第{edition}版）：全年受理行政复议申请{n * 7 + s + edition}件，"
                  f"办结率{90 + s}%，行政机关负责人出庭应诉{n + s}次。"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_reports(folder: Path, count: int) -> list[Path]:
    folder.mkdir(exist_ok=True)
    paths = [folder / f"report-{n:04d}.txt" for n in range(count)]
    for n, path in enumerate(paths):
        write_report(path, n)
    return paths


@pytest.fixture()
def open_archive(request, tmp_path):
    """Factory: an Archive over a fresh data directory on `kind` (its own alias on the test node)."""
    opened = []

    def make(kind: str, **changes) -> Archive:
        settings = {"data_dir": tmp_path / f"data-{len(opened)}", "embedder": "hash", "backend": kind}
        if kind == "elasticsearch":
            settings |= {"elasticsearch_url": request.getfixturevalue("es_url"),
                         "es_index": f"test-overlap-{uuid.uuid4().hex[:8]}"}
        settings["data_dir"].mkdir()
        archive = Archive(load_config({}, **(settings | changes)))
        opened.append(archive)
        return archive

    yield make
    for archive in opened:
        if archive.config.backend == "elasticsearch":
            drop_es_indices(archive.backend)
        archive.close()


@pytest.mark.parametrize("kind", BACKENDS)
def test_copies_of_a_report_in_later_batches_are_duplicates(open_archive, tmp_path, kind, batch):
    """Copies of a report of the second batch as the first report of the third batch and later in it: both are
    duplicates of it, found in the index, not in the batch being gathered."""
    paths = write_reports(tmp_path / "in", 3 * batch + 2)
    first, copies = batch + 5, (2 * batch, 2 * batch + 6)
    for copy in copies:
        paths[copy].write_bytes(paths[first].read_bytes())
    archive = open_archive(kind)
    report = ingest_paths(archive, [tmp_path / "in"])
    original = doc_id_for(paths[first])
    assert report.duplicates == [(str(paths[c]), original) for c in copies]
    written = [doc_id_for(p) for i, p in enumerate(paths) if i not in copies]
    assert report.indexed == written and report.ok
    assert report.passages == SECTIONS * len(written)
    assert sorted(d.doc_id for d in archive.backend.list_documents()) == sorted(written)
    assert archive.backend.find_by_sha256(content_hash(paths[first])) == original
    assert archive.backend.get_document(doc_id_for(paths[copies[0]])) is None


@pytest.mark.parametrize("kind", BACKENDS)
def test_text_a_report_gave_up_is_new_again_in_its_batch_and_later_ones(open_archive, tmp_path, kind, batch):
    """The index is asked once for all the files' hashes, and what the ingest writes keeps that answer true.
    Every report is rewritten; a file with the old text of a report rewritten in an earlier batch, or earlier in
    its own batch, is indexed, not taken for a duplicate of a report that no longer holds that text; a copy of a
    new text is a duplicate."""
    paths = write_reports(tmp_path / "in", 3 * batch)
    archive = open_archive(kind)
    assert ingest_paths(archive, [tmp_path / "in"]).ok
    old = {n: p.read_bytes() for n, p in enumerate(paths)}
    for n, path in enumerate(paths):
        write_report(path, n, edition=2)
    givers = {2: 2 * batch + 1, batch + 1: batch + 4}  # giver -> taker: batch 1 -> batch 3; within batch 2
    for giver, taker in givers.items():
        paths[taker].write_bytes(old[giver])
    copy = 2 * batch + 3
    paths[copy].write_bytes(paths[2].read_bytes())
    report = ingest_paths(archive, [tmp_path / "in"])
    assert report.duplicates == [(str(paths[copy]), doc_id_for(paths[2]))] and report.ok
    assert report.indexed == [doc_id_for(p) for n, p in enumerate(paths) if n != copy]
    takers = [content_hash(paths[t]) for t in givers.values()]
    assert archive.backend.find_by_sha256s(takers + [content_hash(paths[g]) for g in givers]) == {
        content_hash(paths[n]): doc_id_for(paths[n]) for n in [*givers.values(), *givers]}
    assert ingest_paths(archive, [tmp_path / "in"]).unchanged == report.indexed  # and a rerun changes nothing


@pytest.mark.parametrize("kind", BACKENDS)
@pytest.mark.parametrize("reports", [3 * SMALL_BATCH, 5], ids=["worker processes", "in the ingest's process"])
def test_a_report_s_old_text_is_new_even_in_a_file_before_the_rewrite(open_archive, tmp_path, kind, batch, reports):
    """The order of the files does not decide: a file carrying the old text of a report the same ingest
    rewrites is indexed, also when it comes first (in an earlier batch, or earlier in the same batch), so
    that old text is still in the archive afterwards; a small ingest (no worker processes) judges the same."""
    paths = write_reports(tmp_path / "in", reports)
    archive = open_archive(kind)
    assert ingest_paths(archive, [tmp_path / "in"]).ok
    old = {n: p.read_bytes() for n, p in enumerate(paths)}
    # taker -> giver, each taker before its giver: batch 1 -> batch 3 and within batch 2; or within the few
    takers = {1: 2 * batch + 2, batch + 1: batch + 5} if reports > batch else {0: 3}
    for giver in takers.values():
        write_report(paths[giver], giver, edition=2)
    for taker, giver in takers.items():
        paths[taker].write_bytes(old[giver])
    report = ingest_paths(archive, [tmp_path / "in"])
    moved = [*takers, *takers.values()]
    assert report.ok and report.duplicates == []
    assert report.indexed == [doc_id_for(paths[n]) for n in sorted(moved)]
    assert len(report.unchanged) == reports - len(moved)
    held = archive.backend.find_by_sha256s([content_hash(paths[n]) for n in moved])
    assert held == {content_hash(paths[n]): doc_id_for(paths[n]) for n in moved}
    assert ingest_paths(archive, [tmp_path / "in"]).unchanged == [doc_id_for(p) for p in paths]


@pytest.mark.parametrize("kind", BACKENDS)
@pytest.mark.parametrize("apart", [SMALL_BATCH + 1, 2], ids=["in two batches", "in one batch"])
def test_two_reports_that_swap_texts_are_both_rewritten(open_archive, tmp_path, kind, batch, apart):
    """Two files that trade texts: each now holds what the index has under the other. Both are rewritten
    (each report ends with its file's text now), not taken for duplicates of each other and left as they were."""
    paths = write_reports(tmp_path / "in", 2 * batch)
    archive = open_archive(kind)
    assert ingest_paths(archive, [tmp_path / "in"]).ok
    one, other = paths[1], paths[1 + apart]
    texts = one.read_bytes(), other.read_bytes()
    one.write_bytes(texts[1])
    other.write_bytes(texts[0])
    report = ingest_paths(archive, [tmp_path / "in"])
    assert report.ok and report.duplicates == [] and report.indexed == [doc_id_for(one), doc_id_for(other)]
    for path in (one, other):
        assert archive.backend.get_document(doc_id_for(path)).sha256 == content_hash(path)


@pytest.mark.parametrize("reports", [3 * SMALL_BATCH, 5], ids=["worker processes", "in the ingest's process"])
def test_a_file_that_cannot_be_read_fails_alone(open_archive, tmp_path, batch, reports):
    """A report file whose bytes cannot be read (here /proc/self/mem behind a report's name: an I/O error even
    for root) is reported failed, in Chinese, and every other file is indexed: before, with enough files for
    worker processes, hashing it up front ended the whole ingest with a traceback."""
    paths = write_reports(tmp_path / "in", reports)
    broken = tmp_path / "in" / "report-0002b.txt"
    broken.symlink_to("/proc/self/mem")
    report = ingest_paths(open_archive("embedded"), [tmp_path / "in"])
    assert report.failed == [(str(broken), "无法读取文件：Input/output error")]
    assert report.indexed == [doc_id_for(p) for p in paths]


@pytest.mark.parametrize("kind", BACKENDS)
def test_reports_changed_in_every_batch_replace_their_originals_in_order(open_archive, tmp_path, kind, batch):
    """A second ingest with one report changed in each of three batches: each is reported once, in file order,
    and each old original goes once its batch is written (the last batch's too)."""
    folder = tmp_path / "in"
    paths = write_reports(folder, 2 * batch + 4)
    archive = open_archive(kind)
    assert len(ingest_paths(archive, [folder]).indexed) == len(paths)
    changed = [3, batch + 1, 2 * batch + 3]
    old = {n: archive.backend.get_document(doc_id_for(paths[n])) for n in changed}
    for n in changed:
        write_report(paths[n], n, edition=2)
    again = ingest_paths(archive, [folder])
    assert again.indexed == [doc_id_for(paths[n]) for n in changed]
    assert len(again.unchanged) == len(paths) - len(changed) and again.passages == SECTIONS * len(changed)
    for n in changed:
        new = archive.backend.get_document(doc_id_for(paths[n]))
        assert new.sha256 == content_hash(paths[n]) != old[n].sha256
        assert originals.find(archive.config.data_dir, old[n]) is None
        assert originals.find(archive.config.data_dir, new).file.read_bytes() == paths[n].read_bytes()
    assert len(list((archive.config.data_dir / originals.FOLDER / "files").iterdir())) == len(paths)


def block_writes_before(monkeypatch, doc_id: str) -> list[str]:
    """Just before the bulk that writes `doc_id`'s passages, the index is made to refuse writes (a real write
    block, set through the node's API): that bulk and every write after it fail as a full disk would make
    them. The indices blocked, for the test to unblock."""
    from archive.backends.elastic_transport import Transport

    real, blocked = Transport.bulk, []

    def bulk(self, actions, index, **options):
        actions = list(actions)
        if not blocked and any(a["_id"].startswith(f"{doc_id}-") for a in actions):
            blocked.append(next(iter(self.call("indices.get_alias", name=index))))
            self.call("indices.put_settings", index=blocked[0], settings={"index.blocks.write": True})
        return real(self, actions, index, **options)

    monkeypatch.setattr(Transport, "bulk", bulk)
    return blocked


@pytest.mark.es
def test_a_write_that_fails_stops_the_ingest_with_a_clear_line_and_a_rerun_recovers(open_archive, tmp_path,
                                                                                    monkeypatch, caplog, batch):
    """The third batch's write is refused: `indexer ingest` stops with a clear last line
    and no traceback, the index shows the two batches written before and nothing after; a rerun writes all."""
    folder = tmp_path / "in"
    paths = write_reports(folder, 5 * batch)
    archive = open_archive("elasticsearch")
    config = archive.config
    for name in [k for k in os.environ if k.startswith("ARCHIVE_")]:
        monkeypatch.delenv(name)
    for name, value in {"ARCHIVE_BACKEND": "elasticsearch", "ELASTICSEARCH_URL": config.elasticsearch_url,
                        "ARCHIVE_ES_INDEX": config.es_index, "ARCHIVE_EMBEDDER": "hash",
                        "ARCHIVE_DATA_DIR": str(config.data_dir)}.items():
        monkeypatch.setenv(name, value)
    with monkeypatch.context() as patch:
        blocked = block_writes_before(patch, doc_id_for(paths[2 * batch + 3]))
        caplog.clear()
        try:
            assert indexer_main(["ingest", "--no-progress", str(folder)]) == 1
        finally:
            if blocked:
                archive.backend.transport.call("indices.put_settings", index=blocked[0],
                                               settings={"index.blocks.write": None})
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    # One line, not one a refused passage (a blocked index refuses every item of the batch).
    assert blocked and len(errors) == 1 and "拒绝写入" in errors[0] and "block" in errors[0], errors[-3:]
    assert "Traceback" not in caplog.text
    shown = sorted(d.doc_id for d in archive.backend.list_documents())
    assert shown == sorted(doc_id_for(p) for p in paths[:2 * batch])
    assert archive.backend.stats().passages == SECTIONS * len(shown)

    assert indexer_main(["ingest", "--no-progress", str(folder)]) == 0
    assert sorted(d.doc_id for d in archive.backend.list_documents()) == sorted(map(doc_id_for, paths))
    assert archive.backend.stats().passages == SECTIONS * len(paths)


def written(backend) -> bool:
    """Some report is shown; False too while the ingest is still making the index (its shard not yet started,
    a search is a 503 for those moments)."""
    try:
        return bool(backend.list_documents())
    except BackendUnavailable:
        return False


@pytest.mark.es
def test_ctrl_c_during_an_ingest_leaves_whole_reports_and_exits_at_once(open_archive, tmp_path):
    """SIGINT while batches are written: the process ends within seconds, every report the index shows has all
    its passages, and a rerun completes the index."""
    folder = tmp_path / "in"
    paths = write_reports(folder, 6 * BATCH_DOCS)  # another process: batches as an ingest makes them
    archive = open_archive("elasticsearch")
    config = archive.config
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")} | {
        "ARCHIVE_BACKEND": "elasticsearch", "ELASTICSEARCH_URL": config.elasticsearch_url,
        "ARCHIVE_ES_INDEX": config.es_index, "ARCHIVE_EMBEDDER": "hash", "ARCHIVE_DATA_DIR": str(config.data_dir)}
    proc = subprocess.Popen([sys.executable, "-m", "indexer", "ingest", "--no-progress", str(folder)], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not written(archive.backend):  # the first batch is written: later ones follow
        assert proc.poll() is None and time.monotonic() < deadline, "the ingest wrote nothing"
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    interrupted = time.monotonic()
    proc.communicate(timeout=30)
    assert proc.returncode != 0, "the ingest finished before it could be interrupted: make the corpus bigger"
    assert time.monotonic() - interrupted < 15, "the interrupted ingest took too long to leave"
    shown = archive.backend.list_documents()
    assert 0 < len(shown) < len(paths)
    for doc in shown:
        assert len(archive.backend.get_chunks(doc.doc_id)) == SECTIONS, doc.doc_id
    done = subprocess.run([sys.executable, "-m", "indexer", "ingest", "--no-progress", str(folder)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(d.doc_id for d in archive.backend.list_documents()) == sorted(map(doc_id_for, paths))
    assert archive.backend.stats().passages == SECTIONS * len(paths)


AWAIT_S = 60


def watch_writes(monkeypatch, archive: Archive, hold: float, await_next: int = 0) -> tuple[list[dict], list[float]]:
    """Every `index_documents` call of the archive's backend, recorded (its thread, the doc ids, when it began
    and ended, how many were running), each held `hold` seconds before it writes, and when each embedding began:
    the real backend and embedder do the work, and how many embeddings had begun when it ended ("embeds"). The
    first `await_next` writes are also held until a report of a later batch is embedded (at most `AWAIT_S`; each
    report written was embedded once, in file order): how soon the next batch is ready to embed depends on the
    machine's load, whether it is embedded before the write is done does not."""
    backend, embedder = archive.backend, archive.embedder
    real_write, real_embed = backend.index_documents, embedder.embed_counting
    writes, embeds, running = [], [], []
    embedded = threading.Condition()

    def index_documents(items):
        running.append(1)
        began = time.monotonic()
        if len(writes) < await_next:
            through = sum(len(w["doc_ids"]) for w in writes) + len(items)  # reports of this batch and those before
            with embedded:
                embedded.wait_for(lambda: len(embeds) > through, timeout=AWAIT_S)
        time.sleep(hold)
        try:
            real_write(items)
        finally:
            writes.append({"thread": threading.current_thread(), "doc_ids": [item.doc.doc_id for item in items],
                           "began": began, "ended": time.monotonic(), "running": len(running),
                           "embeds": len(embeds)})
            running.pop()

    def embed_counting(texts):
        with embedded:
            embeds.append(time.monotonic())
            embedded.notify_all()
        return real_embed(texts)

    monkeypatch.setattr(backend, "index_documents", index_documents)
    monkeypatch.setattr(embedder, "embed_counting", embed_counting)
    return writes, embeds


@pytest.mark.parametrize("kind", BACKENDS)
def test_a_batch_is_written_beside_the_next_where_the_backend_waits_on_a_server(open_archive, tmp_path, monkeypatch,
                                                                             kind, batch):
    """On Elasticsearch each full batch is written by one writer thread while the ingest embeds the next (the node
    indexes meanwhile); one write at a time, in file order, the last one waited for. A copy of a report of the
    batch being written is its duplicate. The embedded backend writes in the ingest's own thread, in turn."""
    folder = tmp_path / "in"
    paths = write_reports(folder, 3 * batch + 2)
    first, copy = batch + 5, 2 * batch  # the copy comes first in batch 3, while batch 2 is being written
    paths[copy].write_bytes(paths[first].read_bytes())
    archive = open_archive(kind)
    background = kind == "elasticsearch"  # the embedded backend writes in turn: nothing to wait for
    writes, embeds = watch_writes(monkeypatch, archive, hold=0.5, await_next=3 if background else 0)
    report = ingest_paths(archive, [folder])
    written = [doc_id_for(p) for n, p in enumerate(paths) if n != copy]
    assert report.ok and report.indexed == written and report.duplicates == [(str(paths[copy]),
                                                                               doc_id_for(paths[first]))]
    assert [doc_id for w in writes for doc_id in w["doc_ids"]] == written
    assert [w["running"] for w in writes] == [1] * len(writes)
    assert sorted(d.doc_id for d in archive.backend.list_documents()) == sorted(written)
    # reports of later batches embedded before each write was done
    through = [sum(len(w["doc_ids"]) for w in writes[:n + 1]) for n in range(len(writes))]
    during = [w["embeds"] - upto for w, upto in zip(writes, through)]
    assert len(embeds) == len(written)
    if kind == "elasticsearch":
        assert archive.backend.writes_in_background
        assert all(w["thread"] is not threading.main_thread() for w in writes)
        assert len(writes) == 4 and all(n > 0 for n in during[:-1]), during  # the next batch embedded meanwhile
    else:
        assert not archive.backend.writes_in_background
        assert all(w["thread"] is threading.main_thread() for w in writes) and during == [0] * len(writes)


@pytest.mark.parametrize("kind", BACKENDS)
def test_an_old_text_given_up_in_a_batch_keeps_its_original_for_a_file_of_the_next(open_archive, tmp_path,
                                                                                monkeypatch, kind, batch):
    """Every report rewritten, and a new file in the second batch with report 1's old text: once batch 1 is
    written no report holds that text, yet its original stays for the new report (on Elasticsearch batch 1 is
    counted when batch 2 is already gathered, and its file kept already)."""
    folder = tmp_path / "in"
    paths = write_reports(folder, 2 * batch)
    archive = open_archive(kind)
    assert ingest_paths(archive, [folder]).ok
    old = paths[1].read_bytes()
    for n, path in enumerate(paths):
        write_report(path, n, edition=2)
    taker = folder / f"report-{batch:04d}b.txt"  # sorted into the second batch
    taker.write_bytes(old)
    watch_writes(monkeypatch, archive, hold=0.2)
    report = ingest_paths(archive, [folder])
    assert report.ok and report.duplicates == [] and len(report.indexed) == len(paths) + 1
    new = archive.backend.get_document(doc_id_for(taker))
    assert new.sha256 == content_hash(taker)
    kept = originals.find(archive.config.data_dir, new)
    assert kept is not None and kept.file.read_bytes() == old
    assert originals.find(archive.config.data_dir, archive.backend.get_document(doc_id_for(paths[1]))) is not None
