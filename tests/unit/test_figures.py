"""Numeric facts extracted from report passages: tables of sentence -> (label, value, unit)."""

from __future__ import annotations

import random
import re
import time
from pathlib import Path

import pytest

from indexer.figures import Figure, extract_figures, parse_number
from tests.conftest import require

SEEDS = Path(__file__).parents[2].parent / "shared" / "seeds"


def triples(text: str) -> list[tuple]:
    out = []
    for f in extract_figures(text):
        out.append((f.label, f.value, f.unit) if f.value_high is None else (f.label, f.value, f.unit, f.value_high))
    return out


def assert_offsets(passage: str, figures: list[Figure]) -> None:
    for f in figures:
        assert passage[f.start:f.start + len(f.text)] == f.text
        assert f.text in f.sentence and f.sentence in passage


@pytest.mark.parametrize("sentence, expected", [
    ("全年收到行政复议申请152件，受理138件，办结130件，纠错率12.3%",
     [("收到行政复议申请", 152, "件"), ("受理", 138, "件"), ("办结", 130, "件"), ("纠错率", 12.3, "%")]),
    ("按时办结率99.46%，群众满意率98.7%", [("按时办结率", 99.46, "%"), ("群众满意率", 98.7, "%")]),
    ("行政机关负责人出庭应诉率达到92.7%", [("行政机关负责人出庭应诉率", 92.7, "%")]),
    ("12345市民服务热线受理群众诉求28.6万件", [("12345热线受理群众诉求", 28.6, "万件")]),
    # a list ending in 等: the verb before the list is what is counted
    ("共受理各类咨询、求助、投诉等4.2万件，按期办结率97.5%", [("受理", 4.2, "万件"), ("按期办结率", 97.5, "%")]),
    ("发放宣传资料2万余份", [("发放宣传资料", 2, "万份")]),
    ("累计培训执法人员1,280人次", [("培训执法人员", 1280, "人次")]),
    ("办理行政应诉案件８６件，胜诉率９５．３％", [("办理行政应诉案件", 86, "件"), ("胜诉率", 95.3, "%")]),
    ("整体办结率达98. 06%", [("整体办结率", 98.06, "%")]),
    ("全市生产总值增长6.5%-7%", [("生产总值增长", 6.5, "%", 7)]),
    ("预计增长6.5—7%", [("预计增长", 6.5, "%", 7)]),
    ("每季度开展检查10至15次", [("每季度开展检查", 10, "次", 15)]),
    ("办案期限压缩至5个工作日", [("办案期限压缩", 5, "个工作日")]),
    ("全年接待来访群众300余人次，化解矛盾纠纷45起", [("接待来访群众", 300, "人次"), ("化解矛盾纠纷", 45, "起")]),
    ("投入资金3.6亿元，其中市级财政1200万元", [("投入资金", 3.6, "亿元"), ("市级财政", 1200, "万元")]),
    ("较上年提高2.3个百分点", [("提高", 2.3, "个百分点")]),
    ("公职律师增长百分之九", [("公职律师增长", 9, "%")]),
    ("本年度召开专题会议两次", [("本年度召开专题会议", 2, "次")]),
    ("年吞吐量达四亿零七百多万吨", [("年吞吐量", 40700, "万吨")]),  # trailing 万 goes to the unit
    ("审查规范性文件二十三件", [("审查规范性文件", 23, "件")]),
    ("新建法律服务站点12个、调解室36间", [("新建法律服务站点", 12, "个"), ("调解室", 36, "间")]),
    ("聘请法律顾问56名，出具法律意见书320份", [("聘请法律顾问", 56, "名"), ("出具法律意见书", 320, "份")]),
    ("全年组织执法人员培训8期，参训人数1500人", [("组织执法人员培训", 8, "期"), ("参训人数", 1500, "人")]),
    ("开展普法活动1200余场，受众达50万人", [("开展普法活动", 1200, "场"), ("受众", 50, "万人")]),
    ("清理规章18部，废止3部", [("清理规章", 18, "部"), ("废止", 3, "部")]),
    ("立案查处违法行为57起，罚没款83.5万元", [("立案查处违法行为", 57, "起"), ("罚没款", 83.5, "万元")]),
    ("实现“最多跑一次”事项1568项", [("实现最多跑一次事项", 1568, "项")]),
    ("受理行政复议案件12件、行政诉讼案件8件", [("受理行政复议案件", 12, "件"), ("行政诉讼案件", 8, "件")]),
    ("一是全年办理人大代表建议96件", [("办理人大代表建议", 96, "件")]),
    ("（二）完成行政规范性文件备案审查47件", [("完成行政规范性文件备案审查", 47, "件")]),
    ("2023年共审查重大行政决策事项21项", [("审查重大行政决策事项", 21, "项")]),
    ("其中，维持原行政行为15件，撤销4件", [("维持原行政行为", 15, "件"), ("撤销", 4, "件")]),
    ("全市律师事务所增至58家，律师780名", [("律师事务所", 58, "家"), ("律师", 780, "名")]),
    ("先后建成8个公共法律服务中心", [("建成公共法律服务中心", 8, "个")]),  # the counted thing follows
    ("市行政复议局（市司法局）全年办理行政复议案件77件", [("市行政复议局办理行政复议案件", 77, "件")]),
    ("调解成功 1208件", [("调解成功", 1208, "件")]),
    # one figure after a 、-list of subjects counts them all; after a list of figures, its own item only
    ("一审、二审判决、裁定85件", [("一审、二审判决、裁定", 85, "件")]),
    ("规范性文件报备率、及时率、规范率均为100%", [("规范性文件报备率、及时率、规范率", 100, "%")]),
    ("通过调解、和解方式结案31件", [("通过调解、和解方式结案", 31, "件")]),
    ("如期完成动员部署、全面自查、整改提升和集中申报4个阶段工作任务", [("全面自查、整改提升和集中申报", 4, "个")]),
    ("人均可支配收入3.2万元", [("人均可支配收入", 3.2, "万元")]),
    ("全镇共调解矛盾纠纷56件", [("调解矛盾纠纷", 56, "件")]),  # a township's 全镇, as a county's 全县
    ("我乡受理信访事项12件", [("受理信访事项", 12, "件")]),
    # what a plan pushes for is not part of what it measures
    ("保持行政机关负责人出庭应诉率100%", [("行政机关负责人出庭应诉率", 100, "%")]),
    ("推动县级政务服务事项全程网办率达到85%", [("县级政务服务事项全程网办率", 85, "%")]),
    ("进一步提升群众满意率至96%", [("提升群众满意率", 96, "%")]),
    ("保持在95%以上", [("", 95, "%")]),
    ("受理案件从120件至80件", [("受理案件", 120, "件"), ("", 80, "件")]),  # falling: not a range
    # A time is when a figure is measured, not what: a figure with only its time measures what the one before does.
    ("行政复议案件办结率2021年为96%，2022年为98.5%",
     [("行政复议案件办结率", 96, "%"), ("行政复议案件办结率", 98.5, "%")]),
    ("行政诉讼败诉率由2021年的12.3%下降到2022年的8.5%", [("行政诉讼败诉率", 12.3, "%"), ("行政诉讼败诉率", 8.5, "%")]),
    ("上半年办结率为95%，下半年为98%", [("办结率", 95, "%"), ("办结率", 98, "%")]),
    ("收到申请2021年1.2万件，2022年9800件", [("收到申请", 1.2, "万件"), ("收到申请", 9800, "件")]),
    ("办结率2022年为98%；2023年力争达到99%", [("办结率", 98, "%"), ("办结率", 99, "%")]),
    ("行政复议案件办结率由上年的95%提高到98%", [("行政复议案件办结率", 95, "%"), ("行政复议案件办结率", 98, "%")]),
    ("出庭应诉率从2020年的65%、2021年的80%提高到2022年的100%",
     [("出庭应诉率", 65, "%"), ("出庭应诉率", 80, "%"), ("出庭应诉率", 100, "%")]),
    ("办理案件36件，其中12件", [("办理案件", 36, "件"), ("", 12, "件")]),  # no time of its own: a part, unknown
    ("办结率为95%。2022年为98%", [("办结率", 95, "%"), ("", 98, "%")]),  # another sentence
    ("受理案件2021年36件，2022年为98%", [("受理案件", 36, "件"), ("", 98, "%")]),  # another unit
    # Falling to a level is the level; falling by an amount is a change.
    ("行政诉讼败诉率下降至7.3%", [("行政诉讼败诉率", 7.3, "%")]),
    ("保留证明事项减少至190项", [("保留证明事项", 190, "项")]),
    ("行政诉讼败诉率下降2.1个百分点", [("行政诉讼败诉率下降", 2.1, "个百分点")]),
    # The level reached after a change of one subject, in another unit, measures the subject.
    ("全市地区生产总值增长6.2%，达到3210.5亿元", [("地区生产总值增长", 6.2, "%"), ("地区生产总值", 3210.5, "亿元")]),
    ("一般公共预算收入同比增长8%，达到218亿元",
     [("一般公共预算收入同比增长", 8, "%"), ("一般公共预算收入", 218, "亿元")]),
    ("增长8%，达到218亿元", [("增长", 8, "%"), ("", 218, "亿元")]),  # no subject written: none made up
    ("综合纠错率较2022年下降2.3个百分点，为11.5%",
     [("综合纠错率较2022年下降", 2.3, "个百分点"), ("综合纠错率", 11.5, "%")]),
    ("出庭应诉率连续三年保持100%", [("出庭应诉率", 100, "%")]),
    # the value a comparison names for its base year measures what the figure before it does (its year: periods)
    ("12345热线全年受理量达到28.6万件，较2022年的25.1万件增长13.9%",
     [("12345热线受理量", 28.6, "万件"), ("12345热线受理量", 25.1, "万件"), ("增长", 13.9, "%")]),
    ("信访事项占比65.3%", [("信访事项占比", 65.3, "%")]),  # 占比 keeps its 比
    # 分别: the nth figure of the run measures the nth subject; where they do not pair up, no figure is misnamed.
    ("规模以上工业增加值、固定资产投资分别增长8.1%、6.5%",
     [("规模以上工业增加值增长", 8.1, "%"), ("固定资产投资增长", 6.5, "%")]),
    ("社会消费品零售总额和外贸进出口总额分别增长7.2%和12.4%",
     [("社会消费品零售总额增长", 7.2, "%"), ("外贸进出口总额增长", 12.4, "%")]),
    ("城乡居民人均可支配收入分别达到4.6万元、2.1万元，分别增长5.2%、7.1%",
     [("城镇居民人均可支配收入", 4.6, "万元"), ("农村居民人均可支配收入", 2.1, "万元"),
      ("城镇居民人均可支配收入增长", 5.2, "%"), ("农村居民人均可支配收入增长", 7.1, "%")]),
    ("城镇、农村居民人均可支配收入分别增长5.2%和7.1%",  # a tail both share
     [("城镇居民人均可支配收入增长", 5.2, "%"), ("农村居民人均可支配收入增长", 7.1, "%")]),
    ("受理行政复议案件、行政诉讼案件分别为45件、32件，办结率分别为95%、90%",
     [("受理行政复议案件", 45, "件"), ("行政诉讼案件", 32, "件"), ("行政复议案件办结率", 95, "%"),
      ("行政诉讼案件办结率", 90, "%")]),
    ("2022年、2023年收案数分别为120件、135件", [("收案数", 120, "件"), ("收案数", 135, "件")]),
    ("行政复议和行政诉讼案件分别为30件、20件、10件", [("", 30, "件"), ("", 20, "件"), ("", 10, "件")]),
    ("全年培训分别为3次、5次", [("培训", 3, "次"), ("", 5, "次")]),  # one subject: which is which is not written
    # The same pairing without 分别, where as many subjects are listed with 、 as figures follow
    ("全市绿化覆盖率、绿地率达到44. 5%、39. 4%", [("绿化覆盖率", 44.5, "%"), ("绿地率", 39.4, "%")]),
    ("工业增加值、固定资产投资增长8%、6%", [("工业增加值增长", 8, "%"), ("固定资产投资增长", 6, "%")]),
    ("公布继续有效规范性文件19件、修订18件、废止12件",
     [("公布继续有效规范性文件", 19, "件"), ("修订", 18, "件"), ("废止", 12, "件")]),  # each its own words
    ("受理咨询、投诉、建议等17万件、2万件", [("受理", 17, "万件"), ("", 2, "万件")]),  # 3 subjects, 2 figures
    # A minus sign after no digit or letter is a negative figure; after one, a range or a span
    ("工业增加值增长-2.3%，进出口增速为−1.5%", [("工业增加值增长", -2.3, "%"), ("进出口增速", -1.5, "%")]),
    ("增长-0%", [("增长", 0, "%")]),
    ("每季度检查5-10次", [("每季度检查", 5, "次", 10)]),
    ("2021-2023年受理36件", [("受理", 36, "件")]),
    # 分 as a score, not in 分之, 分局, 分公司, 分钟
    ("群众满意度98.5分，考核得分95分", [("群众满意度", 98.5, "分"), ("考核得分", 95, "分")]),
    ("设立3分局、2分公司，用时5分钟", [("用时", 5, "分钟")]),
    # Traditional characters: numerals, multipliers and units read as in simplified text; labels simplified.
    ("全年共收到行政復議申請二百一十三件，辦結率達百分之九十八點五",
     [("收到行政复议申请", 213, "件"), ("办结率", 98.5, "%")]),
    ("12345熱線受理群眾訴求8.6萬件，新建調解室12個",
     [("12345热线受理群众诉求", 8.6, "万件"), ("新建调解室", 12, "个")]),
    ("行政机关负责人出庭应诉率保持100%", [("行政机关负责人出庭应诉率", 100, "%")]),  # 保持, like 保持在
    ("我县受理行政复议申请12件，本区办结10件", [("受理行政复议申请", 12, "件"), ("办结", 10, "件")]),
    # Spaces as scraped pages and PDF text layers write them: before a decimal's space, as a thousands
    # separator (plain, thin or no-break), before the unit.
    ("按时办结率 99. 5%", [("按时办结率", 99.5, "%")]),
    ("主动公开政府信息1 234条，投入资金1 234.5万元", [("主动公开政府信息", 1234, "条"), ("投入资金", 1234.5, "万元")]),
    ("主动公开政府信息1\u2009234条，发放资料12\u202f345份",
     [("主动公开政府信息", 1234, "条"), ("发放资料", 12345, "份")]),
    ("本年制发件数 32 件，本年废止件数 3件", [("本年制发件数", 32, "件"), ("本年废止件数", 3, "件")]),
    ("受理案件 12 345 件", [("受理案件", 12345, "件")]),
    ("受理案件12 34件", [("受理案件12", 34, "件")]),  # groups of three only: two numbers, the second a count
    # A full-width comma between groups of three, as typed in full-width mode, is a thousands separator ...
    ("主动公开政府信息3，256条，受理86件", [("主动公开政府信息", 3256, "条"), ("受理", 86, "件")]),
    ("投入资金1，234，567.5元", [("投入资金", 1234567.5, "元")]),
    ("投入资金１，２００万元", [("投入资金", 1200, "万元")]),  # full-width digits too
    # ... not after four digits, nor before other than three, nor in a 分别 list (a clause break there)
    ("2022，2023年共收到申请12件", [("收到申请", 12, "件")]),
    ("办结12，34件", [("", 34, "件")]),
    ("受理、办结分别为120，135件", [("", 135, "件")]),  # not 120135
])
def test_extracts_label_value_unit(sentence, expected):
    assert triples(sentence) == expected
    assert_offsets(sentence, extract_figures(sentence))


