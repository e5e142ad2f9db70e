"""The one module that talks to APScheduler 3 (an in-process clock; job stores are never shared).

Each scheduled job goes through `jobs.runner.run_job`, so its run is recorded and a failure is logged and
kept without stopping the clock. `max_instances=1` and `coalesce=True`: a slow run is never overlapped by
the next tick, and ticks missed while the process was down collapse into one. The clock tracks the job
tasks it started so that a shutdown can wait (bounded) for the batch in flight to commit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from jobs import housekeeping, notify, refresh, retention, stories
from jobs import report as report_job
from jobs.collect import collect
from jobs.roles import role_of
from jobs.runner import JobFunc, run_job
from jobs.services import Services
from listener.readiness import source_readiness
from storage.repositories import work_items

log = logging.getLogger(__name__)


def _collect_one(name: str) -> JobFunc:
    async def job(services: Services) -> dict[str, Any]:
        return {"sources": [r.as_dict() for r in await collect(services, only=name)]}

    return job


class Clock:
    """The schedule of every job. In one process (`listener run`) a tick runs its job here; with `enqueue`
    (the scheduler role of `listener worker`), a tick of a job that a worker role serves (jobs.roles) queues a
    work item keyed by job and minute instead. Analysis is not a tick: the analyse role polls for new posts
    continuously (jobs.worker), in `listener run` as in a worker."""

    def __init__(self, services: Services, *, enqueue: bool = False) -> None:
        self._services = services
        self._enqueue = enqueue
        self.jobs: dict[str, JobFunc] = {}  # name -> function: what a worker runs for a claimed item
        self._inflight: set[asyncio.Task[Any]] = set()
        self._stopping = False
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        settings = services.settings.scheduler
        self._add("housekeeping", housekeeping.run, IntervalTrigger(minutes=settings.housekeeping_minutes))
        kept = services.settings.retention
        if kept.raw_payload_days or kept.non_interacting_days:  # daily; batched, so it never blocks for long
            self._add("retention", retention.run, IntervalTrigger(days=1))
        ready = [s.name for s in source_readiness(services.settings) if s.ready]
        if settings.collect and ready:
            for name in ready:
                minutes = getattr(services.settings.sources, name).interval_minutes
                self._add(f"collect:{name}", _collect_one(name), IntervalTrigger(minutes=minutes))
            self._add("refresh", refresh.run, IntervalTrigger(minutes=settings.refresh_minutes))
        if settings.stories:
            minutes = services.settings.stories.scoring_minutes
            self._add("stories", stories.run, IntervalTrigger(minutes=minutes))
        notifications = services.settings.notifications
        if notifications.enabled and services.settings.smtp.configured:
            # Digests are due at a local hour per merchant: checking often sends each one once, soon after.
            self._add("digests", notify.digests_job, IntervalTrigger(minutes=notifications.digest_check_minutes))
            self._add("alerts", notify.alerts_job, IntervalTrigger(minutes=notifications.spike_minutes))
        if services.settings.reports.enabled:
            # Weekly reports: Monday at [reports] hour on each campaign's own clock (DST included).
            for slug, campaign in services.settings.campaigns.items():
                hour = services.settings.reports.hour
                trigger = CronTrigger(day_of_week="mon", hour=hour, minute=0, timezone=ZoneInfo(campaign.timezone))
                self._add_weekly(f"report:{slug}", report_job.weekly_job(slug), trigger)

    def _add(self, name: str, func: JobFunc, trigger: IntervalTrigger) -> None:
        self.jobs[name] = func
        self._scheduler.add_job(
            self._tick(name, func),
            trigger,
            id=name,
            name=name,
            next_run_time=datetime.now(UTC),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=300,
        )

    def _add_weekly(self, name: str, func: JobFunc, trigger: CronTrigger) -> None:
        """A weekly job: fired by its cron trigger, and once at start so that a Monday missed while the service
        was down is caught up (the job itself builds only a due week not stored yet: a double fire is harmless)."""
        self.jobs[name] = func
        self._scheduler.add_job(
            self._tick(name, func),
            trigger,
            id=name,
            name=name,
            next_run_time=datetime.now(UTC),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=3600,
        )

    def _tick(self, name: str, func: JobFunc) -> Callable[[], Awaitable[None]]:
        async def tick() -> None:
            if self._stopping:  # fired just before stop(): take no new work
                return
            task = asyncio.current_task()
            assert task is not None
            self._inflight.add(task)
            try:
                if self._enqueue and role_of(name) is not None:
                    await self._queue(name)
                else:
                    await run_job(self._services, name, func)
            finally:
                self._inflight.discard(task)

        return tick

    async def _queue(self, name: str) -> None:
        # Keyed by the minute: a double fire (or a standby taking over mid-minute) queues nothing twice; a
        # tick whose previous item is still waiting or running is coalesced, like max_instances=1 does here.
        minute = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M")
        async with self._services.sessions.begin() as session:
            if await work_items.pending_of(session, name):
                log.info("scheduler: %s still queued or running; this tick is coalesced", name)
                return
            await work_items.enqueue(session, name, f"{name}@{minute}")

    @property
    def job_names(self) -> list[str]:
        return [job.id for job in self._scheduler.get_jobs()]

    def start(self) -> None:
        self._scheduler.start()

    async def stop(self, grace_seconds: float) -> None:
        """Take no new work, then give the jobs in flight `grace_seconds` to finish and commit.

        The scheduler is shut down only once they are done: APScheduler's asyncio executor cancels the
        job tasks still running when it shuts down, which would cut every job in flight short.
        """
        self._stopping = True
        self._scheduler.pause()
        pending = set(self._inflight)
        if pending:
            _, late = await asyncio.wait(pending, timeout=grace_seconds)
            for task in late:
                log.warning("a job did not finish within %.0fs of shutdown; cancelling it", grace_seconds)
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=5.0)  # let them record the cancellation and unwind
        self._scheduler.shutdown(wait=False)
        await asyncio.sleep(0)  # AsyncIOScheduler shuts down on the loop's next turn
