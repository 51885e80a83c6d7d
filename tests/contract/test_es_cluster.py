"""A three-node cluster losing nodes: an index of 3 primary shards with 1 replica each keeps
answering while a data node or the elected master is killed (-9), writes made meanwhile either
land whole or fail with one clear error, and once the node is back the index is what a clean
run gives. The cluster is the session's (`es_cluster`); each test restarts what it killed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
import uuid

import pytest

from archive.errors import BackendUnavailable
from archive.models import Filters, KeywordQuery
from archive.text import tokenize
from tests.contract.conftest import CLUSTER_REPLICAS, CLUSTER_SHARDS, ROOT, drop_es_indices
from tests.es_server import EsNode

pytestmark = pytest.mark.es

TIMEOUT = 5.0
QUERIES = ["行政复议 纠错率", "政务公开 信息", "法治 培训 干部", "执法 案卷 评查"]


def cluster_get(node: EsNode, path: str, timeout: float = 30) -> dict | list:
    with urllib.request.urlopen(node.url + path, timeout=timeout) as resp:
        return json.load(resp)


def wait_green(node: EsNode, nodes: int, seconds: float = 300) -> None:
    """Until the cluster is green with `nodes` nodes; the node itself waits up to `seconds` (a restarted
    node's shard copies can take longer than a plain request's 30 s to recover), so the socket waits longer."""
    health = cluster_get(node, f"/_cluster/health?wait_for_status=green&wait_for_nodes={nodes}&timeout={seconds:.0f}s",
                         timeout=seconds + 30)
    assert health["status"] == "green" and health["number_of_nodes"] == nodes, health


def answers_of(backend) -> dict[str, list[str]]:
    return {q: [s.chunk_id for s in backend.keyword_search(KeywordQuery(tuple(tokenize(q))), Filters(), 40)]
            for q in QUERIES}


@pytest.fixture()
def on_cluster(es_cluster, make_backend, corpus):
    """The corpus on the cluster, every node's URL given to the client (as ELASTICSEARCH_URL can)."""
    backend = make_backend("cluster", url=",".join(n.url for n in es_cluster.members()), timeout=TIMEOUT)
    backend.index_documents(corpus)
    wait_green(es_cluster, len(es_cluster.members()))
    yield backend
    drop_es_indices(backend)


def searching(backend, stop: threading.Event, outcomes: list) -> None:
    """Search until told to stop; record each answer, each BackendUnavailable, anything else."""
    while not stop.is_set():
        for q in QUERIES:
            try:
                backend.keyword_search(KeywordQuery(tuple(tokenize(q))), Filters(), 40)
                outcomes.append("ok")
            except BackendUnavailable:
                outcomes.append("unavailable")
            except Exception as exc:  # noqa: BLE001 - recorded and asserted on: nothing but the two above may happen
                outcomes.append(f"error: {type(exc).__name__}: {exc}")


def kill_and_restart(cluster: EsNode, victim: EsNode, backend, during) -> list:
    """Kill `victim` while searches run and `during()` writes; restart it; the outcomes of the searches."""
    stop, outcomes = threading.Event(), []
    reader = threading.Thread(target=searching, args=(backend, stop, outcomes))
    reader.start()
    try:
        time.sleep(1)
        victim.kill()
        during()
        time.sleep(3)
    finally:
        stop.set()
        reader.join(60)
    cluster.start()  # starts only the node that is not running
    wait_green(cluster, len(cluster.members()))
    return outcomes


def test_the_index_has_the_shards_and_replicas_asked_for(es_cluster, on_cluster):
    index = next(iter(on_cluster.client.indices.get_alias(name=on_cluster.alias)))
    shards = cluster_get(es_cluster, f"/_cat/shards/{index}?format=json")
    assert sum(s["prirep"] == "p" for s in shards) == CLUSTER_SHARDS
    assert sum(s["prirep"] == "r" for s in shards) == CLUSTER_SHARDS * CLUSTER_REPLICAS
    assert len({s["node"] for s in shards}) == len(es_cluster.members())  # spread over every node


@pytest.mark.parametrize("which", ["data node", "elected master"])
def test_losing_a_node_keeps_searches_answering_and_writes_whole(es_cluster, on_cluster, corpus, which):
    before = answers_of(on_cluster)
    master = cluster_get(es_cluster, "/_cat/master?format=json")[0]["node"]
    members = es_cluster.members()
    victim = next(n for n in members if (f"node-{n.port}" == master) == (which == "elected master"))
    written: list[str] = []

    def write_meanwhile() -> None:
        # Replace one report while the node is gone: it lands whole, or fails with the one clear error.
        try:
            on_cluster.index_documents([corpus[1]])
            written.append("ok")
        except BackendUnavailable as exc:
            written.append(f"unavailable: {exc}")

    outcomes = kill_and_restart(es_cluster, victim, on_cluster, write_meanwhile)
    errors = [o for o in outcomes if o.startswith("error")]
    assert not errors, errors[:3]
    assert outcomes.count("ok") > 0 and outcomes[-len(QUERIES):].count("ok") == len(QUERIES), outcomes[-8:]
    assert outcomes.count("unavailable") <= len(outcomes) // 2  # a bounded number of 503s, then answers
    if written != ["ok"]:  # the write failed cleanly: writing again finishes it, as a clean run would
        on_cluster.index_documents([corpus[1]])
    assert answers_of(on_cluster) == before
    assert on_cluster.stats().documents == len(corpus)