@pytest.mark.parametrize("sentence", [
    "2021年，市政府召开常务会议",  # a year
    "根据《行政复议法》第二十八条规定，于2023年8月14日作出决定",  # a title, an ordinal and a date
    "新政法〔2023〕12号文件印发",  # a document number
    "发布时间：2024-03-26 10:55",  # a date and a time
    "开通12345政务服务便民热线",  # a hotline's name
    "深入实施“八五”普法规划（2021-2025年）",  # a plan's span of years
    "落实《法治政府建设实施纲要(2021—2025年)》要求",
    "印发《关于做好2023年第3批10件实事的通知》",  # numbers inside a title
    "坚持“两个确立”，增强“四个意识”",  # slogans
    "第一次会议审议通过，第3批名单公布",  # ordinals
    "一是加强组织领导。（三）完善制度",  # section markers
    "索引号：005307554/2023-00051",
    "建立一个平台，实现一次性告知",  # 一 + unit is idiom, not a count
    "会议共有代表参加，人数很多",  # no number
    "共收到意见200",  # a bare number has no unit
    "第 3 次会议审议通过",  # an ordinal written with a space
])
def test_skips_numbers_that_are_not_measurements(sentence):
    assert extract_figures(sentence) == []


def test_offsets_text_and_sentences_point_into_the_original_passage():
    passage = "一、总体情况\n全年受理申请１２３件；办结率99. 77%。\u3000其中纠错１２．５％！"
    figures = extract_figures(passage)
    assert [(f.text, f.value, f.unit) for f in figures] == [
        ("１２３件", 123, "件"), ("99. 77%", 99.77, "%"), ("１２．５％", 12.5, "%")]
    assert [f.sentence for f in figures] == ["全年受理申请１２３件", "办结率99. 77%", "其中纠错１２．５％"]
    assert_offsets(passage, figures)


