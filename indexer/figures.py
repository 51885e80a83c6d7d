"""Numeric facts in report passages, found at index time: the number, its unit and the phrase it measures.

The write side owns this extraction: the pipeline stores each passage's figures as plain dicts
(`Figure.to_dict()`, `Chunk.figures`), and the read side reads those dicts only, mapping them to
measures and periods at request time (`archive/measures.py`, `archive/periods.py`, `search_app/figures.py`).

`extract_figures` finds "收到行政复议申请36件", "办结率99. 77%", "１２３件", "6.5%-7%", "百分之九",
"二十多万件" in a passage and returns one `Figure` each, with the sentence it came from.

Matching runs on a view of the passage that is NFKC restricted to the full-width ASCII block and
odd spaces, with traditional characters simplified one for one (a report in 繁體 reads as one in 简体).
That view has the passage's length, so offsets need no mapping back (`text.normalise` would shift
them: "…" becomes "...", spaces inside numbers vanish); instead the number pattern tolerates the
spaces scraped pages put inside numbers ("99. 77", "1 234").

Value and unit: a 万/亿 written after the number goes into the unit, as reports write it
("17.92万件" is 17.92 万件). Chinese numerals follow the same rule: a trailing 万/亿 goes into the
unit and the rest of the numeral is applied ("四亿零七百多万吨" is 40700 万吨, "二十万件" is 20 万件),
so the same fact reads the same in either script. 多/余 qualifiers are dropped from the value.
"""

from __future__ import annotations

import bisect
import functools
import math
import re
import sys
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from archive.text import char_mapping, t2s_table


@dataclass(frozen=True)
class Figure:
    """One numeric fact: what is measured, how much, in which unit, and where it was written."""

    label: str  # the phrase measured, e.g. "收到行政复议申请", "办结率"
    value: float  # in `unit`: 17.92 for "17.92万件"
    unit: str  # "件", "万件", "%", "个百分点", "亿元" …
    text: str  # the figure as written, unit included: "99. 77%", "１２３件"
    sentence: str  # the sentence it came from, original characters
    start: int  # offset of `text` in the passage
    value_high: float | None = None  # upper bound of a range ("6.5%-7%")

    def to_dict(self) -> dict:
        # asdict's recursive deep copy was a fifth of prepare_tokens under cProfile; the fields are all scalars,
        # and a (frozen, unslotted) dataclass instance holds exactly its fields, in order, in its __dict__.
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, d: dict) -> Figure:
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**known)


# Full-width ASCII to ASCII (length-preserving); the full-width comma stays a clause break, save between a number's
# groups of three (`_thousands`).
_VIEW = ({c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F) if c != 0xFF0C} | {0x3000: 0x20, 0xA0: 0x20, 0x202F: 0x20}
         | dict.fromkeys(range(0x2002, 0x200B), 0x20))  # en, em, thin … spaces: spaces


@functools.cache
def _viewer():
    """The view's mapping, with traditional characters made simplified one for one (`archive.text.simplified`'s
    table): "百分之九十八點五", "8.6萬件", "3個" read as their simplified forms do, and labels come out simplified."""
    return char_mapping(_VIEW | t2s_table())


def _view(text: str) -> str:
    return _viewer()(text)


# "主动公开政府信息3，256条", "投入资金1，200万元": a full-width comma typed between a number's groups of three is its
# thousands separator (a clause never ends on a bare number and goes on with three digits and a unit). Not in a
# 分别 list ("分别为120，135，150件": three figures, as "、" would part them).
_THOUSANDS = re.compile(r"(?<![0-9.,，])[0-9]{1,3}(?:，[0-9]{3})+(?![0-9])")
_LIST_BEFORE = re.compile(r"分别[^。;；!?\n]*$")


def _thousands(view: str) -> str:
    """`view` with the full-width commas inside numbers made ASCII ones (length-preserving)."""
    def joined(m: re.Match) -> str:
        if _LIST_BEFORE.search(view, max(0, m.start() - 60), m.start()):
            return m.group()
        return m.group().replace("，", ",")
    return _THOUSANDS.sub(joined, view)


