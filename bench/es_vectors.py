"""kNN latency and recall@10 of Elasticsearch vector index options, on one node, at 100k passages.

    python -m bench.es_vectors --es-url http://127.0.0.1:9500 --size 100k --variants hnsw,flat [--queries 50]

For each variant (bench.es_ingest.VARIANTS: an overlay on mappings/passages.json) the generated
corpus (`bench.corpus.iter_items`: clustered unit vectors) is written once with the backend's
`rebuild` into an index of its own (reused when it already holds the passages). Query vectors are
drawn from the same clusters with another seed. Each query runs through the backend's
`vector_search` on every variant in turn (the order rotating), top 10 and top 100 (the service's
ARCHIVE_SEMANTIC_K), with no filter and with a region+years filter; recall@10 is against exact
brute force in numpy over the same vectors and filters.
"""

from __future__ import annotations

import argparse
import random
import sys
import time

import numpy as np

from bench.common import load_average, machine_lines, ms_summary, report, table, update_results
from bench.corpus import REGIONS, fake_vectors, iter_items, size_of, topic_centroids
from bench.es_ingest import VARIANTS, variant_body
from bench.query import index_ready

DIM = 384
MODEL_ID = "bench-vectors:384"


def variant_backend(url: str, alias: str, variant: str):
    """The real backend, creating its indices with `variant`'s options instead of the mapping file's."""
    from archive.backends.elastic import ElasticBackend

    class VariantBackend(ElasticBackend):
        def _index_body(self) -> dict:
            return variant_body(variant, self.dim, self.model_id)

    return VariantBackend(url, alias, DIM, MODEL_ID, timeout=300.0)


def queries(n: int, seed: int = 99) -> tuple[np.ndarray, list]:
    """Query vectors from the corpus's clusters (another seed), and a region+years filter for each."""
    from archive.models import Filters

    rng = np.random.default_rng(seed)
    vecs = fake_vectors(list(rng.integers(0, 100, n)), DIM, rng, topic_centroids(DIM, 0))
    pick = random.Random(seed)
    filters = []
    for _ in range(n):
        y = pick.randint(2015, 2023)
        filters.append(Filters(region=(pick.choice(REGIONS[:120]),), year_from=y, year_to=y + 2))
    return vecs, filters


def exact_top(items: list, vecs: np.ndarray, filters: list, k: int = 10) -> tuple[list, list]:
    """Exact top-k (chunk id, cosine) by brute force (unit vectors: dot), without and with each query's filter."""
    ids = [c.chunk_id for it in items for c in it.chunks]
    matrix = np.concatenate([it.vectors for it in items]).astype(np.float32)
    region = np.array([it.doc.region for it in items for _ in it.chunks])
    year = np.array([it.doc.year for it in items for _ in it.chunks])
    sims = vecs @ matrix.T
    plain = [[(ids[j], float(row[j])) for j in np.argsort(-row)[:k]] for row in sims]
    filtered = []
    for row, f in zip(sims, filters, strict=True):
        ok = (region == f.region[0]) & (year >= f.year_from) & (year <= f.year_to)
        row = np.where(ok, row, -np.inf)
        filtered.append([(ids[j], float(row[j])) for j in np.argsort(-row)[:k] if ok[j]])
    return plain, filtered


def build(backends: dict, n: int, rebuild: bool) -> tuple[list, list[str]]:
    """Write the corpus into each variant's index lacking it; the items and one line per build."""
    items = list(iter_items(n, DIM))
    lines = []
    for name, backend in backends.items():
        if not rebuild and index_ready(backend, n):
            lines.append(f"- {name}: index reused")
            continue
        backend.check_compatible()
        t = time.perf_counter()
        backend.rebuild(iter(items))
        lines.append(f"- {name}: built {backend.stats().passages:,} passages in {time.perf_counter() - t:.0f} s "
                     f"(load average after {load_average()})")
        report(lines[-1])
    return items, lines


def segments(backend) -> int:
    """Segments of the live index's primaries."""
    index = backend._live_index()
    return backend._call("indices.stats", index=index, metric="segments")["indices"][index]["primaries"][
        "segments"]["count"]