def test_a_restarted_cluster_serves_the_same_index(es_cluster, on_cluster):
    before = answers_of(on_cluster)
    es_cluster.stop()
    es_cluster.start()
    wait_green(es_cluster, len(es_cluster.members()))
    assert answers_of(on_cluster) == before


# -- a data node killed during a whole `indexer ingest` ------------------------------------------

INGEST_PASSAGES = 1_000  # generated reports: ~70 files, an ingest of some seconds on the cluster


def ingest(cluster: EsNode, alias: str, files, data) -> subprocess.Popen:
    """`python -m indexer ingest` of `files` into `alias` on the cluster (every node's URL), hash vectors."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")}
    env.update(ARCHIVE_BACKEND="elasticsearch", ARCHIVE_EMBEDDER="hash", ARCHIVE_DATA_DIR=str(data),
               ARCHIVE_ES_INDEX=alias, ARCHIVE_ES_SHARDS=str(CLUSTER_SHARDS), ARCHIVE_ES_REPLICAS=str(CLUSTER_REPLICAS),
               ELASTICSEARCH_URL=",".join(n.url for n in cluster.members()), ARCHIVE_ES_TIMEOUT=str(TIMEOUT * 2))
    return subprocess.Popen([sys.executable, "-m", "indexer", "ingest", str(files)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def index_contents(cluster: EsNode, alias: str) -> dict:
    """What an alias holds, read raw: per document its record (less when and as which version it was
    written) and the chunk ids of its passages, each of them of the version its record makes live."""
    from archive.backends.elastic import ElasticBackend
    from archive.embedders import HashEmbedder

    emb = HashEmbedder()
    backend = ElasticBackend(cluster.url, alias=alias, dim=emb.dim, model_id=emb.model_id)
    try:
        backend.client.indices.refresh(index=alias)
        hits = backend.client.search(index=alias, query={"match_all": {}}, size=10_000, _source=True)["hits"]
        assert hits["total"]["value"] < 10_000
        records = {h["_source"]["doc_id"]: h["_source"] for h in hits["hits"] if h["_id"].endswith("#doc")}
        passages = [h for h in hits["hits"] if not h["_id"].endswith("#doc")]
        assert all(r["kind"] == "document" for r in records.values()), "a report left half-written"
        # Versions a dead writer announced stay listed as hidden (with no passages) until abandoned.
        written = ("indexed_at", "version", "hidden", "retired")
        contents = {d: ({k: v for k, v in r.items() if k not in written}, set())
                    for d, r in records.items()}
        for p in passages:
            doc_id, version = p["_source"]["doc_id"], p["_source"]["version"]
            assert version == records[doc_id]["version"], f"{p['_id']}: a passage of a version not live"
            assert p["_id"] == f"{p['_source']['chunk_id']}@{version}"
            contents[doc_id][1].add(p["_source"]["chunk_id"])
        return contents
    finally:
        drop_es_indices(backend)
        backend.close()


def test_a_data_node_killed_during_an_ingest_leaves_what_a_clean_run_gives(es_cluster, tmp_path):
    from bench.corpus import write_files

    files = tmp_path / "reports"
    written = write_files(files, INGEST_PASSAGES)
    clean, faulted = f"test-clean-{uuid.uuid4().hex[:8]}", f"test-killed-{uuid.uuid4().hex[:8]}"
    out, err = ingest(es_cluster, clean, files, tmp_path / "clean").communicate(timeout=600)
    assert "篇已索引" in out + err, err[-2000:]
    wait_green(es_cluster, len(es_cluster.members()))

    master = cluster_get(es_cluster, "/_cat/master?format=json")[0]["node"]
    victim = next(n for n in es_cluster.members() if f"node-{n.port}" != master)
    run = ingest(es_cluster, faulted, files, tmp_path / "faulted")
    deadline = time.monotonic() + 120
    while not list((tmp_path / "faulted").glob("**/embeddings.sqlite")) and time.monotonic() < deadline:
        time.sleep(0.2)  # the ingest has started embedding, so writing
    time.sleep(1.5)
    assert run.poll() is None, "the ingest ended before the node could be killed"
    victim.kill()
    out, err = run.communicate(timeout=600)
    said = [line for line in (out + err).splitlines() if line.startswith(("ERROR", "CRITICAL", "Traceback"))]
    if run.returncode == 0:
        assert not said, said
    else:  # it stopped: with one clear line, and no traceback
        assert len(said) == 1 and "Elasticsearch" in said[0], said
    es_cluster.start()  # the killed node only
    wait_green(es_cluster, len(es_cluster.members()))
    if run.returncode != 0:  # once the node is back, the same ingest again finishes it
        again = ingest(es_cluster, faulted, files, tmp_path / "faulted")
        out, err = again.communicate(timeout=600)
        assert again.returncode == 0, err[-2000:]
    got, want = index_contents(es_cluster, faulted), index_contents(es_cluster, clean)
    assert len(want) == written["files"] and all(chunks for _, chunks in want.values())
    assert got == want
