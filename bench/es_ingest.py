"""`indexer ingest` end to end into Elasticsearch against the embedded backend, optionally against older code.

    python -m bench.es_ingest --size 10k --es-url http://127.0.0.1:9200 [--before DIR] [--rounds 2]

The corpus is generated once. Each round runs `python -m indexer ingest DIR` (hash embedder, so
embedding is not what is measured; a fresh data directory and alias each time) for the embedded
backend, for Elasticsearch with this tree's code and, with `--before`, for Elasticsearch with the
code of another checkout (e.g. `git worktree add /tmp/before <commit>`), in turn, so that all are
measured in the same window. The best round of each is quoted; every round is listed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.common import machine_lines, report, table, update_results
from bench.corpus import size_of, write_files

ROOT = Path(__file__).resolve().parents[1]


def ingest_once(code: Path, corpus: Path, data: Path, backend: str, es_url: str | None) -> tuple[float, str]:
    """One fresh `indexer ingest` of `corpus` run from the checkout `code`; (seconds, its summary line)."""
    alias = f"bench-ingest-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")}
    env.update(ARCHIVE_EMBEDDER="hash", ARCHIVE_DATA_DIR=str(data), ARCHIVE_BACKEND=backend,
               ARCHIVE_LOG_LEVEL="INFO", PYTHONPATH=str(code))
    if backend == "elasticsearch":
        env.update(ELASTICSEARCH_URL=es_url, ARCHIVE_ES_INDEX=alias)
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "indexer", "ingest", str(corpus)], cwd=code, env=env,
                         capture_output=True, text=True, timeout=3600)
    secs = time.perf_counter() - started
    said = [x for x in (out.stdout + out.stderr).splitlines() if "篇已索引" in x] or [f"exit {out.returncode}"]
    if backend == "elasticsearch":
        from bench.ingest import drop
        from bench.query import open_backend

        drop(open_backend("elasticsearch", data, 256, "hash:256", es_url, alias=alias))
    return secs, said[-1].split(": ")[-1].replace("|", "/")


def run(size: str, es_url: str, before: Path | None, rounds: int) -> list[str]:
    """Every round of every configuration; the lines for RESULTS.md."""
    lines = machine_lines(f"`indexer ingest` into Elasticsearch, {size} passages corpus")
    runs = [("embedded", "embedded", ROOT), ("elasticsearch (this tree)", "elasticsearch", ROOT)]
    if before:
        runs.append((f"elasticsearch (before: {before.name})", "elasticsearch", before))
    with tempfile.TemporaryDirectory(prefix="bench-es-ingest-") as tmp:
        corpus = Path(tmp) / "files"
        counts = write_files(corpus, size_of(size))
        mb = counts["bytes"] / 1e6
        rows, best = [], {}
        for r in range(rounds):
            for name, backend, code in runs:
                secs, summary = ingest_once(code, corpus, Path(tmp) / f"data-{r}-{backend}-{code.name}", backend,
                                            es_url)
                report(f"round {r + 1}: {name}: {secs:.1f} s ({summary})")
                rows.append([r + 1, name, f"{secs:.1f}", f"{mb / secs:.2f}", summary])
                best[name] = min(best.get(name, secs), secs)
    lines += [f"Corpus: {counts['files']} files, {mb:.1f} MB; hash embedder; Elasticsearch at {es_url}.", ""]
    lines += table(["round", "backend (code)", "seconds", "MB/s", "report"], rows)
    lines += [""] + [f"- best of {rounds}: {name} {secs:.1f} s ({mb / secs:.2f} MB/s, "
                     f"{best['embedded'] / secs:.2f}x the embedded backend's rate)" for name, secs in best.items()]
    report("\n".join(lines[-len(best):]))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.es_ingest", description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="10k")
    parser.add_argument("--es-url", required=True)
    parser.add_argument("--before", type=Path, default=None, help="another checkout whose code is measured too")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args(argv)
    lines = run(args.size, args.es_url, args.before.resolve() if args.before else None, args.rounds)
    if not args.no_write:
        update_results(f"es-ingest-{args.size}", lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
