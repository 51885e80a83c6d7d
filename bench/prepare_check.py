"""What ingest makes of each file before embedding, dumped, so a speed-up can be shown to change nothing.

Runs `indexer.pipeline.prepare` (read, metadata, clean, chunk, figures, tokens: what the ingest
workers do) on the seed reports, demo/ and the bench corpus written as files, one core, and writes one
JSON line per file (document fields, chunk ids, sections, texts, figures, tokens) and the dump's
sha256. Run it before and after a change and compare the two dumps (`--compare`); it also says how
many MB of file per second `prepare` ran at (one core, wall and CPU time).

    python -m bench.prepare_check --out /tmp/after.jsonl [--corpus /tmp/bench-files] [--compare /tmp/before.jsonl]
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import time
from pathlib import Path

from bench.common import report
from bench.corpus import size_of, write_files

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT.parent / "shared" / "seeds"


def files_of(corpus: Path, size: str) -> dict[str, list[Path]]:
    """The three sets of files; the bench corpus is written to `corpus` once (same paths, same doc ids)."""
    if not corpus.is_dir():
        write_files(corpus, size_of(size))
    demo = [p for p in sorted((ROOT / "demo").iterdir()) if p.is_file() and p.name != "README.md"]
    return {"seeds": sorted(SEEDS.glob("*.txt")), "demo": demo, "bench": sorted(corpus.iterdir())}


def dump_line(path: Path, chunk_chars: int) -> str:
    """One file's prepared document, chunks and tokens as a JSON line (or the reason it was refused)."""
    from indexer.pipeline import prepare
    from indexer.reading import ReadError

    try:
        doc, chunks, tokens = prepare(path, chunk_chars)
    except ReadError as exc:
        return json.dumps({"file": path.name, "refused": exc.reason}, ensure_ascii=False)
    return json.dumps({"file": path.name, "doc": dataclasses.asdict(doc),
                       "chunks": [dataclasses.asdict(c) for c in chunks], "tokens": dataclasses.asdict(tokens)},
                      ensure_ascii=False, default=str)


def run(out: Path, corpus: Path, size: str, chunk_chars: int = 500) -> str:
    """Write the dump; return its sha256. Times the bench corpus alone (MB of file per second)."""
    from archive.text import tokenize

    tokenize("预热，2023-08-14")  # both segmenters load once per worker (a date goes to jieba), not per file
    sets = files_of(corpus, size)
    sha = hashlib.sha256()
    with open(out, "w", encoding="utf-8") as f:
        for name, paths in sets.items():
            wall, cpu = time.perf_counter(), time.process_time()
            for path in paths:
                line = dump_line(path, chunk_chars) + "\n"
                f.write(line)
                sha.update(line.encode("utf-8"))
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            mb = sum(p.stat().st_size for p in paths) / 1e6
            report(f"{name}: {len(paths)} files, {mb:.2f} MB, prepare {mb / wall:.2f} MB/s wall, "
                   f"{mb / cpu:.2f} MB per CPU-second")
    return sha.hexdigest()


def compare(before: Path, after: Path) -> list[str]:
    """Names of the files whose lines differ between two dumps (and a line for a count mismatch)."""
    old = before.read_text(encoding="utf-8").splitlines()
    new = after.read_text(encoding="utf-8").splitlines()
    diff = [json.loads(b)["file"] for a, b in zip(old, new) if a != b]
    if len(old) != len(new):
        diff.append(f"{len(old)} lines before, {len(new)} after")
    return diff


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.prepare_check", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--corpus", type=Path, default=Path("/tmp/archive-bench/prepare-check-files"))
    parser.add_argument("--size", default="10k")
    parser.add_argument("--compare", type=Path, default=None, help="an earlier dump: list the files that differ")
    args = parser.parse_args(argv)
    report(f"dump sha256 {run(args.out, args.corpus, args.size)}")
    if args.compare:
        diff = compare(args.compare, args.out)
        report(f"{len(diff)} files differ from {args.compare}" + (": " + ", ".join(diff[:20]) if diff else ""))
        return 1 if diff else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