def java_of(backend) -> str:
    """The JVM version the node runs on (Lucene vectorises its dot products only on Java 21+)."""
    nodes = backend._call("nodes.info", metric="jvm")["nodes"]
    return ", ".join(sorted({n["jvm"]["version"] for n in nodes.values()}))


def measure(backends: dict, vecs: np.ndarray, filters: list, truth: dict) -> list[list]:
    """Per (variant, k, filter): p50/p95 ms and mean recall@10 against `truth`; variants rotate per query."""
    from archive.models import Filters

    names = list(backends)
    for backend in backends.values():  # untimed warm-up: first searches load the graph or vectors
        for v in vecs[:5]:
            backend.vector_search(v, Filters(), 100)
    rows = []
    for k in (10, 100):
        for label, fs in (("none", [Filters()] * len(vecs)), ("region+years", filters)):
            secs: dict[str, list[float]] = {n: [] for n in names}
            recall: dict[str, list[float]] = {n: [] for n in names}
            # How close the answers are, where they differ: the mean cosine of the 10 returned against
            # that of the exact 10 (near-ties inside a cluster make recall alone look worse than it reads).
            closeness: dict[str, list[float]] = {n: [] for n in names}
            for i, (v, f) in enumerate(zip(vecs, fs, strict=True)):
                for name in names[i % len(names):] + names[:i % len(names)]:
                    t = time.perf_counter()
                    got = backends[name].vector_search(v, f, k)
                    secs[name].append(time.perf_counter() - t)
                    want = truth[label][i]
                    if want:
                        recall[name].append(len({s.chunk_id for s in got[:10]} & {c for c, _ in want}) / len(want))
                        mine = [s.score for s in got[:len(want)]]
                        closeness[name].append(float(np.mean(mine)) / float(np.mean([x for _, x in want])))
            for name in names:
                p50, p95, _ = ms_summary(secs[name])
                rows.append([name, k, label, len(secs[name]), f"{p50:.1f}", f"{p95:.1f}",
                             f"{np.mean(recall[name]):.3f}", f"{np.mean(closeness[name]):.4f}"])
            report(f"k={k} {label} done; load {load_average()}")
    return rows


def run(url: str, size: str, variants: list[str], n_queries: int, rebuild: bool) -> list[str]:
    """Build (or reuse) each variant's index, time and score its kNN; the lines for RESULTS.md."""
    n = size_of(size)
    backends = {v: variant_backend(url, f"bench-vectors-{size.lower()}-{v}", v) for v in variants}
    lines = machine_lines(f"kNN latency and recall@10 by vector index options, single node, {size} passages")
    try:
        items, built = build(backends, n, rebuild)
        vecs, filters = queries(n_queries)
        plain, filtered = exact_top(items, vecs, filters)
        del items
        lines += built + ["- segments at query time: " + ", ".join(f"{v} {segments(b)}" for v, b in backends.items()),
                          f"- {n_queries} queries; {sum(1 for f in filtered if f)} of them with a passage under "
                          "their region+years filter", ""]
        rows = measure(backends, vecs, filters, {"none": plain, "region+years": filtered})
        lines += table(["variant", "k", "filter", "queries", "p50 ms", "p95 ms", "recall@10 vs exact",
                          "mean cosine of the top 10 / exact's"], rows)
        java = java_of(next(iter(backends.values())))
        lines += ["", f"- load average at end {load_average()}; Java of the node: {java}", ""]
        report("\n".join(lines))
    finally:
        for backend in backends.values():
            backend.close()
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.es_vectors", description=__doc__.splitlines()[0])
    parser.add_argument("--es-url", required=True)
    parser.add_argument("--size", default="100k")
    parser.add_argument("--variants", default="hnsw,flat", help=f"comma-separated: {', '.join(VARIANTS)}")
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the indices even if present")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args(argv)
    variants = [v for v in args.variants.split(",") if v]
    for v in variants:
        if v not in VARIANTS:
            parser.error(f"unknown variant {v}; known: {', '.join(VARIANTS)}")
    lines = run(args.es_url, args.size, variants, args.queries, args.rebuild)
    if not args.no_write:
        update_results(f"es-vectors-{args.size.lower()}", lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
