"""End to end: every page at a phone's 375 px and a desktop's 1280 px in real headless Chromium.

On each page and width: nothing overflows sideways, no visible table column is narrower than two
characters, and axe-core (the copy the app serves itself, search_app/static/vendor/axe-core/) finds no
serious or critical violation, colour contrast included. A screenshot of each is kept under
test-output/screenshots/layout-<page>-<width>.png. Then the three layouts the issue asked for: the
figures table as labelled stacked rows on a phone, the reading view's folded table of contents, and
a grid whose region names stay on one line.
"""

from __future__ import annotations

import json
import re
import urllib.request
from urllib.parse import quote, urljoin

import pytest

from tests.e2e.conftest import shot

pytestmark = pytest.mark.browser

QUERY = "行政复议"
WIDTHS = {375: 800, 1280: 900}
AXE = "/static/vendor/axe-core/axe.min.js"
BLOCKING = ("serious", "critical")

# Cells laid out as table cells (not stacked), visible, whose text box (the width less the padding) holds
# fewer than two characters a line.
NARROW_CELLS = """() => [...document.querySelectorAll('th, td')].map(c => {
  const s = getComputedStyle(c), r = c.getBoundingClientRect();
  const inner = r.width - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight) - parseFloat(s.borderLeftWidth)
                - parseFloat(s.borderRightWidth);
  const shown = s.display === 'table-cell' && s.visibility !== 'hidden' && r.width > 0 && r.height > 0;
  const t = c.closest("table").className;  // half a pixel of rounding: two characters that just fit do fit
  return shown && inner + .5 < parseFloat(s.fontSize) * 2 ? `${t}: ${inner.toFixed(1)}px ${c.innerText.slice(0, 12)}`
                                                          : null;
}).filter(Boolean)"""

# Short one-word cells (a region, a year, a type: up to six characters) broken over lines (三/门/峡/市).
WRAPPED_WORDS = """() => [...document.querySelectorAll('th, td')].filter(c => {
  const text = c.innerText.trim(), s = getComputedStyle(c);
  if (s.display !== 'table-cell' || text.length < 2 || text.length > 6 || /\\s/.test(text)) return false;
  const range = document.createRange();
  range.selectNodeContents(c);
  return range.getBoundingClientRect().height > 1.5 * parseFloat(s.lineHeight);  // more than one line
}).map(c => `${c.closest('table').className}: ${c.innerText.trim()}`)"""

# Violations, and the results axe could not decide ("incomplete") except colour contrast it cannot measure
# (text inside the SVG charts, cells clipped by a scrolling table): an undecided ARIA rule is a finding too.
# A visible "scrolls sideways" note whose table does not scroll (the note would be wrong).
FALSE_HINTS = """() => [...document.querySelectorAll('.scroll-hint')].filter(h => h.getClientRects().length > 0)
  .map(h => h.nextElementSibling).filter(box => !(box && box.scrollWidth > box.clientWidth))
  .map(box => box ? box.querySelector('table').className : 'nothing after the note')"""

AXE_RUN = """async () => {
  const result = await axe.run(document);
  const undecided = result.incomplete.filter(v => v.id !== 'color-contrast');
  return [...result.violations, ...undecided].map(v => ({id: v.id, impact: v.impact,
                                                         nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
}"""


def _api(server: str, path: str) -> dict:
    with urllib.request.urlopen(server + path, timeout=30) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def pages(server, demo_server) -> dict[str, tuple[str, int]]:
    """Every kind of page by name, as (absolute URL, expected status). The seeds' server gives the reading
    view and similar passages of the query's first hit; the demo reports add targets beside results."""
    hit = _api(server, f"/api/v1/search?q={quote(QUERY)}&mode=keyword&size=1")["hits"][0]
    q = quote(QUERY)
    paths = {"home": "/", "search": f"/search?q={q}", "doc": f"/doc/{quote(hit['doc_id'])}?q={q}",
             "figures": f"/figures?q={q}", "grid": f"/grid?q={q}", "similar": f"/similar/{quote(hit['chunk_id'])}",
             "reports": "/reports", "help": "/help", "no-hits": f"/search?q={quote('火星基地')}&mode=keyword",
             "answer": f"/search?q={quote('太原市2021年办理了多少行政复议案件')}"}
    return {**{name: (server + path, 200) for name, path in paths.items()},
            "targets": (f"{demo_server}/figures?q={quote('地区生产总值')}&measure=economy.gdp_growth", 200),
            "not-found": (server + "/doc/no-such-report", 404)}


