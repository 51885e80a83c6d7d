"""Read a report file (txt, html, pdf, docx, doc, wps) into plain text, and its optional sidecar metadata.

.doc and .wps go through LibreOffice, PDF pages without a text layer through OCR (`converters`);
the text's `notes` say when OCR was used and on which pages.

Every failure surfaces as `ReadError(path, reason)`: the pipeline logs it against the
file and goes on with the next one, and the upload API answers 400 with the reason.
"""

from __future__ import annotations

import codecs
import functools
import io
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from archive.errors import ArchiveError
from indexer.converters import ConversionError, has_ocr, ocr_pdf_pages, office_to_docx

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES: tuple[str, ...] = (".txt", ".html", ".htm", ".pdf", ".docx", ".doc", ".wps")
SIDECAR_SUFFIX = ".meta.json"
DEFAULT_MAX_BYTES = 50 * 1024 * 1024

_FORMATS = {".txt": "txt", ".html": "html", ".htm": "html", ".pdf": "pdf", ".docx": "docx", ".doc": "doc",
            ".wps": "wps"}
# A page with fewer characters than this has no text layer worth the name: a scan, read by OCR.
MIN_PAGE_CHARS = 5
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_GB_FAMILY = frozenset({"gb2312", "gbk", "gb18030", "cp936"})
# Legacy East Asian codecs that charset-normalizer often ties with GB18030 on short
# Chinese samples; this archive's legacy files are mainland Chinese, so GB wins a tie.
_CJK_RIVALS = frozenset({"big5", "big5hkscs", "cp950", "cp949", "euc_kr", "johab",
                         "euc_jp", "euc_jis_2004", "shift_jis", "cp932", "iso2022_jp"})
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
# Not "form": ASP.NET pages wrap the whole page, article included, in one <form>.
_DROP_TAGS = ("script", "style", "nav", "noscript", "template", "iframe", "head", "svg")
_BLOCK_TAGS = frozenset(
    "address article aside blockquote body center dd div dl dt fieldset figcaption figure footer "
    "h1 h2 h3 h4 h5 h6 header hr html li main ol p pre section table tbody thead tfoot tr ul "
    "caption".split()
)
_CELL_TAGS = frozenset({"td", "th"})
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_WHITESPACE = re.compile(r"[ \t\r\n\f\v]+")
# A source line break between two Chinese characters is layout, not a word gap.
_CJK_BREAK = re.compile(r"(?<=[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef])[ \t]*[\r\n]+[ \t\r\n]*"
                        r"(?=[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef])")


class ReadError(ArchiveError):
    """A file could not be turned into report text; `reason` says why in one line."""

    code = "unreadable_file"
    status = 400

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self):
        # A worker process's ReadError reaches the ingest whole (the default pickles only the message).
        return type(self), (self.path, self.reason)


# A line set out character by character ("成 都 市 2 0 2 3 年 法 治 政 府 建 设 年 度 报 告"): what some PDF text layers
# (justified or letter-spaced text) and copies of them give. In a text with six spaced Chinese characters in a row,
# a run of four or more single characters, each one space apart, three or more and a third of them Chinese, is one
# word group: its spaces go. Spaces between words stay ("诚信太原 放心消费", "大 中 小", "年度  报告"), and a text
# without such a row is left as it is.
# (The row is looked for from its first space: a pattern that starts with a literal is found by a fast scan for it,
# one that starts with a class is tried at every Chinese character, 0.02 against 0.4 CPU-s on the 100k corpus.)
_SPACED_HINT = re.compile(r" [\u4e00-\u9fff](?: [\u4e00-\u9fff]){4}(?!\S)")
_SPACED_RUN = re.compile(r"(?<!\S)\S(?: \S){3,}(?!\S)")
_HAN = re.compile(r"[\u4e00-\u9fff]")


def unspaced(text: str) -> str:
    """`text` with its character-by-character spaced runs closed up (see `_SPACED_RUN`)."""
    return _SPACED_RUN.sub(_closed_up, text) if _spaced_out(text) else text


def _spaced_out(text: str) -> bool:
    return any(m.start() and _HAN.match(text, m.start() - 1) for m in _SPACED_HINT.finditer(text))


def _closed_up(run: re.Match) -> str:
    chars = run[0][::2]
    han = len(_HAN.findall(chars))
    return chars if han >= 3 and 3 * han >= len(chars) else run[0]


