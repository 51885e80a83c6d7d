"""Pure rules at the boundaries (issue 16): upload metadata, file names, log lines, CSV cells, zip and text limits."""

from __future__ import annotations

import io
import logging
import random
import zipfile

import pytest

from archive.errors import BadRequest
from archive.logs import SafeFormatter, log_safe
from indexer import limits
from indexer.reading import ReadError
from search_app.export import as_csv, neutralise
from search_app.upload_meta import MAX_METADATA_CHARS, clean_name, parse_metadata


@pytest.mark.parametrize("raw, expected", [
    (None, None),
    ("", None),
    ("  ", None),
    ("{}", None),
    ('{"region": "南屏县", "year": 2020}', {"region": "南屏县", "year": 2020}),
    ('{"title": "云溪市2021年法治政府建设年度报告", "doc_type": "年度报告"}',
     {"title": "云溪市2021年法治政府建设年度报告", "doc_type": "年度报告"}),
    ('{"year": null, "region": null}', {"year": None, "region": None}),
    ('{"published": "2024-03-26", "doc_number": "云政发〔2024〕3号"}',
     {"published": "2024-03-26", "doc_number": "云政发〔2024〕3号"}),
])
def test_good_metadata(raw, expected):
    assert parse_metadata(raw) == expected


@pytest.mark.parametrize("raw, fragment", [
    ("[" * 100000, "过长"),  # the 500s, each now a 400 that says why
    ('{"a":' * 50000, "过长"),
    ("[" * 4000, "嵌套过深"),
    ('{"year": Infinity}', "Infinity"),
    ('{"year": -Infinity}', "Infinity"),
    ('{"year": NaN}', "NaN"),
    ('{"year": 1e400}', "必须是整数"),
    ('{"year": ' + "9" * 5000 + "}", "过长"),
    ('{"year": ' + "9" * 4000 + "}", "整数过长"),
    ('{"year": 2021.9}', "必须是整数"),
    ('{"year": 2021.0}', "必须是整数"),
    ('{"year": "2021"}', "必须是整数"),
    ('{"year": true}', "必须是整数"),
    ('{"year": 1800}', "取值无效"),
    ('{"region": ["a", "b"]}', "必须是字符串"),
    ('{"region": {"name": "a"}}', "必须是字符串"),
    ('{"region": 12}', "必须是字符串"),
    ('{"title": "' + "长" * 201 + '"}', "过长"),
    ('{"region": "南屏\\n县"}', "控制字符 U+000A"),
    ('{"title": "报告\\u0000"}', "控制字符 U+0000"),
    ('{"title": "报告\\u202e"}', "控制字符 U+202E"),
    ('{"doc_type": "随便"}', "取值无效"),
    ('{"published": "去年"}', "取值无效"),
    ('{"colour": "red"}', "未知字段"),
    ('["region"]', "JSON 对象"),
    ('"南屏县"', "JSON 对象"),
    ("{not json", "不是合法的 JSON"),
])
def test_bad_metadata(raw, fragment):
    with pytest.raises(BadRequest) as caught:
        parse_metadata(raw)
    assert fragment in str(caught.value)
    assert len(raw) <= MAX_METADATA_CHARS or "过长" in str(caught.value)


@pytest.mark.parametrize("raw, expected", [
    ("report.txt", "report.txt"),
    ("../../etc/passwd.txt", "passwd.txt"),
    ("C:\\reports\\云溪市.docx", "云溪市.docx"),
    ("a\nERROR forged.txt", "aERROR forged.txt"),
    ("a\x00b\r.txt", "ab.txt"),
    ("\u202etxt.exe", "txt.exe"),
    ("  报告 2021 .txt ", "报告 2021 .txt"),
    ("长" * 300 + ".docx", "长" * 195 + ".docx"),
])
def test_file_names_become_clean_labels(raw, expected):
    assert clean_name(raw) == expected


@pytest.mark.parametrize("raw", ["", "\n\x00", ".hidden.txt", "dir/", "\u200b"])
def test_unusable_file_names(raw):
    with pytest.raises(BadRequest):
        clean_name(raw)


