import re
from pathlib import Path

import pytest

from indexer.chunking import Passage, chunk_text, detect_heading, is_numbered_sentence, repair_headings
from tests.conftest import require

SEEDS = Path(__file__).parents[2].parent / "shared" / "seeds"
DIGIT = re.compile(r"[0-9０-９]")


def assert_exact_cover(body: str, passages: list[Passage]) -> None:
    """Each passage is a stripped slice of body, in order, and only whitespace is left between them."""
    pos = 0
    for p in passages:
        assert p.text and p.text == p.text.strip()
        assert body[p.start : p.start + len(p.text)] == p.text
        assert p.start >= pos, "passages overlap or are out of order"
        assert body[pos : p.start].strip() == "", f"lost text before offset {p.start}"
        pos = p.start + len(p.text)
    assert body[pos:].strip() == ""


def assert_no_split_number(passages: list[Passage]) -> None:
    for left, right in zip(passages, passages[1:], strict=False):
        split_number = DIGIT.match(left.text[-1]) and re.match(r"[0-9０-９.．%％]", right.text[0])
        assert not split_number, (left.text[-10:], right.text[:10])


# ---------------------------------------------------------------- heading detection

@pytest.mark.parametrize("line, expected", [
    # level 1
    ("一、总体要求", (1, "一、总体要求")),
    ("    二、主要做法。全年共召开会议3次。", (1, "二、主要做法")),
    ("十二、其他事项", (1, "十二、其他事项")),
    ("第一，坚持统筹谋划。各部门要…", (1, "第一，坚持统筹谋划")),
    ("第二部分 工作成效", (1, "第二部分 工作成效")),
    ("一是强化组织保障。成立工作专班，一是定期调度，二是按月通报。", (1, "一是强化组织保障")),
    # level 2, full-width, half-width and with the opening bracket lost
    ("（一）深化改革，优化服务。具体措施如下", (2, "（一）深化改革，优化服务")),
    ("(三)加强监督", (2, "(三)加强监督")),
    ("（十五）健全机制：建立台账", (2, "（十五）健全机制")),
    ("十一)加大执法力度。聚焦重点领域", (2, "十一)加大执法力度")),
    ("一)健全工作机制", (2, "一)健全工作机制")),
    (")规范文件管理。全面落实", (2, ")规范文件管理")),
    # level 3
    ("1.完善制度建设", (3, "1.完善制度建设")),
    ("2、规范执法程序；落实三项制度", (3, "2、规范执法程序")),
    ("１．强化业务培训", (3, "１．强化业务培训")),
    ("1．加强队伍建设", (3, "1．加强队伍建设")),
    ("（1）建立工作台账", (3, "（1）建立工作台账")),
    ("(2)开展专项检查：覆盖全部乡镇", (3, "(2)开展专项检查")),
    ("10. 推进数字政府", (3, "10. 推进数字政府")),
    # heading and body on one line without a sentence end: cut at 40 characters
    ("三、" + "甲" * 60, (1, "三、" + "甲" * 38)),
    # a 40-character cut that lands after a comma drops the comma
    ("四、" + "乙" * 37 + "，丙丙丙", (1, "四、" + "乙" * 37)),
    # numbers in running text are not headings
    ("2023年，全市法治政府建设稳步推进。", None),
    ("1065件行政复议案件全部办结。", None),
    ("2018年3月6日", None),
    ("99.77%的案件在期限内办结", None),
    ("3.5亿元用于基础设施建设", None),
    ("1.5倍于上年", None),
    ("12345热线全年受理诉求", None),
    ("二〇二三年工作总结", None),
    ("十分重视法治宣传", None),
    ("（2021—2025年）实施方案", None),
    # markers that are not at the start of the line
    ("全年办理一审、二审案件，一、二级响应均已解除", None),
    ("本市围绕一是、二是两项任务开展工作", None),
    ("其中（一）类事项已完成", None),
    # a table's row, cells apart by tabs, is no heading; a tab after the marker alone is Word's list spacing
    ("一、本年新收政府信息公开申请数量\t120", None),
    ("（一）\t予以公开\t58", None),
    ("三、本年度办理结果\t（一）予以公开\t58", None),
    ("一、\t总体情况", (1, "一、\t总体情况")),
    # a bare marker with nothing after it
    ("一、", None),
    ("（二）", None),
    ("", None),
    ("   ", None),
])
def test_detect_heading(line, expected):
    assert detect_heading(line) == expected