_CN_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_MULTIPLIER = {"万亿": 10**12, "亿": 10**8, "万": 10**4, "千": 10**3}
_CN_DIGITS = "零〇一二两三四五六七八九"
_CN_NUM = f"[{_CN_DIGITS}十][{_CN_DIGITS}十百千万亿多余]{{0,20}}(?:点[{_CN_DIGITS}]{{1,8}})?"
# Thousands apart by commas, or by single spaces where each group after the first has three digits ("1 234", as
# some PDFs and scraped pages write it; the tokens join it too, `archive.text.normalise`).
_AR_NUM = r"(?:[0-9]{1,3}(?: [0-9]{3}(?![0-9]))+|[0-9]{1,15}(?:,[0-9]{3}(?![0-9]))*)(?:\.(?: (?=[0-9]))?[0-9]{1,10})?"
_NUM = f"(?:{_AR_NUM}|{_CN_NUM})"
_UNITS = (
    "个百分点 百分点 个工作日 工作日 个月 人次 户次 家次 件次 场次 批次 小时 分钟 平方公里 平方米 公里 公顷 学时 课时 "
    "公斤 件 人 次 个 项 元 名 份 场 期 卷 条 天 户 家 所 亩 吨 篇 部 批 起 宗 位 支 册 本 套 台 辆 处 座 笔 例 "
    "轮 类 种 组 堂 封 张 间 栋 米 倍 斤 分 % ‰"
).split()
_UNIT = "(?:" + "|".join(sorted(_UNITS, key=len, reverse=True)) + ")"
_SEP = " ?(?:——|[-—–−~至到]) ?"
# Not after a digit, a decimal point, a letter, a dash or 第 (ordinals), nor inside a numeral or a time.
_BEFORE = r"(?<![\d./A-Za-z_第零〇一二两三四五六七八九十百千万亿\-])(?<!\d:)(?<!第 )"
_TAIL = rf"[余多]?(?P<m>万亿|亿|万)?[余多]? ?(?P<u>{_UNIT})"  # "本年制发件数 32 件": a space before the unit
_RUN = re.compile("[0-9]+|[零〇一二两三四五六七八九十百千万亿]+")  # where a figure may start: cheap to find
# What can follow such a run inside a figure that starts with it: the number going on (",", ".", 多, 余, 点), its
# multiplier (万, 亿), 百分之's 分, a range's separator (and the space before one) or a unit. A run followed by
# anything else starts no figure (most runs of Chinese numerals: 一是, 进一步, 十四五).
_AFTER_RUN = frozenset(",.多余点分万亿 —-–−~至到") | {unit[0] for unit in _UNITS}
_SINGLE_BODY = rf"(?:百分之(?P<pct>{_NUM})|(?P<n1>{_NUM}){_TAIL})"
_RANGE_BODY = (rf"(?:百分之(?P<pct>{_NUM})"
               rf"|(?P<n1>{_NUM})(?:[余多]?(?P<m1>万亿|亿|万)?[余多]?(?P<u1>{_UNIT})?{_SEP}(?P<n2>{_NUM}))?{_TAIL})")
_SINGLE, _RANGE = re.compile(_BEFORE + _SINGLE_BODY), re.compile(_BEFORE + _RANGE_BODY)
# A minus sign before a number that follows no digit or letter ("增速为−1.5%", "增长-2.3%"): a negative figure, sign
# included ("5-10件" and "2021-2023年" are a range and a span).
_MINUS = "-−"
_SINGLE_SIGNED, _RANGE_SIGNED = re.compile(f"[{_MINUS}]" + _SINGLE_BODY), re.compile(f"[{_MINUS}]" + _RANGE_BODY)
# A unit character that starts a longer word instead: "5人民", "3条例", "12部门".
_NOT_UNIT = {"人": "民", "条": "例款", "场": "所景", "项": "目", "期": "间刊货", "天": "然", "名": "单称",
             "处": "理罚置", "家": "庭长渠", "位": "于置", "部": "门分署", "台": "账县河区",
             "次": "数", "间": "隔",
             "起": "来草", "种": "类", "例": "如", "所": "有在属以", "元": "旦素",
             "分": "之局队区享类别批期析解布厂院社所站行会成为工配级流步段支组数值子钟秒管公钱"}

# Patterns searched for (not matched at a known place) start with a literal character where they can, or with
# words each starting with one, not with a lookbehind or a repeated group: the regex engine then skips to their
# possible starts by scanning for those characters (measured 2-5x faster on report text than a lookbehind or a
# repeat first, which it tries at every place).
_QUOTE_BREAK = re.compile(r"[“,，;:]")
_SENTENCE = re.compile(r"[^。!?;\n]+")
# Numbers inside titles, quoted names, document-number brackets and slogans are names, not measurements.
_SHIELD = re.compile(
    r"两个(?:确立|维护)|四个(?:意识|自信|全面)|三项制度|四项制度|四种形态|三个区分开来"
    r"|《[^《》\n]{0,80}》|“[^“”。!?;\n]{0,20}”|〔[^〔〕\n]{0,12}〕|【[^【】\n]{0,12}】|\[[^\[\]\n]{0,12}\]"
)
_WINDOW, _AFTER, _MAX_LABEL, _MAX_SENTENCE = 40, 24, 16, 500

