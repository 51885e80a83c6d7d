"""TEST_TIMING's account of the Elasticsearch JVMs: which node each start was, and its CPU by node."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from tests.timing import node_dir, summary


@contextmanager
def sleeping(env: dict):
    """A child process with this environment, alive while the block runs. Its first line says it runs: before
    its exec, a child's /proc environ is still the parent's."""
    child = subprocess.Popen([sys.executable, "-c", "import time; print('up', flush=True); time.sleep(30)"],
                             env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "up\n"
        yield child
    finally:
        child.kill()
        child.wait()
        child.stdout.close()


def test_node_dir_is_read_from_the_processes_es_path_conf(tmp_path):
    with sleeping({**os.environ, "ES_PATH_CONF": str(tmp_path / "node-9412" / "config")}) as child:
        assert node_dir(Path(f"/proc/{child.pid}")) == "node-9412"


def test_node_dir_of_a_process_without_one_or_gone():
    with sleeping({k: v for k, v in os.environ.items() if k != "ES_PATH_CONF"}) as child:
        assert node_dir(Path(f"/proc/{child.pid}")) == "?"
    assert node_dir(Path(f"/proc/{child.pid}")) == "?"  # reaped: its /proc entry is gone


def test_summary_lists_each_start_by_node():
    share = {"name": "gw0", "modules": {"tests/a.py": [3, 10.0, 4.0, 1.0]}, "spawned": {"curl": 2},
             "process_cpu": 5.0, "children_cpu": 1.0}
    jvms = {"jvms": 3, "jvm_cpu": 60.0, "by_node": {"node-9250": [30.0], "node-9270": [12.4, 17.6]}}
    text = summary([share], jvms, wall=20.0)
    assert "Elasticsearch JVMs 60 (3 started); total 66" in text
    assert text.splitlines()[-1] == "JVM CPU s by node (one figure per start): node-9250 30; node-9270 12 + 18"


def test_summary_without_jvms_has_no_node_line():
    text = summary([], {"jvms": 0, "jvm_cpu": 0.0}, wall=1.0)
    assert "by node" not in text