@dataclass(frozen=True)
class RawText:
    """The text of one file as read, before any cleaning."""

    text: str
    encoding: str | None  # None for pdf and docx, whose text is not stored as encoded bytes
    format: str  # "txt" | "html" | "pdf" | "docx" | "doc" | "wps"
    notes: tuple[str, ...] = ()  # how the text was obtained, where that matters (OCR, a converter)


def is_sidecar(path: Path) -> bool:
    """True for `NAME.meta.json` files, which describe a report but are not one."""
    return path.name.lower().endswith(SIDECAR_SUFFIX)


def format_of(path: Path) -> str | None:
    """The format a file is read as, by its suffix ("txt", "html", "pdf", "docx", "doc", "wps"), or None."""
    return _FORMATS.get(Path(path).suffix.lower())


def is_report_file(path: Path) -> bool:
    """True when `path` has a supported suffix and is not a sidecar."""
    return path.suffix.lower() in SUPPORTED_SUFFIXES and not is_sidecar(path)


def read_document(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> RawText:
    """Read one report file into text; raise `ReadError` for anything that is not a readable report."""
    path = Path(path)
    suffix = path.suffix.lower()
    if is_sidecar(path):
        raise ReadError(path, "这是元数据附带文件（*.meta.json），不是报告")
    if suffix not in _FORMATS:
        raise ReadError(path, f"不支持的文件类型 {suffix or '（无扩展名）'!r}；"
                              f"支持 {', '.join(SUPPORTED_SUFFIXES)}")
    data = _read_bytes(path, max_bytes)
    fmt = _FORMATS[suffix]
    notes: tuple[str, ...] = ()
    try:
        if fmt == "txt":
            text, encoding = _decode(path, data)
        elif fmt == "html":
            text, encoding = _html_to_text(path, data)
        elif fmt == "pdf":
            (text, notes), encoding = _pdf_to_text(path, data), None
        elif fmt == "docx":
            text, encoding = _docx_to_text(path, data), None
        else:
            text, encoding = _docx_to_text(path, office_to_docx(path.name, data)), None
            notes = (f"由 LibreOffice 从 .{fmt} 转换",)
    except ConversionError as exc:
        raise ReadError(path, exc.reason) from exc
    if not text.strip():
        raise ReadError(path, "文件中没有文字")
    text = unspaced(text)
    log.debug("read %s as %s (%s), %d characters", path, fmt, encoding, len(text))
    return RawText(text=text, encoding=encoding, format=fmt, notes=notes)


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise ReadError(path, "不是普通文件")
        if size > max_bytes:
            raise ReadError(path, f"文件过大：{size} 字节（上限 {max_bytes}）")
        data = path.read_bytes()
    except OSError as exc:
        raise ReadError(path, f"无法打开文件：{exc.strerror or exc}") from exc
    if not data.strip():
        raise ReadError(path, "文件为空")
    return data


def _decode(path: Path, data: bytes, declared: str | None = None) -> tuple[str, str]:
    """Decode bytes: a BOM first, then valid UTF-8, then a declared charset, then detection."""
    text, encoding = _decode_any(path, data, declared)
    controls = len(_CONTROL_CHARS.findall(text))
    if controls > 0.01 * len(text):
        raise ReadError(path, f"无法解码：内容为二进制（含 {controls} 个控制字符）")
    return text, encoding


def _decode_any(path: Path, data: bytes, declared: str | None) -> tuple[str, str]:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _strict(path, data, encoding), encoding
    if b"\x00" not in data:  # NUL bytes: UTF-16 without a BOM, or binary; let detection judge
        try:
            # Legacy GB text with Chinese in it is practically never valid UTF-8, while
            # valid UTF-8 can look like plausible GB18030: so strict UTF-8 goes first.
            return data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            pass
    if declared:
        encoding = _canonical(declared)
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError):
            log.info("%s：声明的编码 %r 与内容不符，改为自动识别", path, declared)
    if (text := _plainly_gb(data)) is not None:
        return text, "gb18030"
    encoding = _detect(path, data)
    return _strict(path, data, encoding), encoding


