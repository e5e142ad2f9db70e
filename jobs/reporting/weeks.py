"""ISO weeks in a campaign's time zone: parsing `YYYY-Www`, and the UTC instants where a week and its days
begin and end.

A report's week is [Monday 00:00, next Monday 00:00) on the campaign's wall clock, converted to UTC (posts
are stored in UTC). Across a daylight-saving change a week is therefore 167 or 169 hours long, and its days
23 or 25 hours: the boundaries are computed from local midnights, never by adding 7 x 24 hours to a start.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


class WeekError(ValueError):
    """A week argument that is not `YYYY-Www` (or names a week that does not exist)."""


@dataclass(frozen=True, order=True)
class IsoWeek:
    year: int
    week: int

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        match = _WEEK.match(text.strip().upper())
        if match is None:
            raise WeekError(f"{text!r} is not an ISO week: write it as YYYY-Www, e.g. 2026-W43")
        year, week = int(match.group(1)), int(match.group(2))
        try:
            date.fromisocalendar(year, week, 1)
        except ValueError:
            raise WeekError(f"{text!r}: {year} has no week {week} (ISO years have 52 or 53 weeks)") from None
        return cls(year, week)

    @classmethod
    def of(cls, day: date) -> IsoWeek:
        iso = day.isocalendar()
        return cls(iso.year, iso.week)

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    def shifted(self, weeks: int) -> IsoWeek:
        return IsoWeek.of(self.monday + timedelta(weeks=weeks))

    @property
    def previous(self) -> IsoWeek:
        return self.shifted(-1)

    def days(self) -> list[date]:
        return [self.monday + timedelta(days=i) for i in range(7)]


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """00:00 of `day` on the zone's wall clock, as a UTC instant. (Zones that skip midnight itself, rare,
    get the instant zoneinfo maps it to: the first one of the day.)"""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


@dataclass(frozen=True)
class WeekWindow:
    """A week of a campaign: its UTC bounds and the 8 UTC instants that delimit its 7 local days."""

    week: IsoWeek
    timezone: str
    start: datetime
    end: datetime
    day_starts: tuple[datetime, ...]  # 8 instants: Monday 00:00 ... next Monday 00:00, local, in UTC

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600

    def day_index(self, moment: datetime) -> int | None:
        """0 (Monday) .. 6 (Sunday), or None outside the week."""
        if not self.start <= moment < self.end:
            return None
        for index in range(7):
            if moment < self.day_starts[index + 1]:
                return index
        return None  # pragma: no cover - unreachable: moment < end == day_starts[7]


def week_window(week: IsoWeek, timezone: str) -> WeekWindow:
    tz = ZoneInfo(timezone)
    monday = week.monday
    starts = tuple(local_midnight(monday + timedelta(days=i), tz) for i in range(8))
    return WeekWindow(week, timezone, starts[0], starts[7], starts)


def week_containing(moment: datetime, timezone: str) -> IsoWeek:
    return IsoWeek.of(moment.astimezone(ZoneInfo(timezone)).date())


def last_complete_week(now: datetime, timezone: str) -> IsoWeek:
    return week_containing(now, timezone).previous


def resolve_week(text: str | None, now: datetime, timezone: str) -> IsoWeek:
    """`--week`: None is the last complete week, `current` the week in progress, else `YYYY-Www`."""
    if text is None or text.strip().lower() in ("", "last"):
        return last_complete_week(now, timezone)
    if text.strip().lower() == "current":
        return week_containing(now, timezone)
    return IsoWeek.parse(text)
