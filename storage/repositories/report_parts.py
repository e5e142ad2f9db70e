"""The week of a report read in parts, on several connections at once, and the parts merged.

A week of a million posts costs seconds of one core per step (copying it into the temporary table, grouping
by author, joining the mentions). The work splits cleanly by author (`report_data.Part`: author id modulo the
number of parts): each part holds whole authors with all their posts, so every figure of the report adds up
across parts: posts and sums per cell, unique authors and their followers per slice, new authors, a
merchant's posts and unique authors; the top posts are the best of each part's best. Each part runs on its
own connection (on SQLite, aiosqlite gives each connection its own thread, and SQLite releases the GIL while
it works; on PostgreSQL each is a backend of its own), so two cores do a part each.

All parts must read the same data. On PostgreSQL the first connection exports its snapshot (REPEATABLE READ)
and the others import it: the parts are exactly one consistent view. SQLite cannot share a snapshot between
connections; its parts begin their read transactions together (each one snapshot for the whole report), and
a post committed in the instant between two of them is counted in its author's part or not at all, never
twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import heapq
import os
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.repositories import report_data as repo
from storage.repositories.report_data import DiscoveredRow, GroupRow, MerchantRow, Part, PostRow, ReachRow, WeekRows

MAX_PARTS = 8


def default_parts() -> int:
    """One part per core this process may use, at most 4 (beyond that the copies of the week's index range
    that every part scans cost more than the split saves)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


@dataclass(frozen=True)
class WeekPart:
    """What the report reads of the week's posts (all of it, or one part's share)."""

    posts: int
    rows: WeekRows
    merchants: list[MerchantRow]
    discovered: list[DiscoveredRow]
    top_posts: list[PostRow]


async def read_part(
    session: AsyncSession,
    campaign_id: int,
    day_starts: Sequence[datetime],
    languages: Sequence[str],
    top: int,
    part: Part = repo.WHOLE,
) -> WeekPart:
    """The week (of `part`) through the temporary table, dropped again before returning. `top` = 0 reads
    the headline material only (grouped rows, reach, new authors), as the previous week's comparison needs."""
    start, end = day_starts[0], day_starts[7]
    posts = await repo.load_week(session, campaign_id, day_starts, languages, part)
    try:
        rows = await repo.week_rows(session, campaign_id, start, languages)
        merchants, discovered = await repo.week_mentions(session, start, end) if top else ([], [])
        best = await repo.top_posts(session, top) if top else []
    finally:
        await repo.drop_week(session)
    return WeekPart(posts, rows, merchants, discovered, best)


@contextlib.asynccontextmanager
async def consistent_sessions(
    sessions: async_sessionmaker[AsyncSession], count: int
) -> AsyncIterator[list[AsyncSession]]:
    """`count` sessions, each in a transaction, reading the same snapshot of the database (see the module's
    docstring for SQLite); the first is the caller's for its other reads. Rolled back at the end: nothing
    here writes."""
    async with contextlib.AsyncExitStack() as stack:
        opened = [await stack.enter_async_context(sessions()) for _ in range(max(1, min(count, MAX_PARTS)))]
        if opened[0].get_bind().dialect.name == "postgresql":
            await _share_snapshot(opened)
            yield opened
            return
        for session in opened:
            await repo.tune(session, len(opened))
            # Python's sqlite3 runs a SELECT outside any transaction (a snapshot per statement): BEGIN
            # explicitly, then read once, so that every connection's snapshot starts now, together.
            await (await session.connection()).exec_driver_sql("BEGIN")
        await asyncio.gather(*(s.execute(text("SELECT count(*) FROM campaigns")) for s in opened))
        try:
            yield opened
        finally:
            for session in opened:
                await session.rollback()
                await repo.untune(session)
            _trim()


def _trim() -> None:
    """SQLite gave back the week's cache pages, but to the C allocator of the connections' threads, which
    keeps them: hand them back to the system (glibc's malloc_trim; elsewhere nothing to do)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


async def _share_snapshot(opened: Sequence[AsyncSession]) -> None:
    """PostgreSQL: the first session exports its snapshot, the others import it (REPEATABLE READ)."""
    first = opened[0]
    await first.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    snapshot = (await first.execute(text("SELECT pg_export_snapshot()"))).scalar_one()
    for other in opened[1:]:
        await other.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        # Must be the transaction's first statement; the id comes from the server, not from a user.
        await other.execute(text(f"SET TRANSACTION SNAPSHOT '{snapshot}'"))


async def read_week(
    opened: Sequence[AsyncSession], campaign_id: int, day_starts: Sequence[datetime], languages: Sequence[str], top: int
) -> WeekPart:
    """The whole week, read in one part per session at once and merged."""
    if len(opened) == 1:
        return await read_part(opened[0], campaign_id, day_starts, languages, top)
    parts = await asyncio.gather(
        *(
            read_part(session, campaign_id, day_starts, languages, top, Part(index, len(opened)))
            for index, session in enumerate(opened)
        )
    )
    return merge(parts, top)


# Merging (pure).


Row = TypeVar("Row", GroupRow, ReachRow, MerchantRow, DiscoveredRow)


def _add(rows: Iterable[Row], key: Sequence[str], keep: Sequence[str] = ()) -> list[Row]:
    """Rows with equal `key` fields summed into one (fields in `keep`, like a name, are taken from the first
    row; every other field is a count or a sum)."""
    merged: dict[tuple[object, ...], Row] = {}
    for row in rows:
        k = tuple(getattr(row, name) for name in key)
        seen = merged.get(k)
        if seen is None:
            merged[k] = row
            continue
        summed = {
            f.name: getattr(seen, f.name) + getattr(row, f.name)
            for f in fields(row)
            if f.name not in key and f.name not in keep
        }
        merged[k] = replace(seen, **summed)
    return list(merged.values())


def merge_rows(parts: Sequence[WeekRows]) -> WeekRows:
    groups = _add((g for p in parts for g in p.groups), ("day", "platform", "kind", "language", "sentiment"))
    reach = {
        scope: _add((r for p in parts for r in p.reach.get(scope, [])), ("key",))
        for scope in sorted({s for p in parts for s in p.reach})
    }
    new_authors: dict[str, int] = {}
    for p in parts:
        for platform, n in p.new_authors.items():
            new_authors[platform] = new_authors.get(platform, 0) + n
    return WeekRows(groups=groups, reach=reach, new_authors=new_authors)


def merge(parts: Sequence[WeekPart], top: int) -> WeekPart:
    """One WeekPart from parts that split the week by author."""
    merchants = _add((m for p in parts for m in p.merchants), ("merchant_id",), ("name", "city", "region"))
    discovered = _add((d for p in parts for d in p.discovered), ("discovered_id",), ("name", "first_seen_at", "status"))
    # The same order as report_data.top_posts: engagements descending, then post id.
    best = heapq.nsmallest(top, (r for p in parts for r in p.top_posts), key=lambda r: (-r.engagements, r.post_id))
    return WeekPart(sum(p.posts for p in parts), merge_rows([p.rows for p in parts]), merchants, discovered, best)
