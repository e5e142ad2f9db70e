"""Shared setup for the story tests: real posts ingested into a campaign, real analyses saved through the
analyses repository (signals as the analyse job stores them, with the real text fingerprint), merchants and
users as rows. No scoring here: the tests run the real job or the repository."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from jobs import stories as stories_job
from jobs.services import Services
from listener.post import Post
from nlp.results import Link
from nlp.signals import fingerprint
from storage.models import Merchant, Story, StoryTransition
from storage.models import Post as PostRow
from storage.repositories.analyses import AnalysisRecord, save_analyses
from storage.repositories.ingest import ingest
from storage.repositories.users import Role, add_user

NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)  # two days after tests.factories.BASE_TIME


def good_signals(**changes: Any) -> dict[str, Any]:
    return {
        "first_person": True,
        "gratitude": True,
        "recommendation": True,
        "question": False,
        "complaint": False,
        "named_merchant": True,
        "has_media": True,
        "length": 120,
        "hashtag_count": 1,
        "link_count": 0,
        "spam_score": 0.0,
        "likely_spam": False,
        "reasons": [],
        **changes,
    }


@dataclass
class Analysed:
    """How a test wants a post to have been analysed."""

    sentiment: str = "positive"
    sentiment_score: float = 0.8
    language: str = "fr"
    signals: dict[str, Any] = field(default_factory=good_signals)
    merchant_id: int | None = None
    link_method: str = "handle"
    link_score: float = 0.95


async def store(
    session: AsyncSession, campaign_id: int, items: Sequence[tuple[Post, Analysed | None]]
) -> dict[str, int]:
    """Ingest the posts into the campaign and save the given analyses (None: left un-analysed); returns
    platform id -> post id."""
    await ingest(session, [post for post, _ in items], campaign_ids=[campaign_id])
    rows = await session.execute(
        select(PostRow.platform_id, PostRow.id).where(PostRow.platform_id.in_([p.platform_id for p, _ in items]))
    )
    ids = {str(pid): int(i) for pid, i in rows.all()}
    records = [
        AnalysisRecord(
            post_id=ids[post.platform_id],
            language=a.language,
            language_confidence=0.9,
            sentiment=a.sentiment,
            sentiment_score=a.sentiment_score,
            signals={**a.signals, "fingerprint": fingerprint(post.text)},
            pipeline_version="test",
            links=[Link(a.merchant_id, a.link_method, a.link_score, 0, 5, "shop")] if a.merchant_id else [],
            discoveries=[],
        )
        for post, a in items
        if a is not None
    ]
    await save_analyses(session, records, now=NOW)
    return ids


async def add_merchant(
    session: AsyncSession, name: str, *, opt_out: bool = False, region: str | None = None, city: str | None = None
) -> int:
    merchant = Merchant(
        key=name.casefold(),
        name=name,
        region=region,
        city=city,
        status="active",
        feature_opt_out=opt_out,
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(merchant)
    await session.flush()
    return merchant.id


async def add_curator(session: AsyncSession, email: str = "curator@example.test") -> int:
    return (await add_user(session, email, Role.CURATOR, "not-a-real-hash")).id


async def moves(session: AsyncSession, story_id: int) -> list[tuple[str | None, str, int | None, str | None]]:
    rows = await session.execute(
        select(
            StoryTransition.from_state, StoryTransition.to_state, StoryTransition.actor_user_id, StoryTransition.reason
        )
        .where(StoryTransition.story_id == story_id)
        .order_by(StoryTransition.id)
    )
    return [tuple(r) for r in rows.all()]  # type: ignore[misc]


async def scored(
    services: Services, items: Sequence[tuple[Post, Analysed | None]], slug: str = "lovelocal"
) -> dict[str, int]:
    """Store the posts in the campaign, run the stories job at NOW; returns platform id -> story id."""
    async with services.sessions.begin() as session:
        await store(session, services.campaign_ids[slug], items)
    await stories_job.run(services, now=NOW)
    async with services.sessions() as session:
        rows = await session.execute(
            select(PostRow.platform_id, Story.id)
            .join(Story, Story.post_id == PostRow.id)
            .where(Story.campaign_id == services.campaign_ids[slug])
        )
        return {str(pid): int(sid) for pid, sid in rows.all()}
