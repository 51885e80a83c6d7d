"""Server-rendered SVG charts: a multi-region line chart over time and a small bar chart. No JavaScript.

The line chart spaces years by time (2017 -> 2020 is three steps, 2020 -> 2021 one), fits its
value axis to the data (rates of 90-97% are not drawn on 0-100), draws results as solid lines
with filled dots and targets as dashed lines with hollow dots, and keeps its text at 15 units on
a 440-unit-wide canvas: at least 11 px when the chart is shrunk to a 375 px phone screen.
"""

from __future__ import annotations

import math
from html import escape

PALETTE = ("#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#0a7480", "#57606a")
WIDTH, PLOT_HEIGHT = 440, 240
LEFT, RIGHT, TOP, AXIS = 58, 30, 24, 30
FONT, ROW = 15, 22  # text size and legend row height, in canvas units
TEXT = f'font-size="{FONT}" fill="#57606a"'


def _fmt(value: float) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def nice_step(span: float, ticks: int = 4) -> float:
    """A round tick step (1, 2, 2.5 or 5 times a power of ten) that cuts `span` into about `ticks` parts."""
    raw = span / ticks if span > 0 else 1.0
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)


def fitted_axis(values: list[float], unit: str = "") -> tuple[float, float, float]:
    """(low, high, step) of a value axis fitted to the data, never below 0 for positive data nor above 100%."""
    lo, hi = min(values), max(values)
    if hi == lo:
        pad = abs(hi) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    margin = (hi - lo) * 0.05  # no point drawn on the frame
    lo, hi = lo - margin, hi + margin
    step = nice_step(hi - lo)
    low, high = math.floor(lo / step) * step, math.ceil(hi / step) * step
    if min(values) >= 0:
        low = max(low, 0.0)
    if unit == "%" and max(values) <= 100:
        high = min(high, 100.0)
    if high <= low:
        high = low + step
    return round(low, 10), round(high, 10), step


def _points(pts) -> list[tuple[int, float, str]]:
    """(year, value, kind) from (year, value) or (year, value, kind) tuples."""
    return [(p[0], p[1], p[2] if len(p) > 2 else "result") for p in pts]


def line_chart(series: dict[str, list[tuple]], unit: str = "", title: str = "") -> str:
    """SVG markup for `{region: [(year, value[, kind]), ...]}`; every label and title is escaped."""
    data = {region: _points(pts) for region, pts in series.items() if pts}
    points = [p for pts in data.values() for p in pts]
    if not points:
        return ""
    first, last = min(y for y, _, _ in points), max(y for y, _, _ in points)
    low, high, step = fitted_axis([v for _, v, _ in points], unit)
    plot_w = WIDTH - LEFT - RIGHT
    legend = _legend(list(data), any(k == "target" for _, _, k in points))
    height = TOP + PLOT_HEIGHT + AXIS + len(legend) * ROW + 8

    def x(year: int) -> float:
        return LEFT + (plot_w / 2 if first == last else plot_w * (year - first) / (last - first))

    def y(value: float) -> float:
        return TOP + PLOT_HEIGHT * (1 - (value - low) / (high - low))

    parts = [f'<svg class="chart trend" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
             f'role="img" aria-label="{escape(title)}">', f"<title>{escape(title)}</title>"]
    parts += _axes(first, last, low, high, step, unit, x, y)
    for i, (region, pts) in enumerate(data.items()):
        parts += _lines(region, pts, PALETTE[i % len(PALETTE)], unit, x, y)
    parts += _legend_marks(legend, data, TOP + PLOT_HEIGHT + AXIS + 6)
    parts.append("</svg>")
    return "".join(parts)