_VERBS = (
    "受理|办理|办结|收到|审查|审核|纠正|调解|化解|接待|处理|查处|开展|组织|举办|召开|出台|制定|修订|修改|清理|"
    "废止|发布|公开|答复|培训|检查|立案|审结|提供|完成|接收|备案|审理|出庭|应诉|征集|印发|解决|新增|建成|派驻|"
    "参与|聘请|作出|做出|撤销|维持|确认|驳回|终止|移送|处罚|督办|提出|采纳|录入|实施|挂牌|摘牌|审议|起草|落实|推进|"
    "建立|推行|设立|设置|发放|引进|创建|评选|抽取|抽查|查办|抓获|侦办|破获|接听"
)
_VERB = re.compile(_VERBS)
_PARENS = re.compile(r"\([^()]{0,20}\)")
_BOUNDARY = re.compile(r"[,，;:()!?\t]|  +")
_QUOTED = re.compile(r"“[^“”]*”")
_NOISE = re.compile(r"[\s“”\"'‘’]")
_HOTLINE = re.compile(r"12345[\u4e00-\u9fff]{0,12}?热线")
_FILLERS = "全年|全市|今年|当年|共计|累计|合计|总计|共|均|已|先后|依法|分别"
_FILLER_BEFORE_VERB = re.compile(rf"(?:{_FILLERS})(?:{_FILLERS})*(?={_VERBS})")
_LEAD = re.compile(
    r"^(?:[一二三四五六七八九十]+是|\([一二三四五六七八九十\d]+\)|\d+[.、]|[一二三四五六七八九十]+、|第[一二三四五六七八九十\d]+[批次届期轮]?"
    r"|截至|截止|\d{4}(?:[-—至]\d{4})?年(?:度|底|末|初)?|\d{1,2}(?:[-—至]\d{1,2})?月(?:份|底|末)?|\d{1,2}日"
    r"|今年|去年|全年|上半年|下半年|年内|当年|以来|目前|至今|全市|全县|全区|全省|全镇|全乡|全街道|[我本][市县区省州旗镇乡]"
    r"|其中|另外|此外|同时"
    r"|共计|累计|合计|总计|先后|同比|较上年|比上年|各类|首先|其次|确保|力争|争取|努力|保持(?!在)|推动|持续|进一步"
    r"|对(?![照接象标外话]))+"
)
# Every character a lead can start with, and more: each literal of the pattern (its branches start with literals,
# classes of literals, "\(" or \d, which `str.isdecimal` covers); a label starting with none has no lead (`_clean`).
_LEAD_FIRST = frozenset(_LEAD.pattern)
# Verbs that bring a measure to a level ("提高到98%": the figure is the level, not a change).
_TO_LEVEL = ("达到了 达到 提高到 提高至 提升至 提升到 上升至 上升到 增至 增加到 增加至 "
             "下降到 下降至 降低到 降低至 降至 减少到 减少至 减至").split()
_TRAIL_WORDS = (
    "分别为 分别 共计 累计 合计 总计 " + " ".join(_TO_LEVEL) + " "
    "保持在 稳定在 控制在 保持 同比 较上年 比上年 不少于 不低于 不超过 不到 低于 高于 超过 实现 各类 "
    "等 了 达 为 约 近 超 逾 共 计 是 至 的 在 和 及 与 从 由 较 比 均"
).split()
_TRAIL = re.compile("(?:" + "|".join(_TRAIL_WORDS) + ")$")
# A time ending a label is when, not what, the figure measures: "办结率2021年为100%" measures 办结率.
_TRAIL_TIME = re.compile(r"(?:\d{4}(?:[-—至]\d{4})?年(?:度|底|末|初|上半年|下半年)?|上年|去年|今年|当年|[上下]半年"
                         r"|连续[两二三四五六七八九十\d]{1,3}年)$")
_TIME_LONGEST = len("2021-2025年上半年")  # the longest it matches: searched from there
# "办结率2021年为95%，2022年为98%", "败诉率由2021年的12.3%下降到2022年的8.5%", "办结率由上年的95%提高到98%": a figure
# whose own words are only its time or a verb bringing it to a level measures what the figure before it does.
_TIME = re.compile(r"\d{4}年|上年|去年|今年|当年|[上下]半年")
_ONLY_TO_LEVEL = re.compile(rf"[\s,，、]*(?:{'|'.join(_TO_LEVEL)})\s*")
_SENTENCE_END = re.compile(r"[。!?\n]")
# A label that names a change of its subject: the subject is what comes before ("地区生产总值增长" -> 地区生产总值).
_CHANGE_WORDS = ("增长", "下降", "增加", "减少", "提高", "降低", "上升", "回落")
_CHANGED = re.compile(r"(?<=[\u4e00-\u9fff]{2})(?:同比|[较比](?:上年|去年|\d{4}年(?:度|底|末)?))?"
                      rf"(?:{'|'.join(_CHANGE_WORDS)})$")
# What may stand between a change and the level it reached ("增长6.2%，达到3210.5亿元", "下降2.3个百分点，为11.5%").
_ONLY_LEVEL = re.compile(rf"[\s,，]*(?:{'|'.join(_TO_LEVEL)}|为|达)\s*")
_TRAIL_LONGEST = max(map(len, _TRAIL_WORDS))  # a tail starts no earlier than this before the end: searched from there
# The characters a tail or a trailing time can end on: a label ending on none of them has neither (most labels), so
# their patterns are not run (`_clean`).
_TRAIL_LAST = frozenset(word[-1] for word in _TRAIL_WORDS)
_TIME_LAST = frozenset("年度底末初")
# A one-character tail that is part of a word after these characters: "行为", "签约", "表达".
_KEEP_TAIL = {"为": "行作认成因", "约": "合公条签预制履节", "近": "附最接临", "达": "表送传到下发通抵",
              "计": "统会设审估", "共": "公总", "超": "赶", "是": "但就还也总于", "等": "平同对相", "了": "为除",
              "至": "截甚乃", "的": "目", "在": "存现正所实", "和": "平温缓总", "及": "普涉以危可", "与": "参给",
              "从": "服遵自随", "由": "自理经缘", "较": "比", "比": "占对排类正", "均": "平人户"}
