"""Reports sent through the API: checked, staged, indexed, and only then stored, all or nothing.

An upload is written under a unique staging name beside the stored files, parsed in a bounded
child process and indexed under the id of its final place; only when the index write succeeded
is it moved into place (an atomic rename), so a rejected or failed upload never leaves a file
or replaces the good stored copy. One lock per document keeps an upload and a delete of the
same report (or two uploads of one file name) from interleaving. DELETE removes the stored
file and its sidecar with the document.

This is the one place the read side calls the write side, through `indexer`'s entry points,
imported only when an upload arrives, so serving searches never loads the indexer.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from archive import originals
from archive.errors import BackendUnavailable, BadRequest, Unprocessable, UnsupportedType
from archive.services import Archive
from search_app.upload_meta import clean_name, parse_metadata

log = logging.getLogger(__name__)

STAGING_PREFIX = ".upload-"  # a dot name: `indexer ingest` of the folder skips staged files
# A staged file is named for the server process writing it; it is left over (the server was killed
# mid-upload) when that process is gone, or when it is this old (a process id used again).
STALE_SECONDS = 3600


class _DocLocks:
    """One lock per document id, kept only while someone holds or waits for it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}

    @contextmanager
    def hold(self, doc_id: str) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.get(doc_id, (threading.Lock(), 0))
            self._locks[doc_id] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, users = self._locks[doc_id]
                if users == 1:
                    del self._locks[doc_id]
                else:
                    self._locks[doc_id] = (lock, users - 1)


_LOCKS = _DocLocks()


def _folder(archive: Archive) -> Path:
    return archive.config.data_dir / "uploads"


def stored_path(archive: Archive, name: str) -> Path:
    """Where a report uploaded under `name` is kept: derived from the name, no client path ever used."""
    suffix = Path(name).suffix.lower()
    return _folder(archive) / (hashlib.sha1(name.encode("utf-8")).hexdigest()[:16] + suffix)


def _checked(files: Mapping, form: Mapping) -> tuple[str, dict | None, object]:
    """The upload's label, metadata and file, all checked before anything touches disk."""
    if "metadata" in files:
        raise BadRequest("metadata 应作为普通表单字段发送（不能作为文件上传）")
    from indexer import SUPPORTED_SUFFIXES

    upload = files.get("file")
    if upload is None or not upload.filename:
        raise BadRequest("缺少上传文件：请用 multipart 字段 file 上传报告")
    name = clean_name(upload.filename)
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnsupportedType(f"不支持的文件类型 {suffix or '(无扩展名)'}；支持 {', '.join(SUPPORTED_SUFFIXES)}")
    return name, parse_metadata(form.get("metadata")), upload


def save_and_ingest(archive: Archive, files: Mapping, form: Mapping) -> dict:
    """Index an upload and store it (the same file name again replaces it); returns what was committed."""
    import indexer

    name, meta, upload = _checked(files, form)
    final = stored_path(archive, name)
    doc_id = indexer.doc_id_for(final)
    with _LOCKS.hold(doc_id):
        staged = _stage(archive, upload, meta, final.suffix)
        try:
            report = indexer.ingest_file(archive, staged, doc_id=doc_id, source_name=name, limits=indexer.Limits())
            if report.failed:
                reason = report.failed[0][1].replace(str(staged), name).replace(str(_folder(archive)), "")
                raise Unprocessable(f"无法解析 {name}：{reason}")
            if report.duplicates:  # the text is already stored as another report: no file is kept
                return _answer(archive, report.duplicates[0][1], "duplicate")
            _commit(staged, final, meta)
        finally:
            _discard(staged)
        # Read under the lock: a delete of this document waits, so this is what the upload committed.
        return _answer(archive, doc_id, "indexed" if report.indexed else "unchanged")


def _answer(archive: Archive, doc_id: str, status: str) -> dict:
    doc = archive.backend.get_document(doc_id)
    return {"doc_id": doc_id, "status": status, "title": doc.title if doc else None,
            "passages": len(archive.backend.get_chunks(doc_id))}


def _stage(archive: Archive, upload, meta: dict | None, suffix: str) -> Path:
    folder = _folder(archive)
    staged = folder / f"{STAGING_PREFIX}{os.getpid()}-{uuid.uuid4().hex}{suffix}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _sweep(folder)
        upload.save(staged)
        if meta:
            _sidecar(staged).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    except OSError as exc:  # a full disk or an unusable data dir; server paths stay private
        _discard(staged)
        raise BackendUnavailable(f"无法保存上传的文件：{exc.strerror or type(exc).__name__}") from exc
    return staged


def _sidecar(path: Path) -> Path:
    from indexer import SIDECAR_SUFFIX

    return path.with_name(path.name + SIDECAR_SUFFIX)


def _commit(staged: Path, final: Path, meta: dict | None) -> None:
    """Move the staged file (and its sidecar) over the stored one: each rename is atomic."""
    try:
        if meta:
            os.replace(_sidecar(staged), _sidecar(final))
        else:
            _sidecar(final).unlink(missing_ok=True)
        os.replace(staged, final)
    except OSError as exc:
        # The index already holds the new text; the stored copy is what a later reindex-from-files reads.
        log.error("上传的 %s 已索引，但文件未能保存：%s", final.name, exc.strerror or exc)
        raise BackendUnavailable(f"报告已索引，但无法保存文件：{exc.strerror or type(exc).__name__}") from exc


def _discard(staged: Path) -> None:
    for path in (staged, _sidecar(staged)):
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("无法删除暂存的上传文件 %s：%s", path.name, exc.strerror or exc)


def _sweep(folder: Path) -> None:
    """Remove staged files left by a server killed during an upload."""
    cutoff = time.time() - STALE_SECONDS
    for path in folder.glob(f"{STAGING_PREFIX}*"):
        try:
            if not _writer_alive(path) or path.stat().st_mtime < cutoff:
                path.unlink()
                log.info("已删除此前停止的服务留下的暂存上传文件 %s", path.name)
        except OSError:
            continue  # another request removed it first


def _writer_alive(path: Path) -> bool:
    pid = path.name[len(STAGING_PREFIX):].split("-", 1)[0]
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def sweep_staged(archive: Archive) -> None:
    """At start-up: remove what uploads interrupted by a killed server left in the uploads folder."""
    folder = _folder(archive)
    if folder.is_dir():
        _sweep(folder)


def delete_upload(archive: Archive, doc_id: str) -> bool:
    """Delete a document and the stored file and sidecar it came from; False when the index had no such id."""
    import indexer

    with _LOCKS.hold(doc_id):
        doc = archive.backend.get_document(doc_id)
        deleted = archive.backend.delete_document(doc_id)
        if doc is not None:  # its kept original too (archive/originals.py)
            originals.forget(archive.config.data_dir, doc)
        folder = _folder(archive)
        for path in folder.iterdir() if folder.is_dir() else ():
            if indexer.is_report_file(path) and not path.name.startswith(".") and indexer.doc_id_for(path) == doc_id:
                _sidecar(path).unlink(missing_ok=True)
                path.unlink(missing_ok=True)
    return deleted
