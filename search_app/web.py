"""The HTML pages (Chinese UI): search, reading view, help. They render the same dicts as the JSON API."""

from __future__ import annotations

import math
from dataclasses import replace
from urllib.parse import urlencode

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from archive.measures import catalogue as measure_catalogue
from archive.models import DOC_TYPES, FACET_FIELDS
from archive.services import Archive
from archive.text import normalise
from search_app import catalogue, charts, compare, service
from search_app import figures as figure_tables
from search_app import similar as similar_passages
from search_app.attention import attention
from search_app.export_format import number_text, table
from search_app.labels import missing
from search_app.measure_series import KIND_NAMES, STATE_NAMES, measure_series
from search_app.params import DEFAULT_SIZE, MAX_PAGE, MAX_QUERY_CHARS, SearchParams, parse_params
from search_app.search import result_set

web = Blueprint("web", __name__)

FIELD_LABELS = {"year": "年份", "region": "地区", "doc_type": "类型", "province": "省份", "city": "城市"}
MODE_LABELS = {"hybrid": "混合", "keyword": "关键词", "semantic": "语义"}
SORT_LABELS = {"relevance": "相关度", "date": "时间"}
EXAMPLE_QUERIES = ("行政复议 办案数", '"行政执法" year:2021', "法治政府 region:太原市", "普法 -疫情")

@web.app_template_filter("num")
def number(value: float) -> str:
    """406.0 -> 406, 17.92 -> 17.92: figures as reports write them (the rule exports follow too)."""
    return number_text(value)


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
    """Results for the URL's parameters (the same as /api/v1/search); a page past the last one
    (page=9999) redirects to the last page, so the address says what is shown."""
    params = parse_params(within_pages(request.args))
    result = service.search(archive(), params)
    last = last_page(result["total"], params.size)
    if params.page > last:
        return redirect(search_href(replace(params, page=last)))
    return _render_search(params, result)


def within_pages(args: MultiDict) -> MultiDict:
    """The query string with a whole-number page past MAX_PAGE brought down to it (the page then
    redirects to the last page with results); anything that is not a whole number stays for parse_params."""
    raw = (args.getlist("page") or [""])[-1].strip()
    if not (raw.isdigit() and int(raw) > MAX_PAGE):
        return args
    out = MultiDict(args)
    out.setlist("page", [str(MAX_PAGE)])
    return out


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
    """Figures of matching passages: one measure's region x period table and chart, targets beside
    results, and every figure as a row."""
    params = parse_params(request.args)
    if not params.q:
        return render_template("figures.html", params=params, data={"rows": [], "measures": []}, series=None,
                               chart="", measure_links=[], exports=[], search_href=search_href(params))
    data = figure_tables.figure_rows(archive(), params)
    chosen = (request.args.get("measure") or "").strip()[:80] or None
    if chosen and not measure_catalogue().by_id(chosen):
        chosen = None  # a stale link: fall back to the default measure rather than fail the page
    picked = measure_series(archive(), params, chosen, counts=data["measures"])
    svg = charts.line_chart(picked["chart"], picked["unit"] or "", f"{picked['measure_name']}（{picked['unit']}）"
                            ) if picked["measure"] else ""
    here = url_for("web.figures") + _qs(params.query_string())
    links = [{**m, "href": here + "&" + urlencode({"measure": m["measure"]})} for m in data["measures"][:16]]
    measure_qs = "&" + urlencode({"measure": picked["measure"]}) if picked["measure"] else ""
    exports = [*_exports("figures", params), *_exports("measure", params, measure_qs)]
    return render_template("figures.html", params=params, data=data, series=picked, chart=svg,
                           measure_links=links, exports=exports, search_href=search_href(params))


@web.app_template_filter("missing")
def missing_label(field: str) -> str:
    """What a page shows for a field the report does not state (无文号, 地区不详)."""
    return missing(field)


@web.app_template_filter("kind_name")
def kind_name(kind: str) -> str:
    """result -> 实际, target -> 目标, plan -> 计划."""
    return KIND_NAMES.get(kind, kind)


@web.app_template_filter("state_name")
def state_name(state: str) -> str:
    """Why a matrix cell is blank: 报告未提及 or 无该年度报告."""
    return STATE_NAMES.get(state, state)


