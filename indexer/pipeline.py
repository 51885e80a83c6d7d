"""The write side in one place: files -> documents and passages -> tokens and vectors -> backend.

`prepare` is everything about one file that needs no index and no model (read, clean, describe,
cut, find figures, tokenise; what worker processes do); `_Batch` embeds prepared files and writes
them together; `ingest_paths`, `ingest_file`, `ingest_prepared` and `reindex` are the entry points.
A file's content hash is computed once per ingest and travels with it.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import logging
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

from archive import originals
from archive.backends.base import IndexItem
from archive.embedders import embedding_text
from archive.errors import ArchiveError
from archive.models import Chunk, Document, Tokens, chunk_id_for
from archive.services import Archive
from archive.text import document_tokens, heading_tokens
from indexer.chunking import chunk_text, repair_headings
from indexer.cleaning import clean
from indexer.metadata import extract_metadata, strip_title
from indexer.progress import Progress
from indexer.reading import SUPPORTED_SUFFIXES, ReadError, format_of, read_document, read_sidecar, sidecar_paths

log = logging.getLogger(__name__)

MIN_FILES_PER_JOB = 8
HASH_BLOCK = 1 << 20  # content_hash reads files 1 MiB at a time
BATCH_DOCS = 64
BATCH_SECONDS = 1.0
PARENT_POLL_S = 0.5
# Files out in the pool and not yet handed back: enough for the workers to prepare the next batch while this
# process embeds and writes one (BATCH_DOCS), few enough that memory does not grow with the archive.
AHEAD = 2 * BATCH_DOCS
FILES_PER_TASK = 4


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
    """What makes a document the same: the file's bytes and its sidecar's (read once per ingest).
    ReadError when either cannot be read."""
    sha = hashlib.sha256()
    try:
        for part in (path, *(side for side in sidecar_paths(path) if side.is_file())):  # a changed sidecar
            with part.open("rb") as f:  # changes the document; read in blocks: a huge file costs no memory
                while block := f.read(HASH_BLOCK):
                    sha.update(block)
    except OSError as exc:
        raise ReadError(path, _reason(exc)) from exc
    return sha.hexdigest()


def still_held(stored: dict[str, str], coming: dict[str, str]) -> dict[str, str]:
    """What the index holds (content hash -> doc id) that an ingest leaves in place: less the texts of the
    reports it writes again with other content (`coming`: doc id -> the hash of its file now). A file
    carrying such a text is then new wherever it comes in the ingest, before or after the rewrite; were
    the rewrite to fail, the text would be held twice, never lost."""
    return {sha: doc_id for sha, doc_id in stored.items() if coming.get(doc_id, sha) == sha}


class Prepared(NamedTuple):
    """One file made ready to embed and store."""

    doc: Document
    chunks: list[Chunk]
    tokens: Tokens


def prepare(path: Path, chunk_chars: int, doc_id: str | None = None, source_name: str | None = None,
            sha256: str | None = None) -> Prepared:
    """Read, clean, describe, cut and tokenise one file (`sha256`: its content hash, if known already);
    ReadError if it holds no usable report."""
    raw = read_document(path)
    found = _described(raw.text, source_name or path.name, read_sidecar(path), chunk_chars)
    if found is None:
        raise ReadError(path, "清理后没有正文")
    meta, passages = found
    doc_id = doc_id or doc_id_for(path)
    doc = Document(
        doc_id=doc_id, title=meta.title, region=meta.region, year=meta.year, doc_type=meta.doc_type,
        publisher=meta.publisher, published=meta.published, doc_number=meta.doc_number,
        source_name=source_name or path.name, sha256=sha256 or content_hash(path), missing=tuple(meta.missing),
        region_level=meta.region_level, province=meta.province, city=meta.city, covers=meta.covers,
        notes=raw.notes,
    )
    chunks = [Chunk(chunk_id_for(doc_id, i), doc_id, i, p.section, p.text, figures_of(p.text))
              for i, p in enumerate(passages)]
    return Prepared(doc, chunks, document_tokens(doc.title, chunks))


def _described(text: str, name: str, sidecar: dict, chunk_chars: int):
    """A report's text cleaned, described and cut: (its metadata, its passages), or None when no body is left."""
    cleaned = clean(text)
    meta = extract_metadata(text, name, sidecar, cleaned)
    passages = chunk_text(repair_headings(strip_title(cleaned, meta.title)), max_chars=chunk_chars)
    return (meta, passages) if passages else None


