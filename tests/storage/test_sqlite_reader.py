"""The SQLite reader (storage.sqlite_reader): reads on its own threads, never writes, never holds a snapshot
after a read, sees what sessions commit, and refuses work once closed."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from service.settings import default_campaigns
from storage.engine import create_engine, make_sessionmaker
from storage.repositories.campaigns import sync_campaigns
from storage.sqlite_reader import SqliteReader, reader_for


@pytest.fixture
async def reader(sqlite_url: str) -> AsyncIterator[SqliteReader]:
    found = reader_for(sqlite_url)
    assert found is not None
    yield found
    found.close()


async def _add_campaigns(url: str) -> None:
    """The two default campaigns, committed by a session as the service writes."""
    engine = create_engine(url)
    async with make_sessionmaker(engine).begin() as session:
        await sync_campaigns(session, default_campaigns())
    await engine.dispose()


def _campaign_count(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM campaigns").fetchone()[0])


async def test_reads_run_on_reader_threads_and_see_committed_writes(sqlite_url: str, reader: SqliteReader) -> None:
    assert await reader.run(lambda conn: threading.current_thread().name.startswith("sqlite-reader"))
    assert await reader.run(_campaign_count) == 0
    await _add_campaigns(sqlite_url)
    assert await reader.run(_campaign_count) == 2


async def test_a_reader_connection_cannot_write(reader: SqliteReader) -> None:
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        await reader.run(lambda conn: conn.execute("DELETE FROM campaigns"))


async def test_a_failed_read_leaves_no_snapshot_open(sqlite_url: str, reader: SqliteReader) -> None:
    """A read that fails inside its transaction must end it: a connection left in a read transaction would
    serve every later read from the old snapshot (and keep the WAL from being checkpointed)."""

    def fail_in_transaction(conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN")
        _campaign_count(conn)
        raise LookupError("boom")

    for _ in range(4):  # more calls than threads: every thread's connection has failed once
        with pytest.raises(LookupError):
            await reader.run(fail_in_transaction)
    await _add_campaigns(sqlite_url)
    for _ in range(4):
        assert await reader.run(lambda conn: (conn.in_transaction, _campaign_count(conn))) == (False, 2)


async def test_a_closed_reader_refuses_work(reader: SqliteReader) -> None:
    await reader.run(_campaign_count)
    reader.close()
    with pytest.raises(RuntimeError, match="closed"):
        await reader.run(_campaign_count)


def test_only_sqlite_files_get_a_reader(tmp_path: Path) -> None:
    assert reader_for("sqlite+aiosqlite:///:memory:") is None
    assert reader_for("postgresql+asyncpg://u@127.0.0.1/db") is None
    assert isinstance(reader_for(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"), SqliteReader)
