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

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from jobs import analyse, housekeeping, refresh, stories
from jobs.collect import collect
from jobs.runner import JobFunc, run_job
from jobs.services import Services
from listener.readiness import source_readiness

log = logging.getLogger(__name__)


def _collect_one(name: str) -> JobFunc:
    async def job(services: Services) -> dict[str, Any]:
        return {"sources": [r.as_dict() for r in await collect(services, only=name)]}

    return job


class Clock:
    def __init__(self, services: Services) -> None:
        self._services = services
        self._inflight: set[asyncio.Task[Any]] = set()
        self._stopping = False
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        settings = services.settings.scheduler
        self._add("housekeeping", housekeeping.run, IntervalTrigger(minutes=settings.housekeeping_minutes))
        ready = [s.name for s in source_readiness(services.settings) if s.ready]
        if settings.collect and ready:
            for name in ready:
                minutes = getattr(services.settings.sources, name).interval_minutes
                self._add(f"collect:{name}", _collect_one(name), IntervalTrigger(minutes=minutes))
            self._add("refresh", refresh.run, IntervalTrigger(minutes=settings.refresh_minutes))
        if settings.analyse:
            self._add("analyse", analyse.run, IntervalTrigger(minutes=settings.analyse_minutes))
        if settings.stories:
            minutes = services.settings.stories.scoring_minutes
            self._add("stories", stories.run, IntervalTrigger(minutes=minutes))

    def _add(self, name: str, func: JobFunc, trigger: IntervalTrigger) -> None:
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

    def _tick(self, name: str, func: JobFunc) -> Callable[[], Awaitable[None]]:
        async def tick() -> None:
            if self._stopping:  # fired just before stop(): take no new work
                return
            task = asyncio.current_task()
            assert task is not None
            self._inflight.add(task)
            try:
                await run_job(self._services, name, func)
            finally:
                self._inflight.discard(task)

        return tick

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