@web.app_template_global("attention_chart")
def attention_chart(params: SearchParams) -> dict | None:
    """The attention-over-time bars of a search page (templates/_attention.html), or None."""
    if not params.q:
        return None
    data = attention(archive(), params)
    if not any(y["mentioning"] for y in data["years"]):
        return None
    bars = [(str(y["year"]), y["share"], f"{y['year']}年：{y['reports']} 份报告中 {y['mentioning']} 份提及")
            for y in data["years"]]
    return {"svg": charts.bar_chart(bars, f"“{params.q}”各年度报告提及比例"), "years": data["years"],
            "json_href": url_for("api.attention") + _qs(params.query_string(page=1))}


@web.get("/grid")
def grid():
    """Region x year: which reports mention the topic, which don't, and where reports are missing."""
    params = parse_params(request.args)
    rollup = compare.parse_rollup(request.args.get("rollup"))
    data = compare.grid(archive(), params, rollup) if params.q else {"regions": [], "years": [], "cells": []}
    rows = [[c for c in data["cells"] if c["region"] == region] for region in data["regions"]]
    here = url_for("web.grid") + _qs(params.query_string())
    rollups = [{"label": label, "current": value == rollup,
                "href": here + ("" if value == "region" else ("&" if "?" in here else "?") + f"rollup={value}")}
               for value, label in (("region", "按地区"), ("province", "按省份汇总"), ("city", "按城市汇总"))]
    example = EXAMPLE_QUERIES[0].split()[0]
    return render_template("grid.html", params=params, data=data, rows=rows, rollups=rollups, rollup=rollup,
                           exports=_exports("grid", params, "" if rollup == "region" else f"&rollup={rollup}"),
                           search_href=search_href(params), example=example,
                           example_href=url_for("web.grid", q=example))


@web.get("/similar/<chunk_id>")
def similar(chunk_id: str):
    """A passage's nearest neighbours in other reports and in its region's other years."""
    data = similar_passages.similar(archive(), chunk_id, parse_params(request.args).filters())
    return render_template("similar.html", data=data)


# The files each page offers, (kind, format, label): the grid's 导出 is the matrix on screen.
EXPORT_LINKS = {
    "search": (("search", "csv", "导出 CSV"), ("search", "xlsx", "导出 Excel"), ("search", "json", "导出 JSON")),
    "figures": (("figures", "csv", "导出 CSV"), ("figures", "xlsx", "导出 Excel"), ("figures", "json", "导出 JSON")),
    "measure": (("matrix", "csv", "导出指标矩阵 CSV"), ("matrix", "xlsx", "导出指标矩阵 Excel"),
                ("series", "csv", "导出指标数值明细 CSV")),
    "grid": (("grid-matrix", "csv", "导出 CSV"), ("grid-matrix", "xlsx", "导出 Excel"),
             ("grid", "csv", "导出明细 CSV"), ("grid", "json", "导出 JSON")),
}


def _exports(page: str, params: SearchParams, extra: str = "") -> list[dict]:
    """The export links of a page, for this search (`extra`: the page's own parameters, "&measure=...")."""
    qs = _qs(params.query_string())
    return [{"label": label, "href": url_for("api.export_rows", kind=kind, fmt=fmt) + qs + extra}
            for kind, fmt, label in EXPORT_LINKS[page]]


CATALOGUE_TEXT_FIELDS = (("region", "地区"), ("province", "省份"), ("city", "城市"), ("year", "年份"),
                         ("year_from", "起始年份"), ("year_to", "截止年份"))
CATALOGUE_SORTS = (("region", "地区"), ("year", "年份"), ("title", "标题"), ("indexed", "入库时间"))
METADATA_LABELS = {"title": "标题", "region": "地区", "year": "年份", "doc_type": "类型", "publisher": "发布机构",
                   "published": "发布日期", "doc_number": "文号"}