def test_an_item_number_is_not_a_decimal_point():
    assert triples("2. 3个单位获评示范") == [("单位获评示范", 3, "个")]
    assert triples("名单如下。 2. 3个单位获评示范") == [("单位获评示范", 3, "个")]  # spaces before it passed over
    assert triples("办结率 99. 5%") == [("办结率", 99.5, "%")]  # after a word and a space: a decimal


def test_figure_round_trips_through_a_dict():
    for f in extract_figures("全年受理申请31件，增长6.5%-7%"):
        assert Figure.from_dict(f.to_dict()) == f
        assert list(f.to_dict()) == list(Figure.__dataclass_fields__)  # every field, in order, nothing else
    assert Figure.from_dict({**f.to_dict(), "unknown": 1}) == f


@pytest.mark.parametrize("written, value", [
    ("17.92", 17.92), ("１２３", 123), ("1,234", 1234), ("四亿零七百万", 407000000), ("百分之九", 9),
    ("二十三", 23), ("17.92万", 179200), ("5. 9", 5.9), ("二〇二三", 2023), ("一百零五", 105), ("三点五", 3.5),
    ("十万", 100000), ("两", 2), ("百分之九十五点五", 95.5), ("一万亿", 10**12), ("2万余", 20000),
    ("三千多万", 3 * 10**7), ("3，256", 3256),
])
def test_parse_number(written, value):
    assert parse_number(written) == pytest.approx(value)


