"""All words count, regions and years typed in the box, question words: on the seeds, both backends."""

import pytest

from archive.text import tokenize
from search_app.query import parse_query, synonym_terms
from tests.app.test_api import search


@pytest.fixture(params=["embedded", pytest.param("elasticsearch", marks=pytest.mark.es)])
def client(request, ingested):  # `ingested` named: the scheduler reads the seed index off the fixture names
    app = request.getfixturevalue("app" if request.param == "embedded" else "es_app")
    return app.test_client()


@pytest.mark.parametrize("mode", ["keyword", "hybrid"])
@pytest.mark.parametrize("q, region, count", [
    ("太原 行政复议", "太原市", "248件"),
    ("三门峡 复议案件", "三门峡市", "406件"),
    ("三门峡 行政复议", "三门峡市", "406件"),
])
def test_the_city_and_its_case_count_come_first(client, mode, q, region, count):
    body = search(client, q=q, mode=mode)
    first = body["hits"][0]
    assert first["region"] == region and count in first["text"], [h["text"][:60] for h in body["hits"][:3]]
    assert {h["region"] for h in body["hits"]} == {region}
    assert body["applied"] == [{"field": "region", "value": region, "from": q.split()[0]}]


def test_literal_searches_the_region_as_a_word(client):
    body = search(client, q="太原 行政复议", mode="keyword", literal=1)
    assert body["applied"] == []
    assert len({h["region"] for h in body["hits"]}) > 1  # 太原 is one more word, not a filter


@pytest.mark.parametrize("q, applied", [
    ("太原市 2021年 行政复议", [{"field": "region", "value": "太原市", "from": "太原市"},
                             {"field": "year", "value": 2021, "from": "2021年"}]),
    ("2021 行政复议", [{"field": "year", "value": 2021, "from": "2021"}]),
    ("新密 依法行政", [{"field": "region", "value": "新密市", "from": "新密"}]),
    ("行政复议 2000件", []),  # a count, not a year
    ("北京 行政复议", []),  # a region the archive does not hold stays a word
])
def test_regions_and_years_typed_are_applied(client, q, applied):
    body = search(client, q=q, mode="keyword")
    assert body["applied"] == applied
    for a in applied:
        assert all(str(h[a["field"]]) == str(a["value"]) for h in body["hits"])
        assert [f["value"] for f in body["facets"][a["field"]]] == [str(a["value"])]


@pytest.mark.parametrize("q", ["行政应诉 出庭", "政务公开 信息", "规范性文件 备案审查", "行政复议 案件"])
def test_passages_holding_every_word_come_first(client, q):
    # Per word: the word and its synonyms. A passage holds one as jieba cuts it (an index token), the
    # backends' unit: a passage writing 信息公开 where jieba cuts 信息/公开 does not hold 信息公开.
    words = parse_query(q).words

    def holds_all(hit):
        held = {t for f in ("title", "section", "text") for t in tokenize(hit[f])}
        return all(any(set(synonym_terms(alt)) <= held for alt in word) for word in words)

    body = search(client, q=q, mode="keyword", size=50)
    holds = [holds_all(h) for h in body["hits"]]
    assert holds[0] and False in holds, holds
    assert not any(holds[holds.index(False):]), holds  # every word first, then the rest


@pytest.mark.parametrize("question, plain", [
    ("太原市行政复议案件是多少？", "太原 行政复议案件"),
    ("三门峡有没有行政复议案件", "三门峡 行政复议案件"),
    ("如何开展行政复议吗", "开展行政复议"),
])
def test_question_words_are_not_searched(client, question, plain):
    def top(q):
        body = search(client, q=q, mode="keyword", explain=1)
        return body["total"], [(h["chunk_id"], h["explain"]["keyword"]["score"]) for h in body["hits"]]

    assert top(question) == top(plain)


def test_the_page_shows_recognised_filters_as_removable_chips(app):
    from urllib.parse import parse_qs, urlsplit

    from lxml import html as lxml_html

    def page(url, **query):
        resp = app.test_client().get(url, query_string=query or None)
        assert resp.status_code == 200
        return lxml_html.fromstring(resp.get_data(as_text=True))

    tree = page("/search", q="太原 2021年 行政复议")
    chips = {c.text_content().split("×")[0].strip(): parse_qs(urlsplit(c.get("href")).query)
             for c in tree.xpath('//div[@class="chips"]/a[@class="chip"]')}
    assert chips == {"已按地区筛选：太原市": {"q": ["2021年 行政复议"]},
                     "已按年份筛选：2021": {"q": ["太原 行政复议"]}}
    literal = tree.xpath('//div[@class="chips"]/a[@class="chip-literal"]')[0]
    assert literal.text_content() == "把“太原”“2021年”作为普通词语检索"
    assert parse_qs(urlsplit(literal.get("href")).query) == {"q": ["太原 2021年 行政复议"], "literal": ["1"]}
    plain = page(literal.get("href"))
    assert not plain.xpath('//div[@class="chips"]')
    back = plain.xpath('//p[@class="literal-note small"]/a')[0]
    assert parse_qs(urlsplit(back.get("href")).query) == {"q": ["太原 2021年 行政复议"]}


def test_a_recognised_region_is_marked_in_the_facet_list_and_its_link_removes_the_words(app):
    from urllib.parse import parse_qs, urlsplit

    from lxml import html as lxml_html

    def facet_links(q):
        tree = lxml_html.fromstring(app.test_client().get("/search", query_string={"q": q}).get_data(as_text=True))
        return {(a.xpath('string(ancestor::section[@class="facet"]/h3)'),
                 a.xpath('string(.//span[@class="facet-name"])')): a
                for a in tree.xpath('//aside[@id="facets"]//a[contains(@class, "facet-link")]')}

    links = facet_links("太原 2021年 行政复议")
    for key, q in ((("地区", "太原市"), "2021年 行政复议"), (("年份", "2021年"), "太原 行政复议")):
        assert "is-selected" in links[key].get("class")
        assert parse_qs(urlsplit(links[key].get("href")).query) == {"q": [q]}  # as its chip: the words go
    links = facet_links("太原 行政复议")
    others = [a for (field, name), a in links.items() if field == "地区" and name != "太原市"]
    assert "is-selected" in links[("地区", "太原市")].get("class")
    assert others and not any("is-selected" in a.get("class") for a in others)
