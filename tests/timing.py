"""Where the suite's time goes, opt-in (TEST_TIMING=1): wall and CPU per module, subprocesses by kind, JVMs.

Each pytest process (the controller and every xdist worker) adds up, per test module, the wall time of its
tests (setup, call and teardown), its own CPU and the CPU of the children it reaped (resource.getrusage:
`python -m indexer`, `scripts/es.sh` and the Elasticsearch launcher it waits for), and counts the
subprocesses it starts by kind. The Elasticsearch server JVMs are detached (no parent waits for them), so
the controller samples the CPU of each one under this checkout's es.sh directory from /proc/<pid>/stat
twice a second until it ends. Each process writes its share to test-output/timing/<name>.json; the
controller prints the table at the end and writes it to test-output/timing/summary.txt.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import subprocess
import threading
import time
from collections import defaultdict
from pathlib import Path

import pytest

log = logging.getLogger(__name__)

OUT = Path(__file__).resolve().parents[1] / "test-output" / "timing"
TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
SAMPLE_S = 0.5
SERVER_CLASS = b"org.elasticsearch.bootstrap.Elasticsearch"  # the server JVM's main class (`-m module/class`)


def cpu_now() -> tuple[float, float]:
    """(this process's CPU, its reaped children's CPU) in seconds."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, kids.ru_utime + kids.ru_stime


def kind_of(args) -> str:
    """A subprocess's kind: `python -m <module>`, `es.sh <action>`, or its program's name."""
    argv = [str(a) for a in ([args] if isinstance(args, str | bytes | os.PathLike) else args)]
    if not argv:
        return "?"
    name = Path(argv[0].split()[0]).name
    if name.startswith("python") and "-m" in argv[1:-1]:
        return f"python -m {argv[argv.index('-m') + 1]}"
    if name == "es.sh":
        return f"es.sh {argv[1] if len(argv) > 1 else ''}".strip()
    return name


class Recorder:
    """One pytest process's share: per module [tests, wall, own CPU, children's CPU], subprocesses by kind."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.modules: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0, 0.0])
        self.spawned: dict[str, int] = defaultdict(int)
        self._popen_init = subprocess.Popen.__init__

    def count_spawns(self) -> None:
        recorder, original = self, self._popen_init

        def init(popen, args, *rest, **kwargs):
            recorder.spawned[kind_of(args)] += 1
            original(popen, args, *rest, **kwargs)

        subprocess.Popen.__init__ = init

    def restore(self) -> None:
        subprocess.Popen.__init__ = self._popen_init

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item):
        wall, (own, kids) = time.perf_counter(), cpu_now()
        yield
        own2, kids2 = cpu_now()
        row = self.modules[item.nodeid.split("::", 1)[0]]
        row[0] += 1
        row[1] += time.perf_counter() - wall
        row[2] += own2 - own
        row[3] += kids2 - kids

    def share(self) -> dict:
        own, kids = cpu_now()
        return {"name": self.name, "modules": dict(self.modules), "spawned": dict(self.spawned),
                "process_cpu": own, "children_cpu": kids}


class JvmSampler:
    """The CPU of each Elasticsearch server JVM under `es_dir`, sampled from /proc until the session ends."""

    def __init__(self, es_dir: str) -> None:
        self.es_dir = es_dir
        self.cpu: dict[int, float] = {}
        self.ports: dict[int, str] = {}  # pid -> the node's directory (node-<http port>), from ES_PATH_CONF
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="jvm-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sample()

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_S):
            self._sample()

    def _sample(self) -> None:
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                args = (proc / "cmdline").read_bytes()
                if SERVER_CLASS not in args or self.es_dir.encode() not in args:
                    continue
                fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # it ended between the listing and the read
                continue
            pid = int(proc.name)
            if pid not in self.ports:
                self.ports[pid] = node_dir(proc)
            self.cpu[pid] = (int(fields[11]) + int(fields[12])) / TICK  # utime, stime

    def share(self) -> dict:
        by_node: dict[str, list[float]] = defaultdict(list)
        for pid, cpu in self.cpu.items():
            by_node[self.ports.get(pid, "?")].append(cpu)
        return {"jvms": len(self.cpu), "jvm_cpu": sum(self.cpu.values()), "by_node": dict(by_node)}


def node_dir(proc: Path) -> str:
    """`node-<port>` of a server JVM: es.sh gives each node ES_PATH_CONF=<es dir>/node-<port>/config."""
    try:
        env = (proc / "environ").read_bytes().split(b"\0")
    except OSError:
        return "?"
    conf = next((e[len(b"ES_PATH_CONF="):].decode() for e in env if e.startswith(b"ES_PATH_CONF=")), "")
    return Path(conf).parent.name or "?"


class Controller:
    """The plugin of the process that prints: samples the JVMs, then gathers every process's share."""

    def __init__(self, recorder: Recorder | None) -> None:
        self.recorder = recorder
        self.sampler: JvmSampler | None = None
        self.wall = time.perf_counter()

    def pytest_sessionstart(self, session) -> None:
        from tests import es_server

        try:
            self.sampler = JvmSampler(str(es_server.es_dir()))
            self.sampler.start()
        except (OSError, subprocess.SubprocessError) as exc:
            log.warning("TEST_TIMING: no JVM sampling (%s)", exc)

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter) -> None:
        jvms = {"jvms": 0, "jvm_cpu": 0.0}
        if self.sampler:
            self.sampler.stop()
            jvms = self.sampler.share()
        if self.recorder:
            write_share(self.recorder.share())
        text = summary([json.loads(p.read_text()) for p in sorted(OUT.glob("*.json"))], jvms,
                       time.perf_counter() - self.wall)
        (OUT / "summary.txt").write_text(text, encoding="utf-8")
        terminalreporter.write_sep("=", "TEST_TIMING")
        terminalreporter.write_line(text)


