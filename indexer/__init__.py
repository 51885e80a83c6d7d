"""The write side: read report files, clean them, extract metadata, chunk and index them.

Other packages (the upload API) call it through `ingest_file`, `check_metadata` and `doc_id_for`
here, never the pipeline's internals; modules load only when one of them is called.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from indexer.reading import SIDECAR_SUFFIX, SUPPORTED_SUFFIXES, is_report_file
from indexer.sandbox import Limits

__all__ = ["SIDECAR_SUFFIX", "SUPPORTED_SUFFIXES", "Limits", "check_metadata", "doc_id_for", "ingest_file",
           "is_report_file"]

if TYPE_CHECKING:
    from archive.services import Archive
    from indexer.pipeline import IngestReport


def ingest_file(archive: Archive, path: Path, *, doc_id: str | None = None, source_name: str | None = None,
                limits: Limits | None = None) -> IngestReport:
    """Index one file; with `limits` it is parsed in a child process bounded in time and memory."""
    from indexer import pipeline
    from indexer.reading import ReadError
    from indexer.sandbox import prepare_isolated

    report = pipeline.IngestReport()
    if limits is None:
        pipeline.ingest_file(archive, path, report, doc_id, source_name)
        return report
    doc_id = doc_id or pipeline.doc_id_for(path)
    name = source_name or path.name
    sha = pipeline.content_hash(path)
    if archive.backend.find_by_sha256(sha) is None:  # else: unchanged or duplicate
        try:
            prepared = prepare_isolated(path, archive.config.chunk_chars, doc_id, name, limits, sha)
        except ReadError as exc:
            pipeline._failed(report, name, exc.reason)
            return report
        pipeline.ingest_prepared(archive, path, report, prepared)
    else:
        pipeline.ingest_file(archive, path, report, doc_id, name)
    return report


def doc_id_for(path: Path) -> str:
    """The id a file's document is stored under (its place on disk)."""
    from indexer.pipeline import doc_id_for as owner

    return owner(path)


def check_metadata(values: dict) -> None:
    """ValueError when metadata values break the indexer's rules (year range, document types, dates)."""
    from indexer.metadata import extract_metadata

    extract_metadata("", "metadata.txt", values)
