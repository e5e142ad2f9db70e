"""The stories repository on both databases: every move and the forbidden ones, undo, bulk moves, rights
requests (message, reply link, refusals), featuring under the rotation rules (opt-out, weekly cap, campaign
dates, balance warnings), the queue's filters, sorts, pages and capped count, and the story detail."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import insert, select, update

from jobs.services import Services
from listener.post import Platform, Post
from storage.models import Campaign, RightsRequest, Story
from storage.models import Post as PostRow
from storage.repositories import stories as repo
from storage.repositories.ingest import ingest
from storage.repositories.stories import QueueFilters, TransitionError
from tests.factories import make_author, make_post
from tests.storage.stories_setup import NOW, Analysed, add_curator, add_merchant, moves, scored

LATER = NOW + timedelta(hours=1)


async def candidates(services: Services, n: int, first: int = 1) -> list[int]:
    posts = [make_post(first + i, text=f"J'adore la boutique numéro {first + i} ! #LoveLocal") for i in range(n)]
    ids = await scored(services, [(p, Analysed()) for p in posts])
    return [ids[p.platform_id] for p in posts]


async def state_of(services: Services, story_id: int) -> str:
    async with services.sessions() as session:
        return str(await session.scalar(select(Story.state).where(Story.id == story_id)))


async def curator(services: Services) -> int:
    async with services.sessions.begin() as session:
        return await add_curator(session)


# --- moves -------------------------------------------------------------------------------------------------


async def test_moves_record_who_when_and_why(services: Services) -> None:
    [story_id] = await candidates(services, 1)
    user = await curator(services)
    async with services.sessions.begin() as session:
        await repo.transition(session, story_id, "shortlisted", actor_user_id=user, reason="strong story", now=NOW)
    async with services.sessions.begin() as session:
        await repo.transition(session, story_id, "archived", actor_user_id=user, now=LATER)
    async with services.sessions() as session:
        trail = await moves(session, story_id)
    assert trail[1:] == [("candidate", "shortlisted", user, "strong story"), ("shortlisted", "archived", user, None)]
    assert await state_of(services, story_id) == "archived"


@pytest.mark.parametrize(
    ("to_state", "reason", "message"),
    [
        ("featured", None, "feature it with feature"),
        ("rights_requested", None, "request_rights"),
        ("rights_granted", None, "consent reply"),
        ("rejected", None, "needs a reason"),
        ("rejected", "   ", "needs a reason"),
        ("candidate", None, "already candidate"),
        ("published", None, "unknown story state 'published'"),
    ],
)
async def test_forbidden_moves_are_refused_with_a_clear_message(
    services: Services, to_state: str, reason: str | None, message: str
) -> None:
    [story_id] = await candidates(services, 1)
    async with services.sessions.begin() as session:
        with pytest.raises(TransitionError, match=message):
            await repo.transition(session, story_id, to_state, actor_user_id=None, reason=reason, now=NOW)
    assert await state_of(services, story_id) == "candidate"


async def test_rejected_is_final_but_for_undo_and_rejection_works_from_any_state(services: Services) -> None:
    a, b = await candidates(services, 2)
    async with services.sessions.begin() as session:
        await repo.transition(session, a, "shortlisted", actor_user_id=None, now=NOW)
        await repo.transition(session, a, "rejected", actor_user_id=None, reason="off topic", now=NOW)
        await repo.transition(session, b, "archived", actor_user_id=None, now=NOW)
        await repo.transition(session, b, "rejected", actor_user_id=None, reason="late complaint", now=NOW)
        with pytest.raises(TransitionError, match=r"is rejected: it cannot go to shortlisted \(allowed: none"):
            await repo.transition(session, a, "shortlisted", actor_user_id=None, now=NOW)
    with pytest.raises(TransitionError, match="no story #999999"):
        async with services.sessions.begin() as session:
            await repo.transition(session, 999_999, "shortlisted", actor_user_id=None, now=NOW)


async def test_undo_reverts_the_last_move_and_undoing_an_undo_redoes_it(services: Services) -> None:
    [story_id] = await candidates(services, 1)
    user = await curator(services)
    async with services.sessions.begin() as session:
        await repo.transition(session, story_id, "shortlisted", actor_user_id=user, now=NOW)
        await repo.transition(session, story_id, "rejected", actor_user_id=user, reason="not local", now=NOW)
    async with services.sessions.begin() as session:
        await repo.undo_last(session, story_id, user, LATER)
    assert await state_of(services, story_id) == "shortlisted"
    async with services.sessions.begin() as session:
        await repo.undo_last(session, story_id, user, LATER)
    assert await state_of(services, story_id) == "rejected"
    async with services.sessions() as session:
        trail = await moves(session, story_id)
    assert trail[-2] == ("rejected", "shortlisted", user, "undo: shortlisted → rejected (not local)")
    assert trail[-1][:3] == ("shortlisted", "rejected", user)
    assert str(trail[-1][3]).startswith("undo: rejected → shortlisted")


async def test_undo_of_the_jobs_creation(services: Services) -> None:
    [kept] = await candidates(services, 1)
    low = replace(make_post(9, text="#LoveLocal", likes=0), media=())
    ids = await scored(services, [(low, Analysed(sentiment="neutral", sentiment_score=0.0, signals={"length": 10}))])
    rejected = ids[low.platform_id]
    assert await state_of(services, rejected) == "rejected"
    async with services.sessions.begin() as session:
        await repo.undo_last(session, rejected, None, NOW)  # the curator disagrees with the job
        with pytest.raises(TransitionError, match="has no change to undo"):
            await repo.undo_last(session, kept, None, NOW)
    assert await state_of(services, rejected) == "candidate"


async def test_bulk_moves_move_what_may_and_list_the_rest(services: Services) -> None:
    a, b, c = await candidates(services, 3)
    async with services.sessions.begin() as session:
        await repo.transition(session, c, "rejected", actor_user_id=None, reason="spam", now=NOW)
    async with services.sessions.begin() as session:
        result = await repo.transition_many(session, [a, b, c, 999_999], "shortlisted", actor_user_id=None, now=LATER)
    assert result.changed == [a, b]
    assert set(result.refused) == {c, 999_999}
    assert "is rejected" in result.refused[c]
    assert [await state_of(services, s) for s in (a, b, c)] == ["shortlisted", "shortlisted", "rejected"]
    async with services.sessions.begin() as session:
        refused = await repo.transition_many(session, [a], "featured", actor_user_id=None, now=LATER)
    assert refused.changed == []
    assert "feature" in refused.refused[a]


# --- rights ------------------------------------------------------------------------------------------------


async def shortlisted(services: Services, post: Post, analysed: Analysed | None = None) -> int:
    ids = await scored(services, [(post, analysed or Analysed())])
    async with services.sessions.begin() as session:
        await repo.transition(session, ids[post.platform_id], "shortlisted", actor_user_id=None, now=NOW)
    return ids[post.platform_id]


@pytest.mark.parametrize(
    ("language", "words"),
    [("fr", "Bonjour"), ("en", "Hello"), ("ar", "مرحبا"), ("other", "Hello")],
)
async def test_the_suggested_request_speaks_the_posts_language(services: Services, language: str, words: str) -> None:
    post = make_post(100, author=make_author(100))
    story_id = await shortlisted(services, post, Analysed(language=language))
    async with services.sessions.begin() as session:
        asked = await repo.request_rights(session, story_id, None, None, NOW, timedelta(days=14))
    assert asked.message.startswith(f"{words} @user100")
    assert "#OuiLoveLocal" in asked.message
    assert asked.consent_hashtag == "OuiLoveLocal"
    assert asked.expires_at == NOW + timedelta(days=14)
    assert asked.reply_url is not None
    query = parse_qs(urlsplit(asked.reply_url).query)
    assert asked.reply_url.startswith("https://twitter.com/intent/tweet?")
    assert query == {"in_reply_to": [post.platform_id], "text": [asked.message]}
    assert await state_of(services, story_id) == "rights_requested"


async def test_a_custom_request_must_name_the_hashtag_and_platforms_without_intents_get_no_link(
    services: Services,
) -> None:
    post = make_post(101, platform=Platform.MASTODON)
    story_id = await shortlisted(services, post)
    async with services.sessions.begin() as session:
        with pytest.raises(TransitionError, match="must name the consent hashtag #OuiLoveLocal"):
            await repo.request_rights(session, story_id, None, "May we feature your post?", NOW, timedelta(days=1))
    async with services.sessions.begin() as session:
        asked = await repo.request_rights(
            session, story_id, None, "May we feature it? Reply #OuiLoveLocal", NOW, timedelta(days=1)
        )
    assert asked.reply_url is None
    assert asked.post_url == post.url


async def test_rights_need_a_shortlisted_story_and_a_consent_hashtag(services: Services) -> None:
    [story_id] = await candidates(services, 1)
    async with services.sessions.begin() as session:
        with pytest.raises(TransitionError, match="for a shortlisted story only"):
            await repo.request_rights(session, story_id, None, None, NOW, timedelta(days=1))
        await repo.transition(session, story_id, "shortlisted", actor_user_id=None, now=NOW)
        await session.execute(update(Campaign).values(consent_hashtag=None))
        with pytest.raises(
            TransitionError, match=r"no consent hashtag: set consent_hashtag in \[campaigns.lovelocal\]"
        ):
            await repo.request_rights(session, story_id, None, None, NOW, timedelta(days=1))


async def test_withdrawing_a_request_cancels_it_and_undo_reopens_it(services: Services) -> None:
    story_id = await shortlisted(services, make_post(102))
    async with services.sessions.begin() as session:
        await repo.request_rights(session, story_id, None, None, NOW, timedelta(days=1))
        await repo.transition(session, story_id, "shortlisted", actor_user_id=None, reason="withdrawn", now=NOW)
        status = await session.scalar(select(RightsRequest.status).where(RightsRequest.story_id == story_id))
        assert status == "cancelled"
        await repo.undo_last(session, story_id, None, NOW + timedelta(days=2))
        request = await session.scalar(select(RightsRequest).where(RightsRequest.story_id == story_id))
        assert request is not None
        assert request.status == "pending"
        assert request.expires_at == NOW + timedelta(days=3)  # expired meanwhile: the same time again


async def test_consent_given_elsewhere_is_recorded_by_hand_with_its_evidence(services: Services) -> None:
    story_id = await shortlisted(services, make_post(103, platform=Platform.INSTAGRAM))
    async with services.sessions.begin() as session:
        user = await add_curator(session)
        with pytest.raises(TransitionError, match="request rights before recording consent"):
            await repo.grant_manually(
                session, story_id, actor_user_id=user, evidence="comment", public_name="Amal", now=NOW
            )
        await repo.request_rights(session, story_id, user, None, NOW, timedelta(days=14))
        with pytest.raises(TransitionError, match="say where the author gave consent"):
            await repo.grant_manually(session, story_id, actor_user_id=user, evidence=" ", public_name="A", now=NOW)
        with pytest.raises(TransitionError, match="the name the author agreed"):
            await repo.grant_manually(session, story_id, actor_user_id=user, evidence="DM", public_name="", now=NOW)
        await repo.grant_manually(
            session,
            story_id,
            actor_user_id=user,
            evidence="comment https://instagram.test/p/1 #OuiLoveLocal",
            public_name="Amal B.",
            now=NOW,
        )
        request = await session.scalar(select(RightsRequest).where(RightsRequest.story_id == story_id))
        assert request is not None
        assert (request.status, request.granted_at) == ("granted", NOW)
        story = await session.get(Story, story_id)
        assert story is not None
        assert story.public_name == "Amal B."
        [*_, last] = await moves(session, story_id)
    assert last[1:3] == ("rights_granted", user)
    assert last[3] is not None
    assert "instagram.test/p/1" in last[3]
    assert await state_of(services, story_id) == "rights_granted"


# --- featuring ---------------------------------------------------------------------------------------------


async def granted(services: Services, items: list[tuple[Post, Analysed]]) -> dict[str, int]:
    """Stories whose rights the authors granted by replying with the consent hashtag."""
    ids = await scored(services, items)
    story_ids = [ids[p.platform_id] for p, _ in items]
    async with services.sessions.begin() as session:
        result = await repo.transition_many(session, story_ids, "shortlisted", actor_user_id=None, now=NOW)
        assert result.changed == story_ids
        for story_id in story_ids:
            await repo.request_rights(session, story_id, None, None, NOW, timedelta(days=14))
        replies = [
            replace(
                make_post(5000 + i, text="Oui ! #OuiLoveLocal", author=p.author, created_at=LATER),
                reply_to_id=p.platform_id,
            )
            for i, (p, _) in enumerate(items)
        ]
        await ingest(session, replies)
        assert await repo.grant_from_replies(session, LATER) == len(items)
    return ids


async def test_only_granted_stories_are_featured(services: Services) -> None:
    [story_id] = await candidates(services, 1)
    async with services.sessions.begin() as session:
        with pytest.raises(TransitionError, match="only a story whose rights are granted can be featured"):
            await repo.feature(session, story_id, None, NOW)


async def test_an_opted_out_merchant_is_never_featured(services: Services) -> None:
    async with services.sessions.begin() as session:
        shop = await add_merchant(session, "Café Discret", opt_out=True)
    post = make_post(110)
    ids = await granted(services, [(post, Analysed(merchant_id=shop))])
    async with services.sessions.begin() as session:
        with pytest.raises(TransitionError, match="merchant 'Café Discret' opted out of being featured"):
            await repo.feature(session, ids[post.platform_id], None, LATER)
    assert await state_of(services, ids[post.platform_id]) == "rights_granted"


async def test_at_most_n_stories_per_merchant_per_iso_week(services: Services) -> None:
    async with services.sessions.begin() as session:
        shop = await add_merchant(session, "Boulangerie Amal")
    posts = [make_post(120 + i, text=f"Merci Amal, visite {i} ! #LoveLocal") for i in range(3)]
    ids = await granted(services, [(p, Analysed(merchant_id=shop)) for p in posts])
    a, b, c = (ids[p.platform_id] for p in posts)
    rules = services.settings.stories  # max_per_merchant_per_week = 2, feature_days = 7
    async with services.sessions.begin() as session:
        await repo.feature(session, a, None, LATER, rules=rules)  # Wed 18 Nov to Wed 25 Nov: weeks 47 and 48
        await repo.feature(session, b, None, LATER, rules=rules)
    async with services.sessions.begin() as session:
        with pytest.raises(TransitionError, match=r"already has 2 featured stories in week 2026-W47 \(stories.max_"):
            await repo.feature(session, c, None, LATER, rules=rules)
        with pytest.raises(TransitionError, match="week 2026-W48"):
            await repo.feature(session, c, None, LATER, datetime.fromisoformat("2026-11-24T10:00+00:00"), rules=rules)
        done = await repo.feature(
            session, c, None, LATER, datetime.fromisoformat("2026-11-30T10:00+00:00"), rules=rules
        )
    assert done.featured_until == datetime.fromisoformat("2026-12-07T10:00+00:00")
    assert await state_of(services, c) == "featured"


async def test_the_window_must_fall_within_the_campaign_dates(services: Services) -> None:
    posts = [make_post(130 + i) for i in range(2)]
    ids = await granted(services, [(p, Analysed()) for p in posts])
    story_id = ids[posts[0].platform_id]
    async with services.sessions.begin() as session:
        await session.execute(update(Campaign).values(start_date=date(2026, 11, 20), end_date=None))
        with pytest.raises(
            TransitionError, match=r"starts 2026-11-18, before campaign lovelocal starts \(2026-11-20\)"
        ):
            await repo.feature(session, story_id, None, LATER)
        await session.execute(update(Campaign).values(start_date=None, end_date=date(2026, 11, 17)))
        with pytest.raises(TransitionError, match="after campaign lovelocal ended"):
            await repo.feature(session, story_id, None, LATER)
        with pytest.raises(TransitionError, match="before it starts"):
            await repo.feature(session, story_id, None, LATER, LATER, NOW)
        await session.execute(update(Campaign).values(end_date=date(2026, 11, 20)))
        done = await repo.feature(session, story_id, None, LATER)
    # cut at the end of 20 November in Casablanca (UTC+1)
    assert done.featured_until == datetime.fromisoformat("2026-11-20T23:00+00:00")
    assert any("cut at the campaign's end" in w for w in done.warnings)


async def test_balance_across_languages_is_reported_not_enforced(services: Services) -> None:
    async with services.sessions.begin() as session:
        shops = [await add_merchant(session, f"Shop {i}", region="Casablanca-Settat") for i in range(4)]
    items = [(make_post(140 + i), Analysed(language="fr", merchant_id=shops[i])) for i in range(3)]
    items.append((make_post(143), Analysed(language="ar", merchant_id=shops[3])))
    ids = await granted(services, items)
    results = []
    async with services.sessions.begin() as session:
        for post, _ in items[:3]:
            results.append(await repo.feature(session, ids[post.platform_id], None, LATER))
        report = await repo.rotation_report(session, services.campaign_ids["lovelocal"], LATER)
    assert report.featured == 3
    assert report.by_language == {"fr": 3}
    assert report.by_region == {"Casablanca-Settat": 3}
    assert any("3 of 3 stories featured now share the language fr" in w for w in report.warnings)
    assert any("no story in language ar is featured while 1 with rights granted wait" in w for w in report.warnings)
    assert results[-1].warnings == report.warnings


async def test_undoing_a_feature_clears_its_window(services: Services) -> None:
    post = make_post(150)
    story_id = (await granted(services, [(post, Analysed())]))[post.platform_id]
    async with services.sessions.begin() as session:
        await repo.feature(session, story_id, None, LATER)
        await repo.undo_last(session, story_id, None, LATER)
        found = await session.get(Story, story_id)
        assert found is not None
        assert (found.state, found.featured_from, found.featured_until) == ("rights_granted", None, None)
        assert found.public_name == "User 150"


# --- the queue -----------------------------------------------------------------------------------------------


async def queue(services: Services, **filters: Any) -> repo.QueuePage:
    """The page read in a session and, on SQLite, by the web app's reader thread too: both must agree."""
    limit, offset = filters.pop("limit", 50), filters.pop("offset", 0)
    async with services.sessions() as session:
        page = await repo.queue_page(session, QueueFilters(**filters), limit=limit, offset=offset)
    if services.reader is not None:
        read = functools.partial(
            repo.queue_page_sqlite,
            dialect=services.engine.dialect,
            filters=QueueFilters(**filters),
            limit=limit,
            offset=offset,
        )
        assert await services.reader.run(read) == page
    return page


