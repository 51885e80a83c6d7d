"""One result set per search, on both backends: total = hits reachable by paging = export rows,
each facet value's count = the total of the search with that filter, sort=date reorders the same set,
and a topic the archive never mentions finds nothing. Over the seed reports, through the real app."""

from __future__ import annotations

import csv
import io
import math

import pytest

from archive.models import FACET_FIELDS

BACKENDS = ("embedded", pytest.param("elasticsearch", marks=pytest.mark.es))
MODES = ("hybrid", "keyword", "semantic")
QUERIES = ("行政复议 办案数", "营商环境", "12345热线", "行政复议 /s 案件")
PAGE = 20  # small pages, so that every query's set spans several


@pytest.fixture(scope="module", params=BACKENDS)
def client(request, ingested):  # `ingested` named: the scheduler reads the seed index off the fixture names
    app = request.getfixturevalue("app" if request.param == "embedded" else "es_app")
    return app.test_client()


def get(client, path: str, **params) -> dict:
    resp = client.get(path, query_string=params)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    return resp.get_json()


def every_page(client, **params) -> tuple[dict, list[dict]]:
    """The first page's body and the hits of every page up to the last one `total` implies."""
    first = get(client, "/api/v1/search", **params, size=PAGE)
    hits = list(first["hits"])
    for page in range(2, math.ceil(first["total"] / PAGE) + 1):
        body = get(client, "/api/v1/search", **params, size=PAGE, page=page)
        assert body["total"] == first["total"]
        hits += body["hits"]
    after = get(client, "/api/v1/search", **params, size=PAGE, page=math.ceil(first["total"] / PAGE) + 1)
    assert after["hits"] == []  # nothing past the last page
    return first, hits


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("q", QUERIES)
def test_total_is_what_paging_and_exports_reach(client, q, mode):
    first, hits = every_page(client, q=q, mode=mode)
    assert first["total"] > 0, (q, mode)
    ids = [h["chunk_id"] for h in hits]
    assert len(ids) == len(set(ids)) == first["total"]
    rows = get(client, "/api/v1/export/search.json", q=q, mode=mode)["rows"]
    assert [r["url"].split("/doc/", 1)[1] for r in rows] == [h["url"].split("/doc/", 1)[1] for h in hits]
    text = client.get("/api/v1/export/search.csv", query_string={"q": q, "mode": mode}).get_data(as_text=True)
    assert len(list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))) == first["total"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("q", QUERIES[:3])
def test_each_facet_count_is_the_total_with_that_filter(client, q, mode):
    body = get(client, "/api/v1/search", q=q, mode=mode, size=1)
    checked = 0
    for field in FACET_FIELDS:
        values = [v for v in body["facets"][field] if v["value"] not in (None, "")]
        assert sum(v["count"] for v in body["facets"][field]) == body["total"], field
        for v in values:
            filtered = get(client, "/api/v1/search", q=q, mode=mode, size=1, **{field: v["value"]})
            assert filtered["total"] == v["count"], (field, v)
            checked += 1
    assert checked >= 3


@pytest.mark.parametrize("mode", MODES)
def test_sort_by_date_orders_the_same_set(client, mode):
    q = "行政复议 办案数"
    _, relevance = every_page(client, q=q, mode=mode)
    _, by_date = every_page(client, q=q, mode=mode, sort="date")
    assert sorted(h["chunk_id"] for h in by_date) == sorted(h["chunk_id"] for h in relevance)
    years = [h["year"] or 0 for h in get(client, "/api/v1/search", q=q, mode=mode, sort="date", size=100)["hits"]]
    assert years == sorted(years, reverse=True)


@pytest.mark.parametrize("mode", MODES)
def test_a_topic_the_archive_never_mentions_finds_nothing(client, mode):
    body = get(client, "/api/v1/search", q="量子计算机", mode=mode)
    assert (body["total"], body["hits"]) == (0, [])
    assert all(body["facets"][f] == [] for f in FACET_FIELDS)
    assert get(client, "/api/v1/export/search.json", q="量子计算机", mode=mode)["rows"] == []


def test_semantic_members_clear_the_floor(client):
    body = get(client, "/api/v1/search", q="行政复议 办案数", mode="semantic", size=100, explain=1)
    floor = body["result_set"]["similarity_floor"]
    assert floor is not None and body["hits"]
    assert all(h["explain"]["semantic"]["similarity"] >= floor - 1e-4 for h in body["hits"])
    assert body["result_set"]["semantic"] == body["total"] and not body["result_set"]["capped"]
