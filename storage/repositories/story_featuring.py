"""Featuring: the rotation rules, enforced where they are hard and reported where they are a judgement.

Hard rules (`feature` refuses with a TransitionError naming the rule):
- only a story whose rights are granted is featured;
- never a story of a merchant that opted out of being featured (`merchants.feature_opt_out`);
- at most `stories.max_per_merchant_per_week` featured stories per merchant in any ISO week (Monday to Sunday
  in the campaign's time zone) that the new feature window overlaps; stories featured earlier and archived
  since still count for their weeks;
- the window starts within the campaign's dates (start date to end date, inclusive, in its time zone); a
  window running past the campaign's end is cut at the end, with a warning.

Balance across languages and regions is a soft rule: a campaign may simply have few stories in a language
this week, and refusing would leave the feed empty. `rotation_report` counts what is featured now by language
and by region (the merchant's region, else its city) and warns when one language or region holds more than
two thirds of three or more featured stories while stories with rights granted in another wait, or when a
campaign language has nothing featured while some wait; `feature` returns these warnings for the curator.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.settings import StoriesSettings
from storage.models import Campaign, Merchant, Story
from storage.repositories.story_states import StoryState, TransitionError, apply_move, load_story

BALANCE_MIN_FEATURED = 3
BALANCE_MAX_SHARE = 2 / 3
_COUNTED = (StoryState.FEATURED.value, StoryState.ARCHIVED.value)


@dataclass(frozen=True)
class RotationReport:
    featured: int
    by_language: dict[str, int]
    by_region: dict[str, int]
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FeatureResult:
    story_id: int
    featured_from: datetime
    featured_until: datetime
    warnings: list[str] = field(default_factory=list)


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tz)


def iso_weeks(start: datetime, end: datetime, tz: ZoneInfo) -> list[tuple[str, datetime, datetime]]:
    """The ISO weeks (label, start, end) in time zone `tz` that the window [start, end) overlaps."""
    monday = start.astimezone(tz).date()
    monday -= timedelta(days=monday.weekday())
    weeks = []
    while (week_start := _local_midnight(monday, tz)) < end:
        year, week, _ = monday.isocalendar()
        weeks.append((f"{year}-W{week:02d}", week_start, _local_midnight(monday + timedelta(days=7), tz)))
        monday += timedelta(days=7)
    return weeks


def _window(
    campaign: Campaign, start: datetime, end: datetime, tz: ZoneInfo, warnings: list[str]
) -> tuple[datetime, datetime]:
    if start.tzinfo is None or end.tzinfo is None:
        raise TransitionError("the feature window needs time-zone-aware start and end")
    if end <= start:
        raise TransitionError(
            f"the feature window ends ({end:%Y-%m-%d %H:%M}) before it starts ({start:%Y-%m-%d %H:%M})"
        )
    if campaign.start_date and start < _local_midnight(campaign.start_date, tz):
        raise TransitionError(
            f"the feature window starts {start.astimezone(tz):%Y-%m-%d}, before campaign {campaign.slug} starts "
            f"({campaign.start_date})"
        )
    if campaign.end_date:
        closes = _local_midnight(campaign.end_date + timedelta(days=1), tz)
        if start >= closes:
            raise TransitionError(
                f"the feature window starts {start.astimezone(tz):%Y-%m-%d}, after campaign {campaign.slug} ended "
                f"({campaign.end_date})"
            )
        if end > closes:
            warnings.append(f"the feature window is cut at the campaign's end ({campaign.end_date})")
            end = closes
    return start, end


async def _check_merchant(
    session: AsyncSession, story: Story, start: datetime, end: datetime, tz: ZoneInfo, cap: int
) -> None:
    if story.merchant_id is None:
        return
    merchant = await session.get(Merchant, story.merchant_id)
    if merchant is None:
        return
    if merchant.feature_opt_out:
        raise TransitionError(f"merchant {merchant.name!r} opted out of being featured: story #{story.id} cannot be")
    for label, week_start, week_end in iso_weeks(start, end, tz):
        count = await session.scalar(
            select(func.count(Story.id)).where(
                Story.merchant_id == merchant.id,
                Story.state.in_(_COUNTED),
                Story.id != story.id,
                Story.featured_from < week_end,
                or_(Story.featured_until.is_(None), Story.featured_until > week_start),
            )
        )
        if (count or 0) >= cap:
            raise TransitionError(
                f"merchant {merchant.name!r} already has {count} featured stories in week {label} "
                f"(stories.max_per_merchant_per_week = {cap}): choose another week or another story"
            )


async def feature(
    session: AsyncSession,
    story_id: int,
    actor_user_id: int | None,
    now: datetime,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    *,
    rules: StoriesSettings | None = None,
) -> FeatureResult:
    """Feature a story whose rights are granted, from `window_start` (default now) to `window_end` (default
    `rules.feature_days` later); TransitionError names the rule that refuses it."""
    rules = rules or StoriesSettings()
    story = await load_story(session, story_id)
    if story.state != StoryState.RIGHTS_GRANTED:
        raise TransitionError(
            f"story #{story_id} is {story.state}: only a story whose rights are granted can be featured"
        )
    campaign = await session.get(Campaign, story.campaign_id)
    assert campaign is not None  # a foreign key
    tz = ZoneInfo(campaign.timezone)
    warnings: list[str] = []
    start = window_start or now
    start, end = _window(campaign, start, window_end or start + timedelta(days=rules.feature_days), tz, warnings)
    await _check_merchant(session, story, start, end, tz, rules.max_per_merchant_per_week)
    story.featured_from, story.featured_until = start, end
    await apply_move(
        session,
        story,
        StoryState.FEATURED,
        actor_user_id=actor_user_id,
        reason=f"featured from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC",
        now=now,
    )
    report = await rotation_report(session, campaign.id, max(start, now))
    return FeatureResult(story.id, start, end, [*warnings, *report.warnings])


def _share_warnings(kind: str, featured: Counter[str], waiting: Counter[str], wanted: list[str]) -> list[str]:
    total = sum(featured.values())
    out = []
    if total >= BALANCE_MIN_FEATURED:
        top, count = featured.most_common(1)[0]
        others = sum(n for key, n in waiting.items() if key != top)
        if count > BALANCE_MAX_SHARE * total and others:
            out.append(
                f"{count} of {total} stories featured now share the {kind} {top}; {others} with rights granted "
                f"in other {kind}s wait"
            )
    out.extend(
        f"no story in {kind} {key} is featured while {waiting[key]} with rights granted wait"
        for key in wanted
        if not featured[key] and waiting[key]
    )
    return out


async def rotation_report(session: AsyncSession, campaign_id: int, now: datetime) -> RotationReport:
    """What the campaign features at `now`, by language and region, with balance warnings (never refusals)."""
    region = func.coalesce(Merchant.region, Merchant.city, "")

    async def counts(*where: ColumnElement[bool]) -> tuple[Counter[str], Counter[str]]:
        rows = await session.execute(
            select(Story.language, region)
            .outerjoin(Merchant, Merchant.id == Story.merchant_id)
            .where(Story.campaign_id == campaign_id, *where)
        )
        languages: Counter[str] = Counter()
        regions: Counter[str] = Counter()
        for language, place in rows.all():
            languages[language] += 1
            if place:
                regions[place] += 1
        return languages, regions

    featured_languages, featured_regions = await counts(
        Story.state == StoryState.FEATURED.value,
        Story.featured_from <= now,
        or_(Story.featured_until.is_(None), Story.featured_until > now),
    )
    waiting_languages, waiting_regions = await counts(Story.state == StoryState.RIGHTS_GRANTED.value)
    campaign = await session.get(Campaign, campaign_id)
    wanted = list(campaign.languages) if campaign and len(campaign.languages) > 1 else []
    warnings = _share_warnings("language", featured_languages, waiting_languages, wanted)
    warnings += _share_warnings("region", featured_regions, waiting_regions, [])
    return RotationReport(sum(featured_languages.values()), dict(featured_languages), dict(featured_regions), warnings)


async def archive_expired(session: AsyncSession, now: datetime) -> int:
    """Featured stories whose window has ended are archived (on the stories (state, featured_until) index)."""
    stories = (
        await session.scalars(
            select(Story)
            .where(Story.state == StoryState.FEATURED.value, Story.featured_until <= now)
            .order_by(Story.id)
            .with_for_update()
        )
    ).all()
    for story in stories:
        await apply_move(
            session,
            story,
            StoryState.ARCHIVED,
            actor_user_id=None,
            reason=f"the feature window ended on {story.featured_until:%Y-%m-%d %H:%M} UTC",
            now=now,
        )
    return len(stories)