# ---------------------------------------------------------------- section paths

OUTLINED_REPORT = """某市2099年法治政府建设情况报告

　　2099年，本市持续推进依法行政，各项工作取得新进展。

一、加强组织领导
（一）压实主体责任。市政府召开常务会议4次，研究法治事项12项。
1.完善制度。制定配套办法3项。
2.强化考核。考核结果运用率100%。
（二）健全推进机制
本段属于健全推进机制一节的正文。
二、深化放管服改革
十一)优化营商环境。办理行政许可1065件。
十二)推进一网通办。网上办理率99.5%。
三、存在问题和下一步打算
一是统筹不够有力。下一步将加强统筹。
二是保障不够充分。下一步将强化保障。
"""

ENUMERATED_REPORT = """2099年，本区各项工作有序推进。

一是加强组织领导。主要做法：一是召开专题会议，二是印发工作方案。
二是规范行政执法。全年办理案件12件，办结率100%。
"""

LEVEL_TWO_FIRST = """（一）第一项工作
1.细项甲。内容。
一是补充说明。内容。
（二）第二项工作
内容。
"""


@pytest.mark.parametrize("body, expected", [
    (OUTLINED_REPORT, [
        ("", "某市2099年"),
        # a heading with no body of its own opens the first passage of the heading under it
        ("一、加强组织领导 > （一）压实主体责任", "一、加强组织领导\n（一）压实主体责任。"),
        ("一、加强组织领导 > （一）压实主体责任 > 1.完善制度", "1.完善制度。"),
        ("一、加强组织领导 > （一）压实主体责任 > 2.强化考核", "2.强化考核。"),
        # a heading-only line joins its body
        ("一、加强组织领导 > （二）健全推进机制", "（二）健全推进机制\n本段"),
        ("二、深化放管服改革 > 十一)优化营商环境", "二、深化放管服改革\n十一)优化营商环境。"),
        ("二、深化放管服改革 > 十二)推进一网通办", "十二)推进一网通办。"),
        # 一是 inside a 一、 outline numbers paragraphs; it does not open sections
        ("三、存在问题和下一步打算", "三、存在问题和下一步打算\n一是"),
    ]),
    (ENUMERATED_REPORT, [
        ("", "2099年"),
        ("一是加强组织领导", "一是加强组织领导。"),
        ("二是规范行政执法", "二是规范行政执法。"),
    ]),
    (LEVEL_TWO_FIRST, [
        ("（一）第一项工作 > 1.细项甲", "（一）第一项工作\n1.细项甲。内容。\n一是补充说明"),
        ("（二）第二项工作", "（二）第二项工作"),
    ]),
])
def test_section_paths(body, expected):
    passages = chunk_text(body, max_chars=500)
    assert len(passages) == len(expected)
    got = [(p.section, p.text[: len(prefix)]) for p, (_, prefix) in zip(passages, expected, strict=True)]
    assert got == expected
    assert_exact_cover(body, passages)


def test_heading_and_body_on_one_line_belong_to_the_heading():
    body = "（一）坚持高位推进，认真落实责任。一是强化组织领导。二是强化统筹推进。"
    (passage,) = chunk_text(body)
    assert passage.section == "（一）坚持高位推进，认真落实责任"
    assert passage.text == body


# ---------------------------------------------------------------- long paragraphs

NUMBERS_PARAGRAPH = (
    "全年受理群众诉求17.92万件，办结率99.77%。"
    "地区生产总值预期增长6.5%-7%；新增市场主体1065户。"
    "行政复议纠错率3.2%，同比下降0.8个百分点！"
    "规划期为2021—2025年，共有12345热线坐席120个？"
) * 6