async def test_queue_filters(services: Services) -> None:
    async with services.sessions.begin() as session:
        shop = await add_merchant(session, "Boulangerie Amal")
    early = NOW - timedelta(days=3)
    items = [
        (make_post(200, likes=5), Analysed(language="fr", merchant_id=shop)),
        (make_post(201, likes=50, platform=Platform.MASTODON), Analysed(language="en")),
        (make_post(202, likes=1, created_at=early), Analysed(language="ar")),
        (make_post(203), Analysed(sentiment="negative", sentiment_score=-0.7)),
    ]
    ids = await scored(services, items)
    sid = [ids[p.platform_id] for p, _ in items]
    campaign = services.campaign_ids["lovelocal"]

    def story_ids(page: repo.QueuePage) -> set[int]:
        return {row.story_id for row in page.rows}

    assert story_ids(await queue(services, campaign_id=campaign)) == set(sid)
    assert story_ids(await queue(services, states=("candidate",))) == set(sid[:3])
    assert story_ids(await queue(services, states=("rejected",))) == {sid[3]}
    assert story_ids(await queue(services, language="ar")) == {sid[2]}
    assert story_ids(await queue(services, sentiment="negative")) == {sid[3]}
    assert story_ids(await queue(services, platform="mastodon")) == {sid[1]}
    assert story_ids(await queue(services, merchant_id=shop)) == {sid[0]}
    assert story_ids(await queue(services, since=NOW - timedelta(days=2))) == {sid[0], sid[1], sid[3]}
    assert story_ids(await queue(services, until=NOW - timedelta(days=2))) == {sid[2]}
    scores = {row.story_id: row.score for row in (await queue(services)).rows}
    middle = sorted(scores.values())[1]
    assert story_ids(await queue(services, min_score=middle)) == {s for s, v in scores.items() if v >= middle}
    assert story_ids(await queue(services, max_score=middle)) == {s for s, v in scores.items() if v <= middle}
    assert story_ids(await queue(services, campaign_id=services.campaign_ids["soutenons"])) == set()
    row = next(r for r in (await queue(services, merchant_id=shop)).rows)
    assert (row.merchant_name, row.author_handle, row.platform, row.has_media, row.likes) == (
        "Boulangerie Amal",
        "user200",
        "x",
        True,
        5,
    )
    assert row.post_created_at == items[0][0].created_at  # an aware UTC datetime on both databases
    assert row.post_created_at.utcoffset() == timedelta(0)
    plain = replace(make_post(204), media=())
    no_media = await scored(services, [(plain, Analysed())])
    [bare] = (await queue(services, since=plain.created_at)).rows
    assert (bare.story_id, bare.has_media) == (no_media[plain.platform_id], False)


