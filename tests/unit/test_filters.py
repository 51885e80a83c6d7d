"""The filter rule (`Filters.matches`) on documents: the region hierarchy, provinces, cities, years."""

import pytest

from archive.models import Document, Filters

ZONE = Document("z", "t", region="恒口示范区", year=2022, doc_type="年度报告", region_level="zone",
                province="陕西省", city="安康市")
CITY = Document("c", "t", region="安康市", year=2021, doc_type="年度报告", region_level="city", province="陕西省")
PROVINCE = Document("p", "t", region="陕西省", year=2023, doc_type="政府工作报告", region_level="province")
MUNICIPAL_DISTRICT = Document("d", "t", region="北京市海淀区", year=2022, region_level="county", province="北京市")
NATIONAL = Document("n", "t", region="全国", year=2024, doc_type="政府工作报告", region_level="national")
UNKNOWN = Document("u", "t")  # nothing read: no region, no year, no level
DOCS = (ZONE, CITY, PROVINCE, MUNICIPAL_DISTRICT, NATIONAL, UNKNOWN)


@pytest.mark.parametrize("flt, expected", [
    (Filters(), "zcpdnu"),
    (Filters(region=("安康市",)), "zc"),
    (Filters(region=("陕西省",)), "zcp"),
    (Filters(region=("恒口示范区",)), "z"),
    (Filters(region=("北京市",)), "d"),
    (Filters(region=("全国",)), "n"),
    (Filters(province=("陕西省",)), "zcp"),
    (Filters(province=("北京市", "陕西省"), year=(2022,)), "zd"),
    (Filters(city=("安康市",)), "zc"),
    (Filters(city=("安康市",), doc_type=("政府工作报告",)), ""),
    (Filters(province=("陕西省",), city=("安康市",), region=("恒口示范区",)), "z"),
    (Filters(year_from=2022), "zpdn"),  # a bound excludes reports without a year
    (Filters(year_to=2022), "zcd"),
    (Filters(year_from=2022, year_to=2023, region=("陕西省",)), "zp"),
    (Filters(doc_type=("其他",)), "du"),
])
def test_matches(flt, expected):
    assert "".join(d.doc_id for d in DOCS if flt.matches(d)) == expected


@pytest.mark.parametrize("doc, province, city", [
    (ZONE, "陕西省", "安康市"), (CITY, "陕西省", "安康市"), (PROVINCE, "陕西省", None),
    (MUNICIPAL_DISTRICT, "北京市", None), (NATIONAL, None, None), (UNKNOWN, None, None),
])
def test_what_a_report_falls_under(doc, province, city):
    assert (doc.in_province, doc.in_city) == (province, city)
