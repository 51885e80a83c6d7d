"""What a figure measures: label (+ sentence) -> catalogue measure, and unit normalisation."""

from __future__ import annotations

import json
import random

import pytest

from archive.measures import CATALOGUE, catalogue, convert, describe, family_of, measure_of
from indexer.figures import extract_figures


def measure(sentence: str, value: float) -> str | None:
    """The measure id of the figure with `value` in `sentence`, through the real extractor."""
    (fig,) = [f for f in extract_figures(sentence) if f.value == pytest.approx(value)]
    return describe(fig.to_dict())["measure"]


@pytest.mark.parametrize("sentence, value, expected", [
    # one measure under many wordings
    ("加强行政复议规范化建设，2023年办理复议案件318件", 318, "admin_review.handled"),
    ("全市地区生产总值增长6.2%，达到3210.5亿元", 3210.5, "economy.gdp"),  # the level after the change
    ("人均地区生产总值8.5万元，增长5.1%", 8.5, None),  # per head is not the economy's size
    ("人均地区生产总值8.5万元，增长5.1%", 5.1, None),
    # a bare change borrows its subject only where the measure is a change itself
    ("全年办理行政复议案件52件，较上年下降12件", 12, None),
    ("行政复议案件办结率98%，同比提高2%", 2, None),
    ("一般公共预算收入156亿元，增长9.3%", 9.3, "finance.budget_revenue_growth"),
    # 受理行政复议案件 counts what was accepted (not every case handled); 不予受理 is none of it
    ("全年共受理行政复议案件156件，其中不予受理12件", 156, "admin_review.accepted"),
    ("全年共受理行政复议案件156件，其中不予受理12件", 12, None),
    ("办理行政复议案件77件", 77, "admin_review.handled"),
    # what was done with the cases names the measure; the cases alone (an object) only where nothing else does
    # the heads' appearances counted in cases or in times: two measures, never one series
    ("行政机关负责人出庭应诉41人次", 41, "litigation.head_appearance_times"),
    ("行政机关负责人出庭应诉52次", 52, "litigation.head_appearance_times"),
    ("行政机关负责人出庭应诉79件", 79, "litigation.head_appearances"),
    ("全年审结行政复议案件52件", 52, "admin_review.closed"),
    ("共收到行政复议案件60件", 60, "admin_review.received"),
    ("依法纠正行政复议案件8件", 8, "admin_review.corrected"),
    ("全年行政复议案件61件", 61, "admin_review.handled"),
    ("成功调解矛盾纠纷1200件", 1200, "mediation.succeeded"),
    ("排查化解矛盾纠纷1500件", 1500, "mediation.disputes"),
    ("查处行政处罚案件320件，其中不予处罚案件15件", 15, None),
    # 城镇 and 农村 incomes are not all residents' (居民人均可支配收入)
    ("城镇居民人均可支配收入4.85万元，增长5.3%", 4.85, "income.urban_per_capita"),
    ("城镇居民人均可支配收入4.85万元，增长5.3%", 5.3, "income.urban_per_capita_growth"),
    ("农村常住居民人均可支配收入2.1万元", 2.1, "income.rural_per_capita"),
    ("农民收入增长7.5%", 7.5, "income.rural_per_capita_growth"),
    ("全体居民人均可支配收入3.2万元", 3.2, "income.per_capita"),
    ("规模以上工业增加值、固定资产投资分别增长8.1%、6.5%", 8.1, "industry.value_added_growth"),
    ("规模以上工业增加值、固定资产投资分别增长8.1%、6.5%", 6.5, "investment.fixed_asset_growth"),
    ("主动公开政府信息1 234条", 1234, "disclosure.proactive"),
    ("市行政复议办公室全年办理行政复议案件275件", 275, "admin_review.handled"),
    ("行政復議機構辦理行政復議案件66件", 66, "admin_review.handled"),  # traditional characters
    # received / accepted / closed are three measures; a bare 受理 takes the sentence's topic
    ("全年共收到行政复议申请52件，受理47件，办结40件", 52, "admin_review.received"),
    ("全年共收到行政复议申请52件，受理47件，办结40件", 47, "admin_review.accepted"),
    ("全年共收到行政复议申请52件，受理47件，办结40件", 40, "admin_review.closed"),
    ("行政复议纠错率8.2%，调解和解率31.5%", 8.2, "admin_review.correction_rate"),
    ("行政复议纠错率8.2%，调解和解率31.5%", 31.5, "admin_review.settlement_rate"),
    # cases closed by mediation or settlement are a part of those closed, not the number closed
    ("全年受理行政复议案件1371件，审结1660件，调解和解结案176件", 1660, "admin_review.closed"),
    ("全年受理行政复议案件1371件，审结1660件，调解和解结案176件", 176, "admin_review.settled"),
    ("行政复议案件通过调解和解方式办结23件", 23, "admin_review.settled"),
    # 12345: volumes and rates
    ("12345政务服务便民热线受理群众诉求6.1万件，办结率98.2%，满意率93.4%", 6.1, "hotline.received"),
    ("12345政务服务便民热线受理群众诉求6.1万件，办结率98.2%，满意率93.4%", 98.2, "hotline.closing_rate"),
    ("12345政务服务便民热线受理群众诉求6.1万件，办结率98.2%，满意率93.4%", 93.4, "hotline.satisfaction_rate"),
    ("12345热线共受理市民来电88.6万件", 88.6, "hotline.received"),
    # 办结 after 人大代表建议 is not a hotline figure, though 12345 follows in the sentence
    ("认真办理人大代表建议和政协提案，目前共办结37件，依托12345热线回应关切", 37, "suggestion.handled"),
    ("共办理市人大代表建议188件、政协委员提案164件", 188, "suggestion.npc"),
    ("共办理市人大代表建议188件、政协委员提案164件", 164, "suggestion.cppcc"),
    # litigation and norms
    ("行政机关负责人出庭应诉率达到96.1%", 96.1, "litigation.head_appearance_rate"),
    ("全年发生行政诉讼一审案件143件，败诉率7.7%", 143, "litigation.first_instance"),
    ("全年发生行政诉讼一审案件143件，败诉率7.7%", 7.7, "litigation.loss_rate"),
    # a total over subjects of two topics is neither's; judgments and rulings are no count of first-instance cases
    ("全年办理行政复议、行政应诉案件86件", 86, None),
    ("一审、二审判决、裁定85件，胜诉84件", 85, None),
    ("全年行政复议案件中，通过调解、和解方式结案31件", 31, "admin_review.settled"),
    # cases lost, and the heads' appearances, are neither the count of cases nor of one another
    ("发生行政诉讼案件971件，一审败诉30件", 971, "litigation.first_instance"),
    ("发生行政诉讼案件971件，一审败诉30件", 30, "litigation.lost"),
    ("行政诉讼案件败诉4件，胜诉案件30件", 4, "litigation.lost"),
    ("行政诉讼案件败诉4件，胜诉案件30件", 30, None),  # no measure of cases won: none made up
    ("全县办理行政应诉案件86件，行政机关负责人出庭应诉79件", 86, "litigation.first_instance"),
    ("全县办理行政应诉案件86件，行政机关负责人出庭应诉79件", 79, "litigation.head_appearances"),
    ("完成行政规范性文件备案审查39件", 39, "norms.filing_review"),
    ("对规范性文件进行合法性审核126件", 126, "norms.legality_review"),
    ("主动公开政府信息1.3万条，办理依申请公开212件", 1.3, "disclosure.proactive"),
    ("主动公开政府信息1.3万条，办理依申请公开212件", 212, "disclosure.on_request"),
    # economy: one wording, two measures told apart by the unit
    ("全市地区生产总值达到3650亿元，增长5.4%", 3650, "economy.gdp"),
    ("全市地区生产总值增长5.4%", 5.4, "economy.gdp_growth"),
    ("一般公共预算收入增长3.1%", 3.1, "finance.budget_revenue_growth"),
    ("城镇新增就业4.2万人", 4.2, "jobs.urban_new"),
    ("居民人均可支配收入增长5.6%", 5.6, "income.per_capita_growth"),
    ("全省粮食总产量达到718.5亿斤", 718.5, "agriculture.grain_output"),
    ("粮食产量稳定在260万吨以上", 260, "agriculture.grain_output"),
    ("规模以上工业增加值增长6.8%", 6.8, "industry.value_added_growth"),
    ("固定资产投资增长4.5%", 4.5, "investment.fixed_asset_growth"),
    ("单位地区生产总值能耗下降3%", 3, "economy.energy_intensity"),  # the longer wording wins
    # a label that only says "增长" measures the wording before it in its sentence
    ("全市地区生产总值完成1836亿元，增长5.1%", 5.1, "economy.gdp_growth"),
    ("一般公共预算收入完成142.6亿元，增长3.6%", 3.6, "finance.budget_revenue_growth"),
    ("全市粮食总产量12.9亿斤，增长4.9%", 4.9, None),  # grain growth is no measure of the catalogue
    # no measure fits
    ("印发《市民服务要情》2期", 2, None),
    ("全市律师事务所增至58家", 58, None),
    ("全年办理行政处罚案件862件", 862, "enforcement.penalty_cases"),
    ("组织执法人员培训8期", 8, None),
])
def test_measure_mapping(sentence, value, expected):
    assert measure(sentence, value) == expected