# A made-up report that takes the paths a first file takes (heading numbers, a Chinese numeral, a region, a figure).
_WARM_UP = "示例市2023年法治政府建设年度报告\n一、总体情况\n（一）全年收到行政复议申请三十六件，办结率99.7%。\n"


def warm_up(html: bool = False) -> None:
    """Load now what preparing a first file loads: jieba-rs's dictionary, cn2an, the region names' pattern, the
    character tables, and lxml's parser if `html` (about 0.6-0.7 CPU-s a process; a worker does it as it starts)."""
    meta, passages = _described(_WARM_UP, "warm-up.txt", {}, 500)
    chunks = [Chunk(chunk_id_for("warm-up", i), "warm-up", i, p.section, p.text, figures_of(p.text))
              for i, p in enumerate(passages)]
    document_tokens(meta.title, chunks)
    if html:
        import lxml.etree  # noqa: F401  (pages are parsed by it; bs4 only for pages nested past its floor)


def figures_of(text: str) -> tuple[dict, ...]:
    """The numeric facts of a passage, as stored with it."""
    from indexer.figures import figure_dicts

    return figure_dicts(text)


def prepare_each(paths: list[Path], shas: dict[Path, str], chunk_chars: int,
                 ids: dict[Path, str] | None = None) -> list[Prepared | str]:
    """A worker's task: several files, each prepared, or why it cannot be used (one task a file cost the main
    process a quarter of a millisecond a file in the pool's own bookkeeping). `ids`: their doc ids, if known."""
    outcomes: list[Prepared | str] = []
    for path in paths:
        try:
            outcomes.append(prepare(path, chunk_chars, ids and ids[path], sha256=shas[path]))
        except (ReadError, OSError, ValueError) as exc:
            outcomes.append(_reason(exc))
    return outcomes


class _Writing(NamedTuple):
    """A batch handed to the writer thread: its write, its documents, their content hashes -> doc ids."""

    future: Future
    items: list[IndexItem]
    shas: dict[str, str]