@pytest.mark.parametrize("written", ["", "abc", "1e5", "三五", "百分之", "亿" * 60, "1..2", "--", None, "12，34"])
def test_parse_number_rejects_what_is_not_a_number(written):
    assert parse_number(written) is None


@pytest.mark.parametrize("hostile", [
    "", " ", "\n\n", "\ud800件", "9" * 5000 + "件", "亿" * 200 + "件", "百分之" * 100, "《" * 1000 + "3件",
    "“" * 1000 + "3件”", "1." * 5000, "6.5%-" * 2000, "１" * 3000 + "％", "\x00\x01件%", "三" * 500 + "件",
])
def test_hostile_input_never_crashes(hostile):
    assert_offsets(hostile, extract_figures(hostile))


def test_random_noise_keeps_the_offset_invariant():
    rng = random.Random(20240326)
    alphabet = "0123456789１２３.．%％ 件万亿元人次个项一二两十百千零余多，、。；：《》“”()（）-—至受理办结率第年月日\n"
    for _ in range(300):
        noise = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
        assert_offsets(noise, extract_figures(noise))


def test_a_100kb_passage_is_fast():
    passage = "全年收到行政复议申请152件，受理138件，办结率99. 77%，发布《2023年工作要点》。" * 2000
    began = time.perf_counter()
    figures = extract_figures(passage)
    assert len(figures) == 6000
    # measured ~0.2 s; the bound is loose so that a slow CI machine does not fail it
    assert time.perf_counter() - began < 2


