"""A real Elasticsearch for the tests: the one ELASTICSEARCH_URL names, or one `scripts/es.sh` starts.

The shared test node listens on TEST_ES_PORT (9250), away from a development node
on 9200, and is left running after the session so the next run starts in a second
(`ES_PORT=9250 scripts/es.sh stop` stops it). Fault tests start their own node on a
free port (`EsNode.fresh()`), stop and restart it, and remove it afterwards.
Under pytest-xdist the tests that need Elasticsearch are in two groups (`node_group`): "es", those of the
shared node and the private nodes, and "es-own", the cluster's; each group runs on one worker, which
starts its nodes at its first test, so each node starts once; the ports are offset by the worker's
number, so that two workers could never share a node or its data directory.
Without Java or Maven a laptop skips these tests with the reason; under CI=true
anything missing is a failure.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import os
import random
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

from tests.ci import require

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "es.sh"
# pytest-xdist's worker gw<N> is worker N of PYTEST_XDIST_WORKER_COUNT (0 of 1 when not under xdist).
WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
CLUSTER_NODES = 3
TEST_PORT = int(os.environ.get("TEST_ES_PORT", "9250")) + WORKER
# The test cluster: CLUSTER_NODES nodes on HTTP ports from TEST_ES_CLUSTER_PORT (transport 1000 above).
CLUSTER_PORT = int(os.environ.get("TEST_ES_CLUSTER_PORT", "9270")) + CLUSTER_NODES * WORKER
START_TIMEOUT = 600  # the first start downloads ~100 MB from Maven Central
# Test nodes live for minutes over a few hundred documents: the C1 compiler alone is enough, and C2's
# compiling of start-up code is most of a start's CPU. Measured on the 2-core machine, same window: the
# server's CPU to a started node 18 s -> 10 s, the launcher's 4.4 s -> 2.4 s, the start 51 s -> 21 s.
QUICK_JVM = "-XX:TieredStopAtLevel=1"


def unavailable(reason: str):
    """Skip on a laptop without the tools; fail loudly in CI."""
    require(False, f"Elasticsearch: {reason}")


def answers(url: str, timeout: float = 3.0, headers: dict | None = None, context=None) -> bool:
    """True when `url` is an Elasticsearch whose cluster is yellow or green."""
    try:
        request = urllib.request.Request(f"{url}/_cluster/health", headers=headers or {})
        with urllib.request.urlopen(request, timeout=timeout, context=context) as resp:
            return json.load(resp).get("status") in ("green", "yellow")
    except (OSError, ValueError):
        return False


@functools.cache
def es_dir() -> Path:
    """Where scripts/es.sh keeps Elasticsearch and its nodes (.es/, or /var/tmp/... for a checkout
    the node's user cannot enter): asked of the script, so the tests and it never disagree."""
    done = subprocess.run([str(SCRIPT), "dir"], capture_output=True, text=True, timeout=30, check=True)
    return Path(done.stdout.strip())


def missing_tools() -> str | None:
    if not shutil.which("java"):
        return "no `java` on PATH: Elasticsearch 8 needs Java 17+ (or set ELASTICSEARCH_URL)"
    fetched = any(es_dir().glob("elasticsearch-*/bin/elasticsearch"))
    for tool in ("mvn", "unzip") if not fetched else ():
        if not shutil.which(tool):
            return f"no `{tool}` on PATH to fetch Elasticsearch (or set ELASTICSEARCH_URL)"
    return None


def free_port() -> int:
    """A port nothing listens on now. Under xdist one that is this worker's number modulo the worker count,
    below the kernel's ephemeral range, so that two workers never pick the same one (the kernel would hand a
    port just closed to the next asker; and it gives bind(0) odd ports only, so no filtering of those)."""
    if WORKERS == 1:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]
    while True:
        port = random.randrange(20000, 30000)
        port += WORKER - port % WORKERS
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:  # taken: another
                continue
        return port