_CLAUSE_END = ",，、;:。!?"  # after one of these (or at the end) nothing follows the number in its clause
_CONJUNCTION = re.compile(r"[和及与](?<![平温缓总普涉以危参给][和及与])\s*$")
_TITLE_END = re.compile(r"^[^《]*》")
_AFTER_WORD = re.compile(r"[\u4e00-\u9fff]{1,12}")
_AFTER_STOP = re.compile(
    rf"在|均|已|并|实现|全面|全部|基本|进行|的|以上|以下|左右|等|共计|合计|累计|对(?![照接象标])|和(?![解谐])|及|{_VERBS}"
    rf"|{'|'.join(_TO_LEVEL)}"
)


def extract_figures(text: str) -> list[Figure]:
    """Every measured number in a passage, in order of appearance."""
    return [Figure(**fields) for fields in _figures(text)]


def figure_dicts(text: str) -> tuple[dict, ...]:
    """`extract_figures(text)` as the dicts stored with a passage (`Figure.to_dict`), made without the Figures."""
    return tuple(_figures(text))


def _figures(text: str) -> list[dict]:
    """Each figure's fields, in `Figure`'s order (the dict `Figure.to_dict` gives)."""
    if not isinstance(text, str) or not text:
        return []
    view = _view(text)
    if "，" in view:
        view = _thousands(view)
    sentences = [m.span() for m in _SENTENCE.finditer(view)]
    sentence_starts = [s for s, _ in sentences]
    shields = [m.span() for m in _SHIELD.finditer(view)]
    shield_starts = [s for s, _ in shields]
    figures: list[dict] = []
    said: dict[int, str] = {}  # sentence start -> its text: figures of one sentence share one string (pickled once)
    pos = floor = 0
    # Each run in turn, those starting before `pos` (inside the figure just found) left out. No figure starts inside
    # a run, where `_BEFORE` sees a digit or numeral before it: a run is tried at its start only.
    quoted = "”" in view
    for run in _RUN.finditer(view):
        start, stop = run.span()
        if start < pos or view[stop:stop + 1] not in _AFTER_RUN:
            continue
        signed = False
        if start and view[start - 1] in _MINUS:
            before = view[start - 2:start - 1] if start > 1 else ""
            signed = not (before and before.isascii() and (before.isalnum() or before in "._"))
        if signed:
            start -= 1
        m = (_RANGE_SIGNED if signed else _RANGE).match(view, start)
        if m is None:
            continue
        shielded = ((shields and _inside(shields, shield_starts, start))
                    or (quoted and _before_close_quote(view, start, m.end())))
        found = None if shielded else _measure(m, view)
        if found is None or (signed and found[2] is not None):  # a negative range: which bound is which is unsure
            continue
        end, value, high, unit = found
        value = -value if signed and value else value
        s, e = sentences[bisect.bisect_right(sentence_starts, start) - 1]
        label = _label(view, max(s, floor), start, end, e)
        if not label and figures:
            label = _inherited(view, figures[-1], floor, start, unit)
        if e - s > _MAX_SENTENCE:  # a run-on "sentence": each figure its own neighbourhood
            sentence = _sentence(text, s, e, start, end)
        elif (sentence := said.get(s)) is None:
            sentence = said[s] = _sentence(text, s, e, start, end)
        figures.append({"label": label, "value": value, "unit": sys.intern(unit), "text": text[start:end],
                        "sentence": sentence, "start": start, "value_high": high})
        pos = floor = end
    if len(figures) > 1 and ("分别" in view or "、" in view):
        _respectively(view, figures, sentences, sentence_starts)
    if "\t" in view:
        found = {fig["start"]: fig for fig in figures}
        rows = []
        for row, bare in _row_figures(text, view):
            if (same := found.get(row["start"])) is None:
                if bare:  # a cell with its unit is the main pass's to find or refuse
                    rows.append(row)
            elif not same["label"]:  # "办结率<tab>98.5%": found with its unit, named by its row
                same["label"] = row["label"]
        if rows:
            figures = sorted(figures + rows, key=lambda fig: fig["start"])
    return figures


# Tables, as the readers write them: a row a line, its cells apart by tabs. A number alone in a cell is a figure
# where the table says what it counts and in which unit: its row's name, and the header's cell above it
# ("信息内容 | 本年制发件数 …" over "行政规范性文件 | 12 …": 12件 of 行政规范性文件本年制发件数), or a unit the row
# names.
_CELL_NUMBER = re.compile(rf"{_AR_NUM}|{_CN_NUM}")
_CELL_UNIT = re.compile(rf"[(（]\s*(?:单位\s*[:：]\s*)?(?P<u>(?:万|亿)?{_UNIT})\s*[)）]"
                        rf"|单位\s*[:：]\s*(?P<v>(?:万|亿)?{_UNIT})")
_COUNT_WORDS = (("申请数量", "件"), ("件数", "件"), ("人数", "人"), ("次数", "次"), ("个数", "个"), ("条数", "条"),
                ("项数", "项"), ("户数", "户"))
