"""All rows of a search, a figures table or a grid as CSV (UTF-8 with BOM, for Excel and WPS), XLSX or JSON.

CSV and XLSX speak Chinese (headers, kind names, file names: search_app/export_format.py); JSON keeps
the API's English keys."""

from __future__ import annotations

import csv
import io
import json
import re

from flask import Response

from search_app.export_format import FORMULA_STARTS, content_disposition, csv_cell, header, neutralise, today
from search_app.measure_series import KIND_NAMES, STATE_NAMES, flat_series_rows
from search_app.params import SearchParams

__all__ = ["COLUMNS", "FORMATS", "FORMULA_STARTS", "all_hits", "as_csv", "flat_rows", "grid_matrix", "neutralise",
           "response"]

_TAGS = re.compile(r"</?mark>")
FORMATS = ("csv", "xlsx", "json")
MIME = {"csv": "text/csv; charset=utf-8", "json": "application/json",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}

COLUMNS = {
    "search": ("region", "year", "doc_type", "title", "section", "text", "score", "matched", "url"),
    "figures": ("region", "year", "label", "value", "value_high", "unit", "change", "change_ratio",
                "text", "sentence", "title", "url"),
    "grid": ("region", "year", "state", "title", "section", "snippet", "url"),
    "grid-matrix": (),  # its columns are the grid's years (grid_matrix)
    "matrix": (),  # its columns are the periods of the data (measure_series.matrix_table)
    "series": ("region", "period", "state", "measure", "measure_name", "kind", "measure_value", "measure_value_high",
               "measure_unit", "value", "unit", "text", "sentence", "year", "title", "url"),
}
STATES = {"match": "有相关内容", "no_mention": "报告未提及", "no_report": "无该年度报告"}


def all_hits(archive, params: SearchParams) -> list[dict]:
    """Every member of the search's result set (the rows `total` counts), in its order."""
    from search_app import search, service

    result = search.result_set(archive, params)
    return service.hits(archive, result, result.items)


def flat_rows(kind: str, data, base_url: str) -> list[dict]:
    """Rows of plain values for a file: no HTML, absolute links."""
    if kind == "search":
        return [{**h, "matched": ",".join(h["matched"]), "url": base_url + h["url"]} for h in data]
    if kind == "series":
        return [{**r, "state": STATE_NAMES[r["state"]], "kind": KIND_NAMES.get(r.get("kind"), "")}
                for r in flat_series_rows(data, base_url)]
    if kind == "figures":
        return [{**r, "change": (r["change"] or {}).get("delta"), "change_ratio": (r["change"] or {}).get("ratio"),
                 "url": base_url + r["url"]} for r in data["rows"]]
    return [{"region": c["region"], "year": c["year"], "state": STATES[c["state"]],
             **({"title": c["hit"]["title"], "section": c["hit"]["section"],
                 "snippet": _plain(c["hit"]["snippet"]), "url": base_url + c["hit"]["url"]} if c["hit"] else {})}
            for c in data["cells"]]


def grid_matrix(data: dict) -> tuple[list[str], list[dict]]:
    """The region x year grid as the page shows it: a row per region, a column per year; a cell holds
    the passage shown (its region first when rows are provinces or cities) or why there is none."""
    columns = ["地区", *(str(y) for y in data["years"])]
    rows = {region: {"地区": region} for region in data["regions"]}
    for c in data["cells"]:
        shown = STATES[c["state"]]
        if c["hit"]:
            shown = _plain(c["hit"]["snippet"])
            if data.get("rollup", "region") != "region":
                shown = f"{c['hit']['region']}：{shown}"
        rows[c["region"]][str(c["year"])] = shown
    return columns, list(rows.values())


def _plain(html: str) -> str:
    from html import unescape

    return unescape(_TAGS.sub("", html))


def as_csv(kind: str, rows: list[dict], columns: list[str] | None = None) -> str:
    """The rows as CSV: BOM, Chinese header row, then each cell as csv_cell writes it."""
    columns = list(columns or COLUMNS[kind])
    out = io.StringIO()
    out.write("\ufeff")  # Excel and WPS need the BOM to read UTF-8 Chinese correctly
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([header(kind, c) for c in columns])
    writer.writerows([csv_cell(row.get(c), c) for c in columns] for row in rows)
    return out.getvalue()


def response(kind: str, fmt: str, rows: list[dict], columns: list[str] | None = None, query: str = "") -> Response:
    """The file of an export. `columns`: a table whose columns depend on its data (a matrix), in that order."""
    if fmt == "csv":
        body = as_csv(kind, rows, columns)
    elif fmt == "xlsx":
        from search_app.export_xlsx import as_xlsx  # XlsxWriter only when a workbook is asked for

        body = as_xlsx(kind, rows, list(columns or COLUMNS[kind]))
    else:
        body = json.dumps({"rows": rows}, ensure_ascii=False)
    return Response(body, mimetype=MIME[fmt].split(";")[0], content_type=MIME[fmt],
                    headers={"Content-Disposition": content_disposition(query, kind, fmt, today())})
