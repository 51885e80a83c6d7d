"""The HTML pages over the session index: search, facets, paging, reading view, help, errors, escaping."""

from __future__ import annotations

import dataclasses
import json
import re
from html import unescape
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from werkzeug.datastructures import MultiDict

from search_app.labels import missing
from search_app.params import MAX_PAGE, MAX_QUERY_CHARS, MAX_SIZE, MODES, SORTS, SearchParams, parse_params
from search_app.web import last_page, page_numbers

SEED_REGIONS = {"三门峡市", "新密市", "恒口示范区", "广元市", "太原市"}
XSS = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'


class Page(HTMLParser):
    """The parts of a page the tests look at: links (with their text), inputs, ids, script tags."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.html = html
        self.links: list[dict] = []
        self.inputs: list[dict] = []
        self.ids: list[str] = []
        self.scripts: list[dict] = []
        self._open_links: list[dict] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "a":
            a["text"] = ""
            self.links.append(a)
            self._open_links.append(a)
        elif tag == "input":
            self.inputs.append(a)
        elif tag == "script":
            self.scripts.append(a)

    def handle_endtag(self, tag):
        if tag == "a" and self._open_links:
            self._open_links.pop()

    def handle_data(self, data):
        for a in self._open_links:
            a["text"] += data

    def link(self, text: str, cls: str | None = None) -> dict:
        found = [a for a in self.links if text in " ".join(a["text"].split())
                 and (cls is None or cls in a.get("class", "").split())]
        assert found, f"no link with text {text!r}"
        return found[0]

    def links_with_class(self, cls: str) -> list[dict]:
        return [a for a in self.links if cls in a.get("class", "").split()]

    def hit_regions(self) -> list[str]:
        return [unescape(r) for r in re.findall(r'class="badge badge-region">([^<]*)<', self.html)]


def get_page(client, url: str, status: int = 200, **query) -> Page:
    resp = client.get(url, query_string=query or None)
    assert resp.status_code == status, resp.data[:500]
    assert resp.mimetype == "text/html"
    return Page(resp.get_data(as_text=True))


def args_of(href: str) -> MultiDict:
    return MultiDict([(k, v) for k, vs in parse_qs(urlsplit(href).query).items() for v in vs])


def api_search(client, **query) -> dict:
    resp = client.get("/api/v1/search", query_string=query)
    assert resp.status_code == 200
    return resp.get_json()


def facet_link(page: Page, value: str) -> dict:
    for a in page.links_with_class("facet-link"):
        if " ".join(a["text"].split()).startswith(value):
            return a
    raise AssertionError(f"no facet link for {value!r}")


# --- search page ---------------------------------------------------------------------------------

def test_search_page_renders_hits_with_marks(client):
    page = get_page(client, "/search", q="行政复议")
    api = api_search(client, q="行政复议")
    assert '<html lang="zh-CN">' in page.html and 'name="viewport"' in page.html
    assert f"共 <strong>{api['total']}</strong> 条结果" in page.html and "毫秒" in page.html
    assert page.html.count('<li class="hit">') == len(api["hits"]) > 0
    assert "<mark>行政复议</mark>" in page.html
    titles = [a["href"] for a in page.links if a["href"] in {h["url"] for h in api["hits"]}]
    assert titles, "hit titles link to the passage permalinks"
    assert re.search(r'class="badge badge-match match-(keyword|semantic)"', page.html)
    assert {"关键词", "语义"} & {m for m in re.findall(r'match-\w+" title="[^"]*">([^<]+)<', page.html)}


def test_home_shows_the_box_and_the_whole_archive(client):
    page = get_page(client, "/")
    box = next(i for i in page.inputs if i.get("name") == "q")
    assert box["value"] == "" and box.get("type") == "search"
    values = {" ".join(a["text"].split()).rsplit(" ", 1)[0] for a in page.links_with_class("facet-link")}
    assert SEED_REGIONS <= values and "年度报告" in values
    overview = api_search(client)
    for item in overview["facets"]["region"]:
        link = facet_link(page, item["value"])
        assert args_of(link["href"]).getlist("region") == [item["value"]]
        assert link["text"].split()[-1] == str(item["count"])


@pytest.mark.parametrize("field,value,expected", [
    ("region", "太原市", {"q": ["行政复议"], "region": ["太原市"]}),
    ("year", "2021", {"q": ["行政复议"], "year": ["2021"]}),
    ("doc_type", "年度报告", {"q": ["行政复议"], "doc_type": ["年度报告"]}),
])
def test_facet_links_add_their_filter(client, field, value, expected):
    page = get_page(client, "/search", q="行政复议")
    href = facet_link(page, value + ("年" if field == "year" else ""))["href"]
    assert urlsplit(href).path == "/search"
    assert parse_qs(urlsplit(href).query) == expected


def test_following_a_region_facet_narrows_the_results(client):
    page = get_page(client, "/search", q="行政复议")
    assert len(set(page.hit_regions())) > 1
    narrowed = get_page(client, facet_link(page, "太原市")["href"])
    assert narrowed.hit_regions() and set(narrowed.hit_regions()) == {"太原市"}
    assert re.search(r"共 <strong>(\d+)</strong>", narrowed.html).group(1) == str(
        api_search(client, q="行政复议", region="太原市")["total"])


def test_selected_filters_show_as_chips_that_remove_themselves(client):
    page = get_page(client, "/search?q=行政复议&region=太原市&year=2021&year_from=2019")
    chips = {" ".join(a["text"].split()): args_of(a["href"]) for a in page.links_with_class("chip")}
    region_chip = next(v for k, v in chips.items() if "太原市" in k)
    assert "region" not in region_chip and region_chip.getlist("year") == ["2021"]
    year_chip = next(v for k, v in chips.items() if "2021" in k)
    assert "year" not in year_chip and year_chip.getlist("region") == ["太原市"]
    from_chip = next(v for k, v in chips.items() if "起始年份" in k)
    assert "year_from" not in from_chip and from_chip["q"] == "行政复议"
    selected = facet_link(page, "太原市")
    assert "is-selected" in selected["class"] and "region" not in args_of(selected["href"])
    clear = page.link("清除全部")
    assert dict(args_of(clear["href"])) == {"q": "行政复议"}
    hidden = {(i["name"], i["value"]) for i in page.inputs if i.get("type") == "hidden"}
    assert {("region", "太原市"), ("year", "2021")} <= hidden, "a new query keeps the filters"


def test_json_link_is_the_same_search_at_the_api(client):
    query = "q=行政复议&mode=keyword&region=太原市&region=新密市&year_from=2019&sort=date&size=5&page=2"
    page = get_page(client, "/search?" + query)
    href = page.link("以 JSON 查看")["href"]
    assert urlsplit(href).path == "/api/v1/search"
    assert parse_params(args_of(href)) == parse_params(args_of("/search?" + query))
    body = client.get(href).get_json()
    assert f"共 <strong>{body['total']}</strong> 条结果" in page.html


@pytest.mark.parametrize("mode", MODES)
def test_mode_links_reflect_the_url(client, mode):
    # One set of controls (links): tests/app/test_controls.py holds the rest of it.
    page = get_page(client, "/search", q="行政复议", mode=mode)
    current = [a for a in page.links if a.get("aria-current") == "true" and args_of(a["href"]).get("q")]
    assert any(args_of(a["href"]).get("mode", "hybrid") == mode for a in current)
    for label, other in (("混合", "hybrid"), ("关键词", "keyword"), ("语义", "semantic")):
        link = next(a for a in page.links if a["text"].strip() == label and "/search" in a["href"])
        assert args_of(link["href"]).get("mode", "hybrid") == other


def test_paging_links(client):
    total = api_search(client, q="行政复议", size=5)["total"]
    last = -(-total // 5)
    assert last >= 3, "the index should give several pages"
    page = get_page(client, "/search", q="行政复议", size=5, page=2)
    assert args_of(page.link("上一页")["href"]).get("page", "1") == "1"
    assert args_of(page.link("下一页")["href"])["page"] == "3"
    numbers = page.links_with_class("pager-num")
    assert all(int(args_of(a["href"]).get("page", "1")) <= last for a in numbers)
    assert str(last) in {a["text"].strip() for a in numbers}
    assert all(args_of(a["href"])["size"] == "5" and args_of(a["href"])["q"] == "行政复议" for a in numbers)
    end = get_page(client, "/search", q="行政复议", size=5, page=last)
    assert "下一页</span>" in end.html and not any(a["text"].strip() == "下一页" for a in end.links)


def test_a_page_past_the_results_redirects_to_the_last(client):
    total = api_search(client, q="行政复议", size=100)["total"]
    resp = client.get("/search", query_string={"q": "行政复议", "size": 100, "page": MAX_PAGE})
    # Page 1 is the default and is left out of links.
    assert resp.status_code == 302
    assert args_of(resp.headers["Location"]).get("page", "1") == str(last_page(total, 100))


def test_no_results_state(client):
    page = get_page(client, "/search", q="QQQZZXWV", mode="keyword")
    assert "没有找到与“QQQZZXWV”相关的结果" in page.html
    assert "可找到" not in page.html  # no other mode finds anything either: none is suggested


def test_filters_without_a_query_ask_for_words(client):
    page = get_page(client, "/search", region="太原市")
    assert "请输入检索词" in page.html and page.links_with_class("chip")


# --- reading view --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def hit(app):
    """A hit for 行政复议 whose report has a table of contents."""
    client = app.test_client()
    for h in api_search(client, q="行政复议")["hits"]:
        if client.get(f"/api/v1/documents/{h['doc_id']}").get_json()["sections"]:
            return h
    raise AssertionError("no hit from a report with sections")


def test_doc_page_highlights_and_anchors_every_passage(client, hit):
    doc = client.get(f"/api/v1/documents/{hit['doc_id']}", query_string={"q": "行政复议"}).get_json()
    page = get_page(client, f"/doc/{hit['doc_id']}", q="行政复议")
    assert "<mark>" in page.html and "<h1>" + doc["title"] in page.html.replace("<h1>\n", "<h1>")
    assert [i for i in page.ids if re.fullmatch(r"p\d+", i)] == [c["anchor"] for c in doc["chunks"]]
    assert "p0" in page.ids and hit["anchor"] in page.ids
    permalinks = [a["href"] for a in page.links_with_class("permalink")]
    assert permalinks == [c["url"] for c in doc["chunks"]]
    assert all(a["text"] == "复制链接" for a in page.links_with_class("permalink"))
    back = page.link("返回")["href"]
    assert urlsplit(back).path == "/search" and args_of(back)["q"] == "行政复议"
    for label in ("地区", "年度", "类型", "发布机构", "发布日期", "文号"):
        assert f"<dt>{label}</dt>" in page.html


def test_doc_page_without_a_query_has_no_marks(client, hit):
    page = get_page(client, f"/doc/{hit['doc_id']}")
    assert "<mark>" not in page.html and "p0" in page.ids


def test_toc_links_point_at_passages_on_the_page(client, hit):
    doc = client.get(f"/api/v1/documents/{hit['doc_id']}").get_json()
    page = get_page(client, f"/doc/{hit['doc_id']}")
    toc = [a["href"] for a in page.links if a["href"].startswith("#p")]
    assert toc == ["#" + s["anchor"] for s in doc["sections"]]
    assert all(href[1:] in page.ids for href in toc)


def test_missing_metadata_reads_as_what_is_missing(client):
    docs = {h["doc_id"] for h in api_search(client, q="法治政府", size=50)["hits"]}
    fields = ("region", "year", "doc_type", "publisher", "published", "doc_number")
    for doc_id in sorted(docs):
        doc = client.get(f"/api/v1/documents/{doc_id}").get_json()
        page = get_page(client, f"/doc/{doc_id}")
        assert "未识别" not in page.html
        for f in fields:  # 无文号 where the report has no 文号, and so on
            assert (f'<span class="unknown">{missing(f)}</span>' in page.html) == (doc[f] in (None, "")), (doc_id, f)


def test_unknown_doc_is_a_404_page_in_chinese(client):
    page = get_page(client, "/doc/unknown", status=404)
    assert "找不到" in page.html and '<html lang="zh-CN">' in page.html
    assert page.link("返回首页")["href"] == "/"


# --- errors and escaping -------------------------------------------------------------------------

@pytest.mark.parametrize("query", [
    {"mode": "x"}, {"page": "0"}, {"page": "1.5"}, {"size": str(MAX_SIZE + 1)}, {"size": "0"},
    {"q": "字" * (MAX_QUERY_CHARS + 1)}, {"year": "abc"}, {"year_from": "20x"}, {"sort": "newest"},
])
def test_bad_parameters_are_a_400_page(client, query):
    page = get_page(client, "/search", status=400, **query)
    assert "请求参数有误" in page.html and "Traceback" not in page.html
    assert page.link("返回首页")


@pytest.mark.parametrize("url", [
    "/search?q={x}", "/search?q={x}&mode=keyword", "/search?q=行政复议&region={x}", "/search?q={x}&doc_type={x}",
    "/search?mode={x}", "/doc/unknown?q={x}", "/doc/{x}", "/?q={x}",
])
def test_user_input_is_escaped_everywhere(client, url):
    resp = client.get(url.format(x=XSS.replace("&", "%26").replace("#", "%23")), follow_redirects=True)
    assert resp.status_code in (200, 400, 404)
    html = resp.get_data(as_text=True)
    assert "<script>alert" not in html and "<img src=x" not in html
    if resp.status_code == 200:  # the payload did reach the page, escaped
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_doc_page_escapes_the_query(client, hit):
    resp = client.get(f"/doc/{hit['doc_id']}", query_string={"q": XSS})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;img src=x" in html


def test_pages_run_no_inline_script_and_say_so(client):
    resp = client.get("/search", query_string={"q": "行政复议"})
    page = Page(resp.get_data(as_text=True))
    assert page.scripts and all(s.get("src", "").startswith("/static/") for s in page.scripts)
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    assert "http://" not in page.html.split("<body")[0] and "https://" not in page.html.split("<body")[0]


@pytest.mark.parametrize("path,mimetypes", [
    ("/static/style.css", {"text/css"}),
    ("/static/app.js", {"text/javascript", "application/javascript"}),  # depends on the system's mime table
])
def test_static_files_are_served(client, path, mimetypes):
    resp = client.get(path)
    assert resp.status_code == 200 and resp.mimetype in mimetypes


# --- help and OpenAPI ----------------------------------------------------------------------------

def test_help_page_explains_the_syntax_modes_and_api(client):
    page = get_page(client, "/help")
    for text in ('"短语"', "-排除词", "year:2021", "year:2019..2023", "region:太原市", "type:年度报告",
                 "混合", "关键词", "语义", "/api/v1/search", "/healthz"):
        assert unescape(text) in unescape(page.html), text
    examples = [a["href"] for a in page.links if a["href"].startswith("/search?q=")]
    assert examples and all(client.get(h).status_code == 200 for h in examples)


def test_openapi_describes_what_parse_params_accepts(client):
    resp = client.get("/api/v1/openapi.json")
    spec = json.loads(resp.get_data(as_text=True))
    assert spec["openapi"].startswith("3.0")
    assert {"/api/v1/search", "/api/v1/documents/{doc_id}", "/healthz"} <= set(spec["paths"])
    params = {p["name"]: p["schema"] for p in spec["paths"]["/api/v1/search"]["get"]["parameters"]}
    assert set(params) == {f.name for f in dataclasses.fields(SearchParams)}
    assert params["mode"]["enum"] == list(MODES) and params["sort"]["enum"] == list(SORTS)
    assert params["q"]["maxLength"] == MAX_QUERY_CHARS
    assert (params["page"]["minimum"], params["page"]["maximum"]) == (1, MAX_PAGE)
    assert (params["size"]["minimum"], params["size"]["maximum"]) == (1, MAX_SIZE)
    assert {p for p, s in params.items() if s["type"] == "array"} == {"region", "doc_type", "year", "province", "city"}
    refs = set(re.findall(r'"\$ref": "#/components/schemas/(\w+)"', json.dumps(spec)))
    assert refs <= set(spec["components"]["schemas"])


def test_openapi_hit_schema_covers_what_the_api_returns(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    hit = api_search(client, q="行政复议", explain=1)["hits"][0]
    assert set(hit) == set(schemas["Hit"]["properties"])
    plain = api_search(client, q="行政复议")["hits"][0]
    assert set(plain) == set(hit) - {"ranks", "scores", "explain"}
    doc = client.get(f"/api/v1/documents/{hit['doc_id']}").get_json()
    assert set(doc) == set(schemas["Document"]["properties"])
    assert set(doc["chunks"][0]) == set(schemas["Passage"]["properties"])


# --- paging arithmetic (pure) --------------------------------------------------------------------

@pytest.mark.parametrize("current,last,expected", [
    (1, 1, [1]),
    (1, 3, [1, 2, 3]),
    (1, 10, [1, 2, 3, None, 10]),
    (5, 10, [1, None, 3, 4, 5, 6, 7, None, 10]),
    (4, 10, [1, 2, 3, 4, 5, 6, None, 10]),
    (10, 10, [1, None, 8, 9, 10]),
])
def test_page_numbers(current, last, expected):
    assert page_numbers(current, last) == expected


@pytest.mark.parametrize("total,size,expected", [
    (0, 10, 1), (1, 10, 1), (10, 10, 1), (11, 10, 2), (113, 5, 23), (10**6, 1, MAX_PAGE),
])
def test_last_page(total, size, expected):
    assert last_page(total, size) == expected


@pytest.mark.parametrize("url", ["/", "/search?q=行政复议", "/search?q=没有这种词语呀呀", "/figures?q=行政复议",
                                 "/grid?q=行政复议", "/grid", "/reports", "/help", "doc", "similar"])
def test_every_page_has_one_main_heading(client, hit, url):
    """One <h1> a page: what a screen reader's heading list starts from (axe: page-has-heading-one)."""
    url = {"doc": hit["url"].split("#")[0], "similar": f"/similar/{hit['chunk_id']}"}.get(url, url)
    page = get_page(client, url.split("?")[0], **dict(p.split("=") for p in url.partition("?")[2].split("&") if p))
    assert len(re.findall(r"<h1[\s>]", page.html)) == 1, url
