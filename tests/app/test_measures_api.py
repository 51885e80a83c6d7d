"""Figures you can compare, over the seed reports and the demo reports: period, kind, measure,
series, target against result, the answer card, attention over time and the matrix export."""

from __future__ import annotations

import csv
import io

import pytest


def get(client, path, **params):
    resp = client.get(path, query_string=params or None)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    return resp


def rows(client, q, **params):
    return get(client, "/api/v1/figures", q=q, **params).get_json()["rows"]


def one(found: list[dict], **match) -> dict:
    (row,) = [r for r in found if all(r[k] == v for k, v in match.items())]
    return row


# ---- the done-when checks on the seeds --------------------------------------------------------

def test_sanmenxia_and_taiyuan_review_cases_share_one_measure(client):
    found = rows(client, "行政复议")
    sanmenxia = one(found, region="三门峡市", year=2023, value=406)
    taiyuan = one(found, region="太原市", year=2021, value=248)
    assert sanmenxia["label"] != taiyuan["label"]  # written differently ...
    assert sanmenxia["measure"] == taiyuan["measure"] == "admin_review.handled"  # ... measured alike
    assert sanmenxia["measure_name"] and sanmenxia["measure_unit"] == "件" and sanmenxia["measure_value"] == 406
    assert (sanmenxia["period"], sanmenxia["kind"]) == ("2023", "result")


def test_guangyuan_received_accepted_closed_are_three_measures(client):
    found = rows(client, "行政复议", region="广元市")
    got = [one(found, value=v, unit="件") for v in (36, 31, 22)]
    assert len({r["measure"] for r in got}) == 3 and all(r["measure"] for r in got)
    assert [r["measure"] for r in got] == ["admin_review.received", "admin_review.accepted", "admin_review.closed"]
    assert all((r["period"], r["period_from"], r["period_to"], r["kind"]) == ("2017", 2017, 2017, "result")
               for r in got)


def test_every_figure_of_xinmi_2023_plan_is_a_target_or_a_plan(client, ingested):
    archive, _ = ingested
    (doc,) = [d for d in archive.backend.list_documents() if d.region == "新密市"]
    assert (doc.year, doc.doc_type) == (2023, "工作安排")
    from search_app.figures import figure_row  # the same row builder the API serves

    figures = [figure_row(doc, c, f) for c in archive.backend.get_chunks(doc.doc_id) for f in c.figures]
    assert len(figures) >= 7
    assert {f["kind"] for f in figures} <= {"target", "plan"} and "target" in {f["kind"] for f in figures}


def test_rows_keep_every_existing_key(client):
    row = rows(client, "12345热线")[0]
    for key in ("region", "year", "label", "value", "value_high", "unit", "text", "sentence", "chunk_id", "doc_id",
                "title", "url", "change", "period", "period_from", "period_to", "period_part", "kind", "measure",
                "measure_name",
                "measure_value", "measure_value_high", "measure_unit"):
        assert key in row, key


def test_hotline_volumes_normalise_to_one_unit(client):
    found = rows(client, "12345热线")
    taiyuan = one(found, region="太原市", value=170.3)
    got = (taiyuan["measure"], taiyuan["measure_value"], taiyuan["measure_unit"])
    assert got == ("hotline.received", 1703000, "件")
    assert taiyuan["unit"] == "万件"  # the original stays


def test_henkou_suggestions_stay_out_of_the_hotline(client):
    found = rows(client, "办结")
    henkou = [r for r in found if r["region"] == "恒口示范区" and r["value"] == 41]
    assert henkou and all(r["measure"] != "hotline.handled" for r in henkou)


# ---- measures and series ----------------------------------------------------------------------

def test_measures_for_a_query_most_regions_first(client):
    data = get(client, "/api/v1/measures", q="行政复议").get_json()
    ids = [m["measure"] for m in data["measures"]]
    assert ids[0] == "admin_review.handled"  # 三门峡 and 太原: the most regions
    regions = [m["regions"] for m in data["measures"]]
    assert regions == sorted(regions, reverse=True)
    assert all(m["count"] >= m["regions"] >= 1 and m["name"] and m["unit"] for m in data["measures"])


