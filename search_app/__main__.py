"""`python -m search_app serve [--host H] [--port P]`: serve the archive with waitress."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys

from archive.config import ConfigError, load_config
from archive.logs import configure_logging

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

log = logging.getLogger("search_app")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m search_app", description="报告档案检索服务")
    sub = parser.add_subparsers(dest="command", required=True)
    command = sub.add_parser("serve", help="serve the search pages and the JSON API")
    command.add_argument("--host", default="127.0.0.1")
    command.add_argument("--port", type=int, default=5000)
    command.add_argument("--threads", type=int, default=8)
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
    configure_logging(config.log_level, LOG_FORMAT)
    from search_app import create_app
    from search_app.server import serve

    app = create_app(config)
    problem = warm_up(app)
    if problem:
        parser.exit(1, f"无法启动: {problem}\n")
    log.info("正在 http://%s:%d 提供服务（后端 %s，嵌入模型 %s）", args.host, args.port,
             config.backend, app.extensions["archive"].embedder_name())
    serve(app, args.host, args.port, args.threads)
    return 0


def warm_up(app) -> str | None:
    """Load the tokenizer and the embedder before the first request, so it is answered quickly.

    Returns why the server must not start: a broken embedded index does not heal by itself, nor do
    credentials or a certificate Elasticsearch refuses, while an Elasticsearch that is down may come
    back (the API answers 503 meanwhile).
    """
    from archive.errors import ArchiveError, BackendMisconfigured
    from archive.text import load_segmenters
    from search_app.uploads import sweep_staged

    load_segmenters()
    archive = app.extensions["archive"]
    sweep_staged(archive)
    try:
        archive.embedder.embed_query("预热")
        archive.backend.ping()
    except ArchiveError as exc:
        if archive.config.backend == "embedded" or isinstance(exc, BackendMisconfigured):
            return str(exc)
        log.warning("启动时后端尚未就绪：%s", exc)
    return None


if __name__ == "__main__":
    sys.exit(main())
