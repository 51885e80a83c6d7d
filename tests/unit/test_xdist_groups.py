"""What keeps the xdist workers of `make test` apart: units of work, ports per worker, the cache lock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest

from tests.conftest import CACHE, ROOT, cache_lock
from tests.xdist_groups import unit_of

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
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_XDIST", "TEST_ES_"))}
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
