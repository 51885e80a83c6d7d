"""Read, clean and cut one untrusted file in a child process bounded in time and memory.

Parsers (python-docx, lxml, pypdf, charset detection) run on bytes a client chose; a file that
makes one of them loop or swell must cost a child process, not the server. The child is
spawned fresh for each file (no state shared with the server's threads), gets an address-space
limit, and is killed when it runs past its time; whatever happens, the caller gets the parsed
document or a ReadError with a reason in Chinese.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
from dataclasses import dataclass
from pathlib import Path

from indexer.reading import ReadError

log = logging.getLogger(__name__)

PARSE_SECONDS = 30.0
PARSE_MEMORY_BYTES = 1536 * 2**20  # address space: Python, lxml and the parsed text of a large report
CPU_GRACE_S = 5


@dataclass(frozen=True)
class Limits:
    """How long and how much memory one file's parsing may take."""

    seconds: float = PARSE_SECONDS
    memory_bytes: int = PARSE_MEMORY_BYTES


def _child(conn, path: str, chunk_chars: int, doc_id: str, source_name: str, limits: Limits,
           sha256: str | None) -> None:
    import resource

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # each BLAS thread reserves address space
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    # The parent kills a child that runs past its time; this stops one whose parent was killed first.
    cpu = math.ceil(limits.seconds) + CPU_GRACE_S
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    try:
        from indexer.limits import check_report
        from indexer.pipeline import prepare

        prepared = prepare(Path(path), chunk_chars, doc_id, source_name, sha256)
        check_report(path, [c.text for c in prepared.chunks])
        conn.send(("ok", prepared))
    except ReadError as exc:
        conn.send(("failed", exc.reason))
    except MemoryError:
        conn.send(("failed", "解析时内存超限"))
    except (OSError, ValueError) as exc:  # what the pipeline itself reports as a failed file
        conn.send(("failed", str(exc)))
    finally:
        conn.close()


def prepare_isolated(path: Path, chunk_chars: int, doc_id: str, source_name: str, limits: Limits = Limits(),
                     sha256: str | None = None):
    """`pipeline.prepare` of one file, run in a bounded child process; ReadError when it cannot be."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(send, str(path), chunk_chars, doc_id, source_name,
                                                 limits, sha256), daemon=True)
    child.start()
    send.close()
    try:
        if not receive.poll(limits.seconds):
            raise ReadError(path, f"解析超时：超过 {limits.seconds:g} 秒")
        try:
            answer = receive.recv()
        except (EOFError, OSError):  # the child died without answering: killed for memory, say
            raise ReadError(path, "解析进程异常退出（文件过大或已损坏）") from None
    finally:
        receive.close()
        if child.is_alive():
            child.kill()
        child.join(5)
    if answer[0] != "ok":
        raise ReadError(path, answer[1])
    log.debug("parsed %s in a child process (exit %s)", path, child.exitcode)
    return answer[1]
