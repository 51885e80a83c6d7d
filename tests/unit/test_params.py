import pytest
from werkzeug.datastructures import MultiDict

from archive.errors import BadRequest
from search_app.params import SearchParams, parse_params


@pytest.mark.parametrize("args, expected", [
    ({}, SearchParams()),
    ({"q": " 复议 ", "mode": "keyword"}, SearchParams(q="复议", mode="keyword")),
    ([("region", "太原市"), ("region", "广元市")], SearchParams(region=("太原市", "广元市"))),
    ([("year", "2021"), ("year", "2021")], SearchParams(year=(2021,))),
    ({"year_from": "2019", "year_to": "2023", "sort": "date"}, SearchParams(year_from=2019, year_to=2023, sort="date")),
    ({"page": "3", "size": "100"}, SearchParams(page=3, size=100)),
    ({"mode": ""}, SearchParams()),
    ([("province", "陕西省"), ("city", "安康市"), ("city", " 安康市 ")],
     SearchParams(province=("陕西省",), city=("安康市",))),
])
def test_parse(args, expected):
    assert parse_params(MultiDict(args)) == expected


@pytest.mark.parametrize("args, fragment", [
    ({"mode": "fuzzy"}, "mode"),
    ({"page": "0"}, "page"),
    ({"page": "x"}, "page"),
    ({"size": "101"}, "size"),
    ({"q": "字" * 501}, "查询过长"),
    ({"year": "20x1"}, "year"),
    ({"sort": "random"}, "sort"),
])
def test_bad_parameters(args, fragment):
    with pytest.raises(BadRequest) as info:
        parse_params(MultiDict(args))
    assert fragment in str(info.value)


def test_query_string_round_trip_and_toggle():
    p = SearchParams(q="复议", mode="keyword", region=("太原市",), year=(2021,), page=2)
    assert parse_params(MultiDict(__import__("urllib.parse").parse.parse_qsl(p.query_string()))) == p
    assert p.toggle("region", "太原市").region == ()
    assert p.toggle("region", "广元市").region == ("太原市", "广元市")
    assert p.toggle("year", 2022).page == 1


def test_province_and_city_travel_in_the_url_and_reach_the_filters():
    p = SearchParams(q="复议", province=("陕西省",), city=("安康市", "汉中市"))
    assert parse_params(MultiDict(__import__("urllib.parse").parse.parse_qsl(p.query_string()))) == p
    assert (p.filters().province, p.filters().city) == (("陕西省",), ("安康市", "汉中市"))
    assert p.toggle("city", "安康市").city == ("汉中市",)
