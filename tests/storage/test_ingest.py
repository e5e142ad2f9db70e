"""Idempotent bulk ingest: counts, no duplicates, metrics updates with snapshots, checkpoint atomicity."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from listener.post import Author, Metrics, Platform, Post
from storage.engine import create_engine, make_sessionmaker
from storage.models import Author as AuthorRow
from storage.models import EngagementSnapshot, PostCampaign, Source
from storage.models import Post as PostRow
from storage.repositories.campaigns import sync_campaigns
from storage.repositories.ingest import CheckpointUpdate, IngestCounts, ingest, load_checkpoint
from tests.factories import make_author, make_post


async def commit_ingest(session: AsyncSession, posts: list[Post], **kwargs: Any) -> IngestCounts:
    result = await ingest(session, posts, **kwargs)
    await session.commit()
    return result


async def count(session: AsyncSession, model: type) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def campaign_and_source(session: AsyncSession, settings_for, db_url: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    ids = await sync_campaigns(session, settings_for(db_url).campaigns)
    source = Source(name="x", platform="x", status="idle", last_new_posts=0)
    session.add(source)
    await session.flush()
    return ids["lovelocal"], source.id


async def test_new_then_unchanged_then_updated(session: AsyncSession) -> None:
    posts = [make_post(n) for n in range(1, 6)]
    first = await commit_ingest(session, posts)
    assert (first.new, first.updated, first.unchanged) == (5, 0, 0)
    assert len(first.new_ids) == 5

    again = await commit_ingest(session, posts)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 5)
    assert await count(session, PostRow) == 5
    assert await count(session, AuthorRow) == 5

    grown = [
        replace(posts[0], metrics=Metrics(likes=40, reposts=3, replies=1, quotes=0, views=900)),
        *posts[1:],
    ]
    third = await commit_ingest(session, grown)
    assert (third.new, third.updated, third.unchanged) == (0, 1, 4)
    row = await session.scalar(select(PostRow).where(PostRow.platform_id == posts[0].platform_id))
    assert row is not None
    assert (row.likes, row.reposts, row.views) == (40, 3, 900)
    snapshots = (
        await session.execute(
            select(EngagementSnapshot.likes).where(EngagementSnapshot.post_id == row.id).order_by(EngagementSnapshot.id)
        )
    ).scalars()
    assert list(snapshots) == [1, 40]  # the first sighting and the change, over time


async def test_missing_metric_or_followers_keep_the_last_known_value(session: AsyncSession) -> None:
    author = make_author(7, followers=1200)
    post = make_post(7, author=author, likes=10, views=500)
    await commit_ingest(session, [post])
    silent = replace(
        post,
        author=replace(author, followers=None),
        metrics=Metrics(likes=10, reposts=0, replies=0, quotes=0),
    )
    result = await commit_ingest(session, [silent])
    assert result.unchanged == 1
    row = await session.scalar(select(PostRow).where(PostRow.platform_id == post.platform_id))
    assert row is not None
    assert row.views == 500
    followers = await session.scalar(select(AuthorRow.followers).where(AuthorRow.platform_id == author.platform_id))
    assert followers == 1200


async def test_unknown_followers_stay_unknown_not_zero(session: AsyncSession) -> None:
    post = make_post(8, author=make_author(8, followers=None))
    await commit_ingest(session, [post])
    assert await session.scalar(select(AuthorRow.followers)) is None


async def test_duplicates_within_one_batch_are_stored_once_with_the_latest_metrics(
    session: AsyncSession,
) -> None:
    post = make_post(9, likes=1)
    later = replace(post, metrics=Metrics(likes=5))
    result = await commit_ingest(session, [post, later])
    assert (result.new, result.unchanged) == (1, 1)
    assert await session.scalar(select(PostRow.likes)) == 5


async def test_same_id_on_two_platforms_are_two_posts(session: AsyncSession) -> None:
    x = make_post(10)
    masto = replace(x, platform=Platform.MASTODON, author=replace(x.author))
    result = await commit_ingest(session, [x, masto])
    assert result.new == 2
    assert await count(session, AuthorRow) == 2


async def test_arabic_emoji_and_odd_unicode_are_kept_byte_for_byte(session: AsyncSession) -> None:
    text = "شكراً لمخبز الأمل 🥖❤️ على الخبز الطازج #LoveLocal\u200f — café «Chez Zoé» 👩🏽‍🍳 \U0001f1eb\U0001f1f7"
    name = "مَخْبَز ‎Amal‏"
    post = make_post(11, text=text, author=Author(platform_id="a11", handle="amal", display_name=name, followers=3))
    await commit_ingest(session, [post])
    session.expunge_all()
    stored = await session.scalar(select(PostRow.text))
    assert stored is not None
    assert stored.encode("utf-8") == text.encode("utf-8")
    assert await session.scalar(select(AuthorRow.display_name)) == name


async def test_posts_are_linked_to_campaigns_idempotently(session: AsyncSession, settings_for, db_url: str) -> None:  # type: ignore[no-untyped-def]
    async with session.begin():
        ids = await sync_campaigns(session, settings_for(db_url).campaigns)
    posts = [make_post(n) for n in range(20, 23)]
    both = [ids["lovelocal"], ids["soutenons"]]
    await commit_ingest(session, posts, campaign_ids=both)
    await commit_ingest(session, posts, campaign_ids=both)
    assert await count(session, PostCampaign) == 6


async def test_checkpoint_is_saved_in_the_same_transaction(session: AsyncSession, settings_for, db_url: str) -> None:  # type: ignore[no-untyped-def]
    campaign_id, source_id = await campaign_and_source(session, settings_for, db_url)
    await session.commit()

    def after(since_id: str) -> CheckpointUpdate:
        return CheckpointUpdate(source_id, campaign_id, "#LoveLocal", {"since_id": since_id})

    page1 = [make_post(n) for n in range(30, 33)]
    await commit_ingest(session, page1, campaign_ids=[campaign_id], checkpoint=after("1000032"))
    # Page 2 is written, then the process "crashes" before commit: neither posts nor checkpoint survive.
    page2 = [make_post(n) for n in range(33, 36)]
    await ingest(session, page2, campaign_ids=[campaign_id], checkpoint=after("1000035"))
    await session.rollback()
    assert await load_checkpoint(session, source_id, campaign_id, "#LoveLocal") == {"since_id": "1000032"}
    assert await count(session, PostRow) == 3
    await session.commit()
    # Resuming from the committed checkpoint re-fetches page 2 (with an overlap): stored once, nothing lost.
    resumed = await commit_ingest(session, page1[-1:] + page2, campaign_ids=[campaign_id], checkpoint=after("1000035"))
    assert (resumed.new, resumed.unchanged) == (3, 1)
    assert await count(session, PostRow) == 6
    assert await load_checkpoint(session, source_id, campaign_id, "#LoveLocal") == {"since_id": "1000035"}


async def test_large_batch_spanning_many_chunks(session: AsyncSession) -> None:
    posts = [make_post(n, author=make_author(n % 97)) for n in range(100, 2600)]
    result = await commit_ingest(session, posts)
    assert result.new == 2500
    assert await count(session, AuthorRow) == 97
    await session.commit()
    assert (await commit_ingest(session, posts)).unchanged == 2500


async def test_overlapping_batches_from_two_sessions_store_each_post_once(engine: AsyncEngine) -> None:
    sessions = make_sessionmaker(engine)
    posts = [make_post(n) for n in range(3000, 3050)]
    async with sessions.begin() as first:
        a = await ingest(first, posts[:30])
    async with sessions.begin() as second:
        b = await ingest(second, posts)
    assert (a.new, b.new, b.unchanged) == (30, 20, 30)
    async with sessions() as session:
        assert await count(session, PostRow) == 50


@pytest.mark.postgres
async def test_concurrent_writers_on_postgres_do_not_duplicate_or_fail(pg_url: str) -> None:
    # SQLite has a single writer by design; the race between writers only exists on PostgreSQL.
    engine = create_engine(pg_url)
    sessions = make_sessionmaker(engine)
    posts = [make_post(n) for n in range(4000, 4040)]
    first = sessions()
    await first.begin()
    a = await ingest(first, posts)  # written, not yet committed
    # The second writer does not see the uncommitted rows; its INSERT waits on them, then skips them.
    second_task = asyncio.create_task(commit_second(sessions, posts))
    await asyncio.sleep(0.3)
    await first.commit()
    await first.close()
    b = await second_task
    assert a.new == 40
    assert (b.new, b.unchanged) == (0, 40)
    async with sessions() as session:
        assert await count(session, PostRow) == 40
    await engine.dispose()


async def commit_second(sessions: Any, posts: list[Post]) -> IngestCounts:
    async with sessions.begin() as session:
        return await ingest(session, posts)


async def test_edited_text_counts_as_updated(session: AsyncSession) -> None:
    post = make_post(40, text="Merci à la fromagerie !")
    await commit_ingest(session, [post])
    result = await commit_ingest(session, [replace(post, text="Merci à la fromagerie Dupont !")])
    assert result.updated == 1
    assert await session.scalar(select(PostRow.text)) == "Merci à la fromagerie Dupont !"
    # Text edits alone do not make an engagement snapshot: the metrics did not move.
    assert await count(session, EngagementSnapshot) == 1