# GB text that says so itself. charset-normalizer weighs every codec it knows against the bytes: 4-5 ms a file of a
# few KB (most of reading a GB18030 report, and a tenth of an ingest before embedding). Bytes that are valid GB18030
# and read as plain Chinese, a large share of their Chinese characters among the hundred commonest (the detector's own
# list), are GB18030: reports read so give 0.19-0.27 (seeds, demo/, the bench corpus); Big5, EUC-KR, EUC-JP and
# Shift-JIS text read as GB18030 gives 0.00-0.03 (tests/unit/test_reading.py). Anything less plain (fewer Chinese
# characters, a NUL byte, a share below the bar) is left to the detector.
_GB_MIN_HAN = 100
_GB_MIN_COMMON = 0.10
_HAN = re.compile("[\u4e00-\u9fff]")


@functools.cache
def _commonest_han() -> re.Pattern[str]:
    from charset_normalizer.constant import FREQUENCIES

    return re.compile("[" + "".join(FREQUENCIES["Chinese"]) + "]")


def _plainly_gb(data: bytes) -> str | None:
    """The bytes read as GB18030 when they are plainly Chinese text so encoded, else None (ask the detector)."""
    if b"\x00" in data:
        return None
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        return None
    han = _HAN.subn("", text)[1]  # counted, not listed: a 50 MB file holds millions of them
    if han < _GB_MIN_HAN or _commonest_han().subn("", text)[1] < _GB_MIN_COMMON * han:
        return None
    return text