def _lines(region: str, pts, colour: str, unit: str, x, y) -> list[str]:
    out = []
    for kind, dash, fill in (("result", "", colour), ("target", ' stroke-dasharray="6 4"', "#ffffff")):
        mine = sorted((yr, v) for yr, v, k in pts if k == kind)
        if len(mine) > 1:
            coords = " ".join(f"{x(yr):.1f},{y(v):.1f}" for yr, v in mine)
            out.append(f'<polyline class="line-{kind}" fill="none" stroke="{colour}" stroke-width="2.5"{dash} '
                       f'points="{coords}"/>')
        word = "目标" if kind == "target" else "实际"
        for yr, v in mine:
            out.append(f'<circle class="dot-{kind}" cx="{x(yr):.1f}" cy="{y(v):.1f}" r="5" fill="{fill}" '
                       f'stroke="{colour}" stroke-width="2"><title>{escape(region)} {yr}年{word}：{_fmt(v)}'
                       f"{escape(unit)}</title></circle>")
    return out


def _axes(first: int, last: int, low: float, high: float, step: float, unit: str, x, y) -> list[str]:
    out = []
    ticks = int(round((high - low) / step))
    for i in range(ticks + 1):
        value = low + step * i
        out.append(f'<line x1="{LEFT}" y1="{y(value):.1f}" x2="{WIDTH - RIGHT}" y2="{y(value):.1f}" '
                   f'stroke="#eaeef2"/><text class="axis-label" x="{LEFT - 6}" y="{y(value) + 5:.1f}" '
                   f'text-anchor="end" {TEXT}>{_fmt(value)}</text>')
    every = max(1, math.ceil((last - first + 1) / 6))  # at most about six year labels: they must not overlap
    for year in range(first, last + 1, every):
        out.append(f'<text class="year-label" x="{x(year):.1f}" y="{TOP + PLOT_HEIGHT + 20}" text-anchor="middle" '
                   f"{TEXT}>{year}</text>")
    out.append(f'<text class="axis-label" x="{LEFT - 6}" y="{TOP - 8}" text-anchor="end" {TEXT}>{escape(unit)}</text>')
    return out


def _legend(regions: list[str], with_targets: bool) -> list[list[str]]:
    """Legend items in rows that fit the canvas width."""
    items = [*regions, *(["虚线·空心点 = 目标"] if with_targets else [])]
    rows: list[list[str]] = [[]]
    used = 0
    for item in items:
        width = 24 + FONT * len(item) + 12
        if rows[-1] and used + width > WIDTH - LEFT:
            rows.append([])
            used = 0
        rows[-1].append(item)
        used += width
    return rows


def _legend_marks(rows: list[list[str]], data: dict, top: float) -> list[str]:
    out = []
    colours = {region: PALETTE[i % len(PALETTE)] for i, region in enumerate(data)}
    for r, row in enumerate(rows):
        lx, ly = LEFT, top + r * ROW + FONT
        for item in row:
            colour = colours.get(item, "#57606a")
            dash = "" if item in colours else ' stroke-dasharray="6 4"'
            out.append(f'<line x1="{lx}" y1="{ly - 5}" x2="{lx + 18}" y2="{ly - 5}" stroke="{colour}" '
                       f'stroke-width="3"{dash}/><text class="key-label" x="{lx + 24}" y="{ly}" font-size="{FONT}" '
                       f'fill="#24292f">{escape(item)}</text>')
            lx += 24 + FONT * len(item) + 12
    return out


def bar_chart(bars: list[tuple[str, float, str]], title: str = "") -> str:
    """A small SVG bar chart of shares (0-1): `[(label, share, tooltip), ...]`, one bar per label."""
    if not bars:
        return ""
    width, height, base = max(160, 44 * len(bars)), 120, 96
    parts = [f'<svg class="chart bars" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>",
             f'<line x1="0" y1="{base}" x2="{width}" y2="{base}" stroke="#8c959f"/>']
    for i, (label, share, tip) in enumerate(bars):
        h = max(0.0, min(1.0, share)) * (base - 20)
        bx = i * 44 + 8
        parts.append(f'<rect class="bar" x="{bx}" y="{base - h:.1f}" width="28" height="{h:.1f}" fill="#1f6feb">'
                     f"<title>{escape(tip)}</title></rect>"
                     f'<text x="{bx + 14}" y="{base - h - 4:.1f}" text-anchor="middle" font-size="12" '
                     f'fill="#24292f">{round(share * 100)}%</text>'
                     f'<text x="{bx + 14}" y="{base + 16}" text-anchor="middle" font-size="12" '
                     f'fill="#57606a">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)
