"""When a figure is measured and whether it is achieved: its `period` and its `kind`.

A report's `year` is the report's, not the fact's: a 2023 plan restates 2022's results, a
政府工作报告 delivered in 2026 reviews 2025 ("过去一年…增长5.4%") and sets 2026's targets. So each
figure gets, from its sentence and its report:

- period: the last time expression before the figure in its sentence (2022年, 2021-2025年,
  “十四五”, 去年/上年/过去一年/今年 counted from the report's own year), else one in its section
  heading, else the year the report covers (results) or the report's own year (targets, plans).
  A year after 比/较/与 is a baseline ("较2022年增长"), not the period.
- kind: `target` when a goal word stands in the figure's clause (力争, 确保, 目标 …, or a "目标是：" lead)
  or its section is one of targets ("主要预期目标"); `result` for a past period written in its sentence,
  lead or section, even after a limit word ("2023年失业率控制在4%以内" in a 2024 政府工作报告); `target`
  after a limit word (不低于, 控制在 …) otherwise, or when a bound follows it (左右, 以上) in a
  forward-looking context; `plan` for the other
  figures of a plan or of a forward-looking section or year; `result` otherwise.

The words are data (`data/periods.json`); the rules are pure functions of the stored figure
and its report, applied at read time so that improving them needs no reindex.

Why not a time-expression library: jionlp 1.5.31 (measured 2026-12-01) parses 去年/上年/2021-2025年
correctly given a base time, but it only parses an expression already cut out (its extractor is
gone from this version), reads 过去一年 as the twelve months up to the base date (spanning two
years), and installs 218 MB (jionlp + jiojio). The expressions reports use here are few and are
data in `periods.json`; finding them is one regular expression.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from archive.text import simplified, years_as_digits

WORDS = Path(__file__).parent / "data" / "periods.json"
_SHIELD = re.compile(r"《[^《》]*》|〔[^〔〕]*〕|\[[^\[\]]*\]")
_CLAUSE = re.compile(r"[,，;；]")
_YEAR = r"(?:19[5-9]\d|20\d\d)"


@dataclass(frozen=True)
class Report:
    """What the rules need of a report (archive.models.Document has all of it)."""

    year: int | None
    doc_type: str = "其他"
    covers: int | None = None
    title: str = ""


@dataclass(frozen=True)
class Placed:
    """A figure's period (first and last year, equal for one year) and kind."""

    start: int | None
    end: int | None
    kind: str
    part: str | None = None  # the part of its one year a figure measures: "上半年", "前三季度", "1-9月"

    @property
    def label(self) -> str | None:
        if self.start is None:
            return None
        if self.start != self.end:
            return f"{self.start}-{self.end}"
        return f"{self.start}年{self.part}" if self.part else str(self.start)

    def to_dict(self) -> dict:
        return {"period": self.label, "period_from": self.start, "period_to": self.end, "period_part": self.part,
                "kind": self.kind}


@functools.cache
def words(path: Path = WORDS) -> dict:
    """The word lists of `data/periods.json`, read once, with the time pattern built from them."""
    data = json.loads(path.read_text(encoding="utf-8"))
    relative = "|".join(sorted(map(re.escape, data["relative"]), key=len, reverse=True))
    spans = "|".join(map(re.escape, data["spans"]))
    count = r"(?:[二两三四五六七八九十]|[2-9]|10)"
    data["pattern"] = re.compile(
        rf"(?P<a>{_YEAR})\s*年?\s*(?:[-—–~至到]|——)\s*(?P<b>{_YEAR})\s*年"
        rf"|(?P<since>{_YEAR})\s*年\s*(?:{_alternation(data['since_after'])})|(?P<y>{_YEAR})\s*年(?!代)"
        rf"|(?P<r>{relative})|(?P<s>{spans})"
        rf"|(?:{_alternation(data['last_years_before'])})(?P<last>{count})\s*年(?:来|间)?|(?P<last2>{count})\s*年来"
        rf"|(?:{_alternation(data['next_years_before'])})(?P<next>{count})\s*年")
    data["part_pattern"] = re.compile(
        rf"(?P<named>{_alternation(data['year_parts'])})|(?P<whole>{_alternation(data['whole_year'])})"
        r"|(?P<m1>1[0-2]|0?[1-9])\s*(?:月份?)?\s*(?:[-—–~至到]|——)\s*(?P<m2>1[0-2]|0?[1-9])\s*月(?:份|底|末)?"
        r"|截[至止]\s*(?:(?:19|20)\d{2}\s*年)?\s*(?P<to>1[0-2]|0?[1-9])\s*月(?:份|底|末)?"
        r"|(?<=年)\s*(?P<by>1[0-2]|0?[1-9])\s*月(?:底|末)")
    return data


