"""Faults on the write side and at start-up: a killed ingest, a corrupt index, an unusable data directory.

A document and all its passages are written in one transaction, so a reader (or a crash) sees a
report whole or not at all; a file that cannot be opened stops a command with one clear line and
a non-zero exit, and is never overwritten.
"""

from __future__ import annotations

import io
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from archive.config import load_config
from indexer.pipeline import BATCH_DOCS
from search_app import create_app

ROOT = Path(__file__).resolve().parents[2]
REGIONS = ["云溪市", "南屏县", "东湖区", "青山镇", "白石县", "临江市", "北岭区", "西林县"]
TOPICS = ["行政复议", "行政执法", "规范性文件审查", "12345热线", "普法宣传", "法律顾问", "政务公开", "信访"]
UNITS = ["件", "次", "人次", "万元", "个"]
INGEST_TIMEOUT = 120


# -- helpers ---------------------------------------------------------------------------------


def env_for(data_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")}
    return {**env, "ARCHIVE_DATA_DIR": str(data_dir), "ARCHIVE_EMBEDDER": "hash", "PYTHONUNBUFFERED": "1"}


def cli(module: str, *args: str, data_dir: Path, timeout: float = INGEST_TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=env_for(data_dir),
                          capture_output=True, text=True, timeout=timeout)


REPORTS = BATCH_DOCS + 8


def write_reports(folder: Path, count: int = 40, seed: int = 7) -> None:
    """`count` different reports (region, year, sections and figures vary), each some dozens of passages."""
    rng = random.Random(seed)
    folder.mkdir(parents=True)
    for i in range(count):
        region, year = REGIONS[i % len(REGIONS)], 2015 + i % 10
        lines = [f"{region}{year}年法治政府建设年度报告（第{i}号）", f"发布时间：{year + 1}-03-{1 + i % 28:02d}"]
        for s, heading in enumerate(["一、总体情况", "二、主要做法", "三、存在的问题", "四、下一步工作"]):
            lines.append(heading)
            for sub in range(rng.randint(2, 4)):
                lines.append(f"（{'一二三四'[sub]}）{rng.choice(TOPICS)}工作")
                for _ in range(rng.randint(3, 6)):
                    topic, unit, n = rng.choice(TOPICS), rng.choice(UNITS), rng.randint(1, 9999)
                    growth, share = f"{rng.randint(1, 99)}.{rng.randint(0, 9)}%", f"{rng.randint(80, 99)}%"
                    lines.append(f"全年{topic}{n}{unit}，同比增长{growth}，"
                                 f"{region}第{s}{sub}项{topic}举措落实到位，群众满意度{share}。" * 3)
        (folder / f"report-{i:02d}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def db_path(data_dir: Path) -> Path:
    return data_dir / "index" / "archive.sqlite"


def read_only(data_dir: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{db_path(data_dir)}?mode=ro", uri=True, timeout=30)


def snapshot(data_dir: Path) -> dict[str, list[tuple]]:
    """doc id -> its passages (chunk id, section, text) in order, read in one transaction."""
    db = read_only(data_dir)
    try:
        db.execute("BEGIN")
        docs = {d: [] for (d,) in db.execute("SELECT doc_id FROM documents")}
        for doc_id, chunk_id, section, text in db.execute(
                "SELECT doc_id, chunk_id, section, text FROM chunks ORDER BY doc_id, position"):
            docs.setdefault(doc_id, []).append((chunk_id, section, text))
        db.execute("COMMIT")
        return docs
    finally:
        db.close()


def visible_counts(data_dir: Path) -> tuple[dict[str, int], int, int]:
    """Passage counts per visible document, orphan passages and FTS rows minus passages: one statement each,
    inside one read transaction, so they describe one committed state."""
    db = read_only(data_dir)
    try:
        db.execute("BEGIN")
        counts = dict(db.execute(
            "SELECT d.doc_id, (SELECT count(*) FROM chunks c WHERE c.doc_id = d.doc_id) FROM documents d"))
        orphans = db.execute(
            "SELECT count(*) FROM chunks WHERE doc_id NOT IN (SELECT doc_id FROM documents)").fetchone()[0]
        fts_gap = db.execute("SELECT (SELECT count(*) FROM fts) - (SELECT count(*) FROM chunks)").fetchone()[0]
        db.execute("COMMIT")
        return counts, orphans, fts_gap
    finally:
        db.close()


def assert_whole(data_dir: Path, clean: dict[str, list[tuple]]) -> int:
    """Every visible document has exactly the passages a clean run gives it; returns how many are visible."""
    counts, orphans, fts_gap = visible_counts(data_dir)
    assert orphans == 0, "passages without their document"
    assert fts_gap == 0, "keyword index and passages disagree"
    for doc_id, n in counts.items():
        assert doc_id in clean, f"unexpected document {doc_id}"
        assert n == len(clean[doc_id]), f"half a document: {doc_id} has {n} of {len(clean[doc_id])} passages"
    return len(counts)


def watch(proc: subprocess.Popen, data_dir: Path, clean: dict, stop_at: int | None = None,
          timeout: float = INGEST_TIMEOUT, killed: list | None = None) -> tuple[int, int]:
    """Read the index over and over while `proc` writes it, checking every state seen.

    With `stop_at`, SIGKILL the process once that many documents are visible. Returns
    (observations, documents visible at the last one)."""
    deadline = time.monotonic() + timeout
    observations, visible = 0, 0
    while proc.poll() is None:
        assert time.monotonic() < deadline, "ingest did not finish in time"
        if db_path(data_dir).exists():
            try:
                visible = assert_whole(data_dir, clean)
                observations += 1
            except sqlite3.OperationalError as exc:  # the file is being created: no schema yet
                if "no such table" not in str(exc):
                    raise
            if stop_at is not None and visible >= stop_at:
                if killed is not None:  # its worker processes, left without their parent
                    killed += psutil.Process(proc.pid).children(recursive=True)
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=10)
                break
        time.sleep(0.01)
    return observations, visible


# -- (a) kill -9 during ingest ---------------------------------------------------------------


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("fault-reports") / "reports"
    # More reports than one commit holds, so a kill after the first commit leaves some of them, not all.
    write_reports(folder, count=REPORTS)
    return folder


@pytest.fixture(scope="module")
def clean(reports, tmp_path_factory) -> dict[str, list[tuple]]:
    """The index an uninterrupted ingest builds: doc id -> passages."""
    data = tmp_path_factory.mktemp("fault-clean") / "data"
    done = cli("indexer", "ingest", "--no-progress", str(reports), data_dir=data)
    assert done.returncode == 0, done.stderr
    index = snapshot(data)
    assert len(index) == REPORTS and all(len(p) >= 10 for p in index.values())
    return index


def test_kill_during_ingest_leaves_no_half_document(reports, clean, tmp_path):
    data = tmp_path / "data"
    proc = subprocess.Popen([sys.executable, "-m", "indexer", "ingest", "--no-progress", str(reports)], cwd=ROOT,
                            env={**env_for(data), "ARCHIVE_INGEST_JOBS": "2"}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    workers: list = []
    try:
        observations, _ = watch(proc, data, clean, stop_at=3, killed=workers)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL, "ingest finished before it could be killed: make the reports bigger"
    assert observations > 0
    assert workers, "the ingest prepared its files in no worker process"
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive, "worker processes outlived the killed ingest"
    # After the crash: whole documents only, and the index opens and reports itself.
    survivors = assert_whole(data, clean)
    assert 3 <= survivors < len(clean)
    stats = cli("indexer", "stats", data_dir=data)
    assert stats.returncode == 0, stats.stderr
    # Ingest again (watched the same way): the result equals the clean run.
    again = subprocess.Popen([sys.executable, "-m", "indexer", "ingest", "--no-progress", str(reports)],
                             cwd=ROOT, env=env_for(data), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    watch(again, data, clean)
    assert again.wait(timeout=INGEST_TIMEOUT) == 0, again.stderr.read()
    again.stderr.close()
    assert snapshot(data) == clean


def test_readers_never_see_half_a_document(reports, clean, tmp_path):
    """An uninterrupted ingest, read the whole time by a separate connection."""
    data = tmp_path / "data"
    proc = subprocess.Popen([sys.executable, "-m", "indexer", "ingest", "--no-progress", str(reports)],
                            cwd=ROOT, env=env_for(data), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    observations, _ = watch(proc, data, clean)
    assert proc.returncode == 0
    assert observations >= 5, "too few looks at the index while it was written"
    assert snapshot(data) == clean


# -- (b) a corrupt index, (c) an unusable data directory --------------------------------------


def corrupt(data_dir: Path) -> bytes:
    path = db_path(data_dir)
    path.parent.mkdir(parents=True)
    garbage = random.Random(3).randbytes(64 * 1024)
    path.write_bytes(garbage)
    return garbage


def truncated(data_dir: Path, tmp_path: Path) -> bytes:
    """A real index cut in half: a valid header, missing pages."""
    source = tmp_path / "whole"
    done = cli("indexer", "ingest", str(ROOT / "demo"), data_dir=source)
    assert done.returncode == 0, done.stderr
    db = sqlite3.connect(db_path(source))
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    data = db_path(source).read_bytes()
    half = data[: len(data) // 2]
    db_path(data_dir).parent.mkdir(parents=True)
    db_path(data_dir).write_bytes(half)
    return half


def under_a_file(tmp_path: Path) -> Path:
    """As root, chmod does not stop writes: a data directory below a regular file cannot be created."""
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a directory")
    return blocker / "data"


def assert_one_clear_line(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode != 0
    lines = [line for line in (result.stderr + result.stdout).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "Traceback" not in lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
@pytest.mark.parametrize("command", [("stats",), ("ingest", "demo"), ("delete", "abc"), ("reindex",)])
def test_indexer_refuses_a_corrupt_index(tmp_path, damage, command):
    data = tmp_path / "data"
    before = corrupt(data) if damage == "garbage" else truncated(data, tmp_path)
    result = cli("indexer", *[str(ROOT / a) if a == "demo" else a for a in command], data_dir=data)
    assert_one_clear_line(result, str(db_path(data)))
    assert db_path(data).read_bytes() == before, "the corrupt index was overwritten"


@pytest.mark.parametrize("command", [("stats",), ("ingest", "demo")])
def test_indexer_refuses_an_unusable_data_dir(tmp_path, command):
    data = under_a_file(tmp_path)
    result = cli("indexer", *[str(ROOT / a) if a == "demo" else a for a in command], data_dir=data)
    assert_one_clear_line(result, str(data), "Not a directory")


def test_api_answers_503_on_a_corrupt_index(tmp_path):
    data = tmp_path / "data"
    before = corrupt(data)
    client = create_app(load_config({}, data_dir=data, embedder="hash")).test_client()
    health = client.get("/healthz")
    assert health.status_code == 503
    body = health.get_json()
    assert body["status"] == "unavailable" and "无法打开索引" in body["error"]["message"]
    for path in ("/api/v1/search?q=行政复议", "/api/v1/documents/abc"):
        resp = client.get(path)
        assert resp.status_code == 503 and resp.get_json()["error"]["code"] == "backend_unavailable"
    assert client.get("/search?q=行政复议").status_code == 503
    assert db_path(data).read_bytes() == before


def serve(data_dir: Path, seconds: float = 30) -> tuple[int | None, str]:
    """Start `python -m search_app serve`; (exit code, output), or (None, output) once it answers."""
    import urllib.error
    import urllib.request

    from tests.conftest import free_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "search_app", "serve", "--port", str(port)],
                            cwd=ROOT, env=env_for(data_dir), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    deadline = time.monotonic() + seconds
    code = None
    try:
        while (code := proc.poll()) is None and time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).close()
                break  # it answers: it started
            except urllib.error.HTTPError:
                break  # a 503 is an answer too
            except OSError:
                time.sleep(0.2)
    finally:
        if proc.poll() is None:
            proc.terminate()
    out = proc.communicate(timeout=10)[0]
    return code, out


@pytest.mark.parametrize("damage", ["garbage", "unusable"])
def test_serve_refuses_to_start_on_a_broken_data_dir(tmp_path, damage):
    data = tmp_path / "data"
    if damage == "garbage":
        before = corrupt(data)
    else:
        data = under_a_file(tmp_path)
    code, out = serve(data)
    if damage == "garbage":
        assert db_path(data).read_bytes() == before
    assert code not in (None, 0), "the server started on a broken data directory"
    lines = [line for line in out.splitlines() if line.strip() and "WARNING" not in line]
    assert len(lines) == 1 and "Traceback" not in out and str(data) in lines[0], out


def test_indexer_refuses_a_corrupt_embedding_cache(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    garbage = random.Random(5).randbytes(8192)
    (data / "embeddings.sqlite").write_bytes(garbage)
    result = cli("indexer", "ingest", str(ROOT / "demo"), data_dir=data)
    assert_one_clear_line(result, "embeddings.sqlite")
    assert (data / "embeddings.sqlite").read_bytes() == garbage


def test_upload_into_an_unusable_data_dir_is_a_503(tmp_path):
    token = "fault-token-0123456789"
    config = load_config({}, data_dir=under_a_file(tmp_path), embedder="hash", api_tokens=(token,))
    client = create_app(config).test_client()
    resp = client.post("/api/v1/documents", headers={"Authorization": f"Bearer {token}"},
                       content_type="multipart/form-data",
                       data={"file": (io.BytesIO("云溪市2021年报告\n一、总体情况\n正文。\n".encode()), "r.txt")})
    assert resp.status_code == 503, resp.get_json()
    assert resp.get_json()["error"]["code"] == "backend_unavailable"


# -- (d) kill -9 during an upload (issue 16) --------------------------------------------------


def test_kill_during_upload_leaves_no_file_and_no_document(tmp_path):
    """The server is killed while it parses an upload: nothing is stored, and its restart sweeps the staged copy."""
    import http.client
    import threading

    from tests.conftest import free_port, wait_for

    data, token = tmp_path / "data", "fault-token-0123456789"
    env = {**env_for(data), "ARCHIVE_API_TOKENS": token}
    # Some MB of markup: the parsing child takes seconds over it, time enough to kill the server.
    page = ("<html><body><h1>云溪市2021年法治政府建设年度报告</h1>"
            + "<div><p>全年收到行政复议申请152件，受理138件。</p></div>" * 60_000 + "</body></html>").encode()
    body = (b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"slow.html\"\r\n"
            b"Content-Type: text/html\r\n\r\n" + page + b"\r\n--XyZ--\r\n")

    def start() -> tuple[subprocess.Popen, int]:
        port = free_port()
        proc = subprocess.Popen([sys.executable, "-m", "search_app", "serve", "--port", str(port)], cwd=ROOT,
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(f"http://127.0.0.1:{port}/healthz")
        return proc, port

    def send(port: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            conn.request("POST", "/api/v1/documents", body=body, headers={
                "Authorization": f"Bearer {token}", "Content-Type": "multipart/form-data; boundary=XyZ"})
            conn.getresponse().read()
        except OSError:
            pass  # the server was killed under it: no answer is the point
        finally:
            conn.close()

    proc, port = start()
    uploads = data / "uploads"
    sender = threading.Thread(target=send, args=(port,), daemon=True)
    try:
        sender.start()
        deadline = time.monotonic() + 60
        while not (uploads.is_dir() and list(uploads.glob(".upload-*"))) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert list(uploads.glob(".upload-*")), "the upload was never staged"
        children = psutil.Process(proc.pid).children(recursive=True)
        proc.kill()
        proc.wait(10)
        for child in children:  # the parsing child stops by its own CPU limit; do not wait for it here
            child.kill()
    finally:
        if proc.poll() is None:
            proc.kill()
    sender.join(10)
    assert [p.name for p in uploads.iterdir() if not p.name.startswith(".")] == []
    proc, port = start()
    try:
        health = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).read())
        assert health["documents"] == 0
        assert list(uploads.iterdir()) == []  # the restarted server swept the staged copy
    finally:
        proc.terminate()
        proc.wait(10)