try:
    from hypothesis import given
    from hypothesis import strategies as st
except ImportError:  # not a dependency: the seeded noise test above covers the same ground
    pass
else:
    @given(st.text(max_size=200))
    def test_any_text_keeps_the_offset_invariant(text):
        assert_offsets(text, extract_figures(text))


# ---- the real reports in ../shared/seeds ---------------------------------------------------------

def seed_text(prefix: str) -> str:
    if not SEEDS.is_dir():
        require(False, f"seed reports not found at {SEEDS}")
    (path,) = SEEDS.glob(f"{prefix}_*.txt")
    return path.read_text(encoding="utf-8")


def find(figures: list[Figure], value: float, unit: str) -> list[Figure]:
    return [f for f in figures if f.value == pytest.approx(value) and f.unit == unit]


@pytest.mark.parametrize("prefix", ["000", "001", "002", "003", "004"])
def test_every_seed_figure_points_back_into_its_passage(prefix):
    text = seed_text(prefix)
    figures = extract_figures(text)
    assert figures
    assert_offsets(text, figures)
    titles = [m.span() for m in re.finditer(r"《[^《》\n]*》", text)]
    for f in figures:
        assert not f.text.startswith("12345")  # the hotline's name is not a count
        assert not any(a < f.start < b for a, b in titles)
        assert f.unit not in ("年", "月", "日", "号")