class EsNode:
    """One node run by scripts/es.sh on `port`, with its own data under .es/node-<port>; with `security`,
    TLS on HTTP and the `elastic` user's password (ES_SECURITY=1)."""

    def __init__(self, port: int, security: bool = False, nodes: int = 1) -> None:
        self.port = port
        self.security = security
        self.nodes = nodes  # >1: the cluster of that many nodes from `port` on (ES_NODES)
        self.url = f"{'https' if security else 'http'}://127.0.0.1:{port}"

    @property
    def home(self) -> Path:
        return es_dir() / f"node-{self.port}"

    @property
    def ca(self) -> Path:
        """The CA that signed a secured node's HTTP certificate."""
        return self.home / "config" / "certs" / "ca" / "ca.crt"

    def admin_headers(self) -> dict:
        """Basic authentication as the `elastic` superuser of a secured node."""
        secret = base64.b64encode(f"elastic:{(self.home / 'elastic-password').read_text()}".encode()).decode()
        return {"Authorization": f"Basic {secret}"}

    def answering(self) -> bool:
        if not self.security:
            return answers(self.url)
        return answers(self.url, headers=self.admin_headers(), context=ssl.create_default_context(cafile=self.ca))

    @classmethod
    def fresh(cls) -> EsNode:
        return cls(free_port())

    def _env(self) -> dict[str, str]:
        env = {**os.environ, "ES_PORT": str(self.port), "ES_SECURITY": "1" if self.security else "0",
               "ES_NODES": str(self.nodes), **quick_jvm()}
        # The test nodes boot beside the suite's other work on 2 cores at load 4-7: es.sh's own 120 s health
        # wait is the margin of a quiet machine, and a start that misses it fails every test of its node.
        env.setdefault("ES_WAIT", "300")
        if self.nodes > 1:  # three JVMs on a 2-core CI machine: small heaps
            env.setdefault("ES_HEAP_MIN", "256m")
            env.setdefault("ES_HEAP_MAX", "512m")
        return env

    def _run(self, action: str, timeout: float) -> subprocess.CompletedProcess:
        return subprocess.run([str(SCRIPT), action], env=self._env(), capture_output=True, text=True,
                              timeout=timeout, check=False)

    def start(self) -> str:
        """Start (or find running) and return the URL; RuntimeError with the script's output otherwise."""
        try:
            done = self._run("start", START_TIMEOUT)
        except subprocess.TimeoutExpired as exc:
            raise RuntimeError(f"scripts/es.sh start took over {START_TIMEOUT} s") from exc
        if done.returncode != 0 or not self.answering():
            raise RuntimeError(f"scripts/es.sh start failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
        return self.url

    def stop(self) -> None:
        done = self._run("stop", 90)
        if done.returncode != 0:
            raise RuntimeError(f"scripts/es.sh stop failed:\n{done.stderr[-3000:]}")

    def kill(self) -> None:
        """SIGKILL the node, as a crash or the OOM killer would: no flush, no clean shutdown.
        Its translog replays at the next start."""
        pidfile = self.home / "es.pid"
        pid = int(pidfile.read_text())
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while not exited(pid):
            if time.monotonic() > deadline:
                raise RuntimeError(f"Elasticsearch (pid {pid}) still runs 30 s after SIGKILL")
            time.sleep(0.05)
        pidfile.unlink()  # es.sh would take a pid that lingers as a zombie for a running node

    def members(self) -> list[EsNode]:
        """Each node of a cluster, on its own port (one node: itself)."""
        return [EsNode(self.port + i) for i in range(self.nodes)] if self.nodes > 1 else [self]

    def remove(self) -> None:
        """Stop the node (every node of a cluster) and delete its data."""
        self.stop()
        for node in self.members():
            shutil.rmtree(node.home, ignore_errors=True)
        (es_dir() / f"node-{self.port}.lock").unlink(missing_ok=True)


def quick_jvm() -> dict[str, str]:
    """ES_JAVA_OPTS and CLI_JAVA_OPTS (the node, and the launcher and tools) with QUICK_JVM first;
    flags already set come after it, so they win."""
    return {name: f"{QUICK_JVM} {os.environ.get(name, '')}".strip() for name in ("ES_JAVA_OPTS", "CLI_JAVA_OPTS")}


def exited(pid: int) -> bool:
    """True once `pid` has ended; a zombie nobody reaps (no init in a container) has ended too."""
    if Path("/proc").is_dir():
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            return state in ("Z", "X")
        except FileNotFoundError:
            return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def start_node(node: EsNode) -> str:
    """Start `node` or skip/fail the test with the reason."""
    reason = missing_tools()
    if reason:
        unavailable(reason)
    try:
        return node.start()
    except RuntimeError as exc:
        stop_quietly(node)  # a node that booted too late for es.sh's health wait would run on unowned
        unavailable(str(exc))


def stop_quietly(node: EsNode) -> None:
    """Stop `node` if it runs, logging (not raising) a failure to: for a start that has already failed."""
    try:
        node.stop()
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        log.warning("could not stop the Elasticsearch on port %s after its failed start: %s", node.port, exc)


# Nodes whose start began when the tests were collected, by name, each with an event set once its
# `es.sh start` has ended: they boot while the tests before theirs run, instead of in front of the
# first test that needs them. One start at a time, in the order the tests need them (the shared node,
# the cluster, the private nodes): all at once, ten JVMs booting beside the first app tests made two
# of them error on the loaded 2-core machine (they pass alone). A fixture claims its node; the
# session's end stops any left unclaimed.
_early: dict[str, tuple[EsNode, threading.Event]] = {}
_cancelled = threading.Event()
_begun: set[str | None] = set()  # the groups whose nodes have begun
SESSION_NODES = ("shared", "cluster")  # kept with ES_KEEP=1; the others are removed with their data


def node_names(item) -> set[str]:
    """The nodes a collected test will ask for, read off its fixtures: "shared" (none when ELASTICSEARCH_URL
    is set), "cluster", and the private nodes of the fault and security tests, "faults" and "secured".
    A backend factory is for the node the test has of its own, else for the cluster its `cluster`
    parameter names, else for the shared node."""
    if item.get_closest_marker("es") is None:
        return set()
    names = set(getattr(item, "fixturenames", ()))
    params = {v for v in getattr(getattr(item, "callspec", None), "params", {}).values() if isinstance(v, str)}
    own = names & {"es_cluster", "crash_node", "secured"}
    wanted = set()
    if not os.environ.get("ELASTICSEARCH_URL") and (
            "es_url" in names or "elasticsearch" in params or ("make_backend" in names and not own
                                                              and "cluster" not in params)):
        wanted.add("shared")
    if "es_cluster" in names or "cluster" in params:
        wanted.add("cluster")
    if "crash_node" in names:
        wanted.add("faults")
    if "secured" in names:
        wanted.add("secured")
    return wanted


def node_group(item) -> str:
    """A test's xdist group: "es-own" for the tests of the three-node cluster, "es" for the others (the shared
    node's and the single private nodes'); the two run side by side on two workers, each starting its own
    nodes. The private nodes stay with the shared one: four JVMs booting beside the cluster's three on the
    loaded 2-core machine made the secured node miss es.sh's 120 s health wait."""
    return "es-own" if "cluster" in node_names(item) else "es"


def nodes_wanted(items) -> dict[str, EsNode]:
    """The nodes the collected tests will ask for (`node_names`), by name, in the order they start."""
    names = set().union(*(node_names(item) for item in items))
    made = {"shared": lambda: EsNode(TEST_PORT), "cluster": lambda: EsNode(CLUSTER_PORT, nodes=CLUSTER_NODES),
            "faults": EsNode.fresh, "secured": lambda: EsNode(free_port(), security=True)}
    return {name: make() for name, make in made.items() if name in names}


def start_early(items, group: str | None = None) -> None:
    """Begin starting, one after another in a background thread, each node the collected tests want
    (those of `group` only, when given) that does not answer yet (nothing when a tool is missing: the
    fixture then says why, as before). Once a session for each group: a second call begins nothing."""
    if group in _begun:
        return
    _begun.add(group)
    wanted = nodes_wanted([item for item in items if group is None or node_group(item) == group])
    if not wanted or missing_tools():
        return
    queue = []
    for name, node in wanted.items():
        if name in _early or (name in SESSION_NODES and node.answering()):
            continue  # the private nodes are on fresh ports: nothing answers there
        _early[name] = (node, threading.Event())
        queue.append(_early[name])
    threading.Thread(target=_start_each, args=(queue,), name="es-early", daemon=True).start()


def _start_each(queue: list[tuple[EsNode, threading.Event]]) -> None:
    for node, done in queue:
        try:
            if not _cancelled.is_set():
                node._run("start", START_TIMEOUT)  # its output is the claimer's `start` to report
        except subprocess.TimeoutExpired:
            log.warning("the early start of Elasticsearch on port %s took over %s s", node.port, START_TIMEOUT)
        finally:
            done.set()


def claim(name: str) -> EsNode | None:
    """The node begun early under `name`, once its start has ended (None when none was begun)."""
    node, done = _early.pop(name, (None, None))
    if done is not None:
        done.wait(timeout=START_TIMEOUT)
    return node


def private_node(name: str, security: bool = False) -> EsNode:
    """A node of the tests' own on a free port, begun early under `name` when it was (not yet started
    otherwise: `start_node` it)."""
    return claim(name) or EsNode(free_port(), security=security)


def stop_unclaimed() -> None:
    """Stop the nodes begun early that no test claimed (an interrupted or filtered session); the private
    ones lose their data too. ES_KEEP=1 keeps the shared node and the cluster."""
    _cancelled.set()  # those not begun yet are not begun
    for name in list(_early):
        node = claim(name)
        if name in SESSION_NODES and os.environ.get("ES_KEEP") == "1":
            continue
        try:
            node.stop() if name in SESSION_NODES else node.remove()
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            log.warning("could not stop the Elasticsearch begun early on port %s: %s", node.port, exc)


def shared_node() -> tuple[str, EsNode | None]:
    """The Elasticsearch the tests use: ELASTICSEARCH_URL if it answers, else the test node
    (returned too, so the session that started it can stop it)."""
    url = os.environ.get("ELASTICSEARCH_URL", "").rstrip("/")
    if url and answers(url):
        log.info("using Elasticsearch at %s (ELASTICSEARCH_URL)", url)
        return url, None
    if url:
        log.warning("ELASTICSEARCH_URL=%s does not answer; starting a test node instead", url)
    node = EsNode(TEST_PORT)
    was_running = claim("shared") is None and answers(node.url)
    return start_node(node), None if was_running else node


def shared_cluster() -> tuple[str, EsNode | None]:
    """The test cluster (CLUSTER_NODES nodes), started unless it runs; returned too when this
    session started it, so that it can stop it."""
    cluster = EsNode(CLUSTER_PORT, nodes=CLUSTER_NODES)
    was_running = claim("cluster") is None and answers(cluster.url)
    return start_node(cluster), None if was_running else cluster
