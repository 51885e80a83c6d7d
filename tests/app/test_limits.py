"""Every request bounded (issue 16), probed against a real `serve` on 127.0.0.1.

Slow clients, huge announced bodies, oversized headers, repeated filter values and child-process
parsing limits. Each probe is bounded in count and time and stops by itself.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from indexer.reading import ReadError
from indexer.sandbox import Limits, prepare_isolated
from search_app.params import MAX_FILTER_VALUES
from search_app.server import CHANNEL_TIMEOUT_S, CLEANUP_INTERVAL_S
from tests.conftest import ROOT, free_port, wait_for

TOKEN = "limits-token-0123456789"
REPORT = "云溪市2021年法治政府建设年度报告\n一、总体情况\n全年收到行政复议申请152件，受理138件。\n"
FLOOD = 120  # more than waitress's default connection limit (100), which the flood exhausted


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`python -m search_app serve` over a fresh archive with one report; yields (base URL, log path)."""
    work = tmp_path_factory.mktemp("limits")
    reports = work / "reports"
    reports.mkdir()
    (reports / "yunxi.txt").write_text(REPORT, encoding="utf-8")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")},
           "ARCHIVE_DATA_DIR": str(work / "data"), "ARCHIVE_EMBEDDER": "hash", "ARCHIVE_API_TOKENS": TOKEN,
           "ARCHIVE_MAX_UPLOAD_MB": "2", "PYTHONUNBUFFERED": "1"}
    subprocess.run([sys.executable, "-m", "indexer", "ingest", str(reports)], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=120)
    port = free_port()
    log_path = work / "serve.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "search_app", "serve", "--port", str(port)],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for(f"http://127.0.0.1:{port}/healthz")
            yield f"http://127.0.0.1:{port}", port, log_path
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def raw(port: int, data: bytes, timeout: float = 5) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.sendall(data)
    return sock


def first_line(sock: socket.socket) -> bytes:
    return sock.recv(4096).split(b"\r\n", 1)[0]


