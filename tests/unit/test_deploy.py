"""docker-compose.yml and the Dockerfile: what can be checked without a Docker engine."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import yaml

from tests.ci import require

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def test_services_and_their_order():
    services = COMPOSE["services"]
    assert set(services) == {"elasticsearch", "web", "indexer"}
    for name in ("web", "indexer"):
        assert services[name]["depends_on"]["elasticsearch"]["condition"] == "service_healthy"
        env = dict(e.split("=", 1) for e in services[name]["environment"])
        assert env["ARCHIVE_BACKEND"] == "elasticsearch"
        assert env["ELASTICSEARCH_URL"] == "http://elasticsearch:9200"
    assert "healthcheck" in services["elasticsearch"]


def test_elasticsearch_version_matches_the_test_node():
    image = COMPOSE["services"]["elasticsearch"]["image"]
    script = (ROOT / "scripts" / "es.sh").read_text(encoding="utf-8")
    tested = re.search(r'ES_VERSION="\$\{ES_VERSION:-([\d.]+)\}"', script).group(1)
    assert image.rsplit(":", 1)[1] == tested
    env = COMPOSE["services"]["elasticsearch"]["environment"]
    assert "xpack.security.enabled=false" in env and "discovery.type=single-node" in env


def test_dockerfile_copies_what_exists():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    sources = re.findall(r"^COPY (\S+)", dockerfile, flags=re.M)
    assert sources and all((ROOT / s.rstrip("/")).exists() for s in sources)
    assert "search_app" in dockerfile and "requirements.txt" in dockerfile


def _compose_clients() -> list[list[str]]:
    """The compose clients here that can validate a file (a bare docker CLI without the plugin cannot)."""
    found = []
    for command in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(command[0]) is None:
            continue
        probe = subprocess.run([*command, "version"], capture_output=True, text=True, timeout=60, check=False)
        if probe.returncode == 0:
            found.append(command)
    return found


def test_compose_config_validates():
    clients = _compose_clients()
    # scripts/install-test-tools.sh installs docker-compose: in CI a missing client is a failure.
    require(bool(clients), "no docker compose client (apt-get install docker-compose)")
    for command in clients:
        done = subprocess.run([*command, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr


def test_the_secured_variant_validates_and_turns_security_on():
    clients = _compose_clients()
    require(bool(clients), "no docker compose client (apt-get install docker-compose)")
    env = {**os.environ, "ELASTIC_PASSWORD": "superuser-pass", "ARCHIVE_ES_PASSWORD": "archive-pass"}
    files = ["-f", str(ROOT / "docker-compose.yml"), "-f", str(ROOT / "docker-compose.secure.yml")]
    for command in clients:
        done = subprocess.run([*command, *files, "config"], capture_output=True, text=True, timeout=60, check=False,
                              env=env)
        assert done.returncode == 0, done.stderr
        merged = yaml.safe_load(done.stdout)["services"]
        assert merged["elasticsearch"]["environment"]["xpack.security.enabled"] == "true"
        for name in ("web", "indexer"):
            app = merged[name]["environment"]
            assert app["ELASTICSEARCH_URL"].startswith("https://") and app["ELASTICSEARCH_CA_CERTS"]
            assert app["ELASTICSEARCH_PASSWORD"] == "archive-pass"
        missing = subprocess.run([*command, *files, "config", "-q"], capture_output=True, text=True, timeout=60,
                                 check=False, env={k: v for k, v in env.items() if k != "ELASTIC_PASSWORD"})
        assert missing.returncode != 0 and "ELASTIC_PASSWORD" in missing.stderr  # no default superuser password
