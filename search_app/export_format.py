"""How an export writes its cells, headers and file name: pure functions over archive/data/export_columns.json."""

from __future__ import annotations

import json
import math
import re
import unicodedata
from datetime import date, datetime
from functools import cache
from urllib.parse import quote
from zoneinfo import ZoneInfo

from archive.text import DATA_DIR

# A cell starting with one of these is a formula to Excel, WPS and LibreOffice (=HYPERLINK(...),
# +cmd|...): such text cells get a leading apostrophe, which spreadsheets show as plain text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# The archive serves Chinese offices: "today" in a file name is the date on their wall, whatever the host's zone.
ZONE = "Asia/Shanghai"
NAME_CHARS = 40  # of the query in a file name: enough to recognise it, short enough for any file system
# Characters no file name may hold on Windows, macOS or Linux, and whitespace: each run becomes one "_".
_UNSAFE = re.compile(r'[\\/:*?"<>|\s_]+')


@cache
def table() -> dict:
    """The export table (headers, kind names, ratio columns) as declared in archive/data/export_columns.json."""
    return json.loads((DATA_DIR / "export_columns.json").read_text(encoding="utf-8"))


def header(kind: str, column: str) -> str:
    """A column's Chinese header in a file of this kind; a column named for its data (地区, 2021) as it is."""
    data = table()
    return data["kind_headers"].get(kind, {}).get(column) or data["headers"].get(column, column)


def kind_name(kind: str) -> str:
    """The Chinese name of an export kind: figures -> 数字对比."""
    return table()["kinds"].get(kind, kind)


def is_ratio(column: str) -> bool:
    """True for a column holding a ratio (0.125 meaning 12.5%)."""
    return column in table()["ratio_columns"]


def is_number(value) -> bool:
    """An int or a finite float (a bool is no figure)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def number_text(value) -> str:
    """406.0 -> 406, 17.92 -> 17.92, 1/3 -> 0.3333: figures as reports write them."""
    if not isinstance(value, float):
        return str(value)
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def percent_text(ratio: float) -> str:
    """0.125 -> 12.5%, -0.0333 -> -3.3%, 2 -> 200%: a ratio as a reader writes it."""
    return number_text(round(ratio * 100, 1) + 0.0) + "%"


def neutralise(value):
    """A text cell as spreadsheets must show it: never a formula. Numbers stay numbers (-3 is no formula)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def coded(value, column: str):
    """A coded value as a file shows it: "keyword,semantic" in the 命中方式 column reads 关键词、语义."""
    words = table()["values"].get(column)
    if not words or not isinstance(value, str):
        return value
    return "、".join(words.get(part, part) for part in value.split(",") if part)


def csv_cell(value, column: str) -> str:
    """One CSV cell: empty for None, figures without ".0", ratios as 12.5%, codes in words, text never a formula."""
    value = coded(value, column)
    if value is None:
        return ""
    if is_number(value):
        return percent_text(value) if is_ratio(column) else number_text(value)
    return neutralise(value if isinstance(value, str) else str(value))


def name_part(query: str, limit: int = NAME_CHARS) -> str:
    """A query as part of a file name: no path, quote, control or reserved characters, at most `limit` long."""
    visible = "".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in query or "")
    cleaned = _UNSAFE.sub("_", unicodedata.normalize("NFC", visible)).strip("._-")
    return cleaned[:limit].strip("._-")


def today() -> date:
    """The date on the server's clock in China (Asia/Shanghai)."""
    return datetime.now(ZoneInfo(ZONE)).date()


def file_name(query: str, kind: str, fmt: str, day: date) -> str:
    """行政复议_数字对比_2026-12-01.csv: the query, the kind in Chinese and the date."""
    parts = [name_part(query), kind_name(kind), day.isoformat()]
    return "_".join(p for p in parts if p) + "." + fmt


def attachment_header(name: str, fallback: str) -> str:
    """The one attachment header of every download: an ASCII `filename` (safe, already cleaned) for old
    clients and `curl -OJ`, the real name as RFC 5987 `filename*` (RFC 6266)."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def content_disposition(query: str, kind: str, fmt: str, day: date) -> str:
    """An export's attachment header, named for its query, kind and day."""
    # kind and fmt are the route's known ASCII names: the fallback needs no cleaning
    return attachment_header(file_name(query, kind, fmt, day), f"{kind}_{day.isoformat()}.{fmt}")
