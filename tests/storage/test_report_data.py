"""The report's SQL (storage/repositories/report_data.py) on SQLite and PostgreSQL: the week's posts copied
once with the latest snapshot taken by the week's end, grouped rows, reach with each author once, new
authors, and the collection history read by job name."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from jobs.reporting.weeks import IsoWeek, week_window
from jobs.services import Services
from service.settings import Settings
from storage.models import JobRun
from storage.repositories import report_context as context
from storage.repositories import report_data as repo
from tests.jobs.reporting.fixture_week import END, ENV, SLUG, START, WEEK, seed

LANGUAGES = ["ar", "en", "fr", "other", "und"]


@pytest.fixture
def settings(db_url: str, settings_for) -> Settings:  # type: ignore[no-untyped-def]
    return settings_for(db_url, **ENV)  # type: ignore[no-any-return]


async def test_the_week_is_loaded_once_and_grouped(services: Services) -> None:
    await seed(services)
    window = week_window(IsoWeek.parse(WEEK), "Europe/Paris")
    campaign = services.campaign_ids[SLUG]
    async with services.sessions.begin() as session:
        assert await repo.load_week(session, campaign, window.day_starts, LANGUAGES) == 28
        rows = await repo.week_rows(session, campaign, window.start, LANGUAGES)
        top = await repo.top_posts(session, 3)
        merchants, _ = await repo.week_mentions(session, window.start, window.end)
        await repo.drop_week(session)
        # Dropped: a second report in the same connection starts from nothing.
        with pytest.raises(Exception, match=repo.WEEK):
            await session.execute(text(f"SELECT count(*) FROM {repo.WEEK}"))  # noqa: S608 - our constant
    assert sum(g.posts for g in rows.groups) == 28
    # P1's likes at the week's end (10), not after the refresh two days later (500).
    assert top[0].likes == 10
    assert top[0].engagements == 13
    assert sum(g.likes for g in rows.groups) == 47
    assert [r.authors for r in rows.reach["all"]] == [26]
    assert {r.key: r.followers_sum for r in rows.reach["platform"]} == {"x": 1500, "mastodon": 200, "bluesky": 250}
    assert sum(rows.new_authors.values()) == 25
    assert sorted((m.name, m.posts, m.negative) for m in merchants)[0] == ("Chez Marcel", 3, 0)


async def test_only_collection_jobs_are_read_as_coverage(services: Services) -> None:
    async with services.sessions.begin() as session:
        for job in ("collect", "collect:x", "collecting", "refresh"):
            session.add(JobRun(job=job, status="ok", started_at=START + timedelta(hours=1), detail={"sources": []}))
        session.add(JobRun(job="collect:x", status="ok", started_at=END, detail={}))  # after the week
    async with services.sessions() as session:
        runs = await context.collection_runs(session, START, END)
    assert sorted(r.job for r in runs) == ["collect", "collect:x"]
