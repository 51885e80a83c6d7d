"""Shared helpers for the benchmarks: timing, percentiles, memory, machine facts, RESULTS.md sections."""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "RESULTS.md"


def report(*parts) -> None:
    """A benchmark's figures go to stdout: printing them is the benchmark's job."""
    print(*parts, flush=True)


def pct(values, *ps: float) -> list[float]:
    """Percentiles (nearest-rank interpolation by numpy) of a list of numbers."""
    arr = np.asarray(values, dtype=np.float64)
    return [float(np.percentile(arr, p)) for p in ps] if len(arr) else [float("nan")] * len(ps)


def ms_summary(seconds: list[float]) -> tuple[float, float, float]:
    """p50, p95, p99 in milliseconds."""
    p50, p95, p99 = pct([s * 1000 for s in seconds], 50, 95, 99)
    return p50, p95, p99


def proc_status(pid: int | str = "self") -> dict[str, int]:
    """VmRSS and VmHWM (peak resident set) of a process, in bytes, from /proc."""
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":", 1)
                out[key] = int(value.split()[0]) * 1024
    except OSError:
        pass
    return out


def tree_rss(pid: int) -> int:
    """Resident set of a process and its children (waitress serves from one process)."""
    try:
        import psutil

        p = psutil.Process(pid)
        return p.memory_info().rss + sum(c.memory_info().rss for c in p.children(recursive=True))
    except Exception:  # noqa: BLE001 - psutil missing or the process gone: fall back to /proc
        return proc_status(pid).get("VmRSS", 0)


def mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB"


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def machine() -> dict[str, str]:
    """The facts a reader needs to compare figures: CPU, cores, memory, Python, load."""
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        mem = f"{kb / 2**20:.1f} GiB"
    except (OSError, AttributeError):
        pass
    return {"cpu": cpu, "nproc": str(os.cpu_count()), "memory": mem,
            "python": platform.python_version(), "platform": platform.platform(),
            "date": dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
            "load": load_average(), "command": " ".join([Path(sys.executable).name, *sys.argv])}


class Timer:
    """Accumulates wall time per named stage."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = {}

    def add(self, name: str, seconds: float) -> None:
        self.totals[name] = self.totals.get(name, 0.0) + seconds

    def time(self, name: str, fn, *args, **kwargs):
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self.add(name, time.perf_counter() - t)


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def table(header: list[str], rows: list[list]) -> list[str]:
    """A Markdown table."""
    fmt = [lambda v: f"{v:,.1f}" if isinstance(v, float) else str(v)][0]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return lines


def update_results(name: str, lines: list[str], path: Path = RESULTS) -> None:
    """Replace (or append) the section between `<!-- bench:name -->` markers in RESULTS.md."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = "\n".join([start, *lines, end])
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1]
        text = before + block + after
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def machine_lines(title: str) -> list[str]:
    m = machine()
    return [f"### {title}", "",
            f"- date: {m['date']}; command: `{m['command']}`",
            f"- machine: {m['cpu']}, {m['nproc']} cores, {m['memory']} RAM; Python {m['python']}; "
            f"load average at start {m['load']} (the machine is shared: other people's tests run on it)", ""]
