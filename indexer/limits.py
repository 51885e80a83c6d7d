"""Bounds on what one report file may unpack into: zip parts, text length, passage count.

A file's size on disk says little about the work it causes: a 1 MB .docx can hold a 1 GiB part,
and 72 KB of zip can unpack to 20 MB of XML. These checks refuse such files before (zip) or
right after (text, passages) the expensive step, with a reason in Chinese.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from indexer.reading import ReadError

MAX_ZIP_ENTRIES = 1000
MAX_ZIP_UNPACKED = 50 * 1024 * 1024  # all parts of a .docx together; a 300-page report is ~5 MB
MAX_ZIP_RATIO = 100  # unpacked / packed; Office XML compresses ~5-20x, bombs far more
ZIP_RATIO_FLOOR = 1024 * 1024  # below this many unpacked bytes any ratio is harmless
MAX_TEXT_CHARS = 1_000_000  # a long government work report is ~50k characters
MAX_PASSAGES = 2000


def check_zip(path: Path | str, data: bytes) -> None:
    """ReadError when a zip (a .docx) declares too many parts, too many unpacked bytes, or a bomb's ratio."""
    try:
        infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return  # not a zip at all: the DOCX reader says so in its own words
    if len(infos) > MAX_ZIP_ENTRIES:
        raise ReadError(path, f"DOCX 内部文件过多：{len(infos)} 个（上限 {MAX_ZIP_ENTRIES}）")
    unpacked = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    if unpacked > MAX_ZIP_UNPACKED:
        raise ReadError(path, f"DOCX 解压后过大：{unpacked // 2**20} MB（上限 {MAX_ZIP_UNPACKED // 2**20} MB）")
    if unpacked > ZIP_RATIO_FLOOR and unpacked / packed > MAX_ZIP_RATIO:
        raise ReadError(path, f"DOCX 压缩比异常：{unpacked / packed:.0f} 倍（上限 {MAX_ZIP_RATIO} 倍），疑为压缩炸弹")


def check_report(path: Path | str, texts: list[str]) -> None:
    """ReadError when a report's passages are too many or too long together."""
    if len(texts) > MAX_PASSAGES:
        raise ReadError(path, f"报告段落过多：{len(texts)} 段（上限 {MAX_PASSAGES}）")
    chars = sum(len(t) for t in texts)
    if chars > MAX_TEXT_CHARS:
        raise ReadError(path, f"报告正文过长：{chars} 字（上限 {MAX_TEXT_CHARS}）")
