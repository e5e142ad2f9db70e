"""The SQL behind the weekly report: a campaign's week reduced to small grouped rows, in the database.

A week can hold a million posts, so nothing here loads them into Python. The week's posts are copied once
into a narrow temporary table of integers (post, author, local day, codes of platform, kind, language and
sentiment, followers, and the figures of the latest engagement snapshot taken no later than the week's end);
every figure is then one GROUP BY over that table. Text never leaves the disk (posts' text and raw payloads
are not even read), and the group keys are integers: on SQLite, which sorts to group, grouping by one integer
`cell` (day, platform, kind, language, sentiment packed together) is several times faster than by five text
columns. The pure aggregation (jobs/reporting/metrics.py) turns these rows into the report. The week can be
read in parts that split it by author (`Part`), several at once on their own connections
(report_parts.py).

Engine-specific spots, all for speed: the join order on SQLite (which has no statistics), the latest
snapshot per post (a correlated index descent on SQLite, LATERAL on PostgreSQL), memory for the one
transaction (SQLite's cache and temp store, PostgreSQL's work_mem and temp_buffers), PostgreSQL's ANALYZE of
the temporary table and no JIT. Everything runs in the caller's session; the temporary table is dropped at
the end. Context that does not depend on the week's posts (stories, coverage, the previous week's mentions) is
in report_context.py.
"""

# ruff: noqa: S608 - the SQL below is assembled from constant fragments (table names, CASE of bound
# parameters); every value is a bound parameter.
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import TextClause

from listener.post import Platform, PostKind
from storage.types import UTCDateTime

WEEK = "report_week_posts"
# Instagram's hashtag search names no author: such posts are stored under one "unknown:<media id>" author
# each (listener/parsers/instagram.py), which must not count as people.
UNKNOWN_AUTHOR = "unknown:%"
# Codes of the temporary table (0: none or unknown). Languages are coded from the caller's list; a language
# outside it (an old analysis of a language no longer configured) is UNLISTED.
PLATFORMS = tuple(p.value for p in Platform)
KINDS = tuple(k.value for k in PostKind)
SENTIMENTS = ("positive", "neutral", "negative")
UNLISTED = "unlisted"
_LANGUAGE_CODES = 31  # codes 1..30 for listed languages, 31 for any other


@dataclass(frozen=True)
class GroupRow:
    """Posts of one (day, platform, kind, language, sentiment) cell, with their summed figures."""

    day: int  # 0 = Monday, local time
    platform: str
    kind: str  # original, repost, reply, quote
    language: str | None  # None: not analysed yet
    sentiment: str | None
    posts: int
    unidentified: int  # posts whose author the platform did not give
    followers_sum: int  # followers of each post's author, summed per post
    followers_known: int  # posts whose author's follower count is known
    engagement_posts: int  # posts with a snapshot taken by the week's end
    likes: int
    reposts: int
    replies: int
    quotes: int
    views_posts: int  # posts whose platform reported views (X impression_count)
    views: int


@dataclass(frozen=True)
class ReachRow:
    """Unique identified authors of one slice of the week (a platform, a language, a day, or all)."""

    key: str
    authors: int
    followers_sum: int  # each author once
    followers_known: int  # authors whose follower count is known


@dataclass(frozen=True)
class PostRow:
    post_id: int
    platform: str
    platform_id: str
    url: str | None
    text: str
    created_at: datetime
    kind: str
    author_id: int
    author_platform_id: str
    handle: str
    followers: int | None
    language: str | None
    sentiment: str | None
    engagements: int
    likes: int | None
    reposts: int | None
    replies: int | None
    quotes: int | None
    views: int | None


@dataclass(frozen=True)
class MerchantRow:
    merchant_id: int
    name: str
    city: str | None
    region: str | None
    posts: int
    negative: int
    positive: int
    authors: int


@dataclass(frozen=True)
class DiscoveredRow:
    discovered_id: int
    name: str
    first_seen_at: datetime
    status: str
    posts: int


@dataclass(frozen=True)
class WeekRows:
    groups: list[GroupRow]
    reach: dict[str, list[ReachRow]]  # "all", "platform", "language", "day"
    new_authors: dict[str, int]  # per platform


