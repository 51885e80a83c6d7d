"""scripts/es.sh from a checkout its node's user cannot enter: the node lives where that user can reach it."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.es_server import QUICK_JVM, SCRIPT, answers, free_port, missing_tools, unavailable

IS_ROOT = os.geteuid() == 0


@pytest.fixture()
def base():
    """A directory everyone may enter (pytest's own temporary directories are 0700)."""
    path = Path(tempfile.mkdtemp(dir="/var/tmp", prefix="es-script-"))
    path.chmod(0o755)
    yield path
    if (path / "home").exists():
        (path / "home").chmod(0o755)
    shutil.rmtree(path, ignore_errors=True)


def _checkout(tmp_path: Path, mode: int) -> Path:
    """A checkout holding just the script, inside a directory with `mode`."""
    outer = tmp_path / "home"
    repo = outer / "archive"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(SCRIPT, repo / "scripts" / "es.sh")
    outer.chmod(mode)
    return repo


def _run(repo: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("ES_DIR", "ES_PORT")}
    return subprocess.run([str(repo / "scripts" / "es.sh"), *args], env={**clean, **env}, capture_output=True,
                          text=True, timeout=600, check=False)


def _fallback(repo: Path) -> Path:
    return Path("/var/tmp") / ("archive-es-" + hashlib.sha1(str(repo).encode()).hexdigest()[:12])


@pytest.mark.parametrize("mode", [0o755, 0o700])
def test_node_directory_is_one_the_node_user_can_reach(base, mode):
    repo = _checkout(base, mode)
    try:
        first, second = _run(repo, "dir"), _run(repo, "dir")
        assert first.returncode == 0 and second.returncode == 0, first.stderr
        if IS_ROOT and mode == 0o700:  # root runs the node as another user, who cannot enter /…/home
            assert Path(first.stdout.strip()) == _fallback(repo)
            assert "not reachable" in first.stderr and second.stderr == ""  # said once
            assert oct(_fallback(repo).stat().st_mode)[-3:] == "755"
        else:
            assert Path(first.stdout.strip()) == repo / ".es"
            assert first.stderr == ""
        assert _run(repo, "dir", ES_DIR=str(base / "mine")).stdout.strip() == str(base / "mine")
    finally:
        shutil.rmtree(_fallback(repo), ignore_errors=True)


@pytest.mark.es
def test_a_node_starts_from_a_checkout_others_cannot_enter(base):
    """The whole start, as `make test` does it from a clone under /root."""
    if reason := missing_tools():
        unavailable(reason)
    repo = _checkout(base, 0o700)
    port = str(free_port())
    try:
        started = _run(repo, "start", ES_PORT=port, ES_JAVA_OPTS=QUICK_JVM)  # as the other test nodes
        assert started.returncode == 0, started.stderr[-3000:]
        assert answers(f"http://127.0.0.1:{port}")
        assert _run(repo, "stop", ES_PORT=port).returncode == 0
        assert not answers(f"http://127.0.0.1:{port}", timeout=1)
    finally:
        _run(repo, "stop", ES_PORT=port)
        shutil.rmtree(_fallback(repo), ignore_errors=True)
