"""Idempotent bulk ingest of `Post` records, with the checkpoint that follows them, in the caller's transaction.

The contract collectors rely on: a page of posts and the checkpoint *after* that page are written together
or not at all (the job owns the transaction), so a crash between pages resumes from the last committed
page and loses nothing. The same batch ingested twice changes nothing: posts are unique per platform and
platform id; an existing post is only updated when its metrics (or edited text) changed, and each change
is kept as an engagement snapshot.

Rows are written set-wise (multi-row INSERT ... ON CONFLICT ... RETURNING, executemany UPDATE) through
`_bulk.BulkWriter`: ingest is the hot path, and per-row ORM or compiled-insert parameter processing costs
several times what the database needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from listener.post import Post
from storage.models import Checkpoint
from storage.repositories._bulk import BulkWriter, DriverValues, Json
from storage.repositories._sql import utcnow

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
AUTHOR_COLUMNS = (
    "platform", "platform_id", "handle", "display_name", "followers", "verified", "url", "first_seen_at", "updated_at",
)  # fmt: skip
POST_COLUMNS = (
    "platform", "platform_id", "author_id", "url", "text", "created_at", "collected_at", "updated_at",
    "language_hint", "kind", "hashtags", "mentions", "urls", "media", "reply_to_id", "repost_of_id",
    "quote_of_id", "likes", "reposts", "replies", "quotes", "views", "query", "raw",
)  # fmt: skip
_AUTHOR_UPSERT = (
    "ON CONFLICT (platform, platform_id) DO UPDATE SET handle = excluded.handle, "
    "display_name = excluded.display_name, "
    # A payload without follower counts must not erase the last known figure.
    "followers = COALESCE(excluded.followers, authors.followers), "
    "verified = COALESCE(excluded.verified, authors.verified), "
    "url = COALESCE(excluded.url, authors.url), updated_at = excluded.updated_at"
)
_UPDATE_POST = (
    "UPDATE posts SET text = ?, updated_at = ?, likes = ?, reposts = ?, replies = ?, quotes = ?, views = ? WHERE id = ?"
)
_SNAPSHOT_COLUMNS = ("post_id", "taken_at", *_METRICS)


def author_values(post: Post, now: Any) -> tuple[Any, ...]:
    """The authors row of a post's author; `now` as the driver stores it (BulkWriter.time)."""
    a = post.author
    return (post.platform.value, a.platform_id, a.handle, a.display_name, a.followers, a.verified, a.url, now, now)


def post_values(post: Post, author_id: int, now: Any, writer: DriverValues) -> tuple[Any, ...]:
    """The posts row, in driver values (see BulkWriter.insert(adapted=True)); `now` already adapted."""
    m = post.metrics
    json = writer.json
    return (
        post.platform.value,
        post.platform_id,
        author_id,
        post.url,
        post.text,
        writer.time(post.created_at),
        now,
        now,
        post.language_hint,
        post.kind.value,
        json(post.hashtags),
        json(post.mentions),
        json(post.urls),
        json([{"kind": md.kind, "url": md.url, "alt_text": md.alt_text} for md in post.media]),
        post.reply_to_id,
        post.repost_of_id,
        post.quote_of_id,
        m.likes,
        m.reposts,
        m.replies,
        m.quotes,
        m.views,
        post.query,
        json(post.raw),
    )


def _dedupe(posts: Iterable[Post]) -> tuple[list[Post], int]:
    """Keep the last occurrence of each (platform, id): a later copy in a page carries fresher metrics."""
    latest: dict[tuple[str, str], Post] = {}
    count = 0
    for post in posts:
        latest[(post.platform.value, post.platform_id)] = post
        count += 1
    return list(latest.values()), count - len(latest)


async def _upsert_authors(writer: BulkWriter, posts: Sequence[Post], now: datetime) -> dict[tuple[str, str], int]:
    rows: dict[tuple[str, str], tuple[Any, ...]] = {}
    stamp = writer.time(now)
    for post in posts:
        rows[(post.platform.value, post.author.platform_id)] = author_values(post, stamp)
    returned = await writer.insert(
        "authors",
        AUTHOR_COLUMNS,
        list(rows.values()),
        on_conflict=_AUTHOR_UPSERT,
        returning=("id", "platform", "platform_id"),
        adapted=True,
    )
    return {(platform, platform_id): author_id for author_id, platform, platform_id in returned}


