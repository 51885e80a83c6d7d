"""Reading report files: encodings, HTML to text, PDF, DOCX, sidecars and every way a file can fail."""

from __future__ import annotations

import codecs
import io
import shutil
import subprocess
from pathlib import Path

import docx
import pytest

from indexer.converters import has_ocr, office_to_docx
from indexer.reading import (
    SUPPORTED_SUFFIXES,
    RawText,
    ReadError,
    is_report_file,
    page_title,
    read_document,
    read_sidecar,
    unspaced,
)
from tests.conftest import require

CHINESE = (
    "三门峡市2023年度法治政府建设情况报告\n"
    "2023年,全市坚持以习近平法治思想为指导,深入推进依法行政,行政复议案件办理406件。\n"
    "一是加强法治政府建设组织领导。二是深化简政放权规范权力运行。\n"
)
# U+20000 lies outside GBK: only a GB18030 decoder gets it back.
BEYOND_GBK = CHINESE + "生僻字𠀀也要保留。\n"


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("text", "raw", "encoding"),
    [
        (CHINESE, CHINESE.encode("utf-8"), "utf-8"),
        (CHINESE, codecs.BOM_UTF8 + CHINESE.encode("utf-8"), "utf-8-sig"),
        (BEYOND_GBK, BEYOND_GBK.encode("gb18030"), "gb18030"),
        (CHINESE, CHINESE.encode("gbk"), "gb18030"),
        (CHINESE, CHINESE.encode("utf-16"), "utf-16"),  # Python writes a BOM for "utf-16"
        (CHINESE, codecs.BOM_UTF16_BE + CHINESE.encode("utf-16-be"), "utf-16"),
        (CHINESE, CHINESE.encode("utf-16-le"), "utf-16-le"),  # no BOM: left to the detector
        # Short GB text: the detector ties it with Big5 and others; GB18030 must win.
        ("法治政府建设", "法治政府建设".encode("gb18030"), "gb18030"),
    ],
    ids=["utf8", "utf8-bom", "gb18030-beyond-gbk", "gbk", "utf16-le-bom", "utf16-be-bom", "utf16-le-no-bom",
         "short-gb"],
)
def test_txt_encodings_are_detected(tmp_path, text, raw, encoding):
    result = read_document(write(tmp_path, "report.txt", raw))
    assert result == RawText(text=text, encoding=encoding, format="txt")


@pytest.mark.parametrize(
    "meta",
    ['<meta charset="gbk">', '<meta http-equiv="Content-Type" content="text/html; charset=GB2312">'],
    ids=["meta-charset", "http-equiv"],
)
def test_html_meta_charset_is_honoured(tmp_path, meta):
    html = f"<html><head>{meta}<title>标题</title></head><body><p>{CHINESE}</p></body></html>"
    result = read_document(write(tmp_path, "page.html", html.encode("gbk")))
    assert result.encoding == "gb18030"
    assert result.format == "html"
    assert "行政复议案件办理406件" in result.text


@pytest.mark.parametrize("head, title", [
    ("<title>旺苍县2023年法治政府建设年度报告_旺苍县人民政府门户网站</title>", "旺苍县2023年法治政府建设年度报告"),
    ("<title>旺苍县人民政府 - 关于2023年法治政府建设情况的报告</title>", "关于2023年法治政府建设情况的报告"),
    ("<title>\n  2022年政府信息公开工作年度报告｜南屏县人民政府\n</title>", "2022年政府信息公开工作年度报告"),
    ("<title>政务公开_旺苍县人民政府门户网站</title>", None),  # a channel's page names no report
    ("<title>法治政府&amp;依法行政工作总结——某市司法局</title>", "法治政府&依法行政工作总结"),
    ("", None),
])
def test_page_title_is_the_reports_part_of_the_head_title(head, title):
    assert page_title(f"<html><head>{head}</head><body><p>正文</p></body></html>") == title