@pytest.mark.parametrize("max_chars", [40, 60, 100, 200])
def test_long_paragraph_splits_at_sentence_ends(max_chars):
    passages = chunk_text(NUMBERS_PARAGRAPH, max_chars=max_chars)
    assert len(passages) > 1
    assert all(len(p.text) <= max_chars for p in passages)
    assert all(p.text[-1] in "。；！？" for p in passages)
    assert_no_split_number(passages)
    assert_exact_cover(NUMBERS_PARAGRAPH, passages)
    for number in ("17.92万件", "99.77%", "6.5%-7%", "2021—2025年", "12345热线"):
        assert sum(p.text.count(number) for p in passages) == NUMBERS_PARAGRAPH.count(number)


def test_inline_enumerations_are_split_points():
    body = "主要做法：一是" + "加强培训" * 8 + "，二是" + "完善制度" * 8 + "，三是" + "强化考核" * 8 + "。"
    passages = chunk_text(body, max_chars=60)
    assert [p.text[:2] for p in passages] == ["主要", "二是", "三是"]
    assert_exact_cover(body, passages)


@pytest.mark.parametrize("body, max_chars, expected_texts", [
    # one sentence longer than max_chars: cut at commas
    ("甲" * 20 + "，" + "乙" * 20 + "，" + "丙" * 20 + "。", 45,
     ["甲" * 20 + "，" + "乙" * 20 + "，", "丙" * 20 + "。"]),
    # no comma: cut at 、
    ("甲" * 20 + "、" + "乙" * 20 + "。", 30, ["甲" * 20 + "、", "乙" * 20 + "。"]),
    # no punctuation at all: cut at max_chars
    ("字" * 25, 10, ["字" * 10, "字" * 10, "字" * 5]),
    # never beside a number: the cut moves back before 17.92万
    ("甲" * 8 + "17.92万件" + "乙" * 8, 12, ["甲" * 8, "17.92万件" + "乙" * 5, "乙" * 3]),
    # a digit run longer than max_chars is kept whole, with the character after it (its unit)
    ("编号" + "1234567890" * 3 + "件结束了", 12, ["编号", "1234567890" * 3 + "件", "结束了"]),
    # a comma inside a number is not a clause break
    ("总额1,234,567元" + "甲" * 10 + "，" + "乙" * 5, 18,
     ["总额1,234,567元" + "甲" * 6, "甲" * 4 + "，" + "乙" * 5]),
    ("总额3，256元" + "甲" * 10 + "，" + "乙" * 5, 15, ["总额3，256元" + "甲" * 7, "甲" * 3 + "，" + "乙" * 5]),
    ("甲" * 10 + "3，25元" + "乙" * 5, 15, ["甲" * 10 + "3，", "25元" + "乙" * 5]),  # not three digits: a break
])
def test_hard_split(body, max_chars, expected_texts):
    passages = chunk_text(body, max_chars=max_chars, min_chars=0)
    assert [p.text for p in passages] == expected_texts
    assert_exact_cover(body, passages)


def test_packs_paragraphs_within_max_chars():
    paragraphs = [f"第{i}段内容，办理案件{i}件。" for i in range(1, 40)]
    body = "\n\n".join(paragraphs)
    passages = chunk_text(body, max_chars=100)
    assert all(len(p.text) <= 100 for p in passages)
    assert all(p.text.count("段内容") >= 2 for p in passages)  # paragraphs are packed, not one each
    assert_exact_cover(body, passages)


def test_short_tail_takes_units_from_the_previous_passage():
    body = "甲" * 30 + "。" + "乙" * 30 + "。" + "丁" * 10 + "。"
    # greedy packing alone would give 62 + 11
    assert [len(p.text) for p in chunk_text(body, max_chars=70, min_chars=0)] == [62, 11]
    passages = chunk_text(body, max_chars=70, min_chars=20)
    assert [len(p.text) for p in passages] == [31, 31 + 11]
    assert_exact_cover(body, passages)


# ---------------------------------------------------------------- invariants

INVARIANT_BODIES = [
    "",
    "   \n\n\t  ",
    "一行",
    "  前后有空白  \n",
    "第一行\r\n第二行\r\n\r\n一、标题\r\n正文。\r\n",
    "\u3000\u3000首行缩进。\n\u3000\u3000第二段。",
    OUTLINED_REPORT,
    ENUMERATED_REPORT,
    NUMBERS_PARAGRAPH,
    "\n".join([NUMBERS_PARAGRAPH, OUTLINED_REPORT] * 3),
    "编号" + "9" * 700 + "号",
    "a b c " * 300,
]


