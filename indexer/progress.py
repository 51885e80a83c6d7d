"""Ingest progress a person can read: passages embedded, their rate, files done and the time left.

On a terminal it is a tqdm bar; otherwise (a log file, a pipe, a service's journal) one log line
every 10 seconds with the same figures, and one at the end.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger("indexer.progress")

LOG_EVERY_S = 10.0


def duration(seconds: float) -> str:
    """A duration as people say it: 45秒, 3分20秒, 2小时5分."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}秒"
    if s < 3600:
        return f"{s // 60}分{s % 60:02d}秒"
    return f"{s // 3600}小时{s % 3600 // 60:02d}分"


def time_left(files_done: int, files_total: int, elapsed: float) -> float | None:
    """Seconds left at the pace so far (files take similar time on average); None before the first file."""
    if files_done <= 0 or elapsed <= 0:
        return None
    return elapsed / files_done * max(files_total - files_done, 0)


def describe(files_done: int, files_total: int, embedded: int, elapsed: float) -> str:
    """The figures of one progress line: passages embedded and their rate, files, time left."""
    rate = embedded / elapsed if elapsed > 0 else 0.0
    left = time_left(files_done, files_total, elapsed)
    return (f"已嵌入 {embedded:,} 段，{rate:,.1f} 段/秒，文件 {files_done:,}/{files_total:,}，"
            f"已用 {duration(elapsed)}，预计剩余 {duration(left) if left is not None else '未知'}")


class Progress:
    """Counts files and embedded passages; shows them as a bar (`mode="bar"`) or log lines (`mode="log"`)."""

    def __init__(self, files_total: int, mode: str, every: float = LOG_EVERY_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.files_total, self.mode, self.every, self.clock = files_total, mode, every, clock
        self.files_done = self.embedded = 0
        self.started = self.last = clock()
        self.logged: tuple[int, int] | None = None  # the counts of the last line written
        self.bar = None
        if mode == "bar":
            from tqdm import tqdm

            self.bar = tqdm(total=files_total, desc="索引", unit="篇", dynamic_ncols=True,
                            bar_format="{desc} {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} 篇 "
                                       "[{elapsed}<{remaining}] {postfix}")

    def update(self, files: int = 1, embedded: int = 0) -> None:
        """A file is done, with `embedded` passages newly embedded for it."""
        self.files_done += files
        self.embedded += embedded
        now = self.clock()
        if self.bar is not None:
            rate = self.embedded / max(now - self.started, 1e-9)
            self.bar.set_postfix_str(f"已嵌入 {self.embedded:,} 段，{rate:,.1f} 段/秒", refresh=False)
            self.bar.update(files)
        elif self.mode == "log" and now - self.last >= self.every:
            self.last = now
            self._log()

    def line(self) -> str:
        """The figures now (see `describe`)."""
        return describe(self.files_done, self.files_total, self.embedded, self.clock() - self.started)

    def _log(self) -> None:
        self.logged = (self.files_done, self.embedded)
        log.info("进度: %s", self.line())

    def close(self) -> None:
        """The bar's last state, or a last line with the final figures (unless the last line had them, or
        no file got done: an ingest that failed before its first file says only why, in one line)."""
        if self.bar is not None:
            self.bar.close()
        elif self.mode == "log" and self.files_done and self.logged != (self.files_done, self.embedded):
            self._log()
