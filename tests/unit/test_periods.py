"""The year a figure measures and whether it is a result, a target or a plan: sentence tables."""

from __future__ import annotations

import random

import pytest

from archive.periods import Report, covered_year, mentions, place

GOV_2026 = Report(2026, "政府工作报告")  # delivered in 2026: reviews 2025, sets 2026's targets
PLAN_2023 = Report(2023, "工作安排")
ANNUAL_2023 = Report(2023, "年度报告")
REVIEW_2017 = Report(2017, "综述")


@pytest.mark.parametrize("sentence, text, report, period, part", [
    ("上半年办结率为95%，下半年为98%", "95%", ANNUAL_2023, "2023年上半年", "上半年"),
    ("上半年办结率为95%，下半年为98%", "98%", ANNUAL_2023, "2023年下半年", "下半年"),
    ("前三季度，地区生产总值增长5.1%", "5.1%", GOV_2026, "2025年前三季度", "前三季度"),
    ("2023年1-6月，受理案件36件", "36件", ANNUAL_2023, "2023年1-6月", "1-6月"),
    ("截至2023年9月底，累计受理150件", "150件", ANNUAL_2023, "2023年1-9月", "1-9月"),
    ("今年6月底，累计受理150件", "150件", ANNUAL_2023, "2023年1-6月", "1-6月"),
    ("上半年、下半年分别受理36件、40件", "40件", ANNUAL_2023, "2023年上半年、下半年", "上半年、下半年"),
    # the whole year
    ("截至12月底，累计受理150件", "150件", ANNUAL_2023, "2023", None),
    ("上半年受理36件，全年受理80件", "80件", ANNUAL_2023, "2023", None),
    ("2022年上半年受理20件，2023年受理36件", "36件", ANNUAL_2023, "2023", None),
    ("9月底召开会议，受理案件36件", "36件", ANNUAL_2023, "2023", None),  # a date, not a part
    ("一季度受理36件，“十四五”期间累计受理800件", "800件", ANNUAL_2023, "2021-2025", None),  # a span has no part
])
def test_a_part_of_a_year(sentence, text, report, period, part):
    placed = place(sentence, text, report)
    assert (placed.label, placed.part, placed.to_dict()["period_part"]) == (period, part, part)