def test_a_page_whose_title_is_only_in_its_head_opens_with_it(tmp_path):
    head = "<title>旺苍县2023年法治政府建设年度报告_旺苍县人民政府门户网站</title>"
    prose = "2023年，全县共收到行政复议申请45件，受理41件。"
    body = f"<div>首页 > 政务公开</div><p>{prose}</p>"
    read = read_document(write(tmp_path, "a.html", f"<html><head>{head}</head><body>{body}</body></html>".encode()))
    assert read.text.split("\n") == ["旺苍县2023年法治政府建设年度报告", "首页 > 政务公开", prose]
    shown = f"<html><head>{head}</head><body><h1>旺苍县2023年法治政府建设年度报告</h1><p>{prose}</p></body></html>"
    read = read_document(write(tmp_path, "b.html", shown.encode()))
    assert read.text.count("旺苍县2023年法治政府建设年度报告") == 1  # shown on the page: not written twice


def test_html_declared_charset_that_does_not_fit_falls_back_to_detection(tmp_path):
    # Pages saved by a browser are re-encoded as UTF-8 but keep their old <meta charset>.
    html = f'<html><head><meta charset="gbk"></head><body><p>{CHINESE}</p></body></html>'
    result = read_document(write(tmp_path, "saved.htm", html.encode("utf-8")))
    assert result.encoding == "utf-8"
    assert "三门峡市2023年度法治政府建设情况报告" in result.text


PAGE = """<!DOCTYPE html><html><head><title>页面标题</title><style>.x{color:red}</style>
<script>var tracking = "脚本内容";</script></head>
<body><nav><a href="/">首页</a> <a href="/news">新闻中心</a></nav>
<div class="article"><h1>太原市2021年法治政府建设年度报告</h1>
<p>第一段,<b>加粗</b>的文字。</p><p>第二段<br>换行之后</p>
<p>法治
    政府建设</p>
<ul><li>条目一</li><li>条目二</li></ul>
<table><tr><td>指标</td><td>数值</td></tr></table>
<!-- 注释不应出现 --></div>
<noscript>请启用脚本</noscript></body></html>"""


@pytest.mark.parametrize(
    ("present", "absent"),
    [
        ("太原市2021年法治政府建设年度报告", "页面标题"),
        ("第一段,加粗的文字。", "脚本内容"),
        ("第二段", "color:red"),
        ("换行之后", "新闻中心"),
        ("法治政府建设", "注释不应出现"),
        ("指标\t数值", "请启用脚本"),
    ],
)
def test_html_keeps_blocks_as_lines_and_drops_scripts_and_nav(tmp_path, present, absent):
    lines = read_document(write(tmp_path, "page.html", PAGE.encode("utf-8"))).text.splitlines()
    assert present in lines
    assert not any(absent in line for line in lines)


def test_html_list_items_are_separate_lines(tmp_path):
    text = read_document(write(tmp_path, "page.htm", PAGE.encode("utf-8"))).text
    assert "条目一\n条目二" in text


def minimal_pdf(text: str | None) -> bytes:
    """A one-page PDF with `text` in Helvetica (ASCII), or a page without content when None."""
    content = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode("ascii") if text else b""
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >>"
    page += b" /Contents 4 0 R >>" if text else b" >>"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        page,
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_pdf_text_layer_is_read(tmp_path):
    result = read_document(write(tmp_path, "report.pdf", minimal_pdf("Annual report 2023: 406 cases")))
    assert result.format == "pdf"
    assert result.encoding is None
    assert "Annual report 2023: 406 cases" in result.text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("成 都 市 2 0 2 3 年 法 治 政 府 建 设 年 度 报 告", "成都市2023年法治政府建设年度报告"),
        ("坚 持 以 习 近 平 法 治 思 想 为 指 导 ， 深 入 推 进", "坚持以习近平法治思想为指导，深入推进"),
        # Once a text is spaced out, shorter runs among its lines close up too, Chinese enough.
        ("法 治 政 府 建 设\n一 、 主 要 工 作\n全市共办理 案 件 1 2 3 件 ，",
         "法治政府建设\n一、主要工作\n全市共办理 案件123件，"),
        # Spaces between words stay.
        ("主体“诚信太原 放心消费”示范", "主体“诚信太原 放心消费”示范"),
        ("字号：大 中 小", "字号：大 中 小"),
        ("省 市 县 乡 村 五级", "省 市 县 乡 村 五级"),  # five in a row: not a spaced-out text
        ("法 治 政 府 建 设\n1 2 3 4 5 6 7\na b c d e f 法", "法治政府建设\n1 2 3 4 5 6 7\na b c d e f 法"),
        ("法 治 政 府 建 设  年 度 报 告", "法治政府建设  年度报告"),  # two spaces: two word groups
        ("", ""),
    ],
    ids=["title", "prose", "short-runs", "words", "ui-words", "five-singles", "not-chinese", "word-gap", "empty"],
)
def test_text_set_out_character_by_character_is_closed_up(text, expected):
    assert unspaced(text) == expected


