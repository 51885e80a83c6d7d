"""Issue 14's controls over the session index: one set of mode and sort links, facets that stay open
(years newest first, several values of a field at once, counts that are totals), a page past the last
one, error pages that keep the query, help that covers every page and operator, the empty grid."""

from __future__ import annotations

import dataclasses
import re
from html import unescape
from urllib.parse import urlsplit

import pytest

from archive.models import FACET_FIELDS
from search_app.params import MAX_PAGE, MAX_QUERY_CHARS, MODES, SORTS, SearchParams
from search_app.query import syntax_forms
from search_app.service import facet_values
from search_app.web import MODE_LABELS, SORT_LABELS, last_page
from tests.app.test_pages import api_search, args_of, get_page

Q = "行政复议"


# --- one set of controls -------------------------------------------------------------------------

def control_links(page, field: str) -> list[dict]:
    return [a for a in page.links if a.get("data-field") == field]


@pytest.mark.parametrize("field, labels, options", [("mode", MODE_LABELS, MODES), ("sort", SORT_LABELS, SORTS)])
@pytest.mark.parametrize("url", ["/", "/search?q=" + Q, "/search?q=" + Q + "&region=太原市&size=5&page=2"])
def test_mode_and_sort_are_one_set_of_links(client, url, field, labels, options):
    page = get_page(client, url)
    assert not [i for i in page.inputs if i.get("name") == field and i.get("type") == "radio"]  # no second set
    links = control_links(page, field)
    assert [a["text"].strip() for a in links] == [labels[o] for o in options]  # each option once
    here = args_of(url)
    for a, option in zip(links, options, strict=True):
        target = args_of(a["href"])
        assert target.get(field, options[0]) == option and urlsplit(a["href"]).path == "/search"
        assert "page" not in target  # a new mode or order starts at page 1
        assert target.getlist("region") == here.getlist("region") and target.get("q") == here.get("q")
        assert target.get("size") == here.get("size")
    assert [a["data-value"] for a in links if a.get("aria-current") == "true"] == [options[0]]


@pytest.mark.parametrize("mode, sort", [("keyword", "relevance"), ("semantic", "date"), ("hybrid", "date")])
def test_a_control_link_applies_at_once_without_javascript(client, mode, sort):
    start = get_page(client, "/search", q=Q)
    href = next(a["href"] for a in control_links(start, "mode") if a["data-value"] == mode)
    page = get_page(client, href + ("&" if "?" in href else "?") + f"sort={sort}")
    current = {a["data-field"]: a["data-value"] for a in page.links
               if a.get("data-field") and a.get("aria-current") == "true"}
    assert current == {"mode": mode, "sort": sort}
    body = api_search(client, q=Q, mode=mode, sort=sort)
    assert f"共 <strong>{body['total']}</strong> 条结果" in page.html
    # The form carries the choice into the next search typed in the box (defaults are left out).
    hidden = {i["name"]: i["value"] for i in page.inputs if i.get("type") == "hidden" and i["name"] in ("mode", "sort")}
    assert hidden == {k: v for k, v in (("mode", mode), ("sort", sort)) if v not in ("hybrid", "relevance")}


# --- facets --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, pairs, expected", [
    ("year", [("2017", 9), ("2024", 1), ("2021", 5)], ["2024", "2021", "2017"]),  # year order, not count order
    ("year", [("", 4), ("2019", 1), ("2023", 2)], ["2023", "2019", ""]),  # a report without a year last
    ("region", [("太原市", 9), ("新密市", 1)], ["太原市", "新密市"]),  # other fields keep count order
    ("year", [], []),
])
def test_facet_values_order(name, pairs, expected):
    values = facet_values(name, pairs)
    assert [v["value"] for v in values] == expected
    assert sorted((v["value"], v["count"]) for v in values) == sorted(pairs)


