"""Exactly one active scheduler per database, however many processes could be one.

PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) held on a dedicated connection; if the
process dies or the connection drops, the server releases it and a standby takes over. SQLite (one machine):
an exclusive `flock` on a file beside the database, released by the kernel when the process dies.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

# A fixed 64-bit key for "the campaign-listener scheduler" (any constant works; this one is ASCII "clsched").
ADVISORY_KEY = 0x636C7363686564


class SchedulerLock:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._conn: AsyncConnection | None = None
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._conn is not None or self._fd is not None

    async def try_acquire(self) -> bool:
        if self.held:
            return True
        if self._engine.dialect.name == "postgresql":
            conn = await self._engine.connect()
            try:
                got = await conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY})
                await conn.commit()  # the lock is session-level: it outlives the transaction
            except BaseException:
                await conn.close()
                raise
            if got:
                self._conn = conn
                return True
            await conn.close()
            return False
        fd = os.open(_lock_path(self._engine), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    async def still_held(self) -> bool:
        """False when the lock was lost (PostgreSQL connection gone): the scheduler must stand down."""
        if self._conn is None:
            return self._fd is not None
        try:
            await self._conn.scalar(text("SELECT 1"))
            await self._conn.commit()
        except (SQLAlchemyError, OSError) as exc:
            log.error("the scheduler lock's connection was lost (%s); standing down", exc)
            await self._drop_connection()
            return False
        return True

    async def release(self) -> None:
        if self._conn is not None:
            try:
                await self._conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY})
                await self._conn.commit()
            except (SQLAlchemyError, OSError):
                pass  # closing the connection releases it anyway
            await self._drop_connection()
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.close()
            except (SQLAlchemyError, OSError):
                await conn.invalidate()


def _lock_path(engine: AsyncEngine) -> Path:
    database = make_url(str(engine.url)).database
    if not database or database == ":memory:":
        raise RuntimeError("an in-memory SQLite database cannot be shared by processes: nothing to lock")
    return Path(database).with_name(Path(database).name + ".scheduler-lock")