async def test_queue_sorts_and_pages(services: Services) -> None:
    items = [
        (make_post(300 + i, likes=likes, created_at=NOW - timedelta(hours=h)), Analysed(sentiment_score=s))
        for i, (likes, h, s) in enumerate([(3, 5, 0.5), (40, 1, 0.2), (0, 30, 0.9), (12, 12, 0.7), (7, 2, 0.1)])
    ]
    await scored(services, items)
    # a story of the other campaign: merged in when no campaign is asked for
    await scored(services, [(make_post(399, likes=1000), Analysed())], slug="soutenons")

    by_score = (await queue(services)).rows
    assert [r.score for r in by_score] == sorted((r.score for r in by_score), reverse=True)
    assert len(by_score) == 6
    newest = (await queue(services, sort="newest")).rows
    assert [r.post_created_at for r in newest] == sorted((r.post_created_at for r in newest), reverse=True)
    oldest = (await queue(services, sort="oldest")).rows
    assert [r.story_id for r in oldest] == [r.story_id for r in reversed(newest)]
    engaged = (await queue(services, sort="engagement")).rows
    assert [r.likes for r in engaged] == [1000, 40, 12, 7, 3, 0]

    first = await queue(services, sort="newest", limit=4)
    second = await queue(services, sort="newest", limit=4, offset=4)
    past = await queue(services, sort="newest", limit=4, offset=8)
    assert (first.total, second.total, past.total, past.rows) == (6, 6, 6, [])
    assert [r.story_id for r in first.rows + second.rows] == [r.story_id for r in newest]
    assert not first.capped
    assert first.total_label == "6"


