"""One measure across regions and periods: the region x period matrix, its chart series, and
the target a report set for a year beside the result a later report states for it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

from archive.errors import NotFound
from archive.measures import Measure, catalogue
from archive.periods import covered_year
from archive.services import Archive
from search_app.figures import matching_figures, measure_counts, report_of, series, single_year
from search_app.labels import missing
from search_app.params import SearchParams

KIND_ORDER = {"result": 0, "target": 1, "plan": 2}
KIND_NAMES = {"result": "实际", "target": "目标", "plan": "计划"}  # how pages and files name a figure's kind
STATE_NAMES = {"value": "有数值", "no_mention": "报告未提及", "no_report": "无该年度报告"}  # and a cell's state
VALUE_KEYS = ("value", "value_high", "unit", "text", "measure_value", "measure_value_high", "measure_unit", "kind",
              "period", "sentence", "url", "title", "doc_id", "chunk_id", "year")


def pick_measure(measure_id: str | None, counts: list[dict]) -> Measure | None:
    """The asked measure, else the one most regions report among `counts`; NotFound (404) for an unknown id."""
    cat = catalogue()
    if measure_id:
        found = cat.by_id(measure_id)
        if found is None:
            raise NotFound(f"没有编号为 {measure_id[:60]} 的指标（可用的指标见 /api/v1/measures）")
        return found
    return cat.by_id(counts[0]["measure"]) if counts else None


def measure_series(archive: Archive, params: SearchParams, measure_id: str | None = None,
                   counts: list[dict] | None = None) -> dict:
    """Region x period values of one measure, each with its passage; blank cells say why they are blank.

    Without `measure_id` the measure is the one most regions report for the query (`counts`, the
    query's measures, is computed when not given). Neither a query nor a measure: an empty series."""
    if counts is None:
        counts = measure_counts(list(matching_figures(archive, params))) if params.q else []
    measure = pick_measure(measure_id, counts)
    empty = {"query": params.q, "measure": None, "measure_name": None, "unit": None, "measures": counts,
             "regions": [], "periods": [], "cells": [], "chart": {}, "targets": []}
    if measure is None:
        return empty
    # The measure, not the query's words, decides which figures count: read whole passages.
    search = params if params.q else replace(params, q=measure.name)
    rows = [r for r in matching_figures(archive, search, in_sentence=False) if r["measure"] == measure.id]
    cells, regions, periods = _matrix(archive, params, rows)
    return {**empty, "measure": measure.id, "measure_name": measure.name, "unit": measure.unit,
            "regions": regions, "periods": [p for p, _, _ in periods], "cells": cells,
            "chart": series(rows, measure.id), "targets": targets_vs_results(rows)}


def _matrix(archive: Archive, params: SearchParams, rows: list[dict]):
    by_cell: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        if row["period"] is not None:
            by_cell[(row["region"] or missing("region"), row["period"])].append(row)
    regions = sorted({r for r, _ in by_cell})
    periods = sorted({(p, rows_[0]["period_from"], rows_[0]["period_to"]) for (_, p), rows_ in by_cell.items()},
                     key=lambda t: (t[1], t[2], t[0]))
    covered = _years_with_a_report(archive, params)
    cells = []
    for region in regions:
        for label, first, last in periods:
            values = sorted(by_cell.get((region, label), []), key=lambda r: (KIND_ORDER[r["kind"]], r["year"] or 0))
            state = "value" if values else (
                "no_mention" if any(y in covered.get(region, ()) for y in range(first, last + 1)) else "no_report")
            cells.append({"region": region, "period": label, "state": state,
                          "values": [{k: v[k] for k in VALUE_KEYS} for v in values]})
    return cells, regions, periods


def _years_with_a_report(archive: Archive, params: SearchParams) -> dict[str, set[int]]:
    """Per region, the years its reports speak about: the covered year and the report's own year."""
    wanted = set(params.filters().region)
    out: dict[str, set[int]] = defaultdict(set)
    for doc in archive.backend.list_documents():
        if doc.region and (not wanted or doc.region in wanted):
            out[doc.region].update(y for y in (doc.year, covered_year(report_of(doc))) if y is not None)
    return out


def targets_vs_results(rows: list[dict]) -> list[dict]:
    """Per region and year: the target a report set beside the result a later report states for it."""
    targets: dict[tuple, list[dict]] = defaultdict(list)
    results: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        if single_year(row) is None or row["measure_value"] is None:
            continue
        key = (row["region"] or missing("region"), row["period_from"])
        {"target": targets, "result": results}.get(row["kind"], {}).setdefault(key, []).append(row)
    out = []
    for (region, year), aims in sorted(targets.items()):
        aim = min(aims, key=lambda r: r["year"] or 0)  # the earliest report's target
        later = [r for r in results.get((region, year), []) if (r["year"] or 0) > (aim["year"] or 0)]
        got = min(later, key=lambda r: r["year"] or 0) if later else None
        out.append({"region": region, "period": str(year), "measure": aim["measure"], "unit": aim["measure_unit"],
                    "target": {k: aim[k] for k in VALUE_KEYS},
                    "result": {k: got[k] for k in VALUE_KEYS} if got else None,
                    "difference": round(got["measure_value"] - aim["measure_value"], 4) if got else None})
    return out


def flat_series_rows(data: dict, base_url: str) -> list[dict]:
    """The matrix as plain rows for a file: one per value, one per blank cell (its state says why)."""
    out = []
    for cell in data["cells"]:
        base = {"region": cell["region"], "period": cell["period"], "state": cell["state"],
                "measure": data["measure"], "measure_name": data["measure_name"]}
        if not cell["values"]:
            out.append(base)
        for v in cell["values"]:
            out.append({**base, **v, "url": base_url + v["url"]})
    return out


def matrix_table(data: dict) -> tuple[list[str], list[dict]]:
    """The region x period table as the page shows it, for a spreadsheet: a row per region, a column per
    period; a cell holds its values as written ("406件", a target marked 目标) or why it is blank."""
    columns = ["地区", *data["periods"]]
    rows = []
    for region in data["regions"]:
        row = {"地区": region}
        for cell in (c for c in data["cells"] if c["region"] == region):
            written = [v["text"] + ("" if v["kind"] == "result" else f"（{KIND_NAMES.get(v['kind'], v['kind'])}）")
                       for v in cell["values"]]
            row[cell["period"]] = "；".join(written) if written else STATE_NAMES[cell["state"]]
        rows.append(row)
    return columns, rows