def test_a_report_set_out_character_by_character_reads_as_one_written_normally(tmp_path):
    """The text of a letter-spaced PDF, saved as GB18030: its title, kind, region and year are found, its words
    are searchable, its figures read."""
    from archive.text import tokenize
    from indexer.pipeline import prepare

    lines = ["成都市2023年法治政府建设年度报告", "2023年，成都市坚持以习近平法治思想为指导，深入推进依法行政，"
             "全年办理行政复议案件123件，办结率98.5%。", "成都市人民政府", "2024年1月5日"]
    path = write(tmp_path, "spaced.txt", "\n".join(" ".join(line) for line in lines).encode("gb18030"))
    doc, chunks, _ = prepare(path, 500)
    assert (doc.title, doc.doc_type, doc.region, doc.year) == (lines[0], "年度报告", "成都市", 2023)
    assert (doc.publisher, doc.published) == ("成都市人民政府", "2024-01-05")
    assert {"依法行政", "行政复议"} <= set(tokenize(chunks[0].text))
    assert [(f["label"], f["value"], f["unit"]) for f in chunks[0].figures] == [
        ("办理行政复议案件", 123.0, "件"), ("办结率", 98.5, "%")]


def make_docx(path: Path) -> Path:
    document = docx.Document()
    document.add_heading("新密市2023年度法治政府建设工作安排", level=1)
    document.add_paragraph("一、深入学习贯彻习近平法治思想")
    table = document.add_table(rows=2, cols=3)
    table.cell(0, 0).merge(table.cell(0, 1)).text = "合并单元格"
    table.cell(0, 2).text = "牵头单位"
    for col, value in enumerate(["行政复议", "406", "市司法局"]):
        table.cell(1, col).text = value
    document.add_paragraph("二、健全政府机构职能体系")
    document.save(path)
    return path


def test_docx_paragraphs_and_table_cells_in_document_order(tmp_path):
    result = read_document(make_docx(tmp_path / "plan.docx"))
    assert result.format == "docx"
    assert result.text.splitlines() == [
        "新密市2023年度法治政府建设工作安排",
        "一、深入学习贯彻习近平法治思想",
        "合并单元格\t牵头单位",  # the merged cell once, not once per grid column
        "行政复议\t406\t市司法局",
        "二、健全政府机构职能体系",
    ]


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"", "文件为空"),
        ("blank.txt", b" \r\n\t\n", "文件为空"),
        ("bom-only.txt", codecs.BOM_UTF8 + b"  \n", "文件中没有文字"),
        ("binary.txt", bytes(range(256)) * 4, "无法解码"),
        ("controls.txt", b"\x00\x01\x02abc" * 100, "内容为二进制"),  # valid UTF-8, still not text
        ("junk.pdf", b"%PDF-1.4\n\x00\x9c\xff garbage \x01" * 40, "PDF 文件已损坏"),
        ("notapdf.pdf", b"this is not a pdf at all", "PDF 文件已损坏"),
        ("scanned.pdf", minimal_pdf(None), "没有文字层"),
        ("junk.docx", b"PK\x03\x04 not really a zip archive", "DOCX 文件已损坏"),
        ("text.docx", "正文".encode() * 20, "DOCX 文件已损坏"),
        ("empty-body.html", b"<html><body><script>x()</script></body></html>", "文件中没有文字"),
        ("report.xyz", b"some text", "不支持的文件类型 '.xyz'"),
        ("sheet.xls", b"some text", "不支持的文件类型 '.xls'"),
        ("README", b"some text", "（无扩展名）"),
        ("report.txt.meta.json", b"{}", "元数据附带文件"),
    ],
)
def test_unreadable_files_raise_read_error(tmp_path, name, data, reason):
    path = write(tmp_path, name, data)
    with pytest.raises(ReadError) as info:
        read_document(path)
    assert reason in info.value.reason
    assert info.value.path == path
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("name", "data", "lead"),
    [
        ("junk.pdf", b"%PDF-1.4\n\x00\x9c\xff garbage \x01" * 40, "PDF 读取出错（pypdf 原文："),
        ("junk.docx", b"PK\x03\x04 not really a zip archive", "DOCX 读取出错（python-docx 原文："),
    ],
)
def test_a_librarys_own_words_are_logged_behind_a_chinese_lead(tmp_path, caplog, name, data, lead):
    """The user sees the Chinese reason; the log keeps the library's words too, each line led in Chinese."""
    path = write(tmp_path, name, data)
    with caplog.at_level("INFO", logger="indexer.reading"), pytest.raises(ReadError):
        read_document(path)
    lines = [r.getMessage() for r in caplog.records if r.name == "indexer.reading" and path.name in r.getMessage()]
    assert lines and all(line.startswith(f"{path.name}：") for line in lines), lines
    assert any(lead in line for line in lines), lines


