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


# -- issue 16: metadata checked whole, uploads all-or-nothing, one lock per document ----------

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def stored(client) -> list[str]:
    """Every file under the archive's uploads folder, staged ones included."""
    folder = client.application.extensions["archive"].config.data_dir / "uploads"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


@pytest.mark.parametrize("metadata, fragment", [
    ("[" * 100000, "metadata"),  # each of these was a 500 before, two of them leaving their files behind
    ('{"a":' * 50000, "metadata"),  # (over 64 KB: refused by the form parser, 413)
    ("[" * 9000, "过长"),
    ("[" * 5000, "嵌套过深"),
    ('{"year": Infinity}', "Infinity"),
    ('{"year": 1e400}', "必须是整数"),
    ('{"year": ' + "9" * 5000 + "}", "过长"),
    ('{"year": 2021.9}', "必须是整数"),
    ('{"region": ["a", "b"]}', "必须是字符串"),
    (json.dumps({"title": "长" * 300}), "过长"),
    (json.dumps({"title": "报告\nERROR forged"}), "控制字符"),
    (json.dumps({"doc_type": "随便"}), "取值无效"),
    (json.dumps({"colour": "red"}), "未知字段"),
])
def test_bad_metadata_is_a_400_and_nothing_is_stored(write_client, metadata, fragment):
    resp = upload(write_client, metadata=metadata)
    assert resp.status_code == (413 if len(metadata) > 64 * 1024 else 400), resp.get_data(as_text=True)[:300]
    assert fragment in resp.get_json()["error"]["message"]
    assert stored(write_client) == []
    assert write_client.get("/healthz").get_json()["documents"] == 0


def test_metadata_too_large_for_a_form_field_is_a_413_that_says_so(write_client):
    resp = upload(write_client, metadata=json.dumps({"title": "长" * 100_000}, ensure_ascii=False))
    assert resp.status_code == 413
    assert "metadata" in resp.get_json()["error"]["message"]
    assert stored(write_client) == []


@pytest.mark.parametrize("extra_fields, refused", [(15, False), (16, True)])
def test_a_form_of_more_parts_than_the_app_allows_is_a_413(write_client, extra_fields, refused):
    # MAX_FORM_PARTS (16, set by the app factory; an upload has two parts), read by Flask's form parser.
    form = {"file": (io.BytesIO(REPORT), "report.txt"), **{f"x{i}": "1" for i in range(extra_fields)}}
    resp = write_client.post("/api/v1/documents", data=form, headers=AUTH, content_type="multipart/form-data")
    assert resp.status_code == (413 if refused else 201)
    assert len(stored(write_client)) == (0 if refused else 1)


def test_metadata_sent_as_a_file_is_refused(write_client):
    form = {"file": (io.BytesIO(REPORT), "report.txt"), "metadata": (io.BytesIO(b'{"year": 2020}'), "m.json")}
    resp = write_client.post("/api/v1/documents", data=form, headers=AUTH, content_type="multipart/form-data")
    assert resp.status_code == 400 and "表单字段" in resp.get_json()["error"]["message"]
    assert stored(write_client) == []


@pytest.mark.parametrize("kwargs, status", [
    ({"name": "report.exe"}, 415),
    ({"name": "report.pdf", "data": b"%PDF-1.4 not really"}, 422),
    ({"data": b""}, 422),
    ({"data": b"\x00\x01\x02\x03" * 100}, 422),
    ({"data": b"x" * (1024 * 1024 + 10)}, 413),
    ({"metadata": "{not json"}, 400),
    ({"name": "\n\x00"}, 400),
])
def test_rejected_uploads_leave_no_file(write_client, kwargs, status):
    assert upload(write_client, **kwargs).status_code == status
    assert stored(write_client) == []


def test_a_failed_reupload_keeps_the_good_copy_and_its_text(write_client):
    good = upload(write_client, metadata=json.dumps({"region": "南屏县"}, ensure_ascii=False)).get_json()
    files = stored(write_client)
    folder = write_client.application.extensions["archive"].config.data_dir / "uploads"
    before = {name: (folder / name).read_bytes() for name in files}
    bad = upload(write_client, data=b"\x00\x01\x02\x03" * 100)
    assert bad.status_code == 422
    assert str(folder) not in bad.get_json()["error"]["message"]  # no server path in the answer
    assert {name: (folder / name).read_bytes() for name in stored(write_client)} == before
    doc = write_client.get(f"/api/v1/documents/{good['doc_id']}").get_json()
    assert doc["region"] == "南屏县" and "152件" in "".join(c["text"] for c in doc["chunks"])


def test_delete_removes_the_stored_file_and_sidecar(write_client):
    doc_id = upload(write_client, metadata=json.dumps({"year": 2020})).get_json()["doc_id"]
    other = upload(write_client, data=REPORT.replace(b"152", b"99"), name="other.txt").get_json()["doc_id"]
    assert len(stored(write_client)) == 3  # two reports, one sidecar
    assert write_client.delete(f"/api/v1/documents/{doc_id}", headers=AUTH).status_code == 204
    assert len(stored(write_client)) == 1
    assert write_client.get(f"/api/v1/documents/{other}").status_code == 200
    assert write_client.delete(f"/api/v1/documents/{other}", headers=AUTH).status_code == 204
    assert stored(write_client) == []