def times(clause: TextClause, *names: str) -> TextClause:
    return clause.bindparams(*(bindparam(n, type_=UTCDateTime()) for n in names))


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def _code(column: str, values: Sequence[str], *, bound: str | None = None, other: int = 0) -> str:
    """CASE mapping `column`'s values to 1, 2, ... (NULL and others to 0 or `other`). Constants are inlined
    (ours: platform, kind and sentiment names); `bound` binds them as parameters `<bound>0`, `<bound>1` ..."""
    if not values:
        return f"CASE WHEN {column} IS NULL THEN 0 ELSE {other} END"
    whens = " ".join(
        f"WHEN :{bound}{i} THEN {i + 1}" if bound else f"WHEN '{value}' THEN {i + 1}" for i, value in enumerate(values)
    )
    return f"CASE WHEN {column} IS NULL THEN 0 ELSE CASE {column} {whens} ELSE {other} END END"


def _day_case(column: str) -> str:
    # The local days' UTC boundaries are bound parameters: exact in every time zone, DST weeks included.
    whens = " ".join(f"WHEN {column} < :d{i} THEN {i - 1}" for i in range(1, 7))
    return f"CASE {whens} ELSE 6 END"


def _cell(day: str, platform: str, kind: str, language: str, sentiment: str) -> str:
    """One integer per (day, platform, kind, language, sentiment): see `decode_cell`."""
    return f"(((({day}) * 8 + ({platform})) * 8 + ({kind})) * 32 + ({language})) * 4 + ({sentiment})"


def decode_cell(cell: int, languages: Sequence[str]) -> tuple[int, str, str, str | None, str | None]:
    cell, sentiment = divmod(cell, 4)
    cell, language = divmod(cell, 32)
    day, rest = divmod(cell, 64)
    platform, kind = divmod(rest, 8)

    def name(values: Sequence[str], code: int) -> str:
        return values[code - 1] if 0 < code <= len(values) else "other"

    lang = None if language == 0 else (languages[language - 1] if language <= len(languages) else UNLISTED)
    return day, name(PLATFORMS, platform), name(KINDS, kind), lang, SENTIMENTS[sentiment - 1] if sentiment else None


# SQLite, for the report's connections only (`tune`, `untune`): the temporary table in memory, and a cache
# large enough for one scan of a week's index ranges instead of the default 2 MB, shared out between the
# parts that read at once (no memory map: each connection would map the same pages again, and a process's
# resident memory counts every mapping).
_SQLITE_CACHE_KB = 131_072
_SQLITE_DEFAULTS = ("PRAGMA temp_store = DEFAULT", "PRAGMA cache_size = -2000")

# SQLite: the latest snapshot's row id by one descent of the (post_id, taken_at) index per post, then its
# figures by row id. PostgreSQL: the same as a LATERAL subquery.
_LATEST_SQLITE = (
    "LEFT JOIN engagement_snapshots e ON e.id = (SELECT s.id FROM engagement_snapshots s "
    "WHERE s.post_id = p.id AND s.taken_at <= :end ORDER BY s.taken_at DESC LIMIT 1)"
)
_LATEST_POSTGRES = (
    "LEFT JOIN LATERAL (SELECT s.id, s.likes, s.reposts, s.replies, s.quotes, s.views FROM engagement_snapshots s "
    "WHERE s.post_id = p.id AND s.taken_at <= :end ORDER BY s.taken_at DESC LIMIT 1) e ON true"
)


async def _drop(session: AsyncSession) -> None:
    await session.execute(text(f"DROP TABLE IF EXISTS {WEEK}"))


@dataclass(frozen=True)
class Part:
    """One share of the week's posts: those whose author id is `index` modulo `count`. Every figure of the
    report adds up across parts (an author, with all their posts, is in exactly one), so the parts can be
    read on separate connections at once and merged (storage/repositories/report_parts.py)."""

    index: int = 0
    count: int = 1


WHOLE = Part()


