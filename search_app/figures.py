"""Figure tables: every figure of the passages matching a query, with its period, kind and measure.

Period and kind (archive.periods) and measure (archive.measures) are computed here, at read
time, from the stored figure and its report, so a better rule or catalogue applies to an existing
index without reindexing. `year` stays the report's year; `period` is the year the figure measures.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from archive.measures import catalogue, describe, part_opens
from archive.models import Chunk, Document
from archive.periods import Report, find_nth, lead_in, occurrence, place
from archive.regions import find_mentions, names_government
from archive.services import Archive
from search_app.compare import _matches, sentence_matches
from search_app.labels import missing
from search_app.params import SearchParams
from search_app.query import highlight_needles
from search_app.service import passage_url


def report_of(doc: Document) -> Report:
    """What the period and kind rules need of a document."""
    return Report(doc.year, doc.doc_type, doc.covers, doc.title)


def figure_row(doc: Document, chunk: Chunk, fig: dict, q: str = "") -> dict:
    """One figure as the API serves it: where it is, what it says, when and what it measures."""
    nth = occurrence(chunk.text, fig)  # "2021年为100%，2022年为100%": each 100% read where it stands
    lead = lead_in(chunk.text, fig)  # "2022年收到行政复议申请58件；审结52件": 52件 is 2022's, and 行政复议's
    return {
        "region": doc.region, "year": doc.year, "label": fig["label"], "value": fig["value"],
        "value_high": fig.get("value_high"), "unit": fig["unit"], "text": fig.get("text", ""),
        "sentence": fig["sentence"], "chunk_id": chunk.chunk_id, "doc_id": doc.doc_id, "title": doc.title,
        "url": passage_url(doc.doc_id, chunk.anchor, q), "change": None,
        **place(fig["sentence"], fig.get("text", ""), report_of(doc), chunk.section, nth, lead).to_dict(),
        **(_NO_MEASURE if _of_another_government(doc, fig["label"])
           else describe(fig, nth, _whole_measure(chunk, fig, nth, lead), lead)),
    }


_NO_MEASURE = describe({})


def _of_another_government(doc: Document, label: str) -> bool:
    """Whether a figure's label opens with a government other than its report's (in 广元市's report "旺苍县收到
    行政复议申请45件" is 旺苍县's figure, in 旺苍县's "广元市受理…" the city's): no value of the report's measures."""
    if not doc.region or not label or doc.region in label[:_NAME_LONGEST]:  # 安康市恒口示范区… in 恒口示范区's
        return False
    mentions = find_mentions(label[:_NAME_LONGEST])
    first = mentions[0] if mentions else None
    if first is None or first.start or first.end >= len(label) or not names_government(label, first, mentions):
        return False
    return all(c.name != doc.region for c in first.candidates)


_NAME_LONGEST = 24  # characters: the longest chain a label opens with (内蒙古自治区呼伦贝尔市…)


def _whole_measure(chunk: Chunk, fig: dict, nth: int, lead: str = "") -> str | None:
    """The measure of the figure a 其中 clause around `fig` breaks down: the last one of its sentence before the
    clause opens (`archive.measures.part_opens`)."""
    opens = part_opens(fig, nth)
    if opens is None or not isinstance(fig.get("start"), int):
        return None
    sentence_at = fig["start"] - find_nth(fig["sentence"], fig["text"], nth)  # where the sentence is in the passage
    before = [f for f in chunk.figures if f.get("sentence") == fig["sentence"] and isinstance(f.get("start"), int)
              and f["start"] < sentence_at + opens]
    if not before:
        return None
    whole = before[-1]
    return describe(whole, occurrence(chunk.text, whole), lead=lead)["measure"]


def matching_figures(archive: Archive, params: SearchParams, in_sentence: bool = True) -> Iterator[dict]:
    """Rows of the figures in passages matching the query (BM25 order), each (region, year, figure) once.

    With `in_sentence`, only figures whose sentence holds the query's words: a passage about
    行政复议 also states 12345 volumes, which are not what was asked for.
    """
    parsed, chunks, docs = _matches(archive, params)
    needles = highlight_needles(parsed)
    seen = set()
    for chunk in chunks:
        doc = docs.get(chunk.doc_id)
        for fig in chunk.figures if doc else ():
            key = (doc.region, doc.year, fig["label"], fig["value"], fig["unit"], fig.get("text"))
            if key in seen or (in_sentence and not sentence_matches(fig["sentence"], needles)):
                continue
            seen.add(key)
            yield figure_row(doc, chunk, fig, params.q)


def figure_rows(archive: Archive, params: SearchParams) -> dict:
    """One row per (region, year, label, value, unit) from passages matching the query."""
    rows = list(matching_figures(archive, params))
    rows.sort(key=lambda r: (r["region"] or "", r["year"] or 0, r["label"], r["value"]))
    add_year_over_year(rows)
    return {"query": params.q, "rows": rows, "labels": _label_counts(rows), "measures": measure_counts(rows)}


def single_year(row: dict) -> int | None:
    """The one whole year a figure row measures; None for a span ("2021-2025"), a part of a year ("2023年上半年":
    not the year's value) or no period. Every table, chart and answer of one value a year goes by it."""
    if row.get("period_part") or row["period_from"] is None or row["period_from"] != row["period_to"]:
        return None
    return row["period_from"]


def _comparable_year(row: dict) -> int | None:
    """The single year a result row measures (its report's year for rows without a period)."""
    if row.get("kind", "result") != "result":
        return None  # a target or a plan is not a change
    if "period_from" not in row:
        return row["year"]
    return single_year(row)


def add_year_over_year(rows: list[dict]) -> None:
    """Set `change` on a result row when its region has the same measure (or label) in an earlier year.

    Only a single value per (region, year, measure, unit) is compared: two different 受理
    counts in one report are different things, and guessing which pairs up would invent data.
    """
    groups: dict[tuple, dict[int, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        year = _comparable_year(row)
        if year is not None:
            what = (row["measure"], row["measure_unit"]) if row.get("measure") else (row["label"], row["unit"])
            groups[(row["region"], *what)][year].append(row)
    for by_year in groups.values():
        # one value a year: the same value said twice (a report's own figure and the next report's "较2022年的…")
        # is one, two different ones are not paired
        years = sorted(y for y, rs in by_year.items() if len({_value(r) for r in rs}) == 1)
        for before, after in zip(years, years[1:]):
            old_v, new_v = _value(by_year[before][0]), _value(by_year[after][0])
            delta = new_v - old_v
            for new in by_year[after]:
                new["change"] = {"from_year": before, "previous": old_v, "delta": round(delta, 4),
                                 "ratio": round(delta / old_v, 4) if old_v else None}


def _value(row: dict) -> float:
    return row.get("measure_value") or row["value"]


def _label_counts(rows: list[dict]) -> list[dict]:
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for row in rows:
        counts[(row["label"], row["unit"])] += 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [{"label": label, "unit": unit, "count": n} for (label, unit), n in ranked]


def measure_counts(rows: list[dict]) -> list[dict]:
    """The measures among the rows: how many regions and figures each, most regions first."""
    regions: dict[str, set] = defaultdict(set)
    counts: dict[str, int] = defaultdict(int)
    for row in rows:
        if row.get("measure"):
            regions[row["measure"]].add(row["region"])
            counts[row["measure"]] += 1
    order = {m.id: i for i, m in enumerate(catalogue().measures)}
    ranked = sorted(counts, key=lambda m: (-len(regions[m]), -counts[m], order.get(m, 0)))
    cat = catalogue()
    return [{"measure": m, "name": cat.by_id(m).name, "unit": cat.by_id(m).unit, "regions": len(regions[m]),
             "count": counts[m]} for m in ranked if cat.by_id(m)]


def measures_found(archive: Archive, params: SearchParams) -> dict:
    """The measures the query's figures fall under, with counts (GET /api/v1/measures)."""
    return {"query": params.q, "measures": measure_counts(list(matching_figures(archive, params)))}


def series(rows: list[dict], measure: str) -> dict[str, list[tuple[int, float, str]]]:
    """(year, value, kind) of one measure per region, for the chart: single-year periods only.

    Per region and year the first result wins, and the first target; plans are not drawn.
    """
    out: dict[str, dict[tuple[int, str], float]] = defaultdict(dict)
    for row in rows:
        if (row.get("measure") == measure and row["kind"] in ("result", "target") and single_year(row) is not None
                and row["measure_value"] is not None):
            out[row["region"] or missing("region")].setdefault((row["period_from"], row["kind"]), row["measure_value"])
    return {region: sorted((y, v, k) for (y, k), v in points.items()) for region, points in sorted(out.items())}
