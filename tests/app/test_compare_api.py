"""Figures, the region x year grid, similar passages and exports over the seed reports."""

import csv
import io
import json

import pytest


def get(client, path, **params):
    resp = client.get(path, query_string=params or None)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    return resp


def figures(client, q, **params):
    return get(client, "/api/v1/figures", q=q, **params).get_json()["rows"]


def has(rows, region, year, value, unit="件", label_part=None):
    return any(r["region"] == region and r["year"] == year and r["value"] == value and r["unit"] == unit
               and (label_part is None or label_part in r["label"]) for r in rows)


def test_review_figures_on_the_seeds(client):
    rows = figures(client, "行政复议")
    assert has(rows, "三门峡市", 2023, 406)
    for value in (36, 31, 22):
        assert has(rows, "广元市", 2017, value)
    assert has(rows, "太原市", 2021, 248, label_part="行政复议")
    for r in rows:  # nothing invented: every value is written in the sentence it came from
        assert r["text"] and r["text"].replace(" ", "")[:2] in r["sentence"].replace(" ", "")
        assert r["url"].startswith(f"/doc/{r['doc_id']}?q=")
    assert [(r["region"], r["year"]) for r in rows] == sorted((r["region"], r["year"]) for r in rows)


def test_hotline_figures_with_a_space_inside_a_number(client):
    rows = figures(client, "12345热线")
    assert has(rows, "三门峡市", 2023, 17.92, unit="万件")
    assert has(rows, "太原市", 2021, 99.77, unit="%")
    assert any(r["text"] == "99. 77%" for r in rows)


def test_figure_filters(client):
    rows = figures(client, "行政复议", year=2017)
    assert rows and {r["region"] for r in rows} == {"广元市"}


def test_figures_need_a_query(client):
    resp = client.get("/api/v1/figures")
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "bad_request"


def test_grid_states(client):
    data = get(client, "/api/v1/grid", q="行政复议").get_json()
    assert {"三门峡市", "广元市", "太原市", "新密市", "恒口示范区"} <= set(data["regions"])
    cells = {(c["region"], c["year"]): c for c in data["cells"]}
    assert len(cells) == len(data["regions"]) * len(data["years"])
    assert cells[("太原市", 2021)]["state"] == "match" and "<mark>" in cells[("太原市", 2021)]["hit"]["snippet"]
    assert cells[("太原市", 2017)]["state"] == "no_report"
    none_mention = get(client, "/api/v1/grid", q="无人机航拍测绘").get_json()
    assert {c["state"] for c in none_mention["cells"]} <= {"no_mention", "no_report"}


def test_similar_passages_come_from_other_reports(client):
    hit = get(client, "/api/v1/search", q="行政复议", mode="keyword").get_json()["hits"][0]
    data = get(client, f"/api/v1/passages/{hit['chunk_id']}/similar").get_json()
    assert data["passage"]["chunk_id"] == hit["chunk_id"]
    assert data["other_reports"] and all(h["doc_id"] != hit["doc_id"] for h in data["other_reports"])
    sims = [h["similarity"] for h in data["other_reports"]]
    assert sims == sorted(sims, reverse=True)
    assert all(h["region"] == hit["region"] for h in data["same_region"])
    assert client.get("/api/v1/passages/nope-0001/similar").status_code == 404


@pytest.mark.parametrize("kind, params", [
    ("search", {"q": "法治政府", "mode": "keyword"}),
    ("figures", {"q": "行政复议"}),
    ("grid", {"q": "行政复议"}),
])
def test_exports_have_all_rows(client, kind, params):
    resp = get(client, f"/api/v1/export/{kind}.csv", **params)
    body = resp.get_data()
    assert body.startswith("\ufeff".encode())  # Excel and WPS read UTF-8 only with a BOM
    assert resp.headers["Content-Disposition"].startswith(f'attachment; filename="{kind}_')  # names: test_exports.py
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    as_json = json.loads(get(client, f"/api/v1/export/{kind}.json", **params).get_data())["rows"]
    assert len(rows) == len(as_json) > 0
    if kind == "search":
        total = get(client, "/api/v1/search", **params).get_json()["total"]
        assert len(rows) == total > 10  # every row, not one page
        assert all(r["链接"].startswith("http://") for r in rows)
    if kind == "figures":
        assert len(rows) == len(figures(client, params["q"]))


def test_unknown_export_is_404(client):
    assert client.get("/api/v1/export/secrets.csv?q=a").status_code == 404
    assert client.get("/api/v1/export/search.xls?q=a").status_code == 404
    assert client.get("/api/v1/export/grid_matrix.csv?q=a").status_code == 404


@pytest.mark.parametrize("path", ["/figures?q=行政复议", "/grid?q=行政复议", "/figures", "/grid"])
def test_pages_render(client, path):
    html = get(client, path).get_data(as_text=True)
    assert "<script>" not in html
    if "q=" in path:
        assert "导出 CSV" in html and "导出 Excel" in html


def test_figures_page_has_a_chart_and_the_rows(client):
    html = get(client, "/figures", q="行政复议").get_data(as_text=True)
    # the seeds hold one report per region: each region is a dot on the chart, no line
    assert "<svg" in html and 'class="dot-result"' in html
    assert "406" in html and "广元市" in html


def test_similar_page_and_doc_links(client):
    hit = get(client, "/api/v1/search", q="行政复议", mode="keyword").get_json()["hits"][0]
    doc_html = get(client, f"/doc/{hit['doc_id']}").get_data(as_text=True)
    assert f"/similar/{hit['chunk_id']}" in doc_html
    html = get(client, f"/similar/{hit['chunk_id']}").get_data(as_text=True)
    assert "其他地区报告中的相近段落" in html and "本地区的其他报告" in html


def test_full_width_figures_in_the_demo_reports(tmp_path, demo_dir):
    """Figures written with full-width digits (demo report 云溪市 2022) come out as numbers."""
    from archive.config import load_config
    from archive.services import Archive
    from indexer.pipeline import ingest_paths
    from search_app import create_app

    config = load_config({}, data_dir=tmp_path / "data", embedder="hash")
    assert ingest_paths(Archive(config), [demo_dir]).ok
    rows = create_app(config).test_client().get("/api/v1/figures", query_string={"q": "行政复议"}).get_json()["rows"]
    full_width = [r for r in rows if r["region"] == "云溪市" and r["year"] == 2022 and r["value"] == 187]
    assert full_width and full_width[0]["unit"] == "件" and full_width[0]["text"].startswith("１８７")
    assert has(rows, "云溪市", 2021, 152) and has(rows, "南屏县", 2022, 46)
    assert any(r["change"] and r["region"] == "云溪市" for r in rows)  # year over year within a region
