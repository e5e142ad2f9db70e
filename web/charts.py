"""Charts for the merchant portal, drawn on the server as SVG: mention volume (bars) and sentiment trend (a line
of the average sentiment score, -1 to +1) over a period, by day or by week.

Pure functions: `buckets` turns (time, sentiment, score) rows into the period's buckets, `volume_svg` and
`trend_svg` draw them. The SVG needs no script and no style attribute (the Content-Security-Policy allows
neither inline): colours are presentation attributes. Each chart is an `img` for assistive technology, with
a <title> and a <desc> saying what it shows, and every bar or point has its own <title> (the figures on
hover); the page also gives the figures as a table. Text is escaped: labels come from the catalogue, but
nothing here trusts them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 200
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 10, 24
DAILY_UP_TO = 92  # longer periods are drawn by week (Monday to Sunday)
BAR, LINE, POINT, AXIS, GRID, INK = "#1f4e79", "#17632a", "#17632a", "#8a939c", "#d8dde3", "#333"


@dataclass(frozen=True)
class Bucket:
    start: date  # first day
    end: date  # last day (inclusive)
    total: int = 0
    positive: int = 0
    neutral: int = 0
    negative: int = 0
    score_sum: float = 0.0

    @property
    def label(self) -> str:
        return (
            self.start.isoformat() if self.start == self.end else f"{self.start.isoformat()} – {self.end.isoformat()}"
        )

    @property
    def average(self) -> float | None:
        """The average sentiment score (-1 to +1), None without mentions."""
        return self.score_sum / self.total if self.total else None


def by_week(first: date, last: date) -> bool:
    return (last - first).days + 1 > DAILY_UP_TO


def buckets(rows: Iterable[tuple[datetime, str, float]], first: date, last: date) -> list[Bucket]:
    """One bucket per day from `first` to `last` (inclusive, UTC days), or per week when the period is long;
    rows outside the period are ignored."""
    if last < first:
        return []
    weekly = by_week(first, last)
    starts: list[date] = []
    day = first - timedelta(days=first.weekday()) if weekly else first
    step = timedelta(days=7 if weekly else 1)
    while day <= last:
        starts.append(day)
        day += step
    counts = {start: [0, 0, 0, 0, 0.0] for start in starts}
    for moment, sentiment, score in rows:
        day = moment.astimezone(UTC).date()
        if not first <= day <= last:
            continue
        start = day - timedelta(days=day.weekday()) if weekly else day
        slot = counts[start]
        slot[0] += 1
        index = {"positive": 1, "neutral": 2, "negative": 3}.get(sentiment)
        if index is not None:
            slot[index] += 1
        slot[4] += score
    out = []
    for start in starts:
        total, positive, neutral, negative, score_sum = counts[start]
        end = min(start + step - timedelta(days=1), last)
        out.append(Bucket(max(start, first), end, int(total), int(positive), int(neutral), int(negative), score_sum))
    return out


def _open(chart_id: str, title: str, desc: str, kind: str) -> list[str]:
    return [
        f'<svg class="chart {kind}" id="{escape(chart_id)}" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>',
    ]


def _x_labels(items: Sequence[Bucket], x_of: Callable[[int], float]) -> list[str]:
    if not items:
        return []
    y = HEIGHT - 6
    first = f'<text x="{x_of(0):.1f}" y="{y}" font-size="11" fill="{INK}">{escape(items[0].start.isoformat())}</text>'
    if len(items) == 1:
        return [first]
    last_x = x_of(len(items) - 1)
    last = (
        f'<text x="{last_x:.1f}" y="{y}" font-size="11" fill="{INK}" text-anchor="end">'
        f"{escape(items[-1].end.isoformat())}</text>"
    )
    return [first, last]


def volume_svg(
    items: Sequence[Bucket], *, chart_id: str, title: str, desc: str, bar_title: Callable[[Bucket], str]
) -> Markup:
    """Bars of the number of mentions per bucket: one `rect.bar` per bucket (zero high when none)."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = max((b.total for b in items), default=0)
    scale = plot_h / top if top else 0.0
    slot = plot_w / max(len(items), 1)
    gap = min(2.0, slot * 0.2)
    parts = _open(chart_id, title, desc, "volume")
    base = TOP + plot_h
    parts.append(f'<line x1="{LEFT}" y1="{base}" x2="{WIDTH - RIGHT}" y2="{base}" stroke="{AXIS}"/>')
    parts.append(f'<text x="{LEFT - 6}" y="{TOP + 10}" font-size="11" fill="{INK}" text-anchor="end">{top}</text>')
    parts.append(f'<text x="{LEFT - 6}" y="{base}" font-size="11" fill="{INK}" text-anchor="end">0</text>')
    for i, bucket in enumerate(items):
        height = bucket.total * scale
        x = LEFT + i * slot + gap / 2
        parts.append(
            f'<rect class="bar" data-count="{bucket.total}" x="{x:.2f}" y="{base - height:.2f}" '
            f'width="{max(slot - gap, 0.5):.2f}" height="{height:.2f}" fill="{BAR}">'
            f"<title>{escape(bar_title(bucket))}</title></rect>"
        )
    parts += _x_labels(items, lambda i: LEFT + i * slot + (slot / 2 if i else 0))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every piece of text above went through escape()


def trend_svg(
    items: Sequence[Bucket], *, chart_id: str, title: str, desc: str, point_title: Callable[[Bucket], str]
) -> Markup:
    """The average sentiment per bucket as a line from -1 (bottom) to +1 (top), one `circle.point` per bucket
    that has mentions (a bucket without any has no sentiment: no point, the line joins its neighbours)."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(items), 1)

    def y_of(score: float) -> float:
        return TOP + (1.0 - max(-1.0, min(1.0, score))) / 2.0 * plot_h

    parts = _open(chart_id, title, desc, "trend")
    for value, label in ((1.0, "+1"), (0.0, "0"), (-1.0, "−1")):
        y = y_of(value)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="11" fill="{INK}" text-anchor="end">{label}</text>'
        )
    points = []
    for i, bucket in enumerate(items):
        average = bucket.average
        if average is None:
            continue
        points.append((LEFT + i * slot + slot / 2, y_of(average), bucket))
    if len(points) > 1:
        path = " ".join(f"{x:.2f},{y:.2f}" for x, y, _ in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{LINE}" stroke-width="2"/>')
    for x, y, bucket in points:
        parts.append(
            f'<circle class="point" cx="{x:.2f}" cy="{y:.2f}" r="3.5" fill="{POINT}">'
            f"<title>{escape(point_title(bucket))}</title></circle>"
        )
    parts += _x_labels(items, lambda i: LEFT + i * slot + (slot / 2 if i else 0))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every piece of text above went through escape()
