"""Engines and sessions for SQLite (embedded default) and PostgreSQL (to scale).

SQLite is tuned once per connection: WAL so readers never block the single writer, foreign keys on
(SQLite leaves them off), NORMAL sync (durable with WAL, far faster than FULL) and a busy timeout so a
second process waits instead of failing at once.

SQLite savepoints need one more hook: Python's sqlite3 driver (and aiosqlite on top of it) only emits BEGIN
before INSERT/UPDATE/DELETE, so a SAVEPOINT issued first would open the transaction itself and its RELEASE
would commit: per-row savepoints (the merchant import) would commit every row, and a rollback of the
enclosing transaction (`--dry-run`) would undo nothing. We emit the BEGIN ourselves before such a SAVEPOINT.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


class DatabaseError(Exception):
    """The database cannot be used as configured; the message names the fix."""


# How long a SQLite connection waits for another process's lock before failing (every connection we open).
SQLITE_BUSY_TIMEOUT_MS = 10_000


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def _sqlite_begin_before_savepoint(conn: Connection, _name: str | None) -> None:
    if not conn.connection.driver_connection.in_transaction:  # type: ignore[union-attr]
        conn.exec_driver_sql("BEGIN")


def sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """Build the async engine for `url`; creates the SQLite file's folder when it does not exist."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        path = sqlite_path(url)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseError(
                    f"cannot create the data directory {path.parent}: {exc.strerror} "
                    "(set LISTENER_DATA_DIR to a writable folder)"
                ) from None
        # A fixed pool of 5 connections, kept open: past that, a request waits for one. SQLAlchemy's default
        # (5 kept, 10 more opened and closed on demand) made every request beyond five open a connection (a
        # thread, the schema parsed, a cold cache), and more queries at once than a couple per core only
        # contend: on 2 cores, 32 clients on the queue API were served as fast with 5 as with 8 or 20 (and
        # every kept connection holds its own cache and prepared statements: memory).
        engine = create_async_engine(url, echo=echo, pool_size=5, max_overflow=0)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "savepoint", _sqlite_begin_before_savepoint)
        return engine
    if backend == "postgresql":
        return create_async_engine(url, echo=echo, pool_size=10, max_overflow=10, pool_pre_ping=True)
    raise DatabaseError(f"unsupported database {backend!r}: use sqlite+aiosqlite:// or postgresql+asyncpg://")


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: objects stay readable after the caller's transaction commits.
    return async_sessionmaker(engine, expire_on_commit=False)


def redact_url(url: str) -> str:
    """The URL with any password masked, for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)
