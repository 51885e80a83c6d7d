"""The JSON API blueprint: /api/v1/... and /healthz."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from flask import Blueprint, current_app, jsonify, request

from archive.errors import ArchiveError, NotFound
from archive.services import Archive
from search_app import catalogue, compare, export, service, sources
from search_app import figures as figure_tables
from search_app import similar as similar_passages
from search_app.attention import attention as attention_by_year
from search_app.auth import require_write_token
from search_app.measure_series import matrix_table, measure_series
from search_app.params import parse_params
from search_app.uploads import delete_upload, save_and_ingest

api = Blueprint("api", __name__)


def archive() -> Archive:
    return current_app.extensions["archive"]


@api.get("/api/v1/search")
def search():
    return jsonify(service.search(archive(), parse_params(request.args)))


@api.get("/api/v1/figures")
def figures():
    return jsonify(figure_tables.figure_rows(archive(), parse_params(request.args)))


def measure_arg() -> str | None:
    """The `measure` parameter: a catalogue id such as admin_review.handled (checked by the series)."""
    return (request.args.get("measure") or "").strip()[:80] or None


@api.get("/api/v1/measures")
def measures():
    return jsonify(figure_tables.measures_found(archive(), parse_params(request.args)))


@api.get("/api/v1/series")
def series():
    return jsonify(measure_series(archive(), parse_params(request.args), measure_arg()))


@api.get("/api/v1/targets")
def targets():
    data = measure_series(archive(), parse_params(request.args), measure_arg())
    return jsonify({k: data[k] for k in ("query", "measure", "measure_name", "unit", "targets")})


@api.get("/api/v1/attention")
def attention():
    return jsonify(attention_by_year(archive(), parse_params(request.args)))


@api.get("/api/v1/grid")
def grid():
    rollup = compare.parse_rollup(request.args.get("rollup"))
    return jsonify(compare.grid(archive(), parse_params(request.args), rollup))


@api.get("/api/v1/passages/<chunk_id>/similar")
def similar(chunk_id: str):
    params = parse_params(request.args)
    return jsonify(similar_passages.similar(archive(), chunk_id, params.filters(), k=min(params.size, 50)))


@api.get("/api/v1/export/<kind>.<fmt>")
def export_rows(kind: str, fmt: str):
    if kind not in export.COLUMNS or fmt not in export.FORMATS:
        raise NotFound("可导出：search / figures / grid / grid-matrix / series / matrix，格式 .csv、.xlsx 或 .json")
    params = parse_params(request.args)
    columns, rows = _export_table(kind, params)
    return export.response(kind, fmt, rows, columns, query=params.q)


def _export_table(kind: str, params) -> tuple[list[str] | None, list[dict]]:
    """An export's columns (None: the kind's own) and rows."""
    if kind == "matrix":  # the region x period table of a measure, as on the page
        return matrix_table(measure_series(archive(), params, measure_arg()))
    if kind == "series":  # the same values, one row each, with their sentences and links
        data = measure_series(archive(), params, measure_arg())
    elif kind in ("grid", "grid-matrix"):
        data = compare.grid(archive(), params, compare.parse_rollup(request.args.get("rollup")))
        if kind == "grid-matrix":  # the region x year grid, as on the page
            return export.grid_matrix(data)
    else:
        data = {"search": export.all_hits, "figures": figure_tables.figure_rows}[kind](archive(), params)
    return None, export.flat_rows(kind, data, archive().config.public_url)


@api.get("/api/v1/documents")
def list_documents():
    return jsonify(catalogue.documents(archive(), catalogue.parse_catalogue(request.args)))


@api.get("/api/v1/coverage")
def coverage():
    return jsonify(catalogue.coverage(archive(), catalogue.parse_catalogue(request.args)))


@api.patch("/api/v1/documents/<doc_id>")
@require_write_token
def correct_document(doc_id: str):
    return jsonify(catalogue.correct(archive(), doc_id, request.get_json(silent=True)))


@api.get("/api/v1/documents/<doc_id>")
def document(doc_id: str):
    return jsonify(service.document(archive(), doc_id, request.args.get("q", "")))


@api.get("/api/v1/documents/<doc_id>/original")
def original(doc_id: str):
    return sources.download(archive(), doc_id)


@api.post("/api/v1/documents")
@require_write_token
def upload_document():
    result = save_and_ingest(archive(), request.files, request.form)
    return jsonify(result), 200 if result["status"] != "indexed" else 201


@api.delete("/api/v1/documents/<doc_id>")
@require_write_token
def delete_document(doc_id: str):
    if not delete_upload(archive(), doc_id):
        raise NotFound(f"没有编号为 {doc_id[:80]} 的报告")
    return "", 204


@api.get("/api/v1/openapi.json")
def openapi():
    return jsonify(_openapi_spec())


@cache
def _openapi_spec() -> dict:
    return json.loads((Path(__file__).parent / "openapi.json").read_text(encoding="utf-8"))


@api.get("/healthz")
def healthz():
    try:
        archive().backend.ping()
        stats = archive().backend.stats()
    except ArchiveError as exc:
        return {"status": "unavailable", "backend": archive().config.backend,
                "error": {"code": exc.code, "message": str(exc)}}, 503
    return {"status": "ok", "backend": archive().config.backend,
            "documents": stats.documents, "passages": stats.passages, "model_id": stats.model_id}


