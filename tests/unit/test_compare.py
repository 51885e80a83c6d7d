import pytest

from search_app.charts import line_chart
from search_app.compare import add_year_over_year, sentence_matches, series


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


def test_ambiguous_years_are_not_paired():
    rows = [row("甲市", 2020, "受理", 100), row("甲市", 2020, "受理", 7), row("甲市", 2021, "受理", 120)]
    add_year_over_year(rows)
    assert all(r["change"] is None for r in rows)


def test_series_by_region():
    rows = [row("甲市", 2021, "受理", 5), row("甲市", 2020, "受理", 4), row("乙市", 2021, "受理", 9),
            row("乙市", 2021, "办结", 1)]
    assert series(rows, "受理") == {"乙市": [(2021, 9)], "甲市": [(2020, 4), (2021, 5)]}


def test_chart_escapes_and_draws_one_line_per_region():
    svg = line_chart({"<b>甲</b>": [(2020, 1.0), (2021, 3.5)], "乙市": [(2021, 2.0)]}, "件", "受<理>")
    assert svg.startswith("<svg") and svg.count("<polyline") == 2 and svg.count("<circle") == 3
    assert "<b>" not in svg and "&lt;b&gt;甲" in svg and "受&lt;理&gt;" in svg
    assert line_chart({}, "件") == ""
