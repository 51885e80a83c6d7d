"""`indexer ingest` end to end into Elasticsearch against the embedded backend, optionally against older code.

    python -m bench.es_ingest --size 10k --es-url http://127.0.0.1:9200 [--es-pidfile .es/node-9200/es.pid]
        [--before DIR] [--rounds 3] [--variants hnsw,flat,...] [--section NAME]

The corpus is generated once. Each round runs `python -m indexer ingest DIR` (hash embedder unless
`--embedder` says otherwise; a fresh data directory and alias each time) for the embedded
backend, for Elasticsearch with this tree's code and, with `--before`, for Elasticsearch with the
code of another checkout (e.g. `git worktree add /tmp/before <commit>`), in turn, so that all are
measured in the same window. The median round of each is quoted; every round is listed, with the
CPU seconds (user + system) of the ingest and its workers and, given the node's pid file, of the
Elasticsearch JVM over the same round: on a shared machine wall time is noisy, CPU time much less so.
`--variants` measures this tree's ingest into indices made with other index options (VARIANTS: an
overlay on mappings/passages.json), each created behind the alias before the ingest finds it, or
with a setting (`ARCHIVE_ES_VECTOR_INDEX=flat`: the ingest then creates its index itself); with
`--before`, each variant is measured with the other checkout's code as well.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.common import load_average, machine_lines, report, table, update_results
from bench.corpus import size_of, write_files

ROOT = Path(__file__).resolve().parents[1]
VECTOR = ("mappings", "properties", "vector", "index_options")
# Candidates for the node's CPU per ingest (issue 13): (path into the index body, value) pairs.
VARIANTS: dict[str, list[tuple[tuple[str, ...], object]]] = {
    "hnsw": [],  # mappings/passages.json as it is
    "hnsw-m16-ef40": [(VECTOR, {"type": "hnsw", "m": 16, "ef_construction": 40})],
    "hnsw-m8-ef40": [(VECTOR, {"type": "hnsw", "m": 8, "ef_construction": 40})],
    "int8_hnsw": [(VECTOR, {"type": "int8_hnsw", "m": 16, "ef_construction": 100})],
    "int8_hnsw-ef40": [(VECTOR, {"type": "int8_hnsw", "m": 16, "ef_construction": 40})],
    "flat": [(VECTOR, {"type": "flat"})],
    "int8_flat": [(VECTOR, {"type": "int8_flat"})],
    "flat-lean-source": [(VECTOR, {"type": "flat"}), (("mappings", "_source"),
                         {"excludes": ["vector", "tokens", "title_tokens", "section_tokens", "fold"]})],
}


def variant_body(name: str, dim: int, model_id: str) -> dict:
    """The index body mappings/passages.json gives, with variant `name`'s overlay applied."""
    from archive.backends.elastic import load_mapping

    body = load_mapping(dim, model_id)
    for path, value in VARIANTS[name]:
        node = body
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return body


def precreate(es_url: str, alias: str, variant: str) -> None:
    """Create `<alias>-v1` behind the alias with a variant's body, as the ingest would (hash embedder)."""
    from archive.backends.elastic import ElasticBackend
    from archive.embedders import HashEmbedder

    embedder = HashEmbedder()
    backend = ElasticBackend(es_url, alias, embedder.dim, embedder.model_id)
    body = variant_body(variant, embedder.dim, embedder.model_id)
    backend.transport.call("indices.create", index=f"{alias}-v1", settings=body["settings"],
                           mappings=body["mappings"], aliases={alias: {}})
    backend.close()


def cpu_of(pid: int | None) -> float:
    """User + system CPU seconds a running process has used so far (0 without one)."""
    if pid is None:
        return 0.0
    # /proc/<pid>/stat: the name in parentheses may hold spaces; utime and stime are fields 14 and 15.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    """CPU seconds of every finished, waited-for descendant (the ingest and its worker processes)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def node_work(backend) -> str:
    """Where the node's time went in the live index (its own counters): indexing, refreshes, merges, flushes."""
    index = backend._live_index()
    got = backend.transport.call("indices.stats", index=index, metric="indexing,refresh,merge,flush")
    p = got["indices"][index]["primaries"]
    return (f"index {p['indexing']['index_time_in_millis'] / 1000:.1f} s, "
            f"refresh {p['refresh']['total_time_in_millis'] / 1000:.1f} s ({p['refresh']['total']}), "
            f"merge {p['merges']['total_time_in_millis'] / 1000:.1f} s ({p['merges']['total']}), "
            f"flush {p['flush']['total_time_in_millis'] / 1000:.1f} s ({p['flush']['total']})")