class _Batch:
    """Prepared documents embedded one by one and written together (`index_documents`).

    A commit per small document was most of an ingest on the embedded backend (10k corpus: 16 s
    of 26), so documents are written BATCH_DOCS at a time, or as soon as the next file arrives
    once a batch has waited BATCH_SECONDS: readers see new reports, each whole, soon after they
    are read (64 rather than 16 a commit: the 10k corpus's writes 4.7-5.7 -> 4.4-4.5 CPU-s, its
    commits 0.9 -> 0.35; a slow embedder reaches BATCH_SECONDS first anyway). A content hash seen
    earlier in the batch counts as stored (a duplicate).

    `stored`: content hash -> doc id of what the index holds that the ingest leaves in place
    (`still_held`), for the hashes in `looked_up` (one find_by_sha256s for all the files, not a request
    per file: on Elasticsearch those were 1,352 searches for the 10k corpus); the documents this ingest
    writes are added to it as their batches are written, so a copy in a later batch is still a duplicate.
    A hash not looked up is asked of the backend when its file comes.

    `background`: a full batch is written by one writer thread while this one embeds the next, one batch in
    flight at most, in file order (where the backend's writes wait on its server: `writes_in_background`;
    Elasticsearch's node indexed while the ingest waited: the 10k corpus 14.4 -> 11.5 s, 1.06x the embedded
    backend's rate, bench/RESULTS.md). Its reports count as indexed, and its hashes as stored, once it is
    written; a write that failed fails the next `flush` (nothing is written after it). `flush()` and `close()`
    wait for it."""

    def __init__(self, archive: Archive, report: IngestReport, stored: dict[str, str] | None = None,
                 looked_up: Iterable[str] = (), background: bool = False) -> None:
        self.archive, self.report = archive, report
        self.items: list[IndexItem] = []
        self.shas: dict[str, str] = {}  # content hash -> doc id, of the documents waiting here
        self.stored = dict(stored or {})
        self.looked_up = set(looked_up)
        self.started = 0.0
        self.writer = ThreadPoolExecutor(1, thread_name_prefix="ingest-writer") if background else None
        self.writing: _Writing | None = None  # the batch the writer thread is writing

    def existing(self, sha: str) -> str | None:
        """The doc id this content is or will be stored under, if any (waiting here, being written, written,
        or in the index)."""
        if sha in self.shas:
            return self.shas[sha]
        if self.writing is not None and sha in self.writing.shas:
            return self.writing.shas[sha]
        if sha in self.stored or sha in self.looked_up:
            return self.stored.get(sha)
        return self.archive.backend.find_by_sha256(sha)

    def add(self, path: Path, name: str, doc_id: str | None = None, source_name: str | None = None,
            prepared: Prepared | None = None, sha: str | None = None) -> str | None:
        """Queue one file (reported as failed when it cannot be read); the doc id it is or will be stored
        under, or None. Unchanged and duplicate files are noted, not queued. `sha`: its content hash, when
        known."""
        try:
            doc_id = doc_id or doc_id_for(path)
            sha = prepared.doc.sha256 if prepared else sha or content_hash(path)
            existing = self.existing(sha)
            if existing == doc_id:
                self.report.unchanged.append(doc_id)
                # An archive from before originals were kept gets them now.
                keep_original(self.archive, path, sha, source_name or path.name)
            elif existing is not None:
                self.report.duplicates.append((name, existing))
            if existing is not None:
                return existing
            doc, chunks, tokens = prepared or prepare(path, self.archive.config.chunk_chars, doc_id, source_name,
                                                      sha)
            vectors, embedded = self.archive.embedder.embed_counting([embedding_text(c) for c in chunks])
            self.report.embedded += embedded
        except (ReadError, OSError, ValueError) as exc:
            _failed(self.report, name, _reason(exc))
            return None
        keep_original(self.archive, path, sha, doc.source_name)
        if not self.items:
            self.started = time.monotonic()
        self.items.append(IndexItem(doc, chunks, vectors, tokens))
        self.shas[sha] = doc.doc_id
        if doc.missing:
            log.info("%s: 未识别 %s", name, ", ".join(doc.missing))
        if len(self.items) >= BATCH_DOCS or time.monotonic() - self.started >= BATCH_SECONDS:
            self.flush(wait=False)
        return doc.doc_id

    def flush(self, wait: bool = True) -> None:
        """Write the documents waiting here, after the batch being written (whose failure is raised here);
        without `wait`, in the writer thread if there is one."""
        self._written()
        if not self.items:
            return
        items, shas = self.items, self.shas
        self.items, self.shas = [], {}
        if self.writer is None:
            self._done(items, shas, self._write(items))
            return
        self.writing = _Writing(self.writer.submit(self._write, items), items, shas)
        if wait:
            self._written()

    def close(self) -> None:
        """Wait for the batch being written, if any (its failure is not raised: the caller is leaving already,
        or `flush` raised it), and stop the writer thread."""
        if self.writer is not None:
            self.writer.shutdown(wait=True)

    def _write(self, items: list[IndexItem]) -> dict[str, Document]:
        """Write a batch; the documents it replaces, as they were."""
        before = self.archive.backend.get_documents([item.doc.doc_id for item in items])
        self.archive.backend.index_documents(items)
        return before

    def _written(self) -> None:
        """Wait for the batch being written, and count it (or raise why it was not written)."""
        writing, self.writing = self.writing, None
        if writing is not None:
            self._done(writing.items, writing.shas, writing.future.result())

    def _done(self, items: list[IndexItem], shas: dict[str, str], before: dict[str, Document]) -> None:
        for doc, chunks, *_ in items:
            self.report.indexed.append(doc.doc_id)
            self.report.passages += len(chunks)
        self._forget_replaced(items, before)
        self.stored.update(shas)

    def _forget_replaced(self, items: list[IndexItem], before: dict[str, Document]) -> None:
        """A report stored again with other content: its old original goes, unless a live report still has it
        (as a deleted report's does) or a report waiting here will (its file was kept already), so re-ingesting
        changed files does not pile up files nobody can reach."""
        for item in items:
            old = before.get(item.doc.doc_id)
            if old is None or old.sha256 == item.doc.sha256 or old.sha256 in self.shas:
                continue
            if self.archive.backend.find_by_sha256(old.sha256) is None:
                originals.forget(self.archive.config.data_dir, old)


