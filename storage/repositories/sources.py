"""Sources (one row per collector): health, rate-limit state and the last run's figures."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Checkpoint, Source


async def get_or_create(session: AsyncSession, name: str, platform: str) -> Source:
    source = await session.scalar(select(Source).where(Source.name == name))
    if source is None:
        source = Source(name=name, platform=platform, status="idle", last_new_posts=0)
        session.add(source)
        await session.flush()
    return source


async def record_run(
    session: AsyncSession,
    source_id: int,
    *,
    status: str,
    detail: str | None,
    new_posts: int,
    finished_at: datetime,
    rate_limited_until: datetime | None,
) -> None:
    source = await session.get(Source, source_id)
    if source is None:
        return
    source.status = status
    source.status_detail = detail
    source.last_run_at = finished_at
    source.last_new_posts = new_posts
    source.posts_collected = (source.posts_collected or 0) + new_posts
    if status == "rate_limited":
        source.rate_limited_runs = (source.rate_limited_runs or 0) + 1
    source.rate_limited_until = rate_limited_until
    if status in ("ok", "rate_limited"):
        source.last_success_at = finished_at
    await session.flush()


async def all_sources(session: AsyncSession) -> list[Source]:
    return list((await session.execute(select(Source).order_by(Source.name))).scalars())


async def checkpoints_of(session: AsyncSession, source_id: int) -> list[Checkpoint]:
    result = await session.execute(select(Checkpoint).where(Checkpoint.source_id == source_id).order_by(Checkpoint.id))
    return list(result.scalars())
