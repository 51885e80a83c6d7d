"""Metadata from raw report text: title, region, covered year, type, publisher, dates, numbers, sidecars."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from test_regions import PROVINCES  # one table of the 31 provinces for both test modules

from indexer.metadata import (
    FIELDS,
    Metadata,
    doc_type_of,
    extract_metadata,
    find_title,
    parse_date,
    parse_doc_number,
    region_of,
    strip_title,
)

PROSE = "全市坚持以习近平法治思想为指导,深入推进依法行政,法治政府建设取得新成效。"


def page(*lines: str) -> str:
    return "\n".join(lines)


@pytest.mark.parametrize(
    ("title", "region", "year", "doc_type"),
    [
        ("三门峡市2023年度法治政府建设情况报告", "三门峡市", 2023, "年度报告"),
        ("新密市法治政府建设领导小组关于印发新密市2023年度法治政府建设工作安排的通知", "新密市", 2023, "工作安排"),
        ("关于恒口示范区 2022 年法治政府建设工作自查情况的报告", "恒口示范区", 2022, "自查报告"),
        ("广元市2017年法治政府建设综述", "广元市", 2017, "综述"),
        ("太原市2021年法治政府建设年度报告", "太原市", 2021, "年度报告"),
        ("２０２２年某县政府工作报告", None, 2022, "政府工作报告"),  # full-width digits
        ("枣庄市人民政府2022年政府工作报告", "枣庄市", 2022, "政府工作报告"),
        ("法治政府建设年度报告", None, None, "年度报告"),
        ("河南省三门峡市2020年法治政府建设情况报告", "三门峡市", 2020, "年度报告"),  # most specific
        ("安康市恒口示范区2021年法治政府建设工作总结", "恒口示范区", 2021, "其他"),
        ("中共郑州市委关于2023年法治建设工作的报告", "郑州市", 2023, "其他"),
        ("内蒙古自治区2019年法治政府建设情况报告", "内蒙古自治区", 2019, "年度报告"),
        ("延边朝鲜族自治州2022年度法治政府建设情况报告", "延边朝鲜族自治州", 2022, "年度报告"),
        ("锡林郭勒盟2021年法治政府建设年度报告", "锡林郭勒盟", 2021, "年度报告"),
        ("郑州航空港经济综合实验区2022年法治政府建设综述", "郑州航空港经济综合实验区", 2022, "综述"),
        ("市委依法治市办关于法治政府建设示范市创建工作的通知", None, None, "其他"),
        ("关于全市2023年法治政府建设工作安排的通知", None, 2023, "工作安排"),
        ("关于印发《法治政府建设实施纲要(2021—2025年)》的通知", None, None, "其他"),
        ("关于城市管理领域法治政府建设自查报告", None, None, "自查报告"),
        ("关于2023年5月8日在市政府召开专题会议情况的报告", None, 2023, "年度报告"),  # "日在市" is no city
        ("奋力谱写法治新篇章——2023年示例市法治政府建设年度报告", "示例市", 2023, "年度报告"),  # a subtitle's year
        ("示例市2021 — 2025年法治政府建设规划", "示例市", None, "其他"),  # a span, spaced: no one year
        ("示例市二〇二三年法治政府建设年度报告", "示例市", 2023, "年度报告"),  # a year in Chinese numerals
        ("示例市二○二二年度法治政府建设情况报告", "示例市", 2022, "年度报告"),
    ],
)
def test_title_gives_region_year_and_type(title, region, year, doc_type):
    meta = extract_metadata(page(title, PROSE), "x.txt")
    assert meta.title == title.replace("２０２２", "2022")
    assert (meta.region, meta.year, meta.doc_type) == (region, year, doc_type)


@pytest.mark.parametrize(
    ("text", "region"),
    [
        ("新密市司法局", "新密市"),
        ("中共安康市恒口示范区工作委员会", "恒口示范区"),
        ("法治政府", None),
        ("市委", None),
        ("全面推进法治政府建设示范市创建", None),
        ("某社区", None),
        ("晋城市城区", "晋城市"),
        ("2023年度太原市法治政府建设年度报告", "太原市"),
        ("郑州市", "郑州市"),
        ("恩施州2022年", "恩施土家族苗族自治州"),  # the canonical name, not the short form
        ("", None),
    ],
)
def test_region_of(text, region):
    assert region_of(text) == region


@pytest.mark.parametrize(
    ("title", "doc_type"),
    [
        ("某市法治政府建设情况报告", "年度报告"),
        ("某市2023年度报告", "年度报告"),
        ("关于印发某市2023年度法治政府建设工作安排的通知", "工作安排"),
        ("某区法治政府建设自查报告", "自查报告"),
        ("某市2017年法治政府建设综述", "综述"),
        ("2024年某市政府工作报告", "政府工作报告"),
        ("某市法治政府工作报告", "年度报告"),  # 法治政府 + 工作报告 is not a 政府工作报告
        ("某市政府信息公开指南", "其他"),
    ],
)
def test_doc_type_of(title, doc_type):
    assert doc_type_of(title) == doc_type


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2024-03-26 10:55", "2024-03-26"),
        ("2018/3/6 11:24:00", "2018-03-06"),
        ("2022年12月02日16时26分", "2022-12-02"),
        ("2022 年 1 月 5 日", "2022-01-05"),
        ("２０２３年８月１４日", "2023-08-14"),
        ("2022.03.07", "2022-03-07"),
        ("2023-02-30", None),  # not a real day
        ("2023年", None),
        ("", None),
    ],
)
def test_parse_date(text, iso):
    assert parse_date(text) == iso


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("新密法政〔2023〕1号", "新密法政〔2023〕1号"),
        ("新密法政[2023]1号", "新密法政〔2023〕1号"),
        ("新密法政【2023】12号", "新密法政〔2023〕12号"),
        ("国办发［２０２３］３号", "国办发〔2023〕3号"),
        ("郑政 〔 2021 〕 7 号", "郑政〔2021〕7号"),
        ("根据《某某方案》(郑法政〔2023〕1号)要求", None),  # a citation in a sentence is another document
        ("新密法政〔2023", None),
    ],
)
def test_parse_doc_number(text, number):
    assert parse_doc_number(text) == number


@pytest.mark.parametrize(
    ("raw", "published"),
    [
        (page("某市2023年度法治政府建设情况报告", "发布时间:2024-03-26 10:55 文章来源:某市政府", PROSE),
         "2024-03-26"),
        (page("发布机构 市政府法制办 发文日期 2018/3/6 11:24:00", "某市2017年法治政府建设综述", PROSE), "2018-03-06"),
        (page("  • 公开日期2022年12月02日16时26分成文日期2022年12月01日", "关于某区2022年自查情况的报告", PROSE),
         "2022-12-02"),
        (page("某市2021年法治政府建设年度报告", "文章字体:【 】 发布日期: 2022-03-07 来源:某市司法局", PROSE),
         "2022-03-07"),
        (page("• 某市司法局", "• 2023-08-14", "关于印发某市2023年度工作安排的通知", PROSE), "2023-08-14"),
        (page("某市2017年法治政府建设综述", PROSE, "某市人民政府", "2018年3月6日", "扫一扫在手机打开当前页"),
         "2018-03-06"),
        (page("某市2017年法治政府建设综述", PROSE, "某市人民政府 2018年3月6日"), "2018-03-06"),
        # A report that lost its line breaks: its signature and date end its last paragraph.
        ("某市2017年法治政府建设综述 " + PROSE + PROSE + "某市人民政府 2018年3月6日", "2018-03-06"),
        ("某市2017年法治政府建设综述 " + PROSE + "2018年3月6日", "2018-03-06"),
        (page("某市2017年法治政府建设综述", PROSE), None),
        (page("某市2017年法治政府建设综述", PROSE + "截至2018年3月6日"), None),  # a date inside a sentence
    ],
    ids=["发布时间", "发文日期", "公开日期", "发布日期", "bullet", "closing-date", "signature-and-date-one-line",
         "fused-signature", "fused-date", "none", "date-in-a-sentence"],
)
def test_published_date_sources(raw, published):
    assert extract_metadata(raw, "x.txt").published == published


@pytest.mark.parametrize(
    ("raw", "publisher"),
    [
        (page("某市2023年度报告", "发布时间:2024-03-26 文章来源:三门峡市政府", PROSE), "三门峡市政府"),
        (page("发布机构 市政府法制办 发文日期 2018/3/6", "某市2017年综述", PROSE), "市政府法制办"),
        (page("某市2021年度报告", "发布日期: 2022-03-07 来源:太原市司法局", PROSE), "太原市司法局"),
        (page("某市2021年度报告", "发文机关:某市人民政府 发布机构:某市司法局", PROSE), "某市人民政府"),
        (page("• 005307554/2023-00051", "• 新密市司法局", "• 2023-08-14", "关于印发某工作安排的通知", PROSE),
         "新密市司法局"),
        (page("关于某区2022年自查情况的报告", PROSE, "中共某市某示范区工作委员会", "2022年12月2日"),
         "中共某市某示范区工作委员会"),
        (page("某市2017年法治政府建设综述", PROSE, "某市人民政府 2018年3月6日"), "某市人民政府"),
        ("某市2017年法治政府建设综述 " + PROSE + PROSE + "某市人民政府 2018年3月6日", "某市人民政府"),
        (page("某市2017年法治政府建设综述", PROSE), None),
    ],
    ids=["文章来源", "发布机构", "来源", "发文机关-first", "bullet-office", "signature", "signature-and-date-one-line",
         "fused-signature", "none"],
)
def test_publisher_sources(raw, publisher):
    assert extract_metadata(raw, "x.txt").publisher == publisher


def test_doc_number_from_header_not_from_body_citations():
    raw = page("• 新密法政[2023]1号", "关于印发某市2023年度工作安排的通知",
               "根据《郑州市工作安排》(郑法政〔2023〕9号)要求," + PROSE)
    assert extract_metadata(raw, "x.txt").doc_number == "新密法政〔2023〕1号"
    body_only = page("关于印发某市2023年度工作安排的通知", "根据(郑法政〔2023〕9号)要求," + PROSE)
    assert extract_metadata(body_only, "x.txt").doc_number is None


def test_doc_number_from_field():
    raw = page("某市2023年度法治政府建设情况报告", "发文字号:某政〔2024〕3号 成文日期:2024-01-05", PROSE)
    assert extract_metadata(raw, "x.txt").doc_number == "某政〔2024〕3号"


@pytest.mark.parametrize(
    ("raw", "year"),
    [
        (page("某市法治政府建设情况报告", "2023年,某市" + PROSE), 2023),  # the body's opening year
        (page("某市法治政府建设情况报告", "2023年度," + PROSE), 2023),
        (page("某市法治政府建设年度报告", "发布日期:2024-03-26", PROSE), 2023),  # published - 1
        (page("某市法治政府建设工作安排", "发布日期:2024-03-26", PROSE), None),  # only annual reports
        (page("某市2023年度法治政府建设情况报告", "发布日期:2024-03-26", "2022年," + PROSE), 2023),  # title wins
        (page("某市法治政府建设综述(2016—2020年)", PROSE), None),  # a range is not the covered year
    ],
)
def test_year_fallbacks(raw, year):
    assert extract_metadata(raw, "x.txt").year == year


def test_title_falls_back_to_file_stem_and_missing_is_reported():
    meta = extract_metadata(PROSE + "\n" + PROSE, "reports/某市材料.txt")
    assert meta == Metadata(title="某市材料", region=None, year=None, doc_type="其他", publisher=None,
                            published=None, doc_number=None,
                            missing=("region", "year", "publisher", "published", "doc_number"))


def test_nothing_is_invented_for_an_empty_text():
    meta = extract_metadata("", "")
    assert meta.title is None
    assert set(meta.missing) == set(FIELDS) - {"doc_type"}
    assert meta.doc_type == "其他"


@pytest.mark.parametrize(
    ("lines", "title"),
    [
        (["当前位置:首页 > 某市2023年度法治政府建设情况报告", "某市2023年度法治政府建设情况报告"],
         "某市2023年度法治政府建设情况报告"),
        (["• 法治政府建设工作安排", "关于印发某市2023年度法治政府建设工作安排的通知"],
         "关于印发某市2023年度法治政府建设工作安排的通知"),
        (["标题:某市报告", "某市2021年法治政府建设年度报告"], "某市2021年法治政府建设年度报告"),
        ([PROSE + "报告"], None),
    ],
    ids=["not-breadcrumb", "not-bullet", "not-field", "not-prose"],
)
def test_find_title(lines, title):
    assert find_title(lines) == title


SIDECAR_RAW = page("当前位置:首页 > 法治政府", "太原市2021年法治政府建设年度报告",
                   "发布日期: 2022-03-07 来源:太原市司法局", PROSE)


@pytest.mark.parametrize(
    ("sidecar", "field", "value"),
    [
        ({"title": "覆盖的标题"}, "title", "覆盖的标题"),
        ({"region": "山西省"}, "region", "山西省"),
        ({"year": "2020"}, "year", 2020),
        ({"year": 2019}, "year", 2019),
        ({"doc_type": "综述"}, "doc_type", "综述"),
        ({"publisher": "太原市人民政府"}, "publisher", "太原市人民政府"),
        ({"published": "2022/3/8"}, "published", "2022-03-08"),
        ({"doc_number": "并政〔2022〕1号"}, "doc_number", "并政〔2022〕1号"),
        ({"region": None}, "region", None),
        ({"unknown_key": "ignored"}, "region", "太原市"),
        ({"province": "山西省", "region_level": "city"}, "province", "山西省"),
        ({"region_level": "city"}, "region_level", "city"),
        ({"covers": "2021"}, "covers", 2021),
    ],
)
def test_sidecar_overrides_extracted_values(sidecar, field, value):
    meta = extract_metadata(SIDECAR_RAW, "x.txt", sidecar)
    assert getattr(meta, field) == value
    assert (field in meta.missing) is (value is None)


@pytest.mark.parametrize(
    ("raw", "sidecar", "expected"),
    [
        (page("会议材料", PROSE), {"title": "广元市2017年法治政府建设综述"}, ("广元市", 2017, "综述")),
        (page("某材料汇编", "发布日期:2024-03-26", PROSE), {"doc_type": "年度报告"}, (None, 2023, "年度报告")),
    ],
    ids=["title-feeds-region-year-type", "doc-type-feeds-year"],
)
def test_sidecar_values_feed_derived_fields(raw, sidecar, expected):
    meta = extract_metadata(raw, "x.txt", sidecar)
    assert (meta.region, meta.year, meta.doc_type) == expected


def test_sidecar_fills_missing_fields():
    meta = extract_metadata(SIDECAR_RAW, "x.txt", {"doc_number": "并政〔2022〕1号"})
    assert meta.missing == ()
    assert "doc_number" in extract_metadata(SIDECAR_RAW, "x.txt").missing


@pytest.mark.parametrize(
    ("sidecar", "message"),
    [
        ({"doc_type": "年报"}, "doc_type 必须是"),
        ({"doc_type": None}, "doc_type 必须是"),
        ({"year": "二〇二三"}, "year 必须是整数年份"),
        ({"year": "1800"}, "超出范围"),
        ({"year": True}, "year 必须是整数年份"),
        ({"published": "昨天"}, "published 必须是日期"),
        ({"region_level": "town"}, "region_level 必须是"),
        ({"covers": "2023.5"}, "covers 必须是整数年份"),
        ({"province": ["陕西省"]}, "必须是文字"),
    ],
)
def test_invalid_sidecar_values_raise_value_error(sidecar, message):
    with pytest.raises(ValueError, match=message):
        extract_metadata(SIDECAR_RAW, "x.txt", sidecar)


@pytest.mark.parametrize(
    ("body", "title", "expected"),
    [
        ("某市2023年度报告\n\n正文第一段。", "某市2023年度报告", "正文第一段。"),
        ("某市2023年度报告\n2024年3月26日\n(2024年3月1日市政府常务会议通过)\n\n正文。",
         "某市2023年度报告", "正文。"),
        ("某市2023年度报告\n新密法政〔2023〕1号\n正文。", "某市2023年度报告", "正文。"),
        ("关于恒口示范区 2022 年自查情况的报告\n正文。", "关于恒口示范区 2022 年自查情况的报告", "正文。"),
        ("某市2023年度法治政府\n建设情况报告\n正文。", "某市2023年度法治政府建设情况报告", "正文。"),
        ("某市２０２３年度报告\n正文。", "某市2023年度报告", "正文。"),
        ("正文不以标题开头。\n第二段。", "某市2023年度报告", "正文不以标题开头。\n第二段。"),
        ("某市2023年度报告\n(一)营商环境更加优化\n正文。", "某市2023年度报告", "(一)营商环境更加优化\n正文。"),
        ("正文。", None, "正文。"),
        ("\n正文。", "", "\n正文。"),
    ],
    ids=["plain", "date-lines", "doc-number", "spaces", "wrapped", "full-width", "no-title", "keeps-heading",
         "title-none", "title-empty"],
)
def test_strip_title(body, title, expected):
    assert strip_title(body, title) == expected


# ---------------------------------------------------------------- regions, levels, types and years of real-world shapes

@pytest.mark.parametrize(("short", "full"), PROVINCES)
@pytest.mark.parametrize(
    ("template", "year", "covers", "doc_type"),
    [
        ("2025年{short}政府工作报告", 2025, 2024, "政府工作报告"),
        ("{full}2023年法治政府建设年度报告", 2023, 2023, "年度报告"),
        ("{short}2022年政府信息公开工作年度报告", 2022, 2022, "政府信息公开工作年度报告"),
        ("{full}2021年国民经济和社会发展统计公报", 2021, 2021, "统计公报"),
    ],
    ids=["short-work-report", "full-annual", "short-gov-info", "full-statistics"],
)
def test_every_province_in_short_and_full_form(short, full, template, year, covers, doc_type):
    meta = extract_metadata(page(template.format(short=short, full=full), PROSE), "x.txt")
    assert (meta.region, meta.region_level, meta.province, meta.city) == (full, "province", None, None)
    assert (meta.year, meta.covers, meta.doc_type) == (year, covers, doc_type)


@pytest.mark.parametrize(
    ("title", "region", "level", "province", "city"),
    [
        ("太原2021年法治政府建设年度报告", "太原市", "city", "山西省", None),
        ("延边州2022年法治政府建设情况报告", "延边朝鲜族自治州", "city", "吉林省", None),
        ("呼伦贝尔市海拉尔区2023年政府工作报告", "海拉尔区", "county", "内蒙古自治区", "呼伦贝尔市"),
        ("长兴县2024年法治政府建设工作要点", "长兴县", "county", "浙江省", "湖州市"),
        ("上海市浦东新区2023年法治政府建设情况报告", "浦东新区", "county", "上海市", None),
        ("安康市恒口示范区2021年法治政府建设工作自查报告", "恒口示范区", "zone", "陕西省", "安康市"),
        ("郑州航空港经济综合实验区2022年法治政府建设综述", "郑州航空港经济综合实验区", "zone", "河南省", "郑州市"),
        ("宝鸡市蟠龙新区2023年法治政府建设年度报告", "蟠龙新区", "zone", "陕西省", "宝鸡市"),
        ("广西壮族自治区南宁市2023年法治政府建设年度报告", "南宁市", "city", "广西壮族自治区", None),
        ("东湖新区2022年法治政府建设自查报告", "东湖新区", "zone", None, None),  # a zone whose parent is nowhere
        ("云溪市2021年法治政府建设年度报告", "云溪市", None, None, None),  # not in the dataset: kept, no level
    ],
)
def test_cities_counties_districts_and_zones_with_parents(title, region, level, province, city):
    meta = extract_metadata(page(title, PROSE), "x.txt")
    assert (meta.region, meta.region_level, meta.province, meta.city) == (region, level, province, city)


@pytest.mark.parametrize(
    ("title", "body", "region", "level", "province", "city"),
    [
        # A township's report is the township's, never its county's: its figures are not the county's.
        ("旺苍县东河镇人民政府2023年法治政府建设年度报告", "", "东河镇", "township", "四川省", "广元市"),
        ("陕西省安康市汉滨区五里镇2021年法治政府建设工作情况报告", "", "五里镇", "township", "陕西省", "安康市"),
        ("广州市天河区石牌街道2024年政府信息公开工作年度报告", "", "石牌街道", "township", "广东省", "广州市"),
        ("朝阳区建外街道办事处2022年政府信息公开工作年度报告", "", "建外街道", "township", None, None),
        ("东莞市虎门镇2023年法治政府建设年度报告", "", "虎门镇", "township", "广东省", "东莞市"),  # no county
        ("阿拉善左旗巴润别立镇2022年法治政府建设年度报告", "", "巴润别立镇", "township", "内蒙古自治区", "阿拉善盟"),
        ("汉滨区关家镇党委关于2023年法治建设的报告", "", "关家镇", "township", "陕西省", "安康市"),
        ("城关镇2023年法治政府建设工作报告", "", "城关镇", "township", None, None),  # many share it: no parents
        ("城关镇2023年法治政府建设工作报告", "旺苍县城关镇人民政府全年受理行政复议申请3件。", "城关镇", "township",
         "四川省", "广元市"),  # placed by the division the body writes before it
        # Words that end like a township are not one, and a county's own reports stay the county's.
        ("旺苍县城乡规划局2023年政府信息公开工作年度报告", "", "旺苍县", "county", "四川省", "广元市"),
        ("旺苍县乡镇2023年法治政府建设工作报告汇总", "", "旺苍县", "county", "四川省", "广元市"),
        ("青川县关于2023年乡镇法治政府建设的报告", "", "青川县", "county", "四川省", "广元市"),
        ("旺苍县小城镇建设2023年工作报告", "", "旺苍县", "county", "四川省", "广元市"),
        ("旺苍县2023年法治政府建设年度报告", "", "旺苍县", "county", "四川省", "广元市"),
    ],
)
def test_a_townships_report_is_the_townships(title, body, region, level, province, city):
    meta = extract_metadata(page(title, body + PROSE), "x.txt")
    assert (meta.region, meta.region_level, meta.province, meta.city) == (region, level, province, city)


@pytest.mark.parametrize(
    ("title", "body", "region", "province", "city"),
    [
        # a county's name without its suffix, where the title names its government, is the county
        ("青川2023年法治政府建设年度报告", "", "青川县", "四川省", "广元市"),
        ("旺苍2022年政府信息公开工作年度报告", "", "旺苍县", "四川省", "广元市"),
        ("新密2021年法治政府建设年度报告", "", "新密市", "河南省", "郑州市"),  # a county-level city
        ("长兴人民政府2023年政府工作报告", "", "长兴县", "浙江省", "湖州市"),
        ("鼓楼2022年法治政府建设年度报告", "在南京市委、市政府的坚强领导下，", "鼓楼区", "江苏省", "南京市"),
        ("鼓楼2022年法治政府建设年度报告", "", None, None, None),  # several 鼓楼区: not guessed
        ("法治政府建设2023年度报告", "", None, None, None),
    ],
)
def test_a_county_written_without_its_suffix_in_a_title(title, body, region, province, city):
    meta = extract_metadata(page(title, body + PROSE), "x.txt")
    assert (meta.region, meta.province, meta.city) == (region, province, city)


@pytest.mark.parametrize(
    ("raw", "title", "region"),
    [
        # a title broken over two lines, as PDFs and scans break it
        ("旺苍县2023年法治政府\n建设年度报告\n旺苍县人民政府\n2024年1月20日\n一、基本情况\n全年收到申请45件。\n",
         "旺苍县2023年法治政府建设年度报告", "旺苍县"),
        ("旺苍县人民政府关于2023年法治政府建设\n情况的报告\n一、基本情况\n全年收到申请45件。\n",
         "旺苍县人民政府关于2023年法治政府建设情况的报告", "旺苍县"),
        # the issuer on the line above a 关于 title is part of it; the recipient below it is not the issuer
        ("旺苍县人民政府\n关于2023年法治政府建设情况的报告\n广元市人民政府：\n现将我县2023年法治政府建设情况报告如下。\n",
         "旺苍县人民政府关于2023年法治政府建设情况的报告", "旺苍县"),
        ("关于2023年法治政府建设情况的报告\n广元市人民政府：\n现将我县2023年法治政府建设情况报告如下。\n一、基本情况\n",
         "关于2023年法治政府建设情况的报告", None),
        # a line above that is no part of a title stays apart
        ("政务公开\n旺苍县2023年法治政府建设年度报告\n" + PROSE, "旺苍县2023年法治政府建设年度报告", "旺苍县"),
        ("旺苍县人民政府门户网站\n旺苍县2023年法治政府建设年度报告\n" + PROSE, "旺苍县2023年法治政府建设年度报告",
         "旺苍县"),
        ("2024-01-20\n旺苍县2023年法治政府建设年度报告\n" + PROSE, "旺苍县2023年法治政府建设年度报告", "旺苍县"),
    ],
)
def test_a_title_over_two_lines_and_the_recipient_line(raw, title, region):
    meta = extract_metadata(raw, "x.txt")
    assert (meta.title, meta.region) == (title, region)


def test_a_signature_dated_in_chinese_numerals_gives_the_publication_date():
    raw = page("西陵县2023年法治政府建设年度报告", PROSE, "", "西陵县人民政府", "二〇二四年一月十八日")
    meta = extract_metadata(raw, "x.txt")
    assert (meta.publisher, meta.published) == ("西陵县人民政府", "2024-01-18")


AMBIGUOUS = "朝阳区2023年法治政府建设年度报告"


@pytest.mark.parametrize(
    ("raw", "region", "city", "province"),
    [
        (page(AMBIGUOUS, PROSE), None, None, None),  # Beijing's or Changchun's: not guessed
        (page(AMBIGUOUS, "在长春市委、市政府的坚强领导下，" + PROSE), "朝阳区", "长春市", "吉林省"),
        (page(AMBIGUOUS, PROSE, "北京市朝阳区人民政府", "2024年3月1日"), "朝阳区", None, "北京市"),
    ],
    ids=["alone", "parent-in-body", "parent-in-signature"],
)
def test_an_ambiguous_name_is_resolved_only_by_its_parent(raw, region, city, province):
    meta = extract_metadata(raw, "x.txt")
    assert (meta.region, meta.city, meta.province) == (region, city, province)


NATIONAL = page("政府工作报告", "——2024年3月5日在第十四届全国人民代表大会第二次会议上", "国务院总理",
                "各位代表：", "现在，我代表国务院，向大会报告政府工作，请予审议，并请全国政协委员提出意见。",
                "一、2023年工作回顾", "过去一年，广东、江苏、浙江等地经济大省挑起大梁，全国经济回升向好。")
DISTRICT = page("政府工作报告", "——2013年1月10日在海拉尔区第十届人民代表大会第二次会议上", "各位代表：",
                "现在，我代表区人民政府向大会报告工作，请予审议，并请政协委员提出意见。",
                "一、2012年工作回顾", "过去一年，在呼伦贝尔市委、市政府的正确领导下，全区经济社会平稳发展。",
                "二、2013年工作安排", "今年要重点做好以下工作，全面完成各项目标任务。")
NO_REGION_TITLE = page("2026年政府工作报告", "各位代表：", "现在，我代表市人民政府，向大会报告工作，请予审议。",
                       "过去一年，在四川省委、省政府的坚强领导下，绵阳市人民政府团结带领全市人民攻坚克难，"
                       "与成都市、德阳市协同发展，经济总量再上新台阶。",
                       "绵阳市人民政府将坚持稳中求进，推动高质量发展，确保各项目标任务全面完成。")
ONE_LINE = ("２０２４年新疆政府工作报告 ——2024年1月20日在新疆维吾尔自治区第十四届人民代表大会第二次会议上 各位代表："
            "现在，我代表自治区人民政府，向大会报告工作，请予审议，并请自治区政协委员提出意见。一、2023年工作回顾 "
            "过去一年，全区上下坚持稳中求进，地区生产总值增长6.8%，城乡居民收入稳步增加。（一）经济实力持续增强。"
            "全年新开工项目1200个，固定资产投资增长9.4%，重点项目建设提速。二、2024年工作安排 今年是关键之年。"
            "（一）着力扩大有效需求。实施重大项目300个，推动消费提质升级，稳住外贸基本盘。")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (NATIONAL, ("政府工作报告", "全国", "national", 2024, 2023, "政府工作报告")),
        (DISTRICT, ("政府工作报告", "海拉尔区", "county", 2013, 2012, "政府工作报告")),
        (NO_REGION_TITLE, ("2026年政府工作报告", "绵阳市", "city", 2026, 2025, "政府工作报告")),
        (ONE_LINE, ("2024年新疆政府工作报告", "新疆维吾尔自治区", "province", 2024, 2023, "政府工作报告")),
        (page("政府工作报告", "一九七五年一月十三日在第四届全国人民代表大会第一次会议上", "各位代表：", PROSE),
         ("政府工作报告", "全国", "national", 1975, 1974, "政府工作报告")),
        (page("政府工作报告", "——二○一三年一月十日在海拉尔区第十届人民代表大会第二次会议上", PROSE),
         ("政府工作报告", "海拉尔区", "county", 2013, 2012, "政府工作报告")),
        # The delivery line and the speaker run on into the title's line: the title ends at the dash, and "市"
        # alone (在市第十七届…, 我代表市人民政府) names no government, so none is guessed.
        (page("2024年政府工作报告——2024年1月15日在市第十七届人民代表大会第三次会议上  市长 张某某",
              "各位代表：现在，我代表市人民政府，向大会报告工作，请予审议。", PROSE),
         ("2024年政府工作报告", None, None, 2024, 2023, "政府工作报告")),
        (page("政府工作报告 — 2013年1月10日在海拉尔区第十届人民代表大会第二次会议上", PROSE),
         ("政府工作报告", "海拉尔区", "county", 2013, 2012, "政府工作报告")),
    ],
    ids=["national", "district-heading-is-no-title", "issuer-from-body", "one-line", "chinese-numeral-date",
         "chinese-numeral-date-circle-zero", "delivery-on-the-title-line", "delivery-after-a-spaced-dash"],
)
def test_reports_whose_title_does_not_say_everything(raw, expected):
    meta = extract_metadata(raw, "x.txt")
    assert (meta.title, meta.region, meta.region_level, meta.year, meta.covers, meta.doc_type) == expected


@pytest.mark.parametrize(
    ("title", "doc_type", "covers"),
    [
        ("某市2023年政府信息公开工作年度报告", "政府信息公开工作年度报告", 2023),
        ("某县2023年政务公开工作年度报告", "政府信息公开工作年度报告", 2023),
        ("某市2023年国民经济和社会发展统计公报", "统计公报", 2023),
        ("关于某市2023年国民经济和社会发展计划执行情况的报告", "国民经济和社会发展计划执行情况", 2023),
        ("某市2024年法治政府建设工作要点", "工作安排", None),
        ("2024年某市政府工作报告", "政府工作报告", 2023),
        ("某市2023年法治政府建设年度报告", "年度报告", 2023),
    ],
)
def test_new_types_and_the_year_they_cover(title, doc_type, covers):
    meta = extract_metadata(page(title, PROSE), "x.txt")
    assert (meta.doc_type, meta.covers) == (doc_type, covers)


def test_a_section_heading_is_never_a_title():
    assert find_title(["二、2013年工作安排", "政府工作报告"]) == "政府工作报告"
    assert find_title(["（一）2023年工作安排"]) is None


def test_sidecar_region_is_made_canonical_with_its_parents():
    meta = extract_metadata(SIDECAR_RAW, "x.txt", {"region": "宁夏"})
    assert (meta.region, meta.region_level) == ("宁夏回族自治区", "province")


@pytest.mark.parametrize(
    ("side", "expected"),
    [
        ("旺苍县东河镇", ("东河镇", "township", "四川省", "广元市")),
        ("安康市恒口示范区", ("恒口示范区", "zone", "陕西省", "安康市")),
        ("城关镇", ("城关镇", "township", None, None)),
        ("旺苍县人民政府", ("旺苍县", "county", "四川省", "广元市")),
    ],
)
def test_a_sidecar_township_or_zone_is_not_filed_under_the_division_before_it(side, expected):
    meta = extract_metadata(SIDECAR_RAW, "x.txt", {"region": side})
    assert (meta.region, meta.region_level, meta.province, meta.city) == expected


# ---------------------------------------------------------------- held out: a folder of messy reports, names hidden

FIXTURES = Path(__file__).parents[1] / "fixtures" / "reports"
HELD_OUT = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(HELD_OUT["reports"]))
def test_held_out_reports_are_read_right_under_meaningless_names(tmp_path, name):
    from indexer.chunking import detect_heading
    from indexer.pipeline import prepare

    hidden = tmp_path / (hashlib.sha1(name.encode()).hexdigest()[:10] + Path(name).suffix)
    shutil.copy(FIXTURES / name, hidden)
    doc, chunks, _ = prepare(hidden, chunk_chars=500)
    got = dict(zip(HELD_OUT["fields"], [getattr(doc, f) for f in HELD_OUT["fields"]], strict=True))
    assert got == dict(zip(HELD_OUT["fields"], HELD_OUT["reports"][name], strict=True))
    assert doc.title and doc.title not in {c.text for c in chunks}
    for chunk in chunks:  # no passage is a bare heading
        heading = detect_heading(chunk.text.split("\n")[0])
        assert heading is None or len(chunk.text) > len(heading[1]) + 2, chunk.text


def test_a_report_on_one_line_is_cut_by_its_headings():
    from indexer.pipeline import prepare

    doc, chunks, _ = prepare(FIXTURES / "0007.txt", chunk_chars=500)
    roots = list(dict.fromkeys(c.section.split(" > ")[0] for c in chunks if c.section))
    assert roots == ["一、2023年工作回顾", "二、2024年工作安排"]
    assert any(c.section == "一、2023年工作回顾 > （二）改革开放不断深化" for c in chunks)


@pytest.mark.parametrize(
    ("title", "region"),
    [
        ("国务院2023年法治政府建设年度报告", "全国"),
        ("2023年全国法治政府建设情况报告", "全国"),
        ("中华人民共和国2023年国民经济和社会发展统计公报", "全国"),
        ("太原市人民政府关于落实国务院2023年法治政府建设部署的报告", "太原市"),
        ("嘉兴市2023年全国文明城市创建工作情况报告", "嘉兴市"),
    ],
)
def test_national_titles(title, region):
    meta = extract_metadata(page(title, PROSE), "x.txt")
    assert meta.region == region
    assert (meta.region_level == "national") is (region == "全国")


@pytest.mark.parametrize(
    ("title", "region"),
    [
        ("中山大学2023年信息公开工作年度报告", None),  # 中山 names the university, not 中山市
        ("黄山旅游2023年年度报告", None),
        ("中山市2023年政府工作报告", "中山市"),
        ("广西南宁2023年法治政府建设年度报告", "南宁市"),
        ("吉林省长春市2023年法治政府建设年度报告", "长春市"),
    ],
)
def test_a_short_form_names_a_government_only_where_one_is_meant(title, region):
    assert extract_metadata(page(title, PROSE), "x.txt").region == region


def test_metadata_given_the_cleaned_text_is_what_it_finds_cleaning_itself():
    """The ingest cleans each file once and hands the cleaned text to `extract_metadata`: the same metadata as
    when it cleans the raw text itself, on every demo report."""
    from indexer.cleaning import clean
    from indexer.reading import read_document

    demo = sorted(p for p in (Path(__file__).resolve().parents[2] / "demo").iterdir() if p.suffix in (".txt", ".html"))
    assert len(demo) >= 9
    for path in demo:
        raw = read_document(path).text
        assert extract_metadata(raw, path.name, None, clean(raw)) == extract_metadata(raw, path.name), path.name
