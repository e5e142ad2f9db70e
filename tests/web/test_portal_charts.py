"""The portal's SVG charts, pure: buckets by day or by week over the period (empty days included, rows outside
ignored, sentiments counted and averaged), one bar per bucket, one point per bucket with mentions, labelled
for assistive technology, and every text escaped."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from xml.etree import ElementTree as ET

from web.charts import Bucket, buckets, by_week, trend_svg, volume_svg

NS = {"svg": "http://www.w3.org/2000/svg"}


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def test_daily_buckets_count_and_average() -> None:
    first, last = date(2026, 11, 1), date(2026, 11, 5)
    rows = [
        (at(first), "positive", 0.8),
        (at(first, 23), "negative", -0.6),
        (at(date(2026, 11, 3)), "neutral", 0.1),
        (at(date(2026, 10, 31)), "positive", 1.0),  # before the period
        (at(date(2026, 11, 6)), "positive", 1.0),  # after
    ]
    out = buckets(rows, first, last)
    assert [b.start for b in out] == [first + timedelta(days=i) for i in range(5)]
    assert [b.total for b in out] == [2, 0, 1, 0, 0]
    assert (out[0].positive, out[0].negative, out[0].neutral) == (1, 1, 0)
    assert out[0].average is not None
    assert round(out[0].average, 3) == 0.1
    assert out[1].average is None
    assert out[0].label == "2026-11-01"


def test_long_periods_are_weekly_and_clipped_to_the_period() -> None:
    first, last = date(2026, 1, 7), date(2026, 12, 31)  # a Wednesday to a Thursday
    assert by_week(first, last)
    assert not by_week(first, first + timedelta(days=91))
    out = buckets([(at(date(2026, 1, 8)), "positive", 0.5), (at(date(2026, 1, 11)), "positive", 0.5)], first, last)
    assert out[0].start == first  # the first week starts with the period, not the Monday before
    assert out[0].end == date(2026, 1, 11)  # Sunday
    assert out[0].total == 2
    assert out[1].start == date(2026, 1, 12)
    assert out[-1].end == last
    assert sum(b.total for b in out) == 2
    assert out[0].label == "2026-01-07 – 2026-01-11"
    assert buckets([], last, first) == []


def test_the_svg_has_a_bar_per_bucket_a_point_per_bucket_with_data_and_labels() -> None:
    items = [Bucket(date(2026, 11, d), date(2026, 11, d), total, total, 0, 0, 0.5 * total) for d, total in
             ((1, 2), (2, 0), (3, 1), (4, 4))]  # fmt: skip
    volume = volume_svg(
        items, chart_id="v", title="Mention volume", desc="Per day", bar_title=lambda b: f"{b.label}: {b.total}"
    )
    trend = trend_svg(items, chart_id="t", title="Trend", desc="Average", point_title=lambda b: b.label)
    for svg in (volume, trend):
        root = ET.fromstring(str(svg))  # noqa: S314 (our own output; and it is well-formed XML)
        assert root.get("role") == "img"
        assert root.get("aria-labelledby", "").split() == [root.get("id", "") + "-title", root.get("id", "") + "-desc"]
        assert root.find("svg:title", NS) is not None
        assert root.find("svg:desc", NS) is not None
        assert "style=" not in str(svg)  # the CSP forbids inline styles
    bars = ET.fromstring(str(volume)).findall("svg:rect", NS)  # noqa: S314 (our own output)
    assert [int(b.get("data-count", "")) for b in bars] == [2, 0, 1, 4]
    heights = [float(b.get("height", "")) for b in bars]
    assert heights[1] == 0
    assert heights[3] == max(heights)
    assert heights[0] == heights[3] / 2
    titles = [title.text for b in bars if (title := b.find("svg:title", NS)) is not None]
    assert titles == ["2026-11-01: 2", "2026-11-02: 0", "2026-11-03: 1", "2026-11-04: 4"]
    assert len(ET.fromstring(str(trend)).findall("svg:circle", NS)) == 3  # noqa: S314 (our own output)
    assert len(re.findall("<polyline", str(trend))) == 1


def test_text_is_escaped() -> None:
    items = [Bucket(date(2026, 11, 1), date(2026, 11, 1), 1, 1, 0, 0, 0.5)]
    svg = str(
        volume_svg(items, chart_id="v", title="<script>x</script>", desc="a & b", bar_title=lambda b: '"><img src=x>')
    )
    assert "<script>" not in svg
    assert "<img" not in svg
    assert "&lt;script&gt;" in svg
    assert "a &amp; b" in svg
    ET.fromstring(svg)  # noqa: S314 (our own output)
    empty = str(trend_svg([], chart_id="e", title="t", desc="d", point_title=lambda b: ""))
    assert "<circle" not in empty
    ET.fromstring(empty)  # noqa: S314 (our own output)
