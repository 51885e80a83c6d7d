"""The original files of ingested reports, kept under the data directory for readers to download.

Files are content-addressed, `originals/files/<sha256 of the bytes><suffix>`: the same file kept
twice is stored once, and a source folder that moves or goes away loses nothing. Each report's
entry, `originals/reports/<content hash>.json`, names its file, the name it arrived under and the
`source_url` of its sidecar (where it was published). Entries are keyed by the content hash the
index stores with every document (`Document.sha256`), so the read side finds a report's original
from the document alone, whichever backend serves it, and no index schema changes.

The indexer writes (`keep`), the search app reads (`find`); both through this module, in the
shared core because the two apps never import each other. Nothing here trusts a stored name or a
request: paths are built only from hex digests checked by pattern and a checked suffix.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from archive.models import Document

log = logging.getLogger(__name__)

FOLDER = "originals"
MAX_URL_CHARS = 2000
_HEX64 = re.compile(r"[0-9a-f]{64}")
_SUFFIX = re.compile(r"\.[a-z0-9]{1,8}")


@dataclass(frozen=True)
class Original:
    """Where a report came from: its kept file (if any), the name it arrived under, its web address."""

    file: Path | None
    name: str
    source_url: str | None


def web_address(raw: object) -> str | None:
    """`raw` if it is an http(s) address with a host and nothing a link must not hold, else None."""
    if not isinstance(raw, str) or not raw or len(raw) > MAX_URL_CHARS:
        return None
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in raw) or any(c in raw for c in "<>\"'`"):
        return None
    try:
        parts = urlsplit(raw)
    except ValueError:  # an unclosed [ in the host
        return None
    return raw if parts.scheme.lower() in ("http", "https") and parts.hostname else None


def _folder(data_dir: Path) -> Path:
    return Path(data_dir) / FOLDER


def _matches(pattern: re.Pattern, value: object) -> bool:
    return isinstance(value, str) and pattern.fullmatch(value) is not None


def _entry_path(data_dir: Path, content_hash: object) -> Path | None:
    return _folder(data_dir) / "reports" / f"{content_hash}.json" if _matches(_HEX64, content_hash) else None


def _file_path(data_dir: Path, sha256: object, suffix: object) -> Path | None:
    if not (_matches(_HEX64, sha256) and _matches(_SUFFIX, suffix)):
        return None
    return _folder(data_dir) / "files" / f"{sha256}{suffix}"


def _write_atomically(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".keep-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def keep(data_dir: Path, path: Path, content_hash: str, name: str, source_url: object = None) -> bool:
    """Keep the file a report was read from, under its content hash; False (logged) if it cannot be kept.

    A report that cannot be kept is still indexed: its pages then only lack the download link."""
    entry = _entry_path(data_dir, content_hash)
    if _kept(data_dir, content_hash)[1] is not None:
        return True  # kept already: the content hash covers the file and its sidecar
    try:
        data = Path(path).read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        target = _file_path(data_dir, sha, Path(name).suffix.lower() or Path(path).suffix.lower())
        if entry is None or target is None:
            log.warning("未保存 %s 的原始文件：没有可用的内容哈希或扩展名", name)
            return False
        if not target.exists():
            _write_atomically(target, data)
        record = {"sha256": sha, "suffix": target.suffix, "name": name, "source_url": web_address(source_url)}
        _write_atomically(entry, json.dumps(record, ensure_ascii=False).encode("utf-8"))
        return True
    except OSError as exc:
        log.warning("未保存 %s 的原始文件：%s", name, exc.strerror or exc)
        return False


def _kept(data_dir: Path, content_hash: str) -> tuple[dict | None, Path | None]:
    """A report's entry, and its file if that is there; paths only from checked digests and suffixes."""
    entry = _entry_path(data_dir, content_hash)
    try:
        record = json.loads(entry.read_text(encoding="utf-8")) if entry is not None else None
    except (OSError, ValueError):
        return None, None
    if not isinstance(record, dict):
        return None, None
    file = _file_path(data_dir, record.get("sha256"), record.get("suffix"))
    return record, file if file is not None and file.is_file() else None


def find(data_dir: Path, doc: Document) -> Original | None:
    """What is kept of a report's original, or None when nothing is (a report indexed before originals were kept)."""
    record, file = _kept(data_dir, doc.sha256)
    if record is None:
        return None
    name = record.get("name") if isinstance(record.get("name"), str) else doc.source_name
    return Original(file, name or doc.doc_id, web_address(record.get("source_url")))


def forget(data_dir: Path, doc: Document) -> None:
    """Remove a deleted report's entry, and its file unless another report's entry names the same file.

    Logged, not raised, when the disk refuses: the report is already gone from the index."""
    entry = _entry_path(data_dir, doc.sha256)
    original = find(data_dir, doc)
    if entry is None or original is None:
        return
    try:
        entry.unlink(missing_ok=True)
        # An entry names its file by the file's sha256, a 64-digit hex string no other field holds.
        if original.file is not None and not any(original.file.stem in p.read_text(encoding="utf-8", errors="replace")
                                                 for p in entry.parent.glob("*.json")):
            original.file.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("未能删除 %s 保存的原始文件：%s", doc.doc_id, exc.strerror or exc)
