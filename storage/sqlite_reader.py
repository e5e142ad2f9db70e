"""Read-only SQLite connections on threads of their own, for the web app's hottest read (the queue page).

Why: through an AsyncSession over aiosqlite, one queue page crossed threads three times (the statement, the
rollback when the session closed, and the campaigns when none was chosen), each crossing a queue put, a
thread wake-up and a wake-up of the event loop, plus SQLAlchemy's session and greenlet bridging around
them. Profiled at 1,000,000 stories and 32 clients, that overhead was a third of the event loop's busy
time. A `SqliteReader` runs a whole read, every statement of it and the conversion of its rows, as one
plain function on one of its threads: one crossing per page.

Each thread owns one connection, opened on first use: autocommit (the function opens a read transaction
when it needs one snapshot for several statements), `query_only` so that a bug cannot write through it, the
same busy timeout as the engine's connections. The connections read what is committed, as the sessions do
(WAL). PostgreSQL needs none of this: asyncpg is asynchronous already, so there is no reader for it.

Threads and connections are created on first use, never at construction, so a pre-fork parent that built
its services and closed them hands no thread or open file to its children.

In a process that is one of several web processes sharing the cores (`listener serve --processes N`), the
thread crossing is pure overhead: every core already runs an event loop. There `inline(budget)` makes reads
run on the event loop's own thread, on a connection of their own, for at most `budget` seconds of SQLite
work: a read still running then is interrupted (a progress handler) and run again on a reader thread, so a
slow read (a rare filter value that scans a whole queue) never holds the loop for longer than the budget.
Measured at 1,000,000 posts with 2 processes: a quarter less server CPU per queue page.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from storage.engine import SQLITE_BUSY_TIMEOUT_MS, sqlite_path

T = TypeVar("T")

# Two threads per process: SQLite releases the interpreter lock while it reads, so two reads overlap on two
# cores; more threads only queue for the lock to build their rows (measured: 3 served the queue no better).
THREADS = 2
# What a read may hold an event loop for: a queue page takes 0.5-2.5 ms of SQLite work at 1,000,000 stories.
INLINE_BUDGET_SECONDS = 0.01
_PROGRESS_STEPS = 1_000  # SQLite instructions between two looks at the clock (a few microseconds)
# Each reader connection's page cache, in KiB (SQLite's default is 2,000 KiB). A queue page reads ~150 pages
# scattered over the posts, authors and stories; with 2 MB most of them came back through a read() system
# call and a copy on every page. Measured at 1,000,000 posts, the benchmark's mix interleaved on two
# connections: 14-16 % less CPU per page with 16 MB, 5 % more with 128 MB. Private memory, filled as pages are
# read: at most 16 MB per connection, three per web process.
CACHE_KIB = 16_384


class _OverBudget(Exception):
    """An inline read ran past its budget and was interrupted."""


class SqliteReader:
    def __init__(self, path: Path, threads: int = THREADS) -> None:
        self._path = path
        self._threads = threads
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._executor: ThreadPoolExecutor | None = None
        self._closed = False
        self._budget = 0.0  # > 0: reads start inline (see the module notes)

    def inline(self, budget_seconds: float) -> None:
        """Run reads on the calling thread first, each for at most `budget_seconds` of SQLite work."""
        self._budget = budget_seconds

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            # check_same_thread=False only so that close() can close it from the closing thread once every
            # reader thread has ended; while they live, each connection is used by its own thread alone.
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA query_only=ON")
            conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
            with self._lock:
                self._connections.append(conn)
            self._local.conn = conn
        return conn

    def _call_within(self, fn: Callable[[sqlite3.Connection], T], budget: float) -> T:
        conn = self._connection()
        deadline = time.perf_counter() + budget
        over = False

        def check() -> int:
            nonlocal over
            over = over or time.perf_counter() > deadline
            return 1 if over else 0  # non-zero interrupts the statement

        conn.set_progress_handler(check, _PROGRESS_STEPS)
        try:
            return self._call(fn)
        except sqlite3.OperationalError:
            if over:
                raise _OverBudget from None
            raise
        finally:
            conn.set_progress_handler(None, 0)

    def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._connection()
        try:
            return fn(conn)
        finally:
            if conn.in_transaction:  # the function failed inside its read transaction: end it
                conn.rollback()

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """`fn(connection)` on a reader thread (first inline, after `inline()`); its result or its exception."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the SQLite reader is closed")
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self._threads, thread_name_prefix="sqlite-reader")
            executor = self._executor
        if self._budget > 0:
            try:
                return self._call_within(fn, self._budget)
            except _OverBudget:
                pass  # too long for the loop's thread: again, on a reader thread
        return await asyncio.get_running_loop().run_in_executor(executor, self._call, fn)

    def close(self) -> None:
        """Wait for the reads under way, then close every connection; later reads are refused."""
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()


def reader_for(database_url: str) -> SqliteReader | None:
    """A reader for a SQLite file; None for PostgreSQL and in-memory SQLite (a memory database is private to
    the connection that made it, so other connections would not see its tables)."""
    path = sqlite_path(database_url)
    return None if path is None else SqliteReader(path)
