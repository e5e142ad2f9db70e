"""The processes of the service: registered at start, alive while their heartbeat is fresh, reaped when not.

Reaping is what makes a crash cheap: a worker killed with SIGKILL leaves posts leased, work items running and
job runs "running". The next worker that looks (every process does, at start and then periodically) finds it
dead, either because its heartbeat is older than the stale limit or, on the same host, because its process is
gone (pid plus the process start time, so a reused pid is not mistaken for it), and hands its leases back at
once, instead of letting the work wait for the leases to expire.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import JobRun, Post, Worker, WorkItem
from storage.repositories._sql import utcnow

STALE_AFTER = timedelta(seconds=60)  # four missed heartbeats (HEARTBEAT_SECONDS in jobs.worker)


def process_start(pid: int) -> int | None:
    """The start time of process `pid` in clock ticks since boot (Linux /proc), or None if unknown/gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its closing parenthesis.
    fields = stat.rsplit(")", 1)[-1].split()
    try:
        return int(fields[19])  # field 22 of the whole line
    except (IndexError, ValueError):
        return None


def process_alive(pid: int, started: int | None) -> bool:
    """Whether the process recorded as (`pid`, `started`) still runs on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    if started is None:
        return True
    now_start = process_start(pid)
    return now_start is None or now_start == started


@dataclass(frozen=True)
class Reaped:
    workers: int
    posts_released: int
    items_requeued: int
    runs_closed: int

    def as_dict(self) -> dict[str, int]:
        return {
            "dead_workers": self.workers,
            "posts_released": self.posts_released,
            "items_requeued": self.items_requeued,
            "runs_closed": self.runs_closed,
        }


async def register(session: AsyncSession, roles: Sequence[str]) -> str:
    now = utcnow()
    worker_id = uuid.uuid4().hex
    pid = os.getpid()
    session.add(
        Worker(
            id=worker_id,
            host=socket.gethostname()[:255],
            pid=pid,
            process_start=process_start(pid),
            roles=",".join(roles)[:200],
            started_at=now,
            heartbeat_at=now,
            done=0,
        )
    )
    await session.flush()
    return worker_id


async def heartbeat(session: AsyncSession, worker_id: str) -> bool:
    """Refresh the heartbeat; False when this worker was reaped meanwhile (it must stop taking work)."""
    result: Any = await session.execute(
        update(Worker).where(Worker.id == worker_id, Worker.stopped_at.is_(None)).values(heartbeat_at=utcnow())
    )
    return bool(result.rowcount)


async def count_done(session: AsyncSession, worker_id: str, n: int) -> None:
    """Count `n` units of committed work, in the transaction that commits them."""
    if n:
        await session.execute(update(Worker).where(Worker.id == worker_id).values(done=Worker.done + n))


async def stop(session: AsyncSession, worker_id: str, reason: str = "stopped") -> None:
    await session.execute(
        update(Worker)
        .where(Worker.id == worker_id, Worker.stopped_at.is_(None))
        .values(stopped_at=utcnow(), stop_reason=reason)
    )


async def reap(
    session: AsyncSession,
    *,
    now: datetime | None = None,
    alive: Callable[[int, int | None], bool] = process_alive,
    host: str | None = None,
) -> Reaped:
    """Find dead workers, mark them stopped and hand back everything they held."""
    now = now or utcnow()
    host = host or socket.gethostname()[:255]
    running = (
        await session.execute(
            select(Worker.id, Worker.host, Worker.pid, Worker.process_start, Worker.heartbeat_at).where(
                Worker.stopped_at.is_(None)
            )
        )
    ).all()
    dead: dict[str, str] = {}
    for worker_id, worker_host, pid, started, beat in running:
        if beat < now - STALE_AFTER:
            dead[worker_id] = "heartbeat stale"
        elif worker_host == host and pid != os.getpid() and not alive(pid, started):
            dead[worker_id] = "process gone"
    if not dead:
        return Reaped(0, 0, 0, 0)
    for reason in set(dead.values()):
        ids = [w for w, r in dead.items() if r == reason]
        await session.execute(
            update(Worker)
            .where(Worker.id.in_(ids), Worker.stopped_at.is_(None))
            .values(stopped_at=now, stop_reason=reason)
        )
    ids = list(dead)
    posts: Any = await session.execute(
        update(Post).where(Post.lease_owner.in_(ids)).values(lease_owner=None, lease_until=None)
    )
    items: Any = await session.execute(
        update(WorkItem)
        .where(WorkItem.lease_owner.in_(ids), WorkItem.status == "running")
        .values(status="queued", lease_owner=None, lease_until=None)
    )
    runs: Any = await session.execute(
        update(JobRun)
        .where(JobRun.worker_id.in_(ids), JobRun.status == "running")
        .values(status="failed", finished_at=now, error="interrupted: its worker died before it finished")
    )
    return Reaped(len(ids), int(posts.rowcount or 0), int(items.rowcount or 0), int(runs.rowcount or 0))


async def live_workers(session: AsyncSession) -> list[Worker]:
    query = select(Worker).where(Worker.stopped_at.is_(None)).order_by(Worker.started_at)
    return list((await session.execute(query)).scalars())


async def recent_workers(session: AsyncSession, limit: int = 50) -> list[Worker]:
    query = select(Worker).order_by(Worker.started_at.desc()).limit(limit)
    return list((await session.execute(query)).scalars())
