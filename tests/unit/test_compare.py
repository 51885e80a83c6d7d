import re

import pytest

from search_app.charts import bar_chart, fitted_axis, line_chart
from search_app.compare import sentence_matches
from search_app.figures import add_year_over_year, series, single_year


@pytest.mark.parametrize("sentence, needles, expected", [
    ("加强行政复议规范化建设,2023年办理复议案件406件", ["行政复议", "复议", "行政"], True),
    ("12345政务服务便民热线全年共受理17.92万件", ["12345热线", "热线"], True),  # 热线 and the digits 12345
    ("全年办理行政处罚案件862件", ["行政复议", "复议", "行政"], False),  # one part is not enough
    ("行政復議案件75件", ["行政复议"], True),  # traditional text
    ("", ["行政复议"], False),
])
def test_sentence_matches(sentence, needles, expected):
    assert sentence_matches(sentence, needles) is expected


def row(region, year, label, value, unit="件"):
    return {"region": region, "year": year, "label": label, "value": value, "unit": unit, "change": None}


def test_year_over_year_compares_the_previous_available_year():
    rows = [row("甲市", 2020, "受理", 100), row("甲市", 2022, "受理", 120), row("乙市", 2022, "受理", 50),
            row("甲市", 2022, "办结率", 99.0, "%")]
    add_year_over_year(rows)
    assert rows[0]["change"] is None
    assert rows[1]["change"] == {"from_year": 2020, "previous": 100, "delta": 20, "ratio": 0.2}
    assert rows[2]["change"] is None and rows[3]["change"] is None


def test_the_same_value_said_twice_is_one_value():
    """A report's own 2022 figure and the 2023 report's "较2022年的…" give 2022 twice: one value, still compared."""
    rows = [row("甲市", 2022, "受理", 100), row("甲市", 2022, "受理", 100), row("甲市", 2023, "受理", 120)]
    add_year_over_year(rows)
    assert rows[2]["change"] == {"from_year": 2022, "previous": 100, "delta": 20, "ratio": 0.2}
    assert rows[0]["change"] is None and rows[1]["change"] is None


def test_ambiguous_years_are_not_paired():
    rows = [row("甲市", 2020, "受理", 100), row("甲市", 2020, "受理", 7), row("甲市", 2021, "受理", 120)]
    add_year_over_year(rows)
    assert all(r["change"] is None for r in rows)


def measured(region, year, measure, value, kind="result", period=None):
    first, last = period or (year, year)
    return {**row(region, year, "标签", value), "measure": measure, "measure_value": value, "measure_unit": "件",
            "kind": kind,
            "period_from": first, "period_to": last}


def test_series_by_region_keeps_targets_apart_and_skips_plans_and_ranges():
    rows = [measured("甲市", 2021, "m", 5), measured("甲市", 2020, "m", 4), measured("乙市", 2021, "m", 9),
            measured("乙市", 2021, "other", 1), measured("甲市", 2021, "m", 6, kind="target"),
            measured("甲市", 2022, "m", 7, kind="plan"), measured("甲市", 2023, "m", 8, period=(2021, 2025)),
            measured("甲市", 2021, "m", 99)]  # a second 2021 result: the first wins
    assert series(rows, "m") == {"乙市": [(2021, 9, "result")],
                                 "甲市": [(2020, 4, "result"), (2021, 5, "result"), (2021, 6, "target")]}


def test_year_over_year_uses_the_period_and_leaves_targets_out():
    rows = [measured("甲市", 2023, "m", 100, period=(2022, 2022)), measured("甲市", 2023, "m", 120),
            measured("甲市", 2024, "m", 150, kind="target")]
    add_year_over_year(rows)
    assert rows[1]["change"]["from_year"] == 2022 and rows[1]["change"]["delta"] == 20
    assert rows[0]["change"] is None and rows[2]["change"] is None


def test_a_part_of_a_year_is_never_the_years_value():
    """"2023年上半年 95%" beside "2023年 98%": the chart, the year-over-year change and the one-value-a-year tables
    take the whole year's figure only; a part alone gives the year no value."""
    half = {**measured("甲市", 2023, "m", 95), "period_part": "上半年"}
    rows = [measured("甲市", 2022, "m", 90), half, measured("甲市", 2023, "m", 98)]
    assert series(rows, "m") == {"甲市": [(2022, 90, "result"), (2023, 98, "result")]}
    assert [single_year(r) for r in rows] == [2022, None, 2023]
    add_year_over_year(rows)
    assert half["change"] is None and rows[2]["change"]["previous"] == 90
    assert series([half], "m") == {}


def test_chart_escapes_and_draws_one_line_per_region():
    svg = line_chart({"<b>甲</b>": [(2020, 1.0), (2021, 3.5)], "乙市": [(2021, 2.0)]}, "件", "受<理>")
    # a region with one point has a dot and no line
    assert svg.startswith("<svg") and svg.count("<polyline") == 1 and svg.count("<circle") == 3
    assert "<b>" not in svg and "&lt;b&gt;甲" in svg and "受&lt;理&gt;" in svg
    assert line_chart({}, "件") == ""


def xs(svg: str, cls: str) -> list[float]:
    return [float(x) for x in re.findall(rf'<circle class="{cls}" cx="([0-9.]+)"', svg)]


def test_years_are_spaced_by_time():
    svg = line_chart({"甲市": [(2017, 1.0), (2020, 2.0), (2021, 3.0)]}, "件")
    a, b, c = xs(svg, "dot-result")
    assert (b - a) == pytest.approx(3 * (c - b), abs=0.2)


def test_targets_are_drawn_apart_from_results():
    svg = line_chart({"甲市": [(2024, 5.0, "target"), (2025, 5.0, "target"), (2024, 5.2, "result"),
                               (2025, 5.4, "result")]}, "%")
    assert 'class="line-target"' in svg and 'stroke-dasharray' in svg and 'class="line-result"' in svg
    assert len(xs(svg, "dot-target")) == 2 and len(xs(svg, "dot-result")) == 2
    assert "目标" in svg


@pytest.mark.parametrize("values, unit, low, high", [
    ([90.5, 97.2], "%", 90, 98),  # rates of 90-97%: not 0-100
    ([99.77, 95.09, 99.0], "%", 94, 100),  # never past 100%
    ([406, 248, 22], "件", 0, 600),  # never below 0 for counts
    ([5.0, 5.4], "%", 4.8, 5.6),
    ([7.0], "件", 6, 8),  # one value: an axis around it
    ([-3, 2], "%", -4, 4),
])
def test_fitted_axis(values, unit, low, high):
    lo, hi, step = fitted_axis(values, unit)
    assert (lo, hi) == (pytest.approx(low), pytest.approx(high)) and lo <= min(values) and hi >= max(values)
    assert step > 0


def test_chart_text_is_readable_when_shrunk_to_a_phone():
    svg = line_chart({"甲市": [(2020, 1.0), (2021, 3.5)]}, "件")
    width = float(re.search(r'viewBox="0 0 ([0-9.]+)', svg)[1])
    sizes = [float(s) for s in re.findall(r'font-size="([0-9.]+)"', svg)]
    assert sizes and min(sizes) * 343 / width >= 11  # 375 px screen less the page's padding


def test_bar_chart():
    svg = bar_chart([("2021", 0.0, "无"), ("2022", 0.5, "一半"), ("2023", 1.0, "全部")], "提及")
    assert svg.count('class="bar"') == 3 and "50%" in svg and "100%" in svg
    assert bar_chart([]) == ""