async def test_queue_dates_come_back_to_the_microsecond_as_aware_utc(services: Services) -> None:
    moments = [NOW.replace(microsecond=0), NOW.replace(microsecond=123456) - timedelta(days=4)]
    posts = [make_post(350 + i, created_at=moment) for i, moment in enumerate(moments)]
    await scored(services, [(p, Analysed()) for p in posts])
    rows = (await queue(services, sort="newest")).rows
    assert [row.post_created_at for row in rows] == moments
    assert {row.post_created_at.utcoffset() for row in rows} == {timedelta(0)}


@pytest.mark.parametrize(
    ("filters", "limit", "message"),
    [
        ({"states": ("published",)}, 50, "unknown story state"),
        ({"sort": "random"}, 50, "unknown sort 'random'"),
        ({}, 0, "limit must be between 1 and 500"),
    ],
)
async def test_bad_queue_requests_say_what_is_wrong(
    services: Services, filters: dict[str, Any], limit: int, message: str
) -> None:
    async with services.sessions() as session:
        with pytest.raises(ValueError, match=message):
            await repo.queue_page(session, QueueFilters(**filters), limit=limit)


async def _bulk_stories(services: Services, states: Sequence[str], merchant_id: int | None = None) -> None:
    """Rows written directly, as a big queue holds them: one story per state given, of one author's posts."""
    campaign = services.campaign_ids["lovelocal"]
    post = make_post(400)
    async with services.sessions.begin() as session:
        await ingest(session, [post])
        author_id = await session.scalar(select(PostRow.author_id).where(PostRow.platform_id == post.platform_id))
        bulk = {"platform": "x", "author_id": author_id, "text": "bulk", "created_at": NOW, "collected_at": NOW}
        bulk |= {"updated_at": NOW, "kind": "original", "hashtags": [], "mentions": [], "urls": [], "media": []}
        await session.execute(insert(PostRow), [{**bulk, "platform_id": f"bulk{i}"} for i in range(len(states))])
        bulk_ids = (await session.scalars(select(PostRow.id).where(PostRow.text == "bulk"))).all()
        story = {"campaign_id": campaign, "score": 0.5, "score_breakdown": {}, "platform": "x"}
        story |= {"language": "fr", "sentiment": "positive", "author_id": author_id, "post_created_at": NOW}
        story |= {"created_at": NOW, "updated_at": NOW, "merchant_id": merchant_id}
        rows = [{**story, "post_id": pid, "state": state} for pid, state in zip(bulk_ids, states, strict=True)]
        await session.execute(insert(Story), rows)