def keep_original(archive: Archive, path: Path, sha: str, name: str) -> None:
    """Keep the original file and its sidecar's source_url for downloads (archive/originals.py)."""
    originals.keep(archive.config.data_dir, path, sha, name, read_sidecar(path).get("source_url"))


def _reason(exc: Exception) -> str:
    """Why a file could not be used, in Chinese first."""
    if isinstance(exc, ReadError):
        return exc.reason
    if isinstance(exc, OSError):
        return f"无法读取文件：{exc.strerror or exc}"
    return str(exc)


def _failed(report: IngestReport, name: str, reason: str) -> None:
    log.warning("导入失败 %s：%s", name, reason)
    report.failed.append((name, reason))


def ingest_file(archive: Archive, path: Path, report: IngestReport, doc_id: str | None = None,
                source_name: str | None = None) -> str | None:
    """Ingest one file into the report; returns the doc id written or kept, None if it failed."""
    batch = _Batch(archive, report)
    stored = batch.add(path, source_name or str(path), doc_id, source_name)
    batch.flush()
    return stored


def _leave_with_parent(parent: int) -> None:
    """Worker start-up: exit once the ingest that started this worker is gone (killed, say).
    A pool's workers otherwise wait for work on their queue for ever, one tokenizer dictionary each."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_S)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _start_worker(parent: int, html: bool) -> None:
    _leave_with_parent(parent)
    warm_up(html)


def worker_count(configured: int, files: int) -> int:
    """Worker processes for an ingest of `files` files (`configured`: ARCHIVE_INGEST_JOBS, 0 for one per core)."""
    jobs = configured or os.cpu_count() or 1
    # A pool costs each worker its start-up (jieba-rs's dictionary, cn2an, the region pattern, lxml: about 0.6-0.7
    # CPU-s; spawned, its imports too): only worth it for many files.
    return min(jobs, files // MIN_FILES_PER_JOB)


def ingest_paths(archive: Archive, paths: Iterable[Path], progress: bool | str = False) -> IngestReport:
    """Ingest files and folders; a file that fails is reported and the rest go on.

    `progress`: "bar" (or True) for a bar on a terminal, "log" for a log line every 10 s, False for none.

    Reading, cleaning, chunking and tokenising run in ARCHIVE_INGEST_JOBS worker processes;
    embedding and writing stay here, in file order.
    """
    started = time.perf_counter()
    found, problems = discover(paths)
    report = IngestReport(failed=list(problems))
    # The workers start first and load what they need (`warm_up`) while this process hashes the files (an archive
    # ingested again unchanged has them load for nothing, beside the hashing, and leave).
    with worker_pool(worker_count(archive.config.ingest_jobs, len(found)), has_html(found)) as pool:
        # Every file's hash, and the index's answer for all of them at once (not a request per file);
        # unchanged files are skipped before any work is sent out, and _Batch.add judges the others with the
        # hash computed here, so that the workers and the batch read no file twice.
        shas: dict[Path, str] = {}
        for path in found:
            try:
                shas[path] = content_hash(path)
            except ReadError as exc:
                _failed(report, str(path), exc.reason)
        files = list(shas)
        ids = {p: doc_id_for(p) for p in files}  # once a file, here: a path resolved costs 20-30 µs
        stored = still_held(archive.backend.find_by_sha256s(shas.values()), {ids[p]: shas[p] for p in files})
        unchanged = {p for p in files if stored.get(shas[p]) == ids[p]}
        for path in unchanged:  # an archive from before originals were kept gets them now
            keep_original(archive, path, shas[path], path.name)
        report.unchanged += [ids[p] for p in files if p in unchanged]
        files = [p for p in files if p not in unchanged]
        shown = Progress(len(files), "bar" if progress is True else progress or "none")
        batch = _Batch(archive, report, stored, shas.values(), background=archive.backend.writes_in_background)
        try:
            with preparing(files, shas, worker_count(archive.config.ingest_jobs, len(files)),
                           archive.config.chunk_chars, ids, pool) as results:
                for path, prepared in results:
                    before = report.embedded
                    if isinstance(prepared, str):
                        _failed(report, str(path), prepared)
                    else:
                        batch.add(path, str(path), ids[path], prepared=prepared, sha=shas[path])
                    shown.update(1, report.embedded - before)
            batch.flush()
        finally:
            batch.close()
            shown.close()
    report.seconds = time.perf_counter() - started
    return report


def has_html(files: list[Path]) -> bool:
    """Whether any of the files is a page (its workers then load lxml's parser as they start)."""
    return any(format_of(p) == "html" for p in files)


@contextlib.contextmanager
def worker_pool(jobs: int, html: bool = False) -> Iterator[ProcessPoolExecutor | None]:
    """`jobs` worker processes for `preparing`, started now, each loading what it needs as it starts (`warm_up`;
    `html`: lxml's parser too); None for one job or fewer. Shut down on leaving, work not yet begun cancelled."""
    if jobs <= 1:
        yield None
        return
    pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context(start_method()),
                               initializer=_start_worker, initargs=(os.getpid(), html))
    try:
        pool.submit(int)  # the workers start on a first task: forked, all of them at once
        yield pool
    finally:
        pool.shutdown(cancel_futures=True)


