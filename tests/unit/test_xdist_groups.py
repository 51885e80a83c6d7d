"""What keeps the xdist workers of `make test` apart: units of work, ports per worker, the cache lock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest

from tests.conftest import CACHE, ROOT, cache_lock
from tests.xdist_groups import next_unit, unit_of

GROUPS = {"tests/contract/test_x.py::test_a[elasticsearch]": "es", "tests/app/test_api.py::test_b": "es"}


@pytest.mark.parametrize("nodeid, unit", [
    ("tests/contract/test_x.py::test_a[elasticsearch]", "es"),
    ("tests/contract/test_x.py::test_a[embedded]", "tests/contract/test_x.py"),
    ("tests/app/test_api.py::test_b", "es"),
    ("tests/app/test_api.py::test_c", "tests/app/test_api.py"),
    ("tests/unit/test_y.py::TestK::test_d[a::b]", "tests/unit/test_y.py"),
    ("tests/unit/test_y.py", "tests/unit/test_y.py"),
])
def test_unit_of_work_is_the_group_else_the_module(nodeid, unit):
    assert unit_of(nodeid, GROUPS) == unit


def in_worker(code: str, worker: str | None, count: int, **env: str) -> object:
    """Run `code` (it prints JSON) in a fresh interpreter with the environment xdist gives worker `worker`."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_XDIST", "TEST_ES_", "TEST_TIMING"))}
    if worker:
        base.update(PYTEST_XDIST_WORKER=worker, PYTEST_XDIST_WORKER_COUNT=str(count))
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**base, **env}, capture_output=True,
                          text=True, timeout=60, check=True)
    return json.loads(done.stdout)


@pytest.mark.parametrize("worker, count, shared, cluster", [
    (None, 1, 9250, 9270),
    ("gw0", 2, 9250, 9270),
    ("gw1", 2, 9251, 9273),
    ("gw3", 4, 9253, 9279),
])
def test_each_worker_has_its_own_elasticsearch_ports(worker, count, shared, cluster):
    code = "import json; from tests import es_server as e; print(json.dumps([e.TEST_PORT, e.CLUSTER_PORT]))"
    assert in_worker(code, worker, count, TEST_ES_PORT="9250", TEST_ES_CLUSTER_PORT="9270") == [shared, cluster]


@pytest.mark.parametrize("worker, count", [("gw0", 2), ("gw1", 2), ("gw2", 3)])
def test_free_ports_of_two_workers_never_meet(worker, count):
    code = "import json; from tests.es_server import free_port; print(json.dumps([free_port() for _ in range(20)]))"
    ports = in_worker(code, worker, count)
    assert {p % count for p in ports} == {int(worker[2:])}


def test_the_cache_lock_holds_off_another_process():
    name = f"test-lock-{uuid.uuid4().hex[:8]}"
    # LOCK_NB: the other process asks once and says whether it got the lock.
    code = (f"import fcntl, json; f = open({str(CACHE / (name + '.lock'))!r}, 'w')\n"
            "try:\n    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB); print('true')\n"
            "except BlockingIOError:\n    print('false')")
    try:
        with cache_lock(name):
            assert in_worker(code, None, 1) is False
        assert in_worker(code, None, 1) is True
    finally:
        (CACHE / f"{name}.lock").unlink(missing_ok=True)


@pytest.mark.parametrize("queue, held_elsewhere, unit", [
    (["es", "tests/unit/test_a.py", "tests/app/test_b.py"], False, "es"),
    (["es", "tests/unit/test_a.py", "tests/app/test_b.py"], True, "tests/unit/test_a.py"),
    (["tests/app/test_b.py", "es"], True, "tests/app/test_b.py"),  # nothing else left: the first after all
    (["tests/unit/test_a.py"], True, "tests/unit/test_a.py"),
    ([], True, None),
])
def test_a_worker_is_kept_off_the_seeds_while_another_embeds_them(queue, held_elsewhere, unit):
    waiting = {"es", "tests/app/test_b.py"}
    assert next_unit(queue, waiting, held_elsewhere) == unit


# Collects the named modules for real and prints each Elasticsearch test's group, nodes and `seeds` mark.
COLLECT = """
import json, sys, pytest
from tests import es_server
class Show:
    def pytest_collection_finish(self, session):
        self.out = {i.nodeid: [es_server.node_group(i) if i.get_closest_marker("es") else None,
                               sorted(es_server.node_names(i)), bool(i.get_closest_marker("seeds"))]
                    for i in session.items}
show = Show()
pytest.main(["--collect-only", "-q", "-p", "no:xdist", *sys.argv[1:]], plugins=[show])
print("JSON" + json.dumps(show.out))
"""
VEC = "tests/contract/test_vectors.py::test_a_stored_vector_finds_its_own_passage_first"
MODULES = ("tests/contract/test_es_cluster.py", "tests/contract/test_vectors.py", "tests/app/test_api.py",
           "tests/contract/test_es_faults.py", "tests/contract/test_es_security.py")


@pytest.fixture(scope="module")
def collected() -> dict:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("PYTEST_XDIST", "TEST_TIMING")) and k != "ELASTICSEARCH_URL"}
    done = subprocess.run([sys.executable, "-c", COLLECT, *MODULES], cwd=ROOT, env=base, capture_output=True,
                          text=True, timeout=300, check=True)
    return json.loads(done.stdout.rsplit("JSON", 1)[1])


@pytest.mark.parametrize("prefix, group, nodes, seeds", [
    ("tests/contract/test_es_cluster.py::", "es-own", ["cluster"], False),
    (VEC + "[cluster]", "es-own", ["cluster"], False),
    (VEC + "[elasticsearch]", "es", ["shared"], False),
    (VEC + "[embedded]", None, [], False),
    ("tests/app/test_api.py::test_search_shape[elasticsearch]", "es", ["shared"], True),
    ("tests/app/test_api.py::test_search_shape[embedded]", None, [], True),
    ("tests/contract/test_es_faults.py::test_node_killed_during_ingest", "es", ["faults"], False),
    ("tests/contract/test_es_security.py::", "es", ["secured"], False),
])
def test_each_elasticsearch_test_is_in_the_group_of_its_nodes(collected, prefix, group, nodes, seeds):
    """The cluster's tests in "es-own", the shared node's and the private nodes' in "es", the seed index's
    marked `seeds`: read off real collected tests."""
    matching = [value for nodeid, value in collected.items() if nodeid.startswith(prefix)]
    assert matching, prefix
    assert all(value == [group, nodes, seeds] for value in matching), (prefix, matching)