async def test_the_count_stops_past_the_cap(services: Services) -> None:
    campaign = services.campaign_ids["lovelocal"]
    await _bulk_stories(services, ["candidate"] * (repo.COUNT_CAP + 2))

    page = await queue(services, campaign_id=campaign, states=("candidate",))

    assert len(page.rows) == 50
    assert page.total == repo.COUNT_CAP + 1
    assert page.capped
    assert page.total_label == "1,000+"
    assert (await queue(services, states=("candidate", "shortlisted"))).total == repo.COUNT_CAP + 1
    exact = await queue(services, campaign_id=campaign, states=("candidate",), min_score=0.6)
    assert (exact.total, exact.capped, exact.rows) == (0, False, [])


async def test_the_cap_holds_for_the_states_together_with_or_without_a_merchant(services: Services) -> None:
    """600 candidates and 600 shortlisted stories of one merchant: each state is counted exactly, the two
    together are "1,000+", read from the campaign's index and from the merchant's."""
    async with services.sessions.begin() as session:
        shop = await add_merchant(session, "Épicerie Nour", city="Rabat")
    await _bulk_stories(services, ["candidate"] * 600 + ["shortlisted"] * 600, merchant_id=shop)
    campaign = services.campaign_ids["lovelocal"]
    for merchant in ({}, {"merchant_id": shop}):
        alone = await queue(services, campaign_id=campaign, states=("shortlisted",), **merchant)
        assert (alone.total, alone.capped) == (600, False)
        both = await queue(services, campaign_id=campaign, states=("candidate", "shortlisted"), **merchant)
        assert (both.total, both.capped, len(both.rows)) == (repo.COUNT_CAP + 1, True, 50)
        assert {row.merchant_id for row in both.rows} == {shop}
        french = await queue(services, campaign_id=campaign, states=("shortlisted",), language="fr", **merchant)
        assert french.total == 600
        arabic = await queue(services, campaign_id=campaign, states=("shortlisted",), language="ar", **merchant)
        assert (arabic.total, arabic.rows) == (0, [])


