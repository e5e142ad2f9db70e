"""Retention rules as queries: which raw payloads are old enough to blank, which quarantined payloads to
delete, which posts belong to people who never took part in the rights flow and are old enough to delete.

Each function handles one batch in the caller's transaction and says how far it got, so the job commits
batch by batch: on SQLite the write lock is never held for long, and an interrupted purge resumes where
it stopped (what is gone stays gone; what is left is still selected).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, null, select, union, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import Author, Post, Quarantine, RightsRequest, Story
from storage.repositories._sql import chunks

# A story in one of these states, or one that was ever featured, keeps its post whatever its author did.
KEPT_STATES = ("rights_granted", "featured")


async def blank_raw_payloads(session: AsyncSession, before: datetime, after_id: int, limit: int) -> tuple[int, int]:
    """Blank the raw payload of up to `limit` posts made before `before`, with ids above `after_id` (the
    cursor: the scan walks the primary key once, whatever the number of batches). Returns (blanked, next
    cursor); a cursor of 0 means the end was reached."""
    ids = list(
        await session.scalars(
            select(Post.id)
            .where(Post.id > after_id, Post.created_at < before, Post.raw.is_not(None))
            .order_by(Post.id)
            .limit(limit)
        )
    )
    if not ids:
        return 0, 0
    await session.execute(update(Post).where(Post.id.in_(ids)).values(raw=null()))
    return len(ids), ids[-1]


async def count_raw_payloads(session: AsyncSession, before: datetime, posts_before: datetime | None) -> int:
    """Payloads the purge would blank: not those of the posts it would erase first (`posts_before`)."""
    query = select(func.count()).select_from(Post).where(Post.created_at < before, Post.raw.is_not(None))
    if posts_before is not None:
        query = query.where(Post.id.not_in(_non_interacting(posts_before)))
    return int(await session.scalar(query) or 0)


async def delete_quarantined(session: AsyncSession, before: datetime, limit: int) -> int:
    ids = list(
        await session.scalars(
            select(Quarantine.id).where(Quarantine.received_at < before).order_by(Quarantine.id).limit(limit)
        )
    )
    if ids:
        await session.execute(delete(Quarantine).where(Quarantine.id.in_(ids)))
    return len(ids)


async def count_quarantined(session: AsyncSession, before: datetime) -> int:
    query = select(func.count()).select_from(Quarantine).where(Quarantine.received_at < before)
    return int(await session.scalar(query) or 0)


def _interacting_authors() -> Any:
    """Authors who took part in the rights flow: asked for rights on a story of theirs, or whose post is the
    evidence of a grant (a consent reply)."""
    evidence = aliased(Post)
    return union(
        select(Story.author_id).join(RightsRequest, RightsRequest.story_id == Story.id),
        select(evidence.author_id).join(RightsRequest, RightsRequest.evidence_post_id == evidence.id),
    )


def _non_interacting(before: datetime) -> Select[Any]:
    kept = (
        select(Story.id)
        .where(Story.post_id == Post.id, (Story.state.in_(KEPT_STATES)) | (Story.featured_from.is_not(None)))
        .exists()
    )
    return select(Post.id).where(Post.created_at < before, Post.author_id.not_in(_interacting_authors()), ~kept)


async def non_interacting_posts(session: AsyncSession, before: datetime, after_id: int, limit: int) -> list[int]:
    """Up to `limit` ids (above `after_id`, ascending) of posts made before `before` by people who never took
    part in the rights flow, except the posts of granted or featured stories."""
    query = _non_interacting(before).where(Post.id > after_id).order_by(Post.id).limit(limit)
    return list(await session.scalars(query))


async def count_non_interacting(session: AsyncSession, before: datetime) -> int:
    return int(await session.scalar(select(func.count()).select_from(_non_interacting(before).subquery())) or 0)


async def delete_authors_without_posts(session: AsyncSession, author_ids: Collection[int]) -> set[str]:
    """Authors left with no post (their last ones were purged) are deleted too; returns their report keys
    ("platform:platform id")."""
    has_posts = select(Post.id).where(Post.author_id == Author.id).exists()
    keys: set[str] = set()
    for part in chunks(sorted(author_ids), 500):
        rows = (
            await session.execute(
                select(Author.id, Author.platform, Author.platform_id).where(Author.id.in_(part), ~has_posts)
            )
        ).all()
        if rows:
            await session.execute(delete(Author).where(Author.id.in_([r.id for r in rows])))
            keys.update(f"{r.platform}:{r.platform_id}" for r in rows)
    return keys