@pytest.mark.parametrize("body", INVARIANT_BODIES)
@pytest.mark.parametrize("max_chars", [20, 200, 500])
def test_no_loss_no_duplication(body, max_chars):
    passages = chunk_text(body, max_chars=max_chars)
    assert_exact_cover(body, passages)
    assert_no_split_number(passages)
    if not body.strip():
        assert passages == []


def seed_files() -> list[Path]:
    return sorted(SEEDS.glob("*.txt")) if SEEDS.is_dir() else []


@pytest.mark.parametrize("max_chars", [200, 500, 1000])
def test_seed_reports_keep_every_character(max_chars):
    files = seed_files()
    if not files:
        require(False, f"no seed reports at {SEEDS}")
    for path in files:
        body = path.read_text(encoding="utf-8")
        passages = chunk_text(body, max_chars=max_chars)
        assert_exact_cover(body, passages)
        assert_no_split_number(passages)
        assert all(len(p.text) <= max_chars for p in passages), path.name


@pytest.mark.parametrize("prefix, first_heading, last_heading, top_level_count", [
    ("000_", "一是加强法治政府建设组织领导", "八是营造尊法学法用法良好氛围", 8),
    ("001_", "一、深入学习贯彻习近平法治思想", "十、加强党的领导", 10),
    ("002_", "一、工作开展情况", "二、存在主要问题", 2),
    ("003_", "一、严格落实工作责任", "七、有效化解各类争议", 7),
    ("004_", "一、党对法治政府建设的领导不断加强", "三、存在的不足和下一步工作打算", 3),
])
def test_seed_reports_are_sectioned_by_their_top_level_headings(prefix, first_heading, last_heading,
                                                                top_level_count):
    files = [p for p in seed_files() if p.name.startswith(prefix)]
    if not files:
        require(False, f"seed {prefix}* not at {SEEDS}")
    passages = chunk_text(files[0].read_text(encoding="utf-8"))
    roots = list(dict.fromkeys(p.section.split(" > ")[0] for p in passages if p.section))
    assert roots[0].startswith(first_heading)
    assert roots[-1].startswith(last_heading)
    assert len(roots) == top_level_count


def test_two_megabytes_finish():
    paragraph = NUMBERS_PARAGRAPH + "\n\n"
    parts, size, i = [], 0, 0
    while size < 2_000_000:
        i += 1
        part = (f"{'一二三四五六七八九'[i % 9]}、第{i}部分标题\n" if i % 20 == 0 else "") + \
            (f"（{'一二三'[i % 3]}）小节{i}\n" if i % 5 == 0 else "") + paragraph
        parts.append(part)
        size += len(part)
    body = "".join(parts) + "字" * 100_000 + "\n" + "7" * 50_000
    passages = chunk_text(body)
    assert_exact_cover(body, passages)
    assert max(len(p.text) for p in passages if not p.text.isdigit()) <= 500


# ---------------------------------------------------------------- repairs: lost numbers, fused headings, lost breaks

PREFACE = "前言段落，全年工作稳步推进，成效明显。" * 10