# --- the story page ------------------------------------------------------------------------------------------


async def test_story_detail_explains_the_story(services: Services) -> None:
    async with services.sessions.begin() as session:
        shop = await add_merchant(session, "Boulangerie Amal", city="Lyon")
        user = await add_curator(session, "amina@example.test")
    post = make_post(500, text="Merci Boulangerie Amal ! #LoveLocal")
    ids = await scored(services, [(post, Analysed(merchant_id=shop, link_method="name", link_score=0.88))])
    story_id = ids[post.platform_id]
    async with services.sessions.begin() as session:
        await repo.transition(session, story_id, "shortlisted", actor_user_id=user, reason="lovely", now=NOW)
        await repo.request_rights(session, story_id, user, None, NOW, timedelta(days=14))
    async with services.sessions() as session:
        detail = await repo.story_detail(session, story_id)
        assert await repo.story_detail(session, 999_999) is None
    assert detail is not None
    assert (detail.row.story_id, detail.row.state, detail.row.text) == (story_id, "rights_requested", post.text)
    assert (detail.campaign_slug, detail.consent_hashtag) == ("lovelocal", "OuiLoveLocal")
    assert detail.analysis is not None
    assert detail.analysis.signals["first_person"] is True
    assert detail.analysis.sentiment == "positive"
    assert [(m.merchant_name, m.method, m.score) for m in detail.mentions] == [("Boulangerie Amal", "name", 0.88)]
    assert detail.merchant is not None
    assert (detail.merchant.name, detail.merchant.city, detail.merchant.feature_opt_out) == (
        "Boulangerie Amal",
        "Lyon",
        False,
    )
    assert [(t.from_state, t.to_state, t.actor_email) for t in detail.transitions] == [
        (None, "candidate", None),
        ("candidate", "shortlisted", "amina@example.test"),
        ("shortlisted", "rights_requested", "amina@example.test"),
    ]
    assert [(r.status, r.consent_hashtag, r.requested_by) for r in detail.rights_requests] == [
        ("pending", "OuiLoveLocal", user)
    ]
    assert set(detail.score_breakdown["factors"]) >= {"merchant", "experience"}
    assert detail.allowed_states == ("archived", "rejected", "rights_granted", "shortlisted")
