"""An export as an Excel workbook (.xlsx, also read by WPS): XlsxWriter, one sheet, a Chinese header row."""

from __future__ import annotations

import io

import xlsxwriter

from search_app.export_format import FORMULA_STARTS, coded, header, is_number, is_ratio, kind_name

# Column widths (in characters) for long text; other columns get a width from their header.
WIDE = {"text": 60, "sentence": 60, "snippet": 50, "title": 36, "url": 40, "section": 24}


def as_xlsx(kind: str, rows: list[dict], columns: list[str]) -> bytes:
    """The rows as one sheet: numbers as numbers (ratios formatted 12.5%), text always as text, never a formula."""
    out = io.BytesIO()
    # Every cell is written with an explicit type below; these options make sure none is ever guessed.
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                                     "strings_to_numbers": False})
    bold = book.add_format({"bold": True})
    percent = book.add_format({"num_format": "0.0%"})
    as_text = book.add_format({"quote_prefix": True})  # Excel keeps "=..." text as text even when edited
    sheet = book.add_worksheet(kind_name(kind)[:31])
    for col, name in enumerate(columns):
        title = header(kind, name)
        sheet.write_string(0, col, title, bold)
        sheet.set_column(col, col, WIDE.get(name, max(8, 2 * len(title) + 2)))
    for r, row in enumerate(rows, start=1):
        for col, name in enumerate(columns):
            _write(sheet, r, col, coded(row.get(name), name), percent if is_ratio(name) else None, as_text)
    sheet.freeze_panes(1, 0)
    if rows:
        sheet.autofilter(0, 0, len(rows), len(columns) - 1)
    book.close()
    return out.getvalue()


def _write(sheet, r: int, col: int, value, number_format, as_text) -> None:
    if value is None:
        return
    if is_number(value):
        sheet.write_number(r, col, value, number_format)
    else:
        text = str(value)
        sheet.write_string(r, col, text, as_text if text.startswith(FORMULA_STARTS) else None)