def test_file_over_the_size_limit_is_refused(tmp_path):
    path = write(tmp_path, "big.txt", CHINESE.encode("utf-8"))
    assert read_document(path, max_bytes=len(CHINESE.encode("utf-8"))).text == CHINESE
    with pytest.raises(ReadError, match="文件过大"):
        read_document(path, max_bytes=100)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda tmp: tmp / "missing.txt", "无法打开文件"),
        (lambda tmp: (tmp / "folder.txt").mkdir() or tmp / "folder.txt", "不是普通文件"),
    ],
    ids=["missing", "directory"],
)
def test_paths_that_are_not_files(tmp_path, make, reason):
    with pytest.raises(ReadError, match=reason):
        read_document(make(tmp_path))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.txt", True), ("a.HTML", True), ("a.htm", True), ("a.pdf", True), ("a.docx", True),
        ("a.meta.json", False), ("a.txt.meta.json", False), ("a.json", False), ("a.doc", True), ("a.WPS", True),
        ("a.xls", False), ("a", False),
    ],
)
def test_is_report_file(name, expected):
    assert is_report_file(Path(name)) is expected


def test_supported_suffixes_are_lowercase_with_dot():
    assert all(s.startswith(".") and s == s.lower() for s in SUPPORTED_SUFFIXES)


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"report.txt.meta.json": '{"region": "新密市"}'}, {"region": "新密市"}),
        ({"report.meta.json": '{"year": "2023"}'}, {"year": "2023"}),
        # The full name is the more specific one, so it wins when both exist.
        ({"report.txt.meta.json": '{"year": 2022}', "report.meta.json": '{"year": 2021}'}, {"year": 2022}),
        ({"report.txt.meta.json": '\ufeff{"title": "带BOM"}'}, {"title": "带BOM"}),
        ({"other.meta.json": '{"year": 2021}'}, {}),
        ({}, {}),
    ],
    ids=["full-name", "stem-name", "full-name-wins", "bom", "other-file", "none"],
)
def test_read_sidecar(tmp_path, files, expected):
    for name, content in files.items():
        (tmp_path / name).write_text(content, encoding="utf-8")
    assert read_sidecar(tmp_path / "report.txt") == expected


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'{"year": 2023,', "JSON 格式有误"),
        (b"{'year': 2023}", "JSON 格式有误"),
        (b'["not", "an", "object"]', "JSON 对象"),
        ('{"title": "报告"}'.encode("gb18030"), "不是 UTF-8"),
    ],
)
def test_bad_sidecar_raises_read_error(tmp_path, content, reason):
    sidecar = write(tmp_path, "report.meta.json", content)
    with pytest.raises(ReadError) as info:
        read_sidecar(tmp_path / "report.txt")
    assert reason in info.value.reason
    assert info.value.path == sidecar


# --- formats that need an outside program: the inputs are built here, from text this test writes ---

FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
SCAN_LINES = ["云岭县2023年法治政府建设年度报告", "一、全年办理行政复议案件", "共计四百零六件"]


def soffice_doc(tmp_path: Path, suffix: str) -> Path:
    """A Word 97-2003 file made by LibreOffice from a .docx written with python-docx."""
    require(shutil.which("soffice") is not None, "LibreOffice (soffice) is not installed")
    source = make_docx(tmp_path / "plan.docx")
    path = tmp_path / f"plan{suffix}"
    _convert_to_doc(source, tmp_path / "out")
    (tmp_path / "out" / "plan.doc").rename(path)
    return path


def _convert_to_doc(source: Path, outdir: Path) -> None:
    profile = (outdir.parent / "profile").as_uri()
    subprocess.run(["soffice", f"-env:UserInstallation={profile}", "--headless", "--convert-to", "doc",
                    "--outdir", str(outdir), str(source)], check=True, capture_output=True, timeout=180)


@pytest.mark.parametrize("suffix", [".doc", ".wps"])
def test_word97_and_wps_files_are_read_through_libreoffice(tmp_path, suffix):
    path = soffice_doc(tmp_path, suffix)
    assert path.read_bytes()[:8] == bytes.fromhex("d0cf11e0a1b11ae1")  # an OLE2 compound file, not a zip
    result = read_document(path)
    assert result.format == suffix[1:]
    assert result.text.splitlines() == [
        "新密市2023年度法治政府建设工作安排",
        "一、深入学习贯彻习近平法治思想",
        "合并单元格\t牵头单位",
        "行政复议\t406\t市司法局",
        "二、健全政府机构职能体系",
    ]
    assert result.notes == (f"由 LibreOffice 从 {suffix} 转换",)


def test_a_damaged_doc_is_a_read_error_for_that_file(tmp_path):
    require(shutil.which("soffice") is not None, "LibreOffice (soffice) is not installed")
    path = write(tmp_path, "broken.doc", bytes.fromhex("d0cf11e0a1b11ae1") + b"\x00garbage" * 50)
    with pytest.raises(ReadError) as info:
        read_document(path)
    assert "LibreOffice" in info.value.reason


def test_a_missing_converter_is_a_chinese_error_naming_the_package(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no soffice on this PATH: what a machine without it sees
    with pytest.raises(ReadError) as info:
        read_document(write(tmp_path, "old.doc", bytes.fromhex("d0cf11e0a1b11ae1") * 10))
    assert "未安装 soffice" in info.value.reason and "libreoffice-writer-nogui" in info.value.reason


def scanned_page(lines: list[str]) -> bytes:
    """A PDF page that is only a picture of Chinese text (no text layer), drawn with Pillow."""
    from PIL import Image, ImageDraw, ImageFont

    require(FONT.is_file(), f"the font {FONT} (fonts-wqy-zenhei) is not installed")
    image = Image.new("L", (1240, 1754), 255)  # A4 at 150 dpi
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(FONT), 44)
    for i, line in enumerate(lines):
        draw.text((100, 150 + 90 * i), line, font=font, fill=0)
    out = io.BytesIO()
    image.save(out, format="PDF", resolution=150)
    return out.getvalue()


def two_page_pdf(first: bytes, second: bytes) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for data in (first, second):
        for page in PdfReader(io.BytesIO(data)).pages:
            writer.add_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_scanned_pages_are_read_by_ocr_and_noted(tmp_path):
    require(has_ocr(), "OCR is not installed (tesseract-ocr, tesseract-ocr-chi-sim, poppler-utils)")
    data = two_page_pdf(minimal_pdf("Page one has a text layer"), scanned_page(SCAN_LINES))
    result = read_document(write(tmp_path, "scan.pdf", data))
    assert "Page one has a text layer" in result.text
    compact = "".join(result.text.split())
    for line in SCAN_LINES:
        assert line in compact
    assert result.notes == ("OCR（Tesseract chi_sim）识别：第 2 页",)


