"""Who may call the archive: bearer tokens for reads and writes, and browser origins for the API.

Write tokens (ARCHIVE_API_TOKENS) guard uploads and deletes. Read tokens (ARCHIVE_READ_TOKENS),
when configured, make the whole site private except /healthz (for load balancers) and static
files; a write token also reads. ARCHIVE_CORS_ORIGINS lists the exact origins whose pages may
call /api/v1/* from a browser. Tokens are compared in constant time and never logged.
"""

from __future__ import annotations

import hmac
from functools import wraps

from flask import Flask, Response, current_app, request

from archive.config import Config
from archive.errors import Forbidden, Unauthorized

API_PREFIX = "/api/v1/"
OPEN_PATHS = frozenset({"/healthz"})
CORS_METHODS = "GET, POST, DELETE"
CORS_HEADERS = "Authorization, Content-Type"
CORS_MAX_AGE = "600"  # seconds a browser may cache a preflight answer




def _config() -> Config:
    return current_app.extensions["archive"].config


def _presented_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def token_allowed(token: str, allowed: tuple[str, ...]) -> bool:
    """Constant-time comparison against every configured token (no early exit on a match)."""
    results = [hmac.compare_digest(token.encode(), t.encode()) for t in allowed]
    return any(results)


def _check_token(allowed: tuple[str, ...], missing: str, wrong: str) -> None:
    """401 without a bearer token, 403 with one that is not allowed; the token itself is never echoed."""
    token = _presented_token()
    if token is None:
        raise Unauthorized(missing)
    if not token_allowed(token, allowed):
        raise Forbidden(wrong)


def require_write_token(view):
    """401 without a bearer token, 403 with a wrong one; never logs the token."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        _check_token(_config().api_tokens, "需要 Authorization: Bearer <token> 才能写入", "令牌无效或没有写入权限")
        return view(*args, **kwargs)

    return wrapper


def _is_open() -> bool:
    # OPTIONS stays open: browsers send CORS preflights without the Authorization header.
    return request.method == "OPTIONS" or request.path in OPEN_PATHS or request.endpoint == "static"


def check_read_access() -> None:
    """before_request: with read tokens configured, every request but the open ones needs a token."""
    config = _config()
    if config.read_tokens and not _is_open():
        _check_token(config.read_tokens + config.api_tokens,
                     "需要 Authorization: Bearer <token> 才能访问", "令牌无效或没有访问权限")


def _allowed_origin() -> str | None:
    """The request's Origin when it may call the API (exact match against the allow-list)."""
    origin = request.headers.get("Origin")
    if origin and request.path.startswith(API_PREFIX) and origin in _config().cors_origins:
        return origin
    return None


def answer_preflight() -> Response | None:
    """before_request: a CORS preflight from an allowed origin is answered here, 204 and no body."""
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers and _allowed_origin():
        return current_app.response_class(status=204)
    return None


def cors_headers(response: Response) -> Response:
    """after_request: allowed origins get their own origin back (never `*`), on errors too."""
    if not _config().cors_origins or not request.path.startswith(API_PREFIX):
        return response
    response.vary.add("Origin")  # the answer depends on the Origin: caches must keep them apart
    origin = _allowed_origin()
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = CORS_METHODS
            response.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
            response.headers["Access-Control-Max-Age"] = CORS_MAX_AGE
    return response


def challenge(response: Response) -> Response:
    """after_request: a 401 says which scheme it wants (RFC 6750)."""
    if response.status_code == 401:
        response.headers.setdefault("WWW-Authenticate", 'Bearer realm="archive"')
    return response


def init_app(app: Flask) -> None:
    """Install the read gate, the CORS answers and the 401 challenge on every request."""
    app.before_request(answer_preflight)
    app.before_request(check_read_access)
    app.after_request(cors_headers)
    app.after_request(challenge)