@pytest.mark.parametrize("value, unit, to_unit, expected", [
    (17.92, "万件", "件", 179200), (406, "件", "件", 406), (718.5, "亿斤", "万吨", 3592.5),
    (1200, "万吨", "万吨", 1200),    (5000, "斤", "吨", 2.5), (3.6, "亿元", "万元", 36000), (4.2, "万人", "人", 42000),
    (5, "%", "件", None), (5, "个百分点", "%", None), (None, "件", "件", None), (3, "年", "件", None),
])
def test_unit_conversion(value, unit, to_unit, expected):
    assert convert(value, unit, to_unit) == (pytest.approx(expected) if expected is not None else None)


def test_normalised_value_keeps_the_original():
    (fig,) = extract_figures("全省粮食总产量达到718.5亿斤")
    d = describe(fig.to_dict())
    assert (d["measure_value"], d["measure_unit"]) == (pytest.approx(3592.5), "万吨")
    assert (fig.value, fig.unit) == (718.5, "亿斤")


@pytest.mark.parametrize("unit, family", [("万件", "件数"), ("%", "比率"), ("亿斤", "重量"), ("个百分点", "百分点"),
                                          ("年", None)])
def test_family_of(unit, family):
    assert family_of(unit) == family


def test_the_catalogue_is_data_and_consistent():
    raw = json.loads(CATALOGUE.read_text(encoding="utf-8"))
    cat = catalogue()
    assert len(cat.measures) >= 40 and len({m.id for m in cat.measures}) == len(cat.measures)
    for m in cat.measures:
        assert m.family in cat.families and m.unit in cat.families[m.family], m.id
        assert m.topic is None or m.topic in cat.topics, m.id
        assert m.wordings and m.name and not set(m.objects) & set(m.wordings)
    assert len(raw["measures"]) == len(cat.measures)