def test_seed_000_sanmenxia():
    figures = extract_figures(seed_text("000"))
    (appeals,) = find(figures, 406, "件")
    assert appeals.label == "办理复议案件" and "复议" in appeals.sentence
    (hotline,) = find(figures, 17.92, "万件")
    assert hotline.label == "12345热线受理"
    (done,) = find(figures, 95.09, "%")
    assert done.label == "办结率"


def test_seed_003_guangyuan_appeals():
    figures = extract_figures(seed_text("003"))
    got = [(f.label, f.value, f.unit) for f in figures if "行政复议申请" in f.sentence]
    assert got == [("收到行政复议申请", 36, "件"), ("受理", 31, "件"), ("办结", 22, "件")]


def test_seed_004_taiyuan():
    figures = extract_figures(seed_text("004"))
    (appeals,) = find(figures, 248, "件")
    assert "行政复议" in appeals.label
    (hotline,) = find(figures, 170.3, "万件")
    assert hotline.label.startswith("12345热线受理")
    (spaced,) = find(figures, 99.77, "%")
    assert spaced.text == "99. 77%" and spaced.label == "整体办结率"
    (consults,) = find(figures, 5.9, "万件")
    assert consults.text == "5. 9万余件"


@pytest.mark.parametrize("prefix", ["000", "001", "002", "003", "004"])
def test_stored_figure_dicts_are_the_figures_to_dict(prefix):
    """The ingest stores `figure_dicts(text)`, made without Figure objects: each is `Figure.to_dict()` of the
    figure `extract_figures` finds, in the same order."""
    from indexer.figures import figure_dicts

    text = seed_text(prefix)
    figures = extract_figures(text)
    assert figures and figure_dicts(text) == tuple(f.to_dict() for f in figures)
    assert figure_dicts("") == () and figure_dicts("没有数字") == ()


def _pattern_windows(seeds_dir: Path, demo_dir: Path) -> list[str]:
    """Every 40-character window (a figure's label window) of the seeds and demo reports, in their matching view,
    with made-up ones for the rarer shapes."""
    from indexer.figures import _view
    from indexer.reading import read_document

    texts = [_view(read_document(p).text) for p in [*sorted(seeds_dir.glob("*.txt")), *sorted(demo_dir.rglob("*.txt"))]]
    windows = [text[i:i + 40] for text in texts for i in range(0, len(text), 7)]
    return windows + ["三项制度和四项制度以及“四个意识”《条例》〔2023〕5号", "共计已依法受理办理", "和  平及与 ",
                      "温和总和与参与 和", "达到了", "达到", "提高到了", "为", "行为", ""]


