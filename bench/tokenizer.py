"""Tokenizer throughput and equality: jieba's `cut_for_search` against `archive.text.cut_for_search`.

On the seed reports, the demo reports and the bench corpus (its documents' passages joined): both
segmenters on the same folded text, word streams compared one by one, CPU time of this process
(one core; the shared machine's load inflates wall time, not CPU time), and `tokenize` end to end.

    python -m bench.tokenizer [--passages 10000] [--no-write]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bench.common import machine_lines, report, table, update_results

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT.parent / "shared" / "seeds"


def corpora(passages: int) -> dict[str, list[str]]:
    from bench.corpus import iter_items
    from indexer.reading import read_document

    return {"seeds": [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))],
            "demo": [read_document(p).text for p in sorted((ROOT / "demo").iterdir()) if p.name != "README.md"],
            "bench corpus": ["\n".join(c.text for c in chunks) for _, chunks, _, _ in iter_items(passages)]}


def cpu(fn, items):
    t = time.process_time()
    out = [fn(x) for x in items]
    return out, time.process_time() - t


def run(passages: int) -> list[str]:
    from archive.text import _jieba, cut_for_search, fold, normalise, tokenize

    tokenize("预热")  # both dictionaries load once per process; not a per-text cost
    lines = machine_lines("Tokenizer: jieba against archive.text.cut_for_search (jieba-rs where identical)")
    rows = []
    for name, texts in corpora(passages).items():
        folded = [fold(normalise(t)) for t in texts]
        mb = sum(len(t.encode("utf-8")) for t in folded) / 1e6
        ref, t_ref = cpu(lambda f: list(_jieba().cut_for_search(f)), folded)
        ours, t_ours = cpu(cut_for_search, folded)
        _, t_tok = cpu(tokenize, texts)
        same = sum(a == b for a, b in zip(ref, ours))
        words = sum(map(len, ref))
        rows.append([name, len(texts), f"{mb:.2f}", f"{words:,}", f"{same}/{len(texts)}", f"{mb / t_ref:.2f}",
                     f"{mb / t_ours:.2f}", f"{t_ref / t_ours:.1f}x", f"{mb / t_tok:.2f}"])
    lines += table(["texts", "documents", "MB (UTF-8)", "jieba words", "identical word streams",
                    "jieba MB/CPU-s", "ours MB/CPU-s", "speed-up", "tokenize() MB/CPU-s"], rows)
    report("\n".join(lines))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tokenizer", description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=10_000, help="size of the bench corpus")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args(argv)
    lines = run(args.passages)
    if not args.no_write:
        update_results("tokenizer", lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