def test_measure_of_without_a_label_or_unit():
    assert measure_of("", "件") is None and measure_of("受理", "") is None


def test_random_labels_never_break_the_mapping():
    rng = random.Random(20261201)
    alphabet = "行政复议受理办结12345热线率增长地区生产总值粮食产量人大代表建议，、。件万%亿斤元"
    units = ["件", "万件", "%", "亿斤", "万吨", "元", "个", "年", ""]
    for _ in range(500):
        label = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        sentence = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) + label
        d = describe({"label": label, "unit": rng.choice(units), "sentence": sentence, "text": "", "value": 1.0})
        assert (d["measure"] is None) == (d["measure_unit"] is None)


def test_a_comparison_sentence_gives_each_year_its_figure_and_measure():
    """"由2021年的12.3%下降到2022年的8.5%", "2021年为100%，2022年为100%": as the figures API serves them, each figure
    has the measure of the sentence and the year it stands after."""
    from archive.models import Chunk, Document
    from indexer.pipeline import figures_of
    from search_app.figures import figure_row

    text = "全市行政诉讼案件败诉率由2021年的12.3%下降到2022年的8.5%。行政复议案件办结率2021年为100%，2022年为100%。"
    doc = Document(doc_id="d", title="某市2022年法治政府建设年度报告", region="某市", year=2022, doc_type="年度报告",
                   covers=2022)
    chunk = Chunk("d-0000", "d", 0, "", text, figures_of(text))
    got = [(r["measure"], r["period"], r["value"]) for r in (figure_row(doc, chunk, f) for f in chunk.figures)]
    assert got == [("litigation.loss_rate", "2021", 12.3), ("litigation.loss_rate", "2022", 8.5),
                   ("admin_review.closing_rate", "2021", 100.0), ("admin_review.closing_rate", "2022", 100.0)]


