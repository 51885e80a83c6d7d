"""`python -m bench.space [--cycles 1000]`: the embedded index's disk size after many upload/delete cycles.

A base of reports stays indexed while one more is uploaded through the API and deleted again,
`--cycles` times (with a reader searching between cycles, as a live server has); the index's
files (database and WAL) are then compared with a clean build of the same final content.
Issue 16 asks for at most 2x.
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from pathlib import Path

from bench.common import report

TOKEN = "bench-space-token-0123"
REGIONS = ("云溪市", "南屏县", "东湖区", "青山镇", "白石县")


def report_text(i: int) -> bytes:
    """A made-up report of some dozens of passages, different for each i."""
    region, year = REGIONS[i % len(REGIONS)], 2015 + i % 10
    lines = [f"{region}{year}年法治政府建设年度报告（第{i}号）", "一、总体情况"]
    lines += [f"全年办理行政复议案件{i * 7 + k}件，同比增长{k % 9}.{i % 10}%，第{k}项工作按期完成。" * 3
              for k in range(60)]
    return "\n".join(lines).encode()


def index_bytes(data_dir: Path) -> int:
    """The embedded index on disk: the database, its WAL and shared-memory file."""
    return sum(p.stat().st_size for p in (data_dir / "index").glob("archive.sqlite*"))


def client_for(data_dir: Path):
    from archive.config import load_config
    from search_app import create_app

    config = load_config({}, data_dir=data_dir, embedder="hash", api_tokens=(TOKEN,), backend="embedded")
    return create_app(config).test_client()


def upload(client, i: int, name: str) -> str:
    resp = client.post("/api/v1/documents", headers={"Authorization": f"Bearer {TOKEN}"},
                       content_type="multipart/form-data",
                       data={"file": (io.BytesIO(report_text(i)), name)})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["doc_id"]


def cycles(data_dir: Path, count: int, base: int = 5, progress: int = 0) -> dict:
    """Upload `base` reports, then upload and delete one more `count` times; sizes and timing."""
    client = client_for(data_dir)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for i in range(base):
        upload(client, i, f"base-{i}.txt")
    started, peak = time.perf_counter(), 0
    for n in range(count):
        doc_id = upload(client, base + n, f"cycle-{n % 3}.txt")
        client.get("/api/v1/search", query_string={"q": "行政复议", "mode": "keyword"})
        assert client.delete(f"/api/v1/documents/{doc_id}", headers=auth).status_code == 204
        peak = max(peak, index_bytes(data_dir))
        if progress and (n + 1) % progress == 0:
            report(f"  cycle {n + 1}: index {index_bytes(data_dir) / 2**20:.2f} MB, "
                   f"{time.perf_counter() - started:.0f} s")
    open_bytes = index_bytes(data_dir)  # as a running server leaves it, WAL included
    client.application.extensions["archive"].close()
    return {"seconds": time.perf_counter() - started, "open": open_bytes, "after": index_bytes(data_dir), "peak": peak,
            "stored_files": sorted(p.name for p in (data_dir / "uploads").iterdir())}


def clean_build(data_dir: Path, base: int = 5) -> int:
    client = client_for(data_dir)
    for i in range(base):
        upload(client, i, f"base-{i}.txt")
    open_bytes = index_bytes(data_dir)
    client.application.extensions["archive"].close()
    return {"open": open_bytes, "after": index_bytes(data_dir)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.space", description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=1000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        clean = clean_build(Path(work) / "clean")
        run = cycles(Path(work) / "cycled", args.cycles, progress=100)
    report(f"{args.cycles} upload/delete cycles in {run['seconds']:.0f} s ({run['seconds'] / args.cycles:.2f} s each)")
    for state in ("open", "after"):
        report(f"{state}: clean build {clean[state] / 2**20:.2f} MB; after cycles {run[state] / 2**20:.2f} MB "
               f"({run[state] / clean[state]:.2f}x)")
    report(f"largest during the run {run['peak'] / 2**20:.2f} MB")
    report(f"stored files left: {len(run['stored_files'])} (the 5 base reports)")
    return 0 if run["open"] <= 2 * clean["open"] and run["after"] <= 2 * clean["after"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
