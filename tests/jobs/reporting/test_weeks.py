"""ISO weeks in a campaign's time zone (pure): parsing, boundaries across both daylight-saving changes, the
local days, and which week `--week` means."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from jobs.reporting.weeks import IsoWeek, WeekError, resolve_week, week_containing, week_window


def test_the_october_dst_week_in_paris_lasts_169_hours() -> None:
    window = week_window(IsoWeek.parse("2026-W43"), "Europe/Paris")
    assert window.start == datetime(2026, 10, 18, 22, 0, tzinfo=UTC)  # Monday 19 00:00 CEST
    assert window.end == datetime(2026, 10, 25, 23, 0, tzinfo=UTC)  # Monday 26 00:00 CET
    assert window.hours == 169
    sunday = window.day_starts[6]
    assert sunday == datetime(2026, 10, 24, 22, 0, tzinfo=UTC)
    assert (window.day_starts[7] - sunday).total_seconds() == 25 * 3600
    assert window.day_index(datetime(2026, 10, 25, 22, 59, tzinfo=UTC)) == 6
    assert window.day_index(datetime(2026, 10, 25, 23, 0, tzinfo=UTC)) is None
    assert window.day_index(datetime(2026, 10, 18, 21, 59, tzinfo=UTC)) is None


def test_the_march_dst_week_lasts_167_hours_and_other_zones_differ() -> None:
    assert week_window(IsoWeek.parse("2026-W13"), "Europe/Paris").hours == 167
    assert week_window(IsoWeek.parse("2026-W43"), "UTC").hours == 168
    casablanca = week_window(IsoWeek.parse("2026-W47"), "Africa/Casablanca")
    assert casablanca.start == datetime(2026, 11, 15, 23, 0, tzinfo=UTC)


def test_weeks_parse_shift_and_refuse_nonsense() -> None:
    week = IsoWeek.parse("2026-w01")
    assert str(week) == "2026-W01"
    assert str(week.previous) == "2025-W52"
    assert str(IsoWeek.parse("2026-W53").previous) == "2026-W52"
    with pytest.raises(WeekError, match="YYYY-Www"):
        IsoWeek.parse("2026-43")
    with pytest.raises(WeekError, match="has no week 53"):
        IsoWeek.parse("2025-W53")


def test_the_default_week_is_the_last_complete_one_in_the_campaign_zone() -> None:
    # Sunday 25 October 23:30 UTC is already Monday 26 in Paris (W44) but still Sunday in UTC (W43).
    moment = datetime(2026, 10, 25, 23, 30, tzinfo=UTC)
    assert week_containing(moment, "Europe/Paris") == IsoWeek(2026, 44)
    assert week_containing(moment, "UTC") == IsoWeek(2026, 43)
    assert resolve_week(None, moment, "Europe/Paris") == IsoWeek(2026, 43)
    assert resolve_week("current", moment, "Europe/Paris") == IsoWeek(2026, 44)
    assert resolve_week("2026-W40", moment, "Europe/Paris") == IsoWeek(2026, 40)
