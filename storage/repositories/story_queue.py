"""The read side of the queue: one page of stories for the curators' list and API.

Fast at any size because the page is chosen on the stories table alone, then joined, in one statement:

1. Filters and sorts use the columns copied onto stories (state, score, platform, language, sentiment,
   merchant, post date), and every stream is read in its order from an index that covers them all, so only
   `offset + limit` entries per stream are read, however many stories match. With no state filter, each
   campaign is one stream: (campaign_id, score, ...) or (campaign_id, post_created_at, ...). With a state
   filter, each (campaign, state) pair is one: (campaign_id, state, score, ...) or (campaign_id, state,
   post_created_at, ...). Several streams are UNIONed and merged. A merchant filter reads the merchant's
   stories state by state from the (merchant_id, state, score, ...) index, which covers the same columns.
2. Posts, authors and merchants are joined for those ids only; the duplicate counts come from an index on
   stories (original_story_id) for those ids only (without that index each row of a page scans stories).
3. The total is counted up to `COUNT_CAP + 1` matching rows in all and no further (the states' ranges are read
   one after the other until the cap): `QueuePage.total` is exact up to
   1,000; above, it is 1,001 and `QueuePage.capped` / `total_label` ("1,000+") say so. A curator needs
   "more than a thousand" (twenty pages), not the exact figure; counting further costs a page more than
   everything else together once a filter (language, sentiment, platform) is not an index column.

Measured on SQLite with 1,000,000 posts and stories (2 cores, one thread, warm, the host in a slow phase):
the benchmark's mix of filters and sorts averages 1.3 ms per page, rows built; the default page of a
campaign (every state, by score) costs 0.6 ms in SQLite and 0.13 ms more to build its rows. Before the
every-state streams (migration 0009) the mix averaged 2.7-3.3 ms at the same speed: a page over every state
merged seven per-state streams, reading seven times the rows it showed. Sorting by engagement (likes +
reposts + replies + quotes, which stories do not carry) reads the posts of every matching story and grows
with the queue. A filter value that matches almost nothing in a campaign (Arabic in a French campaign)
reads the campaign's whole range, 40-70 ms at that size: the web app reads such a page off its event loop
(storage.sqlite_reader).

Two ways in, the same statements: `queue_page` in an AsyncSession (PostgreSQL, scripts, tests) and
`queue_page_sqlite` on a plain sqlite3 connection, which the web app runs on a reader thread
(storage.sqlite_reader) so that a page crosses threads once.

Duplicates and reposts grouped under an original were created rejected; they show in the queue when rejected
stories are asked for, with `original_story_id` set, and `story_detail` (storage.repositories.story_detail)
lists them under their original.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal, NamedTuple

from sqlalchemy import BindParameter, ColumnElement, Integer, Select, bindparam, func, select, union_all
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import (
    Author,
    Campaign,
    Merchant,
    Post,
    Story,
)
from storage.repositories.story_states import StoryState, parse_state
from storage.types import as_utc

COUNT_CAP = 1_000
MAX_LIMIT = 500
Sort = Literal["score", "newest", "oldest", "engagement"]
SORTS: tuple[str, ...] = ("score", "newest", "oldest", "engagement")


@dataclass(frozen=True)
class QueueFilters:
    campaign_id: int | None = None
    states: tuple[str, ...] = ()  # empty: every state
    language: str | None = None
    sentiment: str | None = None
    platform: str | None = None
    merchant_id: int | None = None
    since: datetime | None = None  # post created at or after
    until: datetime | None = None  # post created before
    min_score: float | None = None
    max_score: float | None = None
    sort: Sort = "score"


class QueueRow(NamedTuple):
    """One story of a queue page. A named tuple, not a dataclass: a page builds fifty of them on the web
    app's hot path, and a tuple is made in a fraction of the time a frozen dataclass's __init__ takes."""

    story_id: int
    campaign_id: int
    state: str
    score: float
    post_id: int
    platform: str
    url: str | None
    text: str
    author_handle: str
    author_name: str
    followers: int | None
    language: str
    sentiment: str
    merchant_id: int | None
    merchant_name: str | None
    post_created_at: datetime
    likes: int | None
    reposts: int | None
    replies: int | None
    has_media: bool
    duplicate_count: int
    original_story_id: int | None = None  # set on a duplicate or repost grouped under its original


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    total: int  # exact up to COUNT_CAP; COUNT_CAP + 1 means "more"

    @property
    def capped(self) -> bool:
        return self.total > COUNT_CAP

    @property
    def total_label(self) -> str:
        return f"{COUNT_CAP:,}+" if self.capped else f"{self.total:,}"


# --- statements: one per shape of filters, built once, values bound at execution -----------------------------

_OPTIONAL: dict[str, Any] = {
    "language": lambda: Story.language == bindparam("language"),
    "sentiment": lambda: Story.sentiment == bindparam("sentiment"),
    "platform": lambda: Story.platform == bindparam("platform"),
    "merchant_id": lambda: Story.merchant_id == bindparam("merchant_id"),
    "since": lambda: Story.post_created_at >= bindparam("since", type_=Story.post_created_at.type),
    "until": lambda: Story.post_created_at < bindparam("until", type_=Story.post_created_at.type),
    "min_score": lambda: Story.score >= bindparam("min_score"),
    "max_score": lambda: Story.score <= bindparam("max_score"),
}


@dataclass(frozen=True)
class _Shape:
    """What decides a statement's structure (the values are bound parameters)."""

    campaigns: int
    states: int  # 0: every state, read as one stream per campaign with no state condition
    optional: tuple[str, ...]  # the optional filters that are set
    sort: str


