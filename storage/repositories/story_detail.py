"""One story in full, for the story page: the post, its analysis explained (signals, mentions with method and
score), the merchant, the history of moves, the rights requests and the duplicates grouped under it.

A handful of primary-key reads and one small query per list; called for one story at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import (
    Analysis,
    Author,
    Campaign,
    Mention,
    Merchant,
    Post,
    RightsRequest,
    Story,
    StoryTransition,
    User,
)
from storage.models import DiscoveredBusiness as Discovered
from storage.repositories.story_queue import QueueRow, queue_rows
from storage.repositories.story_states import TRANSITIONS, parse_state


@dataclass(frozen=True)
class AnalysisInfo:
    language: str
    language_confidence: float | None
    sentiment: str
    sentiment_score: float
    signals: dict[str, Any]
    pipeline_version: str
    analysed_at: datetime


@dataclass(frozen=True)
class MentionInfo:
    merchant_id: int | None
    merchant_name: str | None
    discovered_id: int | None
    discovered_name: str | None
    surface: str
    method: str
    score: float
    span_start: int | None
    span_end: int | None


@dataclass(frozen=True)
class MerchantInfo:
    id: int
    name: str
    city: str | None
    region: str | None
    website: str | None
    feature_opt_out: bool


@dataclass(frozen=True)
class TransitionInfo:
    id: int
    from_state: str | None
    to_state: str
    actor_user_id: int | None
    actor_email: str | None
    reason: str | None
    at: datetime


@dataclass(frozen=True)
class RightsInfo:
    id: int
    status: str
    requested_by: int | None
    requested_at: datetime
    expires_at: datetime
    message: str
    consent_hashtag: str
    evidence_post_id: int | None
    evidence_url: str | None
    granted_at: datetime | None


@dataclass(frozen=True)
class DuplicateInfo:
    story_id: int
    post_id: int
    state: str
    kind: str
    url: str | None
    author_handle: str
    post_created_at: datetime


@dataclass(frozen=True)
class StoryDetail:
    row: QueueRow
    campaign_slug: str
    campaign_name: str
    consent_hashtag: str | None
    score_breakdown: dict[str, Any]
    public_name: str | None
    featured_from: datetime | None
    featured_until: datetime | None
    post_platform_id: str
    post_kind: str
    hashtags: list[str]
    media: list[dict[str, Any]]
    quotes: int | None
    views: int | None
    author_url: str | None
    author_verified: bool | None
    analysis: AnalysisInfo | None
    merchant: MerchantInfo | None
    mentions: list[MentionInfo] = field(default_factory=list)
    transitions: list[TransitionInfo] = field(default_factory=list)
    rights_requests: list[RightsInfo] = field(default_factory=list)
    duplicates: list[DuplicateInfo] = field(default_factory=list)
    allowed_states: tuple[str, ...] = ()  # where the story may move next (undo aside)


async def story_detail(session: AsyncSession, story_id: int) -> StoryDetail | None:
    """Everything the story page shows, or None when there is no such story."""
    rows = await queue_rows(session, [story_id])
    if not rows:
        return None
    story = await session.get(Story, story_id)
    assert story is not None
    post = await session.get(Post, story.post_id)
    author = await session.get(Author, story.author_id)
    campaign = await session.get(Campaign, story.campaign_id)
    analysis = await session.get(Analysis, story.post_id)
    merchant = await session.get(Merchant, story.merchant_id) if story.merchant_id else None
    assert post is not None
    assert author is not None
    assert campaign is not None
    return StoryDetail(
        row=rows[0],
        campaign_slug=campaign.slug,
        campaign_name=campaign.name,
        consent_hashtag=campaign.consent_hashtag,
        score_breakdown=dict(story.score_breakdown or {}),
        public_name=story.public_name,
        featured_from=story.featured_from,
        featured_until=story.featured_until,
        post_platform_id=post.platform_id,
        post_kind=post.kind,
        hashtags=list(post.hashtags or []),
        media=list(post.media or []),
        quotes=post.quotes,
        views=post.views,
        author_url=author.url,
        author_verified=author.verified,
        analysis=None
        if analysis is None
        else AnalysisInfo(
            analysis.language,
            analysis.language_confidence,
            analysis.sentiment,
            analysis.sentiment_score,
            dict(analysis.signals or {}),
            analysis.pipeline_version,
            analysis.analysed_at,
        ),
        merchant=None
        if merchant is None
        else MerchantInfo(
            merchant.id, merchant.name, merchant.city, merchant.region, merchant.website, merchant.feature_opt_out
        ),
        mentions=await _mentions(session, story.post_id),
        transitions=await _transitions(session, story_id),
        rights_requests=await _rights(session, story_id),
        duplicates=await _duplicates(session, story_id),
        allowed_states=tuple(sorted(s.value for s in TRANSITIONS[parse_state(story.state)])),
    )


async def _mentions(session: AsyncSession, post_id: int) -> list[MentionInfo]:
    rows = await session.execute(
        select(Mention, Merchant.name, Discovered.display_name)
        .outerjoin(Merchant, Merchant.id == Mention.merchant_id)
        .outerjoin(Discovered, Discovered.id == Mention.discovered_id)
        .where(Mention.post_id == post_id)
        .order_by(Mention.score.desc(), Mention.id)
    )
    return [
        MentionInfo(m.merchant_id, name, m.discovered_id, found, m.surface, m.method, m.score, m.span_start, m.span_end)
        for m, name, found in rows.all()
    ]


async def _transitions(session: AsyncSession, story_id: int) -> list[TransitionInfo]:
    rows = await session.execute(
        select(StoryTransition, User.email)
        .outerjoin(User, User.id == StoryTransition.actor_user_id)
        .where(StoryTransition.story_id == story_id)
        .order_by(StoryTransition.id)
    )
    return [
        TransitionInfo(t.id, t.from_state, t.to_state, t.actor_user_id, email, t.reason, t.at)
        for t, email in rows.all()
    ]


async def _rights(session: AsyncSession, story_id: int) -> list[RightsInfo]:
    rows = await session.execute(
        select(RightsRequest, Post.url)
        .outerjoin(Post, Post.id == RightsRequest.evidence_post_id)
        .where(RightsRequest.story_id == story_id)
        .order_by(RightsRequest.id)
    )
    return [
        RightsInfo(
            r.id,
            r.status,
            r.requested_by,
            r.requested_at,
            r.expires_at,
            r.message,
            r.consent_hashtag,
            r.evidence_post_id,
            url,
            r.granted_at,
        )
        for r, url in rows.all()
    ]


async def _duplicates(session: AsyncSession, story_id: int) -> list[DuplicateInfo]:
    grouped = aliased(Story)
    rows = await session.execute(
        select(grouped.id, grouped.post_id, grouped.state, Post.kind, Post.url, Author.handle, grouped.post_created_at)
        .join(Post, Post.id == grouped.post_id)
        .join(Author, Author.id == Post.author_id)
        .where(grouped.original_story_id == story_id)
        .order_by(grouped.post_created_at, grouped.id)
    )
    return [DuplicateInfo(*r) for r in rows.all()]
