"""The write side: read report files, clean them, extract metadata, chunk and index them.

Other packages (the upload API, the catalogue's corrections) call it through `ingest_file`,
`check_metadata`, `checked_metadata`, `metadata_fields` and `doc_id_for` here, never its internals;
modules load only when one of them is called.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from indexer.reading import SIDECAR_SUFFIX, SUPPORTED_SUFFIXES, is_report_file
from indexer.sandbox import Limits

__all__ = ["SIDECAR_SUFFIX", "SUPPORTED_SUFFIXES", "Limits", "check_metadata", "checked_metadata", "doc_id_for",
           "ingest_file", "is_report_file", "metadata_fields"]

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


def metadata_fields() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The fields a report's metadata has (listed as missing when not found), and every field a person may set
    (a sidecar, a correction through the API): the first and the place fields above the region."""
    from indexer.metadata import FIELDS, SIDECAR_FIELDS

    return FIELDS, SIDECAR_FIELDS


def checked_metadata(values: dict) -> dict:
    """Metadata values a person gives, checked and converted as a sidecar's are: ValueError in Chinese."""
    from indexer.metadata import checked_fields

    return checked_fields(values)