def _strict(path: Path, data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        log.info("%s：无法按 %s 解码（编解码器原文：%s）", path.name, encoding, exc)
        raise ReadError(path, f"无法按 {encoding} 编码解码") from exc


def _canonical(encoding: str) -> str:
    """Codec name to decode with; GB2312/GBK become GB18030, their superset."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return encoding
    return "gb18030" if name.replace("-", "") in _GB_FAMILY else name


def _detect(path: Path, data: bytes) -> str:
    """Ask charset-normalizer; among equally plausible CJK candidates prefer GB18030."""
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    if not matches:
        raise ReadError(path, "无法解码：不是任何已知编码的文字（可能是二进制文件）")
    best = matches[0]
    if best.encoding in _CJK_RIVALS:
        for m in matches[1:]:
            tied = m.chaos <= best.chaos + 1e-9 and m.coherence >= best.coherence - 1e-9
            if tied and _canonical(m.encoding) == "gb18030":
                best = m
                break
    return _canonical(best.encoding)


def _html_to_text(path: Path, data: bytes) -> tuple[str, str]:
    found = _META_CHARSET.search(data[:4096])
    declared = found.group(1).decode("ascii") if found else None
    html, encoding = _decode(path, data, declared)
    try:
        text = _html_text(html)
    except Exception as exc:  # lxml/bs4 raise many types on broken markup; report them as one
        log.info("%s：HTML 解析出错（解析库原文：%s）", path.name, exc)
        raise ReadError(path, "HTML 格式有误，无法读出正文") from exc
    title = page_title(html)
    if title and re.sub(r"\s+", "", title) not in re.sub(r"\s+", "", text[:_TITLE_SEEN_CHARS]):
        text = title + "\n" + text  # a page whose report title is only in its <title>: its first line, as on paper
    return text, encoding


_HEAD_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.I | re.S)
_TITLE_SEPARATOR = re.compile(r"\s*(?:[_｜|]|\s[-—–]\s|——|--)\s*")
_DOCUMENT_WORDS = ("报告", "公报", "要点", "计划", "安排", "总结", "纲要", "情况", "综述")
_TITLE_SEEN_CHARS = 2000  # a title written on the page stands near its top


def page_title(html: str) -> str | None:
    """The report's title in a page's <title>, without the site's name beside it ("…年度报告_XX县人民政府门户网站"):
    the first part that names a kind of document; None when no part does."""
    import html as entities

    found = _HEAD_TITLE.search(html[:20000])
    if not found:
        return None
    whole = _WHITESPACE.sub(" ", entities.unescape(re.sub(r"<[^>]*>", "", found.group(1)))).strip()
    parts = [p for p in _TITLE_SEPARATOR.split(whole) if len(p) >= 6 and any(w in p for w in _DOCUMENT_WORDS)]
    return parts[0] if parts else None


def _html_text(html: str) -> str:
    """Visible text of a page, one line per block element, navigation and scripts dropped.

    One walk over the parsed page, in document order, without changing it: a text node as it is inside `pre`, its
    source-code whitespace collapsed as a browser would elsewhere; `br` a line break; a block element between line
    breaks, a table cell followed by a tab; scripts, styles, navigation and the other _DROP_TAGS with all they hold,
    and comments, processing instructions and ruby annotations (`rt`, `rp`), left out.

    The page is parsed by lxml, fed as bs4 feeds it (the same libxml2 parser, 512 characters at a time), and its
    tree walked: the text bs4's tree gave (`_html_text_by_bs4`, tests/unit/test_reading.py holds the two equal), at
    a quarter of the cost. libxml2 builds a tree no deeper than 2,048 elements (`huge_tree`; 256 without it) and
    drops what lies below: a page nested past _LXML_DEEPEST is read through bs4 instead, whose tree has no floor."""
    from lxml import etree

    parser = etree.HTMLParser(recover=True, huge_tree=True)
    for i in range(0, len(html), _FEED_CHARS):
        parser.feed(html[i:i + _FEED_CHARS])
    try:
        root = parser.close()
    except etree.XMLSyntaxError:  # no tree at all (an empty page)
        root = None
    if root is None:  # what bs4 makes of such a page, then
        return _html_text_by_bs4(html)
    out: list[str] = []

    def put(text: str | None, in_pre: bool, hidden: bool) -> None:
        if text and not hidden:
            out.append(text if in_pre else _WHITESPACE.sub(" ", _CJK_BREAK.sub("", text)))

    # (children, inside pre, inside a ruby annotation, text after them, their element), the page's top level first:
    # the root element with the comments and processing instructions beside it.
    top = [*reversed(list(root.itersiblings(preceding=True))), root, *root.itersiblings()]
    stack: list[tuple] = [(iter(top), False, False, "", None)]
    while stack:
        children, in_pre, hidden, after, element = stack[-1]
        node = next(children, None)
        if node is None:
            stack.pop()
            out.append(after)
            if element is not None:  # the text after an element is its parent's
                put(element.tail, stack[-1][1], stack[-1][2])
            continue
        tag = node.tag
        if not isinstance(tag, str) or tag in _DROP_TAGS:  # a comment, a processing instruction, a dropped element
            put(node.tail, in_pre, hidden)
        elif tag == "br":
            out.append("\n")
            put(node.tail, in_pre, hidden)
        elif len(stack) > _LXML_DEEPEST:
            return _html_text_by_bs4(html)
        else:
            block = tag in _BLOCK_TAGS
            out.append("\n" if block else "")
            inner_pre, inner_hidden = in_pre or tag == "pre", hidden or tag in _RUBY_TAGS
            put(node.text, inner_pre, inner_hidden)
            stack.append((iter(node), inner_pre, inner_hidden, "\n" if block else "\t" if tag in _CELL_TAGS else "",
                          node))
    lines = (line.strip() for line in "".join(out).splitlines())
    return "\n".join(line for line in lines if line)


_FEED_CHARS = 512  # bs4's LXMLTreeBuilder.CHUNK_SIZE
_LXML_DEEPEST = 1024
_RUBY_TAGS = frozenset({"rt", "rp"})  # bs4 gives their text as RubyTextString, RubyParenthesisString: not text


def _html_text_by_bs4(html: str) -> str:
    """`_html_text` by a walk over bs4's tree of the page (bs4 driving lxml), for pages lxml's tree cannot hold."""
    from bs4 import BeautifulSoup, CData, NavigableString

    out: list[str] = []
    stack = [(iter(BeautifulSoup(html, "lxml").contents), False, "")]  # (children, inside pre, text after them)
    while stack:
        children, in_pre, after = stack[-1]
        node = next(children, None)
        if node is None:
            stack.pop()
            out.append(after)
        elif isinstance(node, NavigableString):
            kind = type(node)  # get_text's own rule: plain strings and CDATA, no subclass (Comment, RubyTextString…)
            if kind is NavigableString:
                out.append(str(node) if in_pre else _WHITESPACE.sub(" ", _CJK_BREAK.sub("", str(node))))
            elif kind is CData:
                out.append(str(node))
        elif node.name == "br":
            out.append("\n")
        elif node.name not in _DROP_TAGS:
            block = node.name in _BLOCK_TAGS
            out.append("\n" if block else "")
            stack.append((iter(node.contents), in_pre or node.name == "pre",
                          "\n" if block else "\t" if node.name in _CELL_TAGS else ""))
    lines = (line.strip() for line in "".join(out).splitlines())
    return "\n".join(line for line in lines if line)


def _pdf_to_text(path: Path, data: bytes) -> tuple[str, tuple[str, ...]]:
    """The text layer of every page; pages without one (scans) read by OCR, and a note saying which."""
    pages = _pdf_pages(path, data)
    scanned = [i + 1 for i, page in enumerate(pages) if len("".join(page.split())) < MIN_PAGE_CHARS]
    notes: tuple[str, ...] = ()
    if scanned and has_ocr():
        for number, text in ocr_pdf_pages(data, scanned).items():
            pages[number - 1] = text
        notes = (f"OCR（Tesseract chi_sim）识别：第 {_page_list(scanned)} 页",)
    elif scanned and len(scanned) < len(pages):
        log.warning("%s：第 %s 页为扫描图像，未安装 OCR", path, scanned)
        notes = (f"第 {_page_list(scanned)} 页为扫描图像，未安装 OCR（tesseract-ocr、tesseract-ocr-chi-sim），未识别",)
    elif scanned:
        raise ReadError(path, "PDF 没有文字层（扫描件），需要 OCR：请安装 tesseract-ocr、tesseract-ocr-chi-sim "
                              "和 poppler-utils（scripts/install-test-tools.sh）")
    text = "\n\n".join(p.strip() for p in pages)
    if not text.strip():
        raise ReadError(path, "PDF 没有文字层，OCR 也未识别出文字")
    return text, notes


def _page_list(pages: list[int]) -> str:
    return "、".join(map(str, pages))


def _pdf_pages(path: Path, data: bytes) -> list[str]:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ReadError(path, "PDF 已加密（需要密码）")
        return [page.extract_text() or "" for page in reader.pages]
    except ReadError:
        raise
    except Exception as exc:  # pypdf raises many types on damaged files; report them as one
        log.info("%s：PDF 读取出错（pypdf 原文：%s）", path.name, exc)
        raise ReadError(path, "PDF 文件已损坏或格式有误") from exc


def _docx_to_text(path: Path, data: bytes) -> str:
    import docx

    from indexer.limits import check_zip

    check_zip(path, data)  # declared unpacked sizes first: a small .docx can hold a huge part
    try:
        document = docx.Document(io.BytesIO(data))
        return "\n".join(_docx_blocks(document))
    except Exception as exc:  # python-docx/zipfile/lxml raise many types; report them as one
        log.info("%s：DOCX 读取出错（python-docx 原文：%s）", path.name, exc)
        raise ReadError(path, "DOCX 文件已损坏或格式有误") from exc


def _docx_blocks(container) -> list[str]:
    """Paragraph texts and table rows (cells joined by tabs), in document order."""
    from docx.table import Table

    lines: list[str] = []
    for block in container.iter_inner_content():
        if isinstance(block, Table):
            for row in block.rows:
                lines.extend(_docx_row(row))
        elif block.text.strip():
            lines.append(block.text)
    return lines


def _docx_row(row) -> list[str]:
    cells: list[str] = []
    seen = set()
    for cell in row.cells:
        # A merged cell appears once per grid column it spans; keep it once.
        if id(cell._tc) in seen:
            continue
        seen.add(id(cell._tc))
        text = " ".join(_docx_blocks(cell)).strip()
        if text:
            cells.append(text)
    return ["\t".join(cells)] if cells else []


def sidecar_paths(path: Path) -> tuple[Path, Path]:
    """The two accepted sidecar names: `report.txt.meta.json`, then `report.meta.json`."""
    path = Path(path)
    return (path.with_name(path.name + SIDECAR_SUFFIX), path.with_name(path.stem + SIDECAR_SUFFIX))


def read_sidecar(path: Path) -> dict:
    """Metadata from the sidecar JSON beside `path`, or {} when there is none."""
    for candidate in sidecar_paths(path):
        if candidate.is_file():
            return _load_sidecar(candidate)
    return {}


def _load_sidecar(sidecar: Path) -> dict:
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise ReadError(sidecar, f"无法打开元数据附带文件：{exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ReadError(sidecar, "元数据附带文件不是 UTF-8 文字") from exc
    except json.JSONDecodeError as exc:
        raise ReadError(sidecar, f"元数据附带文件的 JSON 格式有误：第 {exc.lineno} 行第 {exc.colno} 列") from exc
    if not isinstance(data, dict):
        raise ReadError(sidecar, "元数据附带文件应为 JSON 对象（字段名与取值）")
    return data
