"""The weekly report job: build a campaign's report for an ISO week, store it, e-mail it.

`generate` reads the week from the database (storage/repositories/report_data.py, aggregation in SQL),
assembles the document (jobs/reporting) and stores it in `reports` (unique per campaign and week). A stored
week is returned as it is unless `regenerate` is asked: the numbers a partner received do not move. The
previous week's headline (for week-over-week changes) is its stored report when it was made with the same
definitions, else computed the same way.

`weekly_job(slug)` is what the scheduler fires every Monday at `[reports] hour` in the campaign's time zone
(and once at start, to catch up a Monday missed while the service was down): it builds the last complete
week if it is not stored yet and e-mails it to the campaign's `report_recipients`. A double fire is
harmless: only the run that inserted the report sends it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from jobs.reporting import coverage as coverage_mod
from jobs.reporting import metrics
from jobs.reporting.assemble import CampaignInfo, WeekMaterial, assemble
from jobs.reporting.definitions import DEFINITIONS_VERSION
from jobs.reporting.mail import send_report
from jobs.reporting.weeks import IsoWeek, WeekWindow, last_complete_week, week_containing, week_window
from jobs.runner import JobFunc
from jobs.services import Services
from listener.readiness import UNCOLLECTABLE, source_readiness
from storage.models import Report
from storage.pseudonyms import pseudonym
from storage.repositories import report_context as context
from storage.repositories import report_parts as parts
from storage.repositories._sql import upsert_insert, utcnow

log = logging.getLogger(__name__)


STORIES_SHOWN = 30  # featured stories listed in a report (all are counted)


class ReportError(Exception):
    """A report cannot be made as asked; the message names the fix."""


@dataclass(frozen=True)
class Generated:
    campaign: str
    week: str
    status: str  # generated, regenerated, stored (kept as it was)
    data: dict[str, Any]
    seconds: float

    @property
    def new(self) -> bool:
        return self.status in ("generated", "regenerated")


@dataclass(frozen=True)
class StoredWeek:
    week: str
    generated_at: datetime
    definitions_version: str
    posts: int | None
    partial: bool


def campaign_info(services: Services, slug: str) -> CampaignInfo:
    campaign = services.settings.campaigns.get(slug)
    if campaign is None or slug not in services.campaign_ids:
        known = ", ".join(sorted(services.settings.campaigns))
        raise ReportError(f"unknown campaign {slug!r}: use one of {known} (the [campaigns] of the configuration)")
    return CampaignInfo(slug, campaign.name, campaign.timezone, campaign.region)


async def stored(session: AsyncSession, campaign_id: int, week: IsoWeek) -> Report | None:
    result = await session.execute(select(Report).where(Report.campaign_id == campaign_id, Report.week == str(week)))
    return result.scalar_one_or_none()


async def stored_weeks(session: AsyncSession, campaign_id: int) -> list[StoredWeek]:
    """The campaign's stored reports, newest week first."""
    result = await session.execute(select(Report).where(Report.campaign_id == campaign_id).order_by(Report.week.desc()))
    weeks = []
    for report in result.scalars():
        data = report.data or {}
        headline = data.get("headline") or {}
        weeks.append(
            StoredWeek(
                report.week,
                report.generated_at,
                report.definitions_version,
                headline.get("posts"),
                bool((data.get("coverage") or {}).get("partial")),
            )
        )
    return weeks


def report_languages(services: Services) -> list[str]:
    """The languages the report tells apart: every campaign's (analyses use the union of them) and the
    language stage's "other" and "und"."""
    configured = {lang for campaign in services.settings.campaigns.values() for lang in campaign.languages}
    return [*sorted(configured), "other", "und"]


def _coverage_inputs(services: Services) -> tuple[dict[str, timedelta], list[str], dict[str, str]]:
    sources = services.settings.sources
    intervals = {
        name: timedelta(minutes=getattr(sources, name).interval_minutes)
        for name in type(sources).model_fields
        if hasattr(getattr(sources, name), "interval_minutes")
    }
    readiness = source_readiness(services.settings)
    expected = [r.name for r in readiness if r.ready]
    not_ready = {r.name: r.describe() for r in readiness if r.enabled and not r.ready}
    return intervals, expected, not_ready


async def _previous_headline(
    opened: Sequence[AsyncSession], campaign_id: int, window: WeekWindow, languages: Sequence[str]
) -> dict[str, Any] | None:
    """The previous week's headline: stored (same definitions) or computed now."""
    previous = window.week.previous
    report = await stored(opened[0], campaign_id, previous)
    if report is not None:
        if report.definitions_version == DEFINITIONS_VERSION and isinstance(report.data.get("headline"), dict):
            return dict(report.data["headline"])
        return None  # other definitions: no comparison rather than a wrong one
    before = week_window(previous, window.timezone)
    return metrics.headline((await parts.read_week(opened, campaign_id, before.day_starts, languages, 0)).rows)