@pytest.mark.parametrize("sentence, text, report, period, kind", [
    # explicit years
    ("2022年，全县热线受理群众诉求4.6万件，行政复议纠错率6.1%", "4.6万件", PLAN_2023, "2022", "result"),
    ("2022年，全县热线受理群众诉求4.6万件，行政复议纠错率6.1%", "6.1%", PLAN_2023, "2022", "result"),
    ("2021年办结行政复议案件77件，2022年办结93件", "93件", ANNUAL_2023, "2022", "result"),
    ("截至２０２３年底，全市共有律师事务所58家", "58家", ANNUAL_2023, "2023", "result"),
    ("较2022年增长15%", "15%", ANNUAL_2023, "2023", "result"),  # a baseline is not the period
    ("受理量达到28.6万件，较2022年的25.1万件增长13.9%", "25.1万件", ANNUAL_2023, "2022", "result"),  # its value
    ("受理量达到28.6万件，较2022年的25.1万件增长13.9%", "13.9%", ANNUAL_2023, "2023", "result"),
    # "X年的" before a number is that number's year, not the next one's
    ("行政复议案件办结率由上年的95%提高到98%", "95%", ANNUAL_2023, "2022", "result"),
    ("行政复议案件办结率由上年的95%提高到98%", "98%", ANNUAL_2023, "2023", "result"),
    ("出庭应诉率从2020年的65%、2021年的80%提高到2022年的100%", "80%", ANNUAL_2023, "2021", "result"),
    ("落实《实施纲要（2021—2025年）》，办理复议案件30件", "30件", ANNUAL_2023, "2023", "result"),  # a title's years
    # relative years, counted from the report's own year
    ("过去一年，全市地区生产总值增长5.4%", "5.4%", GOV_2026, "2025", "result"),
    ("去年全市受理行政复议案件120件", "120件", ANNUAL_2023, "2022", "result"),
    ("上年全市新增城镇就业3.2万人", "3.2万人", GOV_2026, "2025", "result"),
    ("今年发展主要预期目标是：地区生产总值增长5%左右，城镇新增就业5万人以上", "5%", GOV_2026, "2026", "target"),
    ("今年发展主要预期目标是：地区生产总值增长5%左右，城镇新增就业5万人以上", "5万人", GOV_2026, "2026", "target"),
    ("今年全市居民人均可支配收入增长与经济增长同步，粮食产量稳定在80万吨以上", "80万吨", GOV_2026, "2026", "target"),
    # no year written: the year the report covers (a 政府工作报告 of 2026 covers 2025)
    ("全市地区生产总值增长5.4%，一般公共预算收入增长3.1%", "3.1%", GOV_2026, "2025", "result"),
    ("全年共收到行政复议申请52件，受理47件", "47件", REVIEW_2017, "2017", "result"),
    # ranges and named periods kept as one
    ("2021-2025年累计培训执法人员2万人次", "2万人次", ANNUAL_2023, "2021-2025", "result"),
    ("“十四五”期间累计新增就业50万人", "50万人", ANNUAL_2023, "2021-2025", "result"),
    ("2021至2025年，力争新增就业30万人", "30万人", ANNUAL_2023, "2021-2025", "target"),
    # targets
    ("全年12345热线办结率保持在99%以上，群众满意率不低于95%", "99%", PLAN_2023, "2023", "target"),
    ("全年12345热线办结率保持在99%以上，群众满意率不低于95%", "95%", PLAN_2023, "2023", "target"),
    ("确保接诉响应率实现100%力争群众满意率达到100%", "100%", PLAN_2023, "2023", "target"),
    ("全年学法不少于10次", "10次", PLAN_2023, "2023", "target"),
    ("到2025年，行政复议纠错率力争控制在10%以内", "10%", ANNUAL_2023, "2025", "target"),
    ("预期增长6%左右", "6%", GOV_2026, "2026", "target"),
    ("今年城镇调查失业率控制在5.5%以内", "5.5%", GOV_2026, "2026", "target"),
    # a limit word after a past time written: what that year achieved, not a goal
    ("过去一年，城镇调查失业率控制在5.5%以内", "5.5%", GOV_2026, "2025", "result"),
    ("2022年，全市行政复议纠错率控制在8%以内，群众满意率不低于95%", "95%", ANNUAL_2023, "2022", "result"),
    ("2022年，全市行政复议纠错率控制在8%以内", "8%", Report(2023, "政府工作报告"), "2022", "result"),
    ("去年全年学法不少于10次", "10次", PLAN_2023, "2022", "result"),
    ("2022年，力争纠错率控制在8%以内", "8%", ANNUAL_2023, "2022", "target"),  # a goal word stays a goal
    # plans: a plan's figures without a goal word, a forward-looking section
    ("推动县级政务服务事项全程网办率达到85%", "85%", PLAN_2023, "2023", "plan"),
    ("组织执法人员培训8期", "8期", PLAN_2023, "2023", "plan"),
    ("2024年，计划开展普法活动300场", "300场", ANNUAL_2023, "2024", "plan"),
    # 左右 and 以上 in a review are achieved values, not goals
    ("全年受理群众来电3万件左右，办结率保持在99%以上", "99%", ANNUAL_2023, "2023", "result"),
    # spans counted from the report: the last n years end at the year it covers, the next n start at the first it
    # plans for, "YYYY年以来" runs to the covered year
    ("过去五年，地区生产总值年均增长6.8%", "6.8%", GOV_2026, "2021-2025", "result"),
    ("五年来，累计新增就业30万人", "30万人", GOV_2026, "2021-2025", "result"),
    ("近三年累计办理行政复议案件1200件", "1200件", ANNUAL_2023, "2021-2023", "result"),
    ("2019年以来累计培训执法人员2万人次", "2万人次", ANNUAL_2023, "2019-2023", "result"),
    ("今后五年，地区生产总值年均增长6%左右", "6%", GOV_2026, "2026-2030", "target"),
    ("未来三年，力争办结率达到99%", "99%", ANNUAL_2023, "2024-2026", "target"),
    ("近年来，全市受理案件36件", "36件", ANNUAL_2023, "2023", "result"),  # no number of years: none made up
    ("2022年来访群众3000人次", "3000人次", GOV_2026, "2022", "result"),  # 来访, not 以来
    # 分别: the nth figure after it is of the nth time listed before it
    ("2022年、2023年收案数分别为120件、135件", "120件", ANNUAL_2023, "2022", "result"),
    ("2022年、2023年收案数分别为120件、135件", "135件", ANNUAL_2023, "2023", "result"),
    ("2021年、2022年和2023年分别办结30件、40件、50件", "40件", ANNUAL_2023, "2022", "result"),
    ("上年和今年分别受理45件、52件", "45件", ANNUAL_2023, "2022", "result"),
    ("2022年收案数分别为120件、135件", "135件", ANNUAL_2023, "2022", "result"),  # one time: each figure's
    ("2022年、2023年收案数120件、135件", "120件", ANNUAL_2023, "2022", "result"),  # no 分别, the same list
    # one figure after years that follow one another: of them all (a total), never of the last alone
    ("2021年、2022年收到36件", "36件", ANNUAL_2023, "2021-2022", "result"),
    ("全县2021年、2022年共收到信访件120件", "120件", ANNUAL_2023, "2021-2022", "result"),
    ("2021年、2022年和2023年累计办结118件", "118件", ANNUAL_2023, "2021-2023", "result"),
    ("上年和今年共受理97件", "97件", ANNUAL_2023, "2022-2023", "result"),
    ("2021年收到36件、2022年收到45件", "36件", ANNUAL_2023, "2021", "result"),  # each after its own time
    # years in Chinese numerals
    ("二〇二二年受理行政复议案件36件", "36件", ANNUAL_2023, "2022", "result"),
    ("二〇二一年至二〇二二年累计受理80件", "80件", ANNUAL_2023, "2021-2022", "result"),
    # traditional characters: the same words
    ("到2025年，行政復議糾錯率力爭控制在10%以內", "10%", ANNUAL_2023, "2025", "target"),
    ("確保接訴響應率實現100%", "100%", PLAN_2023, "2023", "target"),
    ("今年發展主要預期目標是：地區生產總值增長5%左右", "5%", GOV_2026, "2026", "target"),
])
def test_period_and_kind(sentence, text, report, period, kind):
    placed = place(sentence, text, report)
    assert (placed.label, placed.kind) == (period, kind)