_OWN_VALUE = re.compile(r"的\s*(?:[0-9零〇一二两三四五六七八九十]|$)")  # "X年的" and a number (or the figure itself)


def _alternation(words: list[str]) -> str:
    return "|".join(sorted(map(re.escape, words), key=len, reverse=True))


_COUNT = {"二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}


def covered_year(report: Report) -> int | None:
    """The year a report's results are about: `covers`, else the year before a review's delivery."""
    if report.covers is not None:
        return report.covers
    if report.year is not None and report.doc_type in words()["review_doc_types"]:
        return report.year - 1
    return report.year


def is_plan(report: Report) -> bool:
    """A work plan: its figures are planned unless a sentence reports a past year."""
    w = words()
    return report.doc_type in w["plan_doc_types"] or any(t in (report.title or "") for t in w["plan_title_words"])


def first_planned_year(report: Report) -> int | None:
    """The first year a report looks forward to: a plan's own year, the year after the covered one otherwise."""
    if is_plan(report):
        return report.year
    covered = covered_year(report)
    return None if covered is None else covered + 1


def mentions(text: str, anchor: int | None, report: Report | None = None) -> list[tuple[int, int, int]]:
    """(end offset, first year, last year) of every time expression in `text`, in order. `anchor`: the year relative
    words count from (去年 is anchor - 1); `report`, where known, says which years "过去五年", "近三年", "2019年以来"
    end at (the year it covers) and "今后五年" starts at (the first it plans for); else `anchor` and the year after."""
    w = words()
    out = []
    for m in w["pattern"].finditer(text):
        if m.start() and text[m.start() - 1] in w["compare_before"] and not _OWN_VALUE.match(text, m.end()):
            continue  # "较2022年增长": a baseline; but "较2022年的25.1万件" is 2022's value
        if m["a"]:
            first, last = int(m["a"]), int(m["b"])
            if first > last:
                continue
        elif m["y"]:
            first = last = int(m["y"])
        elif m["s"]:
            first, last = w["spans"][m["s"]]
        elif m["since"] and anchor is None:  # up to when is not known: the year written
            first = last = int(m["since"])
        elif anchor is None:
            continue
        elif m["r"]:
            first = last = anchor + w["relative"][m["r"]]
        else:
            covered = (covered_year(report) if report else None) or anchor
            if m["since"]:
                first, last = int(m["since"]), covered
                if first > last:
                    continue
            elif m["next"]:
                first = (first_planned_year(report) if report else None) or anchor + 1
                last = first + _years(m["next"]) - 1
            else:  # the last n years, up to the one covered
                last, first = covered, covered - _years(m["last"] or m["last2"]) + 1
        out.append((m.end(), first, last))
    return out


def _years(count: str) -> int:
    return int(count) if count.isdigit() else _COUNT[count]


# "由上年的95%提高到98%": a time written as "X年的" before a number is that number's; a figure after it is not.
_BOUND_ELSEWHERE = re.compile(r"的\s*(?:[0-9]|[零〇一二两三四五六七八九十百千])")


def _view(text: str) -> str:
    """Full-width digits as ASCII, years in Chinese numerals as digits (二〇二三年 is 2023年, as long), traditional
    characters simplified (力爭 is 力争), titles and document numbers blanked (their years name things)."""
    text = years_as_digits(simplified(unicodedata.normalize("NFKC", text or "")))
    return _SHIELD.sub(lambda m: " " * len(m[0]), text)


@functools.lru_cache(maxsize=65536)  # pure, and the same figures are read on every request
def place(sentence: str, text: str, report: Report, section: str = "", nth: int = 0, lead: str = "") -> Placed:
    """The period and kind of the figure written as `text` in `sentence` of `report`: its `nth` occurrence there
    (0, the first; see `occurrence`). `lead`: the clauses before the sentence that it goes on from after a "；"
    (`lead_in`); where the sentence writes no time, the year the lead last names is the figure's ("2022年收到
    申请58件；审结52件": 52件 is 2022's), before its section's."""
    if nth and (at := find_nth(sentence, text, nth)) >= 0:  # a later occurrence: the sentence cut there
        before, after = _view(sentence[:at]), _view(sentence[at + len(text):])
    else:  # the first outside titles and document numbers (a figure is never inside one)
        view, written = _view(sentence), unicodedata.normalize("NFKC", text or "")
        at = view.find(written) if written else -1
        before, after = (view[:at], view[at + len(written):]) if at >= 0 else (view, "")
    section = _view(section)
    written = [m for m in mentions(before, report.year, report) if not _BOUND_ELSEWHERE.match(before, m[0])]
    if not written and lead:
        lead = _view(lead)
        led = [m for m in mentions(lead, report.year, report) if not _BOUND_ELSEWHERE.match(lead, m[0])][-1:]
        if led and led[0][1] == led[0][2]:  # one year: a span or "以来" before a "；" is the lead's own sum
            before, written = lead + before, led
    found = written or mentions(section, report.year, report)
    period = _respective(before, after, report.year) or ((found[-1][1], found[-1][2]) if found else None)
    kind = kind_of(before, after, report, section, period)
    if period is None:  # no time written: a result is of the year covered, a plan ahead of it of the year after
        year = (covered_year(report) if kind == "result" else first_planned_year(report) if looks_ahead(report, section)
                else report.year)
        period = (year, year)
    part = part_of_year(before, written[-1][0] if written else 0) if period[0] == period[1] else None
    return Placed(period[0], period[1], kind, part)


_YEAR_WRITTEN = len("截至2023年")  # a part may open before its year: searched from that far back
_PART_JOINER = re.compile(r"\s*[、和及与]\s*")


def part_of_year(before: str, since: int = 0) -> str | None:
    """The part of a year a figure measures, from the words before it after `since` (where its year is written):
    "上半年", "前三季度", "1-6月", "截至9月底" (1-9月), "上半年、下半年" for a list of them; None for a whole year, also
    where 全年 or 年底 comes after the part ("上半年受理36件，全年受理80件")."""
    found = list(words()["part_pattern"].finditer(before, max(0, since - _YEAR_WRITTEN)))
    if not found or found[-1]["whole"]:
        return None
    listed = [found[-1]]
    for earlier in reversed(found[:-1]):
        if earlier["whole"] or not _PART_JOINER.fullmatch(before, earlier.end(), listed[0].start()):
            break
        listed.insert(0, earlier)
    parts = [_part_name(m) for m in listed]
    return None if None in parts else "、".join(parts)


def _part_name(m: re.Match) -> str | None:
    if m["named"]:
        return m["named"]
    first, last = (int(m["m1"]), int(m["m2"])) if m["m1"] else (1, int(m["to"] or m["by"]))
    if not 1 <= first <= last <= 12:
        return None
    return None if (first, last) == (1, 12) else f"{first}-{last}月"


_NUMBER = re.compile(r"[0-9]+(?:[.,][0-9]+)*")


_TIME_JOINER = re.compile(r"[、和及与至\s]*")


_NEXT_IN_LIST = re.compile(r"\s*[、和及与]\s*[0-9零〇一二两三四五六七八九十]")


def _respective(before: str, after: str, anchor: int | None) -> tuple[int, int] | None:
    """"2022年、2023年收案数分别为120件、135件" (分别 or not): the nth figure of a list after a list of times is of
    the nth time. A figure alone after years that follow one another ("2021年、2022年共收到120件") is of all of them,
    first to last, never of the last alone; after other times it is left to the rule for one."""
    clause = _CLAUSE.split(before)[-1]
    times = mentions(clause, anchor)  # the times of a list are years or relative words, never spans of n years
    if len(times) < 2:
        return None
    # the times listed one after the other, last first: "2022年、2023年", "上年和今年"
    listed = [times[-1]]
    for earlier in reversed(times[:-1]):
        following = words()["pattern"].search(clause, earlier[0])  # the time written after this one
        if following is None or not _TIME_JOINER.fullmatch(clause, earlier[0], following.start()):
            break
        listed.insert(0, earlier)
    at = clause.rfind("分别")
    nth = len(_NUMBER.findall(clause, at + 2 if at >= 0 else listed[-1][0]))
    if len(listed) < 2 or nth >= len(listed):
        return None
    if nth == 0 and not _NEXT_IN_LIST.match(after):
        years = [first for _, first, last in listed if first == last]
        following = len(years) == len(listed) and years == list(range(years[0], years[0] + len(years)))
        return (years[0], years[-1]) if following else None
    return listed[nth][1], listed[nth][2]


_LEAD_END = re.compile(r"[;；]\s*$")
_SENTENCE_END = re.compile(r"[。!?！？\n]")


def lead_in(passage: str, fig: dict) -> str:
    """The clauses of `passage` before a stored figure's `sentence` that the sentence goes on from: where the
    sentence follows a "；" ("2022年全县收到申请58件；审结52件"), the text back to the sentence end before it; "" where
    it opens a sentence of its own, or the passage does not hold it around the figure."""
    at = _sentence_place(passage, fig)
    if at is None or not _LEAD_END.search(passage, max(0, at - 4), at):
        return ""
    starts = [m.end() for m in _SENTENCE_END.finditer(passage, max(0, at - _LEAD_LONGEST), at)]
    return passage[starts[-1] if starts else max(0, at - _LEAD_LONGEST):at]


_LEAD_LONGEST = 400  # characters: a lead longer than this is cut to its end


def _sentence_place(passage: str, fig: dict) -> int | None:
    """Where in `passage` the `sentence` around a stored figure starts, or None where it is not there."""
    sentence, text, start = fig.get("sentence", ""), fig.get("text", ""), fig.get("start")
    if not sentence or not text or not isinstance(start, int):
        return None
    at = passage.find(sentence)
    while at >= 0 and at + len(sentence) < start + len(text):  # the sentence's place that holds the figure
        at = passage.find(sentence, at + 1)
    if at < 0 or at > start or passage[start:start + len(text)] != text:
        return None
    return at


def occurrence(passage: str, fig: dict) -> int:
    """Which occurrence of a stored figure's `text` in its `sentence` the figure is (0, the first), from its
    `start` in the passage: in "办结率2021年为100%，2022年为100%" the second 100% is measured in 2022, not 2021.
    0 where the passage does not hold the sentence around the figure (a figure without its passage)."""
    sentence, text = fig.get("sentence", ""), fig.get("text", "")
    if not text or sentence.count(text) < 2 or (at := _sentence_place(passage, fig)) is None:
        return 0
    return sentence.count(text, 0, fig["start"] - at)


def find_nth(text: str, part: str, nth: int) -> int:
    """Where the `nth` occurrence (0, the first) of `part` in `text` starts, or the first where there are fewer."""
    at = text.find(part)
    first = at
    for _ in range(nth):
        at = text.find(part, at + len(part))
        if at < 0:
            return first
    return at


def looks_ahead(report: Report, section: str) -> bool:
    """Whether what `section` of `report` says is planned: a plan's, or a forward-looking section's (下一步工作打算,
    a 政府工作报告's 重点工作)."""
    w = words()
    return (is_plan(report) or any(s in section for s in w["forward_sections"])
            or (report.doc_type in w["review_doc_types"] and any(s in section for s in w["review_forward_sections"])))


def kind_of(before: str, after: str, report: Report, section: str, period: tuple[int, int] | None) -> str:
    """result, target or plan, from the words around a figure and where its report stands in time."""
    w = words()
    clause = _CLAUSE.split(before)[-1]
    lead = before[:before.rfind("：")] if "：" in before else before[:before.rfind(":")] if ":" in before else ""
    goal, limit = (any(t in clause or t in lead for t in w[key]) for key in ("targets", "limits"))
    if goal or any(t in section for t in w["target_sections"]):
        return "target"
    planned = first_planned_year(report)
    if period is not None and planned is not None and period[1] < planned:
        return "result"  # a time written and past: what was achieved, even "控制在4%以内"
    if limit:
        return "target"
    forward = looks_ahead(report, section) or (period is not None and planned is not None and period[0] >= planned)
    own = _CLAUSE.split(after)[0]
    if forward and any(own.lstrip().startswith(b) for b in w["bounds"]):
        return "target"
    return "plan" if forward else "result"