def test_an_all_scanned_pdf_is_ingested_with_its_metadata_and_ocr_note(tmp_path):
    require(has_ocr(), "OCR is not installed (tesseract-ocr, tesseract-ocr-chi-sim, poppler-utils)")
    from indexer.pipeline import prepare

    lines = ["太原市2021年法治政府建设年度报告", "2021年，全市深入推进依法行政。"]
    doc, chunks, _ = prepare(write(tmp_path, "scan.pdf", scanned_page(lines)), chunk_chars=500)
    assert (doc.region, doc.region_level, doc.province, doc.year, doc.doc_type) == (
        "太原市", "city", "山西省", 2021, "年度报告")
    assert doc.notes == ("OCR（Tesseract chi_sim）识别：第 1 页",)
    assert "深入推进依法行政" in "".join(c.text for c in chunks)


def test_office_to_docx_gives_docx_bytes(tmp_path):
    path = soffice_doc(tmp_path, ".doc")
    assert office_to_docx(path.name, path.read_bytes())[:2] == b"PK"


def test_without_ocr_a_partly_scanned_pdf_keeps_its_text_pages_and_says_so(tmp_path, monkeypatch):
    data = two_page_pdf(minimal_pdf("Page one has a text layer"), minimal_pdf(None))
    monkeypatch.setenv("PATH", str(tmp_path))  # neither pdftoppm nor tesseract: a machine without them
    result = read_document(write(tmp_path, "scan.pdf", data))
    assert "Page one has a text layer" in result.text
    assert result.notes == ("第 2 页为扫描图像，未安装 OCR（tesseract-ocr、tesseract-ocr-chi-sim），未识别",)


def test_without_ocr_an_all_scanned_pdf_is_a_chinese_error_naming_the_packages(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ReadError) as info:
        read_document(write(tmp_path, "scan.pdf", minimal_pdf(None)))
    assert "需要 OCR" in info.value.reason and "tesseract-ocr-chi-sim" in info.value.reason


@pytest.mark.parametrize("encoding", ["big5", "gb18030", "utf-16"])
def test_a_traditional_report_in_any_encoding_gets_its_title_region_and_year(tmp_path, encoding):
    """Big5 text was read but its title missed (issue 16): the rules now see traditional as simplified."""
    from indexer.pipeline import prepare

    text = ("雲溪市2021年法治政府建設年度報告\n一、總體情況\n全年收到行政複議申請152件，受理138件。\n"
            "二、下一步工作\n繼續推進嚴格規範公正文明執法。\n")
    path = tmp_path / "report.txt"
    path.write_bytes(text.encode(encoding))
    doc, chunks, _ = prepare(path, 500)
    expected = ("云溪市2021年法治政府建设年度报告", "云溪市", 2021, "年度报告")
    assert (doc.title, doc.region, doc.year, doc.doc_type) == expected
    assert "行政複議申請152件" in chunks[0].text  # the passages keep the characters as written


def _reference_html_text(html: str) -> str:
    """The page's text as `_html_text` defined it before it became one walk: strings replaced and line breaks
    inserted into the parsed page, then bs4's get_text. The walk must give the same text."""
    from bs4 import BeautifulSoup, NavigableString

    from indexer.reading import _BLOCK_TAGS, _CELL_TAGS, _CJK_BREAK, _DROP_TAGS, _WHITESPACE

    soup = BeautifulSoup(html, "lxml")
    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    for node in soup.find_all(string=True):
        if type(node) is NavigableString and node.find_parent("pre") is None:
            node.replace_with(_WHITESPACE.sub(" ", _CJK_BREAK.sub("", str(node))))
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for tag in soup.find_all(True):
        if tag.name in _BLOCK_TAGS:
            tag.insert_before("\n")
            tag.insert_after("\n")
        elif tag.name in _CELL_TAGS:
            tag.insert_after("\t")
    lines = (line.strip() for line in soup.get_text().splitlines())
    return "\n".join(line for line in lines if line)


