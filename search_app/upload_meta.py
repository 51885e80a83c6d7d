"""What a client sends beside an uploaded report, checked whole before anything touches disk.

The `metadata` form field is a flat JSON object of the report's known fields: strings of
bounded length without control characters, `year` a whole number, `source_url` a web address. The file name the client
gives is only ever a label (`source_name`): control characters are taken out of it.
Every violation is a BadRequest (400) that says in Chinese what is wrong.
"""

from __future__ import annotations

import json
import unicodedata
from decimal import Decimal

from archive.errors import BadRequest
from archive.originals import MAX_URL_CHARS, web_address

MAX_METADATA_CHARS = 8 * 1024  # the form field, before parsing: seven short fields fit many times over
MAX_NAME_CHARS = 200
MAX_INT_DIGITS = 6  # a year has four; longer digit runs are refused before int() sees them
FIELD_CHARS = {"title": 200, "region": 50, "doc_type": 20, "publisher": 100, "published": 40, "doc_number": 100,
               "region_level": 20, "province": 50, "city": 50, "source_url": MAX_URL_CHARS}
INT_FIELDS = frozenset({"year", "covers"})
# Unicode "other" categories a label never needs: controls (Cc), format and direction marks (Cf),
# unassigned and private-use characters. Line and paragraph separators forge lines as newlines do.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cn", "Co", "Cs", "Zl", "Zp"})


def unsafe_chars(text: str) -> list[str]:
    """The characters of `text` that must not reach a stored label or a log line."""
    return [c for c in text if unicodedata.category(c) in _UNSAFE_CATEGORIES]


def clean_name(raw: str) -> str:
    """The client's file name as a label: its last path part, unsafe characters out, bounded length."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c) not in _UNSAFE_CATEGORIES).strip()
    if len(name) > MAX_NAME_CHARS:
        stem, dot, suffix = name.rpartition(".")
        name = stem[: MAX_NAME_CHARS - len(suffix) - 1] + dot + suffix if dot and len(suffix) < 10 \
            else name[:MAX_NAME_CHARS]
    if not name or name.startswith("."):
        raise BadRequest("文件名无效：去掉控制字符后为空，或以点开头")
    return name


def _refuse_constant(name: str):
    raise BadRequest(f"metadata 中不能有 {name}：只接受有限的数值")


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise BadRequest(f"metadata 中的整数过长（{len(digits)} 位）")
    return int(digits)


def _decode(raw: str) -> object:
    try:
        # Floats stay Decimal (1e400 is no infinity) and are refused by the type check below.
        return json.loads(raw, parse_constant=_refuse_constant, parse_int=_bounded_int, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"metadata 不是合法的 JSON：第 {exc.lineno} 行第 {exc.colno} 列有误") from None
    except RecursionError:
        raise BadRequest("metadata 嵌套过深：应为一层的 JSON 对象") from None


# JSON's kinds of value as a message names them (json.loads gives only these types, floats as Decimal).
_KINDS = {bool: "真假值", int: "整数", Decimal: "小数", str: "字符串", list: "数组", dict: "对象"}


def kind_of(value: object) -> str:
    """A decoded JSON value's kind in Chinese, for messages: 2023 -> 整数, "2023" -> 字符串."""
    return _KINDS.get(type(value), "其他值")


def _check_field(key: str, value: object) -> None:
    if value is None:
        return  # null: the field is left for the indexer to find in the text
    if key in INT_FIELDS:
        if type(value) is not int:
            raise BadRequest(f"metadata 字段 {key} 必须是整数，如 2023（收到{kind_of(value)}）")
        return
    if not isinstance(value, str):
        raise BadRequest(f"metadata 字段 {key} 必须是字符串（收到{kind_of(value)}）")
    if len(value) > FIELD_CHARS[key]:
        raise BadRequest(f"metadata 字段 {key} 过长：最多 {FIELD_CHARS[key]} 个字符（收到 {len(value)}）")
    bad = unsafe_chars(value)
    if bad:
        raise BadRequest(f"metadata 字段 {key} 含有控制字符 U+{ord(bad[0]):04X}")
    if key == "source_url" and web_address(value) is None:  # it becomes a link on every page of the report
        raise BadRequest("metadata 字段 source_url 必须是以 http:// 或 https:// 开头的网址")


def parse_metadata(raw: str | None) -> dict | None:
    """The metadata form field as a dict of known, well-typed fields; None when it is absent or empty."""
    if raw is None or not raw.strip():
        return None
    if len(raw) > MAX_METADATA_CHARS:
        raise BadRequest(f"metadata 过长：最多 {MAX_METADATA_CHARS} 个字符（收到 {len(raw)}）")
    data = _decode(raw)
    if not isinstance(data, dict):
        raise BadRequest("metadata 必须是 JSON 对象")
    known = (*FIELD_CHARS, *INT_FIELDS)
    unknown = [k for k in data if k not in known]
    if unknown:
        raise BadRequest(f"metadata 中有未知字段 {unknown[0][:40]!r}；可用字段：{', '.join(known)}")
    for key, value in data.items():
        _check_field(key, value)
    _check_values(data)
    return data or None


def _check_values(data: dict) -> None:
    """The indexer's own rules for field values (year range, document types, dates), applied now."""
    from indexer import check_metadata

    try:
        check_metadata(data)
    except ValueError as exc:
        raise BadRequest(f"metadata 取值无效：{exc}") from None