@pytest.mark.parametrize("body, expected", [
    # the opening bracket lost: given back, full width
    ("十一)加大执法力度。聚焦重点领域", "（十一）加大执法力度。聚焦重点领域"),
    ("一)健全工作机制", "（一）健全工作机制"),
    # the number lost too: taken from the numbers around it and the items between
    ("（二）甲项。内容。\n乙项工作。内容。\n)丙项工作。内容。\n（五）丁项。内容。",
     "（二）甲项。内容。\n乙项工作。内容。\n（四）丙项工作。内容。\n（五）丁项。内容。"),
    ("（三）甲项。内容。\n)乙项。内容。", "（三）甲项。内容。\n（四）乙项。内容。"),  # right after (三)
    (")乙项。内容。\n十一)丙项。内容。", "（十）乙项。内容。\n（十一）丙项。内容。"),  # right before 十一)
    # numbers that do not add up: left as they are, never guessed
    ("（二）甲项。\n乙项。内容。\n)丙项。内容。\n正文段落，没有短句。\n（九）丁项。",
     "（二）甲项。\n乙项。内容。\n)丙项。内容。\n正文段落，没有短句。\n（九）丁项。"),
    # a heading run into its body
    ("三、积极推进政府立法制定《某市人民政府拟定地方性法规草案和制定规章程序规定》，对立法程序作出规范。",
     "三、积极推进政府立法\n制定《某市人民政府拟定地方性法规草案和制定规章程序规定》，对立法程序作出规范。"),
    ("一、2023年工作回顾 过去一年，全市经济平稳运行，各项事业全面进步。",
     "一、2023年工作回顾\n过去一年，全市经济平稳运行，各项事业全面进步。"),
    ("第二部分 工作成效", "第二部分 工作成效"),  # a space inside a heading stays
    # a report on one line: broken before its headings
    (PREFACE + "一、总体情况 全年办理案件12件，办结率100%。（一）加强领导。成立专班。",
     PREFACE + "\n一、总体情况\n全年办理案件12件，办结率100%。\n（一）加强领导。成立专班。"),
    # a short line keeps an inline list as it is
    ("主要做法如下。（一）加强领导。（二）强化考核。", "主要做法如下。（一）加强领导。（二）强化考核。"),
])
def test_repair_headings(body, expected):
    assert repair_headings(body) == expected


@pytest.mark.parametrize("line, sentence", [
    ("(三十四)各部门各有关单位要提高站位,拔高标准,认真落实《关于进一步推进法治政府建设的实施意见》要求。", True),
    ("1.各乡镇、各部门要高度重视，加强组织领导，确保各项工作按期完成，并于年底前报送工作总结。", True),
    ("二、健全政府机构职能体系,推动更好发挥政府作用", False),
    ("（一）深化改革，优化服务。具体措施如下", False),
    ("三、" + "甲" * 60, False),
])
def test_numbered_sentences_are_not_headings(line, sentence):
    assert is_numbered_sentence(line) is sentence
    assert (detect_heading(line) is None) is sentence


def test_no_passage_is_a_bare_heading():
    body = "一、总体情况\n（一）加强领导\n成立工作专班，定期调度。\n（二）强化考核\n" + "考核结果纳入年度评价。" * 60
    passages = chunk_text(body, max_chars=200)
    assert all(detect_heading(p.text) is None or "\n" in p.text or "。" in p.text for p in passages)
    assert passages[0].text.startswith("一、总体情况\n（一）加强领导\n成立")
    assert passages[0].section == "一、总体情况 > （一）加强领导"
    second = next(p for p in passages if p.section.endswith("（二）强化考核"))
    assert second.text.startswith("（二）强化考核\n考核结果") and len(second.text) <= 200
    assert_exact_cover(body, passages)


def seed_body(prefix: str) -> str:
    from indexer.cleaning import clean

    files = [p for p in seed_files() if p.name.startswith(prefix)]
    if not files:
        require(False, f"seed {prefix}* not at {SEEDS}")
    return repair_headings(clean(files[0].read_text(encoding="utf-8")))


def test_seed_headings_are_repaired():
    sections = {p.section for p in chunk_text(seed_body("001_"))}
    level_two = [s.split(" > ")[1] for s in sections if " > " in s]
    assert any(s.startswith("（六）加强行政规范性文件") for s in level_two)
    assert any(s.startswith("（十）深化行政执法体制改革") for s in level_two)
    assert any(s.startswith("（十一）加大重点领域执法力度") for s in level_two)
    assert not any(s.startswith((")", "十一)")) or "三十四" in s for s in level_two)
    roots = {p.section.split(" > ")[0] for p in chunk_text(seed_body("003_"))}
    assert "三、积极推进政府立法" in roots


@pytest.mark.parametrize("prefix", ["000_", "001_", "002_", "003_", "004_"])
def test_seed_passages_are_never_bare_headings(prefix):
    for p in chunk_text(seed_body(prefix)):
        heading = detect_heading(p.text.split("\n")[0])
        assert heading is None or len(p.text) > len(heading[1]) + 2, p.text