@web.get("/reports")
def reports():
    """The catalogue: every report with its metadata, and the region x year coverage (same as the API)."""
    cp = catalogue.parse_catalogue(request.args)
    listing = catalogue.documents(archive(), cp)
    values = {name: request.args.get(name, "") for name, _ in (*CATALOGUE_TEXT_FIELDS, ("doc_type", ""))}

    def href(**changes) -> str:
        kept = [(k, v) for k, v in request.args.items(multi=True) if k not in changes and v]
        return url_for("web.reports") + _qs(urlencode([*kept, *changes.items()]))

    sort_links = [(key, {"text": text, "href": href(sort=key, order="desc" if key == cp.sort and cp.order == "asc"
                                                     else "asc", page=1)}) for key, text in CATALOGUE_SORTS]
    last = max(1, math.ceil(listing["total"] / listing["size"]))
    pages = None if last == 1 else {
        "last": last, "prev": href(page=listing["page"] - 1) if listing["page"] > 1 else None,
        "next": href(page=listing["page"] + 1) if listing["page"] < last else None}
    qs = _qs(urlencode([(k, v) for k, v in request.args.items(multi=True) if v]))
    return render_template("reports.html", cp=cp, listing=listing, cover=catalogue.coverage(archive(), cp),
                           fields=CATALOGUE_TEXT_FIELDS, values=values, doc_types=DOC_TYPES, labels=METADATA_LABELS,
                           sort_links=sort_links, pages=pages, api_list=url_for("api.list_documents") + qs,
                           api_coverage=url_for("api.coverage") + qs)


@web.get("/help")
def help_page():
    """Query syntax, modes and API examples."""
    return render_template("help.html", examples=EXAMPLE_QUERIES)


def _render_search(params: SearchParams, result: dict | None = None):
    result = result or service.search(archive(), params)
    return render_template(
        "search.html", params=params, result=result,
        facets=facet_groups(params, {**result["facets"], **result["facet_options"]}, result.get("applied", ())),
        chips=chips(params, result.get("applied", ())),
        literal_href=literal_href(params, result.get("applied", ())), understood_href=understood_href(params),
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
        labels={"field": FIELD_LABELS, "matched": table()["values"]["matched"], "mode": MODE_LABELS},
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


def facet_groups(params: SearchParams, facets: dict, applied=()) -> list[dict]:
    """Each facet field with its values: count, whether selected, and the link that toggles it. For a
    field already chosen, `facets` holds its counts without its own filter (service's facet_options),
    so the other values stay and a click adds one (region=A&region=B: either). A value recognised in
    the box (`applied`) is selected too, and its link removes the words it came from, as its chip does."""
    recognised = {(a["field"], str(a["value"])): a["from"] for a in applied}
    groups = []
    for field in FACET_FIELDS:
        values = []
        for item in facets.get(field, []):
            if item["value"] in (None, ""):  # "unknown" cannot be expressed as a URL filter
                continue
            value = _typed(field, item["value"])
            words = recognised.get((field, str(item["value"])))
            href = search_href(replace(params, q=without_words(params.q, words), page=1)) if words is not None \
                else search_href(params.toggle(field, value))
            values.append({"value": item["value"], "count": item["count"],
                           "selected": value in getattr(params, field) or words is not None, "href": href})
        if values or field not in ("province", "city"):  # an archive without places read shows no empty groups
            groups.append({"field": field, "label": FIELD_LABELS[field], "values": values})
    return groups


def chips(params: SearchParams, applied=()) -> list[dict]:
    """The filters in force, each with a link that removes it: those recognised in the box first
    (removed with the words they came from), then those of the URL."""
    out = [{"label": f"已按{FIELD_LABELS[a['field']]}筛选：{a['value']}", "recognised": a["from"],
            "href": search_href(replace(params, q=without_words(params.q, a["from"]), page=1))}
           for a in applied]
    out += [{"label": f"{FIELD_LABELS[field]}：{value}", "href": search_href(params.toggle(field, value))}
            for field in FACET_FIELDS for value in getattr(params, field)]
    for field, label in (("year_from", "起始年份"), ("year_to", "截止年份")):
        if getattr(params, field) is not None:
            href = search_href(replace(params, **{field: None, "page": 1}))
            out.append({"label": f"{label}：{getattr(params, field)}", "href": href})
    return out


def without_words(q: str, words: str) -> str:
    """The query box without the words a filter was recognised from (the first time they occur)."""
    return " ".join(normalise(q).replace(words, " ", 1).split())


def literal_href(params: SearchParams, applied) -> str | None:
    """The same search with the recognised regions and years searched as plain words (literal=1)."""
    return search_href(replace(params, literal=True, page=1)) if applied else None


def understood_href(params: SearchParams) -> str | None:
    """On a literal search, the same search with regions and years recognised again."""
    return search_href(replace(params, literal=False, page=1)) if params.literal else None


def clear_filters(params: SearchParams) -> SearchParams:
    return replace(params, region=(), doc_type=(), year=(), year_from=None, year_to=None, province=(), city=(),
                   page=1)


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