@pytest.mark.parametrize("text, expected", [
    ("plain 报告", "plain 报告"),
    ("a\nERROR forged", "a\\nERROR forged"),
    ("a\r\nb", "a\\r\\nb"),
    ("nul\x00", "nul\\x00"),
    ("line\u2028sep", "line\\u2028sep"),
    ("esc\x1b[31m", "esc\\x1b[31m"),
])
def test_log_safe(text, expected):
    assert log_safe(text) == expected


def test_log_lines_cannot_be_forged():
    record = logging.LogRecord("search_app", logging.WARNING, __file__, 1, "failed %s: %s",
                               ("a.txt\n2026-12-01 ERROR forged", "x"), None)
    line = SafeFormatter("%(levelname)s %(message)s").format(record)
    assert line.count("\n") == 0 and line == "WARNING failed a.txt\\n2026-12-01 ERROR forged: x"


@pytest.mark.parametrize("value, expected", [
    ("=HYPERLINK(\"http://evil.example\",\"点击\")", "'=HYPERLINK(\"http://evil.example\",\"点击\")"),
    ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ("行政复议 = 152 件", "行政复议 = 152 件"),
    ("", ""),
    (-3, -3),
    (2.5, 2.5),
    (None, None),
])
def test_csv_cells_are_never_formulas(value, expected):
    assert neutralise(value) == expected


def test_csv_export_neutralises_every_text_cell():
    body = as_csv("search", [{"title": "=HYPERLINK(\"http://x\")", "text": "=1+1\n二行", "score": -0.5,
                              "region": "@地区", "url": "http://127.0.0.1:5000/doc/a"}])
    row = body.split("\r\n")[1]
    assert row.startswith("'@地区,") and "\"'=HYPERLINK(\"\"http://x\"\")\"" in row and ",-0.5," in row
    assert "\"'=1+1\n二行\"" in row


def _zip(parts: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize("parts, fragment", [
    ({"word/document.xml": b"<w:t>x</w:t>" * 10}, None),
    ({"word/document.xml": random.Random(1).randbytes(2_000_000)}, None),  # 2 MB that barely compresses
    ({"word/document.xml": b"0" * (limits.MAX_ZIP_UNPACKED + 1)}, "解压后过大"),
    ({"word/document.xml": b"<w:t>a</w:t>" * 200_000}, "压缩比异常"),  # 2.4 MB of XML in a few KB
    ({f"p{i}.xml": b"x" for i in range(limits.MAX_ZIP_ENTRIES + 1)}, "内部文件过多"),
])
def test_zip_limits(parts, fragment):
    passes_or_refuses(lambda: limits.check_zip("a.docx", _zip(parts)), fragment)


def passes_or_refuses(check, fragment: str | None) -> None:
    """`check()` passes when `fragment` is None, else raises a ReadError whose reason holds it."""
    if fragment is None:
        check()
        return
    with pytest.raises(ReadError) as caught:
        check()
    assert fragment in caught.value.reason


@pytest.mark.parametrize("texts, fragment", [
    (["段落"] * 10, None),
    (["段"] * (limits.MAX_PASSAGES + 1), "段落过多"),
    (["字" * 600_000, "字" * 400_001], "正文过长"),
])
def test_report_limits(texts, fragment):
    passes_or_refuses(lambda: limits.check_report("a.txt", texts), fragment)


@pytest.mark.parametrize("query, fragment", [
    ("region=" + "&region=".join(f"r{i}" for i in range(21)), "最多可给 20 个值"),
    ("doc_type=" + "&doc_type=".join("年度报告" for _ in range(21)), "最多可给 20 个值"),
    ("year=" + "&year=".join(str(2000 + i) for i in range(21)), "最多可给 20 个值"),
    ("q=" + "+".join(f"词{i}" for i in range(41)), "最多 40 个不同的词"),
    ("region=" + "&region=".join(f"r{i}" for i in range(20)), None),
    ("q=" + "+".join("复议" for _ in range(100)), None),  # repeated words are one word of work
    ("q=" + "+".join(f"词{i}" for i in range(40)), None),
])
def test_repeated_values_and_query_words_are_capped(query, fragment):
    from urllib.parse import parse_qsl

    from werkzeug.datastructures import MultiDict

    from search_app.params import parse_params

    args = MultiDict(parse_qsl(query))
    if fragment is None:
        parse_params(args)
    else:
        with pytest.raises(BadRequest) as caught:
            parse_params(args)
        assert fragment in str(caught.value)
