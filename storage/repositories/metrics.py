"""The figures behind `/metrics`, read from the database at scrape time.

The database is the one place every process of a deployment writes to, so any process's `/metrics` shows the
whole service (several workers do not each report a slice). Every query here is an index scan or runs on a
small table; none reads the posts' rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import JobRun, Post, Quarantine, Source, Story, Worker, WorkItem
from storage.repositories._sql import utcnow


@dataclass(frozen=True)
class SourceFigures:
    name: str
    platform: str
    status: str
    posts_collected: int
    rate_limited_runs: int
    rate_limited_for: float  # seconds until the current rate-limit window ends (0 when not limited)
    last_success: datetime | None


@dataclass(frozen=True)
class JobFigures:
    job: str
    runs: dict[str, int]  # status -> runs kept in the history
    last_seconds: float | None
    last_success: datetime | None


@dataclass
class Figures:
    sources: list[SourceFigures] = field(default_factory=list)
    quarantined: dict[str, int] = field(default_factory=dict)
    posts_by_platform: dict[str, int] = field(default_factory=dict)
    analysis_backlog: int = 0
    analysis_lag_seconds: float = 0.0
    analysed_last_hour: int = 0
    analysis_seconds_last_hour: float = 0.0
    stories_by_state: dict[str, int] = field(default_factory=dict)
    jobs: list[JobFigures] = field(default_factory=list)
    work_items: dict[str, int] = field(default_factory=dict)
    workers_alive: int = 0


async def figures(session: AsyncSession, now: datetime | None = None) -> Figures:
    now = now or utcnow()
    out = Figures()
    for source in (await session.execute(select(Source).order_by(Source.name))).scalars():
        limited = source.rate_limited_until
        out.sources.append(
            SourceFigures(
                name=source.name,
                platform=source.platform,
                status=source.status,
                posts_collected=source.posts_collected or 0,
                rate_limited_runs=source.rate_limited_runs or 0,
                rate_limited_for=max(0.0, (limited - now).total_seconds()) if limited else 0.0,
                last_success=source.last_success_at,
            )
        )
    rows = await session.execute(
        select(Quarantine.source, func.count()).where(Quarantine.resolved_at.is_(None)).group_by(Quarantine.source)
    )
    out.quarantined = {name: int(n) for name, n in rows.all()}
    # The (platform, platform_id) unique index answers this without reading the posts.
    rows = await session.execute(select(Post.platform, func.count()).group_by(Post.platform))
    out.posts_by_platform = {platform: int(n) for platform, n in rows.all()}
    waiting = await session.execute(select(func.count(), func.min(Post.collected_at)).where(Post.analysed_at.is_(None)))
    backlog, oldest = waiting.one()
    out.analysis_backlog = int(backlog or 0)
    out.analysis_lag_seconds = max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
    hour_ago = now - timedelta(hours=1)
    recent = await session.execute(
        select(JobRun.detail).where(JobRun.job == "analyse", JobRun.started_at >= hour_ago, JobRun.status == "ok")
    )
    for (detail,) in recent.all():
        out.analysed_last_hour += int(detail.get("analysed") or 0)
        out.analysis_seconds_last_hour += float(detail.get("seconds") or 0.0)
    rows = await session.execute(select(Story.state, func.count()).group_by(Story.state))
    out.stories_by_state = {state: int(n) for state, n in rows.all()}
    out.jobs = await _jobs(session)
    rows = await session.execute(select(WorkItem.status, func.count()).group_by(WorkItem.status))
    out.work_items = {status: int(n) for status, n in rows.all()}
    out.workers_alive = int(
        await session.scalar(select(func.count()).select_from(Worker).where(Worker.stopped_at.is_(None))) or 0
    )
    return out


async def _jobs(session: AsyncSession) -> list[JobFigures]:
    counts: dict[str, dict[str, int]] = {}
    rows = await session.execute(select(JobRun.job, JobRun.status, func.count()).group_by(JobRun.job, JobRun.status))
    for job, status, n in rows.all():
        counts.setdefault(job, {})[status] = int(n)
    latest = (
        select(JobRun.job, func.max(JobRun.id).label("id"))
        .where(JobRun.status != "running")
        .group_by(JobRun.job)
        .subquery()
    )
    last_rows = await session.execute(select(JobRun.job, JobRun.detail).join(latest, JobRun.id == latest.c.id))
    last: dict[str, dict[str, object]] = dict(last_rows.all())
    ok_rows = await session.execute(
        select(JobRun.job, func.max(JobRun.finished_at)).where(JobRun.status == "ok").group_by(JobRun.job)
    )
    succeeded: dict[str, datetime | None] = dict(ok_rows.all())
    result = []
    for job in sorted(counts):
        seconds = (last.get(job) or {}).get("seconds")
        result.append(
            JobFigures(
                job=job,
                runs=counts[job],
                last_seconds=float(seconds) if isinstance(seconds, int | float) else None,
                last_success=succeeded.get(job),
            )
        )
    return result