def test_the_fast_figure_patterns_match_what_their_plain_forms_match(seeds_dir, demo_dir):
    """The patterns written for the regex engine's first-character scan (see the note above `_QUOTE_BREAK`) against
    their plain forms, and the tail searched from near the end against a search of the whole label."""
    from indexer import figures as F

    plain_shield = re.compile(F._SHIELD.pattern.replace("三项制度|四项制度", "[三四]项制度"))
    plain_filler = re.compile(rf"(?:{F._FILLERS})+(?={F._VERBS})")
    plain_conjunction = re.compile(r"(?<![平温缓总普涉以危参给])[和及与]\s*$")
    plain_boundary = re.compile(r"[,，;:()!?\t]| {2,}")
    windows = _pattern_windows(seeds_dir, demo_dir)
    assert len(windows) > 1000
    for w in windows:
        assert [m.span() for m in F._SHIELD.finditer(w)] == [m.span() for m in plain_shield.finditer(w)], w
        assert F._FILLER_BEFORE_VERB.sub("", w) == plain_filler.sub("", w), w
        assert bool(F._CONJUNCTION.search(w)) == bool(plain_conjunction.search(w)), w
        assert F._BOUNDARY.split(w) == plain_boundary.split(w), w
        for label in (w, w[-6:], w[-3:]):
            near_end = F._TRAIL.search(label, max(0, len(label) - F._TRAIL_LONGEST))
            anywhere = F._TRAIL.search(label)
            assert (near_end and near_end.span()) == (anywhere and anywhere.span()), label


def test_a_label_is_cleaned_without_its_patterns_only_where_they_cannot_match(seeds_dir, demo_dir):
    """`_clean` runs its lead, tail and trailing-time patterns only on a label whose first or last character one of
    them can start or end on (`_LEAD_FIRST`, `_TRAIL_LAST`, `_TIME_LAST`): every window of the seeds and demo/, each
    cut at every length, and every lead, tail and time written alone and around other words, with digits of other
    scripts (\\d is any decimal digit)."""
    from indexer import figures as F

    leads = ["一是", "（三）", "(12)", "3.", "十、", "第二批", "截至", "2023年度", "2021-2023年", "11月份", "5日",
             "今年", "全街道", "我镇", "本旗", "其中", "较上年", "保持", "进一步", "对", "١٢٣٤年", "１２月"]
    times = ["2023年", "2023年度", "2021—2023年", "2022年上半年", "上年", "去年", "当年", "下半年", "连续三年",
             "连续10年"]
    labels = [w[a:b] for w in _pattern_windows(seeds_dir, demo_dir) for a, b in ((0, None), (3, None), (0, -3), (5, 9))]
    labels += F._TRAIL_WORDS + leads + times
    labels += [f"{lead}收到申请{end}" for lead in leads for end in F._TRAIL_WORDS + times]
    checked = {"lead": 0, "tail": 0, "time": 0}
    for label in labels:
        if not (label[:1] in F._LEAD_FIRST or label[:1].isdecimal()):
            assert F._LEAD.match(label) is None, label
            checked["lead"] += 1
        if label[-1:] not in F._TRAIL_LAST:
            assert F._TRAIL.search(label) is None, label
            checked["tail"] += 1
        if label[-1:] not in F._TIME_LAST:
            assert F._TRAIL_TIME.search(label) is None, label
            checked["time"] += 1
    assert min(checked.values()) > 1000, checked  # most labels skip each pattern: what the checks are for
    assert F._clean("١٢٣٤年收到申请共计") == "收到申请"


def test_a_run_of_digits_or_numerals_is_skipped_only_where_no_figure_starts(seeds_dir, demo_dir):
    """`_AFTER_RUN`: a run followed by a character outside it is not tried, nor any place inside a run; no figure may
    start there. Every run of the seeds and demo/ and of 20,000 random strings of numerals, units, separators and
    other characters."""
    from indexer import figures as F
    from indexer.reading import read_document

    reports = [*sorted(seeds_dir.glob("*.txt")), *sorted(demo_dir.rglob("*.txt"))]
    texts = [F._view(read_document(p).text) for p in reports]
    pieces = list("0123456789一二两三十百千万亿零〇多余点分之,. —-–~至到%‰年月日是步级的和") + F._UNITS
    pieces += ["百分之", "个百分点"]
    rng = random.Random(20)
    texts += ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 12))) for _ in range(20000)]
    texts += ["增长5 -7%", "3 至 5件", "1,234件", "99. 77%", "三十多万件", "二点五亿元", "百分之九", "5万-6万人"]
    skipped = 0
    for text in texts:
        for run in F._RUN.finditer(text):
            for start in range(run.start() + 1, run.end()):  # `_figures` tries a run at its start only
                assert F._RANGE.match(text, start) is None, (text, start)
            if text[run.end():run.end() + 1] not in F._AFTER_RUN:
                skipped += 1
                assert F._RANGE.match(text, run.start()) is None, (text, run.start())
    assert skipped > 5000