def test_years_are_listed_newest_first_on_the_page_and_the_api(client):
    years = [int(v["value"]) for v in api_search(client, q=Q)["facets"]["year"] if v["value"]]
    assert len(years) >= 3 and years == sorted(years, reverse=True)
    page = get_page(client, "/search", q=Q)
    shown = re.findall(r'<span class="facet-name">(\d{4})年</span>', page.html)
    assert [int(y) for y in shown] == years


def total(client, **query) -> int:
    return api_search(client, q=Q, size=1, **query)["total"]


@pytest.mark.parametrize("mode", MODES)
def test_a_chosen_facet_keeps_its_other_values_with_counts_that_are_totals(client, mode):
    """The disjunctive-facet rule: a field's own values are counted without that field's own filter
    (other fields' filters kept), so each count is the total of the search with that value instead."""
    everything = api_search(client, q=Q, mode=mode)
    years = [v["value"] for v in everything["facets"]["year"] if v["value"]]
    assert len(years) >= 2, years
    chosen = years[0]
    body = api_search(client, q=Q, mode=mode, year=chosen)
    assert body["facets"]["year"] == [{"value": chosen, "count": body["total"]}]  # `facets`: as before
    options = body["facet_options"]
    assert set(options) == {"year"}  # only the chosen field
    assert options["year"] == everything["facets"]["year"]  # the only filter left out: the whole set's years
    for v in options["year"]:
        assert v["count"] == total(client, mode=mode, year=v["value"]), v
    # Two fields chosen: each field's options keep the other field's filter.
    region = next(v["value"] for v in body["facets"]["region"] if v["value"])
    both = api_search(client, q=Q, mode=mode, year=chosen, region=region)
    assert set(both["facet_options"]) == {"year", "region"}
    for v in both["facet_options"]["year"]:
        assert v["count"] == total(client, mode=mode, year=v["value"], region=region), v
    for v in both["facet_options"]["region"]:
        assert v["count"] == total(client, mode=mode, year=chosen, region=v["value"]), v


def test_several_values_of_one_facet(client):
    years = [v["value"] for v in api_search(client, q=Q, mode="keyword")["facets"]["year"] if v["value"]][:2]
    one, two = (total(client, mode="keyword", year=y) for y in years)
    body = api_search(client, q=Q, mode="keyword", year=years, size=100)
    assert body["total"] == one + two  # a report has one year: the two sets are apart
    assert {str(h["year"]) for h in body["hits"]} == set(years)
    assert {v["value"]: v["count"] for v in body["facets"]["year"]} == dict(zip(years, (one, two), strict=True))


def test_the_page_shows_a_chosen_facets_other_values_and_adds_them(client):
    years = [v["value"] for v in api_search(client, q=Q, mode="keyword")["facets"]["year"] if v["value"]]
    page = get_page(client, f"/search?q={Q}&mode=keyword&year={years[0]}")
    links = {re.sub(r"\D", "", a["text"].split("年")[0]): a for a in page.links_with_class("facet-link")
             if re.match(r"\s*\d{4}年", a["text"])}
    assert list(links) == years  # every year still there, newest first
    assert "is-selected" in links[years[0]]["class"] and links[years[0]].get("aria-current") == "true"
    added = args_of(links[years[1]]["href"])
    assert added.getlist("year") == [years[0], years[1]] and added["mode"] == "keyword"
    assert args_of(links[years[0]]["href"]).getlist("year") == []  # the chosen one removes itself
    shown = int(re.sub(r"\D", "", links[years[1]]["text"].split("年", 1)[1]))
    assert shown == total(client, mode="keyword", year=years[1])


def test_start_page_facets_stay_open_too(client):
    body = api_search(client, region="太原市")
    overview = api_search(client)
    assert body["facet_options"]["region"] == overview["facets"]["region"]
    assert sum(v["count"] for v in body["facets"]["region"]) == sum(v["count"] for v in body["facets"]["doc_type"])


# --- pages past the last, errors that keep the query ---------------------------------------------

