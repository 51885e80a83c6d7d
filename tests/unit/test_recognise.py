"""Query understanding as pure functions: regions and years recognised, question words, word groups."""

import pytest

from search_app.params import parse_params
from search_app.query import drop_question_words, parse_query, word_groups
from search_app.recognise import Vocabulary, recognise, short_name

KNOWN = Vocabulary(regions=("三门峡市", "太原市", "广元市", "恒口示范区", "新密市", "新乡市", "内蒙古自治区"),
                   years=(2019, 2020, 2021, 2022))


@pytest.mark.parametrize("region, short", [
    ("太原市", "太原"), ("三门峡市", "三门峡"), ("恒口示范区", "恒口"), ("内蒙古自治区", "内蒙古"),
    ("广元", None), ("沙市", None),  # no suffix / a short name needs two characters
])
def test_short_name(region, short):
    assert short_name(region) == short


@pytest.mark.parametrize("text, rest, applied", [
    ("太原 行政复议", "行政复议", [("region", "太原市", "太原")]),
    ("太原市行政复议", "行政复议", [("region", "太原市", "太原市")]),
    ("三门峡 复议案件", "复议案件", [("region", "三门峡市", "三门峡")]),
    ("恒口 2021 普法", "普法", [("region", "恒口示范区", "恒口"), ("year", 2021, "2021")]),
    ("2021年度 行政复议", "行政复议", [("year", 2021, "2021年度")]),
    ("太原市2021年行政复议案件", "行政复议案件", [("region", "太原市", "太原市"), ("year", 2021, "2021年")]),
    ("太原 三门峡 行政复议", "行政复议", [("region", "太原市", "太原"), ("region", "三门峡市", "三门峡")]),
    ("新密 依法行政", "依法行政", [("region", "新密市", "新密")]),  # jieba cuts 新/密: a word of its own
    ("新乡村振兴", "新乡村振兴", []),  # 新乡 is not a word here
    ("太原 市场监管", "市场监管", [("region", "太原市", "太原")]),
    ("行政复议 2000件", "行政复议 2000件", []),  # a count, not a year
    ("2021行政复议", "2021行政复议", []),  # a bare year inside a word stays a word
    ("2018年 行政复议", "2018年 行政复议", []),  # a year the archive does not hold
    ("北京 行政复议", "北京 行政复议", []),  # a region it does not hold
    ("太原", "太原", [("region", "太原市", "太原")]),  # nothing else to search: the word stays, filtered
    ("２０２１年 行政復議", "行政復議", [("year", 2021, "２０２１年")]),  # full-width digits as typed
])
def test_recognise(text, rest, applied):
    out, found = recognise(text, KNOWN)
    assert (out, [(a.field, a.value, a.typed) for a in found]) == (rest, applied)


TOWNS = Vocabulary(regions=("东河镇", "旺苍县", "朝阳区", "建外街道"), years=(2022, 2023))


@pytest.mark.parametrize("text, rest, applied", [
    # jieba cuts a township's name (东河/镇): its full name still counts where no word straddles its edges
    ("东河镇2023年 行政复议", "行政复议", [("region", "东河镇", "东河镇"), ("year", 2023, "2023年")]),
    ("2023年东河镇收到行政复议申请", "收到行政复议申请", [("year", 2023, "2023年"), ("region", "东河镇", "东河镇")]),
    ("建外街道 政府信息公开", "政府信息公开", [("region", "建外街道", "建外街道")]),
    ("东河镇江", "东河镇江", []),  # 镇江 is written across 东河镇's end
    ("东河镇长", "东河镇长", []),  # 镇长, a word across its end
])
def test_a_region_jieba_cuts_is_still_recognised_where_it_stands_as_a_name(text, rest, applied):
    out, found = recognise(text, TOWNS)
    assert (out, [(a.field, a.value, a.typed) for a in found]) == (rest, applied)


def test_recognised_values_become_filters_and_literal_keeps_them_words():
    p = parse_query("太原 2021年 行政复议", KNOWN)
    assert (p.text, p.regions, p.years, p.terms) == ("行政复议", ("太原市",), (2021,), ("行政", "复议", "行政复议"))
    params = parse_params({"q": "太原 2021年 行政复议"})
    assert params.filters(p).region == ("太原市",) and params.filters(p).year == (2021,)
    assert parse_query("太原 2021年 行政复议").applied == ()  # no vocabulary given: plain words
    literal = parse_params({"q": "太原", "literal": "1"})
    assert literal.literal and "literal=1" in literal.query_string()


@pytest.mark.parametrize("text, rest", [
    ("四川省2024年粮食产量是多少？", "四川省2024年粮食产量"),
    ("太原市有没有行政复议案件", "太原市 行政复议案件"),
    ("如何开展普法", "开展普法"),
    ("行政复议是否公开", "行政复议 公开"),
    ("办结率是多少吗", "办结率"),
    ("行政复议吗？", "行政复议"),
    ("吗啡 管制", "吗啡 管制"),  # a particle inside a word stays
    ("呢绒", "呢绒"),
    ("如何", "如何"),  # nothing else: searched as typed
    ("哪一年出台", "出台"),
])
def test_question_words_are_dropped(text, rest):
    assert drop_question_words(text) == rest


TABLE = {"复议": ("行政复议",), "复议案件": ("行政复议案件",), "政务热线": ("12345热线", "市民热线"),
         "12345热线": ("政务热线", "市民热线")}


@pytest.mark.parametrize("text, groups", [
    ("行政复议 办案数", (("行政复议",), ("办案数",))),  # words, not their fragments 行政 复议 办案
    ("复议", (("复议", "行政复议"),)),
    ("复议案件", (("复议", "行政复议", "行政复议案件"), ("案件", "行政复议案件"))),
    ("政务热线", (("政务热线", "12345热线", "市民热线"),)),
    ("12345热线 办结率", (("12345热线", "政务热线", "市民热线"), ("办结率",))),
    ("行政 行政复议", (("行政复议",),)),  # 行政 is held wherever 行政复议 is
])
def test_word_groups(text, groups):
    terms = parse_query(text).terms
    assert word_groups(terms, text, TABLE) == groups
