"""Upload and delete through the API: tokens, limits, types, parse failures."""

import io
import json

import pytest

from archive.config import load_config
from search_app import create_app

TOKEN = "test-token-0123456789"
REPORT = "云溪市2021年法治政府建设年度报告\n一、总体情况\n全年收到行政复议申请152件，受理138件。\n".encode()


@pytest.fixture()
def write_client(tmp_path):
    config = load_config({}, data_dir=tmp_path / "data", embedder="hash", api_tokens=(TOKEN,), max_upload_mb=1)
    return create_app(config).test_client()


def upload(client, data=REPORT, name="report.txt", token=TOKEN, metadata=None):
    form = {"file": (io.BytesIO(data), name)}
    if metadata is not None:
        form["metadata"] = metadata
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post("/api/v1/documents", data=form, headers=headers, content_type="multipart/form-data")


@pytest.mark.parametrize("token, status, code", [
    (None, 401, "unauthorized"),
    ("wrong-token-but-long", 403, "forbidden"),
])
def test_writes_need_a_valid_token(write_client, token, status, code):
    resp = upload(write_client, token=token)
    assert resp.status_code == status and resp.get_json()["error"]["code"] == code
    resp = write_client.delete("/api/v1/documents/abc", headers={"Authorization": f"Bearer {token}"} if token else {})
    assert resp.status_code == status


def test_upload_search_replace_delete(write_client):
    resp = upload(write_client)
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["status"] == "indexed" and body["passages"] >= 1 and body["title"].startswith("云溪市")
    hits = write_client.get("/api/v1/search", query_string={"q": "行政复议", "mode": "keyword"}).get_json()["hits"]
    assert [h["doc_id"] for h in hits] == [body["doc_id"]]
    again = upload(write_client)
    assert again.status_code == 200 and again.get_json()["status"] == "unchanged"
    changed = upload(write_client, data=REPORT.replace(b"152", b"153"))
    assert changed.get_json()["doc_id"] == body["doc_id"]
    assert write_client.delete(f"/api/v1/documents/{body['doc_id']}",
                               headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 204
    assert write_client.get(f"/api/v1/documents/{body['doc_id']}").status_code == 404
    assert write_client.delete(f"/api/v1/documents/{body['doc_id']}",
                               headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 404


def test_metadata_overrides(write_client):
    resp = upload(write_client, metadata=json.dumps({"region": "南屏县", "year": 2020}, ensure_ascii=False))
    doc = write_client.get(f"/api/v1/documents/{resp.get_json()['doc_id']}").get_json()
    assert (doc["region"], doc["year"]) == ("南屏县", 2020)


@pytest.mark.parametrize("kwargs, status", [
    ({"name": "report.exe"}, 415),
    ({"name": "report.pdf", "data": b"%PDF-1.4 not really"}, 422),
    ({"data": b""}, 422),
    ({"data": b"x" * (1024 * 1024 + 10)}, 413),
    ({"metadata": "{not json"}, 400),
    ({"name": "../../etc/passwd.txt"}, 201),  # the client's path is never used
])
def test_bad_uploads(write_client, kwargs, status):
    resp = upload(write_client, **kwargs)
    assert resp.status_code == status, resp.get_data(as_text=True)
    if status != 201:
        assert "error" in resp.get_json()
