"""ARCHIVE_EMBEDDER=auto, the default: an archive keeps the embedder that built its index, a new one is embedded
by e5-onnx-int8; a named embedder is taken as named (and an index of another is refused, as before)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

from archive.config import load_config
from archive.embedders import make_embedder
from archive.errors import BackendUnavailable, IndexMismatch
from archive.services import Archive
from indexer.pipeline import doc_id_for, ingest_paths
from tests.conftest import ROOT, free_port, serving

REPORTS = ROOT / "tests" / "fixtures" / "reports"
INT8_ID = make_embedder("e5-onnx-int8").model_id


@pytest.fixture(params=["embedded", pytest.param("elasticsearch", marks=pytest.mark.es)])
def where(request, tmp_path):
    """Config values for an empty archive on each backend."""
    values = {"data_dir": tmp_path / "data"}
    if request.param == "elasticsearch":
        values |= {"backend": "elasticsearch", "elasticsearch_url": request.getfixturevalue("es_url"),
                   "es_index": f"test-auto-{uuid.uuid4().hex[:8]}"}
    yield values
    if request.param == "elasticsearch":
        archive = Archive(load_config({}, **values, embedder="hash"))
        client = archive.backend.client
        names = list(client.indices.get(index=f"{values['es_index']}-v*", expand_wildcards="all"))
        if names:
            client.indices.delete(index=",".join(names))
        archive.close()


def test_a_new_archive_is_embedded_by_e5_onnx_int8(where):
    archive = Archive(load_config({}, **where))
    assert archive.embedder_spec == "e5-onnx-int8"
    assert archive.embedder.model_id == INT8_ID
    assert archive.backend.recorded_model_id() is None  # asking which embedder built it created no index
    archive.close()


def test_an_archive_keeps_the_embedder_that_built_it(where):
    built = Archive(load_config({}, **where, embedder="hash"))
    assert ingest_paths(built, [REPORTS / "b2.txt"]).indexed == [doc_id_for(REPORTS / "b2.txt")]
    built.close()
    archive = Archive(load_config({}, **where))
    assert archive.embedder_spec == "hash"
    archive.backend.check_compatible()
    report = ingest_paths(archive, [REPORTS / "c3.txt"])  # more reports join it with the same vectors
    assert (report.indexed, report.failed) == ([doc_id_for(REPORTS / "c3.txt")], [])
    stats = archive.backend.stats()
    assert (stats.documents, stats.model_id) == (2, "hash:256")
    archive.close()


def test_an_index_of_an_embedder_this_version_cannot_build_is_refused_with_how_to_reindex(tmp_path):
    data = tmp_path / "data"
    built = Archive(load_config({}, data_dir=data, embedder="hash"))
    ingest_paths(built, [REPORTS / "b2.txt"])
    built.close()
    with sqlite3.connect(data / "index" / "archive.sqlite") as db:  # as the unbalanced int8 graph left it
        db.execute("UPDATE meta SET value = 'e5-onnx:multilingual-e5-small-int8' WHERE key = 'model_id'")
    archive = Archive(load_config({}, data_dir=data))
    assert archive.embedder_spec == "e5-onnx-int8"
    with pytest.raises(IndexMismatch, match="e5-onnx:multilingual-e5-small-int8.*indexer reindex"):
        archive.backend.check_compatible()
    archive.close()


def test_elasticsearch_down_leaves_the_choice_open(tmp_path):
    config = load_config({}, data_dir=tmp_path, backend="elasticsearch",
                         elasticsearch_url=f"http://127.0.0.1:{free_port()}", es_timeout=1.0)
    archive = Archive(config)
    for _ in range(2):  # not settled on the new-archive default while the index cannot be asked
        with pytest.raises(BackendUnavailable):
            archive.embedder_spec  # noqa: B018
    archive.close()


def test_make_run_embeds_a_new_archive_with_e5_onnx_int8_and_serves_it(tmp_path):
    data = tmp_path / "data"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")}, "ARCHIVE_DATA_DIR": str(data)}
    ingest = subprocess.run([sys.executable, "-m", "indexer", "ingest", "--no-progress", str(REPORTS / "a1.txt")],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert ingest.returncode == 0, ingest.stderr
    stats = subprocess.run([sys.executable, "-m", "indexer", "stats"], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=120, check=True)
    assert json.loads(stats.stdout)["model_id"] == INT8_ID
    with serving(data, "auto", tmp_path / "serve.log") as url:
        query = urllib.parse.urlencode({"q": "城市建设", "mode": "semantic"})
        with urllib.request.urlopen(f"{url}/api/v1/search?{query}", timeout=60) as answer:
            found = json.load(answer)
    assert found["total"] > 0 and {h["doc_id"] for h in found["hits"]} == {doc_id_for(REPORTS / "a1.txt")}
    assert "e5-onnx-int8" in Path(tmp_path / "serve.log").read_text()