def test_control_characters_never_reach_the_stored_name(write_client, caplog):
    # RFC 5987's filename* is how a newline or a NUL gets into a file name (a raw one ends the header line).
    body = (b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; "
            b"filename*=UTF-8''%E4%BA%91%E6%BA%AA%0A2026-12-01%20ERROR%20forged%00%E2%80%AE.txt\r\n"
            b"Content-Type: text/plain\r\n\r\n" + REPORT + b"\r\n--XyZ--\r\n")
    resp = write_client.post("/api/v1/documents", data=body, headers=AUTH,
                             content_type="multipart/form-data; boundary=XyZ")
    assert resp.status_code == 201, resp.get_json()
    doc = write_client.get(f"/api/v1/documents/{resp.get_json()['doc_id']}").get_json()
    assert doc["source_name"] == "云溪2026-12-01 ERROR forged.txt"
    assert not [r for r in caplog.records if "\n" in r.getMessage()]


def test_staged_files_of_a_killed_upload_are_swept(write_client):
    import os
    import time

    folder = write_client.application.extensions["archive"].config.data_dir / "uploads"
    folder.mkdir(parents=True)
    dead = subprocess_pid_that_ended()
    stale = [folder / f".upload-{dead}-0a.txt", folder / f".upload-{os.getpid()}-0b.txt"]
    running = folder / f".upload-{os.getpid()}-0c.txt"
    for path in (*stale, running):
        path.write_text("left by a server killed mid-upload", encoding="utf-8")
    old = time.time() - 2 * 3600
    os.utime(stale[1], (old, old))
    assert upload(write_client).status_code == 201
    names = stored(write_client)
    assert not {p.name for p in stale} & set(names)
    assert running.name in names  # a live server's upload in progress is left alone


def subprocess_pid_that_ended() -> int:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(proc.stdout)


@pytest.mark.parametrize("part, fragment", [
    (b"<w:t>a</w:t>" * (60 * 1024 * 1024 // 12), "解压后过大"),  # ~60 MB of XML in ~60 KB of zip
    (b"<w:t>a</w:t>" * (20 * 1024 * 1024 // 12), "压缩比异常"),  # the 72 KB / 20 MB file
])
def test_compressed_bombs_are_refused_before_they_are_unpacked(write_client, part, fragment):
    import time
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", part)
    started = time.monotonic()
    resp = upload(write_client, data=out.getvalue(), name="bomb.docx")
    assert resp.status_code == 422 and fragment in resp.get_json()["error"]["message"]
    assert time.monotonic() - started < 5
    assert stored(write_client) == []


def test_same_name_uploads_and_deletes_racing(write_client):
    """Threads upload one file name (different texts) and delete it: every answer describes what it committed."""
    import threading

    app = write_client.application
    answers, errors = [], []

    def worker(n: int) -> None:
        client = app.test_client()
        for k in range(3):
            data = REPORT.replace(b"152", str(1000 + n * 10 + k).encode())
            resp = upload(client, data=data, name="same.txt")
            answers.append((resp.status_code, resp.get_json()))
            if resp.status_code == 201 and k == 1:
                client.delete(f"/api/v1/documents/{resp.get_json()['doc_id']}", headers=AUTH)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors and len(answers) == 12
    for status, body in answers:
        assert status == 201, body  # never "empty file", never a 5xx
        assert body["title"].startswith("云溪市") and body["passages"] >= 1
    docs = write_client.get("/healthz").get_json()["documents"]
    names = stored(write_client)
    assert (docs, len(names)) in ((0, 0), (1, 1))  # the index and the folder agree
    if docs:
        folder = app.extensions["archive"].config.data_dir / "uploads"
        text = "".join(c["text"] for c in write_client.get(f"/api/v1/documents/{answers[0][1]['doc_id']}")
                       .get_json()["chunks"])
        number = (folder / names[0]).read_text(encoding="utf-8").split("申请")[1].split("件")[0]
        assert f"申请{number}件" in text  # the stored copy is the indexed one


def test_a_duplicate_under_another_name_is_not_stored_twice(write_client):
    first = upload(write_client).get_json()
    again = upload(write_client, name="copy.txt")
    assert again.status_code == 200
    body = again.get_json()
    assert (body["status"], body["doc_id"], body["title"], body["passages"]) == \
        ("duplicate", first["doc_id"], first["title"], first["passages"])
    assert len(stored(write_client)) == 1


def test_the_vector_side_reads_a_bounded_part_of_a_long_query(write_client):
    """Only the first MAX_EMBED_CHARS characters are embedded: the query embedding's cost is bounded."""
    from search_app.params import MAX_EMBED_CHARS

    upload(write_client)
    other = "南屏县2020年政府工作报告\n一、工作回顾\n全年新建学校3所，新增就业2400人。\n"
    upload(write_client, data=other.encode(), name="b.txt")
    head = "行政复议申请" * (MAX_EMBED_CHARS // 6)
    ranked = [[(h["chunk_id"], h["score"]) for h in write_client.get(
        "/api/v1/search", query_string={"q": head[:MAX_EMBED_CHARS] + tail, "mode": "semantic"}).get_json()["hits"]]
        for tail in ("学校就业" * 60, "复议受理" * 60)]
    assert ranked[0] and ranked[0] == ranked[1]
    shorter = write_client.get("/api/v1/search", query_string={"q": head[:50] + "学校就业" * 60, "mode": "semantic"})
    assert [(h["chunk_id"], h["score"]) for h in shorter.get_json()["hits"]] != ranked[0]  # the head does count