def _shape(filters: QueueFilters, campaigns: Sequence[int], states: Sequence[str]) -> _Shape:
    present = tuple(name for name in _OPTIONAL if getattr(filters, name) not in (None, ""))
    return _Shape(len(campaigns), len(states), present, filters.sort)


def _params(
    filters: QueueFilters, campaigns: Sequence[int], states: Sequence[str], limit: int, offset: int
) -> dict[str, Any]:
    params: dict[str, Any] = {
        name: getattr(filters, name) for name in _OPTIONAL if getattr(filters, name) not in (None, "")
    }
    params.update({f"c{i}": c for i, c in enumerate(campaigns)})
    params.update({f"s{i}": s for i, s in enumerate(states)})
    params.update(rows=offset + limit, limit=limit, offset=offset)
    return params


def _conditions(shape: _Shape, campaign: int) -> list[ColumnElement[bool]]:
    """The campaign and the optional filters. With a merchant filter, the campaign is compared as
    `campaign_id + 0`, which no index serves: the planner then reads the merchant's few stories on the
    (merchant_id, state, ...) index instead of scanning a campaign's whole queue for them."""
    column: Any = Story.campaign_id + 0 if "merchant_id" in shape.optional else Story.campaign_id
    return [column == bindparam(f"c{campaign}"), *(_OPTIONAL[name]() for name in shape.optional)]


_ENGAGEMENT = (
    func.coalesce(Post.likes, 0) + func.coalesce(Post.reposts, 0) + func.coalesce(Post.replies, 0)
) + func.coalesce(Post.quotes, 0)


def _order(key: Any, tie: Any, sort: str) -> tuple[Any, Any]:
    return (key.asc(), tie.asc()) if sort == "oldest" else (key.desc(), tie.desc())


def _stream(shape: _Shape, campaign: int, states: Sequence[int]) -> Select[int, Any]:
    """One index-ordered stream: the ids (and sort key) of the matching stories of one campaign, in the given
    states (none given: every state, no condition)."""
    where = _conditions(shape, campaign)
    marks: list[BindParameter[str]] = [bindparam(f"s{i}") for i in states]
    if marks:
        where.append(Story.state == marks[0] if len(marks) == 1 else Story.state.in_(marks))
    key: Any = {"score": Story.score, "engagement": _ENGAGEMENT}.get(shape.sort, Story.post_created_at)
    query = select(Story.id.label("id"), key.label("k")).where(*where).order_by(*_order(key, Story.id, shape.sort))
    # By engagement the key is on the posts, so no index returns the stream in order.
    engaged = shape.sort == "engagement"
    query = query.join(Post, Post.id == Story.post_id) if engaged else _on_queue_index(query, shape)
    return query.limit(bindparam("rows", type_=Integer))