@pytest.mark.parametrize("page", ["9999", str(MAX_PAGE), "99999999999999999999", "９９９９"])
def test_a_page_past_the_last_redirects_to_the_last_page(client, page):
    last = last_page(total(client), 10)
    resp = client.get("/search", query_string={"q": Q, "page": page, "sort": "date"})
    assert resp.status_code == 302
    target = args_of(resp.headers["Location"])
    assert target.get("page", "1") == str(last) and target["q"] == Q and target["sort"] == "date"
    shown = get_page(client, resp.headers["Location"])
    assert f'<span class="pager-num" aria-current="page">{last}</span>' in shown.html
    assert '<li class="hit">' in shown.html


def test_a_page_of_nothing_goes_to_page_one(client):
    resp = client.get("/search", query_string={"q": "QQQZZXWV", "mode": "keyword", "page": 3})
    assert resp.status_code == 302 and "page" not in args_of(resp.headers["Location"])


@pytest.mark.parametrize("url, status", [
    ("/search?q=行政复议&page=abc", 400), ("/search?q=行政复议&mode=x", 400), ("/search?q=行政复议&year=20x1", 400),
    ("/doc/unknown?q=行政复议", 404), ("/similar/unknown?q=行政复议", 404),
])
def test_error_pages_keep_the_query_in_the_box_and_links(client, url, status):
    page = get_page(client, url, status=status)
    box = next(i for i in page.inputs if i.get("name") == "q")
    assert unescape(box["value"]) == "行政复议"
    again = page.link("重新检索")
    assert urlsplit(again["href"]).path == "/search"
    assert args_of(again["href"]).to_dict(flat=False) == {"q": ["行政复议"]}
    assert client.get(again["href"]).status_code == 200


def test_an_error_page_does_not_link_to_a_query_that_fails_again(client):
    page = get_page(client, "/search", status=400, q="字" * (MAX_QUERY_CHARS + 5))
    box = next(i for i in page.inputs if i.get("name") == "q")
    assert box["value"] == "字" * MAX_QUERY_CHARS
    assert not [a for a in page.links if "重新检索" in a["text"]]


# --- help ----------------------------------------------------------------------------------------

def test_help_covers_every_page_of_the_nav_and_the_app(app, client):
    html = get_page(client, "/help").html
    covered = {e for group in re.findall(r'data-endpoint="([^"]+)"', html) for e in group.split()}
    pages = {r.endpoint for r in app.url_map.iter_rules() if r.endpoint.startswith("web.") and "GET" in r.methods}
    assert pages <= covered, pages - covered
    writes = {r.endpoint for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/export/")
              or (r.rule == "/api/v1/documents" and "POST" in r.methods)}
    assert len(writes) == 2 and writes <= covered, writes - covered  # 导出 and 上传
    home = get_page(client, "/")
    nav = re.search(r'<nav class="site-nav".*?</nav>', home.html, re.S).group(0)
    for text in re.findall(r">([^<>]+)</a>", nav):
        assert text.strip() in html, text
    for name in ("检索", "阅读", "数字对比", "地区 × 年份", "相似段落", "报告目录", "导出", "上传"):
        assert f">{name}</dt>" in html, name


def test_help_explains_every_operator_and_parameter(client):
    html = unescape(get_page(client, "/help").html)
    codes = " ".join(re.findall(r"<code>(.*?)</code>", html, re.S))
    for form in syntax_forms():
        assert form in codes, form
    for f in dataclasses.fields(SearchParams):
        assert f"<code>{f.name}</code>" in html, f.name
    for field in FACET_FIELDS:
        assert f"<code>{field}</code>" in html, field


# --- the empty grid ------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/grid", "/grid?q=", "/grid?q=%20%20"])
def test_an_empty_grid_says_what_it_is_for(client, url):
    page = get_page(client, url)
    assert "这一页做什么" in page.html and "每个地区每一年" in page.html
    example = page.link("查看“")
    assert urlsplit(example["href"]).path == "/grid" and args_of(example["href"])["q"]
    grid = get_page(client, example["href"])
    assert '<table class="data-table grid-table">' in grid.html and "这一页做什么" not in grid.html