_TOTAL = ("总计", "合计")
_VALUE_COLUMNS = frozenset(_TOTAL + ("数值", "数量", "数据", "数", "值", "金额", "完成", "完成情况", "完成值",
                                     "实际完成", "情况", "指标值"))
_UNIT_CELL = re.compile(rf"(?:万|亿)?{_UNIT}")
_CELL_FIGURE = re.compile(rf"{_NUM}[余多]?(?:万亿|亿|万)?[余多]? ?{_UNIT}")  # a cell with its unit: a figure found
_YEARISH = re.compile(r"(?:19|20)\d{2}|上年|去年|今年|当年|本年度?$|[上下]半年")
_ROW_MARKER = re.compile(r"^(?:[一二三四五六七八九十]+、|[(（][一二三四五六七八九十\d]+[)）]|\d+[.、])\s*")


def _row_figures(text: str, view: str) -> list[tuple[dict, bool]]:
    """The figures of a passage's table rows (see above), each with whether its cell is a bare number (else it holds
    its unit, and only its label is of use); a row whose cells cannot be told apart gives none."""
    out: list[tuple[dict, bool]] = []
    header: list[tuple[int, str]] | None = None  # the last row without numbers: its cells (start, text)
    note = ""  # a unit the table names for all its cells ("单位：件")
    at = 0
    for line in view.split("\n"):
        start, at = at, at + len(line) + 1
        if "\t" not in line:
            header, note = None, _unit_named(line) or ""  # a table starts after it: a caption may name its unit
            continue
        cells = _cells(line, start)
        numbers = [k for k, (_, cell) in enumerate(cells)
                   if _CELL_NUMBER.fullmatch(cell) or _CELL_FIGURE.fullmatch(cell)]
        if not numbers:
            header, note = cells, _unit_named(line) or note
            continue
        names = [cell for _, cell in cells[:numbers[0]]]
        if not names or numbers != list(range(numbers[0], len(cells))):
            continue  # a row without a name, or with words after its numbers
        own = next((cell for cell in names[1:] if _UNIT_CELL.fullmatch(cell)), None)  # "名称 | 单位 | 数值"
        name = _row_name([cell for cell in names if cell != own] or names)
        aligned = header is not None and len(header) == len(cells)
        if len(numbers) == 1:
            column = header[numbers[0]][1] if aligned else ""
            picked = [(numbers[0], column, own or _unit_named(column) or _unit_named(name) or note)]
        elif aligned:
            picked = [(k, header[k][1], own or _unit_named(header[k][1]) or note) for k in numbers]
        elif header and header[-1][1] in _TOTAL:  # its columns lost (merged cells): the total alone
            picked = [(numbers[-1], "", own or _unit_named(name) or note)]
        else:
            continue
        sentence = text[start:start + len(line)].strip()
        for k, column, unit in picked:
            bare = _CELL_NUMBER.fullmatch(cells[k][1]) is not None  # else a figure with its unit, found already
            value = parse_number(cells[k][1]) if bare else 0.0
            if (bare and not unit) or value is None or _YEARISH.search(column):
                continue  # a column of a year ("2022年 | 2023年"): its period is not the sentence's, left out
            cell_at = cells[k][0]
            out.append(({"label": name + _column_name(column, name), "value": value, "unit": sys.intern(unit),
                         "text": text[cell_at:cell_at + len(cells[k][1])], "sentence": sentence, "start": cell_at,
                         "value_high": None}, bare))
    return out


def _cells(line: str, start: int) -> list[tuple[int, str]]:
    """A row's non-empty cells: (offset in the passage, text stripped)."""
    out, at = [], start
    for cell in line.split("\t"):
        stripped = cell.strip()
        if stripped:
            out.append((at + cell.index(stripped), stripped))
        at += len(cell) + 1
    return out


def _row_name(names: list[str]) -> str:
    """What a row counts: its last naming cell without its number ("（一）予以公开" -> 予以公开), with the cell before
    it where that alone says little."""
    last = _ROW_MARKER.sub("", names[-1])
    if len(last) <= 2 and len(names) > 1:
        last = _ROW_MARKER.sub("", names[-2]) + last
    return _clean(_PARENS.sub("", last) if "(" in last else last).lstrip(":：")


def _column_name(column: str, name: str) -> str:
    """What a column adds to its rows' name: "本年制发件数"; nothing for one that only holds the values."""
    column = _NOISE.sub("", _PARENS.sub("", _CELL_UNIT.sub("", column)))
    return "" if not column or column in _VALUE_COLUMNS or column in name else column


def _unit_named(words: str) -> str | None:
    """A unit a header or name gives: "（单位：万元）", "(件)", "本年制发件数" -> 件."""
    if m := _CELL_UNIT.search(words):
        return m["u"] or m["v"]
    return next((unit for word, unit in _COUNT_WORDS if word in words), None)


# "A、B分别增长8.1%、6.5%": the nth figure of a run measures the nth subject before 分别.
_JOINER = re.compile(r"\s*(?:[、,，]\s*(?:以及|和|及|与)?|以及|和|及|与)\s*")
_ITEM_SPLIT = re.compile(r"、|(?<![平温缓总普涉以危参给])(?:和|及|与)(?![谐解时会])")


