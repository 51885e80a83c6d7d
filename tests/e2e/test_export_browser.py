"""End to end in headless Chromium: the export links of the grid, figures and search pages, downloaded
as a person does and opened by a CSV reader (and openpyxl): Chinese headers, the file name the browser
saves, and the grid file equal to the grid on the screen."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from urllib.parse import quote

import openpyxl
import pytest

from tests.e2e.conftest import shot

pytestmark = pytest.mark.browser

DATED = r"\d{4}-\d{2}-\d{2}"
# The grid as the screen shows it: row header, then each cell's visible text (its snippet or state).
GRID_ON_SCREEN = """() => [...document.querySelectorAll('table.grid-table tbody tr')].map(tr =>
  [tr.querySelector('th').innerText.trim(),
   ...[...tr.querySelectorAll('td')].map(td => [td.className, td.innerText])])"""
STATE_WORDS = {"cell-no_mention": "报告未提及", "cell-no_report": "无该年度报告"}


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def download(page, label: str):
    with page.expect_download() as info:
        page.get_by_role("link", name=label, exact=True).click()
    return info.value


def read_csv(path: str) -> list[list[str]]:
    data = Path(path).read_bytes()
    assert data.startswith("\ufeff".encode())  # the BOM Excel and WPS need
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def sheet_of(path: str):
    """The first sheet of a downloaded workbook (the browser's temporary file has no .xlsx ending)."""
    return openpyxl.load_workbook(io.BytesIO(Path(path).read_bytes())).active


def test_grid_downloads_are_the_grid_on_screen(page, server):
    page.goto(f"{server}/grid?q={quote('行政复议')}")
    years = [t.strip() for t in page.locator("table.grid-table thead th").all_inner_texts()]
    screen = page.evaluate(GRID_ON_SCREEN)
    shot(page, "grid-export", full_page=True)
    got = download(page, "导出 CSV")
    assert re.fullmatch(rf"行政复议_地区年份_{DATED}\.csv", got.suggested_filename)
    header, *rows = read_csv(got.path())
    assert header == years and header[0] == "地区"
    assert [r[0] for r in rows] == [s[0] for s in screen] and len(rows) >= 5
    assert sum("cell-match" in cls for _, *cells in screen for cls, _ in cells) >= 3  # passages are compared too
    for row, (_, *cells) in zip(rows, screen):
        assert len(row) == len(cells) + 1
        for value, (cls, text) in zip(row[1:], cells):
            state = next(c for c in cls.split() if c.startswith("cell-"))
            if state == "cell-match":  # the passage shown, as plain text
                assert squeeze(value) == squeeze(text) and value
            else:
                assert value == STATE_WORDS[state]
    book = download(page, "导出 Excel")
    assert re.fullmatch(rf"行政复议_地区年份_{DATED}\.xlsx", book.suggested_filename)
    sheet = sheet_of(book.path())
    assert [[c.value or "" for c in r] for r in sheet.iter_rows()] == [header, *rows]
    detail = download(page, "导出明细 CSV")
    assert read_csv(detail.path())[0] == ["地区", "年份", "状态", "标题", "章节", "摘录", "链接"]


def test_figures_and_search_downloads_have_chinese_headers(page, server):
    page.goto(f"{server}/figures?q={quote('行政复议')}")
    got = download(page, "导出 CSV")
    assert re.fullmatch(rf"行政复议_数字对比_{DATED}\.csv", got.suggested_filename)
    header, *rows = read_csv(got.path())
    assert header[:4] == ["地区", "年份", "统计项", "数值"] and rows
    assert "406" in [r[3] for r in rows if r[0] == "三门峡市"]  # 406, not 406.0
    matrix = download(page, "导出指标矩阵 Excel")
    assert matrix.suggested_filename.endswith(".xlsx") and "_指标矩阵_" in matrix.suggested_filename
    assert sheet_of(matrix.path()).cell(1, 1).value == "地区"
    page.goto(f"{server}/search?q={quote('行政复议')}")
    found = download(page, "导出 CSV")
    assert re.fullmatch(rf"行政复议_检索结果_{DATED}\.csv", found.suggested_filename)
    assert read_csv(found.path())[0][:6] == ["地区", "年份", "文种", "标题", "章节", "原文"]
