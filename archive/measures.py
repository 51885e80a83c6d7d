"""What a figure measures: the catalogue of canonical measures in `data/measures.json`, and the mapping.

A figure's label ("市行政复议办公室办理行政复议案件", "办结", "12345热线受理市民来电") maps to one
measure of the catalogue, or to none. The rule, in order:

1. The figure's unit must belong to the measure's family (件 and 万件 are one family, % another):
   "地区生产总值1.2万亿元" and "地区生产总值增长5.4%" are two measures under one wording.
2. The topic (行政复议, 12345热线, 建议提案 …): the topic named in the label, else the one named
   nearest before the figure in its sentence. "…收到行政复议申请36件，受理31件" makes the bare 受理
   a 行政复议 figure; "办理人大代表建议和政协提案，目前共办结41件" keeps 办结 away from 12345.
   A measure bound to a topic fits only figures of that topic.
3. Among the measures left, the one with the longest wording found in the label wins (the
   catalogue's order breaks ties); a wording that only names what is counted (`objects`: 复议案件,
   矛盾纠纷) counts after every wording that says what was done with it: "审结行政复议案件52件" is
   cases closed, not cases handled, and "成功调解矛盾纠纷" disputes settled. A label that only says
   how a figure changed ("增长", in "地区生产总值完成1836亿元，增长5.1%") takes the wording nearest
   before it in its sentence, of a measure that is a change itself (`change`): "办理案件52件，较上年
   下降12件" is no count of cases.

Values are converted to the measure's unit (17.92万件 is 179200件; 650亿斤 is 3250万吨), the
original value and unit staying on the figure. Everything is computed at read time from the
stored figure, so a better catalogue applies to an existing index without reindexing.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

from archive.periods import find_nth
from archive.text import fold

CATALOGUE = Path(__file__).parent / "data" / "measures.json"


@dataclass(frozen=True)
class Measure:
    """One canonical measure: what it counts, in which unit, under which wordings."""

    id: str
    name: str
    family: str
    unit: str
    topic: str | None
    wordings: tuple[str, ...]
    excludes: tuple[str, ...] = ()  # words of a label that say it counts something else ("上年结转…申请")
    change: bool = False  # a change itself (增长, 涨幅): what a bare "增长5.1%" after its subject can measure
    objects: tuple[str, ...] = ()  # wordings naming only what is counted ("复议案件"): weaker than any other

    def fit(self, folded: str) -> tuple[int, int]:
        """How well a folded label (or question) names this measure: the longest wording found in it, then the
        longest object; (0, 0) for none."""
        return (max((len(w) for w in self.wordings if w in folded), default=0),
                max((len(w) for w in self.objects if w in folded), default=0))


@dataclass(frozen=True)
class Catalogue:
    """Measures, unit families and topic words, as loaded from the data file."""

    measures: tuple[Measure, ...]
    families: dict[str, dict[str, float]]  # family -> unit -> factor to the family's base unit
    topics: dict[str, tuple[str, ...]]  # topic id -> folded words that name it
    topic_names: dict[str, str]
    change_labels: frozenset[str] = frozenset()  # labels that only say how a figure changed ("增长")

    def by_id(self, measure_id: str) -> Measure | None:
        return next((m for m in self.measures if m.id == measure_id), None)


@functools.cache
def catalogue(path: Path = CATALOGUE) -> Catalogue:
    """The catalogue of `data/measures.json`, read once on first use."""
    data = json.loads(path.read_text(encoding="utf-8"))
    measures = tuple(Measure(m["id"], m["name"], m["family"], m["unit"], m.get("topic"),
                             tuple(fold(w) for w in m["wordings"]), tuple(fold(w) for w in m.get("excludes", ())),
                             bool(m.get("change")), tuple(fold(w) for w in m.get("objects", ())))
                     for m in data["measures"])
    families = {name: {unit: float(f) for unit, f in fam["units"].items()} for name, fam in data["families"].items()}
    topics = {tid: tuple(fold(w) for w in t["words"]) for tid, t in data["topics"].items()}
    return Catalogue(measures, families, topics, {tid: t["name"] for tid, t in data["topics"].items()},
                     frozenset(fold(w) for w in data.get("change_labels", ())))


def family_of(unit: str, cat: Catalogue | None = None) -> str | None:
    """The unit family a unit belongs to ("万件" -> "件数"), or None."""
    cat = cat or catalogue()
    return next((name for name, units in cat.families.items() if unit in units), None)


def topic_of(label: str, before: str, cat: Catalogue | None = None) -> str | None:
    """The topic a label names, else the one named last in the text before the figure."""
    cat = cat or catalogue()
    folded = fold(label)
    for tid, words in cat.topics.items():
        if any(w in folded for w in words):
            return tid
    best, at = None, -1
    context = fold(before)
    for tid, words in cat.topics.items():
        for w in words:
            pos = context.rfind(w)
            if pos >= 0 and pos + len(w) > at:
                best, at = tid, pos + len(w)
    return best


def measure_of(label: str, unit: str, sentence: str = "", text: str = "",
               cat: Catalogue | None = None, nth: int = 0, lead: str = "") -> Measure | None:
    """The catalogue's measure for a figure's label and unit, in the context of its sentence (the words before
    its `nth` occurrence there, `archive.periods.occurrence`) and of the `lead` it goes on from after a "；"
    (`archive.periods.lead_in`: "收到行政复议申请58件；审结52件" closed 52 行政复议 cases)."""
    cat = cat or catalogue()
    family = family_of(unit, cat)
    if family is None or not label:
        return None
    if "、" in label and _topics_listed(label, cat):  # "办理行政复议、行政应诉案件86件": a total of two, none's
        return None
    cut = find_nth(sentence, text, nth) if text else -1
    before = lead + (sentence[:cut] if cut >= 0 else sentence)
    topic = topic_of(label, before, cat)
    folded = fold(label)
    fits = [m for m in cat.measures if m.family == family and (m.topic is None or m.topic == topic)
            and not any(w in folded for w in m.excludes)]
    if folded in cat.change_labels:  # "…地区生产总值完成1836亿元，增长5.1%": the subject comes before
        # only a measure that is a change: "办理案件52件，较上年下降12件" is no count of cases, "办结率98%，同比
        # 提高2%" no 办结率
        return _nearest_wording([m for m in fits if m.change], fold(before))
    best, score = None, (0, 0)
    for m in fits:
        if (found := m.fit(folded)) > score:
            best, score = m, found
    return best


def _topics_listed(label: str, cat: Catalogue) -> bool:
    """Whether a label's 、-listed subjects name two topics or more (行政复议、行政应诉)."""
    return len({topic_of(item, "", cat) for item in label.split("、")} - {None}) > 1


