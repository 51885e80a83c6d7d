"""Report metadata (title, region, year covered, type, publisher, dates, document number)
from the raw text of a scraped report, overridable by a sidecar dict.

Works on the raw text because the header fields live in the page furniture that
`cleaning.clean` removes. Text is NFKC-normalised (full-width digits and brackets) and read with
traditional characters as simplified, but not
passed through `archive.text.normalise`, whose joining of digits across spaces would turn
"2018/3/6 11:24:00" into "2018/3/611:24:00". A field that cannot be found stays None and is listed in
`missing`: a wrong region or year would mislead every search filter, an absent one does not.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from archive.models import DOC_TYPES, DOC_TYPES_FILE, REGION_LEVELS
from archive.regions import Region, canonical, find_mentions
from archive.text import dates_as_digits, nfkc, simplified, years_as_digits
from indexer.chunking import detect_heading
from indexer.cleaning import clean, header_end, is_junk_line, is_prose
from indexer.issuer import body_region, delivery_year, title_region

CONTEXT_CHARS = 20000
FIELDS = ("title", "region", "year", "doc_type", "publisher", "published", "doc_number")
# Also known to a sidecar (and to a correction through the API), never listed as missing.
PLACE_FIELDS = ("region_level", "province", "city", "covers")
SIDECAR_FIELDS = FIELDS + PLACE_FIELDS


@dataclass(frozen=True)
class Metadata:
    """What is known about one report; `missing` names the fields left None."""

    title: str | None
    region: str | None
    year: int | None
    doc_type: str
    publisher: str | None
    published: str | None  # ISO date, YYYY-MM-DD
    doc_number: str | None
    missing: tuple[str, ...] = ()
    region_level: str | None = None  # archive.regions.LEVELS, None when the region is unknown or unlisted
    province: str | None = None
    city: str | None = None
    covers: int | None = None  # the year a review reports on


_BULLET = re.compile(r"^[•·●○◆◇▪▫■□►▶◎※]+\s*")
_LABELS = (
    "发布时间 发布日期 发文日期 成文日期 公开日期 印发日期 文章来源 信息来源 来源 发布机构 发文机关 "
    "发布单位 索引号 关键词 主题词 服务对象 体裁分类 主题分类 发文字号 文号 标题 公开目录 公开形式 "
    "有效性 责任编辑 作者 文章字体 字号"
).split()
# Spaced-out labels ("索 引 号") occur, so a label's characters may have spaces between them.
_LABEL = re.compile("|".join(r"\s*".join(w) for w in _LABELS))
_PUBLISHER_LABELS = ("发文机关", "发布机构", "发布单位", "文章来源", "信息来源", "来源")
_DATE_LABELS = ("发布时间", "发布日期", "公开日期", "发文日期", "印发日期", "成文日期")

_DATE = re.compile(r"((?:19|20)\d{2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")
_DATE_ONLY = re.compile(r"(?:19|20)\d{2}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?")
_DOC_NUMBER = re.compile(r"([\u4e00-\u9fff]{1,15})\s*[〔\[【(]\s*((?:19|20)\d{2})\s*[〕\]】)]\s*(\d{1,5})\s*号")
_TITLE_WORDS = re.compile(r"报告|工作安排|综述|通知|方案|要点|意见|总结|计划|规划|决定|公告|公报|白皮书")
# A title run into its body on one line ends at its first title word, before any punctuation.
_TITLE_PREFIX = re.compile(r"[^。，,；;：:！？!?]{4,80}?(?:报告|工作安排|综述|要点|总结|公报|白皮书|通知)")
# A title line that runs on into its delivery line ("政府工作报告——2024年1月15日在…大会…上  市长 XXX") ends there.
_DELIVERY_TAIL = re.compile(r"\s*[—–-]{1,2}\s*(?:(?:19|20)\d{2}|[〇○零一二三四五六七八九]{4})\s*年"
                            r"\s*[\d一二三四五六七八九十]{1,3}\s*月")
# A year the title names, not one end of a span ("2021—2025年", "2021 - 2025年"); after a subtitle's dash it is one
# ("奋力谱写新篇章——2023年…报告").
_TITLE_YEAR = re.compile(r"(?<![\d~～至])(?<![\d~～至]\s)(?<!\d[—\-])(?<!\d\s[—\-])(?<!\d[—\-]\s)(?<!\d\s[—\-]\s)"
                         r"(?<!\d——)((?:19|20)\d{2})\s*年(?!\s*[—\-~～至])")
_BODY_YEAR = re.compile(r"^((?:19|20)\d{2})\s*年(?:度|以来)?\s*[,,]")

_ORG = re.compile(r"[\u4e00-\u9fff()]{2,40}(?:政府|委员会|办公室|管委会|局|厅|办|委|院|部|中心|小组|司法所|法制办)")
# A signature and its date on one line ("西安市人民政府 2022年3月31日"), or, where a report lost its line breaks,
# at the end of its last paragraph ("…持续推进法治政府示范创建。西安市人民政府 2022年3月31日"): looked for in the
# last line's last characters only (a report that lost its breaks is one line).
_FUSED_SIGNATURE = re.compile(rf"(?:^|(?<=[。!?;]))\s*({_ORG.pattern})?\s*({_DATE_ONLY.pattern})\s*$")
_SIGNATURE_CHARS = 120


def _nfkc(text: str) -> str:
    # Traditional characters read as simplified: 廣西壯族自治區 is 广西壮族自治区 for every rule here.
    return simplified(nfkc(text))


def extract_metadata(raw_text: str, source_name: str, sidecar: dict | None = None,
                     cleaned: str | None = None) -> Metadata:
    """Metadata of one report from its raw (uncleaned) text; `sidecar` values override what is found.
    `cleaned`: `clean(raw_text)`, when the caller has it already (the ingest cleans every file once)."""
    text = _nfkc(raw_text)
    lines = [line.strip() for line in text.splitlines()]
    header = lines[: header_end(lines)]
    fields = _header_fields(header)
    bullets = [_BULLET.sub("", line) for line in header if _BULLET.match(line)]
    closing = _closing_lines(clean(raw_text) if cleaned is None else cleaned)

    side = _sidecar_values(sidecar or {})

    def pick(name: str, find):
        # A sidecar value wins and also feeds the fields derived from it (title -> region, year).
        return side[name] if name in side else find()

    title = pick("title", lambda: find_title(lines) or Path(source_name).stem or None)
    doc_type = pick("doc_type", lambda: doc_type_of(title or ""))
    publisher = pick("publisher", lambda: _publisher(fields, bullets, closing))
    published = pick("published", lambda: _published(fields, bullets, closing))
    # The issuer names itself near the top and in the signature: a 2 MB report is not searched whole.
    context = text if len(text) <= CONTEXT_CHARS else text[: CONTEXT_CHARS - 2000] + "\n" + text[-2000:]
    if "region" in side:
        region = (canonical(side["region"], context) or Region(side["region"], None)) if side["region"] else None
    else:
        region = title_region(title or "", context) or body_region(context, publisher, closing)
    year = pick("year", lambda: _year(title or "", text, lines, doc_type, published))
    values = {
        "title": title,
        "region": region.name if region else None,
        "year": year,
        "doc_type": doc_type,
        "publisher": publisher,
        "published": published,
        "doc_number": pick("doc_number", lambda: _doc_number(fields, header)),
    }
    missing = tuple(name for name in FIELDS if values[name] is None)
    place = {"region_level": region.level if region else None, "province": region.province if region else None,
             "city": region.city if region else None, "covers": covers_of(doc_type, year, title or "")}
    place.update({name: side[name] for name in PLACE_FIELDS if name in side})  # a person's word wins
    return Metadata(**values, missing=missing, **place)


def find_title(lines: list[str]) -> str | None:
    """The title line near the top: names a kind of document, is no breadcrumb, panel, heading or prose.

    A report whose line breaks were lost has its title at the start of its one long line."""
    nonblank = [ln for ln in lines if ln][:30]
    above, seen = "", 0  # the line right above ("" after a blank one); the nonblank lines read
    for line in lines:
        seen += bool(line)
        if seen > len(nonblank):
            break
        if line and _title_like(line) and 5 <= len(line) <= 100 and _TITLE_WORDS.search(line):
            # A title broken over two lines ("旺苍县2023年法治政府" / "建设年度报告"), or under its issuer
            # ("旺苍县人民政府" / "关于…的报告"): the line right above it is its first part.
            return _without_delivery(above + line if _title_part(above) and len(above + line) <= 100 else line)
        above = line
    for line in nonblank[:3]:
        if len(line) > 100 and not detect_heading(line) and (m := _TITLE_PREFIX.match(line)):
            return m.group().strip()
    return None


def _title_like(line: str) -> bool:
    """No bullet, metadata label, page furniture, prose or section heading ("二、2013年工作安排" is a section)."""
    return not (_BULLET.match(line) or _LABEL.match(line) or is_junk_line(line) or is_prose(line)
                or detect_heading(line))


_TITLE_PART_END = re.compile(r"(?:[。，、；：:,;！？!?）)]|网站|网|门户|平台|频道|栏目|首页)$")


def _title_part(line: str) -> bool:
    """A line that can open a title: short, unpunctuated, naming a government or a year (not a channel's name)."""
    return (len(line) <= 60 and _title_like(line) and not _TITLE_PART_END.search(line)
            and not _DATE_ONLY.fullmatch(line) and not _TITLE_WORDS.search(line)
            and (bool(find_mentions(line)) or bool(re.search(r"(?:19|20)\d{2}\s*年", line))
                 or bool(re.search(r"(?:镇|乡|街道|区|县|市|省)(?:人民)?政府$", line))))


def _without_delivery(line: str) -> str:
    tail = _DELIVERY_TAIL.search(line)
    return line[:tail.start()] if tail and _TITLE_WORDS.search(line, 0, tail.start()) else line


@cache
def _doc_type_rules() -> tuple[tuple[re.Pattern[str], str, str | None], ...]:
    table = json.loads(DOC_TYPES_FILE.read_text(encoding="utf-8"))
    return tuple((re.compile("|".join(t["patterns"])), t["type"], t["covers"]) for t in table["types"])


def doc_type_of(title: str) -> str:
    """One of `archive.models.DOC_TYPES`, from the words of the title (archive/data/doc_types.json)."""
    compact = re.sub(r"\s+", "", title)
    for pattern, doc_type, _ in _doc_type_rules():
        if pattern.search(compact):
            return doc_type
    return DOC_TYPES[-1]


def covers_of(doc_type: str, year: int | None, title: str = "") -> int | None:
    """The year a review reports on: its own year, or the year before for a 政府工作报告."""
    rule = next((c for _, t, c in _doc_type_rules() if t == doc_type), None)
    if year is None or rule is None:
        return None
    if rule == "previous":
        # A title that names the reviewed year itself ("2024年工作回顾") says otherwise.
        named = [int(y) for y in _TITLE_YEAR.findall(title)]
        return year - 1 if len(named) < 2 else min(named)
    return year


def region_of(text: str) -> str | None:
    """The canonical name of the most specific government a text names (安康市恒口示范区 -> 恒口示范区)."""
    region = title_region(_nfkc(text))
    return region.name if region else None


def parse_date(text: str) -> str | None:
    """The first valid date in `text` as YYYY-MM-DD (2024-03-26, 2018/3/6, 2022年12月02日16时26分)."""
    for m in _DATE.finditer(_nfkc(text)):
        try:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
        except ValueError:
            continue
    return None


def parse_doc_number(text: str) -> str | None:
    """A document number written out alone (新密法政[2023]1号), with brackets made 〔〕."""
    m = _DOC_NUMBER.fullmatch(_nfkc(text).strip())
    return f"{m.group(1)}〔{m.group(2)}〕{m.group(3)}号" if m else None


def _header_fields(header: list[str]) -> dict[str, str]:
    """Label -> value from header lines that start with a label; the first occurrence wins."""
    fields: dict[str, str] = {}
    for line in header:
        line = _BULLET.sub("", line)
        labels = list(_LABEL.finditer(line))
        if not labels or labels[0].start() != 0:
            continue
        for label, nxt in zip(labels, labels[1:] + [None]):
            value = line[label.end() : nxt.start() if nxt else len(line)]
            fields.setdefault(re.sub(r"\s+", "", label.group()), value.strip(" :\uff1a"))
    return fields


def _closing_lines(cleaned: str) -> list[str]:
    """The last few lines of the cleaned report, where the signature and date sit."""
    last = [line for line in cleaned.splitlines() if line.strip()][-4:]
    lines = [_nfkc(line) for line in last]
    if lines and (fused := _FUSED_SIGNATURE.search(lines[-1], max(0, len(lines[-1]) - _SIGNATURE_CHARS))):
        head = lines[-1][:fused.start()].rstrip()
        lines[-1:] = [*([head] if head else []), *(part for part in fused.groups() if part)]
    return lines


def _is_org(text: str) -> bool:
    return bool(_ORG.fullmatch(text)) and not re.search(r"\d", text)


def _publisher(fields: dict[str, str], bullets: list[str], closing: list[str]) -> str | None:
    for label in _PUBLISHER_LABELS:
        value = fields.get(label, "").split(" ")[0]
        if value:
            return value
    for candidate in bullets + closing[::-1]:
        if _is_org(candidate):
            return candidate
    return None


def _published(fields: dict[str, str], bullets: list[str], closing: list[str]) -> str | None:
    for label in _DATE_LABELS:
        if label in fields and (date := parse_date(fields[label])):
            return date
    for candidate in bullets + closing[::-1]:
        candidate = dates_as_digits(candidate)  # 二〇二四年一月十八日
        if _DATE_ONLY.fullmatch(candidate) and (date := parse_date(candidate)):
            return date
    return None


def _year(title: str, text: str, lines: list[str], doc_type: str, published: str | None) -> int | None:
    """The year the report's own title names, else the year it was delivered ("——2025年1月14日在…大会上"),
    else the year opening a body paragraph ("2023年,"), else for a review the year before publication."""
    m = _TITLE_YEAR.search(years_as_digits(title))  # 二〇二三年 too
    if m:
        return int(m.group(1))
    if delivered := delivery_year(text):
        return delivered
    for line in lines[header_end(lines) :]:
        if m := _BODY_YEAR.match(line):
            return int(m.group(1))
    if doc_type in ("年度报告", "政府信息公开工作年度报告") and published:
        return int(published[:4]) - 1
    return None


def _doc_number(fields: dict[str, str], header: list[str]) -> str | None:
    for label in ("发文字号", "文号"):
        if label in fields and (number := parse_doc_number(fields[label])):
            return number
    for line in header:
        if number := parse_doc_number(_BULLET.sub("", line)):
            return number
    return None


def checked_fields(values: dict) -> dict:
    """Metadata values a person gives (sidecar, API correction), checked and converted: ValueError in Chinese."""
    return _sidecar_values(values)


def _sidecar_values(sidecar: dict) -> dict:
    """Known fields from a sidecar, checked and converted; unknown keys are ignored."""
    values = {}
    for key in SIDECAR_FIELDS:
        if key not in sidecar:
            continue
        value = sidecar[key]
        if isinstance(value, str):
            value = value.strip() or None
        if value is not None or key == "doc_type":  # doc_type is never unknown: it has 其他
            value = _SIDECAR_CHECKS.get(key, _sidecar_text)(value)
        values[key] = value
    return values


def _sidecar_year(value, name: str = "year") -> int:
    if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
        raise ValueError(f"{name} 必须是整数年份，如 2023（收到 {value!r}）")
    try:
        year = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} 必须是整数年份，如 2023（收到 {value!r}）") from None
    if not 1949 <= year <= 2100:
        raise ValueError(f"{name} {year} 超出范围 1949-2100")
    return year


