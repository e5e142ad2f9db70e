"""The retention purge on real databases: old raw payloads blanked, old quarantined payloads deleted, old posts
of people who never took part in the rights flow erased in batches (with everything derived from them and
their rows in stored reports), everyone who interacted kept, and each rule off at 0."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from jobs import retention
from jobs.scheduler import Clock
from jobs.services import Services
from listener.post import Author, Post
from service.settings import Settings
from storage.models import Analysis, PrivacyErasure, Quarantine, Report, Story
from storage.models import Author as AuthorRow
from storage.models import Post as PostRow
from storage.repositories.quarantine import quarantine
from storage.repositories.story_rights import request_rights
from storage.repositories.story_states import transition
from tests.factories import BASE_TIME, make_post
from tests.storage.stories_setup import Analysed, store

NOW = BASE_TIME + timedelta(days=400)  # the posts made at BASE_TIME are 400 days old
QUIET = Author(platform_id="u-quiet", handle="quiet", display_name="Quiet")  # never interacted
ASKED = Author(platform_id="u-asked", handle="asked", display_name="Asked")  # was asked for rights
GRANTED = Author(platform_id="u-granted", handle="granted", display_name="Granted")  # consent given by hand


@pytest.fixture
def settings(db_url: str, settings_for) -> Settings:  # type: ignore[no-untyped-def]
    built: Settings = settings_for(db_url, LISTENER_RETENTION_BATCH_SIZE="10")
    return built


def _post(n: int, author: Author, when: datetime) -> Post:
    return make_post(100 + n, author=author, created_at=when)


async def _world(services: Services) -> dict[str, list[str]]:
    """35 old posts of a quiet author and one recent; old posts of an asked author and of a granted story."""
    campaign = services.campaign_ids["lovelocal"]
    old = [_post(i, QUIET, BASE_TIME + timedelta(minutes=i)) for i in range(35)]
    recent = [_post(40, QUIET, NOW - timedelta(days=10))]
    asked = [_post(41, ASKED, BASE_TIME), _post(42, ASKED, BASE_TIME + timedelta(hours=1))]
    granted = [_post(43, GRANTED, BASE_TIME)]
    async with services.sessions.begin() as session:
        await store(session, campaign, [(p, Analysed()) for p in old + recent + asked + granted])
        stories = {}
        for post in (asked[0], granted[0]):
            row = await session.scalar(select(PostRow.id).where(PostRow.platform_id == post.platform_id))
            story = Story(
                post_id=row,
                campaign_id=campaign,
                score=0.9,
                score_breakdown={},
                platform="x",
                language="fr",
                sentiment="positive",
                author_id=await session.scalar(select(PostRow.author_id).where(PostRow.id == row)),
                post_created_at=BASE_TIME,
                created_at=BASE_TIME,
                updated_at=BASE_TIME,
            )
            session.add(story)
            await session.flush()
            stories[post.platform_id] = story.id
        # Asked: shortlisted, then a rights request (never answered: it still counts as interacting).
        await transition(session, stories[asked[0].platform_id], "shortlisted", actor_user_id=None, now=BASE_TIME)
        await request_rights(session, stories[asked[0].platform_id], None, None, BASE_TIME, timedelta(days=14))
        # Granted by hand where no request row was kept (a curator's manual record): the state protects it.
        await session.execute(
            update(Story).where(Story.id == stories[granted[0].platform_id]).values(state="rights_granted")
        )
        await quarantine(session, "x", "x", [({"id": "q-old"}, "unreadable"), ({"id": "q-new"}, "unreadable")])
        await session.execute(
            update(Quarantine).where(Quarantine.payload.like("%q-old%")).values(received_at=NOW - timedelta(days=200))
        )
        await session.execute(update(Quarantine).where(Quarantine.payload.like("%q-new%")).values(received_at=NOW))
        session.add(
            Report(
                campaign_id=campaign,
                week="2025-W47",
                definitions_version="1",
                generated_at=BASE_TIME,
                data={
                    "top_posts": [{"post_key": f"x:{p.platform_id}"} for p in (old[0], asked[0], granted[0])],
                    "top_authors": [{"author_key": f"x:{a.platform_id}"} for a in (QUIET, ASKED)],
                },
            )
        )
    return {
        "old": [p.platform_id for p in old],
        "recent": [p.platform_id for p in recent],
        "kept_old": [p.platform_id for p in asked + granted],
    }


async def _platform_ids(services: Services) -> set[str]:
    async with services.sessions() as session:
        return set(await session.scalars(select(PostRow.platform_id)))


async def test_the_purge_applies_both_rules_in_batches(services: Services) -> None:
    ids = await _world(services)

    dry = await retention.run(services, now=NOW, dry_run=True)
    assert dry == {"dry_run": True, "raw_payloads": 3, "quarantine": 1, "posts": 35}
    assert len(await _platform_ids(services)) == 39  # a dry run changes nothing

    figures = await retention.run(services, now=NOW)

    assert figures["posts"] == 35
    assert figures["batches"] == 4  # batch_size 10
    assert figures["analyses"] == 35
    assert figures["raw_payloads"] == 3  # the kept posts older than 90 days (the erased ones went first)
    assert figures["quarantine"] == 1
    assert figures["report_rows"] == 1
    assert "authors" not in figures  # the quiet author still has a recent post
    assert await _platform_ids(services) == set(ids["recent"] + ids["kept_old"])
    async with services.sessions() as session:
        payloads: dict[str, object] = dict((await session.execute(select(PostRow.platform_id, PostRow.raw))).all())
        assert payloads[ids["recent"][0]] is not None
        assert all(payloads[pid] is None for pid in ids["kept_old"])
        blank = select(func.count()).select_from(PostRow).where(PostRow.raw.is_(None))
        assert await session.scalar(blank) == 3  # SQL NULL, not a JSON null: the next run selects none again
        assert [q.payload for q in (await session.scalars(select(Quarantine))).all()] == ['{"id": "q-new"}']
        report = await session.scalar(select(Report))
        assert report is not None
        assert [r["post_key"] for r in report.data["top_posts"]] == [f"x:{pid}" for pid in ids["kept_old"][:1]] + [
            f"x:{ids['kept_old'][2]}"
        ]
        assert report.data["redactions"] == 1
        assert len(report.data["top_authors"]) == 2  # the quiet author is still here (a recent post)
        [audit] = (await session.scalars(select(PrivacyErasure))).all()
        assert (audit.kind, audit.actor, audit.subject) == ("retention", "job:retention", None)
        assert audit.counts["posts"] == 35
        assert await session.scalar(select(func.count()).select_from(Analysis)) == 4

    again = await retention.run(services, now=NOW)
    assert again == {"dry_run": False, "batches": 0}  # nothing left to do, nothing recorded


async def test_authors_left_without_posts_go_too(services: Services) -> None:
    await _world(services)
    # A year on, the quiet author's recent post is old too.
    figures = await retention.run(services, now=NOW + timedelta(days=400))
    assert figures["posts"] == 36
    assert figures["authors"] == 1
    assert figures["report_rows"] == 2  # a post's row, and the author's own row (the author is gone)
    async with services.sessions() as session:
        handles = set(await session.scalars(select(AuthorRow.handle)))
    assert handles == {"asked", "granted"}


async def test_zero_disables_each_rule(db_url: str, settings_for, services: Services) -> None:  # type: ignore[no-untyped-def]
    await _world(services)
    off = replace(
        services,
        settings=settings_for(
            db_url, LISTENER_RETENTION_RAW_PAYLOAD_DAYS="0", LISTENER_RETENTION_NON_INTERACTING_DAYS="0"
        ),
    )
    assert await retention.run(off, now=NOW) == {"dry_run": False, "batches": 0}
    assert len(await _platform_ids(services)) == 39
    raw_only = replace(services, settings=settings_for(db_url, LISTENER_RETENTION_NON_INTERACTING_DAYS="0"))
    figures = await retention.run(raw_only, now=NOW)
    assert figures == {"dry_run": False, "batches": 0, "raw_payloads": 39 - 1, "quarantine": 1}


async def test_raw_payloads_outlive_the_refresh_window(db_url: str, settings_for, services: Services) -> None:  # type: ignore[no-untyped-def]
    await _world(services)
    short = replace(
        services,
        settings=settings_for(
            db_url,
            LISTENER_RETENTION_RAW_PAYLOAD_DAYS="1",
            LISTENER_RETENTION_NON_INTERACTING_DAYS="0",
            LISTENER_REFRESH_REFRESH_DAYS="30",
        ),
    )
    raw_before, _ = retention.cutoffs(short, NOW)
    assert raw_before == NOW - timedelta(days=30)  # the refresh still needs the payloads of its window
    figures = await retention.run(short, now=NOW)
    assert figures["raw_payloads"] == 38  # the 10-day-old post keeps its payload


async def test_the_scheduler_purges_daily_unless_both_rules_are_off(
    db_url: str,
    settings_for,  # type: ignore[no-untyped-def]
    services: Services,
) -> None:
    clock = Clock(services)
    assert "retention" in clock.job_names
    assert clock._scheduler.get_job("retention").trigger.interval == timedelta(days=1)
    off = replace(
        services,
        settings=settings_for(
            db_url, LISTENER_RETENTION_RAW_PAYLOAD_DAYS="0", LISTENER_RETENTION_NON_INTERACTING_DAYS="0"
        ),
    )
    assert "retention" not in Clock(off).job_names


async def test_a_repost_goes_with_its_original_and_its_author_if_that_was_all(services: Services) -> None:
    ids = await _world(services)
    reposter = Author(platform_id="u-reposter", handle="reposter", display_name="Reposter")
    repost = replace(_post(50, reposter, NOW - timedelta(days=3)), repost_of_id=ids["old"][0])
    async with services.sessions.begin() as session:
        await store(session, services.campaign_ids["lovelocal"], [(repost, None)])

    figures = await retention.run(services, now=NOW)

    assert figures["posts"] == 36  # a recent repost, but it carries the old post's text
    assert figures["authors"] == 1
    async with services.sessions() as session:
        assert await session.scalar(select(AuthorRow).where(AuthorRow.handle == "reposter")) is None
