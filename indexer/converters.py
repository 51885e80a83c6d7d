"""Outside programs that turn a file into something `reading` can read: LibreOffice for Word 97-2003
(.doc) and WPS (.wps) files, poppler's pdftoppm and Tesseract (chi_sim) for scanned PDF pages.

LibreOffice rather than antiword or catdoc: one converter for both formats (antiword and catdoc read
no .wps), and its output is a .docx, read by the same code as any other .docx, tables included.
Every failure, a missing program included, is a `ReadError` for that one file with a Chinese reason;
scripts/install-test-tools.sh installs the programs from Debian.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from archive.errors import ArchiveError

log = logging.getLogger(__name__)

CONVERT_TIMEOUT_S = 180
OCR_TIMEOUT_S = 180
OCR_DPI = 300
OCR_LANG = "chi_sim"
# Tesseract puts a space between Chinese characters; in Chinese text a space there is never meant.
_WIDE = r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]"
_CJK_GAP = re.compile(rf"(?<={_WIDE})[ \t]+(?={_WIDE})")
_DEBIAN = {"soffice": "libreoffice-writer-nogui", "pdftoppm": "poppler-utils", "tesseract": "tesseract-ocr"}


class ConversionError(ArchiveError):
    """An outside program is missing or failed; `reason` says which and why, in Chinese."""

    code = "unreadable_file"
    status = 400

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def tool(name: str) -> str:
    """The path of an outside program, or ConversionError naming the Debian package that brings it."""
    found = shutil.which(name)
    if found is None:
        raise ConversionError(f"未安装 {name}（Debian 软件包 {_DEBIAN.get(name, name)}），无法读取此文件；"
                              "请运行 scripts/install-test-tools.sh")
    return found


def has_ocr() -> bool:
    """True when pdftoppm, tesseract and its chi_sim data are all installed."""
    if not (shutil.which("pdftoppm") and shutil.which("tesseract")):
        return False
    langs = _run([tool("tesseract"), "--list-langs"], 30, "tesseract").stdout
    return OCR_LANG in langs.split()


def office_to_docx(name: str, data: bytes) -> bytes:
    """A .doc or .wps file's bytes as .docx bytes, through LibreOffice headless."""
    soffice = tool("soffice")
    with tempfile.TemporaryDirectory(prefix="archive-soffice-") as tmp:
        work = Path(tmp)
        # A Kingsoft .wps is a Word 97 binary, so both go through the Word 97 filter; naming it is what makes
        # LibreOffice refuse a damaged file instead of importing its bytes as text.
        source = work / "in.doc"
        source.write_bytes(data)
        # A private profile: concurrent conversions must not share (and lock) one user installation.
        profile = (work / "profile").as_uri()
        _run([soffice, f"-env:UserInstallation={profile}", "--headless", "--norestore", "--infilter=MS Word 97",
              "--convert-to", "docx", "--outdir", str(work / "out"), str(source)], CONVERT_TIMEOUT_S, "LibreOffice")
        out = work / "out" / "in.docx"
        if not out.is_file():
            raise ConversionError(f"LibreOffice 未能转换 {name}（文件可能已损坏或不是 Word/WPS 文档）")
        return out.read_bytes()


def ocr_pdf_pages(data: bytes, pages: list[int]) -> dict[int, str]:
    """Text of the given PDF pages (1-based) by OCR: pdftoppm renders each, Tesseract reads it."""
    pdftoppm, tesseract = tool("pdftoppm"), tool("tesseract")
    if not has_ocr():
        raise ConversionError(f"Tesseract 缺少 {OCR_LANG} 语言数据（Debian 软件包 tesseract-ocr-chi-sim）")
    texts = {}
    with tempfile.TemporaryDirectory(prefix="archive-ocr-") as tmp:
        work = Path(tmp)
        (work / "in.pdf").write_bytes(data)
        for page in pages:
            _run([pdftoppm, "-f", str(page), "-l", str(page), "-r", str(OCR_DPI), "-gray", "-png",
                  str(work / "in.pdf"), str(work / f"p{page}")], OCR_TIMEOUT_S, "pdftoppm")
            (image,) = sorted(work.glob(f"p{page}*.png"))
            out = _run([tesseract, str(image), "stdout", "-l", OCR_LANG, "--psm", "6"], OCR_TIMEOUT_S, "tesseract")
            texts[page] = _CJK_GAP.sub("", out.stdout).strip()
    return texts


def _run(args: list[str], timeout: int, label: str) -> subprocess.CompletedProcess:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise ConversionError(f"{label} 超时（{timeout} 秒）") from exc
    except OSError as exc:
        raise ConversionError(f"无法运行 {label}：{exc.strerror or exc}") from exc
    if done.returncode != 0:
        log.warning("%s 运行失败（退出码 %d）：%s", label, done.returncode, done.stderr[-500:])
        raise ConversionError(f"{label} 运行失败（退出码 {done.returncode}）")
    return done