def _page(shape: _Shape) -> Select[int, Any]:
    """The page's (id, sort key) rows, in order: one stream, or the streams merged. Every state of a campaign
    is one index range already in order: (campaign_id, score) by score, (campaign_id, post_created_at) by
    date. A state filter reads each (campaign, state) pair as its own range of the per-state indexes; by
    engagement, one stream per campaign joined to the posts."""
    all_states = list(range(shape.states))
    if shape.sort != "engagement" and shape.states:
        streams = [_stream(shape, c, [s]) for c in range(shape.campaigns) for s in all_states]
    else:
        streams = [_stream(shape, c, all_states) for c in range(shape.campaigns)]
    limit, offset = bindparam("limit", type_=Integer), bindparam("offset", type_=Integer)
    if len(streams) == 1:
        return streams[0].limit(limit).offset(offset)
    # Each LIMITed stream is its own subquery: SQLite refuses a LIMIT inside a bare UNION member.
    merged = union_all(*(select(s.subquery()) for s in streams)).subquery()
    return (
        select(merged.c.id, merged.c.k)
        .order_by(*_order(merged.c.k, merged.c.id, shape.sort))
        .limit(limit)
        .offset(offset)
    )


def _capped_count(shape: _Shape) -> Select[int]:
    """Matching stories, counted up to COUNT_CAP + 1: one LIMITed, unordered part per (campaign, state) or,
    for every state, per campaign, each a range of a covering index."""
    counted = replace(shape, sort="score")  # any order will do: read the score indexes
    parts = [
        _on_queue_index(select(Story.id).where(*_conditions(shape, c), *_state_is(s)), counted)
        .limit(COUNT_CAP + 1)
        .subquery()
        for c in range(shape.campaigns)
        for s in (range(shape.states) if shape.states else [None])
    ]
    if len(parts) == 1:
        return select(func.count()).select_from(parts[0])
    # The cap applies to the sum too: the parts are read one after the other and the reading stops at the
    # cap, instead of counting up to the cap in every state.
    merged = union_all(*(select(p.c.id) for p in parts)).subquery()
    return select(func.count()).select_from(select(merged.c.id).limit(COUNT_CAP + 1).subquery())


def _state_is(state: int | None) -> list[ColumnElement[bool]]:
    return [] if state is None else [Story.state == bindparam(f"s{state}")]


# The index each stream reads, by (merchant filter, per state, sort); every one covers the filter columns.
_INDEXES = {
    (True, True, "score"): "ix_stories_merchant_queue",
    (True, True, "date"): "ix_stories_merchant_queue",  # a merchant's few stories, sorted
    (False, True, "score"): "ix_stories_queue",
    (False, True, "date"): "ix_stories_queue_dated",
    (False, False, "score"): "ix_stories_ranked",
    (False, False, "date"): "ix_stories_dated",
}


def _on_queue_index(query: Select[Any], shape: _Shape) -> Select[Any]:
    """Read the stream's range of the covering index that returns it in order (`_INDEXES`; a merchant filter
    reads `ix_stories_merchant_queue`, state by state), whatever the filters: SQLite's planner would otherwise
    pick a date index for a date range and sort a third of the campaign (700 ms
    at 1,000,000 stories) instead of reading the first matches in score order (a few ms). PostgreSQL plans
    from its statistics and gets no hint."""
    merchant = "merchant_id" in shape.optional
    key = (merchant, merchant or shape.states > 0, "score" if shape.sort == "score" else "date")
    return query.with_hint(Story, f"INDEXED BY {_INDEXES[key]}", dialect_name="sqlite")


def _validate(filters: QueueFilters, limit: int, offset: int) -> None:
    for state in filters.states:
        parse_state(state)
    if filters.sort not in SORTS:
        raise ValueError(f"unknown sort {filters.sort!r} (one of: {', '.join(SORTS)})")
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    if offset < 0:
        raise ValueError(f"offset must be 0 or more, got {offset}")


_grouped = aliased(Story)
# On the stories (original_story_id) index: a few index entries per row of the page.
_DUPLICATES = select(func.count()).where(_grouped.original_story_id == Story.id).correlate(Story).scalar_subquery()
_ROW = (
    Story.id, Story.campaign_id, Story.state, Story.score, Story.post_id, Story.platform, Post.url, Post.text,
    Author.handle, Author.display_name, Author.followers, Story.language, Story.sentiment, Story.merchant_id,
    Merchant.name, Story.post_created_at, Post.likes, Post.reposts, Post.replies, Post.media, _DUPLICATES,
    Story.original_story_id,
)  # fmt: skip


