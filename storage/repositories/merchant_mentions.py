"""What a merchant may read about itself, and nothing else: its mentions, their timeline and reach, its featured
stories and the names that linked to it, always through a `Scope`.

A `Scope` is the only way in: every function here takes one and filters every statement by its merchant ids
on the database side, so a guessed mention or story id of another merchant finds nothing (the caller answers
404, never 403, so the id's existence is not confirmed). `Scope.of(allowed, wanted)` builds the scope of a
merchant user from the merchants its account is bound to and refuses (OutOfScope) a merchant id it does not
hold; `Scope.staff(merchant_id)` is the curators' view of one merchant.

The rows carry what the web layer needs to show authors fairly: whether the author is public (granted rights
on a story of theirs, or the account is a registered merchant handle); storage.pseudonyms decides the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Analysis,
    Author,
    Campaign,
    DiscoveredBusiness,
    Mention,
    Merchant,
    MerchantCorrection,
    MerchantHandle,
    Post,
    RightsRequest,
    Story,
)

MAX_TIMELINE_ROWS = 100_000  # a chart of more mentions than this reads the newest ones
_FEATURED_STATES = ("featured", "archived", "rejected")


class OutOfScope(LookupError):
    """The merchant asked for is not one this account may see (answered as "not found")."""


@dataclass(frozen=True)
class Scope:
    merchant_ids: tuple[int, ...]

    @classmethod
    def of(cls, allowed: Iterable[int], wanted: int) -> Scope:
        """A merchant user's view of `wanted`, one of the merchants its account is bound to."""
        if wanted not in set(allowed):
            raise OutOfScope(f"merchant {wanted} is not in this account's scope")
        return cls((wanted,))

    @classmethod
    def staff(cls, merchant_id: int) -> Scope:
        """A curator's view of one merchant (the caller checked the role)."""
        return cls((merchant_id,))

    def mentions(self) -> ColumnElement[bool]:
        return Mention.merchant_id.in_(self.merchant_ids)


@dataclass(frozen=True)
class MentionFilters:
    since: datetime | None = None  # post created at or after
    until: datetime | None = None  # post created before
    platform: str | None = None
    sentiment: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class MentionRow:
    mention_id: int
    merchant_id: int
    post_id: int
    platform: str
    url: str | None
    text: str
    created_at: datetime
    language: str
    sentiment: str
    sentiment_score: float
    method: str
    surface: str
    score: float
    author_platform_id: str
    author_handle: str
    author_name: str
    followers: int | None
    likes: int | None
    reposts: int | None
    replies: int | None
    views: int | None
    public_author: bool
    flagged: bool  # the merchant said "not about us" and the curators have not decided yet


@dataclass(frozen=True)
class Reach:
    mentions: int
    posts: int
    authors: int
    followers: int  # the audience: the followers of the distinct authors, as last seen
    views: int  # where the platform reports them
    engagement: int  # likes + reposts + replies + quotes


@dataclass(frozen=True)
class FeaturedStory:
    story_id: int
    campaign: str
    state: str
    text: str
    url: str | None
    platform: str
    public_name: str | None
    featured_from: datetime | None
    featured_until: datetime | None
    takedown_pending: bool


@dataclass(frozen=True)
class Variant:
    """A name that linked posts to the merchant: how it was matched and how often."""

    text: str
    method: str
    mentions: int


@dataclass(frozen=True)
class DiscoveredVariant:
    """A name found in posts that curators recorded as this merchant (or added as it)."""

    name: str
    status: str
    mentions: int


def _filtered(scope: Scope, filters: MentionFilters) -> list[ColumnElement[bool]]:
    where = [scope.mentions()]
    if filters.since is not None:
        where.append(Post.created_at >= filters.since)
    if filters.until is not None:
        where.append(Post.created_at < filters.until)
    if filters.platform:
        where.append(Post.platform == filters.platform)
    if filters.sentiment:
        where.append(Analysis.sentiment == filters.sentiment)
    if filters.language:
        where.append(Analysis.language == filters.language)
    return where