def test_a_heading_marker_starts_with_a_character_the_quick_check_lets_through():
    """`_heading` skips the marker patterns for a line whose first character none of them can start with: every
    character any of them matches first is one `_MARKER_FIRST` (or a decimal digit) lets through."""
    from indexer.chunking import _MARKER_FIRST, _MARKERS

    tails = ["一部分x", "一、x", "、x", "是x", "一是x", "一)x", ")x", "x", "1)x", ".x", "1.x"]
    starts = set()
    for cp in range(0x20, 0x10000):
        c = chr(cp)
        if not 0xD800 <= cp < 0xE000 and any(p.match(c + t) for _, _, p in _MARKERS for t in tails):
            starts.add(c)
    assert {"第", "(", ")", "一", "十", "1"} <= starts  # the tails reach every pattern
    assert all(c in _MARKER_FIRST or c.isdecimal() for c in starts), sorted(starts)


def test_a_line_the_quick_check_turns_away_opens_with_no_marker_once_normalised():
    """`_heading` looks at a line's first non-blank character before normalising it: for every character it turns
    away, that line normalised (NFKC, spaces) opens with no marker, whatever follows."""
    from archive.text import normalise
    from indexer.chunking import _BLANK, _MARKERS, _may_open_marker

    tails = ["一、x", "、x", "是x", ")x", "x", "1)x", ".x", "\u0301x", "\u3099x"]
    turned_away = 0
    for cp in range(0x20, 0x10000):
        c = chr(cp)
        if 0xD800 <= cp < 0xE000 or c in _BLANK or _may_open_marker(c):
            continue
        turned_away += 1
        for t in tails:
            head = normalise(c + t).lstrip()
            assert not any(p.match(head) for _, _, p in _MARKERS), ascii(c + t)
    assert turned_away > 60000
    assert all(map(_may_open_marker, "第（(⑴㈠①１一十)"))


@pytest.mark.parametrize("end_at", [5, 30, 40, 41, 42, 71, 72, 73, 200, None])
@pytest.mark.parametrize("marker", ["（一）", "一、", "一是", "第一部分", "1.", "(1)", "十一)", ")", "加强",
                                    "  （二）"])
def test_a_heading_is_decided_by_the_lines_first_characters(marker, end_at):
    """`_heading` reads (and remembers) a line's first _HEADING_SPAN characters only: the same answer as the
    whole line gives, wherever its first sentence ends and however many commas it has."""
    from indexer.chunking import _heading, _heading_of

    for filler in ("推进依法行政", "推进依法行政，严格规范执法，"):
        body = (filler * 30)[: (end_at or 300) - len(marker)]
        line = marker + body + ("。" if end_at else "") + "全年办理行政复议案件120件，" * 10
        assert _heading(line) == _heading_of.__wrapped__(line), line[:80]


def test_a_table_keeps_its_rows_in_its_section():
    """A table whose rows are numbered like headings (政府信息公开 reports' 一、本年新收…) stays in the section that
    holds it, and the heading after it still opens its own."""
    body = ("三、收到和处理政府信息公开申请情况\n（本列数据的勾稽关系为：第一项加第二项之和）\t申请人情况\t总计\n"
            "一、本年新收政府信息公开申请数量\t120\n二、上年结转政府信息公开申请数量\t6\n"
            "四、存在的主要问题及改进情况\n我县政府信息公开工作还存在一些不足。")
    passages = chunk_text(repair_headings(body), max_chars=500)
    assert [p.section for p in passages] == ["三、收到和处理政府信息公开申请情况", "四、存在的主要问题及改进情况"]
    assert "本年新收政府信息公开申请数量\t120" in passages[0].text


def wrapped(text: str, width: int) -> str:
    """`text` as a PDF text layer or OCR gives it: each paragraph broken into lines `width` display columns wide
    (a CJK character two, a digit or letter one), anywhere, as a justified page breaks them."""
    from indexer.chunking import _columns

    out = []
    for paragraph in text.split("\n"):
        line = ""
        for ch in paragraph:
            if _columns(line + ch) > width:
                out.append(line)
                line = ""
            line += ch
        out.append(line)
    return "\n".join(out)


