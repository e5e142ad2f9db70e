"""Housekeeping: keep the campaigns table in step with the configuration; trim old job history and finished
work items, expired web
sessions and failed sign-ins too old to count; let SQLite refresh its planner statistics and fold its
write-ahead log back into the database file."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import CursorResult, delete, text
from sqlalchemy.exc import OperationalError

from jobs.services import Services
from storage.models import JobRun
from storage.repositories import web_sessions, work_items
from storage.repositories._sql import utcnow
from storage.repositories.campaigns import sync_campaigns

log = logging.getLogger(__name__)

JOB_HISTORY_DAYS = 90


async def run(services: Services) -> dict[str, Any]:
    async with services.sessions.begin() as session:
        services.campaign_ids = await sync_campaigns(session, services.settings.campaigns)
        cutoff = utcnow() - timedelta(days=JOB_HISTORY_DAYS)
        trimmed: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
            delete(JobRun).where(JobRun.finished_at < cutoff)
        )
        items = await work_items.purge_finished(session, cutoff)
        purged = await web_sessions.purge(session, timedelta(minutes=services.settings.web.login_window_minutes))
    result: dict[str, Any] = {
        "campaigns": len(services.campaign_ids),
        "job_runs_trimmed": trimmed.rowcount,
        "work_items_trimmed": items,
        **purged,
    }
    if services.engine.dialect.name == "sqlite":
        try:
            async with services.engine.connect() as conn:
                await conn.execute(text("PRAGMA optimize"))
                await conn.execute(text("PRAGMA wal_checkpoint(PASSIVE)"))
        except OperationalError as exc:
            # Best effort: ANALYZE needs the write lock, which the jobs starting alongside may hold; the
            # next run tries again, and nothing above depends on it.
            log.info("housekeeping: SQLite maintenance skipped (%s); the next run tries again", exc.orig)
            result["sqlite_maintenance"] = "skipped: database busy"
    return result