@pytest.fixture(scope="module", params=sorted(WIDTHS), ids=lambda w: f"{w}px")
def width(request) -> int:
    return request.param


@pytest.fixture(scope="module")
def screen(browser, width):
    """One browser context per width: a phone (mobile viewport, touch) or a desktop window."""
    phone = width < 760
    ctx = browser.new_context(viewport={"width": width, "height": WIDTHS[width]}, is_mobile=phone, has_touch=phone,
                              locale="zh-CN")
    ctx.set_default_timeout(30_000)
    yield ctx
    ctx.close()


@pytest.fixture()
def tab(screen):
    """A fresh page, for a test that clicks or scrolls."""
    page = screen.new_page()
    yield page
    page.close()


@pytest.fixture(scope="module")
def opened(screen):
    """Pages loaded once per width, by URL, as (page, status): the checks that only read a page share
    one load of it (a page and its load per check made this module the browser suite's slowest)."""
    loaded = {}

    def get(url: str):
        if url not in loaded:
            page = screen.new_page()
            loaded[url] = (page, page.goto(url).status)
        return loaded[url]

    yield get
    for page, _ in loaded.values():
        page.close()


def axe_violations(page) -> list[dict]:
    """axe-core's serious and critical violations on the page as it stands (axe from the page's own server)."""
    page.add_script_tag(url=urljoin(page.url, AXE))
    return [v for v in page.evaluate(AXE_RUN) if v["impact"] in BLOCKING]


@pytest.mark.parametrize("name", ["home", "search", "doc", "figures", "grid", "similar", "reports", "help", "answer",
                                  "no-hits", "targets", "not-found"])
def test_every_page_fits_the_screen_and_passes_axe(opened, pages, width, name):
    url, status = pages[name]
    tab, answered = opened(url)
    assert answered == status, url
    shot(tab, f"layout-{name}-{width}", full_page=name != "doc")
    overflow = tab.evaluate("document.scrollingElement.scrollWidth") - tab.evaluate("innerWidth")
    assert overflow <= 0 and tab.evaluate("innerWidth") == width, f"{name} is {overflow}px wider than the screen"
    assert tab.evaluate(NARROW_CELLS) == [], f"{name}: table columns narrower than two characters"
    assert tab.evaluate(WRAPPED_WORDS) == [], f"{name}: short words broken over lines"
    assert tab.evaluate(FALSE_HINTS) == [], f"{name}: a note says a table scrolls sideways but it does not"
    violations = axe_violations(tab)
    assert violations == [], f"{name} at {width}px: " + "; ".join(f"{v['id']} ({v['impact']}) {v['nodes']}"
                                                                   for v in violations)


@pytest.mark.parametrize("name,selector", [
    ("figures", "table.figures-table"),
    ("targets", "table.targets-table"),
    ("reports", "table.catalogue-table"),
])
def test_wide_tables_are_labelled_cards_on_a_phone(opened, pages, width, name, selector):
    tab, _ = opened(pages[name][0])
    table = tab.locator(selector)
    cells = table.locator("tbody tr").first.locator("td")
    heads = [re.sub(r"\s*[↑↓]$", "", t.strip()) for t in table.locator("thead th").all_inner_texts()]
    assert [cells.nth(i).get_attribute("data-label") for i in range(cells.count())] == heads
    for box in (cells.nth(i).bounding_box() for i in range(cells.count())):  # every column on screen
        assert box is None or (box["x"] >= 0 and box["x"] + box["width"] <= width), (name, box)
    last = cells.last
    if width >= 760:
        assert last.evaluate("el => getComputedStyle(el).display") == "table-cell"
        return
    assert last.evaluate("el => getComputedStyle(el).display") == "block"
    label = last.evaluate("el => getComputedStyle(el, '::before').content")
    assert label == f'"{heads[-1]}"', "each card's cell names its column"
    sortable = table.locator("thead th.sortable a")
    if name == "reports":  # the catalogue's headings that sort stay as links above the cards
        assert sortable.count() == 4 and all(sortable.nth(i).is_visible() for i in range(4))
    else:
        assert table.locator("thead").evaluate("el => el.getBoundingClientRect().height") <= 1


