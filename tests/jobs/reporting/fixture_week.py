"""The hand-computed fixture week of the report tests: campaign `soutenons` (Europe/Paris), ISO week 2026-W43,
Monday 19 to Sunday 25 October 2026: the clocks go back on that Sunday, so the week lasts 169 hours, from
2026-10-18 22:00 UTC to 2026-10-25 23:00 UTC.

28 posts in the week (real posts ingested, real analyses saved), worked out by hand in `EXPECTED`:

    P1  A1 x 1,000 followers  original  Mon  fr positive  likes 10 reposts 2 replies 1 quotes 0, views 2,000
    P2  A1 (twice)            reply     Tue  fr positive  likes 4, views 500
    P3  A2 x 500              original  Wed  ar negative  likes 1 (no views)          names مخبز النور
    P4  A3 mastodon, unknown  original  Thu  fr neutral   likes 3 reposts 1           names Chez Marcel
    P5  A4 mastodon 200       repost of P0 (previous week)  Fri  fr neutral  0 engagement
    P6  instagram, no author  original  Sat  en positive  likes 7 replies 2           names Chez Marcel
    P7  A6 bluesky 50         quote     Sun 23:30 CET (after the change)  fr positive  likes 2
    P8  A7 x 0 followers      original  Sun  not analysed, no metrics (no snapshot)
    F1..F20  B1..B20 bluesky 10 followers each, original, Thu, en neutral, likes 1

P1 also names مخبز النور, P2 Chez Marcel. Outside the week: P0 (A5, Sunday 18 October 23:30 local, the
previous week, names Chez Marcel), P9 (A2, the previous week: A2 is not a new author) and P10 (A1, Monday 26
October 00:00 local: the next week). Snapshots are taken at ingest, 15 minutes before the week ends; a
refresh two days later (P1 at 500 likes) must not count. Source x ran every hour, rate-limited for 3 hours
on Wednesday; two payloads were quarantined in the week (and one before it). P1's author granted rights on a
featured story.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from jobs.services import Services
from listener.post import Author, Metrics, Platform, Post
from storage.models import Author as AuthorRow
from storage.models import JobRun, Quarantine, RightsRequest, Story
from storage.models import Post as PostRow
from storage.repositories.ingest import ingest
from tests.factories import make_post
from tests.storage.stories_setup import Analysed, add_merchant, store

SLUG = "soutenons"
WEEK = "2026-W43"
START = datetime(2026, 10, 18, 22, 0, tzinfo=UTC)
END = datetime(2026, 10, 25, 23, 0, tzinfo=UTC)
INGESTED = END - timedelta(minutes=15)
ARABIC_MERCHANT = "مخبز النور"
ENV = {"LISTENER_X_BEARER_TOKEN": "test-token-not-real", "LISTENER_X_INTERVAL_MINUTES": "60"}

EXPECTED: dict[str, Any] = {
    "posts": 28,
    "original_posts": 25,
    "repost_posts": 1,
    "reply_posts": 1,
    "quote_posts": 1,
    "unique_authors": 26,
    "new_authors": 25,
    "unidentified_posts": 1,
    "potential_reach": 1950,
    "authors_unknown_followers": 1,
    "summed_potential_impressions": 2950,
    "posts_unknown_followers": 2,
    "impressions": 2500,
    "impressions_posts": 2,
    "impressions_share": 2 / 28,
    "engagements": 53,
    "likes": 47,
    "reposts": 3,
    "replies": 3,
    "quotes": 0,
    "engagement_posts": 27,
    "engagement_per_post": 53 / 27,
    "engagement_rate": 53 / 1950,
    "positive": 4,
    "neutral": 22,
    "negative": 1,
    "not_analysed": 1,
    "net_sentiment": 0.6,
}


def local(day: int, hour: int, minute: int = 0, *, offset: int = 2) -> datetime:
    """October 2026 local time in Paris (UTC+2 until Sunday 25 at 03:00, UTC+1 after)."""
    return datetime(2026, 10, day, hour, minute, tzinfo=UTC) - timedelta(hours=offset)


def author(name: str, followers: int | None) -> Author:
    return Author(platform_id=f"id-{name}", handle=name, display_name=name.title(), followers=followers)


def post(
    n: int,
    who: Author,
    at: datetime,
    *,
    platform: Platform = Platform.X,
    metrics: Metrics | None = None,
    text: str | None = None,
    **links: Any,
) -> Post:
    base = make_post(n, platform=platform, author=who, created_at=at, text=text or f"Post {n} #SoutenonsnosTPEPME")
    return dataclasses.replace(base, metrics=metrics or Metrics(), **links)


@dataclasses.dataclass
class Fixture:
    ids: dict[str, int]  # post platform id -> post id
    posts: dict[str, Post]
    arabic_id: int
    marcel_id: int


async def seed(services: Services) -> Fixture:
    campaign = services.campaign_ids[SLUG]
    a1, a2, a3, a4, a5 = author("a1", 1000), author("a2", 500), author("a3", None), author("a4", 200), author("a5", 300)
    a6, a7 = author("a6", 50), author("a7", 0)
    nobody = Author(platform_id="unknown:9006", handle="")
    m = Metrics
    p0 = post(9000, a5, local(18, 23, 30), metrics=m(likes=100, reposts=0, replies=0, quotes=0))
    posts = {
        "P0": p0,
        "P9": post(9009, a2, local(14, 12), metrics=m(likes=1, reposts=0, replies=0, quotes=0)),
        "P10": post(9010, a1, local(26, 0, offset=1), metrics=m(likes=1, reposts=0, replies=0, quotes=0)),
        "P1": post(9001, a1, local(19, 10), metrics=m(likes=10, reposts=2, replies=1, quotes=0, views=2000)),
        "P2": post(
            9002,
            a1,
            local(20, 12),
            metrics=m(likes=4, reposts=0, replies=0, quotes=0, views=500),
            reply_to_id="1009001",
        ),
        "P3": post(9003, a2, local(21, 9), metrics=m(likes=1, reposts=0, replies=0, quotes=0)),
        "P4": post(9004, a3, local(22, 11), platform=Platform.MASTODON, metrics=m(likes=3, reposts=1, replies=0)),
        "P5": post(
            9005,
            a4,
            local(23, 18),
            platform=Platform.MASTODON,
            metrics=m(likes=0, reposts=0, replies=0),
            repost_of_id=p0.platform_id,
        ),
        "P6": post(9006, nobody, local(24, 15), platform=Platform.INSTAGRAM, metrics=m(likes=7, replies=2)),
        "P7": post(
            9007,
            a6,
            local(25, 23, 30, offset=1),
            platform=Platform.BLUESKY,
            metrics=m(likes=2, reposts=0, replies=0),
            quote_of_id="at://quoted/9",
        ),
        "P8": post(9008, a7, local(25, 10, offset=1)),
    }
    for i in range(1, 21):
        posts[f"F{i}"] = post(
            9100 + i,
            author(f"b{i}", 10),
            local(22, 15),
            platform=Platform.BLUESKY,
            metrics=m(likes=1, reposts=0, replies=0, quotes=0),
        )
    async with services.sessions.begin() as session:
        arabic = await add_merchant(session, ARABIC_MERCHANT, city="Marseille", region="Provence")
        marcel = await add_merchant(session, "Chez Marcel", city="Lyon", region="Auvergne-Rhône-Alpes")
    analysed = {
        "P0": Analysed("positive", language="fr", merchant_id=marcel),
        "P9": Analysed("positive", language="fr"),
        "P10": Analysed("positive", language="fr"),
        "P1": Analysed("positive", language="fr", merchant_id=arabic),
        "P2": Analysed("positive", language="fr", merchant_id=marcel),
        "P3": Analysed("negative", language="ar", merchant_id=arabic),
        "P4": Analysed("neutral", language="fr", merchant_id=marcel),
        "P5": Analysed("neutral", language="fr"),
        "P6": Analysed("positive", language="en", merchant_id=marcel),
        "P7": Analysed("positive", language="fr"),
        "P8": None,
        **{f"F{i}": Analysed("neutral", language="en") for i in range(1, 21)},
    }
    # Ingested 15 minutes before the week's end: every snapshot counts; the refresh after the week must not.
    async with services.sessions.begin() as session:
        await ingest(session, list(posts.values()), campaign_ids=[campaign], now=INGESTED)
        ids = await store(session, campaign, [(posts[k], analysed[k]) for k in posts])
    refreshed = dataclasses.replace(posts["P1"], metrics=m(likes=500, reposts=2, replies=1, quotes=0, views=9000))
    async with services.sessions.begin() as session:
        await ingest(session, [refreshed], campaign_ids=[campaign], now=END + timedelta(days=2))
    await _story(services, campaign, ids[posts["P1"].platform_id], arabic)
    await _collection_history(services)
    return Fixture(ids, posts, arabic, marcel)


async def _story(services: Services, campaign: int, post_id: int, merchant: int) -> None:
    """P1 featured on Thursday with its author's rights granted: the author is public in exports."""
    async with services.sessions.begin() as session:
        row = await session.get(PostRow, post_id)
        assert row is not None
        author_id = row.author_id
        story = Story(
            post_id=post_id,
            campaign_id=campaign,
            merchant_id=merchant,
            state="featured",
            score=0.9,
            score_breakdown={},
            platform="x",
            language="fr",
            sentiment="positive",
            author_id=author_id,
            post_created_at=row.created_at,
            public_name="Amina <b>B.</b>",
            featured_from=local(22, 9),
            featured_until=local(29, 9, offset=1),
            created_at=local(21, 9),
            updated_at=local(22, 9),
        )
        session.add(story)
        await session.flush()
        session.add(
            RightsRequest(
                story_id=story.id,
                requested_at=local(21, 10),
                expires_at=local(30, 10, offset=1),
                message="May we feature your post?",
                consent_hashtag="OuiSoutenons",
                status="granted",
                granted_at=local(21, 12),
            )
        )