@pytest.mark.parametrize("section, report, period, kind", [
    ("三、2024年工作打算", ANNUAL_2023, "2024", "plan"),
    ("二、2023年主要工作", ANNUAL_2023, "2023", "result"),
    ("四、下一步工作安排", ANNUAL_2023, "2024", "plan"),  # a 2023 report's next steps: the year after it
    ("二、2025年工作安排 > （一）2025年经济社会发展主要预期目标", Report(2025, "政府工作报告"), "2025", "target"),
    ("一、2024年工作回顾", Report(2025, "政府工作报告"), "2024", "result"),
    ("四、下一步工作計劃", ANNUAL_2023, "2024", "plan"),  # traditional
    ("三、重点工作", Report(2024, "政府工作报告"), "2024", "plan"),  # a review's 重点工作: the year ahead
    ("三、重点工作", ANNUAL_2023, "2023", "result"),  # an annual report's: the year reported on
    ("七、下一步工作打算", Report(2022, "年度报告", covers=2022), "2023", "plan"),
    ("四、下一步工作安排", PLAN_2023, "2023", "plan"),  # a plan's own year
    ("三、2023年工作打算", GOV_2026, "2023", "result"),  # a year written is never moved
    ("二、2023年重点工作推进情况", Report(2024, "政府工作报告"), "2023", "result"),
    ("二、2025年工作安排 > （一）2025年經濟社會發展主要預期目標", Report(2025, "政府工作报告"), "2025", "target"),
])
def test_the_section_heading_places_a_sentence_without_a_year(section, report, period, kind):
    placed = place("开展普法活动300场", "300场", report, section)
    assert (placed.label, placed.kind) == (period, kind)


@pytest.mark.parametrize("section, report, period, kind", [
    ("一、2024年工作回顾", Report(2025, "政府工作报告"), "2024", "result"),
    ("二、2025年工作安排", Report(2025, "政府工作报告"), "2025", "target"),
    ("", Report(2025, "政府工作报告"), "2025", "target"),  # no time written: a limit is a goal
    ("", ANNUAL_2023, "2023", "target"),
])
def test_a_limit_word_under_a_heading(section, report, period, kind):
    placed = place("城镇登记失业率控制在4%以内", "4%", report, section)
    assert (placed.label, placed.kind) == (period, kind)


@pytest.mark.parametrize("report, covered", [
    (Report(2026, "政府工作报告"), 2025), (Report(2026, "政府工作报告", covers=2025), 2025),
    (Report(2023, "年度报告"), 2023), (Report(2023, "工作安排"), 2023), (Report(2023, "年度报告", covers=2022), 2022),
    (Report(None, "年度报告"), None),
])
def test_covered_year(report, covered):
    assert covered_year(report) == covered


@pytest.mark.parametrize("text, anchor, expected", [
    ("2022年", 2023, [(2022, 2022)]), ("前年和去年", 2023, [(2021, 2021), (2022, 2022)]),
    ("2021-2025年", None, [(2021, 2025)]), ("2025—2021年", None, []),  # backwards: not a period
    ("八十年代", 2023, []), ("去年", None, []), ("今年", 2026, [(2026, 2026)]),
])
def test_mentions(text, anchor, expected):
    assert [(a, b) for _, a, b in mentions(text, anchor)] == expected


def test_place_survives_odd_input():
    assert place("", "", Report(None)).kind == "result"
    assert place("受理12件", "不在句中", ANNUAL_2023).label == "2023"


