"""The stories job on both databases: analysed campaign posts become candidates or are created rejected with
the reason; duplicates and reposts are grouped under their original; a second run creates nothing; the
consent reply (ingested like any collected post) grants rights, a stranger's does not, unanswered requests
expire; ended feature windows are archived. One test runs the real analyse job on real text."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from jobs import stories as stories_job
from jobs.analyse import analyse
from jobs.services import Services
from listener.collector import CampaignQuery
from listener.collectors.x import build_query
from listener.post import Post
from storage.models import Post as PostRow
from storage.models import RightsRequest, Story, StoryTransition
from storage.repositories import stories as repo
from storage.repositories.ingest import ingest
from tests.factories import make_author, make_post
from tests.storage.stories_setup import NOW, Analysed, add_curator, add_merchant, good_signals, moves, scored


async def story(services: Services, story_id: int) -> Story:
    async with services.sessions() as session:
        found = await session.get(Story, story_id)
        assert found is not None
        return found


async def count(services: Services, model: Any) -> int:
    async with services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_posts_become_candidates_or_rejected_stories_with_the_reason(services: Services) -> None:
    async with services.sessions.begin() as session:
        shop = await add_merchant(session, "Boulangerie Amal")
    good = make_post(1, text="J'ai adoré le pain de la Boulangerie Amal, merci ! #LoveLocal")
    spam = make_post(2, text="Gagnez des bitcoins, DM me #LoveLocal")
    angry = make_post(3, text="Très déçu par l'accueil #LoveLocal")
    dull = replace(make_post(4, text="#LoveLocal", likes=0, reposts=0), media=())
    unanalysed = make_post(5, text="Pas encore analysé #LoveLocal")
    old = make_post(6, text="Un vieux message #LoveLocal", created_at=NOW - timedelta(days=60))
    ids = await scored(
        services,
        [
            (good, Analysed(merchant_id=shop)),
            (spam, Analysed(signals=good_signals(likely_spam=True, spam_score=0.7, reasons=["crypto_or_scam_cue"]))),
            (angry, Analysed(sentiment="negative", sentiment_score=-0.8, signals=good_signals(complaint=True))),
            (
                dull,
                Analysed(
                    sentiment="neutral",
                    sentiment_score=0.0,
                    signals=good_signals(
                        first_person=False, gratitude=False, recommendation=False, has_media=False, length=10
                    ),
                ),
            ),
            (unanalysed, None),
            (old, Analysed()),
        ],
    )

    assert set(ids) == {good.platform_id, spam.platform_id, angry.platform_id, dull.platform_id}
    best = await story(services, ids[good.platform_id])
    assert (best.state, best.merchant_id, best.platform, best.language, best.sentiment) == (
        "candidate",
        shop,
        "x",
        "fr",
        "positive",
    )
    assert best.post_created_at == good.created_at
    assert best.score >= services.settings.stories.min_score
    assert best.score_breakdown["suppressed"] is None
    assert set(best.score_breakdown["factors"]) >= {"sentiment", "experience", "merchant", "engagement"}
    async with services.sessions() as session:
        assert await moves(session, best.id) == [(None, "candidate", None, f"scored {best.score:.2f}")]
        spam_moves = await moves(session, ids[spam.platform_id])
        angry_moves = await moves(session, ids[angry.platform_id])
        dull_moves = await moves(session, ids[dull.platform_id])
    assert spam_moves[0][1] == "rejected"
    assert "likely spam" in str(spam_moves[0][3])
    assert "crypto_or_scam_cue" in str(spam_moves[0][3])
    assert (await story(services, ids[angry.platform_id])).score_breakdown["suppressed"] == "complaint"
    assert angry_moves[0][1:] == ("rejected", None, "auto: a complaint")
    assert "below stories.min_score" in str(dull_moves[0][3])


async def test_a_second_run_creates_nothing(services: Services) -> None:
    await scored(services, [(make_post(n), Analysed()) for n in range(10, 16)])
    stories, transitions = await count(services, Story), await count(services, StoryTransition)
    assert stories == 6

    again = await stories_job.run(services, now=NOW)

    assert again["stories"] == 0
    assert (await count(services, Story), await count(services, StoryTransition)) == (stories, transitions)


async def test_the_job_scores_in_batches(services: Services, monkeypatch: Any) -> None:
    monkeypatch.setattr(stories_job, "BATCH", 3)  # a tuning constant, not behaviour: every batch is stored
    ids = await scored(services, [(make_post(n), Analysed()) for n in range(20, 28)])
    assert len(ids) == 8


async def test_near_duplicates_and_reposts_are_grouped_under_the_original(services: Services) -> None:
    text = "Merci à la Boulangerie Amal pour ce pain incroyable, je recommande ! #LoveLocal"
    original = make_post(30, text=text)
    copy = make_post(31, text=text + " https://example.test/x", author=make_author(131))  # same text, a link
    repost = make_post(32, text="RT " + text, repost_of_id=original.platform_id, author=make_author(132))
    ids = await scored(services, [(original, Analysed()), (copy, Analysed()), (repost, Analysed())])

    first = await story(services, ids[original.platform_id])
    duplicate = await story(services, ids[copy.platform_id])
    shared = await story(services, ids[repost.platform_id])
    assert first.state == "candidate"
    assert first.original_story_id is None
    assert (duplicate.state, duplicate.original_story_id) == ("rejected", first.id)
    assert duplicate.score_breakdown["suppressed"] == "duplicate"
    assert (shared.state, shared.original_story_id) == ("rejected", first.id)
    assert shared.score_breakdown["suppressed"] == "repost"

    # a later run still groups a new copy under the same original
    late = make_post(33, text=text, author=make_author(133))
    later = await scored(services, [(late, Analysed())])
    assert (await story(services, later[late.platform_id])).original_story_id == first.id
    async with services.sessions() as session:
        page = await repo.queue_page(session, repo.QueueFilters(states=("candidate",)))
        detail = await repo.story_detail(session, first.id)
    assert [row.story_id for row in page.rows] == [first.id]
    assert page.rows[0].duplicate_count == 3
    assert detail is not None
    assert {d.story_id for d in detail.duplicates} == {duplicate.id, shared.id, later[late.platform_id]}


async def test_an_author_with_a_story_already_scores_lower(services: Services) -> None:
    author = make_author(40)
    first = make_post(40, text="Premier passage chez Amal, merci ! #LoveLocal", author=author)
    second = make_post(41, text="Deuxième passage chez Amal, toujours top #LoveLocal", author=author)
    other = make_post(42, text="Deuxième passage chez Zitouna, toujours top #LoveLocal")
    ids = await scored(services, [(first, Analysed()), (second, Analysed()), (other, Analysed())])
    repeat = await story(services, ids[second.platform_id])
    fresh = await story(services, ids[other.platform_id])
    assert repeat.score_breakdown["factors"]["author_diversity"] < 1.0
    assert fresh.score_breakdown["factors"]["author_diversity"] == 1.0
    assert repeat.score < fresh.score


# --- rights ----------------------------------------------------------------------------------------------


def consent_reply(to: Post, text: str, n: int, **changes: Any) -> Post:
    return replace(
        make_post(n, text=text, author=to.author, created_at=NOW + timedelta(hours=1)),
        reply_to_id=to.platform_id,
        **changes,
    )


async def requested(services: Services, post: Post) -> tuple[int, int]:
    """A scored, shortlisted story of `post` with a rights request: (story id, curator id)."""
    ids = await scored(services, [(post, Analysed())])
    story_id = ids[post.platform_id]
    async with services.sessions.begin() as session:
        curator = await add_curator(session)
        await repo.transition(session, story_id, "shortlisted", actor_user_id=curator, now=NOW)
        await repo.request_rights(session, story_id, curator, None, NOW, timedelta(days=14))
    return story_id, curator


async def test_the_authors_consent_reply_grants_rights_a_strangers_does_not(services: Services) -> None:
    post = make_post(50, text="J'adore la Boulangerie Amal ! #LoveLocal", author=make_author(150, followers=80))
    story_id, _ = await requested(services, post)
    campaign_id = services.campaign_ids["lovelocal"]
    stranger = replace(
        make_post(51, text="Oui ! #OuiLoveLocal", created_at=NOW + timedelta(hours=1)), reply_to_id=post.platform_id
    )
    unrelated = consent_reply(post, "Merci pour le message !", 52)  # the author, but no consent hashtag
    async with services.sessions.begin() as session:
        await ingest(session, [stranger, unrelated], campaign_ids=[campaign_id])

    first = await stories_job.run(services, now=NOW + timedelta(hours=2))

    assert first["rights_granted"] == 0
    assert (await story(services, story_id)).state == "rights_requested"

    reply = consent_reply(post, "Avec plaisir, allez-y ! #ouilovelocal", 53)  # any case
    async with services.sessions.begin() as session:
        await ingest(session, [reply], campaign_ids=[campaign_id])
    second = await stories_job.run(services, now=NOW + timedelta(hours=3))

    assert second["rights_granted"] == 1
    granted = await story(services, story_id)
    assert granted.state == "rights_granted"
    assert granted.public_name == "User 150"
    async with services.sessions() as session:
        request = await session.scalar(select(RightsRequest).where(RightsRequest.story_id == story_id))
        evidence = (
            await session.scalar(select(Story.id).where(Story.post_id == request.evidence_post_id)) if request else None
        )
        last = (await moves(session, story_id))[-1]
    assert request is not None
    assert (request.status, request.granted_at) == ("granted", NOW + timedelta(hours=3))
    assert request.evidence_post_id is not None
    assert last[:3] == ("rights_requested", "rights_granted", None)
    assert "#OuiLoveLocal" in str(last[3])
    assert evidence is None  # the reply was not analysed: no story of its own
    # granted once: nothing more the next time
    assert (await stories_job.run(services, now=NOW + timedelta(hours=4)))["rights_granted"] == 0


async def test_an_analysed_consent_reply_is_evidence_not_a_story(services: Services) -> None:
    post = make_post(57, text="Merci Zitouna ! #LoveLocal")
    reply = consent_reply(post, "Avec plaisir ! Merci à vous #OuiLoveLocal", 58)
    ids = await scored(services, [(post, Analysed()), (reply, Analysed())])
    evidence = await story(services, ids[reply.platform_id])
    assert (evidence.state, evidence.score_breakdown["suppressed"]) == ("rejected", "consent_reply")


async def test_a_consent_hashtag_in_the_hashtags_counts(services: Services) -> None:
    post = make_post(55, text="Le meilleur café de Tunis, Zitouna #LoveLocal")
    story_id, _ = await requested(services, post)
    reply = consent_reply(post, "D'accord", 56, hashtags=("OuiLoveLocal",))
    async with services.sessions.begin() as session:
        await ingest(session, [reply])  # found by any query, or none: the reply itself is what counts
    assert (await stories_job.run(services, now=NOW + timedelta(hours=2)))["rights_granted"] == 1
    assert (await story(services, story_id)).state == "rights_granted"


async def test_unanswered_requests_expire_and_the_story_is_shortlisted_again(services: Services) -> None:
    post = make_post(60, text="Merci Amal ! #LoveLocal")
    story_id, _ = await requested(services, post)

    assert (await stories_job.run(services, now=NOW + timedelta(days=13)))["rights_expired"] == 0
    result = await stories_job.run(services, now=NOW + timedelta(days=14, minutes=1))

    assert result["rights_expired"] == 1
    assert (await story(services, story_id)).state == "shortlisted"
    async with services.sessions() as session:
        request = await session.scalar(select(RightsRequest).where(RightsRequest.story_id == story_id))
        last = (await moves(session, story_id))[-1]
    assert request is not None
    assert request.status == "expired"
    assert last[:3] == ("rights_requested", "shortlisted", None)
    assert "expired" in str(last[3])
    # a reply arriving after the expiry grants nothing
    late = consent_reply(post, "Oui #OuiLoveLocal", 61, created_at=NOW + timedelta(days=15))
    async with services.sessions.begin() as session:
        await ingest(session, [late])
    assert (await stories_job.run(services, now=NOW + timedelta(days=15, hours=1)))["rights_granted"] == 0


async def test_ended_feature_windows_are_archived(services: Services) -> None:
    post = make_post(70, text="Merci Amal ! #LoveLocal")
    story_id, curator = await requested(services, post)
    async with services.sessions.begin() as session:
        await ingest(session, [consent_reply(post, "#OuiLoveLocal", 71)])
    await stories_job.run(services, now=NOW + timedelta(hours=2))
    async with services.sessions.begin() as session:
        await repo.feature(session, story_id, curator, NOW + timedelta(hours=3), rules=services.settings.stories)

    assert (await stories_job.run(services, now=NOW + timedelta(days=5)))["archived"] == 0
    assert (await stories_job.run(services, now=NOW + timedelta(days=8)))["archived"] == 1
    assert (await story(services, story_id)).state == "archived"


async def test_real_analysis_feeds_the_queue(services: Services) -> None:
    """The analyse job (spaCy, language detection, sentiment, signals) on real text, then the stories job."""
    texts = {
        "story": "J'ai découvert la boulangerie de mon quartier ce matin, accueil adorable, je recommande ! "
        "Merci à toute l'équipe #LoveLocal",
        "complaint": "Très déçu, service horrible et personnel impoli, plus jamais #LoveLocal",
        "spam": "FREE BITCOIN giveaway!!! DM me now, follow back, link in bio #LoveLocal #crypto #win #free #money",
    }
    posts = {key: make_post(80 + i, text=text) for i, (key, text) in enumerate(texts.items())}
    async with services.sessions.begin() as session:
        await ingest(session, list(posts.values()), campaign_ids=[services.campaign_ids["lovelocal"]])
    await analyse(services)

    await stories_job.run(services, now=NOW)

    async with services.sessions() as session:
        rows = await session.execute(select(Story.post_id, Story.state, Story.score_breakdown))
        post_ids = {
            key: await session.scalar(select(PostRow.id).where(PostRow.platform_id == p.platform_id))
            for key, p in posts.items()
        }
        by_post = {post_id: (state, breakdown["suppressed"]) for post_id, state, breakdown in rows.all()}
    assert by_post[post_ids["story"]] == ("candidate", None)
    assert by_post[post_ids["complaint"]] in {("rejected", "complaint"), ("rejected", "negative")}
    assert by_post[post_ids["spam"]] in {("rejected", "spam"), ("rejected", "bot")}


def test_collectors_also_listen_for_the_consent_hashtag(services: Services) -> None:
    lovelocal = services.settings.campaigns["lovelocal"]
    query = CampaignQuery.of("lovelocal", lovelocal)
    assert query.hashtags == ("LoveLocal", "OuiLoveLocal")
    assert build_query(query, exclude_reposts=True) == "(#LoveLocal OR #OuiLoveLocal) -is:retweet"
    # named already (any case), or none configured: nothing added
    same = CampaignQuery.of("x", lovelocal.model_copy(update={"hashtags": ["LoveLocal", "ouilovelocal"]}))
    assert same.hashtags == ("LoveLocal", "ouilovelocal")
    assert CampaignQuery.of("x", lovelocal.model_copy(update={"consent_hashtag": None})).hashtags == ("LoveLocal",)


async def test_undoing_a_grant_refuses_that_reply_and_asks_again(services: Services) -> None:
    post = make_post(90, text="Merci Amal ! #LoveLocal")
    story_id, curator = await requested(services, post)
    async with services.sessions.begin() as session:
        await ingest(session, [consent_reply(post, "#OuiLoveLocal", 91)])  # at NOW + 1 hour
    await stories_job.run(services, now=NOW + timedelta(hours=2))
    async with services.sessions.begin() as session:
        await repo.undo_last(session, story_id, curator, NOW + timedelta(hours=3))

    assert (await stories_job.run(services, now=NOW + timedelta(hours=4)))["rights_granted"] == 0
    assert (await story(services, story_id)).state == "rights_requested"
    async with services.sessions() as session:
        requests = (await session.scalars(select(RightsRequest).order_by(RightsRequest.id))).all()
    assert [(r.status, r.requested_at) for r in requests] == [
        ("cancelled", NOW),
        ("pending", NOW + timedelta(hours=3)),
    ]
    assert requests[1].expires_at == NOW + timedelta(hours=3, days=14)

    newer = replace(consent_reply(post, "Oui, vraiment #OuiLoveLocal", 92), created_at=NOW + timedelta(hours=5))
    async with services.sessions.begin() as session:
        await ingest(session, [newer])
    assert (await stories_job.run(services, now=NOW + timedelta(hours=6)))["rights_granted"] == 1