def test_series_region_by_period_with_passages_and_blank_reasons(client):
    data = get(client, "/api/v1/series", q="行政复议", measure="admin_review.handled").get_json()
    assert data["measure"] == "admin_review.handled" and data["unit"] == "件"
    assert {"三门峡市", "太原市"} <= set(data["regions"]) and {"2021", "2023"} <= set(data["periods"])
    cells = {(c["region"], c["period"]): c for c in data["cells"]}
    assert len(cells) == len(data["regions"]) * len(data["periods"])
    (value,) = cells[("太原市", "2021")]["values"]
    assert value["measure_value"] == 248 and "248" in value["sentence"] and value["url"].startswith("/doc/")
    assert cells[("三门峡市", "2021")]["state"] == "no_report"  # no 三门峡 report of 2021 in the seeds
    assert cells[("三门峡市", "2023")]["state"] == "value"
    assert data["chart"]["太原市"] == [[2021, 248, "result"]]


def test_series_defaults_to_the_measure_most_regions_report(client):
    data = get(client, "/api/v1/series", q="行政复议").get_json()
    assert data["measure"] == "admin_review.handled"


def test_series_without_a_query_searches_for_the_measure(client):
    data = get(client, "/api/v1/series", measure="admin_review.handled").get_json()
    assert {"三门峡市", "太原市"} <= set(data["regions"])


def test_series_of_an_unknown_measure_is_404_and_of_nothing_is_empty(client):
    resp = client.get("/api/v1/series", query_string={"q": "行政复议", "measure": "no.such"})
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"
    nothing = get(client, "/api/v1/series").get_json()
    assert nothing["measure"] is None and nothing["cells"] == [] and nothing["targets"] == []


def test_series_csv_export_is_the_matrix(client):
    params = {"q": "行政复议", "measure": "admin_review.handled"}
    data = get(client, "/api/v1/series", **params).get_json()
    resp = get(client, "/api/v1/export/series.csv", **params)
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="series_')
    body = resp.get_data()
    assert body.startswith("\ufeff".encode())
    table = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    expected = sum(max(1, len(c["values"])) for c in data["cells"])
    assert len(table) == expected
    taiyuan = [r for r in table if r["地区"] == "太原市" and r["期间"] == "2021"]
    assert taiyuan[0]["折算数值"] == "248" and taiyuan[0]["类别"] == "实际"
    assert taiyuan[0]["链接"].startswith("http://")
    assert any(r["状态"] == "无该年度报告" for r in table)


# ---- the answer card --------------------------------------------------------------------------

def test_a_question_is_answered_by_its_figure(client):
    data = get(client, "/api/v1/search", q="太原市2021年办理了多少行政复议案件").get_json()
    answer = data["answer"]
    assert answer["status"] == "found"
    assert (answer["value"], answer["unit"], answer["period"], answer["kind"]) == (248, "件", "2021", "result")
    assert "248" in answer["sentence"] and answer["region"] == "太原市" and answer["title"]
    assert answer["url"].startswith(f"/doc/{answer['doc_id']}")


@pytest.mark.parametrize("q, says", [
    ("北京市2021年办理了多少行政复议案件", "北京市"),  # a region the archive lacks
    ("太原市2030年办理了多少行政复议案件", "2030"),  # a year the archive lacks
    ("四川省2024年粮食产量是多少？", "四川省"),
])
def test_a_question_the_archive_cannot_answer_says_so(client, q, says):
    answer = get(client, "/api/v1/search", q=q).get_json()["answer"]
    assert answer["status"] == "not_found" and answer["message"].startswith("未找到") and says in answer["message"]


def test_a_region_filter_completes_the_question(client):
    answer = get(client, "/api/v1/search", q="2021年办理了多少行政复议案件", region="太原市").get_json()["answer"]
    assert answer["status"] == "found" and answer["value"] == 248


@pytest.mark.parametrize("q", ["行政复议", "太原市 行政复议", "2021年 法治政府"])
def test_a_plain_query_gets_no_answer(client, q):
    assert get(client, "/api/v1/search", q=q).get_json()["answer"] is None


def test_the_answer_card_stands_above_the_results(client):
    html = get(client, "/search", q="太原市2021年办理了多少行政复议案件").get_data(as_text=True)
    assert "answer-card" in html and "248" in html
    assert html.index("answer-card") < html.index('<ol class="hits"')
    missing = get(client, "/search", q="北京市2021年办理了多少行政复议案件").get_data(as_text=True)
    assert "未找到" in missing


# ---- attention over time ----------------------------------------------------------------------

def test_attention_counts_reports_per_year(client, ingested):
    data = get(client, "/api/v1/attention", q="12345热线").get_json()
    years = {y["year"]: y for y in data["years"]}
    assert set(years) == {d.year for d in ingested[0].backend.list_documents()}
    assert years[2021]["reports"] == 1 and years[2021]["mentioning"] == 1 and years[2021]["share"] == 1
    assert all(0 <= y["mentioning"] <= y["reports"] for y in data["years"])
    nothing = get(client, "/api/v1/attention", q="低空经济").get_json()
    assert all(y["mentioning"] == 0 for y in nothing["years"])


