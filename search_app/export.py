"""All rows of a search, a figures table or a grid as CSV (UTF-8 with BOM, for Excel and WPS) or JSON."""

from __future__ import annotations

import csv
import io
import json
import re

from flask import Response

from search_app.measure_series import KIND_NAMES, STATE_NAMES, flat_series_rows
from search_app.params import SearchParams

_TAGS = re.compile(r"</?mark>")
# A cell starting with one of these is a formula to Excel, WPS and LibreOffice (=HYPERLINK(...),
# +cmd|...): such text cells get a leading apostrophe, which spreadsheets show as plain text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

COLUMNS = {
    "search": ("region", "year", "doc_type", "title", "section", "text", "score", "matched", "url"),
    "figures": ("region", "year", "label", "value", "value_high", "unit", "change", "change_ratio",
                "text", "sentence", "title", "url"),
    "grid": ("region", "year", "state", "title", "section", "snippet", "url"),
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


def _plain(html: str) -> str:
    from html import unescape

    return unescape(_TAGS.sub("", html))


def neutralise(value):
    """A text cell as spreadsheets must show it: never a formula. Numbers stay numbers (-3 is no formula)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def as_csv(kind: str, rows: list[dict], columns: list[str] | None = None) -> str:
    out = io.StringIO()
    out.write("\ufeff")  # Excel and WPS need the BOM to read UTF-8 Chinese correctly
    writer = csv.DictWriter(out, fieldnames=columns or COLUMNS[kind], extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({k: neutralise(v) for k, v in row.items()} for row in rows)
    return out.getvalue()


def response(kind: str, fmt: str, rows: list[dict], columns: list[str] | None = None) -> Response:
    """`columns`: a table whose columns depend on its data (the measure matrix), in that order."""
    filename = f"{kind}.{fmt}"
    if fmt == "csv":
        body, mime = as_csv(kind, rows, columns), "text/csv; charset=utf-8"
    else:
        body, mime = json.dumps({"rows": rows}, ensure_ascii=False), "application/json"
    return Response(body, mimetype=mime.split(";")[0], content_type=mime,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
