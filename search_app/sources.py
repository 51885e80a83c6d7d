"""Links from a report to where it came from: its kept original (downloaded here) and its web address.

The indexer keeps every ingested file (archive/originals.py); this module turns what is kept into
the fields pages and the API show (`source_file`, the download link; `source_url`, the page it was
published on, from its sidecar) and serves the file as an attachment, named as it arrived.
A kept HTML file is never shown inline: a scraped page's scripts would run on this site.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from urllib.parse import quote

from flask import Response, send_file

from archive import originals
from archive.errors import NotFound
from archive.models import Document
from archive.services import Archive
from archive.text import DATA_DIR
from search_app.export_format import attachment_header

MEDIA_TYPES = DATA_DIR / "media_types.json"
_UNSAFE_ASCII = re.compile(r"[^A-Za-z0-9._-]+")


@functools.cache
def _media_types() -> dict[str, str]:
    return json.loads(MEDIA_TYPES.read_text(encoding="utf-8"))["types"]


def media_type(name: str) -> str:
    """The Content-Type of a download by its file name's suffix."""
    suffix = name[name.rfind("."):].lower() if "." in name else ""
    return _media_types().get(suffix, "application/octet-stream")


def attachment(name: str) -> str:
    """A Content-Disposition that saves the file as `name`: an ASCII fallback and the UTF-8 name (RFC 5987/6266)."""
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    plain = _UNSAFE_ASCII.sub("_", unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()).strip("._")
    ascii_suffix = _UNSAFE_ASCII.sub("", suffix)
    fallback = (plain or "report") + (f".{ascii_suffix}" if ascii_suffix else "")
    return attachment_header(name, fallback)


def original_url(doc_id: str) -> str:
    """Where a report's original file is downloaded."""
    return f"/api/v1/documents/{quote(doc_id, safe='')}/original"


def links(archive: Archive, doc: Document) -> dict:
    """`source_file` (download link, or None when nothing is kept) and `source_url` (or None) of a report."""
    kept = originals.find(archive.config.data_dir, doc)
    return {"source_file": original_url(doc.doc_id) if kept and kept.file else None,
            "source_url": kept.source_url if kept else None}


def download(archive: Archive, doc_id: str) -> Response:
    """The kept original of a report as an attachment; NotFound when there is no such report or file."""
    doc = archive.backend.get_document(doc_id)
    if doc is None:
        raise NotFound(f"没有编号为 {doc_id[:80]} 的报告")
    kept = originals.find(archive.config.data_dir, doc)
    if kept is None or kept.file is None:
        raise NotFound("这份报告没有保存原始文件（可能在保存原件功能之前入库：重新导入即可补存）")
    response = send_file(kept.file, mimetype=media_type(kept.name), conditional=True, max_age=3600)
    # The bytes as they arrived (UTF-8 or GB18030): Flask's "charset=utf-8" on text types would be a guess.
    response.headers["Content-Type"] = media_type(kept.name)
    response.headers["Content-Disposition"] = attachment(kept.name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