def _joined(query: Any) -> Any:
    return query.join(Post, Post.id == Mention.post_id).join(Analysis, Analysis.post_id == Mention.post_id)


def public_author() -> ColumnElement[bool]:
    """True when the row's author may be shown by name: rights granted on a story of theirs, or a merchant's
    own registered account (correlated to Author)."""
    granted = exists().where(
        RightsRequest.status == "granted", RightsRequest.story_id == Story.id, Story.author_id == Author.id
    )
    merchant_account = exists().where(
        MerchantHandle.platform == Author.platform, MerchantHandle.handle == func.lower(Author.handle)
    )
    return or_(granted, merchant_account)


_FLAGGED = exists().where(
    MerchantCorrection.kind == "not_us",
    MerchantCorrection.status == "pending",
    MerchantCorrection.post_id == Mention.post_id,
    MerchantCorrection.merchant_id == Mention.merchant_id,
)


async def mention_page(
    session: AsyncSession, scope: Scope, filters: MentionFilters, *, limit: int = 50, offset: int = 0
) -> tuple[list[MentionRow], int]:
    """One page of the scope's mentions, newest first, and how many match."""
    where = _filtered(scope, filters)
    total = await session.scalar(_joined(select(func.count()).select_from(Mention)).where(*where))
    query = _joined(
        select(
            Mention.id, Mention.merchant_id, Mention.post_id, Post.platform, Post.url, Post.text, Post.created_at,
            Analysis.language, Analysis.sentiment, Analysis.sentiment_score, Mention.method, Mention.surface,
            Mention.score, Author.platform_id, Author.handle, Author.display_name, Author.followers, Post.likes,
            Post.reposts, Post.replies, Post.views, public_author(), _FLAGGED,
        ).select_from(Mention)
    )  # fmt: skip
    query = (
        query.join(Author, Author.id == Post.author_id)
        .where(*where)
        .order_by(Post.created_at.desc(), Mention.id.desc())
        .limit(limit)
        .offset(offset)
    )
    rows = [
        MentionRow(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            r[6],
            r[7],
            r[8],
            float(r[9]),
            r[10],
            r[11],
            float(r[12]),
            r[13],
            r[14],
            r[15] or "",
            r[16],
            r[17],
            r[18],
            r[19],
            r[20],
            bool(r[21]),
            bool(r[22]),
        )
        for r in (await session.execute(query)).all()
    ]
    return rows, int(total or 0)


async def timeline_rows(
    session: AsyncSession, scope: Scope, filters: MentionFilters
) -> list[tuple[datetime, str, float]]:
    """(post time, sentiment, sentiment score) of every matching mention, newest first (at most
    MAX_TIMELINE_ROWS), for the charts: buckets are made by the caller, in the reader's calendar."""
    query = _joined(select(Post.created_at, Analysis.sentiment, Analysis.sentiment_score).select_from(Mention))
    query = query.where(*_filtered(scope, filters)).order_by(Post.created_at.desc()).limit(MAX_TIMELINE_ROWS)
    return [(at, sentiment, float(score)) for at, sentiment, score in (await session.execute(query)).all()]


async def reach(session: AsyncSession, scope: Scope, filters: MentionFilters) -> Reach:
    """How far the posts mentioning the scope's merchants went, counting each post and each author once."""
    posts = _joined(select(Mention.post_id).select_from(Mention)).where(*_filtered(scope, filters)).distinct()
    posts_sub = posts.subquery()
    engagement = (
        func.coalesce(Post.likes, 0)
        + func.coalesce(Post.reposts, 0)
        + func.coalesce(Post.replies, 0)
        + func.coalesce(Post.quotes, 0)
    )
    mentions = await session.scalar(
        _joined(select(func.count()).select_from(Mention)).where(*_filtered(scope, filters))
    )
    totals = (
        await session.execute(
            select(
                func.count(), func.count(func.distinct(Post.author_id)), func.sum(Post.views), func.sum(engagement)
            ).where(Post.id.in_(select(posts_sub.c.post_id)))
        )
    ).one()
    followers = await session.scalar(
        select(func.sum(Author.followers)).where(
            Author.id.in_(select(Post.author_id).where(Post.id.in_(select(posts_sub.c.post_id))))
        )
    )
    return Reach(
        mentions=int(mentions or 0),
        posts=int(totals[0] or 0),
        authors=int(totals[1] or 0),
        followers=int(followers or 0),
        views=int(totals[2] or 0),
        engagement=int(totals[3] or 0),
    )