def _respectively(view: str, figures: list[dict], sentences: list[tuple[int, int]], sentence_starts: list[int]):
    """Labels for each run of figures written after 分别, one subject each, in order: "规模以上工业增加值、固定资产投资
    分别增长8.1%、6.5%" gives 规模以上工业增加值增长 8.1% and 固定资产投资增长 6.5%; "城乡居民人均可支配收入分别…" names
    城镇 and 农村; "…，分别增长5.2%、7.1%" takes the subjects of the 分别 before it in its sentence. Where the subjects
    and the figures do not pair up, the run's labels are left empty rather than given to the wrong figure."""
    i, said = 0, None  # said: (sentence start, subjects) of the last run labelled
    while i < len(figures):
        first = figures[i]
        j = i + 1
        while j < len(figures) and _JOINER.fullmatch(view, _end(figures[j - 1]), figures[j]["start"]):
            j += 1
        if j - i < 2:  # a figure alone: no run
            i = j
            continue
        s = sentences[bisect.bisect_right(sentence_starts, first["start"]) - 1][0]
        floor = _end(figures[i - 1]) if i and _end(figures[i - 1]) > s else s
        seg = view[floor:first["start"]]
        at = seg.rfind("分别")
        if at < 0 and (listed := _listed(_BOUNDARY.split(seg)[-1], j - i)) is None:
            i = j
            continue
        subject, verb = (_BOUNDARY.split(seg[:at])[-1], seg[at + 2:]) if at >= 0 else listed
        items, count = _subjects(subject, j - i), j - i
        earlier = said[1] if said and said[0] == s and len(said[1]) == count else None
        if not items and earlier:  # "…，分别增长5.2%、7.1%": the subjects named before
            items = earlier
        elif len(items) == 1 and earlier:  # "A案件、B案件分别为45件、32件，办结率分别为…": each one's 办结率
            items = [(m and item[m.end():] or item) + items[0] for item in earlier for m in [_VERB.match(item)]]
        if len(items) == 1:  # one subject for several figures: which is which is not written; left as found
            i = j
            continue
        labels = [_shorten(_clean(item + verb)) for item in items] if len(items) == count else [""] * count
        for fig, label in zip(figures[i:j], labels):
            fig["label"] = label
        said = (s, items) if len(items) == count else None
        i = j


def _listed(clause: str, count: int) -> tuple[str, str] | None:
    """(subjects, verb) of "绿化覆盖率、绿地率达到44.5%、39.4%": as many 、-listed subjects as the figures after them,
    without 分别; None where the counts differ."""
    if clause.count("、") != count - 1:
        return None
    end = _CHANGED.search(clause) or _TRAIL.search(clause, max(0, len(clause) - _TRAIL_LONGEST))
    return (clause[:end.start()], clause[end.start():]) if end else (clause, "")


def _subjects(subject: str, count: int) -> list[str]:
    """The subjects listed before 分别, as many as the figures after it, each whole; [] where none is written."""
    subject = _NOISE.sub("", subject)
    if not subject:
        return []
    items = [item for item in _ITEM_SPLIT.split(subject) if item]
    if len(items) == 1 and count == 2 and "城乡" in subject:  # 城乡居民… is 城镇居民… and 农村居民…
        return [subject.replace("城乡", "城镇", 1), subject.replace("城乡", "农村", 1)]
    if len(items) > 1 and all(_TRAIL_TIME.fullmatch(item) for item in items[:-1]):
        return [_TIME.sub("", items[-1], count=1)] * count if len(items) == count else []  # 2022年、2023年收案数
    heads = {len(item) for item in items[:-1]}
    if len(items) > 1 and len(heads) == 1 and (size := heads.pop()) <= 3 and len(items[-1]) > size + 1:
        items = [item + items[-1][size:] for item in items[:-1]] + items[-1:]  # 城镇、农村居民…: the tail is shared
    return items


def _end(fig: dict) -> int:
    return fig["start"] + len(fig["text"])


def _inherited(view: str, previous: dict, floor: int, start: int, unit: str) -> str:
    """The label of a figure with no words of its own, from the figure before it: the same measure at another time
    or level ("办结率2021年为95%，2022年为98%", `_same_thing`), or the level reached after a change of the same
    subject, in another unit ("地区生产总值增长6.2%，达到3210.5亿元": 地区生产总值). "" where neither applies."""
    if _same_thing(view, previous, floor, start, unit):
        return previous["label"]
    if _ONLY_LEVEL.fullmatch(view, floor, start) and (changed := _CHANGED.search(previous["label"])):
        return previous["label"][:changed.start()]
    return ""


def _same_thing(view: str, previous: dict, floor: int, start: int, unit: str) -> bool:
    """Whether a figure with no words of its own ("2022年为98%", "提高到98%") measures what `previous` does: the
    same sentence (no 。 between them), the same unit (万 or 亿 apart), and between them a time of its own or only
    a verb bringing the measure to a level."""
    return (_base_unit(previous["unit"]) == _base_unit(unit) and not _SENTENCE_END.search(view, floor, start)
            and (_TIME.search(view, floor, start) is not None or _ONLY_TO_LEVEL.fullmatch(view, floor, start)
                 is not None))


