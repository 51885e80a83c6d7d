"""Reports sent through the API: saved under the data directory, then ingested like any file.

The one place the read side calls the write side (the indexer's pipeline), imported
only when an upload arrives, so serving searches never loads it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from werkzeug.datastructures import FileStorage

from archive.errors import BackendUnavailable, BadRequest, Unprocessable, UnsupportedType
from archive.services import Archive


def _metadata(raw: str | None) -> dict | None:
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"metadata 不是合法的 JSON：{exc.msg}") from None
    if not isinstance(data, dict):
        raise BadRequest("metadata 必须是 JSON 对象")
    return data


def save_and_ingest(archive: Archive, upload: FileStorage | None, metadata: str | None) -> dict:
    """Store the upload (same file name again replaces it) and index it; returns id and passage count."""
    from indexer.pipeline import IngestReport, ingest_file
    from indexer.reading import SIDECAR_SUFFIX, SUPPORTED_SUFFIXES

    if upload is None or not upload.filename:
        raise BadRequest("缺少上传文件：请用 multipart 字段 file 上传报告")
    name = Path(upload.filename.replace("\\", "/")).name
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnsupportedType(f"不支持的文件类型 {suffix or '(无扩展名)'}；支持 {', '.join(SUPPORTED_SUFFIXES)}")
    meta = _metadata(metadata)
    folder = archive.config.data_dir / "uploads"
    # The stored name is derived from the uploaded one: no path from the client is ever used.
    path = folder / (hashlib.sha1(name.encode("utf-8")).hexdigest()[:16] + suffix)
    sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        upload.save(path)
        if meta:
            sidecar.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        else:
            sidecar.unlink(missing_ok=True)
    except OSError as exc:  # a full disk or an unusable data dir; server paths stay private
        raise BackendUnavailable(f"无法保存上传的文件：{exc.strerror or type(exc).__name__}") from exc
    report = IngestReport()
    doc_id = ingest_file(archive, path, report, source_name=name)
    if report.failed:
        raise Unprocessable(f"无法解析 {name}：{report.failed[0][1]}")
    doc = archive.backend.get_document(doc_id)
    status = "unchanged" if report.unchanged else "duplicate" if report.duplicates else "indexed"
    return {"doc_id": doc_id, "status": status, "title": doc.title if doc else None,
            "passages": len(archive.backend.get_chunks(doc_id))}