async def featured_stories(session: AsyncSession, scope: Scope, *, limit: int = 100) -> list[FeaturedStory]:
    """The scope's stories that are or were featured (rights granted included: about to be), newest first."""
    pending_takedown = exists().where(
        MerchantCorrection.kind == "takedown",
        MerchantCorrection.status == "pending",
        MerchantCorrection.story_id == Story.id,
    )
    query = (
        select(
            Story.id,
            Campaign.slug,
            Story.state,
            Post.text,
            Post.url,
            Story.platform,
            Story.public_name,
            Story.featured_from,
            Story.featured_until,
            pending_takedown,
        )
        .join(Post, Post.id == Story.post_id)
        .join(Campaign, Campaign.id == Story.campaign_id)
        .where(
            Story.merchant_id.in_(scope.merchant_ids),
            or_(
                Story.state.in_(("rights_granted", "featured")),
                and_(Story.state.in_(_FEATURED_STATES), Story.featured_from.is_not(None)),
            ),
        )
        .order_by(func.coalesce(Story.featured_from, Story.updated_at).desc(), Story.id.desc())
        .limit(limit)
    )
    return [FeaturedStory(*row[:9], bool(row[9])) for row in (await session.execute(query)).all()]


async def variants(session: AsyncSession, scope: Scope, *, limit: int = 50) -> list[Variant]:
    """The texts that linked posts to the scope's merchants, most frequent first."""
    count = func.count()
    query = (
        select(Mention.surface, Mention.method, count)
        .where(scope.mentions(), Mention.surface != "")
        .group_by(Mention.surface, Mention.method)
        .order_by(count.desc(), Mention.surface)
        .limit(limit)
    )
    return [Variant(text, method, int(n)) for text, method, n in (await session.execute(query)).all()]


async def discovered_variants(session: AsyncSession, scope: Scope) -> list[DiscoveredVariant]:
    query = (
        select(DiscoveredBusiness.display_name, DiscoveredBusiness.status, DiscoveredBusiness.mention_count)
        .where(DiscoveredBusiness.merchant_id.in_(scope.merchant_ids))
        .order_by(DiscoveredBusiness.mention_count.desc(), DiscoveredBusiness.id)
    )
    return [DiscoveredVariant(n, s, int(c)) for n, s, c in (await session.execute(query)).all()]


@dataclass(frozen=True)
class MentionRef:
    mention_id: int
    merchant_id: int
    post_id: int
    surface: str
    method: str


async def find_mention(session: AsyncSession, scope: Scope, mention_id: int) -> MentionRef | None:
    """The mention, when it belongs to the scope (None otherwise: another merchant's, or none)."""
    row = (
        await session.execute(
            select(Mention.id, Mention.merchant_id, Mention.post_id, Mention.surface, Mention.method).where(
                Mention.id == mention_id, scope.mentions()
            )
        )
    ).first()
    return None if row is None else MentionRef(int(row[0]), int(row[1] or 0), int(row[2]), str(row[3]), str(row[4]))


async def find_story(session: AsyncSession, scope: Scope, story_id: int) -> tuple[int, str] | None:
    """(story id, state) of a story of the scope, else None."""
    row = (
        await session.execute(
            select(Story.id, Story.state).where(Story.id == story_id, Story.merchant_id.in_(scope.merchant_ids))
        )
    ).first()
    return None if row is None else (int(row[0]), str(row[1]))


async def merchants_in(session: AsyncSession, merchant_ids: Sequence[int]) -> list[Merchant]:
    """The merchants of an account (aliases and handles loaded), by name."""
    if not merchant_ids:
        return []
    query = select(Merchant).where(Merchant.id.in_(list(merchant_ids))).order_by(Merchant.name, Merchant.id)
    return list((await session.scalars(query)).all())
