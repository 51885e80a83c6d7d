"""Elasticsearch with security on, as users run it: TLS on HTTP, a user whose role reaches only the
archive's indices, a pinned certificate; refused credentials and untrusted certificates stop
`indexer` and `serve` with one line; no secret in any log line, even at DEBUG.

The test node is the integ-test distribution, whose `.security` index cannot be created (its
mapping needs the analysis-common module, which that distribution leaves out): users and roles
come from the file realm (roles.yml, `elasticsearch-users`), and API keys, which live in that
index, cannot be issued here. A wrong API key is still refused with the one line."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import DEMO, ROOT, free_port
from tests.es_server import EsNode, private_node, quick_jvm, start_node

pytestmark = pytest.mark.es

ALIAS = "secure-reports"
USER, PASSWORD = "archive", "archive-role-pass-0042"
ROLES_YML = f"""
archive_rw:
  cluster: ["monitor"]
  indices:
    - names: ["{ALIAS}*"]
      privileges: ["all"]
"""
REPORT = DEMO / "yunxi-2021-annual.txt"


class Admin:
    """The `elastic` superuser of a secured node, over its own CA."""

    def __init__(self, node: EsNode) -> None:
        self.node = node
        self.context = ssl.create_default_context(cafile=node.ca)

    def call(self, method: str, path: str, body: dict | None = None, headers: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.node.url + path, data=data, method=method, headers={
            "Content-Type": "application/json", **(headers or self.node.admin_headers())})
        with urllib.request.urlopen(request, timeout=30, context=self.context) as resp:
            return json.load(resp)


def basic(user: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def add_file_user(node: EsNode) -> None:
    """A role limited to the archive's indices and a user of it, in the node's file realm."""
    config = node.home / "config"
    with (config / "roles.yml").open("a", encoding="utf-8") as f:
        f.write(ROLES_YML)
    java_home = Path(os.path.realpath(shutil.which("java"))).parents[1]
    env = {**os.environ, "ES_PATH_CONF": str(config), "ES_JAVA_HOME": str(java_home), **quick_jvm()}
    tool = next(node.home.parent.glob("elasticsearch-*/bin/elasticsearch-users"))
    subprocess.run([str(tool), "useradd", USER, "-p", PASSWORD, "-r", "archive_rw"], env=env, check=True,
                   capture_output=True, timeout=120)
    if os.geteuid() == 0:  # the node runs as the unprivileged user es.sh made; it must read the files
        subprocess.run(["chown", "-R", "elasticsearch:", str(config)], check=True)


@pytest.fixture(scope="module")
def secured():
    """A secured node with a file-realm user whose role reaches only the archive's indices."""
    node = private_node("secured", security=True)  # its start began at collection
    start_node(node)
    admin = Admin(node)
    add_file_user(node)
    admin.call("PUT", "/not-the-archive")
    deadline = time.monotonic() + 60  # the file realm picks up its files within seconds
    while True:
        try:
            admin.call("GET", "/_security/_authenticate", headers=basic(USER, PASSWORD))
            break
        except urllib.error.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
    yield node, admin
    node.remove()


def fingerprint(pem: Path) -> str:
    der = ssl.PEM_cert_to_DER_cert(pem.read_text())
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


def run(tmp_path: Path, settings: dict, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARCHIVE_", "ELASTICSEARCH_"))}
    env.update({"ARCHIVE_BACKEND": "elasticsearch", "ARCHIVE_ES_INDEX": ALIAS, "ARCHIVE_EMBEDDER": "hash",
                "ARCHIVE_DATA_DIR": str(tmp_path / "data"), "ARCHIVE_LOG_LEVEL": "DEBUG", **settings})
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def one_line(done: subprocess.CompletedProcess) -> str:
    lines = [ln for ln in done.stderr.splitlines() if ln.strip() and " DEBUG " not in f" {ln} "]
    assert len(lines) == 1, done.stderr[-3000:]
    return lines[0]


def test_a_user_whose_role_reaches_only_the_archive_ingests_and_searches(secured, tmp_path):
    node, _ = secured
    settings = {"ELASTICSEARCH_URL": node.url, "ELASTICSEARCH_USERNAME": USER, "ELASTICSEARCH_PASSWORD": PASSWORD,
                "ELASTICSEARCH_CA_CERTS": str(node.ca)}
    done = run(tmp_path, settings, "-m", "indexer", "ingest", str(REPORT))
    assert done.returncode == 0, done.stderr[-3000:]
    stats = run(tmp_path, settings, "-m", "indexer", "stats")
    assert stats.returncode == 0 and '"documents": 1' in stats.stdout.replace(" ", " "), stats.stderr[-2000:]
    for output in (done.stdout + done.stderr, stats.stdout + stats.stderr):
        assert PASSWORD not in output and "elastic-password" not in output


def test_a_pinned_certificate_instead_of_a_ca_file(secured, tmp_path):
    node, _ = secured
    settings = {"ELASTICSEARCH_URL": node.url, "ELASTICSEARCH_USERNAME": USER, "ELASTICSEARCH_PASSWORD": PASSWORD,
                "ELASTICSEARCH_CERT_FINGERPRINT": fingerprint(node.home / "config" / "certs" / "http" / "http.crt")}
    done = run(tmp_path, settings, "-m", "indexer", "ingest", str(REPORT))
    assert done.returncode == 0, done.stderr[-3000:]
    assert PASSWORD not in done.stdout + done.stderr


def test_the_role_keeps_the_archive_out_of_other_indices(secured):
    node, admin = secured
    with pytest.raises(urllib.error.HTTPError) as refused:
        admin.call("GET", "/not-the-archive/_search", headers=basic(USER, PASSWORD))
    assert refused.value.code == 403


@pytest.mark.parametrize("wrong, expected", [
    ({"ELASTICSEARCH_USERNAME": USER, "ELASTICSEARCH_PASSWORD": "not-the-password"}, "401"),
    ({"ELASTICSEARCH_API_KEY": "bm90LWEta2V5Om5vdC1hLXNlY3JldA=="}, "401"),
    ({"ELASTICSEARCH_USERNAME": USER, "ELASTICSEARCH_PASSWORD": PASSWORD, "ca": False}, "证书"),
], ids=["wrong password", "wrong api key", "untrusted certificate"])
def test_refused_credentials_or_certificate_stop_indexer_and_serve_with_one_line(secured, tmp_path, wrong, expected):
    node, _ = secured
    settings = {"ELASTICSEARCH_URL": node.url, **{k: v for k, v in wrong.items() if k != "ca"}}
    if wrong.get("ca", True):
        settings["ELASTICSEARCH_CA_CERTS"] = str(node.ca)
    secrets = [v for k, v in settings.items() if k in ("ELASTICSEARCH_PASSWORD", "ELASTICSEARCH_API_KEY")]
    settings["ARCHIVE_LOG_LEVEL"] = "INFO"
    indexer = run(tmp_path, settings, "-m", "indexer", "stats")
    serve = run(tmp_path, settings, "-m", "search_app", "serve", "--port", str(free_port()), timeout=120)
    for done in (indexer, serve):
        assert done.returncode != 0
        line = one_line(done)
        assert expected in line and node.url in line
        assert not any(secret in done.stdout + done.stderr for secret in secrets)
