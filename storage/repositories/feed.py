"""The public featured feed: the stories featured right now, as the public may see them.

This is the only query behind `/feed/featured.json`, `/feed/featured.rss` and the widget, so it is also the
privacy boundary: `FeaturedItem` carries nothing but what the author allowed to be shown (the public name
recorded when rights were granted, never a handle, an e-mail, a follower count, a user id or a raw payload)
and what the merchant registry publishes (name and city). A story is featured now when its state is
`featured` and now falls in its window [featured_from, featured_until); a NULL end is open-ended. The
filter starts on the stories index (state, featured_until).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Campaign, Merchant, Post, Story

FEATURED = "featured"


@dataclass(frozen=True)
class FeaturedItem:
    story_id: int
    campaign_slug: str
    campaign_name: str
    public_name: str | None  # as the author allowed it; None: shown anonymously
    merchant_name: str | None
    merchant_city: str | None
    text: str
    url: str | None  # the original post; only http(s) links are ever handed out
    platform: str
    language: str
    featured_from: datetime
    post_created_at: datetime


# What urlsplit removes or checks before it reads a link (tabs and newlines anywhere, brackets of an IPv6
# host): a link holding one goes the long way.
_ODD = re.compile(r"[\t\r\n\[\]]")


def public_url(url: str | None) -> str | None:
    """`url` when it is an absolute http(s) link, else None: a `javascript:` or `data:` link never leaves."""
    if not url:
        return None
    clean = url.strip()
    # The common case, a plain ASCII http(s) link with a host, is answered without urlsplit (a queue page asks
    # fifty times); anything else gets urlsplit's own answer.
    head = clean[:8].lower()
    rest = clean[8:] if head == "https://" else clean[7:] if head.startswith("http://") else ""
    if rest[:1] not in ("", "/", "?", "#") and clean.isascii() and not _ODD.search(clean):
        return clean
    try:
        parts = urlsplit(clean)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return clean


async def featured_now(
    session: AsyncSession, *, campaign_slug: str | None, now: datetime, limit: int
) -> list[FeaturedItem]:
    """The stories featured at `now` (of one campaign, or all), newest featured first, at most `limit`."""
    query = (
        select(
            Story.id,
            Campaign.slug,
            Campaign.name,
            Story.public_name,
            Merchant.name,
            Merchant.city,
            Post.text,
            Post.url,
            Story.platform,
            Story.language,
            Story.featured_from,
            Story.post_created_at,
        )
        .join(Campaign, Campaign.id == Story.campaign_id)
        .join(Post, Post.id == Story.post_id)
        .outerjoin(Merchant, Merchant.id == Story.merchant_id)
        .where(
            Story.state == FEATURED,
            or_(Story.featured_until.is_(None), Story.featured_until > now),
            Story.featured_from.is_not(None),
            Story.featured_from <= now,
            # A merchant who opted out after the story was featured disappears from the feed at once.
            or_(Merchant.id.is_(None), Merchant.feature_opt_out.is_(False)),
        )
        .order_by(Story.featured_from.desc(), Story.id.desc())
        .limit(limit)
    )
    if campaign_slug is not None:
        query = query.where(Campaign.slug == campaign_slug)
    rows = await session.execute(query)
    return [
        FeaturedItem(
            story_id=story_id,
            campaign_slug=slug,
            campaign_name=campaign_name,
            public_name=public_name or None,
            merchant_name=merchant_name,
            merchant_city=merchant_city,
            text=text,
            url=public_url(url),
            platform=platform,
            language=language,
            featured_from=featured_from,
            post_created_at=post_created_at,
        )
        for (
            story_id,
            slug,
            campaign_name,
            public_name,
            merchant_name,
            merchant_city,
            text,
            url,
            platform,
            language,
            featured_from,
            post_created_at,
        ) in rows
    ]