def _base_unit(unit: str) -> str:
    return unit.removeprefix("万亿").removeprefix("亿").removeprefix("万")


def _inside(spans: list[tuple[int, int]], starts: list[int], at: int) -> bool:
    i = bisect.bisect_right(starts, at) - 1
    return i >= 0 and at < spans[i][1]


def _before_close_quote(view: str, start: int, end: int) -> bool:
    """True for "…四个意识”" whose opening quote the scraper lost: a slogan, not a count."""
    close = view.find("”", end, end + 6)
    return close >= 0 and not _QUOTE_BREAK.search(view, end, close) and "“" not in view[max(0, start - 12):start]


def _measure(m: re.Match, view: str) -> tuple[int, float, float | None, str] | None:
    """End, value, upper bound and unit of a candidate, or None when it is not a measurement."""
    if m["pct"] is not None:
        value = parse_number(m["pct"])
        return None if value is None else (m.end(), value, None, "%")
    if m.re in (_RANGE, _RANGE_SIGNED) and m["n2"] is not None:
        low, high = _amount(m["n1"], m["m1"] or m["m"] or ""), _amount(m["n2"], m["m"] or "")
        same_unit = m["u1"] in (None, m["u"]) and m["m1"] in (None, m["m"])
        if low and high and same_unit and low[1] == high[1] and low[0] <= high[0]:
            return _checked(m, view, low[0], high[0], high[1] + m["u"])
        m = (_SINGLE if m.re is _RANGE else _SINGLE_SIGNED).match(view, m.start())  # not a range: the first alone
        if m is None:
            return None
    amount = _amount(m["n1"], m["m"] or "")
    return _checked(m, view, amount[0], None, amount[1] + m["u"]) if amount else None


def _checked(m: re.Match, view: str, value: float, high: float | None, unit: str):
    end, n1 = m.end(), m["n1"]
    nxt = view[end:end + 1]
    if nxt and nxt in _NOT_UNIT.get(m["u"], ""):
        return None
    if n1 == "一" or (". " in n1 and _item_number(view, m.start())):
        return None  # "一个", "一次性" are idiom; "2. 3个" is an item number, then a count
    return end, value, high, unit


def _item_number(view: str, start: int) -> bool:
    """Whether a number written "2. 3" at `start` begins its line or clause (an item number, then a count), not
    a decimal with a stray space ("办结率 99. 5%"): the first character before it, spaces passed over."""
    before = view[max(0, start - 8):start].rstrip(" ")[-1:]
    return not before or before in "\t\n。;!?:()"


def _amount(token: str, mult: str) -> tuple[float, str] | None:
    """A numeral's value counted in its multiplier (万/亿), and that multiplier."""
    if token[0].isascii():  # the common case, kept cheap: figures can be dense
        return float(token.replace(",", "").replace(" ", "")), mult
    if mult:
        value = parse_number(token)
        return None if value is None else (value, mult)
    core = token.rstrip("多余")
    for mark in ("万亿", "亿", "万"):
        if core.endswith(mark) and len(core) > len(mark):
            value = parse_number(core)
            return None if value is None else (value / _MULTIPLIER[mark], mark)
    value = parse_number(core)
    return None if value is None else (value, "")


def _sentence(text: str, s: int, e: int, start: int, end: int) -> str:
    if e - s > _MAX_SENTENCE:  # a run-on "sentence" (tables, junk): keep the neighbourhood only
        s, e = max(s, start - 200), min(e, end + 200)
    return text[s:e].strip()


def _label(view: str, floor: int, start: int, end: int, sentence_end: int) -> str:
    """The phrase right before the number, within its clause, trimmed and shortened."""
    # Here and in `_clean`, `_last_item` and `_after` a pattern runs only where its first character occurs: a figure
    # is labelled in 10-15 µs, and a pattern that finds nothing still costs half a µs.
    seg = view[max(floor, start - _WINDOW):start]
    seg = (_PARENS.sub("", seg) if "(" in seg else seg).rstrip(": ")
    clause = _BOUNDARY.split(seg)[-1]
    piece, listed = _last_item(clause, whole=len(clause) < len(seg) or start - _WINDOW <= floor)
    after = _after(view[end:min(sentence_end, end + _AFTER)]) if view[end:end + 1] not in _CLAUSE_END else ""
    if after and _CONJUNCTION.search(piece):  # "免罚清单和117项轻罚清单": the second list names it
        return after
    label = _clean(piece)
    if listed:  # "受理咨询、投诉、建议等17万件": the verb before the list is what is measured
        verbs = list(_VERB.finditer(label))
        label = label[:verbs[-1].end()] if verbs else label
    if label[-1:] == "》" and after:  # "印发《A》《B》两部政府规章": the kind counted follows the titles
        head = label.split("《")[0]
        return head + after if _VERB.fullmatch(head) else after
    label = _shorten(label)
    if len(label) <= 2 and (label or not after.startswith(_CHANGE_WORDS)):
        label += after  # "建成7个公共法律服务中心": the counted thing follows the number
    return label  # (but in "较2022年的25.1万件增长13.9%" the 增长 after 25.1万件 is the next figure's)


