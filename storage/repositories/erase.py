"""Erasing posts and everything derived from them: the one code path behind `listener privacy forget`, the
retention purge and posts deleted upstream, so that each of them removes exactly the same things.

A post goes with its campaign matches, engagement snapshots, analysis, mentions (the discovered-business
counts they contributed are counted down, and a pending discovered name left with no mention goes too),
stories with their transitions and rights requests (and any rights request whose evidence is the post), and
every row of a later table that references the post or its stories (found through the schema's foreign
keys, so a table added by another part of the service is covered without changes here).

Reposts carry the reposted text (X: "RT @author: ..."; Mastodon: the whole original in `reblog`), so the
reposts of an erased post are erased with it; quotes are the quoting person's own words and stay, without
the embedded original (`raw`) and without the link to it.

Stored reports keep per-post and per-author rows; every such row carries `post_key` / `author_key`
("platform:platform id"), and `redact_report` drops them wherever they sit in the report's JSON.

All functions work in the caller's transaction; batch sizes are the caller's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, CursorResult, Table, case, delete, func, null, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Analysis,
    Base,
    DiscoveredBusiness,
    EngagementSnapshot,
    Mention,
    Post,
    PostCampaign,
    Report,
    RightsRequest,
    Story,
    StoryTransition,
)
from storage.repositories._sql import chunks

# Bound parameters per IN list: far below SQLite's 32766 and asyncpg's 32767, whatever the batch size.
_IN = 500
# Tables this module deletes from by name, in this order; any other table referencing posts or stories is
# found through its foreign key (`_referencing`).
KNOWN = frozenset(
    {
        "post_campaigns",
        "engagement_snapshots",
        "analyses",
        "mentions",
        "stories",
        "story_transitions",
        "rights_requests",
        "posts",
    }
)


def post_key(platform: str, platform_id: str) -> str:
    """The key a stored report gives a row derived from this post."""
    return f"{platform}:{platform_id}"


author_key = post_key  # same shape: "<platform>:<author platform id>"


@dataclass
class Erased:
    """What an erasure removed: rows per table, and the keys of the erased posts (for the reports)."""

    counts: Counter[str] = field(default_factory=Counter)
    post_keys: set[str] = field(default_factory=set)
    author_ids: set[int] = field(default_factory=set)  # authors of the erased posts (reposts' included)

    def add(self, other: Erased) -> None:
        self.counts.update(other.counts)
        self.post_keys |= other.post_keys
        self.author_ids |= other.author_ids


def _rows(result: Any) -> int:
    count: int = result.rowcount if isinstance(result, CursorResult) else 0
    return max(count, 0)


async def _delete_in(session: AsyncSession, column: Any, ids: Collection[int]) -> int:
    total = 0
    for part in chunks(sorted(ids), _IN):
        total += _rows(await session.execute(delete(column.table).where(column.in_(part))))
    return total


def _referencing(target: str) -> list[tuple[Table, Column[Any]]]:
    """Columns of tables outside KNOWN whose foreign key on `target` cascades deletes."""
    found = []
    for table in Base.metadata.sorted_tables:
        if table.name in KNOWN:
            continue
        for fk in table.foreign_keys:
            if fk.column.table.name == target and (fk.ondelete or "").upper() == "CASCADE":
                found.append((table, fk.parent))
    return found


async def _delete_referencing(session: AsyncSession, target: str, ids: Collection[int], counts: Counter[str]) -> None:
    for table, column in _referencing(target):
        for part in chunks(sorted(ids), _IN):
            counts[table.name] += _rows(await session.execute(delete(table).where(column.in_(part))))


async def _with_reposts(session: AsyncSession, post_ids: Iterable[int]) -> tuple[dict[int, tuple[str, str]], set[int]]:
    """id -> (platform, platform id) for the posts and, transitively, the reposts of them; and their authors."""
    found: dict[int, tuple[str, str]] = {}
    authors: set[int] = set()
    pending = set(post_ids)
    while pending:
        fresh: dict[int, tuple[str, str]] = {}
        for part in chunks(sorted(pending), _IN):
            rows = await session.execute(
                select(Post.id, Post.platform, Post.platform_id, Post.author_id).where(Post.id.in_(part))
            )
            for i, p, pid, author in rows.all():
                fresh[int(i)] = (str(p), str(pid))
                authors.add(int(author))
        found.update(fresh)
        pending = set()
        for platform, pids in _by_platform(fresh.values()).items():
            for pid_part in chunks(pids, _IN):
                reposts = await session.scalars(
                    select(Post.id).where(Post.platform == platform, Post.repost_of_id.in_(pid_part))
                )
                pending.update(int(i) for i in reposts if int(i) not in found)
    return found, authors


def _by_platform(keys: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for platform, platform_id in keys:
        grouped.setdefault(platform, []).append(platform_id)
    return grouped


async def _count_down_discovered(session: AsyncSession, post_ids: Collection[int]) -> set[int]:
    """Take the mentions of these posts off their discovered names' counts; returns the names touched."""
    per_name: Counter[int] = Counter()
    for part in chunks(sorted(post_ids), _IN):
        rows = await session.execute(
            select(Mention.discovered_id, func.count())
            .where(Mention.post_id.in_(part), Mention.discovered_id.is_not(None))
            .group_by(Mention.discovered_id)
        )
        per_name.update({int(d): int(n) for d, n in rows.all() if d is not None})
    for discovered_id, n in per_name.items():
        await session.execute(
            update(DiscoveredBusiness)
            .where(DiscoveredBusiness.id == discovered_id)
            .values(
                mention_count=case(
                    (DiscoveredBusiness.mention_count > n, DiscoveredBusiness.mention_count - n), else_=0
                )
            )
        )
    return set(per_name)