def merging(backend) -> int:
    """How many merges the node is running in the live index now."""
    index = backend._live_index()
    got = backend.transport.call("indices.stats", index=index, metric="merge")
    return got["indices"][index]["primaries"]["merges"]["current"]


def settle(backend, es_pid: int | None, limit: float = 120.0) -> tuple[float, float]:
    """Wait until the node runs no merge in the live index (one left running when an ingest ends goes on
    costing the node CPU): (seconds waited, node CPU seconds over them)."""
    node0, started = cpu_of(es_pid), time.perf_counter()
    while merging(backend) and time.perf_counter() - started < limit:
        time.sleep(0.2)
    return time.perf_counter() - started, cpu_of(es_pid) - node0


def ingest_once(code: Path, corpus: Path, data: Path, backend: str, es_url: str | None,
                es_pid: int | None = None, variant: str | None = None,
                embedder: str = "hash") -> tuple[float, str, float, float, str, float, float]:
    """One fresh `indexer ingest` of `corpus` run from the checkout `code` (into an index of `variant`'s
    options if given); (seconds, its summary line, CPU seconds of the ingest, CPU seconds of the node,
    the node's own account of its work, seconds until the node ran no merge after the ingest ended and its CPU
    seconds over them)."""
    alias = f"bench-ingest-{uuid.uuid4().hex[:8]}"
    setting = dict([variant.split("=", 1)]) if variant and "=" in variant else {}
    if variant and not setting:
        precreate(es_url, alias, variant)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")} | setting
    env.update(ARCHIVE_EMBEDDER=embedder, ARCHIVE_DATA_DIR=str(data), ARCHIVE_BACKEND=backend,
               ARCHIVE_LOG_LEVEL="INFO", PYTHONPATH=str(code))
    if backend == "elasticsearch":
        env.update(ELASTICSEARCH_URL=es_url, ARCHIVE_ES_INDEX=alias)
    cpu0, node0, started = children_cpu(), cpu_of(es_pid), time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "indexer", "ingest", str(corpus)], cwd=code, env=env,
                         capture_output=True, text=True, timeout=3600)
    secs, cpu, node = time.perf_counter() - started, children_cpu() - cpu0, cpu_of(es_pid) - node0
    said = [x for x in (out.stdout + out.stderr).splitlines() if "篇已索引" in x] or [f"exit {out.returncode}"]
    if backend == "elasticsearch":
        from bench.ingest import drop
        from bench.query import open_backend

        opened = open_backend("elasticsearch", data, 256, "hash:256", es_url, alias=alias)
        work = node_work(opened)  # as the ingest ended; then a merge it left running is waited for
        after, after_cpu = settle(opened, es_pid)
        drop(opened)
    else:
        work, after, after_cpu = "-", 0.0, 0.0
    return secs, said[-1].split(": ")[-1].replace("|", "/"), cpu, node, work, after, after_cpu