@contextlib.contextmanager
def preparing(files: list[Path], shas: dict[Path, str], jobs: int, chunk_chars: int,
              ids: dict[Path, str] | None = None,
              pool: ProcessPoolExecutor | None = None) -> Iterator[Iterator[tuple[Path, Prepared | str | None]]]:
    """The files prepared by `jobs` worker processes, in file order: (path, Prepared, or why the file cannot be
    used). With one job or fewer, (path, None): the caller prepares it (`_Batch.add`), in this process.
    `ids`: the files' doc ids, if known (else each worker finds them); `pool`: workers started already
    (`worker_pool`, the caller's to shut down), else `jobs` of them are started here."""
    if jobs <= 1:
        yield ((p, None) for p in files)
        return
    log.info("用 %d 个工作进程准备 %d 个文件", jobs, len(files))
    with contextlib.nullcontext(pool) if pool is not None else worker_pool(jobs, has_html(files)) as workers:
        yield _in_order(workers, files, shas, chunk_chars, max(AHEAD, 4 * FILES_PER_TASK * jobs), ids)


def start_method() -> str:
    """How the ingest starts its workers: forked from this process on Linux when no other thread runs in it (a
    worker then starts with the modules imported here: its first file 0.3-0.4 s sooner, bench.ingest at 10k),
    spawned otherwise (a fork copies no other thread, but may copy a lock one of them holds)."""
    return "fork" if sys.platform.startswith("linux") and threading.active_count() == 1 else "spawn"