async def _drop_unmentioned(session: AsyncSession, discovered_ids: Collection[int]) -> int:
    """A pending discovered name nobody mentions any more existed only because of the erased posts."""
    if not discovered_ids:
        return 0
    still = select(Mention.id).where(Mention.discovered_id == DiscoveredBusiness.id).exists()
    total = 0
    for part in chunks(sorted(discovered_ids), _IN):
        total += _rows(
            await session.execute(
                delete(DiscoveredBusiness).where(
                    DiscoveredBusiness.id.in_(part), DiscoveredBusiness.status == "pending", ~still
                )
            )
        )
    return total


async def strip_quotes(session: AsyncSession, keys: Iterable[tuple[str, str]]) -> int:
    """Quotes of these posts keep their own words, not the embedded original nor the link to it. (`null()`:
    SQL NULL, not the JSON null a bare None would store, so that "has a payload" stays `raw IS NOT NULL`.)"""
    total = 0
    for platform, pids in _by_platform(keys).items():
        for part in chunks(pids, _IN):
            total += _rows(
                await session.execute(
                    update(Post)
                    .where(Post.platform == platform, Post.quote_of_id.in_(part))
                    .values(raw=null(), quote_of_id=None)
                )
            )
    return total


async def erase_posts(session: AsyncSession, post_ids: Iterable[int]) -> Erased:
    """Delete these posts, their reposts and everything derived from them; strip the quotes of them."""
    posts, authors = await _with_reposts(session, post_ids)
    erased = Erased(post_keys={post_key(p, pid) for p, pid in posts.values()}, author_ids=authors)
    if not posts:
        return erased
    counts = erased.counts
    ids = set(posts)
    counts["quotes_stripped"] += await strip_quotes(session, posts.values())
    story_ids: set[int] = set()
    for part in chunks(sorted(ids), _IN):
        story_ids.update(int(s) for s in (await session.scalars(select(Story.id).where(Story.post_id.in_(part)))))
    touched = await _count_down_discovered(session, ids)
    if story_ids:
        await _delete_referencing(session, "stories", story_ids, counts)
        counts["rights_requests"] += await _delete_in(session, RightsRequest.story_id, story_ids)
        counts["story_transitions"] += await _delete_in(session, StoryTransition.story_id, story_ids)
        for part in chunks(sorted(story_ids), _IN):  # duplicates grouped under an erased story stand alone
            await session.execute(update(Story).where(Story.original_story_id.in_(part)).values(original_story_id=None))
    counts["rights_requests"] += await _delete_in(session, RightsRequest.evidence_post_id, ids)
    counts["stories"] += await _delete_in(session, Story.post_id, ids)
    await _delete_referencing(session, "mentions", await _mention_ids(session, ids), counts)
    counts["mentions"] += await _delete_in(session, Mention.post_id, ids)
    counts["analyses"] += await _delete_in(session, Analysis.post_id, ids)
    counts["engagement_snapshots"] += await _delete_in(session, EngagementSnapshot.post_id, ids)
    counts["post_campaigns"] += await _delete_in(session, PostCampaign.post_id, ids)
    await _delete_referencing(session, "posts", ids, counts)
    counts["posts"] += await _delete_in(session, Post.id, ids)
    counts["discovered_businesses"] += await _drop_unmentioned(session, touched)
    return erased


async def _mention_ids(session: AsyncSession, post_ids: Collection[int]) -> set[int]:
    if not _referencing("mentions"):
        return set()
    found: set[int] = set()
    for part in chunks(sorted(post_ids), _IN):
        found.update(int(i) for i in await session.scalars(select(Mention.id).where(Mention.post_id.in_(part))))
    return found


# --- stored reports ----------------------------------------------------------------------------------------


def redact_report(data: Any, author_keys: Collection[str], post_keys: Collection[str]) -> tuple[Any, int]:
    """The report's JSON without the rows (objects in lists, at any depth) whose `author_key` or `post_key`
    is one of the given ones; and how many rows went. Figures are not recomputed: a report states what was
    true when it was made, less the erased people."""
    if isinstance(data, list):
        kept: list[Any] = []
        removed = 0
        for item in data:
            if isinstance(item, dict) and (item.get("author_key") in author_keys or item.get("post_key") in post_keys):
                removed += 1
                continue
            clean, n = redact_report(item, author_keys, post_keys)
            kept.append(clean)
            removed += n
        return kept, removed
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        removed = 0
        for key, value in data.items():
            out[key], n = redact_report(value, author_keys, post_keys)
            removed += n
        return out, removed
    return data, 0


async def redact_reports(session: AsyncSession, author_keys: Collection[str], post_keys: Collection[str]) -> int:
    """Drop the erased authors' and posts' rows from every stored report; `data["redactions"]` counts the rows
    a report lost. Returns the rows removed."""
    if not author_keys and not post_keys:
        return 0
    authors, posts = frozenset(author_keys), frozenset(post_keys)
    total = 0
    last = 0
    while True:  # report by report: a report's JSON can be large
        row = (
            await session.execute(select(Report.id, Report.data).where(Report.id > last).order_by(Report.id).limit(1))
        ).first()
        if row is None:
            return total
        last, data = int(row[0]), row[1]
        clean, removed = redact_report(data, authors, posts)
        if removed and isinstance(clean, dict):
            clean["redactions"] = int(clean.get("redactions") or 0) + removed
            await session.execute(update(Report).where(Report.id == last).values(data=clean))
            total += removed
