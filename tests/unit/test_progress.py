"""Ingest progress: the figures a person reads, and the log lines written when output is not a terminal."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from indexer.progress import Progress, describe, duration, time_left

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("seconds, expected", [
    (0, "0秒"), (0.4, "0秒"), (45, "45秒"), (59.6, "1分00秒"), (200, "3分20秒"), (3599, "59分59秒"),
    (3600, "1小时00分"), (7500, "2小时05分"), (-3, "0秒"),
])
def test_duration(seconds, expected):
    assert duration(seconds) == expected


@pytest.mark.parametrize("done, total, elapsed, expected", [
    (0, 10, 5.0, None),  # nothing done yet: no pace to go by
    (5, 10, 0.0, None),
    (1, 4, 10.0, 30.0),
    (5, 10, 20.0, 20.0),
    (10, 10, 20.0, 0.0),
])
def test_time_left(done, total, elapsed, expected):
    assert time_left(done, total, elapsed) == expected


@pytest.mark.parametrize("done, total, embedded, elapsed, expected", [
    (3, 12, 250, 20.0, "已嵌入 250 段，12.5 段/秒，文件 3/12，已用 20秒，预计剩余 1分00秒"),
    (0, 40, 0, 0.0, "已嵌入 0 段，0.0 段/秒，文件 0/40，已用 0秒，预计剩余 未知"),
    (1500, 3000, 200000, 16000.0,
     "已嵌入 200,000 段，12.5 段/秒，文件 1,500/3,000，已用 4小时26分，预计剩余 4小时26分"),
])
def test_describe(done, total, embedded, elapsed, expected):
    assert describe(done, total, embedded, elapsed) == expected


class Clock:
    """A clock the test moves by hand: the lines are due by time, not by count."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_log_mode_writes_a_line_every_ten_seconds_and_one_at_the_end(caplog):
    clock = Clock()
    caplog.set_level(logging.INFO, logger="indexer.progress")
    shown = Progress(6, "log", clock=clock)
    for step in (4, 4, 4, 9, 2, 1):  # seconds each file takes; 10 passages each
        clock.now += step
        shown.update(1, 10)
    shown.close()
    shown.close()  # a second close repeats nothing
    lines = [r.getMessage() for r in caplog.records if r.name == "indexer.progress"]
    assert lines == [
        "进度: 已嵌入 30 段，2.5 段/秒，文件 3/6，已用 12秒，预计剩余 12秒",  # 12 s after the start
        # 4 files at 21 s: 9 s after the last line, none yet
        "进度: 已嵌入 50 段，2.2 段/秒，文件 5/6，已用 23秒，预计剩余 5秒",
        "进度: 已嵌入 60 段，2.5 段/秒，文件 6/6，已用 24秒，预计剩余 0秒",  # the closing line
    ]


def test_an_ingest_that_fails_before_its_first_file_writes_no_progress_line(caplog):
    """Its one line is the error (the indexer's "one clear line" on a corrupt index or a lost cluster)."""
    clock = Clock()
    caplog.set_level(logging.INFO, logger="indexer.progress")
    shown = Progress(9, "log", clock=clock)
    clock.now += 30
    shown.close()
    assert not [r for r in caplog.records if r.name == "indexer.progress"]


def test_bar_mode_writes_no_log_lines(caplog, capsys):
    caplog.set_level(logging.INFO, logger="indexer.progress")
    shown = Progress(2, "bar")
    shown.update(1, 5)
    shown.update(1, 7)
    shown.close()
    assert not [r for r in caplog.records if r.name == "indexer.progress"]
    assert "已嵌入 12 段" in capsys.readouterr().err


def test_indexer_writes_progress_lines_when_output_is_not_a_terminal(tmp_path, demo_dir):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")}
    env.update(ARCHIVE_EMBEDDER="hash", ARCHIVE_DATA_DIR=str(tmp_path), ARCHIVE_LOG_LEVEL="INFO")
    out = subprocess.run([sys.executable, "-m", "indexer", "ingest", str(demo_dir)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    files = len([p for p in demo_dir.iterdir() if p.name != "README.md"])
    lines = [x for x in out.stderr.splitlines() if "进度: " in x]
    assert lines, out.stderr
    m = re.search(r"已嵌入 ([\d,]+) 段，[\d.,]+ 段/秒，文件 (\d+)/(\d+)，已用 \S+，预计剩余 0秒", lines[-1])
    assert m and int(m.group(2)) == int(m.group(3)) == files, lines[-1]
    assert int(m.group(1).replace(",", "")) > 0
    assert "\r" not in out.stderr  # no bar redrawn into a log
