"""The JSON API over the session index of the five seed reports and the demo reports."""

import re

import pytest

SEED_REGIONS = {"三门峡市", "新密市", "恒口示范区", "广元市", "太原市"}


@pytest.fixture(params=["embedded", pytest.param("elasticsearch", marks=pytest.mark.es)])
def client(request, ingested):  # `ingested` named: the scheduler reads the seed index off the fixture names
    """The same API over each backend: results must look the same whichever serves them."""
    app = request.getfixturevalue("app" if request.param == "embedded" else "es_app")
    return app.test_client()


def search(client, **params):
    resp = client.get("/api/v1/search", query_string=params)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_search_shape(client):
    body = search(client, q="行政复议 办案数")
    assert set(body) >= {"query", "mode", "total", "page", "size", "took_ms", "hits", "facets"}
    assert body["mode"] == "hybrid" and body["page"] == 1 and body["size"] == 10
    hit = body["hits"][0]
    assert set(hit) >= {"chunk_id", "doc_id", "title", "region", "year", "doc_type", "section", "text",
                        "snippet", "score", "matched", "url"}
    assert set(body["facets"]) == {"year", "region", "doc_type", "province", "city"}


def test_hybrid_finds_review_cases_in_the_three_reports_that_have_them(client):
    body = search(client, q="行政复议 办案数")
    regions = {h["region"] for h in body["hits"]}
    assert {"三门峡市", "广元市", "太原市"} <= regions
    assert all("<mark>" in h["snippet"] for h in body["hits"] if "keyword" in h["matched"])
    assert any(set(h["matched"]) == {"keyword", "semantic"} for h in body["hits"])


def test_year_filter_narrows_to_taiyuan(client):
    body = search(client, q="行政复议 办案数", year=2021)
    assert body["hits"] and {h["region"] for h in body["hits"]} == {"太原市"}
    assert body["facets"]["year"] == [{"value": "2021", "count": body["total"]}]


def test_facet_counts_match_filtered_totals(client):
    body = search(client, q="行政复议", mode="keyword")
    assert sum(f["count"] for f in body["facets"]["region"]) == body["total"]
    for facet in body["facets"]["region"]:
        narrowed = search(client, q="行政复议", mode="keyword", region=facet["value"])
        assert narrowed["total"] == facet["count"], facet


@pytest.mark.parametrize("mode", ["keyword", "semantic", "hybrid"])
def test_each_mode_says_which_retriever_found_each_hit(client, mode):
    body = search(client, q="12345热线 办结率", mode=mode)
    assert body["hits"]
    expected = {"keyword": {"keyword"}, "semantic": {"semantic"}, "hybrid": {"keyword", "semantic"}}[mode]
    assert set().union(*(set(h["matched"]) for h in body["hits"])) <= expected


def test_semantic_hits_have_snippets_even_without_the_words(client):
    body = search(client, q="老百姓打电话反映问题的渠道", mode="semantic")
    assert body["hits"] and all(h["snippet"].strip() for h in body["hits"])


def test_traditional_query_finds_simplified_text(client):
    body = search(client, q="行政復議", mode="keyword")
    assert body["total"] > 0 and "<mark>" in body["hits"][0]["snippet"]


def test_paging_is_consistent(client):
    first = search(client, q="法治政府", mode="keyword", size=5)
    second = search(client, q="法治政府", mode="keyword", size=5, page=2)
    both = search(client, q="法治政府", mode="keyword", size=10)
    assert [h["chunk_id"] for h in first["hits"] + second["hits"]] == [h["chunk_id"] for h in both["hits"]]


def test_phrase_and_exclusion(client):
    phrase = search(client, q='"行政复议"', mode="keyword", size=50)
    assert phrase["hits"] and all("行政复议" in h["text"].replace("復議", "复议") for h in phrase["hits"])
    excluded = search(client, q="行政复议 -太原", mode="keyword", size=50)
    assert all("太原" not in h["text"] for h in excluded["hits"])


def test_field_filters_typed_in_the_box(client):
    body = search(client, q="行政复议 region:广元市")
    assert body["hits"] and {h["region"] for h in body["hits"]} == {"广元市"}