async def load_week(
    session: AsyncSession,
    campaign_id: int,
    day_starts: Sequence[datetime],
    languages: Sequence[str],
    part: Part = WHOLE,
) -> int:
    """Copy the campaign's posts of [day_starts[0], day_starts[7]) (of `part` only) into the temporary table,
    one row of integers per post with its latest engagement snapshot's figures; returns how many posts.
    `languages`: the language codes to tell apart (at most 30; the caller decodes with the same list).

    Call `drop_week` when done (on PostgreSQL a rollback removes the table too)."""
    await _drop(session)
    postgres = _dialect(session) == "postgresql"
    if postgres:
        # For this transaction only: the hash joins and sorts of a week fit in memory instead of spilling.
        await session.execute(text("SET LOCAL work_mem = '256MB'"))
        # The temporary table lives in this backend's local buffers (8 MB by default: a week's million rows
        # would go through temporary files); honoured only before the session's first temporary table.
        await session.execute(text("SET LOCAL temp_buffers = '256MB'"))
        # A report's plan is a few scans and joins: compiling it (JIT) costs more than it saves.
        await session.execute(text("SET LOCAL jit = off"))
    languages = list(languages)[: _LANGUAGE_CODES - 1]
    params: dict[str, Any] = {"campaign": campaign_id, "start": day_starts[0], "end": day_starts[7]}
    params |= {f"d{i}": day_starts[i] for i in range(1, 7)}
    params |= {f"lang{i}": language for i, language in enumerate(languages)}
    # The author id is in the covering index the week is read from: other parts' posts are skipped before
    # any join.
    share = ""
    if part.count > 1:
        share = " AND p.author_id % :parts = :part"
        params |= {"parts": part.count, "part": part.index}
    day = _day_case("p.created_at")
    platform, kind = _code("p.platform", PLATFORMS), _code("p.kind", KINDS)
    language = _code("an.language", languages, bound="lang", other=_LANGUAGE_CODES)
    sentiment = _code("an.sentiment", SENTIMENTS)
    # SQLite: CROSS JOIN fixes the join order (its planner has no statistics and would otherwise walk every post
    # the campaign ever had): the week's range of the covering (created_at, author_id, platform, kind) index.
    join = "JOIN" if postgres else "CROSS JOIN"
    week = times(
        text(
            f"CREATE TEMPORARY TABLE {WEEK} AS "
            f"SELECT p.id AS post_id, p.author_id, {day} AS day, {platform} AS platform, {language} AS lang, "
            f"{kind} AS kind, {sentiment} AS sentiment, au.followers, "
            f"CASE WHEN au.platform_id LIKE '{UNKNOWN_AUTHOR}' THEN 0 ELSE 1 END AS identified, "
            "e.id AS snapshot, e.likes, e.reposts, e.replies, e.quotes, e.views "
            f"FROM posts p {join} post_campaigns pc ON pc.post_id = p.id AND pc.campaign_id = :campaign "
            "JOIN authors au ON au.id = p.author_id LEFT JOIN analyses an ON an.post_id = p.id "
            f"{_LATEST_POSTGRES if postgres else _LATEST_SQLITE} "
            f"WHERE p.created_at >= :start AND p.created_at < :end{share}"
        ),
        "start",
        "end",
        *(f"d{i}" for i in range(1, 7)),
    )
    await session.execute(week, params)
    if postgres:
        await session.execute(text(f"ANALYZE {WEEK}"))  # temporary tables never get statistics otherwise
    return int((await session.execute(text(f"SELECT count(*) FROM {WEEK}"))).scalar_one())


async def drop_week(session: AsyncSession) -> None:
    await _drop(session)


async def tune(session: AsyncSession, parts: int = 1) -> None:
    """SQLite: memory for the report on this connection, one of `parts` reading at once (`untune` restores
    the defaults). Outside any transaction: SQLite refuses to move temporary storage inside one."""
    if _dialect(session) != "postgresql":
        await session.execute(text("PRAGMA temp_store = MEMORY"))
        await session.execute(text(f"PRAGMA cache_size = -{_SQLITE_CACHE_KB // max(1, parts)}"))


async def untune(session: AsyncSession) -> None:
    if _dialect(session) != "postgresql":
        for pragma in _SQLITE_DEFAULTS:
            await session.execute(text(pragma))


async def week_groups(session: AsyncSession, languages: Sequence[str]) -> list[GroupRow]:
    rows = await session.execute(
        text(
            f"SELECT {_cell('day', 'platform', 'kind', 'lang', 'sentiment')} AS cell, count(*), sum(1 - identified), "
            "COALESCE(sum(followers), 0), count(followers), "
            "count(snapshot), COALESCE(sum(likes), 0), COALESCE(sum(reposts), 0), COALESCE(sum(replies), 0), "
            f"COALESCE(sum(quotes), 0), count(views), COALESCE(sum(views), 0) FROM {WEEK} GROUP BY cell"
        )
    )
    # PostgreSQL sums bigints as numeric (Decimal): the figures are whole numbers, made int here.
    return [GroupRow(*decode_cell(int(r[0]), languages), *(int(v) for v in r[1:])) for r in rows.all()]