def test_random_sentences_never_break_the_rules():
    rng = random.Random(20261201)
    alphabet = "0123456789２０年-—至去今上过一年目标力争不低于左右以上《》〔〕：:，,；。较比与十四五受理件%"
    reports = [GOV_2026, PLAN_2023, ANNUAL_2023, Report(None), Report(2023, "年度报告", covers=2022)]
    for _ in range(500):
        sentence = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        cut = rng.randint(0, len(sentence))
        placed = place(sentence, sentence[cut:cut + rng.randint(0, 5)], rng.choice(reports), rng.choice(["", sentence]))
        assert placed.kind in ("result", "target", "plan")
        assert placed.start is None or placed.start <= placed.end


@pytest.mark.parametrize("passage, periods, nths", [
    ("全市行政复议案件办结率2021年为100%，2022年为100%。", ["2021", "2022"], [0, 1]),
    ("办结率2021年为100%，2022年为98%，2023年为100%。", ["2021", "2022", "2023"], [0, 0, 1]),
    # a title holding the same text comes first: the figure is its second occurrence, and placed as such
    ("《2021年100%覆盖方案》印发后，2023年覆盖率达到100%。", ["2023"], [1]),
    # the sentence twice in the passage: the occurrence is counted in the one that holds the figure
    ("2021年为100%，2022年为100%。2021年为100%，2022年为100%。", ["2021", "2022", "2021", "2022"], [0, 1, 0, 1]),
])
def test_equal_figures_of_one_sentence_are_each_placed_where_they_stand(passage, periods, nths):
    """"2021年为100%，2022年为100%": the second 100% is 2022's (read at the first occurrence, it was 2021's)."""
    from archive.periods import occurrence
    from indexer.figures import figure_dicts

    figures = figure_dicts(passage)
    assert [occurrence(passage, f) for f in figures] == nths
    placed = [place(f["sentence"], f["text"], ANNUAL_2023, "", occurrence(passage, f)) for f in figures]
    assert [p.label for p in placed] == periods


@pytest.mark.parametrize("passage, periods", [
    # a sentence going on after "；" is of the year its lead names, each clause after it too
    ("2022年全县共收到行政复议申请58件；审结52件，纠错率12.5%。", ["2022", "2022", "2022"]),
    ("2022年收到58件；审结52件；办结率100%。", ["2022", "2022", "2022"]),
    ("2023年上半年受理36件；办结30件。", ["2023年上半年", "2023年上半年"]),
    ("2023年上半年受理36件；全年办结80件。", ["2023年上半年", "2023"]),  # 全年: the whole year
    # its own time first; after "。" a sentence of its own; a baseline, a span or 以来 in the lead are not its year
    ("2022年收到58件；2023年收到66件。", ["2022", "2023"]),
    ("2022年收到58件。审结52件。", ["2022", "2023"]),
    ("受理量较2022年增长10%；审结52件。", ["2023", "2023"]),
    ("2019年以来累计受理500件；审结120件。", ["2019-2023", "2023"]),
    ("2021-2022年共受理500件；审结120件。", ["2021-2022", "2023"]),
    ("由上年的95%提高到98%；审结52件。", ["2022", "2023", "2023"]),
])
def test_a_sentence_after_a_semicolon_keeps_the_year_of_its_lead(passage, periods):
    from archive.periods import lead_in, occurrence
    from indexer.figures import figure_dicts

    figures = figure_dicts(passage)
    placed = [place(f["sentence"], f["text"], ANNUAL_2023, "", occurrence(passage, f), lead_in(passage, f))
              for f in figures]
    assert [p.label for p in placed] == periods


def test_the_lead_is_the_sentence_before_the_semicolon_only():
    from archive.periods import lead_in
    from indexer.figures import figure_dicts

    passage = "一、总体情况\n2021年办结10件。2022年收到58件；审结52件。"
    first, second, third = figure_dicts(passage)
    assert (lead_in(passage, first), lead_in(passage, second)) == ("", "")
    assert lead_in(passage, third) == "2022年收到58件；"
    assert lead_in("别的段落", third) == ""  # a passage without the figure's sentence


@pytest.mark.parametrize("fig", [
    {"sentence": "办结率100%，满意率100%", "text": "100%", "start": 99},  # not in the passage
    {"sentence": "办结率100%，满意率100%", "text": "100%"},  # no start
    {"sentence": "办结率100%", "text": "100%", "start": 3},  # one occurrence
    {"sentence": "", "text": "", "start": 0},
])
def test_occurrence_falls_back_to_the_first(fig):
    from archive.periods import occurrence

    assert occurrence("办结率100%，满意率100%", fig) == 0


@pytest.mark.parametrize("text, part, nth, at", [
    ("100%，100%，100%", "100%", 0, 0), ("100%，100%，100%", "100%", 2, 10), ("100%，100%", "100%", 5, 0),
    ("受理12件", "13件", 1, -1), ("aaaa", "aa", 1, 2),
])
def test_find_nth(text, part, nth, at):
    from archive.periods import find_nth

    assert find_nth(text, part, nth) == at