async def _material(
    services: Services, opened: Sequence[AsyncSession], campaign_id: int, window: WeekWindow, top: int
) -> WeekMaterial:
    start, end = window.start, window.end
    week = await parts.read_week(opened, campaign_id, window.day_starts, report_languages(services), top)
    session = opened[0]
    previous_start = week_window(window.week.previous, window.timezone).start
    previous_mentions = await context.merchant_mentions(session, campaign_id, previous_start, start)
    stories = await context.featured_stories(session, campaign_id, start, end, STORIES_SHOWN)
    stories_total = await context.featured_count(session, campaign_id, start, end)
    posts = week.top_posts
    public = await context.public_authors(session, [p.author_id for p in posts] + [s.author_id for s in stories])
    intervals, expected, not_ready = _coverage_inputs(services)
    runs = await context.collection_runs(session, start - coverage_mod.LOOKBACK, end)
    coverage = coverage_mod.coverage_section(
        runs,
        await context.quarantined(session, start, end),
        start,
        end,
        intervals=intervals,
        expected=expected,
        not_ready=not_ready,
        uncollectable=dict(UNCOLLECTABLE),
    )
    return WeekMaterial(
        week.rows, week.merchants, previous_mentions, week.discovered, stories, stories_total, posts, public, coverage
    )


async def compute(services: Services, slug: str, week: IsoWeek, *, now: datetime | None = None) -> dict[str, Any]:
    """The report document of `slug` for `week`, from the database as it is now (nothing stored). The week's
    posts are read in `[reports] parallel` parts at once, all from one snapshot (report_parts.py)."""
    info = campaign_info(services, slug)
    campaign_id = services.campaign_ids[slug]
    window = week_window(week, info.timezone)
    key = services.pseudonym_key()
    top = services.settings.reports.top
    count = services.settings.reports.parallel or parts.default_parts()
    # One report reads at a time in a process. Its parts take connections one after another: two reports
    # due at the same minute (campaigns sharing a time zone) could each hold some and wait for the rest of
    # a small pool (SQLite's 5) until both time out; and each report keeps every core busy already.
    lock = services.extras.setdefault("report_lock", asyncio.Lock())
    async with lock, parts.consistent_sessions(services.sessions, count) as opened:
        previous = await _previous_headline(opened, campaign_id, window, report_languages(services))
        material = await _material(services, opened, campaign_id, window, top)
    return assemble(
        info,
        window,
        material,
        previous=previous,
        previous_week=str(week.previous),
        pseudonym=lambda platform, author: pseudonym(platform, author, key),
        generated_at=now or utcnow(),
        top=top,
    )


async def generate(
    services: Services, slug: str, week: IsoWeek, *, regenerate: bool = False, now: datetime | None = None
) -> Generated:
    """The stored report of the week, generated (and stored) first when there is none or `regenerate`."""
    started = time.perf_counter()
    campaign_info(services, slug)  # an unknown campaign is refused before anything is read
    campaign_id = services.campaign_ids[slug]
    if not regenerate:
        async with services.sessions() as session:
            existing = await stored(session, campaign_id, week)
        if existing is not None:
            return Generated(slug, str(week), "stored", existing.data, time.perf_counter() - started)
    data = await compute(services, slug, week, now=now)
    generated_at = datetime.fromisoformat(data["generated_at"])
    async with services.sessions.begin() as session:
        had = await stored(session, campaign_id, week) is not None
        insert = upsert_insert(session, Report.__table__).values(  # type: ignore[arg-type]
            campaign_id=campaign_id,
            week=str(week),
            definitions_version=DEFINITIONS_VERSION,
            generated_at=generated_at,
            data=data,
        )
        if regenerate:
            statement = insert.on_conflict_do_update(
                index_elements=["campaign_id", "week"],
                set_={"definitions_version": DEFINITIONS_VERSION, "generated_at": generated_at, "data": data},
            )
        else:
            statement = insert.on_conflict_do_nothing(index_elements=["campaign_id", "week"])
        written = int(getattr(await session.execute(statement), "rowcount", 0) or 0)
    if not regenerate and not written:  # another process stored the week meanwhile: theirs stands
        async with services.sessions() as session:
            existing = await stored(session, campaign_id, week)
        assert existing is not None
        return Generated(slug, str(week), "stored", existing.data, time.perf_counter() - started)
    status = "regenerated" if had else "generated"
    log.info("report %s %s %s (%d posts)", slug, week, status, data["headline"]["posts"])
    return Generated(slug, str(week), status, data, time.perf_counter() - started)


def due(now: datetime, timezone: str, hour: int) -> IsoWeek | None:
    """The week whose report is due at `now`: the last complete week, once Monday `hour` local has passed
    (before that, on Monday morning, the collectors may still be catching up with Sunday)."""
    current = week_containing(now, timezone)
    monday = week_window(current, timezone).start
    if now < monday + timedelta(hours=hour):
        return None
    return last_complete_week(now, timezone)


def weekly_job(slug: str, *, clock: Callable[[], datetime] = utcnow) -> JobFunc:
    """The scheduled unit of work for one campaign (see the module docstring); `clock` gives "now"."""

    async def job(services: Services) -> dict[str, Any]:
        moment = clock()
        campaign = services.settings.campaigns[slug]
        week = due(moment, campaign.timezone, services.settings.reports.hour)
        if week is None:
            return {"campaign": slug, "status": "not due"}
        result = await generate(services, slug, week, now=moment)
        detail: dict[str, Any] = {"campaign": slug, "week": result.week, "status": result.status}
        if result.new:
            detail["emailed"] = await send_report(services, slug, result.data, campaign.report_recipients)
        return detail

    return job
