"""A failed upload leaves nothing under data/uploads/ and says in Chinese what is wrong (issue 14)."""

from __future__ import annotations

import io
import json
import re
from pathlib import PurePath

import pytest

from archive.config import load_config
from indexer import SUPPORTED_SUFFIXES
from search_app import create_app
from search_app.upload_meta import FIELD_CHARS, INT_FIELDS, kind_of

TOKEN = "test-token-0123456789"
REPORT = "澄湖市2022年法治政府建设年度报告\n一、总体情况\n全年办理行政复议案件８６件，纠错率１２. ５%。\n".encode()
META = json.dumps({"region": "澄湖市", "doc_number": "澄政发〔2023〕3号"}, ensure_ascii=False)
# Words a Chinese message may still hold: the API's own field and format names, as a client writes them.
TECHNICAL = {"metadata", "multipart", "file", "JSON", "PDF", "DOCX", "HTML", "UTF", "OCR", *FIELD_CHARS, *INT_FIELDS,
             *(s.lstrip(".") for s in SUPPORTED_SUFFIXES)}


@pytest.fixture()
def uploads(tmp_path):
    config = load_config({}, data_dir=tmp_path / "data", embedder="hash", api_tokens=(TOKEN,), max_upload_mb=1)
    return create_app(config).test_client(), tmp_path / "data" / "uploads"


def send(client, data: bytes, name: str, metadata: str | None = None):
    form = {"file": (io.BytesIO(data), name)}
    if metadata is not None:
        form["metadata"] = metadata
    return client.post("/api/v1/documents", data=form, headers={"Authorization": f"Bearer {TOKEN}"},
                       content_type="multipart/form-data")


def english_words(message: str, name: str) -> list[str]:
    """Latin words of a message other than the file name (and its suffix) and the API's own names."""
    rest = message.replace(name, " ").replace(PurePath(name).suffix, " ")
    return [w for w in re.findall(r"[A-Za-z]{2,}", rest) if w not in TECHNICAL and w.lower() not in TECHNICAL]


@pytest.mark.parametrize("data, name, metadata, status, says", [
    (b"%PDF-1.4\n\x00 broken \x01" * 30, "坏文件.pdf", META, 422, "PDF 文件已损坏"),
    (b"PK\x03\x04 not a zip", "坏文件.docx", META, 422, "DOCX 文件已损坏"),
    (b"", "empty.txt", META, 422, "文件为空"),
    (b"\x00\x01\x02abc" * 100, "binary.txt", None, 422, "二进制"),
    (b"<html><body><script>x()</script></body></html>", "page.html", META, 422, "没有文字"),
    (REPORT, "report.txt", json.dumps({"year": "2022"}), 400, "必须是整数，如 2023（收到字符串）"),
    (REPORT, "report.txt", json.dumps({"year": 2022.5}), 400, "必须是整数，如 2023（收到小数）"),
    (REPORT, "report.txt", json.dumps({"year": 1800}), 400, "超出范围"),
    (REPORT, "report.txt", json.dumps({"title": ["a"]}), 400, "必须是字符串（收到数组）"),
    (REPORT, "report.txt", "{not json", 400, "不是合法的 JSON"),
    (REPORT, "report.exe", None, 415, "不支持的文件类型"),
])
def test_a_failed_upload_leaves_nothing_and_speaks_chinese(uploads, data, name, metadata, status, says):
    client, folder = uploads
    assert send(client, REPORT, "kept.txt").status_code == 201  # a good report stays through the failures
    before = sorted(p.name for p in folder.iterdir())
    resp = send(client, data, name, metadata)
    assert resp.status_code == status, resp.get_data(as_text=True)
    message = resp.get_json()["error"]["message"]
    assert says in message and re.search(r"[\u4e00-\u9fff]", message), message
    assert english_words(message, name) == [], message
    assert sorted(p.name for p in folder.iterdir()) == before  # no file, no .meta.json, no staged copy
    assert len(before) == 1


@pytest.mark.parametrize("value, kind", [
    ("2023", "字符串"), (2023, "整数"), (True, "真假值"), ([2023], "数组"), ({"y": 1}, "对象"), (None, "其他值"),
])
def test_kind_of(value, kind):
    assert kind_of(value) == kind
