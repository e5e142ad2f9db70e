"""The in-process clock (`jobs.scheduler.Clock`) on a real event loop and real databases."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select

from jobs.scheduler import Clock
from jobs.services import Services
from storage.engine import create_engine, make_sessionmaker
from storage.models import JobRun


async def _runs(services: Services) -> list[JobRun]:
    async with services.sessions() as session:
        return list((await session.execute(select(JobRun).order_by(JobRun.id))).scalars())


async def _wait_for(predicate: Any, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not await predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_the_clock_runs_its_jobs_at_once_and_records_them(services: Services) -> None:
    clock = Clock(services)
    assert clock.job_names == ["housekeeping", "retention", "stories", "report:lovelocal", "report:soutenons"]
    clock.start()
    try:

        async def recorded() -> bool:
            return {r.job for r in await _runs(services) if r.status == "ok"} >= {
                "housekeeping",
                "retention",
                "stories",
            }

        await _wait_for(recorded)
    finally:
        await clock.stop(grace_seconds=5)
    runs = {r.job: r for r in await _runs(services)}
    assert runs["housekeeping"].detail["campaigns"] == 2
    assert runs["stories"].error is None


async def test_the_story_report_and_retention_jobs_can_be_switched_off(settings_for, sqlite_url: str) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for(
        sqlite_url,
        LISTENER_SCHEDULER_STORIES="false",
        LISTENER_REPORTS_ENABLED="false",
        LISTENER_RETENTION_RAW_PAYLOAD_DAYS="0",
        LISTENER_RETENTION_NON_INTERACTING_DAYS="0",
    )
    engine = create_engine(sqlite_url)
    assert Clock(Services(settings=settings, engine=engine, sessions=make_sessionmaker(engine))).job_names == [
        "housekeeping"
    ]
    await engine.dispose()


async def test_the_housekeeping_interval_comes_from_the_settings(services: Services) -> None:
    services.settings = dataclasses.replace(
        services.settings, scheduler=services.settings.scheduler.model_copy(update={"housekeeping_minutes": 7})
    )
    clock = Clock(services)
    job = clock._scheduler.get_job("housekeeping")
    assert job.trigger.interval.total_seconds() == 7 * 60


async def test_stop_lets_a_job_in_flight_finish_and_commit(services: Services) -> None:
    started = asyncio.Event()

    async def slow(_: Services) -> dict[str, Any]:
        started.set()
        await asyncio.sleep(0.5)
        return {"done": True}

    clock = Clock(services)
    # A second, slow job through the same path as the real ones (the clock has no public way to add one).
    clock._add("slow", slow, IntervalTrigger(hours=1))
    clock.start()
    await asyncio.wait_for(started.wait(), 10)
    t0 = time.monotonic()
    await clock.stop(grace_seconds=10)
    assert time.monotonic() - t0 < 5

    runs = {r.job: r for r in await _runs(services)}
    assert runs["slow"].status == "ok"
    assert runs["slow"].detail["done"] is True
    assert runs["slow"].finished_at is not None


async def test_stop_cancels_a_job_past_the_grace_and_closes_its_run(services: Services) -> None:
    started = asyncio.Event()
    finished = False

    async def stuck(_: Services) -> dict[str, Any]:
        nonlocal finished
        started.set()
        await asyncio.sleep(3600)
        finished = True
        return {}

    clock = Clock(services)
    clock._add("stuck", stuck, IntervalTrigger(hours=1))
    clock.start()
    await asyncio.wait_for(started.wait(), 10)
    t0 = time.monotonic()
    await clock.stop(grace_seconds=0.3)
    assert time.monotonic() - t0 < 5
    assert finished is False

    [run] = [r for r in await _runs(services) if r.job == "stuck"]
    assert run.status == "failed"
    assert run.error is not None
    assert "cancelled" in run.error
    assert run.finished_at is not None


def test_the_clock_collects_each_ready_source_at_its_interval(settings_for, sqlite_url: str) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for(sqlite_url, LISTENER_X_BEARER_TOKEN="token-0123456789", LISTENER_X_INTERVAL_MINUTES="7")
    engine = create_engine(sqlite_url)
    clock = Clock(Services(settings=settings, engine=engine, sessions=make_sessionmaker(engine)))
    assert clock.job_names == [
        "housekeeping",
        "retention",
        "collect:x",
        "refresh",
        "stories",
        "report:lovelocal",
        "report:soutenons",
    ]
    trigger = clock._scheduler.get_job("collect:x").trigger
    assert trigger.interval.total_seconds() == 7 * 60
    off = settings_for(sqlite_url, LISTENER_X_BEARER_TOKEN="token-0123456789", LISTENER_SCHEDULER_COLLECT="false")
    quiet = Clock(Services(settings=off, engine=engine, sessions=make_sessionmaker(engine)))
    assert quiet.job_names == ["housekeeping", "retention", "stories", "report:lovelocal", "report:soutenons"]
