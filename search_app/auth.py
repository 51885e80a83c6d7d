"""Bearer-token checks for the write API (tokens from ARCHIVE_API_TOKENS)."""

from __future__ import annotations

import hmac
from functools import wraps

from flask import current_app, request

from archive.errors import ArchiveError


class Unauthorized(ArchiveError):
    code = "unauthorized"
    status = 401


class Forbidden(ArchiveError):
    code = "forbidden"
    status = 403


def _presented_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def token_allowed(token: str, allowed: tuple[str, ...]) -> bool:
    """Constant-time comparison against every configured token (no early exit on a match)."""
    results = [hmac.compare_digest(token.encode(), t.encode()) for t in allowed]
    return any(results)


def require_write_token(view):
    """401 without a bearer token, 403 with a wrong one; never logs the token."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        token = _presented_token()
        if token is None:
            raise Unauthorized("需要 Authorization: Bearer <token> 才能写入")
        if not token_allowed(token, current_app.extensions["archive"].config.api_tokens):
            raise Forbidden("令牌无效或没有写入权限")
        return view(*args, **kwargs)

    return wrapper
