"""The HTML pages (Chinese UI): search, reading view, help. They render the same dicts as the JSON API."""

from __future__ import annotations

import math
from dataclasses import replace
from urllib.parse import urlencode

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from archive.models import FACET_FIELDS
from archive.services import Archive
from search_app import charts, compare, service
from search_app.params import DEFAULT_SIZE, MAX_PAGE, MAX_QUERY_CHARS, SearchParams, parse_params
from search_app.search import result_set

web = Blueprint("web", __name__)

FIELD_LABELS = {"year": "年份", "region": "地区", "doc_type": "类型"}
MODE_LABELS = {"hybrid": "混合", "keyword": "关键词", "semantic": "语义"}
SORT_LABELS = {"relevance": "相关度", "date": "时间"}
MATCHED_LABELS = {"keyword": "关键词", "semantic": "语义"}
EXAMPLE_QUERIES = ("行政复议 办案数", '"行政执法" year:2021', "法治政府 region:太原市", "普法 -疫情")

@web.app_template_filter("num")
def number(value: float) -> str:
    """406.0 -> 406, 17.92 -> 17.92: figures as reports write them."""
    return f"{value:.4f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


def archive() -> Archive:
    return current_app.extensions["archive"]


@web.get("/")
def home():
    """The start page: an empty box and the whole archive's facets."""
    if request.args.get("q"):  # a form posted to / by hand: the search lives at /search
        return redirect(url_for("web.search", **request.args.to_dict(flat=False)))
    return _render_search(SearchParams())


@web.get("/search")
def search():
    """Results for the URL's parameters (the same as /api/v1/search)."""
    return _render_search(parse_params(request.args))


@web.get("/doc/<doc_id>")
def document(doc_id: str):
    """The reading view of one report; `?q=` highlights the query's words."""
    q = (request.args.get("q") or "").strip()[:MAX_QUERY_CHARS]
    doc = service.document(archive(), doc_id, q)
    marks = sum(c["html"].count("<mark>") for c in doc["chunks"])
    back = url_for("web.search", q=q) if q else url_for("web.home")
    return render_template("doc.html", doc=doc, q=q, marks=marks, back_href=back)


@web.get("/figures")
def figures():
    """Figures from matching passages: a table, and a chart of one label by year per region."""
    params = parse_params(request.args)
    data = compare.figure_rows(archive(), params) if params.q else {"rows": [], "labels": []}
    label, unit = _chosen_label(data["labels"])
    svg = charts.line_chart(compare.series(data["rows"], label, unit), unit, f"{label}（{unit}）") if label else ""
    return render_template("figures.html", params=params, data=data, label=label, unit=unit, chart=svg,
                           label_links=[{**lb, "href": url_for("web.figures") + _qs(params.query_string())
                                         + ("&" if params.q else "?") + urlencode({"label": lb["label"]})}
                                        for lb in data["labels"][:12]],
                           exports=_exports("figures", params), search_href=search_href(params))


def _chosen_label(labels: list[dict]) -> tuple[str | None, str | None]:
    wanted = request.args.get("label")
    for lb in labels:
        if wanted is None or lb["label"] == wanted:
            return lb["label"], lb["unit"]
    return (labels[0]["label"], labels[0]["unit"]) if labels else (None, None)


@web.get("/grid")
def grid():
    """Region x year: which reports mention the topic, which don't, and where reports are missing."""
    params = parse_params(request.args)
    data = compare.grid(archive(), params) if params.q else {"regions": [], "years": [], "cells": []}
    rows = [[c for c in data["cells"] if c["region"] == region] for region in data["regions"]]
    return render_template("grid.html", params=params, data=data, rows=rows,
                           exports=_exports("grid", params), search_href=search_href(params))


@web.get("/similar/<chunk_id>")
def similar(chunk_id: str):
    """A passage's nearest neighbours in other reports and in its region's other years."""
    data = compare.similar(archive(), chunk_id, parse_params(request.args).filters())
    return render_template("similar.html", data=data)


def _exports(kind: str, params: SearchParams) -> list[dict]:
    qs = _qs(params.query_string())
    return [{"label": label, "href": url_for("api.export_rows", kind=kind, fmt=fmt) + qs}
            for fmt, label in (("csv", "导出 CSV"), ("json", "导出 JSON"))]


@web.get("/help")
def help_page():
    """Query syntax, modes and API examples."""
    return render_template("help.html", examples=EXAMPLE_QUERIES)