async def week_authors(
    session: AsyncSession, campaign_id: int, start: datetime, languages: Sequence[str]
) -> tuple[dict[str, list[ReachRow]], dict[str, int]]:
    """Unique identified authors and their followers, each author once, per platform, per language and per
    day, and the new authors per platform (no campaign post before the week), in one pass: the week's posts
    grouped by author (one sort of integers), the author's days and languages as bit sets
    (`sum(DISTINCT 1 << code)`), then counted per platform.

    An author belongs to one platform, so the platforms add up to the week; an author who posted on two days
    counts once in each."""
    columns = ["count(*)", "COALESCE(sum(followers), 0)", "count(followers)"]
    # CROSS JOIN keeps SQLite's planner on (author_id, created_at) → the post_campaigns key, per author;
    # PostgreSQL treats it as a plain join and plans it itself.
    columns.append(
        "sum(CASE WHEN NOT EXISTS (SELECT 1 FROM posts p CROSS JOIN post_campaigns pc WHERE pc.post_id = p.id "
        "AND pc.campaign_id = :campaign AND p.author_id = a.author_id AND p.created_at < :start) THEN 1 ELSE 0 END)"
    )
    languages = list(languages)[: _LANGUAGE_CODES - 1]
    # The language codes that can occur: none (not analysed), the listed ones, any other. Three sums per
    # slice and author, so only these (the other codes of the 32-bit set would be summed for nothing).
    codes = [0, *range(1, len(languages) + 1), _LANGUAGE_CODES]
    for field, bits in (("days", range(7)), ("langs", codes)):
        for i in bits:
            has = f"(a.{field} & {1 << i}) > 0"
            columns += [
                f"sum(CASE WHEN {has} THEN 1 ELSE 0 END)",
                f"COALESCE(sum(CASE WHEN {has} THEN followers END), 0)",
                f"sum(CASE WHEN {has} AND followers IS NOT NULL THEN 1 ELSE 0 END)",
            ]
    query = times(
        text(
            f"SELECT a.platform, {', '.join(columns)} FROM "
            "(SELECT author_id, max(platform) AS platform, max(followers) AS followers, "
            "sum(DISTINCT 1 << day) AS days, sum(DISTINCT 1 << lang) AS langs "
            f"FROM {WEEK} WHERE identified = 1 GROUP BY author_id) a GROUP BY a.platform"
        ),
        "start",
    )
    rows = (await session.execute(query, {"campaign": campaign_id, "start": start})).all()
    reach: dict[str, list[ReachRow]] = {"platform": [], "day": [], "language": []}
    new_authors: dict[str, int] = {}
    slices = [[0, 0, 0] for _ in range(7 + len(codes))]
    for row in rows:
        code, n, followers, known, fresh, *rest = (int(v) for v in row)
        platform = PLATFORMS[code - 1] if 0 < code <= len(PLATFORMS) else "other"
        reach["platform"].append(ReachRow(platform, n, followers, known))
        new_authors[platform] = fresh
        for i, figures in enumerate(slices):
            for j in range(3):
                figures[j] += rest[3 * i + j]
    reach["day"] = [ReachRow(str(i), *slices[i]) for i in range(7) if slices[i][0]]
    for slot, code in enumerate(codes):
        figures = slices[7 + slot]
        if figures[0]:
            name = "" if code == 0 else (languages[code - 1] if code <= len(languages) else UNLISTED)
            reach["language"].append(ReachRow(name, *figures))
    return reach, new_authors


async def week_rows(session: AsyncSession, campaign_id: int, start: datetime, languages: Sequence[str]) -> WeekRows:
    """The headline material of the loaded week: grouped posts, reach per slice, new authors."""
    groups = await week_groups(session, languages)
    reach, new_authors = await week_authors(session, campaign_id, start, languages)
    everyone = ReachRow(
        "all",
        sum(r.authors for r in reach["platform"]),
        sum(r.followers_sum for r in reach["platform"]),
        sum(r.followers_known for r in reach["platform"]),
    )
    return WeekRows(groups=groups, reach={"all": [everyone], **reach}, new_authors=new_authors)