ODD_PAGES = [
    "<html><head><title>标题</title></head><body><p>甲\n乙</p><!-- 注释 --><p>丙</p></body></html>",
    "前文<html><body><pre>  a\n  b <br>c</pre><div>x<script>y</script>尾</div></body></html>后文",
    "<ruby>漢<rp>(</rp><rt>han<div>d</div></rt><rp>)</rp></ruby>字",  # ruby annotations: bs4 leaves them out
    "<table><tr><td>a</td> <td>b</td></tr><tr><th>c</th><td><p>d</p></td></tr></table>",
    "<div><nav>菜单<p>x</p></nav>正文<br/><br>下一行</div>",
    "<![CDATA[ raw ]]><p>p</p><?php echo 1 ?>tail",
    "<!DOCTYPE html><html><body><template><p>t</p></template>&nbsp;a&amp;b&lt;c</body></html>",
    "<o:p>办公</o:p><svg><text>矢量</text></svg>外面<iframe>框</iframe>",
    "<pre><b>粗\n体</b>\n  缩进</pre><p>\u3000全角空格\t制表</p>",
    "<div>" * 3000 + "深" + "</div>" * 3000,  # deeper than Python's recursion limit
    "<p>中\n文</p><p>A\nB</p><p>中 \n 文</p>",
    "<noscript><p>n</p></noscript><style>s{}</style><head><p>在头里</p></head>",
    "<ul><li>一<li>二</ul><dl><dt>术<dd>义</dl><hr>线",
    "<p>未闭合<div>块<span>行内</p>尾巴",
]


def test_html_text_is_the_reference_on_odd_pages_fixtures_demo_and_bench_pages(tmp_path):
    from bench.corpus import write_files
    from indexer.reading import _decode, _html_text

    write_files(tmp_path / "bench", 1500)
    root = Path(__file__).resolve().parents[2]
    files = [*(root / "tests" / "fixtures" / "reports").glob("*.html"), *(root / "demo").glob("*.html"),
             *(tmp_path / "bench").glob("*.html")]
    pages = ODD_PAGES + [PAGE] + [_decode(p, p.read_bytes())[0] for p in files]
    assert len(files) >= 10
    for page in pages:
        assert _html_text(page) == _reference_html_text(page), page[:80]


def test_html_text_by_lxmls_tree_is_bs4s_on_tag_soup():
    """`_html_text` walks lxml's tree, `_html_text_by_bs4` bs4's of the same parser: the same text on 3,000 pages of
    made-up tag soup (unclosed and stray tags, comments, processing instructions, entities, ruby, pre, tables, Chinese
    text broken across lines, text before and after the page) and on pages nested past lxml's floor."""
    import random

    from indexer.reading import _LXML_DEEPEST, _html_text, _html_text_by_bs4

    rng = random.Random(11)
    tags = ["p", "div", "span", "b", "pre", "td", "th", "tr", "table", "li", "ul", "h2", "section", "ruby", "rt",
            "rp", "script", "style", "nav", "head", "body", "html", "o:p", "font", "a", "form", "center", "tbody"]
    texts = ["法治政府", "建设\n年度", "报告 ", "\u3000全角", "A\nB", "  ", "\n", "12,345件", "中 \n 文", "&nbsp;",
             "&amp;", "&#x4e2d;", "&lt;b&gt;", "&bogus;", "<br>", "<br/>", "<hr>", "<!-- 注释 -->", "<?php x ?>",
             "<![CDATA[ c ]]>", "\t", "。", "尾"]

    def piece() -> str:
        roll = rng.random()
        if roll < 0.35:
            return f"<{rng.choice(tags)}>"
        if roll < 0.6:
            return f"</{rng.choice(tags)}>"
        return rng.choice(texts)

    pages = [rng.choice(["", "<!DOCTYPE html>"]) + "".join(piece() for _ in range(rng.randint(1, 40)))
             for _ in range(3000)]
    pages += ["<div>" * depth + "深" + "</div>" * depth + "<p>后</p>" for depth in (_LXML_DEEPEST - 1, _LXML_DEEPEST,
                                                                                   _LXML_DEEPEST + 1, 2047, 2049)]
    for page in pages:
        assert _html_text(page) == _html_text_by_bs4(page), page
    assert sum(bool(_html_text(page)) for page in pages) > 2000  # most made-up pages have text to give


