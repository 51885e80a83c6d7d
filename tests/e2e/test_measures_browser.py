"""End to end in headless Chromium: the measure page, its chart (phone-sized too), target against
result on the demo reports, the answer card and the attention bars.

The seed pages use the session's live server; target against result needs the demo reports
(澄湖市's two 政府工作报告), served by a second real server over an index of its own (the `demo_server`
fixture of tests/e2e/conftest.py).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

from tests.e2e.conftest import shot

pytestmark = pytest.mark.browser

# Every text of the chart, in screen pixels, on a 375 px wide phone.
CHART_TEXT_SIZES = """() => [...document.querySelectorAll('svg.chart.trend text')].map(t => {
  const m = t.getScreenCTM();
  return parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b);
})"""


def test_measure_page_picks_a_measure_and_links_each_value_to_its_sentence(page, server):
    page.goto(f"{server}/figures?q={quote('12345热线')}")
    links = page.locator("nav.measure-links a")
    assert links.count() >= 3
    page.locator("nav.measure-links a", has_text="12345热线受理量").click()
    page.wait_for_load_state()
    assert "measure=hotline.received" in page.url
    table = page.locator("table.series-table")
    assert table.is_visible() and table.locator("th[scope=row]", has_text="太原市").count() == 1
    assert table.locator("span.blank", has_text="无该年度报告").count() >= 1  # blank cells say why
    assert page.locator("svg.chart.trend circle.dot-result").count() >= 2
    shot(page, "measure-page", full_page=True)
    value = table.locator("tr", has=page.locator("th", has_text="太原市")).locator("td a").first
    assert value.inner_text() == "1703000"  # 170.3万件 in the measure's unit, 件
    value.click()
    page.wait_for_load_state()
    assert "/doc/" in page.url and "#p" in page.url


def test_chart_text_is_readable_at_375_px(browser, server):
    ctx = browser.new_context(viewport={"width": 375, "height": 812}, locale="zh-CN", device_scale_factor=2)
    try:
        phone = ctx.new_page()
        phone.goto(f"{server}/figures?q={quote('12345热线')}&measure=hotline.closing_rate")
        chart = phone.locator("svg.chart.trend")
        assert chart.is_visible() and chart.bounding_box()["width"] <= 375
        sizes = phone.evaluate(CHART_TEXT_SIZES)
        assert sizes and min(sizes) >= 11, sizes
        # a fitted axis: rates of 95-99.77% are not drawn on 0-100
        labels = phone.evaluate("() => [...document.querySelectorAll('svg.chart.trend text.axis-label')]"
                                ".map(t => t.textContent)")
        ticks = [float(t) for t in labels if t.replace(".", "").isdigit()]
        assert min(ticks) >= 50 and max(ticks) <= 100
        assert phone.evaluate("document.documentElement.scrollWidth") <= 375
        shot(phone, "measure-chart-375")
    finally:
        ctx.close()


def test_targets_are_drawn_apart_and_set_beside_results(page, demo_server, tmp_path):
    page.goto(f"{demo_server}/figures?q={quote('地区生产总值')}&measure=economy.gdp_growth")
    chart = page.locator("svg.chart.trend")
    assert chart.locator("polyline.line-result").count() == 1
    target_line = chart.locator("polyline.line-target")
    assert target_line.count() == 1 and target_line.get_attribute("stroke-dasharray")
    assert chart.locator("circle.dot-target").first.get_attribute("fill") == "#ffffff"  # hollow
    row = page.locator("table.targets-table tr", has=page.locator("td", has_text="2025"))
    assert "5%" in row.inner_text() and "5.4%" in row.inner_text() and "+0.4" in row.inner_text()
    shot(page, "targets", full_page=True)
    with page.expect_download() as info:
        page.get_by_role("link", name="导出指标矩阵 CSV").click()
    data = Path(info.value.path()).read_bytes().decode("utf-8-sig")
    assert info.value.suggested_filename.startswith("地区生产总值_指标矩阵_")  # the query and kind name the file
    assert data.splitlines()[0].startswith("地区,")
    assert "澄湖市" in data and "目标" in data


def test_answer_card_and_attention_bars_on_the_search_page(page, server):
    page.goto(f"{server}/search?q={quote('太原市2021年办理了多少行政复议案件')}")
    card = page.locator("section.answer-card")
    assert card.is_visible() and "248件" in card.locator(".answer-value").inner_text()
    first_hit = page.locator("li.hit").first
    assert card.bounding_box()["y"] < first_hit.bounding_box()["y"]  # above the results
    card.locator("a").first.click()
    page.wait_for_load_state()
    assert "/doc/" in page.url
    page.goto(f"{server}/search?q={quote('北京市2021年办理了多少行政复议案件')}")
    assert "未找到" in page.locator("section.answer-card").inner_text()
    page.goto(f"{server}/search?q={quote('12345热线')}")
    assert page.locator("details.attention svg.chart.bars rect.bar").count() >= 3
    shot(page, "answer-attention", full_page=True)
