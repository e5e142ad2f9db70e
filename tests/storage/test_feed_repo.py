"""The public featured feed query: exactly the stories featured now, newest first, nothing private.

Real rows on SQLite and PostgreSQL: posts through `ingest`, stories and merchants through the ORM.
`add_story` and `add_merchant` are shared with tests/web/test_feeds.py.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from jobs.services import Services
from storage.models import Merchant, Story
from storage.models import Post as PostRow
from storage.repositories.feed import FeaturedItem, featured_now, public_url
from storage.repositories.ingest import ingest
from tests.factories import BASE_TIME, make_author, make_post

NOW = BASE_TIME + timedelta(days=3)


async def add_merchant(
    session: AsyncSession, name: str, *, city: str | None = "Casablanca", opt_out: bool = False
) -> Merchant:
    merchant = Merchant(
        key=f"{name.casefold()}|{(city or '').casefold()}",
        name=name,
        city=city,
        status="active",
        feature_opt_out=opt_out,
        created_at=BASE_TIME,
        updated_at=BASE_TIME,
        aliases=[],
        handles=[],
    )
    session.add(merchant)
    await session.flush()
    return merchant


async def add_story(
    session: AsyncSession,
    campaign_id: int,
    n: int,
    *,
    state: str = "featured",
    featured_from: datetime | None = NOW - timedelta(days=1),
    featured_until: datetime | None = None,
    public_name: str | None = "Amina B.",
    merchant: Merchant | None = None,
    text: str | None = None,
    url: str | None = None,
    language: str = "fr",
) -> Story:
    """A stored post (author `user<n>`, 5000 followers) and its story in `state`."""
    post = make_post(n, text=text, author=make_author(n, followers=5000), created_at=BASE_TIME + timedelta(hours=n))
    await ingest(session, [post], campaign_ids=[campaign_id])
    row = await session.scalar(
        select(PostRow).where(PostRow.platform == post.platform.value, PostRow.platform_id == post.platform_id)
    )
    assert row is not None
    if url is not None:
        await session.execute(update(PostRow).where(PostRow.id == row.id).values(url=url))
    story = Story(
        post_id=row.id,
        campaign_id=campaign_id,
        merchant_id=merchant.id if merchant else None,
        state=state,
        score=0.8,
        score_breakdown={"sentiment": 0.3},
        platform=post.platform.value,
        language=language,
        sentiment="positive",
        author_id=row.author_id,
        post_created_at=post.created_at,
        public_name=public_name,
        featured_from=featured_from,
        featured_until=featured_until,
        created_at=BASE_TIME,
        updated_at=BASE_TIME,
    )
    session.add(story)
    await session.flush()
    return story


async def ids(session: AsyncSession, campaign_slug: str | None = None, limit: int = 50) -> list[int]:
    items = await featured_now(session, campaign_slug=campaign_slug, now=NOW, limit=limit)
    return [i.story_id for i in items]


async def test_only_stories_featured_now_appear_newest_featured_first(services: Services) -> None:
    love = services.campaign_ids["lovelocal"]
    async with services.sessions.begin() as session:
        open_ended = await add_story(session, love, 1, featured_from=NOW - timedelta(days=2))
        windowed = await add_story(
            session, love, 2, featured_from=NOW - timedelta(hours=1), featured_until=NOW + timedelta(days=6)
        )
        starts_now = await add_story(session, love, 3, featured_from=NOW)
        # Expired, ends exactly now (the end is exclusive), not started yet, never given a start.
        await add_story(session, love, 4, featured_from=NOW - timedelta(days=9), featured_until=NOW - timedelta(days=2))
        await add_story(session, love, 5, featured_from=NOW - timedelta(days=7), featured_until=NOW)
        await add_story(session, love, 6, featured_from=NOW + timedelta(minutes=1))
        await add_story(session, love, 7, featured_from=None)
        # Other states, even with a window that covers now.
        for n, state in enumerate(["candidate", "shortlisted", "rights_granted", "archived", "rejected"], start=8):
            await add_story(session, love, n, state=state)
    async with services.sessions() as session:
        assert await ids(session) == [starts_now.id, windowed.id, open_ended.id]
        assert await ids(session, limit=2) == [starts_now.id, windowed.id]


async def test_campaign_filter(services: Services) -> None:
    async with services.sessions.begin() as session:
        love = await add_story(session, services.campaign_ids["lovelocal"], 1)
        soutenons = await add_story(session, services.campaign_ids["soutenons"], 2)
    async with services.sessions() as session:
        assert await ids(session, "lovelocal") == [love.id]
        assert await ids(session, "soutenons") == [soutenons.id]
        assert sorted(await ids(session)) == sorted([love.id, soutenons.id])
        assert await ids(session, "nope") == []


async def test_item_carries_public_fields_only(services: Services) -> None:
    love = services.campaign_ids["lovelocal"]
    async with services.sessions.begin() as session:
        shop = await add_merchant(session, "Épicerie Atlas", city="Rabat")
        named = await add_story(session, love, 1, merchant=shop, public_name="Amina B.", language="ar")
        anonymous = await add_story(session, love, 2, public_name=None, featured_from=NOW - timedelta(days=2))
    async with services.sessions() as session:
        items = await featured_now(session, campaign_slug=None, now=NOW, limit=10)
    assert [f.name for f in dataclasses.fields(FeaturedItem)] == [
        "story_id", "campaign_slug", "campaign_name", "public_name", "merchant_name", "merchant_city", "text",
        "url", "platform", "language", "featured_from", "post_created_at",
    ]  # fmt: skip
    first, second = items
    assert first == FeaturedItem(
        story_id=named.id,
        campaign_slug="lovelocal",
        campaign_name=first.campaign_name,
        public_name="Amina B.",
        merchant_name="Épicerie Atlas",
        merchant_city="Rabat",
        text="J'adore ma boulangerie du quartier #LoveLocal 1",
        url="https://example.test/status/1",
        platform="x",
        language="ar",
        featured_from=NOW - timedelta(days=1),
        post_created_at=BASE_TIME + timedelta(hours=1),
    )
    assert first.campaign_name == services.settings.campaigns["lovelocal"].name
    # No public name allowed: nothing in its place (never the handle or the display name).
    assert second.story_id == anonymous.id
    assert second.public_name is None
    assert (second.merchant_name, second.merchant_city) == (None, None)
    for item in items:
        values = [str(v) for v in dataclasses.astuple(item)]
        assert not any("user" in v for v in values)  # the handle / display name of the author
        assert "5000" not in values


async def test_opted_out_merchant_and_unsafe_links_are_left_out(services: Services) -> None:
    love = services.campaign_ids["lovelocal"]
    async with services.sessions.begin() as session:
        shy = await add_merchant(session, "Discret", opt_out=True)
        await add_story(session, love, 1, merchant=shy)
        script_link = await add_story(session, love, 2, url="javascript:alert(1)")
    async with services.sessions() as session:
        items = await featured_now(session, campaign_slug=None, now=NOW, limit=10)
    assert [i.story_id for i in items] == [script_link.id]
    assert items[0].url is None


def test_public_url_keeps_http_links_only() -> None:
    assert public_url("https://x.com/a/status/1") == "https://x.com/a/status/1"
    assert public_url(" http://example.org/p ") == "http://example.org/p"
    assert public_url("HTTPS://EXAMPLE.ORG/") == "HTTPS://EXAMPLE.ORG/"
    for bad in (None, "", "javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,x", "//example.org/p",
                "/relative", "http://", "http://[::1"):  # fmt: skip
        assert public_url(bad) is None, bad


def _by_urlsplit(url: str | None) -> str | None:
    """The rule public_url keeps, written the plain way: its fast path must never answer differently."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    return url.strip() if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def test_public_url_answers_as_urlsplit_does_for_odd_links() -> None:
    pieces = ["http://", "https://", "HTTP://", "hTtPs://", "http:/", "https:", "ftp://", " ", "\t", "\n", "\x00",
              "/", "?", "#", "@", ":", "[", "]", "::1", "é", "ｅxample", "example.org", "a", "/p?q=1#f", "\u2100",
              "javascript:", "%2F", "\\", "\u200f"]  # fmt: skip
    rng = random.Random(5)
    links = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 5))) for _ in range(20_000)]
    links += [a + b + c for a in pieces[:6] for b in pieces for c in ("", "x", "/y")]
    for link in links:
        assert public_url(link) == _by_urlsplit(link), repr(link)
