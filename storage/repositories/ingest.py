"""Idempotent bulk ingest of `Post` records, with the checkpoint that follows them, in the caller's transaction.

The contract collectors rely on: a page of posts and the checkpoint *after* that page are written together
or not at all (the job owns the transaction), so a crash between pages resumes from the last committed
page and loses nothing. The same batch ingested twice changes nothing: posts are unique per platform and
platform id; an existing post is only updated when its metrics (or edited text) changed, and each change
is kept as an engagement snapshot.

Rows are written set-wise (multi-row INSERT ... ON CONFLICT, executemany UPDATE): per-row ORM flushes are
tens of times slower and ingest is on the hot path.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from listener.post import Post
from storage.models import Author as AuthorRow
from storage.models import Checkpoint, EngagementSnapshot, PostCampaign
from storage.models import Post as PostRow
from storage.repositories._sql import chunks, upsert_insert, utcnow

# SQLite allows 32766 bound parameters per statement; posts have ~28 columns.
_CHUNK = 500


@dataclass(frozen=True)
class CheckpointUpdate:
    """Where the source resumes after this batch, saved in the same transaction as the batch."""

    source_id: int
    campaign_id: int
    query_key: str
    position: dict[str, Any]


@dataclass
class IngestCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    new_ids: list[int] = field(default_factory=list)

    def __iadd__(self, other: IngestCounts) -> IngestCounts:
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.new_ids.extend(other.new_ids)
        return self

    @property
    def total(self) -> int:
        return self.new + self.updated + self.unchanged


_METRICS = ("likes", "reposts", "replies", "quotes", "views")


def _author_row(post: Post, now: datetime) -> dict[str, Any]:
    a = post.author
    return {
        "platform": post.platform.value,
        "platform_id": a.platform_id,
        "handle": a.handle,
        "display_name": a.display_name,
        "followers": a.followers,
        "verified": a.verified,
        "url": a.url,
        "first_seen_at": now,
        "updated_at": now,
    }


def _post_row(post: Post, author_id: int, now: datetime) -> dict[str, Any]:
    m = post.metrics
    return {
        "platform": post.platform.value,
        "platform_id": post.platform_id,
        "author_id": author_id,
        "url": post.url,
        "text": post.text,
        "created_at": post.created_at,
        "collected_at": now,
        "updated_at": now,
        "language_hint": post.language_hint,
        "kind": post.kind.value,
        "hashtags": list(post.hashtags),
        "mentions": list(post.mentions),
        "urls": list(post.urls),
        "media": [{"kind": md.kind, "url": md.url, "alt_text": md.alt_text} for md in post.media],
        "reply_to_id": post.reply_to_id,
        "repost_of_id": post.repost_of_id,
        "quote_of_id": post.quote_of_id,
        "likes": m.likes,
        "reposts": m.reposts,
        "replies": m.replies,
        "quotes": m.quotes,
        "views": m.views,
        "query": post.query,
        "raw": post.raw,
        "analysed_at": None,
        "lease_until": None,
    }


def _dedupe(posts: Iterable[Post]) -> tuple[list[Post], int]:
    """Keep the last occurrence of each (platform, id): a later copy in a page carries fresher metrics."""
    latest: dict[tuple[str, str], Post] = {}
    count = 0
    for post in posts:
        latest[(post.platform.value, post.platform_id)] = post
        count += 1
    return list(latest.values()), count - len(latest)


async def _upsert_authors(session: AsyncSession, posts: Sequence[Post], now: datetime) -> dict[tuple[str, str], int]:
    table: Table = AuthorRow.__table__  # type: ignore[assignment]
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for post in posts:
        rows[(post.platform.value, post.author.platform_id)] = _author_row(post, now)
    ids: dict[tuple[str, str], int] = {}
    for chunk in chunks(list(rows.values()), _CHUNK):
        stmt = upsert_insert(session, table)
        excluded = stmt.excluded
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.c.platform, table.c.platform_id],
            set_={
                "handle": excluded.handle,
                "display_name": excluded.display_name,
                # A payload without follower counts must not erase the last known figure.
                "followers": func.coalesce(excluded.followers, table.c.followers),
                "verified": func.coalesce(excluded.verified, table.c.verified),
                "url": func.coalesce(excluded.url, table.c.url),
                "updated_at": excluded.updated_at,
            },
        ).returning(table.c.id, table.c.platform, table.c.platform_id)
        result = await session.execute(stmt.values(list(chunk)))
        for author_id, platform, platform_id in result:
            ids[(platform, platform_id)] = author_id
    return ids


async def _existing_posts(
    session: AsyncSession, posts: Sequence[Post]
) -> dict[tuple[str, str], tuple[int, str, tuple[int | None, ...]]]:
    by_platform: dict[str, list[str]] = {}
    for post in posts:
        by_platform.setdefault(post.platform.value, []).append(post.platform_id)
    found: dict[tuple[str, str], tuple[int, str, tuple[int | None, ...]]] = {}
    for platform, ids in by_platform.items():
        for chunk in chunks(ids, _CHUNK):
            result = await session.execute(
                select(
                    PostRow.id,
                    PostRow.platform_id,
                    PostRow.text,
                    *(getattr(PostRow, m) for m in _METRICS),
                ).where(PostRow.platform == platform, PostRow.platform_id.in_(chunk))
            )
            for row in result:
                found[(platform, row[1])] = (row[0], row[2], tuple(row[3:]))
    return found


def _merged_metrics(old: tuple[int | None, ...], new: tuple[int | None, ...]) -> tuple[int | None, ...]:
    # A metric the platform stopped reporting keeps its last known value.
    return tuple(n if n is not None else o for o, n in zip(old, new, strict=True))


async def ingest(
    session: AsyncSession,
    posts: Iterable[Post],
    *,
    campaign_ids: Sequence[int] = (),
    checkpoint: CheckpointUpdate | None = None,
    now: datetime | None = None,
) -> IngestCounts:
    """Store `posts` (new, updated or unchanged), link them to `campaign_ids`, save `checkpoint`.

    Runs inside the caller's transaction and commits nothing: the caller commits the page and its
    checkpoint together.
    """
    now = now or utcnow()
    batch, duplicates = _dedupe(posts)
    counts = IngestCounts(unchanged=duplicates)
    if batch:
        author_ids = await _upsert_authors(session, batch, now)
        existing = await _existing_posts(session, batch)
        fresh: list[dict[str, Any]] = []
        changes: list[dict[str, Any]] = []
        snapshots: list[dict[str, Any]] = []
        post_ids: list[int] = []
        for post in batch:
            key = (post.platform.value, post.platform_id)
            known = existing.get(key)
            if known is None:
                fresh.append(_post_row(post, author_ids[(post.platform.value, post.author.platform_id)], now))
                continue
            post_id, old_text, old_metrics = known
            post_ids.append(post_id)
            metrics = _merged_metrics(old_metrics, post.metrics.as_tuple())
            if metrics == old_metrics and post.text == old_text:
                counts.unchanged += 1
                continue
            counts.updated += 1
            values = dict(zip(_METRICS, metrics, strict=True))
            changes.append({"id": post_id, "text": post.text, "updated_at": now, **values})
            if metrics != old_metrics:
                snapshots.append({"post_id": post_id, "taken_at": now, **values})
        await _insert_new(session, fresh, counts, snapshots, post_ids, now)
        if changes:
            await session.execute(update(PostRow), changes)
        if snapshots:
            await session.execute(insert(EngagementSnapshot), snapshots)
        await _link_campaigns(session, post_ids, campaign_ids, now)
    if checkpoint is not None:
        await save_checkpoint(session, checkpoint, now)
    return counts


async def _insert_new(
    session: AsyncSession,
    fresh: list[dict[str, Any]],
    counts: IngestCounts,
    snapshots: list[dict[str, Any]],
    post_ids: list[int],
    now: datetime,
) -> None:
    table: Table = PostRow.__table__  # type: ignore[assignment]
    metrics_of = {(row["platform"], row["platform_id"]): {m: row[m] for m in _METRICS} for row in fresh}
    inserted = 0
    for chunk in chunks(fresh, _CHUNK):
        stmt = (
            upsert_insert(session, table)
            .on_conflict_do_nothing(index_elements=[table.c.platform, table.c.platform_id])
            .returning(table.c.id, table.c.platform, table.c.platform_id)
        )
        result = await session.execute(stmt.values(list(chunk)))
        for post_id, platform, platform_id in result:
            inserted += 1
            counts.new += 1
            counts.new_ids.append(post_id)
            post_ids.append(post_id)
            values = metrics_of[(platform, platform_id)]
            if any(v is not None for v in values.values()):
                snapshots.append({"post_id": post_id, "taken_at": now, **values})
    # A row another writer inserted between our SELECT and INSERT is not lost: it exists, unchanged.
    counts.unchanged += len(fresh) - inserted


async def _link_campaigns(
    session: AsyncSession, post_ids: Sequence[int], campaign_ids: Sequence[int], now: datetime
) -> None:
    if not campaign_ids or not post_ids:
        return
    table: Table = PostCampaign.__table__  # type: ignore[assignment]
    rows = [{"post_id": p, "campaign_id": c, "matched_at": now} for p in post_ids for c in campaign_ids]
    for chunk in chunks(rows, 5000):
        stmt = upsert_insert(session, table).on_conflict_do_nothing()
        await session.execute(stmt, list(chunk))


async def save_checkpoint(session: AsyncSession, checkpoint: CheckpointUpdate, now: datetime | None = None) -> None:
    table: Table = Checkpoint.__table__  # type: ignore[assignment]
    stmt = upsert_insert(session, table).values(
        source_id=checkpoint.source_id,
        campaign_id=checkpoint.campaign_id,
        query_key=checkpoint.query_key,
        position=checkpoint.position,
        updated_at=now or utcnow(),
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.source_id, table.c.campaign_id, table.c.query_key],
        set_={"position": stmt.excluded.position, "updated_at": stmt.excluded.updated_at},
    )
    await session.execute(stmt)


async def load_checkpoint(
    session: AsyncSession, source_id: int, campaign_id: int, query_key: str
) -> dict[str, Any] | None:
    result = await session.execute(
        select(Checkpoint.position).where(
            Checkpoint.source_id == source_id,
            Checkpoint.campaign_id == campaign_id,
            Checkpoint.query_key == query_key,
        )
    )
    return result.scalar_one_or_none()
