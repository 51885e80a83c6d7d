"""Exports as Excel and WPS open them: every file read back with the csv module (and openpyxl for .xlsx)
over the seed reports and the demo reports, through the real app."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import datetime, timedelta
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import openpyxl
import pytest

HEADERS = {
    "search": "地区 年份 文种 标题 章节 原文 相关度 命中方式 链接".split(),
    "figures": "地区 年份 统计项 数值 数值上限 单位 较上年变化 变化率 原文写法 原句 标题 链接".split(),
    "grid": "地区 年份 状态 标题 章节 摘录 链接".split(),
    "series": ("地区 期间 状态 指标编号 指标 类别 折算数值 折算数值上限 折算单位 数值 单位 "
               "原文写法 原句 报告年份 标题 链接").split(),
}
KIND_NAMES = {"search": "检索结果", "figures": "数字对比", "grid": "地区年份明细", "grid-matrix": "地区年份",
              "series": "指标明细", "matrix": "指标矩阵"}
REVIEW = {"q": "行政复议"}
MEASURE = {"q": "行政复议", "measure": "admin_review.handled"}
_MARK = re.compile(r"</?mark>")


def get(client, path, **params):
    resp = client.get(path, query_string=params or None)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    return resp


def read_csv(resp) -> list[list[str]]:
    body = resp.get_data()
    assert body.startswith("\ufeff".encode())  # Excel and WPS read UTF-8 only with a BOM
    assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def read_xlsx(resp) -> list[list]:
    assert resp.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = openpyxl.load_workbook(io.BytesIO(resp.get_data())).active
    return [[c.value for c in row] for row in sheet.iter_rows()]


def served_name(resp) -> str:
    """The file name a browser saves: the RFC 5987 filename*, decoded."""
    value = resp.headers["Content-Disposition"]
    assert value.startswith("attachment; ") and value.isascii()
    star = re.search(r"filename\*=UTF-8''([^;\s]+)", value)
    assert star, value
    return unquote(star.group(1))


def dates_around_now() -> set[str]:
    """Today in China, and the day after in case the request crossed midnight there."""
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    return {now.date().isoformat(), (now + timedelta(minutes=1)).date().isoformat()}


def plain(snippet: str) -> str:
    return html.unescape(_MARK.sub("", snippet))


# ---- Chinese headers, every kind ------------------------------------------------------------

@pytest.mark.parametrize("kind, params", [
    ("search", {"q": "法治政府", "mode": "keyword"}),
    ("figures", REVIEW),
    ("grid", REVIEW),
    ("series", MEASURE),
])
def test_csv_and_xlsx_headers_are_chinese(client, kind, params):
    table = read_csv(get(client, f"/api/v1/export/{kind}.csv", **params))
    assert table[0] == HEADERS[kind] and len(table) > 1
    book = read_xlsx(get(client, f"/api/v1/export/{kind}.xlsx", **params))
    assert book[0] == HEADERS[kind] and len(book) == len(table)
    as_json = get(client, f"/api/v1/export/{kind}.json", **params).get_json()["rows"]
    assert "region" in as_json[0] and "地区" not in as_json[0]  # JSON keeps the API's English keys


def test_figures_csv_writes_integers_without_a_point(client):
    table = read_csv(get(client, "/api/v1/export/figures.csv", **REVIEW))
    rows = [dict(zip(table[0], r)) for r in table[1:]]
    (smx,) = [r for r in rows if r["地区"] == "三门峡市" and r["年份"] == "2023" and r["原文写法"] == "406件"]
    assert (smx["数值"], smx["单位"]) == ("406", "件")
    assert not [c for r in table[1:] for c in r if re.fullmatch(r"-?\d+\.0", c)]  # never 406.0
    book = read_xlsx(get(client, "/api/v1/export/figures.xlsx", **REVIEW))
    values = {(r[0], r[1], r[8]): r[3] for r in book[1:]}
    assert values[("三门峡市", 2023, "406件")] == 406 and type(values[("三门峡市", 2023, "406件")]) is int


def test_series_csv_values_are_plain_figures(client):
    table = read_csv(get(client, "/api/v1/export/series.csv", **MEASURE))
    rows = [dict(zip(table[0], r)) for r in table[1:]]
    (taiyuan,) = [r for r in rows if r["地区"] == "太原市" and r["期间"] == "2021"]
    got = (taiyuan["折算数值"], taiyuan["数值"], taiyuan["类别"], taiyuan["报告年份"])
    assert got == ("248", "248", "实际", "2021")


# ---- the grid and the measure table as the matrices on screen -----------------------------

@pytest.mark.parametrize("rollup", ["region", "province"])
def test_grid_matrix_is_the_grid_on_the_page(client, rollup):
    data = get(client, "/api/v1/grid", rollup=rollup, **REVIEW).get_json()
    table = read_csv(get(client, "/api/v1/export/grid-matrix.csv", rollup=rollup, **REVIEW))
    header, *rows = table
    assert header == ["地区", *(str(y) for y in data["years"])]
    assert [r[0] for r in rows] == data["regions"] and all(len(r) == len(header) for r in rows)
    shown = {(r[0], int(year)): value for r in rows for year, value in zip(header[1:], r[1:])}
    expected = {}
    for c in data["cells"]:
        text = {"no_mention": "报告未提及", "no_report": "无该年度报告"}.get(c["state"])
        if c["state"] == "match":
            text = plain(c["hit"]["snippet"])
            text = text if rollup == "region" else f"{c['hit']['region']}：{text}"
        expected[(c["region"], c["year"])] = text
    assert shown == expected
    states = {c["state"] for c in data["cells"]}
    assert {"match", "no_report"} <= states
    if rollup == "region":
        assert "248件" in shown[("太原市", 2021)] and shown[("太原市", 2017)] == "无该年度报告"
    book = read_xlsx(get(client, "/api/v1/export/grid-matrix.xlsx", rollup=rollup, **REVIEW))
    assert book == [[None if v == "" else v for v in r] for r in table]


def test_the_grid_page_offers_the_matrix(client):
    page = get(client, "/grid", rollup="province", **REVIEW).get_data(as_text=True)
    links = dict(re.findall(r'<a class="json-link" href="([^"]+)">([^<]+)</a>', page))
    by_label = {label: html.unescape(href) for href, label in links.items()}
    assert by_label["导出 CSV"].startswith("/api/v1/export/grid-matrix.csv?q=")
    assert by_label["导出 Excel"].startswith("/api/v1/export/grid-matrix.xlsx?q=")
    assert by_label["导出明细 CSV"].startswith("/api/v1/export/grid.csv?q=")  # the long list stays
    assert all("rollup=province" in href for href in by_label.values())
    matrix = read_csv(client.get(by_label["导出 CSV"]))
    assert matrix[0][0] == "地区" and len(matrix) > 1


def test_the_measure_matrix_names_its_file_and_figures_page_offers_excel(client):
    resp = get(client, "/api/v1/export/matrix.xlsx", **MEASURE)
    assert served_name(resp) in {f"行政复议_指标矩阵_{d}.xlsx" for d in dates_around_now()}
    book = read_xlsx(resp)
    csv_table = read_csv(get(client, "/api/v1/export/matrix.csv", **MEASURE))
    assert book == csv_table and book[0][0] == "地区"
    page = get(client, "/figures", **REVIEW).get_data(as_text=True)
    for label in ("导出 CSV", "导出 Excel", "导出 JSON", "导出指标矩阵 CSV", "导出指标矩阵 Excel",
                  "导出指标数值明细 CSV"):
        assert f">{label}</a>" in page, label
    assert "/api/v1/export/figures.xlsx?q=" in page and "/api/v1/export/matrix.xlsx?q=" in page


# ---- ratios and changes, on the demo reports ----------------------------------------------

@pytest.fixture(scope="module")
def demo_client(tmp_path_factory, demo_dir):
    from archive.config import load_config
    from archive.services import Archive
    from indexer.pipeline import ingest_paths
    from search_app import create_app

    config = load_config({}, data_dir=tmp_path_factory.mktemp("demo-exports"), embedder="hash")
    assert ingest_paths(Archive(config), [demo_dir]).ok
    return create_app(config).test_client()


def test_changes_and_ratios_read_as_a_person_writes_them(demo_client):
    data = get(demo_client, "/api/v1/figures", **REVIEW).get_json()["rows"]
    (accepted,) = [r for r in data if (r["region"], r["year"], r["label"]) == ("云溪市", 2021, "受理")]
    table = read_csv(get(demo_client, "/api/v1/export/figures.csv", **REVIEW))
    rows = [dict(zip(table[0], r)) for r in table[1:]]
    (row,) = [r for r in rows if (r["地区"], r["年份"], r["统计项"]) == ("云溪市", "2021", "受理")]
    assert (row["数值"], row["较上年变化"]) == ("138", "17")
    assert row["变化率"] == f"{accepted['change']['ratio'] * 100:.1f}%" == "14.1%"
    ratios = [r["变化率"] for r in rows if r["变化率"]]
    assert ratios and all(re.fullmatch(r"-?\d+(\.\d)?%", v) for v in ratios)
    assert any(v.startswith("-") for v in ratios)  # a fall is a plain negative figure, not a neutralised formula
    book = read_xlsx(get(demo_client, "/api/v1/export/figures.xlsx", **REVIEW))
    (cells,) = [r for r in book[1:] if (r[0], r[1], r[2]) == ("云溪市", 2021, "受理")]
    assert (cells[3], cells[6], cells[7]) == (138, 17, pytest.approx(accepted["change"]["ratio"]))


# ---- file names --------------------------------------------------------------------------

@pytest.mark.parametrize("kind, fmt, params", [
    ("figures", "csv", REVIEW),
    ("search", "xlsx", REVIEW),
    ("grid-matrix", "csv", REVIEW),
    ("series", "json", MEASURE),
])
def test_file_name_carries_query_kind_and_date(client, kind, fmt, params):
    resp = get(client, f"/api/v1/export/{kind}.{fmt}", **params)
    assert served_name(resp) in {f"行政复议_{KIND_NAMES[kind]}_{d}.{fmt}" for d in dates_around_now()}
    fallback = re.search(r'filename="([^"]+)"', resp.headers["Content-Disposition"]).group(1)
    assert re.fullmatch(rf"{kind}_\d{{4}}-\d{{2}}-\d{{2}}\.{fmt}", fallback)


@pytest.mark.parametrize("q", [
    "../../etc/passwd 行政复议",
    '行政复议" ; filename="evil.exe',
    "行政复议\r\nSet-Cookie: x=1",
    "行政复议\\..\\system32",
    "复议" * 250,  # 500 characters, the longest query there is
])
def test_hostile_queries_make_safe_file_names(client, q):
    resp = get(client, "/api/v1/export/figures.csv", q=q)
    value = resp.headers["Content-Disposition"]
    assert "\r" not in value and "\n" not in value and "Set-Cookie" not in resp.headers
    name = served_name(resp)
    assert not re.search(r'[\\/"\r\n\x00-\x1f]', name) and not name.startswith(".")
    stem = name.rsplit("_", 2)[0]
    assert 0 < len(stem) <= 40 and "复议" in stem
    assert name.endswith(".csv") and KIND_NAMES["figures"] in name
    assert value.count("filename=") == 1 and value.count("filename*=") == 1


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_how_a_hit_matched_reads_in_words_in_files_and_stays_coded_in_json(client, fmt):
    params = {"q": "行政复议", "mode": "hybrid"}
    rows = (read_csv if fmt == "csv" else read_xlsx)(get(client, f"/api/v1/export/search.{fmt}", **params))
    column = rows[0].index("命中方式")
    shown = {cell for row in rows[1:] for cell in (row[column] or "").split("、")}
    assert shown and shown <= {"关键词", "语义"}
    coded = get(client, "/api/v1/export/search.json", **params).get_json()["rows"]
    assert {part for r in coded for part in r["matched"].split(",")} <= {"keyword", "semantic"}
