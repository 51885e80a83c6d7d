"""The write side in one place: files -> documents and passages -> tokens and vectors -> backend."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from archive.backends.base import IndexItem
from archive.embedders import embedding_text
from archive.errors import ArchiveError
from archive.models import Chunk, Document, chunk_id_for
from archive.services import Archive
from archive.text import tokenize
from indexer.chunking import chunk_text
from indexer.cleaning import clean
from indexer.metadata import extract_metadata, strip_title
from indexer.reading import SUPPORTED_SUFFIXES, ReadError, read_document, read_sidecar, sidecar_paths

log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    """What an ingest run did, file by file."""

    indexed: list[str] = field(default_factory=list)  # doc ids written (new or changed)
    unchanged: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (file, doc id it duplicates)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    passages: int = 0
    embedded: int = 0  # passages embedded now (not found in the cache)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        return (f"{len(self.indexed)} 篇已索引, {len(self.unchanged)} 篇未变, {len(self.duplicates)} 篇重复跳过, "
                f"{len(self.failed)} 篇失败; {self.passages} 段落, 新嵌入 {self.embedded} 段, "
                f"{self.seconds:.1f} 秒")


def discover(paths: Iterable[Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """Report files under the given files and folders (sorted), and the paths that cannot be used."""
    found, problems = [], []
    for path in map(Path, paths):
        if path.is_dir():
            found += [p for p in sorted(path.rglob("*")) if p.is_file() and _is_report(p)]
        elif path.is_file():
            found.append(path) if _is_report(path) else problems.append((str(path), "不支持的文件类型"))
        else:
            problems.append((str(path), "文件或目录不存在"))
    return list(dict.fromkeys(found)), problems


def _is_report(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_SUFFIXES and not path.name.endswith(".meta.json") \
        and not path.name.startswith(".")


def doc_id_for(path: Path) -> str:
    """A document's id is its file's place: re-ingesting the file (even changed) replaces it."""
    return hashlib.sha1(str(path.resolve()).encode("utf-8")).hexdigest()[:16]


def content_hash(path: Path) -> str:
    sha = hashlib.sha256(path.read_bytes())
    for side in sidecar_paths(path):
        if side.is_file():  # a changed sidecar changes the document
            sha.update(side.read_bytes())
    return sha.hexdigest()


def prepare(path: Path, chunk_chars: int, doc_id: str | None = None,
            source_name: str | None = None) -> tuple[Document, list[Chunk]]:
    """Read, clean, describe and cut one file; ReadError if it holds no usable report."""
    raw = read_document(path)
    meta = extract_metadata(raw.text, source_name or path.name, read_sidecar(path))
    body = strip_title(clean(raw.text), meta.title)
    passages = chunk_text(body, max_chars=chunk_chars)
    if not passages:
        raise ReadError(path, "清理后没有正文")
    doc_id = doc_id or doc_id_for(path)
    doc = Document(
        doc_id=doc_id, title=meta.title, region=meta.region, year=meta.year, doc_type=meta.doc_type,
        publisher=meta.publisher, published=meta.published, doc_number=meta.doc_number,
        source_name=source_name or path.name, sha256=content_hash(path), missing=tuple(meta.missing),
    )
    chunks = [Chunk(chunk_id_for(doc_id, i), doc_id, i, p.section, p.text, figures_of(p.text))
              for i, p in enumerate(passages)]
    return doc, chunks


def figures_of(text: str) -> tuple[dict, ...]:
    """The numeric facts of a passage, as stored with it."""
    from archive.figures import extract_figures

    return tuple(f.to_dict() for f in extract_figures(text))


def vectors_and_tokens(archive: Archive, chunks: list[Chunk]):
    vectors = archive.embedder.embed_passages([embedding_text(c) for c in chunks])
    return vectors, [tokenize(c.text) for c in chunks]


def ingest_file(archive: Archive, path: Path, report: IngestReport, doc_id: str | None = None,
                source_name: str | None = None) -> str | None:
    """Ingest one file into the report; returns the doc id written or kept, None if it failed."""
    name = source_name or str(path)
    try:
        doc_id = doc_id or doc_id_for(path)
        sha = content_hash(path)
        existing = archive.backend.find_by_sha256(sha)
        if existing == doc_id:
            report.unchanged.append(doc_id)
            return doc_id
        if existing is not None:
            report.duplicates.append((name, existing))
            return existing
        doc, chunks = prepare(path, archive.config.chunk_chars, doc_id, source_name)
        before = archive.embedder.misses
        vectors, tokens = vectors_and_tokens(archive, chunks)
        archive.backend.index_document(doc, chunks, vectors, tokens)
    except (ReadError, OSError, ValueError) as exc:
        reason = exc.reason if isinstance(exc, ReadError) else str(exc)
        log.warning("failed %s: %s", name, reason)
        report.failed.append((name, reason))
        return None
    report.indexed.append(doc.doc_id)
    report.passages += len(chunks)
    report.embedded += archive.embedder.misses - before
    if doc.missing:
        log.info("%s: 未识别 %s", name, ", ".join(doc.missing))
    return doc.doc_id


def ingest_paths(archive: Archive, paths: Iterable[Path], progress: bool = False) -> IngestReport:
    """Ingest files and folders; a file that fails is reported and the rest go on."""
    started = time.perf_counter()
    files, problems = discover(paths)
    report = IngestReport(failed=list(problems))
    items: Iterable[Path] = files
    if progress:
        from tqdm import tqdm

        items = tqdm(files, desc="索引", unit="篇")
    for path in items:
        ingest_file(archive, path, report)
    report.seconds = time.perf_counter() - started
    return report


def _reindex_items(archive: Archive, docs: list[Document]) -> Iterator[IndexItem]:
    for doc in docs:
        # Figures are found again: a better extractor improves old reports on reindex.
        chunks = [replace(c, figures=figures_of(c.text)) for c in archive.backend.get_chunks(doc.doc_id)]
        vectors, tokens = vectors_and_tokens(archive, chunks)
        yield doc, chunks, vectors, tokens


def reindex(archive: Archive) -> int:
    """Rebuild the whole index beside the live one (cached vectors re-used), then switch to it."""
    docs = archive.backend.list_documents()
    count = archive.backend.rebuild(_reindex_items(archive, docs))
    if count != len(docs):
        raise ArchiveError(f"reindex wrote {count} documents, expected {len(docs)}")
    return count