_ENGAGEMENTS = "COALESCE(w.likes, 0) + COALESCE(w.reposts, 0) + COALESCE(w.replies, 0) + COALESCE(w.quotes, 0)"


async def top_posts(session: AsyncSession, limit: int) -> list[PostRow]:
    """The loaded week's posts with the most engagements (latest snapshot by the week's end)."""
    top = await session.execute(
        text(
            f"SELECT w.post_id, {_ENGAGEMENTS} AS engagements FROM {WEEK} w "
            "WHERE w.snapshot IS NOT NULL ORDER BY engagements DESC, w.post_id LIMIT :limit"
        ),
        {"limit": limit},
    )
    order = [int(post_id) for post_id, _ in top.all()]
    if not order:
        return []
    rows = await session.execute(
        text(
            "SELECT p.id, p.platform, p.platform_id, p.url, p.text, p.created_at, p.kind, au.id, au.platform_id, "
            f"au.handle, au.followers, an.language, an.sentiment, {_ENGAGEMENTS}, "
            "w.likes, w.reposts, w.replies, w.quotes, w.views "
            f"FROM {WEEK} w JOIN posts p ON p.id = w.post_id JOIN authors au ON au.id = p.author_id "
            "LEFT JOIN analyses an ON an.post_id = p.id WHERE w.post_id IN :ids"
        ).bindparams(bindparam("ids", expanding=True)),
        {"ids": order},
    )
    by_id: dict[int, PostRow] = {}
    for row in rows.all():
        values = list(row)
        values[5] = aware(values[5])
        by_id[int(values[0])] = PostRow(*values)
    return [by_id[i] for i in order if i in by_id]


def aware(value: Any) -> datetime:
    """A timestamp read through text(): SQLite gives naive UTC text, PostgreSQL an aware datetime."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


async def week_mentions(
    session: AsyncSession, start: datetime, end: datetime
) -> tuple[list[MerchantRow], list[DiscoveredRow]]:
    """One pass over the loaded week's mentions: registered merchants (posts, one per post and merchant;
    negative and positive ones; unique authors) and businesses absent from the registry first seen during
    the week (their posts)."""
    negative, positive = SENTIMENTS.index("negative") + 1, SENTIMENTS.index("positive") + 1
    rows = await session.execute(
        text(
            "SELECT agg.merchant_id, agg.discovered_id, agg.posts, agg.negative, agg.positive, agg.authors, "
            "m.name, m.city, m.region, d.display_name, d.first_seen_at, d.status FROM "
            # A post naming a business twice (two spans, two methods) counts once: distinct pairs first.
            "(SELECT x.merchant_id, x.discovered_id, count(*) AS posts, "
            f"sum(CASE WHEN x.sentiment = {negative} THEN 1 ELSE 0 END) AS negative, "
            f"sum(CASE WHEN x.sentiment = {positive} THEN 1 ELSE 0 END) AS positive, "
            "count(DISTINCT x.author_id) AS authors FROM "
            "(SELECT DISTINCT me.merchant_id, me.discovered_id, w.post_id, w.sentiment, w.author_id "
            f"FROM {WEEK} w JOIN mentions me ON me.post_id = w.post_id) x "
            "GROUP BY x.merchant_id, x.discovered_id) agg "
            "LEFT JOIN merchants m ON m.id = agg.merchant_id "
            "LEFT JOIN discovered_businesses d ON d.id = agg.discovered_id"
        )
    )
    merchants: list[MerchantRow] = []
    discovered: list[DiscoveredRow] = []
    for merchant_id, discovered_id, posts, neg, pos, authors, *names in rows.all():
        name, city, region, display_name, first_seen, status = names
        if merchant_id is not None and name is not None:
            merchants.append(
                MerchantRow(int(merchant_id), str(name), city, region, int(posts), int(neg), int(pos), int(authors))
            )
        elif discovered_id is not None and first_seen is not None:
            seen = aware(first_seen)
            if start <= seen < end:
                discovered.append(DiscoveredRow(int(discovered_id), str(display_name), seen, str(status), int(posts)))
    return merchants, discovered
