"""One error shape for the API ({"error": {"code", "message"}}), and Chinese error pages for people."""

from __future__ import annotations

import logging

from flask import Flask, current_app, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from archive.errors import ArchiveError, BadRequest
from search_app.params import MAX_QUERY_CHARS, parse_params

log = logging.getLogger(__name__)


def error_body(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def _respond(status: int, code: str, message: str):
    if _wants_json():
        return error_body(code, message), status
    return render_template("error.html", status=status, code=code, message=message, **kept_query()), status


def kept_query() -> dict:
    """The failed request's query, for the error page's search box, and a link that searches it again
    (None when the query itself is what parse_params refuses)."""
    q = (request.args.get("q") or "").strip()
    if not q:
        return {"q": "", "retry_href": None, "max_query": MAX_QUERY_CHARS}
    try:
        parse_params({"q": q})
    except BadRequest:
        return {"q": q[:MAX_QUERY_CHARS], "retry_href": None, "max_query": MAX_QUERY_CHARS}
    return {"q": q, "retry_href": url_for("web.search", q=q), "max_query": MAX_QUERY_CHARS}


def _too_large() -> str:
    mb = current_app.config["MAX_CONTENT_LENGTH"] // 2**20
    field_kb = current_app.config["MAX_FORM_MEMORY_SIZE"] // 1024
    return f"请求过大：上传的报告最多 {mb} MB，表单字段（如 metadata）最多 {field_kb} KB"


def register_error_handlers(app: Flask) -> None:
    """Typed errors become their status; anything unexpected is logged and answered 500, never a trace."""

    @app.errorhandler(ArchiveError)
    def archive_error(exc: ArchiveError):
        if exc.status >= 500:
            log.warning("%s: %s", exc.code, exc)
        return _respond(exc.status, exc.code, str(exc))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = (exc.name or "error").lower().replace(" ", "_")
        messages = {404: "找不到该页面或资源", 405: "不支持该请求方法", 413: _too_large()}
        return _respond(exc.code or 500, code, messages.get(exc.code, exc.description or exc.name))

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.error("处理 %s 时出现未预料的错误：%s：%s", request.path, type(exc).__name__, exc, exc_info=exc)
        return _respond(500, "internal_error", "服务器内部错误，已记录日志")
