"""The pure arithmetic of the report: merchants (risers, negative spikes), week-over-week changes, unknown
never shown as 0, and the coverage accounting of collection runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jobs.reporting import metrics
from jobs.reporting.coverage import coverage_section, state_seconds
from storage.repositories.report_context import RunRow
from storage.repositories.report_data import MerchantRow, ReachRow, WeekRows

T0 = datetime(2026, 11, 16, tzinfo=UTC)


def test_risers_and_negative_spikes_follow_their_thresholds() -> None:
    rows = [
        MerchantRow(1, "Rising", None, None, posts=6, negative=0, positive=6, authors=6),
        MerchantRow(2, "Barely", None, None, posts=2, negative=0, positive=2, authors=2),  # +2 but under 3 posts
        MerchantRow(3, "Spike", "Fès", "MENA", posts=5, negative=4, positive=0, authors=5),
        MerchantRow(4, "Steady bad", None, None, posts=6, negative=3, positive=0, authors=6),
    ]
    previous = {1: (1, 0), 2: (0, 0), 3: (5, 1), 4: (6, 2)}
    section = metrics.merchants_section(rows, previous, top=10)
    assert [m["name"] for m in section["risers"]] == ["Rising"]
    assert [m["name"] for m in section["negative_spikes"]] == ["Spike"]  # 3 is not twice 2
    assert [m["name"] for m in section["most_mentioned"]][:2] == ["Rising", "Steady bad"]
    assert metrics.regions_table(rows)[0] == {"region": "", "city": "", "merchants": 3, "mentions": 14, "negative": 3}


def test_unknown_followers_make_reach_unknown_not_zero() -> None:
    rows = WeekRows(groups=[], reach={"all": [ReachRow("all", 3, 0, 0)]}, new_authors={})
    headline = metrics.headline(rows)
    assert headline["potential_reach"] is None
    assert headline["authors_unknown_followers"] == 3
    assert headline["engagements"] is None
    assert headline["net_sentiment"] is None
    empty = metrics.headline(WeekRows(groups=[], reach={"all": []}, new_authors={}))
    assert empty["potential_reach"] == 0  # no author at all: nothing to reach, which is known


def test_changes_in_percent_for_counts_and_points_for_ratios() -> None:
    now = dict.fromkeys(metrics.HEADLINE, None) | {"posts": 30, "net_sentiment": 0.5, "potential_reach": 100}
    before = dict.fromkeys(metrics.HEADLINE, None) | {"posts": 20, "net_sentiment": 0.25, "potential_reach": None}
    changes = metrics.changes(now, before)
    assert changes["posts"] == {"previous": 20, "difference": 10, "percent": 0.5}
    assert changes["net_sentiment"] == {"previous": 0.25, "difference": 0.25, "percent": None}
    assert changes["potential_reach"]["difference"] is None
    assert metrics.changes(now, None)["posts"] == {"previous": None, "difference": None, "percent": None}


def _run(at: datetime, status: str, until: datetime | None = None, source: str = "x") -> RunRow:
    result = {"source": source, "status": status, "rate_limited_until": until.isoformat() if until else None}
    return RunRow("collect", at, at, "ok", {"sources": [result]})


def test_coverage_hours_add_up_and_the_worst_state_wins() -> None:
    end = T0 + timedelta(hours=10)
    runs = [
        _run(T0, "ok"),
        _run(T0 + timedelta(hours=1), "rate_limited", T0 + timedelta(hours=4)),
        _run(T0 + timedelta(hours=2), "skipped", T0 + timedelta(hours=4)),
        _run(T0 + timedelta(hours=4), "failed"),
        _run(T0 + timedelta(hours=5), "degraded"),
        _run(T0 + timedelta(hours=6), "ok"),  # then nothing: 2 hours at most, the rest is "no run"
    ]
    section = coverage_section(
        runs,
        {"x": 1},
        T0,
        end,
        intervals={"x": timedelta(hours=1)},
        expected=["x", "rss"],
        not_ready={},
        uncollectable={},
    )
    x, rss = section["sources"][1], section["sources"][0]
    assert x["source"] == "x"
    assert (x["collected_hours"], x["rate_limited_hours"], x["failed_hours"], x["degraded_hours"]) == (3, 3, 1, 1)
    assert x["no_run_hours"] == 2
    assert rss == {
        "source": "rss",
        "runs": 0,
        "collected_hours": 0,
        "degraded_hours": 0,
        "rate_limited_hours": 0,
        "failed_hours": 0,
        "no_run_hours": 10,
        "quarantined": 0,
    }
    assert section["partial"] is True


def test_overlapping_intervals_count_once() -> None:
    seconds = state_seconds(
        [(T0, T0 + timedelta(hours=2), 0), (T0 + timedelta(hours=1), T0 + timedelta(hours=3), 2)],
        T0,
        T0 + timedelta(hours=4),
    )
    assert seconds["collected"] == 3600
    assert seconds["rate_limited"] == 7200
    assert seconds["no_run"] == 3600


def test_links_are_shown_for_public_authors_and_web_addresses_only() -> None:
    from jobs.reporting.assemble import excerpt, shown_link

    assert shown_link("https://x.com/a/status/1", True) == "https://x.com/a/status/1"
    assert shown_link("https://x.com/a/status/1", False) is None
    assert shown_link("javascript:alert(1)", True) is None
    assert shown_link("JAVASCRIPT:alert(1)", True) is None
    assert excerpt("a  b\n" + "c" * 400).endswith("…")
    assert len(excerpt("c" * 400)) == 280