def timed_get(url: str, timeout: float = 5) -> tuple[int, float, int]:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, time.monotonic() - started, len(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, time.monotonic() - started, len(exc.read())


def test_healthz_answers_within_a_second_during_a_slow_client_flood(server):
    url, port, _ = server
    socks = [raw(port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ") for _ in range(FLOOD)]
    try:
        time.sleep(0.5)  # the server has accepted them all
        for _ in range(3):
            status, seconds, _ = timed_get(url + "/healthz", timeout=2)
            assert status == 200 and seconds < 1, seconds
    finally:
        for sock in socks:
            sock.close()


def test_a_body_that_never_arrives_is_dropped(server):
    _, port, _ = server
    sock = raw(port, b"POST /api/v1/documents HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000\r\n"
                     b"Content-Type: multipart/form-data; boundary=x\r\n\r\n", timeout=CHANNEL_TIMEOUT_S + 10)
    started = time.monotonic()
    assert sock.recv(4096) == b""  # closed by the server, no answer owed
    assert time.monotonic() - started < CHANNEL_TIMEOUT_S + 2 * CLEANUP_INTERVAL_S + 2
    sock.close()


@pytest.mark.parametrize("expect", [b"", b"Expect: 100-continue\r\n"])
def test_a_body_over_the_limit_is_refused_before_it_is_sent(server, expect):
    _, port, _ = server
    sock = raw(port, b"POST /api/v1/documents HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1073741824\r\n"
                     b"Authorization: Bearer " + TOKEN.encode() + b"\r\n" + expect + b"\r\n")
    started = time.monotonic()
    assert first_line(sock) == b"HTTP/1.1 413 Request Entity Too Large"  # no "100 Continue"
    assert time.monotonic() - started < 2
    sock.close()


def test_oversized_headers_are_refused(server):
    _, port, _ = server
    sock = raw(port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 300_000 + b"\r\n\r\n")
    assert first_line(sock).split(b" ")[1] in (b"400", b"431")
    sock.close()


@pytest.mark.parametrize("path", ["/search", "/api/v1/search", "/api/v1/figures", "/figures"])
def test_repeated_filter_values_are_capped(server, path):
    url, _, _ = server
    many = "&".join(f"region=r{i}" for i in range(1000))
    status, seconds, size = timed_get(f"{url}{path}?q=x&{many}")
    assert status == 400 and seconds < 2 and size < 50_000
    at_cap = "&".join(f"region=r{i}" for i in range(MAX_FILTER_VALUES))
    status, seconds, size = timed_get(f"{url}{path}?q=%E5%A4%8D%E8%AE%AE&{at_cap}")
    assert status == 200 and seconds < 2 and size < 2_000_000


def test_export_links_never_follow_the_host_header(server):
    url, port, _ = server
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/api/v1/export/search.json?q=%E5%A4%8D%E8%AE%AE", headers={"Host": "evil.example"})
    rows = json.loads(conn.getresponse().read())["rows"]
    assert rows and all(r["url"].startswith(f"http://127.0.0.1:{port}/doc/") for r in rows)
    conn.request("GET", "/help", headers={"Host": "evil.example"})
    assert "evil.example" not in conn.getresponse().read().decode()
    conn.close()


def test_an_uploaded_name_cannot_forge_a_log_line(server):
    url, port, log_path = server
    body = (b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; "
            b"filename*=UTF-8''x%0A2026-12-01%2000%3A00%3A00%20ERROR%20forged%0A.pdf\r\n"
            b"Content-Type: application/pdf\r\n\r\n%PDF-1.4 broken\r\n--XyZ--\r\n")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", "/api/v1/documents", body=body, headers={
        "Authorization": f"Bearer {TOKEN}", "Content-Type": "multipart/form-data; boundary=XyZ"})
    resp = conn.getresponse()
    assert resp.status == 422, resp.read()
    conn.close()
    time.sleep(0.3)
    lines = Path(log_path).read_text(encoding="utf-8").splitlines()
    assert any("forged" in line for line in lines)  # the name is logged with the failure...
    assert not [line for line in lines if " ERROR forged" in line and not line.startswith("20")]
    assert not [line for line in lines if line.startswith("2026-12-01 00:00:00 ERROR")]  # ...on its own line


# -- the parsing child process --------------------------------------------------------------


def test_parsing_runs_past_its_time_and_is_stopped(tmp_path):
    path = tmp_path / "long.html"
    path.write_text("<html><body>" + "<div><p>云溪市行政复议</p></div>" * 200_000 + "</body></html>", encoding="utf-8")
    started = time.monotonic()
    with pytest.raises(ReadError) as caught:
        prepare_isolated(path, 500, "doc", "long.html", Limits(seconds=0.5))
    assert "超时" in caught.value.reason and time.monotonic() - started < 3


def test_parsing_past_its_memory_is_stopped(tmp_path):
    path = tmp_path / "big.txt"  # 40 MB of text: its decoded and cleaned copies pass 200 MB at once
    text = "云溪市2021年法治政府建设年度报告\n" + "全年收到行政复议申请152件。\n" * 1_000_000
    path.write_text(text, encoding="utf-8")
    started = time.monotonic()
    with pytest.raises(ReadError) as caught:
        prepare_isolated(path, 500, "doc", "big.txt", Limits(memory_bytes=200 * 2**20))
    assert "内存" in caught.value.reason or "异常退出" in caught.value.reason
    assert time.monotonic() - started < 10


def test_parsing_in_the_child_gives_the_same_document(tmp_path):
    from indexer.pipeline import prepare

    path = tmp_path / "yunxi.txt"
    path.write_text(REPORT, encoding="utf-8")
    prepared = prepare_isolated(path, 500, "doc", "yunxi.txt")
    assert prepared == prepare(path, 500, "doc", "yunxi.txt")
