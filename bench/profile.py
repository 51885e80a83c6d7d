"""Profile searches on a bench index with pyinstrument (dev only: `pip install pyinstrument`).

    python -m bench.profile --data /tmp/archive-bench/embedded-100k --mode hybrid --repeat 10
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.common import report
from bench.query import QUERIES, make_archive


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--backend", default="embedded")
    parser.add_argument("--es-url", default=None)
    parser.add_argument("--es-index", default="bench-100k")
    parser.add_argument("--mode", default="hybrid")
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args(argv)
    from pyinstrument import Profiler

    from search_app.params import parse_params
    from search_app.service import search

    archive = make_archive(args.backend, args.data, args.es_url, args.es_index)
    search(archive, parse_params({"q": "行政复议", "mode": args.mode}))  # load vectors and models first
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for i in range(args.repeat):
        search(archive, parse_params({"q": QUERIES[i % len(QUERIES)], "mode": args.mode}))
    profiler.stop()
    report(profiler.output_text(unicode=False, color=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