def write_share(share: dict) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{share['name']}.json").write_text(json.dumps(share), encoding="utf-8")


def summary(shares: list[dict], jvms: dict, wall: float, top: int = 25) -> str:
    """The table: the modules by wall, the subprocesses by kind, the totals of CPU."""
    rows = []
    for share in shares:
        for module, (tests, mwall, own, kids) in share["modules"].items():
            rows.append((mwall, own, kids, tests, share["name"], module))
    rows.sort(reverse=True)
    lines = [f"{'wall s':>8} {'cpu s':>8} {'child s':>8} {'tests':>6} worker module"]
    lines += [f"{w:8.1f} {o:8.1f} {k:8.1f} {t:6d} {n:6} {m}" for w, o, k, t, n, m in rows[:top]]
    spawned: dict[str, int] = defaultdict(int)
    for share in shares:
        for kind, count in share["spawned"].items():
            spawned[kind] += count
    lines.append("subprocesses: " + ", ".join(f"{k} x{c}" for k, c in sorted(spawned.items(), key=lambda kv: -kv[1])))
    per_worker = ", ".join(f"{s['name']} {sum(r[1] for r in s['modules'].values()):.0f}" for s in shares)
    own = sum(s["process_cpu"] for s in shares)
    kids = sum(s["children_cpu"] for s in shares)
    lines.append(f"wall {wall:.0f} s (tests' wall by worker: {per_worker}); load {os.getloadavg()[0]:.2f}")
    lines.append(f"CPU s: pytest processes {own:.0f}, their reaped children {kids:.0f}, "
                 f"Elasticsearch JVMs {jvms['jvm_cpu']:.0f} ({jvms['jvms']} started); "
                 f"total {own + kids + jvms['jvm_cpu']:.0f}")
    if jvms.get("by_node"):
        lines.append("JVM CPU s by node (one figure per start): " + "; ".join(
            f"{node} " + " + ".join(f"{c:.0f}" for c in cpus) for node, cpus in sorted(jvms["by_node"].items())))
    return "\n".join(lines)


class WorkerEnd:
    """An xdist worker writes its share when its session ends."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def pytest_sessionfinish(self) -> None:
        write_share(self.recorder.share())
        self.recorder.restore()


def register(config) -> None:
    """Add the plugins under TEST_TIMING=1: a recorder in the process that runs tests, the controller's."""
    if os.environ.get("TEST_TIMING") != "1":
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    runs_tests = worker is not None or not getattr(config.option, "numprocesses", None)
    recorder = Recorder(worker or "main") if runs_tests else None
    if recorder:
        recorder.count_spawns()
        config.pluginmanager.register(recorder, "tests-timing-recorder")
    if worker:
        config.pluginmanager.register(WorkerEnd(recorder), "tests-timing-worker")
    else:
        if OUT.is_dir():
            for old in OUT.glob("*.json"):
                old.unlink()
        config.pluginmanager.register(Controller(recorder), "tests-timing")
