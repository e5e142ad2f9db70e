"""Scheduled units of work handed from the (one) scheduler to the workers, through the database.

`enqueue` is idempotent by dedup key; `claim` leases the oldest due item of the kinds a worker serves, with
`FOR UPDATE SKIP LOCKED` on PostgreSQL so workers never wait for each other (SQLite has one writer anyway);
`finish` closes it in the transaction the caller chooses. A worker that dies leaves its item "running" with its
lease: `workers.reap` requeues it, and an expired lease is claimable too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import WorkItem
from storage.repositories._sql import upsert_insert, utcnow

MAX_ATTEMPTS = 5  # an item that kills its worker again and again stops being retried (status failed)


@dataclass(frozen=True)
class Claimed:
    id: int
    kind: str
    dedup_key: str
    attempts: int


async def enqueue(session: AsyncSession, kind: str, dedup_key: str, *, not_before: datetime | None = None) -> bool:
    """Queue one unit of work; False when an item with that key exists already (a double fire)."""
    now = utcnow()
    values = {
        "kind": kind,
        "dedup_key": dedup_key[:300],
        "status": "queued",
        "not_before": not_before or now,
        "attempts": 0,
        "created_at": now,
    }
    table: Any = WorkItem.__table__
    statement = upsert_insert(session, table).values(**values).on_conflict_do_nothing()
    result: Any = await session.execute(statement)
    return bool(result.rowcount)


async def pending_of(session: AsyncSession, kind: str) -> int:
    """Items of `kind` queued or running: the scheduler does not pile up ticks behind a slow one."""
    query = (
        select(func.count())
        .select_from(WorkItem)
        .where(WorkItem.kind == kind, WorkItem.status.in_(("queued", "running")))
    )
    return int(await session.scalar(query) or 0)


async def claim(
    session: AsyncSession,
    kinds: Sequence[str],
    owner: str,
    lease: timedelta,
    now: datetime | None = None,
) -> Claimed | None:
    """Lease the oldest due item whose kind is in `kinds` (exact names, or prefixes ending in ':'), or None."""
    now = now or utcnow()
    exact = [k for k in kinds if not k.endswith(":")]
    prefixes = [k for k in kinds if k.endswith(":")]
    kind_match = or_(WorkItem.kind.in_(exact), *(WorkItem.kind.startswith(p) for p in prefixes))
    due = or_(
        and_(WorkItem.status == "queued", WorkItem.not_before <= now),
        and_(WorkItem.status == "running", WorkItem.lease_until < now),  # its worker stopped renewing
    )
    query = select(WorkItem.id, WorkItem.kind).where(due, kind_match).order_by(WorkItem.not_before, WorkItem.id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    for item_id, kind in (await session.execute(query.limit(20))).all():
        result: Any = await session.execute(
            update(WorkItem)
            .where(WorkItem.id == item_id, due)
            .values(status="running", lease_owner=owner, lease_until=now + lease, attempts=WorkItem.attempts + 1)
            .returning(WorkItem.dedup_key, WorkItem.attempts)
        )
        row = result.first()
        if row is not None:
            return Claimed(item_id, kind, row[0], row[1])
    return None


async def renew(session: AsyncSession, item_id: int, owner: str, lease: timedelta) -> bool:
    result: Any = await session.execute(
        update(WorkItem)
        .where(WorkItem.id == item_id, WorkItem.lease_owner == owner, WorkItem.status == "running")
        .values(lease_until=utcnow() + lease)
    )
    return bool(result.rowcount)


async def finish(session: AsyncSession, item_id: int, owner: str, error: str | None = None) -> bool:
    """Close an item this worker holds: done, or back to the queue after a failure (failed for good after
    MAX_ATTEMPTS). False when the lease was lost meanwhile (another worker has it now)."""
    now = utcnow()
    held = and_(WorkItem.id == item_id, WorkItem.lease_owner == owner, WorkItem.status == "running")
    if error is None:
        values: dict[str, Any] = {"status": "done", "finished_at": now, "lease_until": None, "error": None}
    else:
        retry = WorkItem.attempts < MAX_ATTEMPTS
        values = {
            "status": case((retry, "queued"), else_="failed"),
            "finished_at": case((retry, None), else_=now),
            "not_before": now + timedelta(minutes=1),
            "lease_owner": None,
            "lease_until": None,
            "error": error[:2000],
        }
    result: Any = await session.execute(update(WorkItem).where(held).values(**values))
    return bool(result.rowcount)


async def counts_by_status(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(WorkItem.status, func.count()).group_by(WorkItem.status))
    return {status: int(n) for status, n in rows.all()}


async def purge_finished(session: AsyncSession, older_than: datetime) -> int:
    result: Any = await session.execute(
        delete(WorkItem).where(WorkItem.status.in_(("done", "failed")), WorkItem.finished_at < older_than)
    )
    return int(result.rowcount or 0)
