"""`python -m indexer ingest|delete|reindex|stats`."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from archive import originals
from archive.config import ConfigError, load_config
from archive.errors import ArchiveError
from archive.logs import configure_logging
from archive.services import Archive

log = logging.getLogger("indexer")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m indexer", description="报告档案索引工具")
    sub = parser.add_subparsers(dest="command", required=True)
    ingest = sub.add_parser("ingest", help="index report files and folders (txt, html, pdf, docx)")
    ingest.add_argument("paths", nargs="+", type=Path)
    ingest.add_argument("--device", choices=("cpu", "cuda"), help="device for sentence-transformers")
    ingest.add_argument("--no-progress", action="store_true",
                        help="no progress bar (on a terminal) or progress lines every 10 s (otherwise)")
    delete = sub.add_parser("delete", help="remove a document and its passages")
    delete.add_argument("doc_id")
    reindex = sub.add_parser("reindex", help="rebuild the index beside the live one and switch to it")
    reindex.add_argument("--from-originals", action="store_true",
                         help="cut each report's kept original file again (metadata kept as stored)")
    reindex.add_argument("--no-progress", action="store_true",
                         help="no progress bar (on a terminal) or progress lines every 10 s (otherwise)")
    sub.add_parser("stats", help="print index statistics as JSON")
    return parser


def _progress(args) -> str:
    # A bar on a terminal; in a log file or a pipe a bar is noise, a line every 10 s is readable.
    return "none" if args.no_progress else "bar" if sys.stderr.isatty() else "log"


def _ingest(archive: Archive, args) -> int:
    from indexer.pipeline import ingest_paths

    report = ingest_paths(archive, args.paths, progress=_progress(args))
    for name, reason in report.failed:
        log.error("失败: %s: %s", name, reason)
    for name, doc_id in report.duplicates:
        log.info("重复: %s 与已索引的 %s 内容相同，跳过", name, doc_id)
    log.info("完成: %s", report.summary())
    if report.indexed:
        _warm(archive)
    return 0 if report.ok else 1


def _warm(archive: Archive) -> None:
    """Prepare what `serve`'s first search would wait for, now that the index changed."""
    archive.backend.warm()


def _delete(archive: Archive, args) -> int:
    doc = archive.backend.get_document(args.doc_id)
    if archive.backend.delete_document(args.doc_id):
        if doc is not None:
            originals.forget(archive.config.data_dir, doc)  # its kept original file too
        log.info("已删除 %s", args.doc_id)
        _warm(archive)
        return 0
    log.error("没有编号为 %s 的报告", args.doc_id)
    return 1


def _reindex(archive: Archive, args) -> int:
    from indexer.pipeline import Reindexed, reindex

    report = Reindexed()
    reindex(archive, from_originals=args.from_originals, report=report, progress=_progress(args))
    for doc_id, reason in report.kept:
        log.info("沿用已存段落: %s: %s", doc_id, reason)
    log.info("重建索引完成: %s", report.summary() if args.from_originals else f"{report.documents} 篇")
    _warm(archive)
    return 0


def _stats(archive: Archive, args) -> int:
    sys.stdout.write(json.dumps(archive.backend.stats().to_dict(), ensure_ascii=False, indent=2) + "\n")
    return 0


COMMANDS = {"ingest": _ingest, "delete": _delete, "reindex": _reindex, "stats": _stats}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        overrides = {"device": args.device} if getattr(args, "device", None) else {}
        config = load_config(**overrides)
    except ConfigError as exc:
        _parser().exit(2, f"配置错误: {exc}\n")
    configure_logging(config.log_level, "%(levelname)s %(name)s: %(message)s")
    archive = Archive(config)
    try:
        return COMMANDS[args.command](archive, args)
    except ArchiveError as exc:
        log.error("%s", exc)
        return 1
    finally:
        archive.close()