def test_hit_url_opens_the_passage(client):
    hit = search(client, q="行政复议")["hits"][0]
    assert re.fullmatch(r"/doc/[0-9a-f]{16}\?q=.+#p\d+", hit["url"])
    page = client.get(hit["url"].split("#")[0])
    assert page.status_code == 200
    assert f'id="{hit["url"].split("#")[1]}"' in page.get_data(as_text=True)


def test_document_endpoint(client):
    hit = search(client, q="行政复议")["hits"][0]
    doc = client.get(f"/api/v1/documents/{hit['doc_id']}", query_string={"q": "行政复议"}).get_json()
    assert doc["doc_id"] == hit["doc_id"] and doc["region"] == hit["region"]
    assert doc["chunks"] and [c["position"] for c in doc["chunks"]] == list(range(len(doc["chunks"])))
    assert any("<mark>" in c["html"] for c in doc["chunks"])
    assert doc["sections"] and all(s["anchor"].startswith("p") for s in doc["sections"])


@pytest.mark.parametrize("params, fragment", [
    ({"q": "复议", "mode": "fuzzy"}, "mode"),
    ({"q": "复议", "page": "0"}, "page"),
    ({"q": "复议", "size": "101"}, "size"),
    ({"q": "复" * 501}, "500"),
    ({"q": "复议", "year": "twenty"}, "year"),
])
def test_bad_parameters_are_400_json(client, params, fragment):
    resp = client.get("/api/v1/search", query_string=params)
    assert resp.status_code == 400
    error = resp.get_json()["error"]
    assert error["code"] == "bad_request" and fragment in error["message"]


@pytest.mark.parametrize("q", [
    '"', '""', "NEAR(行政 复议)", "行政* ^复议 title:x", "AND OR NOT", "-", "<script>alert(1)</script>",
    "'; DROP TABLE chunks; --", "\\", "year:99999", "(((", "{}[]", "\u0000",
])
def test_hostile_queries_answer_200(client, q):
    resp = client.get("/api/v1/search", query_string={"q": q})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert "<script>" not in "".join(h["snippet"] for h in resp.get_json()["hits"])


def test_unknown_document_is_404_json(client):
    resp = client.get("/api/v1/documents/does-not-exist")
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"


def test_healthz(client):
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok" and body["documents"] >= 5 and body["passages"] > 50


def test_empty_query_gives_the_archive_overview(client):
    body = search(client)
    assert body["hits"] == [] and body["total"] == 0
    assert SEED_REGIONS <= {f["value"] for f in body["facets"]["region"]}


@pytest.mark.es
@pytest.mark.parametrize("q", ["行政复议", "12345热线 办结率", "规范性文件 备案审查", "法律顾问", "双随机一公开",
                               "行政复议 办案数", "行政应诉 出庭", "政务公开", "执法 监督 \"行政执法\"",
                               "法治宣传 -普法", "營商環境", "99.77%",
                               # every word first (two tiers), regions recognised, question words
                               "太原 行政复议", "三门峡 复议案件", "行政应诉 出庭", "政务公开 信息",
                               "规范性文件 备案审查 公平竞争", "2021年 行政复议 纠错率", "行政复议案件是多少？"])
def test_backends_rank_keyword_results_alike_on_the_seeds(app, es_app, q):
    # The embedded backend scores with Lucene's BM25 (archive/bm25.py): same passages, same order,
    # same scores up to float rounding.
    def top(a):
        body = a.test_client().get("/api/v1/search", query_string={"q": q, "mode": "keyword", "size": 10,
                                                                   "explain": 1}).get_json()
        return body["total"], [(h["chunk_id"], h["explain"]["keyword"]["score"]) for h in body["hits"]]

    (total_e, embedded), (total_s, elastic) = top(app), top(es_app)
    assert total_e == total_s > 0
    assert [c for c, _ in embedded] == [c for c, _ in elastic]
    for (_, score_e), (_, score_s) in zip(embedded, elastic):
        assert score_e == pytest.approx(score_s, rel=1e-4)
