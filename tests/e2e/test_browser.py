"""End to end: a real `python -m search_app serve` driven by Debian's headless Chromium through Playwright.

Screenshots go to test-output/screenshots/. Without Chromium or Playwright these tests skip,
except in CI (CI=true), where a missing browser is a failure.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from tests.e2e.conftest import shot

pytestmark = pytest.mark.browser

QUERY = "行政复议"


def search_from_the_box(page, server: str, query: str) -> None:
    page.goto(server + "/")
    page.fill("input[name=q]", query)
    with page.expect_navigation():
        page.click("form[role=search] button[type=submit]")


def region_badges(page) -> list[str]:
    return [t.strip() for t in page.locator("li.hit .badge-region").all_inner_texts()]


def in_viewport(locator) -> bool:
    return locator.evaluate(
        "el => { const r = el.getBoundingClientRect(); return r.top < window.innerHeight && r.bottom > 0; }")


def test_typing_a_query_shows_highlighted_results(page, server):
    search_from_the_box(page, server, QUERY)
    assert urlsplit(page.url).path == "/search"
    assert parse_qs(urlsplit(page.url).query)["q"] == [QUERY]
    assert page.locator("li.hit").count() > 0
    assert page.locator("li.hit .snippet mark").first.is_visible()
    assert re.search(r"共 \d+ 条结果", page.locator(".summary").inner_text())
    shot(page, "search-desktop", full_page=True)


def test_clicking_a_region_facet_narrows_the_results(page, server):
    page.goto(f"{server}/search?q={quote(QUERY)}")
    assert len(set(region_badges(page))) > 1
    with page.expect_navigation():
        page.locator("a.facet-link", has_text="太原市").first.click()
    assert parse_qs(urlsplit(page.url).query).get("region") == ["太原市"]
    assert region_badges(page) and set(region_badges(page)) == {"太原市"}
    assert page.locator("a.chip", has_text="太原市").is_visible()
    shot(page, "search-region-facet")


def _check_target_passage(page) -> None:
    fragment = urlsplit(page.url).fragment
    assert re.fullmatch(r"p\d+", fragment), page.url
    target = page.locator(f"section.passage#{fragment}")
    assert target.count() == 1
    assert target.evaluate("el => el.matches(':target')")
    assert in_viewport(target), "the linked passage is scrolled into view"
    assert target.locator("mark").count() > 0
    background = target.evaluate("el => getComputedStyle(el).backgroundColor")
    assert background not in ("rgba(0, 0, 0, 0)", "transparent"), "the target passage is highlighted"


def test_opening_a_hit_lands_on_the_highlighted_passage(page, server, context):
    page.goto(f"{server}/search?q={quote(QUERY)}")
    with page.expect_navigation():
        page.locator("li.hit:has(.match-keyword) .hit-title a").first.click()
    assert urlsplit(page.url).path.startswith("/doc/")
    _check_target_passage(page)
    shot(page, "doc-desktop-target")
    copied = page.url
    page.reload()
    _check_target_passage(page)
    fresh = context.new_page()  # the shared link, opened by someone else
    fresh.goto(copied)
    _check_target_passage(fresh)


def test_toc_link_moves_to_its_section(page, server):
    page.goto(f"{server}/search?q={quote(QUERY)}")
    doc_url = page.locator("li.hit .hit-title a").first.get_attribute("href").split("#")[0]
    page.goto(server + doc_url)
    toc = page.locator("nav.toc a")
    assert toc.count() > 1  # every seed report is cut along its headings
    anchor = toc.last.get_attribute("href")
    toc.last.click()
    page.wait_for_function("h => location.hash === h", arg=anchor)
    assert in_viewport(page.locator(f"section.passage{anchor}"))


@pytest.mark.parametrize("name,path", [
    ("home", "/"),
    ("search", f"/search?q={quote(QUERY)}&region={quote('太原市')}"),
    ("help", "/help"),
    ("error", "/search?page=0"),
])
def test_phone_width_has_no_horizontal_scroll(browser, server, name, path):
    ctx = browser.new_context(viewport={"width": 375, "height": 812}, device_scale_factor=2, is_mobile=True,
                              has_touch=True, locale="zh-CN")
    try:
        page = ctx.new_page()
        page.goto(server + path)
        assert page.evaluate("document.scrollingElement.scrollWidth") <= 375 + 1
        shot(page, f"{name}-375")
    finally:
        ctx.close()


def test_phone_width_reading_view(browser, server):
    ctx = browser.new_context(viewport={"width": 375, "height": 812}, is_mobile=True, locale="zh-CN")
    try:
        page = ctx.new_page()
        page.goto(f"{server}/search?q={quote(QUERY)}")
        assert page.evaluate("document.scrollingElement.scrollWidth") <= 375 + 1
        with page.expect_navigation():
            page.locator("li.hit:has(.match-keyword) .hit-title a").first.click()
        assert page.evaluate("document.scrollingElement.scrollWidth") <= 375 + 1
        _check_target_passage(page)
        shot(page, "doc-375-target")
    finally:
        ctx.close()


def test_search_works_without_javascript(browser, server):
    ctx = browser.new_context(java_script_enabled=False, viewport={"width": 1024, "height": 800})
    try:
        page = ctx.new_page()
        search_from_the_box(page, server, QUERY)
        assert page.locator("li.hit").count() > 0 and page.locator("li.hit mark").count() > 0
        with page.expect_navigation():  # the mode is a link: it applies at once, without JavaScript
            page.locator("nav.switch a[data-field=mode]", has_text="关键词").click()
        assert parse_qs(urlsplit(page.url).query)["mode"] == ["keyword"]
        assert set(page.locator("li.hit .badge-match").all_inner_texts()) == {"关键词"}
        with page.expect_navigation():
            page.locator("a.facet-link", has_text="太原市").first.click()
        assert set(region_badges(page)) == {"太原市"}
        with page.expect_navigation():
            page.locator("a.chip", has_text="太原市").click()
        assert "region" not in parse_qs(urlsplit(page.url).query)
        shot(page, "search-no-js")
    finally:
        ctx.close()


@pytest.mark.parametrize("payload", [
    '<img src=x onerror="window.__xss=1">',
    '<script>window.__xss=1</script>"><img src=x onerror=alert(1)>',
])
def test_xss_payloads_stay_inert(page, server, payload):
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    search_from_the_box(page, server, payload)
    assert page.locator("input[name=q]").input_value() == payload
    urls = [f"{server}/search?q={quote(payload)}&region={quote(payload)}&mode=keyword",
            f"{server}/search?mode={quote(payload)}"]
    doc = page.locator("li.hit .hit-title a").first
    if doc.count():
        urls.append(server + doc.get_attribute("href").split("?")[0] + f"?q={quote(payload)}")
    for url in [page.url, *urls]:
        page.goto(url)
        page.wait_for_load_state("load")
        assert page.evaluate("typeof window.__xss") == "undefined", url
    assert dialogs == []
    shot(page, "xss")


def test_figures_chart_grid_and_csv_download(page, server):
    page.goto(f"{server}/search?q={quote('行政复议')}")
    page.get_by_role("link", name="数字对比").click()
    page.wait_for_load_state()
    assert "/figures?" in page.url
    chart = page.locator("svg.chart")
    assert chart.is_visible() and chart.locator("circle").count() >= 2
    assert page.locator("table.figures-table tbody tr").count() >= 5
    shot(page, "figures", full_page=True)
    with page.expect_download() as info:
        page.get_by_role("link", name="导出 CSV").click()
    download = info.value
    data = Path(download.path()).read_bytes()
    assert re.fullmatch(r"行政复议_数字对比_\d{4}-\d{2}-\d{2}\.csv", download.suggested_filename)  # RFC 5987 name
    assert data.startswith("\ufeff".encode()) and "广元市" in data.decode("utf-8-sig")
    page.goto(f"{server}/grid?q={quote('行政复议')}")
    assert page.locator("td.cell-match mark").count() >= 3
    assert page.locator("td.cell-no_report").count() >= 1
    shot(page, "grid", full_page=True)


def test_a_region_typed_in_the_box_is_a_removable_chip(page, server):
    page.goto(f"{server}/search")
    page.fill("input#q", "太原 行政复议")
    with page.expect_navigation():
        page.press("input#q", "Enter")
    chip = page.locator("a.chip", has_text="已按地区筛选：太原市")
    assert chip.is_visible() and set(region_badges(page)) == {"太原市"}
    assert page.locator("a.chip-literal", has_text="“太原”").is_visible()
    shot(page, "search-recognised-region")
    with page.expect_navigation():
        chip.click()
    assert parse_qs(urlsplit(page.url).query) == {"q": ["行政复议"]}
    assert len(set(region_badges(page))) > 1 and page.locator("a.chip").count() == 0
