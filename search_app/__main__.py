"""`python -m search_app serve [--host H] [--port P]`: serve the archive with waitress."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import re
import sys

from archive.config import ConfigError, load_config

log = logging.getLogger("search_app")

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# waitress's limits, so no client can hold the server: a connection idle this long is closed
# (a header or a body that stops arriving), and this many may be open at once (poll(), not
# select(): select stops at 1,024 descriptors). A reverse proxy in front does the rest (README).
CHANNEL_TIMEOUT_S = 10
CLEANUP_INTERVAL_S = 2
CONNECTION_LIMIT = 500
MAX_HEADER_BYTES = 32 * 1024  # a search URL with every filter at its cap is a few KB
_LOG_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def log_safe(text: str) -> str:
    """Control characters as visible escapes, so a logged value can never start a forged line."""
    return _LOG_UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class SafeFormatter(logging.Formatter):
    """Escapes control characters in each message (tracebacks keep their lines)."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 -- logging's name
        record.message = log_safe(record.message)
        return super().formatMessage(record)


def server_settings(app, threads: int) -> dict:
    """waitress's settings: bodies refused from their Content-Length before they are read, short idle limits."""
    return {"threads": threads, "ident": "archive", "max_request_body_size": app.config["MAX_CONTENT_LENGTH"] + 1,
            "max_request_header_size": MAX_HEADER_BYTES, "channel_timeout": CHANNEL_TIMEOUT_S,
            "cleanup_interval": CLEANUP_INTERVAL_S, "connection_limit": CONNECTION_LIMIT,
            "asyncore_use_poll": True}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m search_app", description="报告档案检索服务")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the search pages and the JSON API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5000)
    serve.add_argument("--threads", type=int, default=8)
    args = parser.parse_args(argv)
    try:
        config = load_config()
        if config.embed_threads == 0:  # a server embeds one short query per request, side by side
            config = load_config(embed_threads=1)
        if not config.base_url:  # links in exports point at this server, never at a request's Host
            host = "127.0.0.1" if args.host in ("0.0.0.0", "::", "") else args.host
            config = dataclasses.replace(config, base_url=f"http://{host}:{args.port}")
    except ConfigError as exc:
        parser.exit(2, f"配置错误: {exc}\n")
    handler = logging.StreamHandler()
    handler.setFormatter(SafeFormatter(LOG_FORMAT))
    logging.basicConfig(level=config.log_level, handlers=[handler])
    from waitress import serve as waitress_serve

    from search_app import create_app

    app = create_app(config)
    problem = warm_up(app)
    if problem:
        parser.exit(1, f"无法启动: {problem}\n")
    log.info("serving on http://%s:%d (backend %s, embedder %s)", args.host, args.port,
             config.backend, config.embedder)
    waitress_serve(app, host=args.host, port=args.port, **server_settings(app, args.threads))
    return 0


def warm_up(app) -> str | None:
    """Load the tokenizer and the embedder before the first request, so it is answered quickly.

    Returns why the server must not start: a broken embedded index does not heal by itself,
    while an Elasticsearch that is down may come back (the API answers 503 meanwhile).
    """
    from archive.errors import ArchiveError
    from archive.text import tokenize

    tokenize("预热")
    archive = app.extensions["archive"]
    try:
        archive.embedder.embed_query("预热")
        archive.backend.ping()
    except ArchiveError as exc:
        if archive.config.backend == "embedded":
            return str(exc)
        log.warning("backend not ready at start-up: %s", exc)
    return None


if __name__ == "__main__":
    sys.exit(main())
