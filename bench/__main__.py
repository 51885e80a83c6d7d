"""`python -m bench [--sizes 10k,100k] [--es-url URL]`: every benchmark, figures into bench/RESULTS.md.

The default (10k and 100k passages, embedded backend, plus Elasticsearch when --es-url answers,
ingest on the 10k corpus, load and start-up against `serve`) finishes in about 15 minutes on
2 cores. 1M passages is opt-in (`--sizes 1M`): it takes about ten minutes more to build.
"""

from __future__ import annotations

import argparse
import urllib.request
from pathlib import Path

from bench import ingest, load, query
from bench.common import report


def es_up(url: str | None) -> bool:
    if not url:
        return False
    try:
        with urllib.request.urlopen(f"{url}/_cluster/health", timeout=3) as resp:
            return resp.status == 200
    except OSError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10k,100k", help="query-latency index sizes: 10k, 100k, 1M")
    parser.add_argument("--es-url", default=None, help="a running Elasticsearch 8 (e.g. scripts/es.sh start)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/archive-bench"), help="where indices are kept")
    parser.add_argument("--queries", type=int, default=20, help="queries per (mode, filter) cell")
    parser.add_argument("--load-duration", type=float, default=20.0)
    parser.add_argument("--skip", default="", help="comma list of: ingest, query, load")
    args = parser.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    es = args.es_url if es_up(args.es_url) else None
    if args.es_url and not es:
        report(f"Elasticsearch at {args.es_url} does not answer: embedded backend only")
    backends = "embedded" + (",elasticsearch" if es else "")
    failed = 0
    if "query" not in skip:
        query.main(["--sizes", args.sizes, "--backends", backends, "--work", str(args.work),
                    "--queries", str(args.queries)] + (["--es-url", es] if es else []))
    if "ingest" not in skip:
        ingest.main(["--size", "10k"] + (["--es-url", es] if es else []))
    if "load" not in skip:
        for size in args.sizes.split(","):
            data = args.work / f"embedded-{size.lower()}"
            failed |= load.main(["--data", str(data), "--duration", str(args.load_duration),
                                 "--section", f"load-embedded-{size.lower()}"])
    return failed


if __name__ == "__main__":
    raise SystemExit(main())