def _render_search(params: SearchParams):
    result = service.search(archive(), params)
    return render_template(
        "search.html", params=params, result=result,
        facets=facet_groups(params, result["facets"]), chips=chips(params),
        pager=pager(params, result["total"]),
        mode_links=option_links(params, "mode", MODE_LABELS),
        sort_links=option_links(params, "sort", SORT_LABELS),
        json_href=url_for("api.search") + _qs(params.query_string()),
        tools=[{"label": "数字对比", "href": url_for("web.figures") + _qs(params.query_string(page=1))},
               {"label": "地区 × 年份", "href": url_for("web.grid") + _qs(params.query_string(page=1))},
               *_exports("search", params)],
        clear_href=url_for("web.search") + _qs(clear_filters(params).query_string()),
        empty=empty_help(params) if params.q and not result["total"] else {},
        overview_total=sum(v["count"] for v in result["facets"].get("doc_type", [])),
        labels={"field": FIELD_LABELS, "matched": MATCHED_LABELS, "mode": MODE_LABELS},
        examples=EXAMPLE_QUERIES, max_query=MAX_QUERY_CHARS, default_size=DEFAULT_SIZE,
    )


def empty_help(params: SearchParams) -> dict:
    """What a page with no results suggests: other modes that find something, fewer words, all years."""
    others = [{"label": MODE_LABELS[mode], "href": search_href(replace(params, mode=mode, page=1)), "total": total}
              for mode in MODE_LABELS if mode != params.mode
              and (total := result_set(archive(), replace(params, mode=mode, page=1)).total)]
    words = params.q.split()
    fewer = {"text": words[0], "href": search_href(replace(params, q=words[0], page=1))} if len(words) > 1 else None
    years = params.year or params.year_from is not None or params.year_to is not None
    wider = search_href(replace(params, year=(), year_from=None, year_to=None, page=1)) if years else None
    return {"other_modes": others, "fewer_words": fewer, "wider_years": wider}


def _qs(query_string: str) -> str:
    return "?" + query_string if query_string else ""


def search_href(params: SearchParams) -> str:
    return url_for("web.search") + _qs(params.query_string())


def _typed(field: str, value: str):
    """Facet values come as strings; SearchParams.year holds ints."""
    return int(value) if field == "year" else value


def facet_groups(params: SearchParams, facets: dict) -> list[dict]:
    """Each facet field with its values: count, whether selected, and the link that toggles it."""
    groups = []
    for field in FACET_FIELDS:
        values = []
        for item in facets.get(field, []):
            if item["value"] in (None, ""):  # "unknown" cannot be expressed as a URL filter
                continue
            value = _typed(field, item["value"])
            values.append({"value": item["value"], "count": item["count"],
                           "selected": value in getattr(params, field),
                           "href": search_href(params.toggle(field, value))})
        groups.append({"field": field, "label": FIELD_LABELS[field], "values": values})
    return groups


def chips(params: SearchParams) -> list[dict]:
    """The filters in force, each with a link that removes it."""
    out = [{"label": f"{FIELD_LABELS[field]}：{value}", "href": search_href(params.toggle(field, value))}
           for field in FACET_FIELDS for value in getattr(params, field)]
    for field, label in (("year_from", "起始年份"), ("year_to", "截止年份")):
        if getattr(params, field) is not None:
            href = search_href(replace(params, **{field: None, "page": 1}))
            out.append({"label": f"{label}：{getattr(params, field)}", "href": href})
    return out


def clear_filters(params: SearchParams) -> SearchParams:
    return replace(params, region=(), doc_type=(), year=(), year_from=None, year_to=None, page=1)


def option_links(params: SearchParams, field: str, labels: dict[str, str]) -> list[dict]:
    """Links that switch mode or sort, keeping everything else (back on page 1)."""
    return [{"value": value, "label": label, "current": getattr(params, field) == value,
             "href": search_href(replace(params, **{field: value, "page": 1}))}
            for value, label in labels.items()]


def last_page(total: int, size: int) -> int:
    """The last page that can hold hits: never past the results, never past what parse_params accepts."""
    return max(1, min(math.ceil(total / size), MAX_PAGE))


def page_numbers(current: int, last: int, around: int = 2) -> list[int | None]:
    """First, last and a few pages around the current one; None where pages are left out."""
    wanted = sorted({1, last, *range(max(1, current - around), min(last, current + around) + 1)})
    out: list[int | None] = []
    for n in wanted:
        if out and n - out[-1] > 1:
            out.append(None)
        out.append(n)
    return out


def pager(params: SearchParams, total: int) -> dict | None:
    """Previous/next and numbered page links; None when everything fits on one page."""
    last = last_page(total, params.size)
    if total == 0 or (last == 1 and params.page == 1):
        return None

    def href(n: int) -> str:
        return search_href(replace(params, page=n))

    return {
        "current": params.page, "last": last, "last_href": href(last),
        "prev": href(min(params.page - 1, last)) if params.page > 1 else None,
        "next": href(params.page + 1) if params.page < last else None,
        "pages": [{"number": n, "href": href(n) if n else None, "current": n == params.page}
                  for n in page_numbers(min(params.page, last), last)],
    }
