"""The report's charts as inline SVG (pure): bars per day, stacked sentiment per day, horizontal bars.

Plain SVG with presentation attributes (fill, stroke, font-size) and no `style` attribute: the same markup
works in the web page under its strict Content-Security-Policy, in the HTML file and in the PDF. Labels
inside the SVG are only our own short Latin text (days, platform and language codes, numbers): SVG text is
not shaped or reordered for right-to-left scripts by every renderer, so names (merchants, which may be
Arabic) are never drawn in SVG; they stay in HTML beside their bars.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

from markupsafe import Markup

POSITIVE, NEUTRAL, NEGATIVE = "#2e7d32", "#9e9e9e", "#c62828"
BAR = "#1f5fa8"
AXIS = "#555555"
_FONT = 'font-family="DejaVu Sans, Arial, sans-serif"'

Format = Callable[[float], str]


def _open(width: int, height: int, label: str) -> str:
    title = escape(label)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{title}"><title>{title}</title>'
    )


def _nice_max(value: float) -> float:
    """A round axis top at or above `value` (1, 2 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)  # pragma: no cover - the loop always returns


def column_chart(labels: Sequence[str], values: Sequence[float | None], label: str, fmt: Format) -> Markup:
    """Vertical bars, one per label (unknown values leave a gap marked "?")."""
    width, height, left, bottom, top = 540, 220, 84, 28, 14
    known = [v for v in values if v is not None]
    peak = _nice_max(max(known, default=0))
    slot = (width - left - 8) / max(len(labels), 1)
    plot = height - bottom - top
    parts = [_open(width, height, label)]
    for i in range(3):
        y = top + plot * i / 2
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 4}" y2="{y:.1f}" stroke="#dddddd"/>')
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="10" fill="{AXIS}" {_FONT}>'
            f"{escape(fmt(peak * (2 - i) / 2))}</text>"
        )
    for i, (name, value) in enumerate(zip(labels, values, strict=True)):
        x = left + slot * i + slot * 0.15
        if value is None:
            parts.append(
                f'<text x="{x + slot * 0.35:.1f}" y="{height - bottom - 4}" text-anchor="middle" font-size="11" '
                f'fill="{AXIS}" {_FONT}>?</text>'
            )
        else:
            h = plot * value / peak
            parts.append(
                f'<rect x="{x:.1f}" y="{height - bottom - h:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" '
                f'fill="{BAR}"><title>{escape(name)}: {escape(fmt(value))}</title></rect>'
            )
        parts.append(
            f'<text x="{x + slot * 0.35:.1f}" y="{height - 10}" text-anchor="middle" font-size="11" '
            f'fill="{AXIS}" {_FONT}>{escape(name)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text piece above is escaped


def stacked_chart(
    labels: Sequence[str], series: Sequence[tuple[str, str, Sequence[int]]], label: str, fmt: Format
) -> Markup:
    """Stacked vertical bars: `series` is (name, colour, values per label), drawn bottom-up, with a legend."""
    width, height, left, bottom, top = 540, 240, 84, 48, 14
    totals = [sum(values[i] for _, _, values in series) for i in range(len(labels))]
    peak = _nice_max(max(totals, default=0))
    slot = (width - left - 8) / max(len(labels), 1)
    plot = height - bottom - top
    parts = [_open(width, height, label)]
    parts.append(
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" font-size="10" fill="{AXIS}" {_FONT}>'
        f"{escape(fmt(peak))}</text>"
    )
    for i, name in enumerate(labels):
        x = left + slot * i + slot * 0.15
        base = float(height - bottom)
        for series_name, colour, values in series:
            h = plot * values[i] / peak
            if h > 0:
                parts.append(
                    f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" fill="{colour}">'
                    f"<title>{escape(name)} {escape(series_name)}: {escape(fmt(values[i]))}</title></rect>"
                )
            base -= h
        parts.append(
            f'<text x="{x + slot * 0.35:.1f}" y="{height - bottom + 16}" text-anchor="middle" font-size="11" '
            f'fill="{AXIS}" {_FONT}>{escape(name)}</text>'
        )
    x = float(left)
    for series_name, colour, _ in series:
        parts.append(f'<rect x="{x}" y="{height - 14}" width="10" height="10" fill="{colour}"/>')
        parts.append(
            f'<text x="{x + 14}" y="{height - 5}" font-size="11" fill="{AXIS}" {_FONT}>{escape(series_name)}</text>'
        )
        x += 24 + 7 * len(series_name)
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text piece above is escaped


def bar_list(labels: Sequence[str], values: Sequence[float], label: str, fmt: Format) -> Markup:
    """Horizontal bars with short code labels (platforms, languages)."""
    row, left, width = 22, 90, 520
    height = row * max(len(labels), 1) + 8
    peak = max(values, default=0) or 1
    parts = [_open(width, height, label)]
    for i, (name, value) in enumerate(zip(labels, values, strict=True)):
        y = 4 + row * i
        w = (width - left - 90) * value / peak
        parts.append(
            f'<text x="{left - 8}" y="{y + 14}" text-anchor="end" font-size="12" fill="{AXIS}" {_FONT}>'
            f"{escape(name)}</text>"
        )
        parts.append(f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" fill="{BAR}"/>')
        parts.append(
            f'<text x="{left + w + 6:.1f}" y="{y + 14}" font-size="11" fill="{AXIS}" {_FONT}>'
            f"{escape(fmt(value))}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text piece above is escaped


def inline_bar(value: float, peak: float, width: int = 160) -> Markup:
    """A single bar for a table cell (the name stays in HTML, next to it)."""
    w = 0.0 if peak <= 0 else width * value / peak
    return Markup(  # noqa: S704 - numbers only
        f'<svg xmlns="http://www.w3.org/2000/svg" class="inline-bar" viewBox="0 0 {width} 10" width="{width}" '
        f'height="10" aria-hidden="true"><rect x="0" y="0" width="{w:.1f}" height="10" fill="{BAR}"/></svg>'
    )
