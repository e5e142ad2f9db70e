"""Shared setup for the merchant portal tests: two merchants (A and B), each with real posts ingested into
#LoveLocal and analysed through the analyses repository (links with their alias, sentiments, languages,
platforms), a story of each made by the real stories job and featured, and merchant users bound to each.
Times are relative to now, so the portal's default period (the last 30 days) holds them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update

from jobs import stories as stories_job
from jobs.services import Services
from listener.post import Author, Platform, Post
from nlp.results import Link
from nlp.signals import fingerprint
from storage.models import Mention, MerchantHandle, Story
from storage.models import Post as PostRow
from storage.repositories._sql import utcnow
from storage.repositories.analyses import AnalysisRecord, save_analyses
from storage.repositories.ingest import ingest
from storage.repositories.users import Role, add_user
from tests.factories import make_post
from tests.storage.stories_setup import add_merchant, good_signals
from tests.web.curation_setup import HASH, HOSTILE

A_USER, B_USER, A_SECOND = "owner@amal.example", "owner@zitouna.example", "staff@amal.example"
CURATOR = "curator@example.org"


@dataclass(frozen=True)
class Item:
    post: Post
    merchant: str  # "a" or "b"
    alias: str
    sentiment: str = "positive"
    score: float = 0.7
    language: str = "fr"


@dataclass
class World:
    a: int
    b: int
    posts: dict[str, int] = field(default_factory=dict)  # name -> post id
    mentions: dict[str, int] = field(default_factory=dict)  # name -> mention id
    stories: dict[str, int] = field(default_factory=dict)  # "a" / "b" -> featured story id


def _items(now_hours: float = 0) -> dict[str, Item]:
    def at(hours: float) -> datetime:
        return utcnow() - timedelta(hours=hours + now_hours)

    hostile_author = Author(platform_id="u-hostile-portal", handle="hostile_writer", display_name=HOSTILE)
    return {
        "a_story": Item(
            make_post(7001, text="J'adore la Boulangerie Amal, merci pour l'accueil ! #LoveLocal", created_at=at(2)),
            "a",
            "Boulangerie Amal",
        ),
        "a_english": Item(
            make_post(7002, text="Amal bakery has the best bread in town #LoveLocal", created_at=at(30),
                      language_hint="en", platform=Platform.MASTODON),
            "a", "Amal", "positive", 0.5, "en",
        ),
        "a_negative": Item(
            make_post(7003, text="Déçu par Amal ce matin, pain trop cuit. #LoveLocal", created_at=at(80)),
            "a", "Amal", "negative", -0.6,
        ),
        "a_arabic": Item(
            make_post(7004, text="شكرا لمخبزة أمل، أنصح بها! #LoveLocal", created_at=at(200), language_hint="ar"),
            "a", "مخبزة أمل", "positive", 0.4, "ar",
        ),
        "a_hostile": Item(
            make_post(7005, text=HOSTILE + " chez Amal #LoveLocal", author=hostile_author, created_at=at(5)),
            "a", "Amal", "neutral", 0.0,
        ),
        "b_story": Item(
            make_post(7101, text="Merci à l'Épicerie Zitouna, je recommande ! #LoveLocal", created_at=at(3)),
            "b", "Épicerie Zitouna",
        ),
        "b_other": Item(
            make_post(7102, text="Les olives de Zitouna sont parfaites #LoveLocal", created_at=at(50)),
            "b", "Zitouna", "positive", 0.6,
        ),
    }  # fmt: skip


async def build(services: Services) -> World:
    """Merchants, posts with their analyses and links, featured stories, merchant users and a curator."""
    async with services.sessions.begin() as session:
        a = await add_merchant(session, "Boulangerie Amal", city="Casablanca")
        b = await add_merchant(session, "Épicerie Zitouna", city="Rabat")
        # The author of "a_story" is the shop's own account: merchants see it by name, other authors by pseudonym.
        session.add(MerchantHandle(merchant_id=a, platform="x", handle="user7001"))
    world = World(a, b)
    items = _items()
    merchant_of = {"a": a, "b": b}
    async with services.sessions.begin() as session:
        await ingest(session, [i.post for i in items.values()], campaign_ids=[services.campaign_ids["lovelocal"]])
        rows = await session.execute(
            select(PostRow.platform_id, PostRow.id).where(
                PostRow.platform_id.in_([i.post.platform_id for i in items.values()])
            )
        )
        ids = {str(p): int(i) for p, i in rows.all()}
        records = []
        for item in items.values():
            start = item.post.text.find(item.alias)
            link = Link(merchant_of[item.merchant], "alias", 0.85, start, start + len(item.alias), item.alias)
            records.append(
                AnalysisRecord(
                    post_id=ids[item.post.platform_id],
                    language=item.language,
                    language_confidence=0.9,
                    sentiment=item.sentiment,
                    sentiment_score=item.score,
                    signals={**good_signals(), "fingerprint": fingerprint(item.post.text)},
                    pipeline_version="test",
                    links=[link],
                    discoveries=[],
                )
            )
        await save_analyses(session, records)
    world.posts = {name: ids[item.post.platform_id] for name, item in items.items()}
    async with services.sessions() as session:
        mentions = await session.execute(select(Mention.post_id, Mention.id))
        by_post = {int(p): int(m) for p, m in mentions.all()}
    world.mentions = {name: by_post[post_id] for name, post_id in world.posts.items()}
    await stories_job.run(services)
    now = utcnow()
    async with services.sessions.begin() as session:
        for name in ("a", "b"):
            story_id = await session.scalar(select(Story.id).where(Story.post_id == world.posts[f"{name}_story"]))
            assert story_id is not None, "the stories job made no story of the post"
            await session.execute(
                update(Story)
                .where(Story.id == story_id)
                .values(state="featured", featured_from=now - timedelta(days=1), featured_until=now + timedelta(days=6))
            )
            world.stories[name] = int(story_id)
        await add_user(session, A_USER, Role.MERCHANT, HASH, [a])
        await add_user(session, A_SECOND, Role.MERCHANT, HASH, [a])
        await add_user(session, B_USER, Role.MERCHANT, HASH, [b])
        await add_user(session, CURATOR, Role.CURATOR, HASH)
    return world