def test_the_table_of_contents_folds_on_a_phone(tab, server, pages, width):
    tab.goto(pages["doc"][0].split("?")[0])
    toc = tab.locator("nav.toc details")
    assert toc.count() == 1
    first = tab.locator("section.passage").first
    if width < 760:
        assert toc.evaluate("el => el.open") is False
        assert first.evaluate("el => el.getBoundingClientRect().top") < WIDTHS[width], "first passage on screen"
        toc.locator("summary").click()
        assert toc.evaluate("el => el.open") is True and tab.locator("nav.toc a").first.is_visible()
    else:  # a side column: the whole list shown, whether or not the toggle was ever opened
        assert tab.locator("nav.toc a").first.is_visible() and tab.locator("nav.toc a").last.is_visible()
        assert toc.locator("ol").evaluate("el => el.getBoundingClientRect().height") > 40


def test_grid_region_names_stay_on_one_line(tab, server, pages, width):
    tab.goto(pages["grid"][0])
    heads = tab.locator("table.grid-table tbody th[scope=row]")
    assert heads.count() >= 3
    lines = heads.evaluate_all("""els => els.map(el => {
      const s = getComputedStyle(el), range = document.createRange();
      range.selectNodeContents(el);
      return [el.innerText, Math.round(range.getBoundingClientRect().height / parseFloat(s.lineHeight))];
    })""")
    assert all(n == 1 for _, n in lines), lines
    hint = tab.locator(".scroll-hint")  # a phone is told the years go on to the right
    assert hint.is_visible() is (width < 760)
    if width < 760:
        box = tab.locator(".scroll-hint + .table-scroll")
        assert box.evaluate("el => el.scrollWidth > el.clientWidth")
        box.evaluate("el => el.scrollLeft = el.scrollWidth")  # scrolled to the last year: the names stay put
        assert heads.first.bounding_box()["x"] >= 0 and heads.first.bounding_box()["x"] < width / 2
        assert heads.first.evaluate("el => el.innerText") == lines[0][0]


# The text's colour (an SVG text's fill) against the first opaque background behind it, WCAG's formula; and
# what would fade it.
CONTRAST = """el => {
  const rgba = c => { const v = c.match(/[\\d.]+/g).map(Number); return v.length === 3 ? [...v, 1] : v; };
  const lum = c => c.slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
                    .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  let back = null, opacity = 1;
  for (let n = el; n; n = n.parentElement) {
    const s = getComputedStyle(n);
    opacity *= parseFloat(s.opacity);
    if (!back && rgba(s.backgroundColor)[3] > 0) back = rgba(s.backgroundColor);
  }
  back = back || [255, 255, 255, 1];
  const style = getComputedStyle(el), fore = rgba(el instanceof SVGElement ? style.fill : style.color);
  const [a, b] = [lum(fore), lum(back)].sort((x, y) => y - x);
  return {ratio: (a + 0.05) / (b + 0.05), opacity, alpha: fore[3] * back[3], text: el.textContent.slice(0, 20)};
}"""


def _doc_missing_a_field(base: str) -> str | None:
    listing = _api(base, "/api/v1/documents?size=100")["documents"]
    return next((f"{base}/doc/{quote(d['doc_id'])}" for d in listing if d.get("doc_number") in (None, "")), None)


@pytest.mark.parametrize("name,selector", [
    ("doc", ".passage .permalink"),              # 复制链接
    ("doc", ".passage .similar-link"),
    ("doc", ".passage-section.is-repeat"),       # a section's later passages
    ("doc#target", ".passage:target .permalink"),
    ("unknown", ".doc-meta .unknown"),           # a field the report does not give (no 文号)
    ("search", ".pager .is-disabled"),
    ("search", ".hit .section-path"),
    ("similar", ".source-passage .section-path"),
    ("grid", ".cell-no_report .cell-state"),
    ("figures", ".series-table .blank"),
    ("figures", "svg.chart text"),               # the chart's axes and legend, which axe cannot measure
    ("search", "svg.chart text"),                # the attention bars
])
def test_quiet_text_keeps_a_contrast_of_four_and_a_half(opened, server, demo_server, pages, width, name, selector):
    if name == "unknown":
        url = _doc_missing_a_field(server) or _doc_missing_a_field(demo_server)
        assert url, "a report without a 文号 to show"
    elif name == "doc#target":
        hit = _api(server, f"/api/v1/search?q={quote(QUERY)}&mode=keyword&size=1")["hits"][0]
        url = server + hit["url"]
    else:
        url = pages[name][0]
    tab, _ = opened(url)
    found = tab.locator(selector)
    assert found.count() >= 1, f"{selector} on {url}"
    for measured in found.evaluate_all(f"els => els.slice(0, 12).map({CONTRAST})"):
        assert measured["opacity"] == 1 and measured["alpha"] == 1, measured  # no fading tricks
        assert measured["ratio"] >= 4.5, measured
