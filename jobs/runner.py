"""Runs a job with its run recorded: start, finish, duration, counts or the error; never lets it escape.

The scheduler and the CLI both go through `run_job`, so a job run by hand and a scheduled one leave the
same trace in `job_runs` (shown by `listener jobs` and the app), and a failure is logged and kept rather
than killing the scheduler.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from jobs.services import Services
from storage.repositories import job_runs

log = logging.getLogger(__name__)

JobFunc = Callable[[Services], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class JobOutcome:
    job: str
    status: str  # ok, failed, skipped (same dedup key already ran)
    detail: dict[str, Any]
    error: str | None
    seconds: float


async def run_job(services: Services, name: str, func: JobFunc, dedup_key: str | None = None) -> JobOutcome:
    started = time.perf_counter()
    async with services.sessions.begin() as session:
        run = await job_runs.start_run(session, name, dedup_key, services.worker_id)
    if run is None:
        log.info("job %s: skipped, %s already ran", name, dedup_key)
        return JobOutcome(name, "skipped", {}, None, 0.0)
    detail: dict[str, Any] = {}
    error: str | None = None
    try:
        detail = await func(services)
    except Exception as exc:  # a job failure is recorded and reported, never silently lost
        error = f"{type(exc).__name__}: {exc}"
        log.exception("job %s failed", name)
    except asyncio.CancelledError:
        # Cut short (shutdown past its grace): close the run as failed rather than leave it "running".
        log.warning("job %s cancelled before it finished", name)
        await _finish(services, run.id, {}, started, "cancelled before it finished (the service was stopping)")
        raise
    seconds = await _finish(services, run.id, detail, started, error)
    detail = {**detail, "seconds": round(seconds, 3)}
    if error is None:
        log.info("job %s: ok in %.2fs %s", name, seconds, detail)
    return JobOutcome(name, "failed" if error else "ok", detail, error, seconds)


async def _finish(services: Services, run_id: int, detail: dict[str, Any], started: float, error: str | None) -> float:
    seconds = time.perf_counter() - started
    async with services.sessions.begin() as session:
        await job_runs.finish_run(session, run_id, detail={**detail, "seconds": round(seconds, 3)}, error=error)
    return seconds
