"""A question answered by its figure: "太原市2021年办理了多少行政复议案件" -> 248件, with its sentence.

A query is a question when it names a measure of the catalogue, a region and a year. Then the
region's reports are read for figures of that measure whose period is that year (results first),
and the answer is the figure with its report and sentence, or an honest 未找到 that says what the
archive lacks: the region, the year's report, or the figure in it.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass

from archive.measures import Measure, catalogue, topic_of
from archive.models import Document
from archive.periods import covered_year, mentions
from archive.services import Archive
from archive.text import DATA_DIR, fold, normalise
from search_app.figures import figure_row, report_of, single_year
from search_app.params import SearchParams
from search_app.query import parse_query

WORDS = DATA_DIR / "questions.json"
KIND_ORDER = {"result": 0, "target": 1, "plan": 2}


@dataclass(frozen=True)
class Question:
    """What a question asks: a measure, a region (as typed or as the archive names it) and a year."""

    measure: Measure
    region: str | None
    year: int


@functools.cache
def _words() -> dict:
    data = json.loads(WORDS.read_text(encoding="utf-8"))
    suffixes = "|".join(map(re.escape, data["region_suffixes"]))
    data["region_before_year"] = re.compile(rf"([\u4e00-\u9fff]{{1,12}}?(?:{suffixes}))\s*$")
    return data


def asked_measure(text: str) -> Measure | None:
    """The catalogue measure a question names: its topic, then the longest wording; rates when it asks for one."""
    folded, topic = fold(text), topic_of(text, "")
    wants_rate = any(w in text for w in _words()["rate_words"])
    best, score = None, ((0, 0), False)
    for m in catalogue().measures:
        if m.topic is not None and m.topic != topic:
            continue
        fit = m.fit(folded)
        candidate = (fit, (m.family == "比率") == wants_rate)
        if fit > (0, 0) and candidate > score:
            best, score = m, candidate
    return best


def short_names(regions: set[str]) -> dict[str, str]:
    """Each region's name and its name without the suffix (太原市 and 太原), mapped to the name."""
    out = {r: r for r in regions}
    for region in regions:
        for suffix in _words()["region_suffixes"]:
            if region.endswith(suffix) and len(region) - len(suffix) >= 2:
                out.setdefault(region[:-len(suffix)], region)
                break
    return out


def asked(q: str) -> tuple[Measure, int, str] | None:
    """The measure and year a query asks about, with the text before the year; None for no question."""
    text = normalise(q or "")
    years = [a for _, a, b in mentions(text, None) if a == b]
    measure = asked_measure(text) if years else None
    return None if measure is None else (measure, years[0], text[:text.find(str(years[0]))])


def parse_question(q: str, known: dict[str, str]) -> Question | None:
    """The question in a query, or None; `known` maps the archive's region names (and short forms) to names.

    A region the archive lacks still counts when its name stands right before the year ("北京市2021年…").
    """
    found = asked(q)
    if found is None:
        return None
    measure, year, before = found
    text = normalise(q)
    named = [name for name in known if name in text]
    if named:
        return Question(measure, known[max(named, key=len)], year)
    m = _words()["region_before_year"].search(before)
    return Question(measure, m[1], year) if m and len(m[1]) >= 2 else None


def answer_for(archive: Archive, params: SearchParams) -> dict | None:
    """The answer card for a question-like query (None when the query is no question)."""
    if not params.q or asked(params.q) is None:  # cheap, and most queries stop here
        return None
    docs = archive.backend.list_documents()
    known = short_names({d.region for d in docs if d.region})
    question = parse_question(params.q, known)
    if question is None and len(region := params.filters(parse_query(params.q)).region) == 1:
        question = parse_question(region[0] + params.q, known)
    return None if question is None else lookup(archive, question, docs)


def lookup(archive: Archive, question: Question, docs: list[Document]) -> dict:
    """The figure that answers a question, from the region's reports, or 未找到 with the reason."""
    m, region, year = question.measure, question.region, question.year
    asked = {"measure": m.id, "measure_name": m.name, "region": region, "period": str(year)}
    mine = [d for d in docs if d.region == region]
    rows = []
    for doc in mine:
        for chunk in archive.backend.get_chunks(doc.doc_id):
            for fig in chunk.figures:
                row = figure_row(doc, chunk, fig)
                if row["measure"] == m.id and single_year(row) == year:
                    rows.append(row)
    if rows:
        rows.sort(key=lambda r: (KIND_ORDER[r["kind"]], covered_year(_report(r, mine)) != year))
        return {"status": "found", "question": asked, "message": None, **rows[0], "others": rows[1:5]}
    if not mine:
        message = f"未找到：档案中没有{region}的报告。"
    elif not any(year in (d.year, covered_year(report_of(d))) for d in mine):
        message = f"未找到：档案中没有{region}{year}年的报告。"
    else:
        message = f"未找到：{region}{year}年的报告中没有“{m.name}”的数字。"
    return {"status": "not_found", "question": asked, "message": message}


def _report(row: dict, docs: list[Document]):
    return report_of(next(d for d in docs if d.doc_id == row["doc_id"]))
