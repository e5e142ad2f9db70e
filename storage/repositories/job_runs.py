"""Job run history: one row per run with status, timing and counts; a dedup key makes a double fire harmless."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import JobRun
from storage.repositories._sql import utcnow


async def start_run(
    session: AsyncSession, job: str, dedup_key: str | None = None, worker_id: str | None = None
) -> JobRun | None:
    """Record the start of a run (by `worker_id`, so a dead worker's run is closed when it is reaped); None
    when a run with the same dedup key already exists."""
    run = JobRun(job=job, dedup_key=dedup_key, status="running", started_at=utcnow(), detail={}, worker_id=worker_id)
    savepoint = await session.begin_nested()
    session.add(run)
    try:
        await session.flush()
    except IntegrityError:
        await savepoint.rollback()
        return None
    await savepoint.commit()
    return run


async def finish_run(session: AsyncSession, run_id: int, *, detail: dict[str, Any], error: str | None = None) -> None:
    run = await session.get(JobRun, run_id)
    if run is None:
        return
    run.status = "failed" if error else "ok"
    run.finished_at = utcnow()
    run.detail = detail
    run.error = error
    await session.flush()


async def recent_runs(session: AsyncSession, limit: int = 50, job: str | None = None) -> list[JobRun]:
    query = select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(limit)
    if job:
        query = query.where(JobRun.job == job)
    return list((await session.execute(query)).scalars())