def _in_order(pool: ProcessPoolExecutor, files: list[Path], shas: dict[Path, str], chunk_chars: int,
              ahead: int, ids: dict[Path, str] | None = None) -> Iterator[tuple[Path, Prepared | str]]:
    """Each file's outcome in file order, sent out FILES_PER_TASK at a time, with at most `ahead` files out
    and not yet handed back."""
    waiting: collections.deque[tuple[list[Path], Future]] = collections.deque()
    tasks = max(1, ahead // FILES_PER_TASK)
    for i in range(0, len(files), FILES_PER_TASK):
        paths = files[i:i + FILES_PER_TASK]
        waiting.append((paths, pool.submit(prepare_each, paths, {p: shas[p] for p in paths}, chunk_chars,
                                           ids and {p: ids[p] for p in paths})))
        if len(waiting) >= tasks:
            yield from _handed_back(*waiting.popleft())
    while waiting:
        yield from _handed_back(*waiting.popleft())


def _handed_back(paths: list[Path], task: Future) -> Iterator[tuple[Path, Prepared | str]]:
    yield from zip(paths, task.result(), strict=True)


@dataclass
class Reindexed:
    """What a reindex did: documents written, how many were cut again from their kept originals, and the
    others' doc ids with why their stored passages were kept (`from_originals` only)."""

    documents: int = 0
    reread: int = 0
    kept: list[tuple[str, str]] = field(default_factory=list)  # (doc id, why its stored passages were used)
    embedded: int = 0  # passages embedded now (not found in the cache)

    def summary(self) -> str:
        return (f"{self.documents} 篇; {self.reread} 篇从原始文件重新切分, {len(self.kept)} 篇沿用已存段落; "
                f"新嵌入 {self.embedded} 段")


def _item(archive: Archive, doc: Document, chunks: list[Chunk], tokens: Tokens | None, report: Reindexed,
          shown: Progress) -> IndexItem:
    vectors, embedded = archive.embedder.embed_counting([embedding_text(c) for c in chunks])
    report.embedded += embedded
    shown.update(1, embedded)
    return IndexItem(doc, chunks, vectors, tokens or document_tokens(doc.title, chunks))


def _stored_item(archive: Archive, doc: Document, report: Reindexed, shown: Progress) -> IndexItem:
    # Figures and tokens are found again: a better extractor or dictionary improves old reports.
    chunks = [replace(c, figures=figures_of(c.text)) for c in archive.backend.get_chunks(doc.doc_id)]
    return _item(archive, doc, chunks, None, report, shown)


def _reread_item(archive: Archive, doc: Document, prepared: Prepared, report: Reindexed,
                 shown: Progress) -> IndexItem:
    """`doc` with the passages its original is cut into now; everything the index knows about the report
    itself (metadata, corrections, the sidecar's fields, its content hash) stays as stored."""
    chunks = [replace(c, chunk_id=chunk_id_for(doc.doc_id, c.position), doc_id=doc.doc_id) for c in prepared.chunks]
    tokens = prepared.tokens if prepared.doc.title == doc.title else replace(prepared.tokens,
                                                                             title=heading_tokens(doc.title))
    report.reread += 1
    return _item(archive, doc, chunks, tokens, report, shown)


def _reindex_items(archive: Archive, docs: list[Document], from_originals: bool, report: Reindexed,
                   shown: Progress) -> Iterator[IndexItem]:
    if not from_originals:
        for doc in docs:
            yield _stored_item(archive, doc, report, shown)
        return
    by_file: dict[Path, list[Document]] = {}  # a file kept once may be the original of several reports
    for doc in docs:
        original = originals.find(archive.config.data_dir, doc)
        if original is None or original.file is None:
            report.kept.append((doc.doc_id, "没有保存原始文件"))
            yield _stored_item(archive, doc, report, shown)
        else:
            by_file.setdefault(original.file, []).append(doc)
    files = list(by_file)
    chunk_chars = archive.config.chunk_chars
    with preparing(files, {p: by_file[p][0].sha256 for p in files}, worker_count(archive.config.ingest_jobs,
                   len(files)), chunk_chars, {p: by_file[p][0].doc_id for p in files}) as results:
        for path, prepared in results:
            if prepared is None:  # one job: prepared here
                prepared = prepare_each([path], {path: by_file[path][0].sha256}, chunk_chars,
                                        {path: by_file[path][0].doc_id})[0]
            for doc in by_file[path]:
                if isinstance(prepared, str):
                    log.warning("%s: 原始文件无法重新读取（%s），沿用已存段落", doc.doc_id, prepared)
                    report.kept.append((doc.doc_id, f"原始文件无法重新读取：{prepared}"))
                    yield _stored_item(archive, doc, report, shown)
                else:
                    yield _reread_item(archive, doc, prepared, report, shown)


def reindex(archive: Archive, from_originals: bool = False, report: Reindexed | None = None,
            progress: str = "none") -> int:
    """Rebuild the whole index beside the live one (cached vectors re-used), then switch to it; the number of
    documents written. Passages are the stored ones, their figures found again; `from_originals`: each report's
    kept original is read and cut again (what a better reader, cleaner or cutter changes reaches old reports),
    its metadata kept as stored, and a report without a readable original keeps its stored passages.
    `report` is filled in with what was done; `progress` as `ingest_paths`'s ("bar", "log" or "none")."""
    report = report if report is not None else Reindexed()
    docs = archive.backend.list_documents()
    shown = Progress(len(docs), progress)
    try:
        count = archive.backend.rebuild(_reindex_items(archive, docs, from_originals, report, shown))
    finally:
        shown.close()
    report.documents = count
    if count != len(docs):
        raise ArchiveError(f"重建索引写入了 {count} 份报告，应为 {len(docs)} 份")
    return count


def ingest_prepared(archive: Archive, path: Path, report: IngestReport, prepared: Prepared) -> str | None:
    """Store one file already prepared (by `indexer.sandbox`, say) under its doc id, as `ingest_file` does."""
    batch = _Batch(archive, report)
    doc = prepared.doc
    stored = batch.add(path, doc.source_name, doc.doc_id, doc.source_name, prepared=prepared)
    batch.flush()
    return stored