_LIST_MOST, _LIST_ITEM = 4, 10  # a list of subjects one figure counts: its items, and their length after the first
_DIGIT = re.compile(r"\d")


def _last_item(seg: str, whole: bool = True) -> tuple[str, bool]:
    """The last 、-separated item of a clause, or its first when the clause is a list ending in 等; the whole list
    where the clause is one of subjects one figure counts (`whole`: the clause is not cut by the label's window)."""
    if "、" not in seg:
        return seg, False
    if "“" in seg:
        items = [item.replace("\0", "、") for item in _QUOTED.sub(lambda q: q[0].replace("、", "\0"), seg).split("、")]
    else:
        items = seg.split("、")
    if len(items) > 1 and items[-1].rstrip().endswith("等"):
        return items[0], True
    # the list opens the clause (not right after the figure before: "受理案件12件、诉讼案件8件"), no item a figure's
    if (whole and len(items) <= _LIST_MOST and items[0].strip() and not any(_DIGIT.search(item) for item in items[:-1])
            and all(0 < len(item) <= _LIST_ITEM for item in items[1:])):
        return "、".join(items), False  # "一审、二审判决、裁定85件": one figure of all the subjects listed
    return items[-1], False


def _clean(label: str) -> str:
    label = _NOISE.sub("", label)
    label = _FILLER_BEFORE_VERB.sub("", _HOTLINE.sub("12345热线", label) if "热线" in label else label)
    if "》" in label:
        label = _TITLE_END.sub("", label)  # the window began inside a 《title》: drop its end
    previous = None
    while previous != label:
        previous = label
        first = label[:1]
        if (first in _LEAD_FIRST or first.isdecimal()) and (lead := _LEAD.match(label)):
            label = label[lead.end():]
        tail = _TRAIL.search(label, max(0, len(label) - _TRAIL_LONGEST)) if label[-1:] in _TRAIL_LAST else None
        before = label[tail.start() - 1:tail.start()] if tail else ""
        if tail and not (len(tail[0]) == 1 and before and before in _KEEP_TAIL.get(tail[0], "")):
            label = label[:tail.start()]
        if label[-1:] in _TIME_LAST and (time := _TRAIL_TIME.search(label, max(0, len(label) - _TIME_LONGEST))):
            label = label[:time.start()]
    return label


def _shorten(label: str) -> str:
    """At most 16 characters, cut at a verb where one allows it, keeping the end."""
    if len(label) <= _MAX_LABEL:
        return label
    for verb in _VERB.finditer(label):
        if len(label) - verb.start() <= _MAX_LABEL + 2:  # a whole verb phrase is worth two more
            return label[verb.start():]
    cut = label[-_MAX_LABEL:]
    if 0 < cut.find("、") <= 2 and label[-_MAX_LABEL - 1] != "、":  # a list's item cut to a character or two ("署、…")
        cut = cut[cut.index("、") + 1:]
    return _TITLE_END.sub("", cut).lstrip("和及与")


def _after(rest: str) -> str:
    word = _AFTER_WORD.match(_NOISE.sub("", _PARENS.sub("", rest) if "(" in rest else rest))
    if not word:
        return ""
    stop = _AFTER_STOP.search(word[0])  # the words before the first stop (what split()[0] gives, without the rest)
    return word[0][:stop.start()] if stop else word[0]


_WHITESPACE = re.compile(r"\s")
_ARABIC = re.compile(r"(\d+(?:\.\d+)?)[余多]?(万亿|亿|万|千)?[余多]?")


def parse_number(s: str) -> float | None:
    """The value of a written number: "17.92", "１２３", "1,234", "17.92万", "四亿零七百万", "百分之九", "二十三"."""
    if not isinstance(s, str) or len(s) > 60:
        return None
    s = _WHITESPACE.sub("", _thousands(_view(s))).replace(",", "")
    s = s.removeprefix("百分之")
    if not s:
        return None
    value = _arabic(s) if s[0].isascii() else _chinese(s.replace("多", "").replace("余", ""))
    return value if value is not None and math.isfinite(value) else None


def _arabic(s: str) -> float | None:
    m = _ARABIC.fullmatch(s)
    if not m:
        return None
    try:
        return float(Decimal(m[1]) * _MULTIPLIER.get(m[2] or "", 1))
    except (InvalidOperation, OverflowError):
        return None


@functools.lru_cache(maxsize=4096)  # the same few numerals recur ("三", "十二"), and cn2an is slow to check one
def _chinese(s: str) -> float | None:
    whole, _, frac = s.partition("点")
    if not whole or any(c not in _CN_DIGIT for c in frac):
        return None
    if len(whole) > 2 and all(c in _CN_DIGIT for c in whole):  # "二〇二三": read digit by digit
        return float("".join(str(_CN_DIGIT[c]) for c in whole) + ("." + "".join(str(_CN_DIGIT[c]) for c in frac)
                                                                   if frac else ""))
    import cn2an  # on first use only: a Chinese numeral is rare beside Arabic digits

    try:  # strict: "三五" (a guess, not a count) and stray characters are refused
        value = cn2an.cn2an(s.replace("两", "二").replace("〇", "零"), "strict")
    except (ValueError, KeyError, IndexError, OverflowError):
        return None
    return float(value)