async def _existing_posts(
    writer: BulkWriter, posts: Sequence[Post]
) -> dict[tuple[str, str], tuple[int, str, tuple[int | None, ...]]]:
    by_platform: dict[str, list[str]] = {}
    for post in posts:
        by_platform.setdefault(post.platform.value, []).append(post.platform_id)
    found: dict[tuple[str, str], tuple[int, str, tuple[int | None, ...]]] = {}
    for platform, ids in by_platform.items():
        rows = await writer.select_in(
            f"SELECT id, platform_id, text, {', '.join(_METRICS)} FROM posts WHERE platform = ? AND {{in}}",  # noqa: S608
            (platform,),
            "platform_id",
            ids,
        )
        for row in rows:
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
        writer = BulkWriter(session)
        author_ids = await _upsert_authors(writer, batch, now)
        snapshots: list[tuple[Any, ...]] = []
        post_ids: list[int] = []
        # New posts first (INSERT ... ON CONFLICT DO NOTHING RETURNING): a collection page is mostly new
        # posts, and this spares the lookup of their ids; only the rows the insert skipped are read back.
        inserted = await _insert_new(writer, batch, author_ids, counts, snapshots, post_ids, now)
        known_posts = [p for p in batch if (p.platform.value, p.platform_id) not in inserted]
        existing = await _existing_posts(writer, known_posts) if known_posts else {}
        changes: list[tuple[Any, ...]] = []
        for post in known_posts:
            known = existing.get((post.platform.value, post.platform_id))
            if known is None:  # deleted by another writer since our insert skipped it: nothing to update
                counts.unchanged += 1
                continue
            post_id, old_text, old_metrics = known
            post_ids.append(post_id)
            metrics = _merged_metrics(old_metrics, post.metrics.as_tuple())
            if metrics == old_metrics and post.text == old_text:
                counts.unchanged += 1
                continue
            counts.updated += 1
            changes.append((post.text, now, *metrics, post_id))
            if metrics != old_metrics:
                snapshots.append((post_id, now, *metrics))
        await writer.executemany(_UPDATE_POST, changes)
        await writer.insert("engagement_snapshots", _SNAPSHOT_COLUMNS, snapshots)
        if campaign_ids and post_ids:
            links = [(p, c, now) for p in post_ids for c in campaign_ids]
            await writer.insert(
                "post_campaigns", ("post_id", "campaign_id", "matched_at"), links, on_conflict="ON CONFLICT DO NOTHING"
            )
    if checkpoint is not None:
        await save_checkpoint(session, checkpoint, now)
    return counts


async def _insert_new(
    writer: BulkWriter,
    posts: list[Post],
    author_ids: dict[tuple[str, str], int],
    counts: IngestCounts,
    snapshots: list[tuple[Any, ...]],
    post_ids: list[int],
    now: datetime,
) -> set[tuple[str, str]]:
    """Insert the posts not stored yet; returns the (platform, platform_id) keys actually inserted."""
    stamp = writer.time(now)
    rows = [post_values(p, author_ids[(p.platform.value, p.author.platform_id)], stamp, writer) for p in posts]
    metrics_of = {(p.platform.value, p.platform_id): p.metrics.as_tuple() for p in posts}
    returned = await writer.insert(
        "posts",
        POST_COLUMNS,
        rows,
        on_conflict="ON CONFLICT (platform, platform_id) DO NOTHING",
        returning=("id", "platform", "platform_id"),
        adapted=True,
    )
    inserted: set[tuple[str, str]] = set()
    for post_id, platform, platform_id in returned:
        counts.new += 1
        counts.new_ids.append(post_id)
        post_ids.append(post_id)
        inserted.add((platform, platform_id))
        values = metrics_of[(platform, platform_id)]
        if any(v is not None for v in values):
            snapshots.append((post_id, now, *values))
    return inserted


async def save_checkpoint(session: AsyncSession, checkpoint: CheckpointUpdate, now: datetime | None = None) -> None:
    await BulkWriter(session).insert(
        "checkpoints",
        ("source_id", "campaign_id", "query_key", "position", "updated_at"),
        [
            (
                checkpoint.source_id,
                checkpoint.campaign_id,
                checkpoint.query_key,
                Json(checkpoint.position),
                now or utcnow(),
            )
        ],
        on_conflict=(
            "ON CONFLICT (source_id, campaign_id, query_key) "
            "DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at"
        ),
    )


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