def _sidecar_doc_type(value) -> str:
    if value not in DOC_TYPES:
        raise ValueError(f"doc_type 必须是 {'、'.join(DOC_TYPES)} 之一（收到 {value!r}）")
    return value


def _sidecar_published(value) -> str:
    date = parse_date(str(value))
    if date is None:
        raise ValueError(f"published 必须是日期，如 2024-03-26（收到 {value!r}）")
    return date


def _sidecar_level(value) -> str:
    if value not in REGION_LEVELS:
        raise ValueError(f"region_level 必须是 {'、'.join(REGION_LEVELS)} 之一（收到 {value!r}）")
    return value


def _sidecar_text(value) -> str:
    if not isinstance(value, (str, int)):
        raise ValueError(f"必须是文字（收到 {value!r}）")
    return str(value)


_SIDECAR_CHECKS = {"year": _sidecar_year, "doc_type": _sidecar_doc_type, "published": _sidecar_published,
                   "region_level": _sidecar_level, "covers": lambda v: _sidecar_year(v, "covers")}


TITLE_SEARCH_LINES = 15


def strip_title(body: str, title: str | None) -> str:
    """The cleaned body from after its title line (and the metadata lines right after it).

    Whatever stands above the title near the top of a page is site furniture (welcome
    banners, menus, breadcrumbs) that the line-by-line cleaner could not recognise.
    """
    target = _compact(title or "")
    if not target:
        return body
    lines = body.split("\n")
    nonblank = [i for i, line in enumerate(lines) if line.strip()][:TITLE_SEARCH_LINES]
    for i in nonblank:
        for span in (1, 2, 3):  # a long title may be wrapped over two or three lines
            if _compact("".join(lines[i : i + span])) == target:
                return _drop_leading_metadata(lines[i + span :])
    if nonblank and (rest := _after_prefix(lines[nonblank[0]], target)) is not None:
        return _drop_leading_metadata([rest] + lines[nonblank[0] + 1 :])  # a report on one line
    return body


def _after_prefix(line: str, target: str) -> str | None:
    """The rest of `line` after a leading `target` (compared without spaces), or None."""
    seen = ""
    for i, ch in enumerate(line):
        if not ch.isspace():
            seen += _nfkc(ch)
        if seen == target:
            return line[i + 1 :].lstrip()
        if not target.startswith(seen):
            return None
    return None


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", _nfkc(text))


def _drop_leading_metadata(lines: list[str]) -> str:
    i = 0
    while i < len(lines) and (not lines[i].strip() or _is_metadata_line(lines[i])):
        i += 1
    return "\n".join(lines[i:])


def _is_metadata_line(line: str) -> bool:
    bare = _BULLET.sub("", _nfkc(line).strip())
    if is_junk_line(bare) or _LABEL.match(bare) or parse_doc_number(bare):
        return True
    # A date alone, or in brackets under the title: "(2024年3月1日市人民代表大会通过)".
    return bool(_DATE_ONLY.fullmatch(bare) or (re.fullmatch(r"[(〔【].*[)〕】]", bare) and _DATE.search(bare)))
