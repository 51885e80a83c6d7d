"""Reading a question: query -> (measure, region, year), or no question at all."""

from __future__ import annotations

import pytest

from search_app.answer import asked_measure, parse_question, short_names

KNOWN = short_names({"太原市", "三门峡市", "恒口示范区", "四川省"})


@pytest.mark.parametrize("q, expected", [
    ("太原市2021年办理了多少行政复议案件", ("admin_review.handled", "太原市", 2021)),
    ("太原2021年办理了多少行政复议案件？", ("admin_review.handled", "太原市", 2021)),  # the short name
    ("２０２１年太原市行政复议案件有多少", ("admin_review.handled", "太原市", 2021)),  # full-width digits
    ("四川省2024年粮食产量是多少？", ("agriculture.grain_output", "四川省", 2024)),
    ("三门峡市2023年12345热线满意率", ("hotline.satisfaction_rate", "三门峡市", 2023)),
    ("三门峡市2023年12345热线受理了多少件", ("hotline.received", "三门峡市", 2023)),
    ("北京市2021年办理了多少行政复议案件", ("admin_review.handled", "北京市", 2021)),  # not in the archive
    ("青山镇2023年收到多少行政复议申请", ("admin_review.received", "青山镇", 2023)),  # a township not in it
    ("建外街道2022年收到多少行政复议申请", ("admin_review.received", "建外街道", 2022)),
    ("澄湖市2025年地区生产总值增长多少", ("economy.gdp_growth", "澄湖市", 2025)),  # a growth: the rate
    ("澄湖市2025年地区生产总值是多少", ("economy.gdp", "澄湖市", 2025)),  # an amount
    ("行政复议", None),  # no year
    ("2021年办理了多少行政复议案件", None),  # no region
    ("太原市2021年法治政府建设", None),  # no measure
    ("", None),
])
def test_parse_question(q, expected):
    question = parse_question(q, KNOWN)
    got = None if question is None else (question.measure.id, question.region, question.year)
    assert got == expected


@pytest.mark.parametrize("text, measure", [
    ("行政复议纠错率", "admin_review.correction_rate"), ("城镇新增就业多少人", "jobs.urban_new"),
    ("法治政府", None),
    # what was done with the cases names the measure, not the cases alone
    ("审结行政复议案件多少件", "admin_review.closed"), ("行政复议案件多少件", "admin_review.handled"),
    ("成功调解矛盾纠纷", "mediation.succeeded"),
])
def test_asked_measure(text, measure):
    found = asked_measure(text)
    assert (found.id if found else None) == measure


def test_short_names():
    assert short_names({"太原市", "恒口示范区", "东湖新区"}) == {
        "太原市": "太原市", "太原": "太原市", "恒口示范区": "恒口示范区", "恒口": "恒口示范区",
        "东湖新区": "东湖新区", "东湖": "东湖新区"}
