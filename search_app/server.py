"""The WSGI server's limits (waitress); log lines no client can forge are archive/logs.py's.

waitress reads a whole request before the app sees it, so the limits that keep one client from
holding the server live here: bodies refused from their Content-Length before they are read,
headers capped, idle connections (a header or a body that stops arriving) closed after a few
seconds, and room for more connections than a small flood opens. A reverse proxy in front
(README) is what bounds a large flood.
"""

from __future__ import annotations

import logging

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import create_server

log = logging.getLogger(__name__)

CHANNEL_TIMEOUT_S = 10
CLEANUP_INTERVAL_S = 2
CONNECTION_LIMIT = 500  # poll(), not select(): select stops at 1,024 descriptors
MAX_HEADER_BYTES = 32 * 1024  # a search URL with every filter at its cap is a few KB


class _RefusingParser(HTTPRequestParser):
    """A request already refused (a body over the limit) never asks its client to go on sending."""

    def received(self, data: bytes) -> int:
        consumed = super().received(data)
        if self.error is not None:
            # waitress 3.0 answers `Expect: 100-continue` even for a request it has refused, then
            # waits for the body it refused (a 1 GB Content-Length got "100 Continue").
            self.expect_continue = False
        return consumed


class _Channel(HTTPChannel):
    parser_class = _RefusingParser


def server_settings(app, threads: int) -> dict:
    """waitress's settings for this app: the body limit is the app's upload limit."""
    return {"threads": threads, "ident": "archive", "max_request_body_size": app.config["MAX_CONTENT_LENGTH"] + 1,
            "max_request_header_size": MAX_HEADER_BYTES, "channel_timeout": CHANNEL_TIMEOUT_S,
            "cleanup_interval": CLEANUP_INTERVAL_S, "connection_limit": CONNECTION_LIMIT,
            "asyncore_use_poll": True}


def serve(app, host: str, port: int, threads: int) -> None:
    """Serve `app` on host:port until interrupted."""
    server = create_server(app, host=host, port=port, **server_settings(app, threads))
    server.channel_class = _Channel
    log.info("waitress 在 http://%s:%d 运行，%d 个线程，最多 %d 个连接", host, port, threads, CONNECTION_LIMIT)
    server.run()