PARAGRAPHS = ("一、主要成效\n（一）行政复议工作。全年共收到行政复议申请312件，同比增长8.5%，受理298件，审结285件，"
              "综合纠错率12.3%。行政机关负责人出庭应诉率达到100%。\n（二）行政执法。全年办理行政处罚案件1,236件，罚没金额2315.6万元，"
              "较上年增加15件。\n名称\t数量\n调解室\t36间\n二、下一步工作打算\n力争行政复议纠错率控制在10%以内。")


def test_wrapped_lines_are_joined_into_their_paragraphs():
    from indexer.chunking import unwrap, wrap_width

    lines = wrapped(PARAGRAPHS, 40).split("\n")
    assert len(lines) > len(PARAGRAPHS.split("\n")) + 4 and wrap_width(lines) in range(37, 41)
    assert unwrap(lines) == PARAGRAPHS.split("\n")  # headings, the table and sentence ends kept as lines
    assert wrap_width(PARAGRAPHS.split("\n")) is None and unwrap(PARAGRAPHS.split("\n")) == PARAGRAPHS.split("\n")
    # a heading as wide as the page is no paragraph's first line: its body stays apart
    heading = "（一）持续深化行政复议体制改革全面提升复议"  # 22 characters, 44 columns, no sentence end
    assert unwrap(["甲" * 22, "乙乙。"] * 5 + [heading, "全年共收到申请52件。"]) == ["甲" * 22 + "乙乙。"] * 5 + [
        heading, "全年共收到申请52件。"]
    # a line opening with a closing bracket goes on with its sentence (no heading whose number was lost)
    assert unwrap(["甲" * 22] * 6 + ["）一体化化解信访积案工作机制，挂牌督办疑难", "信访事项139件。"]) == [
        "甲" * 132 + "）一体化化解信访积案工作机制，挂牌督办疑难信访事项139件。"]
    # "1,236" at a line's end runs on into "件" with no space; English words get one
    assert unwrap(["甲" * 19 + "1,236", "件，罚没"] * 6) == ["甲" * 19 + "1,236件，罚没"] * 6
    assert unwrap(["甲" * 17 + "the annual", "report is"] * 6) == ["甲" * 17 + "the annual report is"] * 6


@pytest.mark.parametrize("width", [40, 56, 70])
def test_a_wrapped_seed_report_gives_the_figures_the_unwrapped_one_gives(seeds_dir, width):
    """Every seed report wrapped at a page's width (its headings and short lines as they were) reads as the seed
    does: the same figures, labels and units, in order."""
    from indexer.figures import figure_dicts

    def figures(body: str) -> list[tuple]:
        passages = chunk_text(repair_headings(body), max_chars=500)
        return [(f["label"], f["value"], f["unit"]) for p in passages for f in figure_dicts(p.text)]

    for seed in sorted(seeds_dir.glob("*.txt")):
        body = seed.read_text(encoding="utf-8")
        assert figures(wrapped(body, width)) == figures(body), seed.name


@pytest.mark.parametrize("width", [24, 40, 56])
def test_a_wrapped_report_with_a_date_under_its_title_loses_nothing_on_its_way_in(seeds_dir, tmp_path, width):
    """A seed as a PDF's text layer gives it, whole: a date line under its title, every line (its paragraphs'
    indented first lines too) `width` columns wide; read, cleaned and cut, it gives the figures the unwrapped report
    gives, in order. (Lines this short are no prose to the cleaner: the date under the title once cut the body.)"""
    from indexer.pipeline import prepare

    def figures(path):
        return [(f["label"], f["value"], f["unit"]) for c in prepare(path, 500).chunks for f in c.figures]

    for seed in sorted(seeds_dir.glob("*.txt")):
        title, *rest = seed.read_text(encoding="utf-8").split("\n")
        dated = "\n".join([title, "2024年1月20日", *rest])
        (tmp_path / "report.txt").write_text(dated, encoding="utf-8")
        (tmp_path / "wrapped.txt").write_text(wrapped(dated, width), encoding="utf-8")
        expected = figures(tmp_path / "report.txt")
        assert len(expected) >= 10 and figures(tmp_path / "wrapped.txt") == expected, seed.name