def test_attention_bars_on_the_search_page(client):
    html = get(client, "/search", q="12345热线").get_data(as_text=True)
    assert 'class="chart bars"' in html and "各年度报告提及" in html


# ---- the page -----------------------------------------------------------------------------------

def test_figures_page_shows_the_measure_matrix(client):
    html = get(client, "/figures", q="12345热线", measure="hotline.received").get_data(as_text=True)
    assert "series-table" in html and "12345热线受理量" in html and "无该年度报告" in html
    assert "/api/v1/export/series.csv?q=12345" in html and "measure=hotline.received" in html
    stale = get(client, "/figures", q="12345热线", measure="no.such").get_data(as_text=True)
    assert "series-table" in stale  # a stale measure link falls back to the default


# ---- target against result, on the demo reports ---------------------------------------------

@pytest.fixture(scope="module")
def demo_client(tmp_path_factory, demo_dir):
    from archive.config import load_config
    from archive.services import Archive
    from indexer.pipeline import ingest_paths
    from search_app import create_app

    config = load_config({}, data_dir=tmp_path_factory.mktemp("demo-figures"), embedder="hash")
    assert ingest_paths(Archive(config), [demo_dir]).ok
    return create_app(config).test_client()


def test_target_against_result_on_the_demo(demo_client):
    data = get(demo_client, "/api/v1/series", q="地区生产总值", measure="economy.gdp_growth").get_json()
    (pair,) = [t for t in data["targets"] if t["region"] == "澄湖市" and t["period"] == "2025"]
    assert (pair["target"]["measure_value"], pair["target"]["year"], pair["target"]["kind"]) == (5, 2025, "target")
    assert (pair["result"]["measure_value"], pair["result"]["year"], pair["result"]["kind"]) == (5.4, 2026, "result")
    assert pair["difference"] == pytest.approx(0.4)
    later = [t for t in data["targets"] if t["period"] == "2026"]
    assert later and later[0]["result"] is None  # no 2027 report yet
    assert get(demo_client, "/api/v1/targets", q="地区生产总值", measure="economy.gdp_growth").get_json()["targets"]
    assert data["chart"]["澄湖市"] == [[2024, 5.1, "result"], [2025, 5.0, "target"], [2025, 5.4, "result"],
                                     [2026, 5.0, "target"]]


def test_grain_in_jin_and_in_tonnes_compare(demo_client):
    data = get(demo_client, "/api/v1/series", q="粮食", measure="agriculture.grain_output").get_json()
    (pair,) = [t for t in data["targets"] if t["period"] == "2025"]
    assert pair["target"]["text"] == "62万吨" and pair["result"]["text"] == "12.9亿斤"
    assert pair["result"]["measure_value"] == pytest.approx(64.5) and pair["unit"] == "万吨"


def test_demo_review_periods_and_targets_page(demo_client):
    found = rows(demo_client, "地区生产总值", region="澄湖市")
    growth_2026 = one(found, year=2026, value=5.4)
    assert (growth_2026["period"], growth_2026["kind"], growth_2026["measure"]) == ("2025", "result",
                                                                                  "economy.gdp_growth")
    html = get(demo_client, "/figures", q="地区生产总值", measure="economy.gdp_growth").get_data(as_text=True)
    assert "targets-table" in html and "5.4%" in html and 'class="line-target"' in html


def test_matrix_csv_export_is_the_table_on_the_page(client):
    """A row per region, a column per period, each cell as the page shows it (issue 18, issue 14)."""
    params = {"q": "行政复议", "measure": "admin_review.handled"}
    data = get(client, "/api/v1/series", **params).get_json()
    body = get(client, "/api/v1/export/matrix.csv", **params).get_data().decode("utf-8-sig")
    reader = csv.reader(io.StringIO(body))
    header, *rows = list(reader)
    assert header == ["地区", *data["periods"]]
    assert [r[0] for r in rows] == data["regions"]
    cell = {(r[0], period): value for r in rows for period, value in zip(header[1:], r[1:])}
    assert "248" in cell[("太原市", "2021")] and "件" in cell[("太原市", "2021")]
    assert cell[("三门峡市", "2021")] == "无该年度报告"
    blanks = {c["state"] for c in data["cells"] if not c["values"]}
    assert {v for v in cell.values() if not any(ch.isdigit() for ch in v)} <= {"无该年度报告", "报告未提及"}
    assert blanks  # the seeds leave some cells blank, and the file says why