def _queue_row(r: Any, when: Any = None) -> QueueRow:
    """A QueueRow from a result row (the columns of `_ROW`, in its order); `when` converts the driver's post
    date (the raw fast path)."""
    media = r[19]
    return QueueRow(
        r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9] or "", r[10], r[11], r[12], r[13], r[14],
        when(r[15]) if when else r[15], r[16], r[17], r[18],
        # raw rows carry the JSON text of the media list
        media not in ("[]", "null", "") if isinstance(media, str) else bool(media),
        int(r[20] or 0), r[21],
    )  # fmt: skip


def _with_post(query: Select[Any]) -> Select[Any]:
    return (
        query.join(Post, Post.id == Story.post_id)
        .join(Author, Author.id == Post.author_id)
        .outerjoin(Merchant, Merchant.id == Story.merchant_id)
    )


async def queue_rows(session: AsyncSession, ids: Sequence[int]) -> list[QueueRow]:
    """The queue rows of these stories, in the order given."""
    if not ids:
        return []
    conn = await session.connection()
    result = await conn.execute(_with_post(select(*_ROW).where(Story.id.in_(list(ids)))))
    by_id = {row.story_id: row for row in map(_queue_row, result.all())}
    return [by_id[i] for i in ids if i in by_id]


@lru_cache(maxsize=256)
def _statements(shape: _Shape) -> tuple[Select[Any], Select[int]]:
    """The page statement (rows with the duplicate counts and the capped total) and the count alone."""
    page = _page(shape).subquery("page")
    total = _capped_count(shape)
    query = _with_post(select(*_ROW, total.scalar_subquery()).select_from(page).join(Story, Story.id == page.c.id))
    return query.order_by(*_order(page.c.k, page.c.id, shape.sort)), total


@dataclass(frozen=True)
class _Compiled:
    """A statement compiled once for a dialect: its SQL, parameter names in order, and fixed values."""

    sql: str
    names: tuple[str, ...]
    fixed: dict[str, Any]
    bind: dict[str, Any]  # parameter name -> the driver conversion its value needs
    when: Any  # the driver's post date -> aware UTC datetime


_COMPILED: dict[tuple[_Shape, str, bool], _Compiled] = {}


class _HintingSQLiteCompiler(SQLiteCompiler):
    def get_from_hint_text(self, table: Any, text: str | None) -> str | None:
        return text


def _compiled(shape: _Shape, dialect: Dialect, count_only: bool) -> _Compiled:
    key = (shape, dialect.name, count_only)
    found = _COMPILED.get(key)
    if found is None:
        page, count = _statements(shape)
        statement = count if count_only else page
        # SQLAlchemy's SQLite compiler drops table hints; ours writes them (`_on_queue_index`).
        compiled = (
            _HintingSQLiteCompiler(dialect, statement)
            if dialect.name == "sqlite"
            else statement.compile(dialect=dialect)
        )
        date_type = Story.post_created_at.type.dialect_impl(dialect)
        dates = date_type.bind_processor(dialect)
        bind = dict.fromkeys(("since", "until"), dates) if dates else {}
        when = _sqlite_moment if dialect.name == "sqlite" else date_type.result_processor(dialect, None)
        found = _Compiled(str(compiled), tuple(compiled.positiontup or ()), dict(compiled.params), bind, when)
        _COMPILED[key] = found
    return found


def _sqlite_moment(value: str | None) -> datetime | None:
    """A stored SQLite date as an aware UTC datetime, as `UTCDateTime` gives it: the same answer as the
    type's own result processing (a regular expression, then the decorator) in a tenth of the time, which
    counts fifty times a page. The column holds the naive UTC text `UTCDateTime` writes."""
    return None if value is None else as_utc(datetime.fromisoformat(value))


def _values(statement: _Compiled, params: dict[str, Any]) -> list[Any]:
    """The statement's positional parameters, converted as the driver needs them."""
    values = []
    for name in statement.names:
        value = params[name] if name in params else statement.fixed[name]
        convert = statement.bind.get(name)
        values.append(convert(value) if convert and value is not None else value)
    return values