_EXCLUDE_REACH = 6  # how far before a wording an excluding word still names its subject ("人均" before 地区生产总值)


def _nearest_wording(fits: list[Measure], before: str) -> Measure | None:
    """The measure whose wording ends nearest the figure in `before` (the longer wording on a tie)."""
    best, key = None, (-1, 0)
    for m in fits:
        for w in m.wordings:
            at = before.rfind(w)
            if at >= 0 and any(x in before[max(0, at - _EXCLUDE_REACH):at + len(w)] for x in m.excludes):
                continue  # "人均地区生产总值…，增长5.1%": the subject is another thing
            if at >= 0 and (at + len(w), len(w)) > key:
                best, key = m, (at + len(w), len(w))
    return best


def convert(value: float | None, unit: str, to_unit: str, cat: Catalogue | None = None) -> float | None:
    """`value` in `unit` expressed in `to_unit` of the same family; None when they are not comparable."""
    cat = cat or catalogue()
    family = family_of(unit, cat)
    if value is None or family is None or to_unit not in cat.families[family]:
        return None
    units = cat.families[family]
    return round(value * units[unit] / units[to_unit], 6)


@functools.lru_cache(maxsize=65536)
def _cached_measure(label: str, unit: str, sentence: str, text: str, nth: int, lead: str) -> Measure | None:
    return measure_of(label, unit, sentence, text, nth=nth, lead=lead)  # the same figures, read on every request


def part_opens(fig: dict, nth: int = 0) -> int | None:
    """Where, in its sentence, the 其中 clause a figure stands in opens ("收到申请120件，其中当面申请3件、网络申请
    100件": 3件 and 100件 are parts of what was said before it), or None when it stands in no such clause."""
    sentence, text = fig.get("sentence", ""), fig.get("text", "")
    at = find_nth(sentence, text, nth) if text else -1
    if at < 0:
        return None
    opens = max(sentence.rfind(mark, 0, at) for mark in _CLAUSE_MARKS) + 1
    return opens if sentence[opens:at].lstrip().startswith("其中") else None


_CLAUSE_MARKS = ",，;；"


def describe(fig: dict, nth: int = 0, whole: str | None = None, lead: str = "") -> dict:
    """A stored figure's measure and its value in the measure's unit (None where no measure fits); `nth`: which
    occurrence of its text in its sentence the figure is (`archive.periods.occurrence`). `whole`: the measure of the
    figure a 其中 clause breaks down (`part_opens`), if this figure stands in one: a part of it is not that measure
    ("收到政府信息公开申请120件，其中当面申请3件": 3件 is not the applications received), another measure stays
    ("收到行政复议申请52件，其中受理47件"). `lead`: the clauses its sentence goes on from (`measure_of`)."""
    m = _cached_measure(fig.get("label", ""), fig.get("unit", ""), fig.get("sentence", ""), fig.get("text", ""), nth,
                        lead)
    if m is not None and whole is not None and m.id == whole:
        m = None
    if m is None:
        return {"measure": None, "measure_name": None, "measure_value": None, "measure_value_high": None,
                "measure_unit": None}
    return {"measure": m.id, "measure_name": m.name, "measure_value": convert(fig.get("value"), fig["unit"], m.unit),
            "measure_value_high": convert(fig.get("value_high"), fig["unit"], m.unit), "measure_unit": m.unit}