@pytest.mark.parametrize(("page", "text"), [
    ("<p>中<!DOCTYPE html>\n文</p>", "中文"),  # bs4 ended a text node at the declaration: "中 文"
    ("<p>中\n<!DOCTYPE html>文</p>", "中文"),
    ("<p>a<!DOCTYPE html>\nb</p>", "a b"),
    ("<p>中<!-- 注释 -->\n文</p>", "中 文"),  # a comment still parts the text around it, as it did
])
def test_a_declaration_inside_text_is_not_there(page, text):
    """A DOCTYPE inside a page's text (pages glued together) leaves no trace in lxml's tree: the text around it is
    one text, a line break in it between Chinese characters layout (bs4 split the text there, and kept a space)."""
    from indexer.reading import _html_text

    assert _html_text(page) == text


# Text of other East Asian encodings that is valid GB18030 as bytes (written for this test).
KOREAN = ("정부는 올해 행정 심판 사건을 처리하면서 법치 행정을 강화하였다. "
          "지방 정부의 연간 보고서에 따르면 민원 처리 건수는 작년보다 크게 늘었으며, "
          "공무원 교육과 정보 공개도 꾸준히 추진되었다. 우리는 국민의 권리를 보호하고 "
          "투명한 행정을 실현하기 위하여 다양한 제도를 마련하였다. "
          "앞으로도 시민과 소통하며 신뢰받는 정부가 되도록 노력할 것이다. ") * 4
JAPANESE = ("政府は本年度、行政不服審査の事件を処理し、法の支配に基づく行政を強化した。"
            "地方自治体の年次報告によれば、苦情の処理件数は昨年より大きく増え、"
            "職員の研修と情報公開も着実に進められた。私たちは国民の権利を守り、"
            "透明な行政を実現するために様々な制度を整えた。"
            "今後も市民と対話しながら、信頼される政府を目指して努力する。") * 4


def _chinese_reports(seeds_dir: Path, demo_dir: Path) -> dict[str, str]:
    from bench.corpus import generate, render_text

    files = [*sorted(seeds_dir.glob("*.txt")), *sorted(demo_dir.rglob("*.txt"))]
    texts = {p.name: read_document(p).text for p in files}
    texts.update({f"bench corpus {i}": render_text(g) for i, g in enumerate(generate(2000)) if i % 7 == 5})
    return texts


def test_plain_gb_text_is_read_without_the_detector_as_the_detector_reads_it(seeds_dir, demo_dir, tmp_path):
    from indexer.reading import _GB_MIN_HAN, _HAN, _detect, _plainly_gb

    texts = _chinese_reports(seeds_dir, demo_dir)
    assert len(texts) > 20
    plain = 0
    for name, text in texts.items():
        data = text.encode("gb18030")
        if len(_HAN.findall(text)) < _GB_MIN_HAN:  # too little Chinese to tell: the detector's to judge
            assert _plainly_gb(data) is None, name
            continue
        assert _plainly_gb(data) == text, name
        assert _detect(tmp_path / name, data) == "gb18030", name  # the detector, asked, says the same
        assert read_document(write(tmp_path, "report.txt", data)) == RawText(text, "gb18030", "txt"), name
        plain += 1
    assert plain >= 20


@pytest.mark.parametrize(("text", "encoding"), [(KOREAN, "euc_kr"), (KOREAN, "cp949"), (JAPANESE, "euc_jp"),
                                                (JAPANESE, "shift_jis"), ("big5", "big5")],
                         ids=["euc-kr", "cp949", "euc-jp", "shift-jis", "big5"])
def test_other_encodings_valid_as_gb_bytes_are_left_to_the_detector(seeds_dir, tmp_path, text, encoding):
    """Their bytes decode as GB18030 (else the test proves nothing), but read so they are not plain Chinese: the
    detector reads them, and right."""
    from indexer.reading import _plainly_gb

    if text == "big5":  # a seed report made traditional, as Taiwan or Hong Kong would write it
        import opencc

        seed = sorted(seeds_dir.glob("*.txt"))[0].read_text(encoding="utf-8")
        text = opencc.OpenCC("s2t").convert(seed)
    data = text.encode(encoding, errors="ignore")
    data.decode("gb18030")  # raises if these bytes are not valid GB18030
    assert _plainly_gb(data) is None
    assert read_document(write(tmp_path, "report.txt", data)).text == data.decode(encoding)
