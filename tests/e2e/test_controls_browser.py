"""In headless Chromium: 复制链接 over plain HTTP (no Clipboard API there), and mode and sort links
that apply at once, keeping a query typed but not yet sent.

Plain HTTP is reached for real: Chromium counts every 127.x.x.x address and `localhost` as
potentially trustworthy (a secure context), so a second Chromium maps the name `archive.test`
to the live server's 127.0.0.1 (`--host-resolver-rules`): http://archive.test:PORT is an
ordinary insecure origin, where `navigator.clipboard` is undefined, as on an intranet.
"""

from __future__ import annotations

import json
import urllib.request
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from tests.e2e.conftest import ARGS, CHROMIUM, shot

pytestmark = pytest.mark.browser

INSECURE_HOST = "archive.test"
# Records what a copy command copied: the selected part of the field it was given.
RECORD_COPIES = """() => { window.copied = [];
  document.addEventListener('copy', e => { const t = e.target;
    window.copied.push(t && 'value' in t ? t.value.slice(t.selectionStart, t.selectionEnd)
                                         : String(document.getSelection())); }, true); }"""


@pytest.fixture(scope="module")
def insecure(browser, server):
    """A Chromium context whose pages reach the live server over plain, insecure HTTP; yields (context, base)."""
    chromium = browser.browser_type.launch(executable_path=str(CHROMIUM),
                                           args=[*ARGS, f"--host-resolver-rules=MAP {INSECURE_HOST} 127.0.0.1"])
    ctx = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    ctx.set_default_timeout(20_000)
    yield ctx, server.replace("127.0.0.1", INSECURE_HOST)
    ctx.close()
    chromium.close()


def first_passage(server: str) -> str:
    """The reading-view path of the first hit for 行政复议, from the JSON API."""
    with urllib.request.urlopen(f"{server}/api/v1/search?q={quote('行政复议')}&size=1", timeout=30) as resp:
        return json.load(resp)["hits"][0]["url"].split("#", 1)[0]


def test_copy_link_over_plain_http_copies_by_selection(insecure, server):
    ctx, base = insecure
    page = ctx.new_page()
    page.goto(base + first_passage(server))
    assert page.evaluate("() => [window.isSecureContext, typeof navigator.clipboard]") == [False, "undefined"]
    page.evaluate(RECORD_COPIES)
    link = page.locator("a.permalink").nth(1)
    href = link.evaluate("a => a.href")
    assert href.startswith(f"http://{INSECURE_HOST}:") and "#p" in href
    link.click()
    page.wait_for_function("() => window.copied.length > 0")
    assert page.evaluate("() => window.copied") == [href]
    assert link.inner_text() == "已复制"
    assert page.locator(".copy-by-hand").count() == 0
    assert page.locator("textarea").count() == 0  # the helper field is gone again
    assert urlsplit(page.url).fragment == urlsplit(href).fragment  # and the link still went to its passage
    page.close()


def test_copy_link_that_cannot_copy_shows_the_link_to_copy_by_hand(insecure, server):
    ctx, base = insecure
    page = ctx.new_page()
    page.goto(base + first_passage(server))
    page.evaluate("() => { document.execCommand = () => false; }")  # a browser that refuses to copy
    link = page.locator("a.permalink").first
    href = link.evaluate("a => a.href")
    link.click()
    field = page.locator(".copy-by-hand input.copy-field")
    field.wait_for()
    assert field.input_value() == href and link.inner_text() == "复制链接"
    assert "请手动复制此链接" in page.locator(".copy-by-hand").inner_text()
    page.wait_for_function("() => document.activeElement.className === 'copy-field'")  # focused, all selected
    assert page.evaluate("() => [document.activeElement.selectionStart, document.activeElement.selectionEnd]") \
        == [0, len(href)]
    shot(page, "copy-link-by-hand")
    link.click()  # a second failure reuses the same field
    assert page.locator(".copy-by-hand").count() == 1
    page.close()


def test_copy_link_in_a_secure_context_uses_the_clipboard(browser, server):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    page = ctx.new_page()
    page.goto(server + first_passage(server))
    assert page.evaluate("() => window.isSecureContext") is True
    link = page.locator("a.permalink").first
    href = link.evaluate("a => a.href")
    link.click()
    page.wait_for_function("() => document.querySelector('a.permalink').textContent === '已复制'")
    assert page.evaluate("() => navigator.clipboard.readText()") == href
    ctx.close()


def args(url: str) -> dict:
    return {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}


def test_mode_and_sort_links_apply_at_once_and_keep_a_typed_query(page, server):
    page.goto(f"{server}/search?q={quote('行政复议')}")
    assert page.locator("input[type=radio]").count() == 0
    with page.expect_navigation():
        page.locator("nav.switch a[data-field=mode]", has_text="关键词").click()
    assert args(page.url) == {"q": "行政复议", "mode": "keyword"}
    assert page.locator("nav.switch a[aria-current=true]", has_text="关键词").count() == 1
    page.fill("input[name=q]", "普法")  # typed, not sent: choosing the order sends it with the order
    with page.expect_navigation():
        page.locator("nav.switch a[data-field=sort]", has_text="时间").click()
    assert args(page.url) == {"q": "普法", "mode": "keyword", "sort": "date"}
    assert page.locator("nav.switch a[aria-current=true]", has_text="时间").count() == 1
    assert page.locator("p.summary").inner_text().startswith("共 ")
    shot(page, "controls-applied")