def run(size: str, es_url: str, before: Path | None, rounds: int, es_pid: int | None = None,
        variants: list[str] = (), embedder: str = "hash") -> list[str]:
    """Every round of every configuration; the lines for RESULTS.md."""
    lines = machine_lines(f"`indexer ingest` into Elasticsearch, {size} passages corpus")
    runs = [("embedded", "embedded", ROOT, None), ("elasticsearch (this tree)", "elasticsearch", ROOT, None)]
    if before:
        runs.append((f"elasticsearch (before: {before.name})", "elasticsearch", before, None))
    for v in variants:  # each variant with this tree's code, and with the other checkout's too
        runs.append((f"elasticsearch ({v})", "elasticsearch", ROOT, v))
        if before:
            runs.append((f"elasticsearch ({v}, before: {before.name})", "elasticsearch", before, v))
    with tempfile.TemporaryDirectory(prefix="bench-es-ingest-") as tmp:
        corpus = Path(tmp) / "files"
        counts = write_files(corpus, size_of(size))
        mb = counts["bytes"] / 1e6
        rows, seen = [], {}
        for r in range(rounds):
            for name, backend, code, variant in runs:
                data = Path(tmp) / f"data-{r}-{backend}-{code.name}-{variant}"
                secs, summary, cpu, node, work, after, after_cpu = ingest_once(code, corpus, data, backend, es_url,
                                                                               es_pid, variant, embedder)
                report(f"round {r + 1}: {name}: {secs:.1f} s, CPU {cpu:.1f} s ingest + {node:.1f} s node "
                       f"({summary}); node: {work}; merges left running: {after:.1f} s, {after_cpu:.1f} CPU-s; "
                       f"load {load_average()}")
                rows.append([r + 1, name, f"{secs:.1f}", f"{mb / secs:.2f}", f"{cpu:.1f}", f"{node:.1f}",
                             f"{cpu + node:.1f}", work, f"{after:.1f} s, {after_cpu:.1f} CPU-s", load_average(),
                             summary])
                seen.setdefault(name, []).append((secs, cpu + node, secs + after, cpu + node + after_cpu))
    lines += [f"Corpus: {counts['files']} files, {mb:.1f} MB; embedder {embedder} (a fresh data directory, so "
              f"nothing is cached); Elasticsearch at {es_url}. "
              "CPU: user + system seconds of the ingest with its workers, and of the node's JVM over the same "
              "round (during an embedded round the node only idles).", ""]
    lines += table(["round", "backend (code)", "seconds", "MB/s", "CPU ingest s", "CPU node s", "CPU total s",
                    "node's own account (as the ingest ended)", "merges left running (wait, node CPU)",
                    "load after", "report"], rows)
    med = {name: [statistics.median(x[k] for x in v) for k in range(4)] for name, v in seen.items()}
    wall0, cpu0 = med["embedded"][:2]
    lines += [""] + [f"- median of {rounds}: {name} {secs:.1f} s ({mb / secs:.2f} MB/s, {wall0 / secs:.2f}x the "
                     f"embedded backend's rate); CPU {cpu:.1f} s ({cpu0 / cpu:.2f}x the embedded backend's "
                     f"CPU per corpus); until the node ran no merge: {settled:.1f} s ({wall0 / settled:.2f}x), "
                     f"CPU {settled_cpu:.1f} s" for name, (secs, cpu, settled, settled_cpu) in med.items()]
    report("\n".join(lines[-len(med):]))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.es_ingest", description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="10k")
    parser.add_argument("--es-url", required=True)
    parser.add_argument("--before", type=Path, default=None, help="another checkout whose code is measured too")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--es-pidfile", type=Path, default=None,
                        help="the node's pid file (scripts/es.sh: .es/node-PORT/es.pid): its CPU time is counted")
    parser.add_argument("--variants", default="",
                        help=f"comma-separated index options to measure too: {', '.join(VARIANTS)}, "
                             "or a setting NAME=VALUE")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    parser.add_argument("--embedder", default="hash",
                        help="ARCHIVE_EMBEDDER of the ingests (hash: embedding is not what is measured; a real "
                             "one, e.g. e5-onnx-int8, measures writes hidden behind embedding)")
    parser.add_argument("--section", default=None,
                        help="the RESULTS.md section to write (default es-ingest-SIZE): keeps an earlier one")
    args = parser.parse_args(argv)
    es_pid = int(args.es_pidfile.read_text().strip()) if args.es_pidfile else None
    variants = [v for v in args.variants.split(",") if v]
    for v in variants:
        if v not in VARIANTS and not v.startswith("ARCHIVE_"):
            parser.error(f"unknown variant {v}; known: {', '.join(VARIANTS)}")
    lines = run(args.size, args.es_url, args.before.resolve() if args.before else None, args.rounds, es_pid,
                variants, args.embedder)
    if not args.no_write:
        update_results(args.section or f"es-ingest-{args.size}", lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
