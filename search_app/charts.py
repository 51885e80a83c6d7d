"""A server-rendered SVG line chart: value by year, one line per region. No JavaScript, no CDN."""

from __future__ import annotations

from html import escape

PALETTE = ("#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#0a7480", "#57606a")
WIDTH, HEIGHT = 720, 360
LEFT, RIGHT, TOP, BOTTOM = 64, 150, 20, 40


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    step = 10 ** (len(str(int(value))) - 1)
    return (int(value / step) + 1) * step


def _fmt(value: float) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def line_chart(series: dict[str, list[tuple[int, float]]], unit: str = "", title: str = "") -> str:
    """SVG markup for `{region: [(year, value), ...]}`; every label and title is escaped."""
    points = [p for pts in series.values() for p in pts]
    if not points:
        return ""
    years = sorted({y for y, _ in points})
    top = _nice_max(max(v for _, v in points))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(year: int) -> float:
        return LEFT + (plot_w / 2 if len(years) == 1 else plot_w * years.index(year) / (len(years) - 1))

    def y(value: float) -> float:
        return TOP + plot_h * (1 - value / top)

    parts = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
             f'role="img" aria-label="{escape(title)}">', f"<title>{escape(title)}</title>"]
    parts += _axes(years, top, unit, x, y)
    for i, (region, pts) in enumerate(series.items()):
        colour = PALETTE[i % len(PALETTE)]
        coords = " ".join(f"{x(yr):.1f},{y(v):.1f}" for yr, v in pts)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{coords}"/>')
        for yr, v in pts:
            parts.append(f'<circle cx="{x(yr):.1f}" cy="{y(v):.1f}" r="4" fill="{colour}">'
                         f"<title>{escape(region)} {yr}: {_fmt(v)}{escape(unit)}</title></circle>")
        ly = TOP + 16 + i * 20
        parts.append(f'<rect x="{WIDTH - RIGHT + 12}" y="{ly - 9}" width="12" height="12" fill="{colour}"/>'
                     f'<text x="{WIDTH - RIGHT + 30}" y="{ly + 2}" class="legend">{escape(region)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _axes(years, top, unit, x, y) -> list[str]:
    out = [f'<line x1="{LEFT}" y1="{y(0):.1f}" x2="{WIDTH - RIGHT}" y2="{y(0):.1f}" stroke="#8c959f"/>']
    for i in range(5):
        value = top * i / 4
        out.append(f'<line x1="{LEFT}" y1="{y(value):.1f}" x2="{WIDTH - RIGHT}" y2="{y(value):.1f}" '
                   f'stroke="#eaeef2"/><text x="{LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end" '
                   f'class="tick">{_fmt(value)}</text>')
    for year in years:
        out.append(f'<text x="{x(year):.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle" '
                   f'class="tick">{year}</text>')
    out.append(f'<text x="{LEFT - 6}" y="{TOP - 6}" text-anchor="end" class="tick">{escape(unit)}</text>')
    return out