def test_a_clause_after_a_semicolon_is_measured_in_the_year_its_sentence_opened_with():
    """"2022年…收到行政复议申请58件；审结52件": the 52 cases closed are 2022's (not the report's year's) and
    行政复议 cases, as its lead says."""
    from archive.models import Chunk, Document
    from indexer.pipeline import figures_of
    from search_app.figures import figure_row

    text = ("2022年全县共收到行政复议申请58件；审结行政复议案件52件。"
            "2023年全县收到行政复议申请66件；审结61件，其中调解和解结案9件。")
    doc = Document(doc_id="d", title="某县2023年法治政府建设年度报告", region="某县", year=2023, doc_type="年度报告",
                   covers=2023)
    chunk = Chunk("d-0000", "d", 0, "", text, figures_of(text))
    got = [(r["measure"], r["period"], r["value"]) for r in (figure_row(doc, chunk, f) for f in chunk.figures)]
    assert got == [("admin_review.received", "2022", 58), ("admin_review.closed", "2022", 52),
                   ("admin_review.received", "2023", 66), ("admin_review.closed", "2023", 61),  # 行政复议's, from
                   ("admin_review.settled", "2023", 9)]  # the lead
    # a sentence of its own names no topic it does not write
    apart = "2023年全县收到行政复议申请66件。审结61件。"
    alone = Chunk("d-0001", "d", 1, "", apart, figures_of(apart))
    assert [figure_row(doc, alone, f)["measure"] for f in alone.figures] == ["admin_review.received", None]


def test_a_part_after_qizhong_is_not_the_measure_of_its_whole():
    """"收到政府信息公开申请120件，其中当面申请3件、网络申请100件": the parts are not applications received (one
    report, one value of that measure); "收到行政复议申请52件，其中受理47件" keeps 受理, a measure of its own."""
    from archive.models import Chunk, Document
    from indexer.pipeline import figures_of
    from search_app.figures import figure_row

    text = ("全县共收到政府信息公开申请120件，其中当面申请3件、网络申请100件，办结率100%。"
            "全年共收到行政复议申请52件，其中受理47件。")
    doc = Document(doc_id="d", title="某县2023年政府信息公开工作年度报告", region="某县", year=2023,
                   doc_type="政府信息公开工作年度报告", covers=2023)
    chunk = Chunk("d-0000", "d", 0, "", text, figures_of(text))
    got = [(r["value"], r["measure"]) for r in (figure_row(doc, chunk, f) for f in chunk.figures)]
    assert got == [(120, "disclosure.on_request"), (3, None), (100, None), (100, None),
                   (52, "admin_review.received"), (47, "admin_review.accepted")]
    assert describe(chunk.figures[1])["measure"] == "disclosure.on_request"  # alone, without its whole: the label's


@pytest.mark.parametrize("region, expected", [
    # 广元市's report: its own figures, and those it quotes of 旺苍县 (and of 太原市), which are not its own
    ("广元市", [(312, "admin_review.received"), (45, None), (298, "admin_review.accepted"), (12, None)]),
    # 旺苍县's report quoting the same sentences: the city's figures are not the county's
    ("旺苍县", [(312, "admin_review.received"), (45, "admin_review.received"), (298, None), (12, None)]),
    # a township's report: its county's and city's figures are not its own
    ("东河镇", [(312, "admin_review.received"), (45, None), (298, None), (12, None)]),
    # a report whose region is unknown: nothing to tell them apart by
    (None, [(312, "admin_review.received"), (45, "admin_review.received"), (298, "admin_review.accepted"),
            (12, "admin_review.accepted")]),
])
def test_a_figure_of_another_government_is_no_value_of_the_reports_measures(region, expected):
    from archive.models import Chunk, Document
    from indexer.pipeline import figures_of
    from search_app.figures import figure_row

    text = ("全年共收到行政复议申请312件。旺苍县收到行政复议申请45件。广元市受理行政复议案件298件。"
            "太原市受理行政复议案件12件。")
    doc = Document(doc_id="d", title="2023年法治政府建设年度报告", region=region, year=2023, doc_type="年度报告",
                   covers=2023)
    chunk = Chunk("d-0000", "d", 0, "", text, figures_of(text))
    assert [(r["value"], r["measure"]) for r in (figure_row(doc, chunk, f) for f in chunk.figures)] == expected


def test_a_zone_naming_itself_under_its_city_keeps_its_figures():
    from archive.models import Chunk, Document
    from indexer.pipeline import figures_of
    from search_app.figures import figure_row

    text = "安康市恒口示范区受理行政复议案件21件。"
    doc = Document(doc_id="d", title="恒口示范区2023年法治政府建设年度报告", region="恒口示范区", year=2023,
                   doc_type="年度报告", covers=2023, region_level="zone", province="陕西省", city="安康市")
    chunk = Chunk("d-0000", "d", 0, "", text, figures_of(text))
    assert [(r["value"], r["measure"]) for r in (figure_row(doc, chunk, f) for f in chunk.figures)] == [
        (21, "admin_review.accepted")]
