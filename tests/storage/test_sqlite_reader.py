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
from storage.sqlite_reader import CACHE_KIB, SqliteReader, reader_for


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


async def test_a_reader_connection_keeps_a_page_cache_of_its_size(reader: SqliteReader) -> None:
    size = await reader.run(lambda conn: conn.execute("PRAGMA cache_size").fetchone()[0])
    assert size == -CACHE_KIB  # negative: KiB, whatever the page size


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


# A read that runs as long as SQLite is let run: it counts to ten million, one row at a time.
_SLOW = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000000) SELECT max(i) FROM n"


async def test_inline_reads_run_on_the_calling_thread(reader: SqliteReader) -> None:
    reader.inline(1.0)
    assert await reader.run(lambda conn: threading.current_thread() is threading.main_thread())
    assert await reader.run(_campaign_count) == 0


async def test_an_inline_read_over_its_budget_is_run_again_on_a_reader_thread(reader: SqliteReader) -> None:
    reader.inline(0.002)
    ran_on: list[str] = []

    def slow(conn: sqlite3.Connection) -> int:
        ran_on.append(threading.current_thread().name)
        conn.execute("BEGIN")
        return int(conn.execute(_SLOW).fetchone()[0])

    assert await reader.run(slow) == 10_000_000  # the whole answer, from the second run
    assert ran_on[0] == threading.main_thread().name
    assert ran_on[1].startswith("sqlite-reader")
    assert len(ran_on) == 2
    # the loop thread's connection was left clean: no snapshot open, no handler left to interrupt the next
    assert await reader.run(
        lambda conn: (threading.current_thread() is threading.main_thread(), conn.in_transaction)
    ) == (True, False)


async def test_an_inline_read_that_fails_by_itself_is_not_run_again(reader: SqliteReader) -> None:
    reader.inline(1.0)
    calls = 0

    def broken(conn: sqlite3.Connection) -> None:
        nonlocal calls
        calls += 1
        conn.execute("SELECT * FROM no_such_table")

    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        await reader.run(broken)
    assert calls == 1