@pytest.mark.parametrize("passage, expected", [
    # a header over the columns: each cell is its row's name and its column's, in the unit the column names
    ("信息内容\t本年制发件数\t本年废止件数\n规章\t0\t0\n行政规范性文件\t12\t3",
     [("规章本年制发件数", 0, "件"), ("规章本年废止件数", 0, "件"), ("行政规范性文件本年制发件数", 12, "件"),
      ("行政规范性文件本年废止件数", 3, "件")]),
    # a unit column; a values column adds nothing to the name
    ("指标\t单位\t数值\n行政复议案件\t件\t86\n办结率\t%\t98.5", [("行政复议案件", 86, "件"), ("办结率", 98.5, "%")]),
    # the unit a caption gives the table, a row's own marker and 其中 dropped
    ("（单位：万元）\n项目\t金额\n一、行政事业性收费\t1,234.5\n其中：罚没收入\t12",
     [("行政事业性收费", 1234.5, "万元"), ("罚没收入", 12, "万元")]),
    # the template's applications table: its columns lost to merged cells, the total alone, in 件 (申请数量)
    ("（本列数据的勾稽关系为：第一项加第二项之和）\t申请人情况\t总计\n一、本年新收政府信息公开申请数量\t1\t2\t120",
     [("本年新收政府信息公开申请数量", 120, "件")]),
    # a cell with its unit is found already; the row names it
    ("办结率\t98.5%\n全年受理\t36件", [("办结率", 98.5, "%"), ("受理", 36, "件")]),
    # left out: no unit anywhere, a year's column (its period is not the row's), numbers without a name
    ("项目\t数量\n收到申请\t45", []),
    ("指标\t单位\t2022年\t2023年\n地区生产总值\t亿元\t3000\t3210", []),
    ("年份\t2022\t2023\n收案数\t120\t135", []),
    ("件数\n\t12\t3", []),
    ("项目\t数量\n建立\t一个", []),  # a cell the main pass refuses ("一个" is idiom) is not made a figure here
])
def test_table_rows(passage, expected):
    assert triples(passage) == expected
    assert_offsets(passage, extract_figures(passage))


def test_a_report_table_read_from_docx_and_html_gives_its_figures(tmp_path):
    """Through the readers and `prepare`, as an ingest sees them: a .docx table and an HTML one."""
    import docx  # python-docx, the .docx reader's library (requirements.txt)

    from indexer.pipeline import prepare

    rows = [["信息内容", "本年制发件数", "现行有效件数"], ["行政规范性文件", "12", "45"]]
    doc = docx.Document()
    doc.add_paragraph("示例县2023年政府信息公开工作年度报告")
    doc.add_paragraph("二、主动公开政府信息情况")
    table = doc.add_table(rows=2, cols=3)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    doc.add_paragraph("三、存在的主要问题及改进情况")
    doc.add_paragraph("公开质量有待进一步提高。")
    doc.save(tmp_path / "r.docx")
    cells = "".join("<tr>" + "".join(f"<td>{v}</td>" for v in row) + "</tr>" for row in rows)
    (tmp_path / "r.html").write_text(
        "<html><head><meta charset='utf-8'><title>示例县2023年政府信息公开工作年度报告</title></head><body>"
        "<h1>示例县2023年政府信息公开工作年度报告</h1><p>二、主动公开政府信息情况</p>"
        f"<table>{cells}</table><p>三、存在的主要问题及改进情况</p><p>公开质量有待进一步提高。</p></body></html>",
        encoding="utf-8")
    for name in ("r.docx", "r.html"):
        prepared = prepare(tmp_path / name, 500)
        found = [(c.section, f["label"], f["value"], f["unit"]) for c in prepared.chunks for f in c.figures]
        assert found == [("二、主动公开政府信息情况", "行政规范性文件本年制发件数", 12, "件"),
                         ("二、主动公开政府信息情况", "行政规范性文件现行有效件数", 45, "件")], name