def _run(at: datetime, status: str, until: datetime | None = None) -> JobRun:
    result = {"source": "x", "status": status, "rate_limited_until": until.isoformat() if until else None}
    return JobRun(
        job="collect:x",
        status="ok",
        started_at=at,
        finished_at=at + timedelta(seconds=20),
        detail={"sources": [result], "seconds": 20.0},
    )


async def _collection_history(services: Services) -> None:
    """x ran every hour of the week; on Wednesday 21 at 10:00 local (08:00 UTC) a 429 announced a reset at
    11:00 UTC: rate-limited for 3 hours (the runs of 09:00 and 10:00 UTC were skipped)."""
    limited, reset = local(21, 10), local(21, 13)
    async with services.sessions.begin() as session:
        at = START
        while at < END:
            if at == limited:
                session.add(_run(at, "rate_limited", reset))
            elif limited < at < reset:
                session.add(_run(at, "skipped", reset))
            else:
                session.add(_run(at, "ok"))
            at += timedelta(hours=1)
        for received in (local(20, 8), local(24, 8), local(17, 8)):
            session.add(Quarantine(source="x", platform="x", payload="{}", error="bad", received_at=received))


async def author_id_of(services: Services, platform_id: str) -> int:
    async with services.sessions() as session:
        found = await session.scalar(select(AuthorRow.id).where(AuthorRow.platform_id == platform_id))
        assert found is not None
        return int(found)