async def _fetch(session: AsyncSession, statement: _Compiled, params: dict[str, Any]) -> list[Any]:
    """Run a compiled statement on the session's connection, skipping SQLAlchemy's per-execution work (cache
    key, result processing): a page is a hot path. SQLite reads go straight to aiosqlite (one thread hop
    with the rows), inside the session's transaction."""
    values = _values(statement, params)
    conn = await session.connection()
    if conn.dialect.name == "sqlite":
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        return list(await raw.execute_fetchall(statement.sql, values))
    return list((await conn.exec_driver_sql(statement.sql, tuple(values))).all())


@dataclass(frozen=True)
class _Plan:
    """One page's statements and bound values, decided before anything is read."""

    page: _Compiled
    count: _Compiled  # the capped total alone, for a page past the last
    params: dict[str, Any]
    offset: int


def _plan(filters: QueueFilters, campaigns: Sequence[int], dialect: Dialect, limit: int, offset: int) -> _Plan:
    every = [s.value for s in StoryState]
    states = list(dict.fromkeys(filters.states))
    if set(states) == set(every):
        states = []  # every state: no condition, one stream per campaign
    if not states and filters.merchant_id is not None:
        states = every  # a merchant's stories are read state by state (`ix_stories_merchant_queue`)
    shape = _shape(filters, campaigns, states)
    params = _params(filters, campaigns, states, limit, offset)
    return _Plan(_compiled(shape, dialect, False), _compiled(shape, dialect, True), params, offset)


def _total(plan: _Plan, rows: list[Any]) -> int | None:
    """The capped total, which every row of a page carries; None past the last page (count it alone)."""
    if rows:
        return min(int(rows[0][-1]), COUNT_CAP + 1)
    return 0 if plan.offset == 0 else None


def _counted(rows: Sequence[Any]) -> int:
    return min(int(rows[0][0] or 0), COUNT_CAP + 1)


async def queue_page(session: AsyncSession, filters: QueueFilters, *, limit: int = 50, offset: int = 0) -> QueuePage:
    """One page of the queue (see the module notes for why it stays fast); ValueError on a bad filter.

    One statement: the page's ids from the index-ordered streams, joined to their posts, authors and
    merchants, with the duplicate counts and the capped total as subqueries. Statements are built and
    compiled once per shape of filters (which filters are set, how many campaigns and states, the sort) and
    dialect, and run on the driver, which keeps the Python side of a page to a fraction of a millisecond.
    On SQLite the web app reads through `queue_page_sqlite` instead (the same statements, one thread hop)."""
    _validate(filters, limit, offset)
    if filters.campaign_id is not None:
        campaigns = [filters.campaign_id]
    else:
        campaigns = list((await session.scalars(select(Campaign.id).order_by(Campaign.id))).all())
    if not campaigns:
        return QueuePage([], 0)
    plan = _plan(filters, campaigns, session.get_bind().dialect, limit, offset)
    rows = await _fetch(session, plan.page, plan.params)
    total = _total(plan, rows)
    if total is None:
        total = _counted(await _fetch(session, plan.count, plan.params))
    return QueuePage([_queue_row(r, plan.page.when) for r in rows], total)


_CAMPAIGNS = "SELECT id FROM campaigns ORDER BY id"


def queue_page_sqlite(
    conn: sqlite3.Connection, dialect: Dialect, filters: QueueFilters, *, limit: int = 50, offset: int = 0
) -> QueuePage:
    """`queue_page` on a plain sqlite3 connection in autocommit mode (storage.sqlite_reader), for a reader
    thread: the same statements and rows, every statement in one read transaction (one snapshot)."""
    _validate(filters, limit, offset)
    conn.execute("BEGIN")
    try:
        if filters.campaign_id is not None:
            campaigns = [filters.campaign_id]
        else:
            campaigns = [row[0] for row in conn.execute(_CAMPAIGNS)]
        if not campaigns:
            return QueuePage([], 0)
        plan = _plan(filters, campaigns, dialect, limit, offset)
        rows = conn.execute(plan.page.sql, _values(plan.page, plan.params)).fetchall()
        total = _total(plan, rows)
        if total is None:
            total = _counted(conn.execute(plan.count.sql, _values(plan.count, plan.params)).fetchall())
    finally:
        conn.execute("COMMIT")  # nothing was written: this only ends the snapshot
    return QueuePage([_queue_row(r, plan.page.when) for r in rows], total)
