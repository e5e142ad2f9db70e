"""The report's week read in parts at once (storage/repositories/report_parts.py), on SQLite and PostgreSQL:
any number of parts gives exactly the report of one pass, every part reads one snapshot of the database
(a collection committing meanwhile changes none of them), and the merge of parts adds what adds up and keeps
the best posts in the report's order."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from jobs import report
from jobs.reporting.weeks import IsoWeek
from jobs.services import Services
from service.settings import Settings
from storage.repositories import report_parts
from storage.repositories.report_data import DiscoveredRow, MerchantRow, PostRow, ReachRow, WeekRows
from storage.repositories.report_parts import WeekPart, merge
from tests.jobs.reporting.fixture_week import END, ENV, SLUG, WEEK, seed

NOW = END + timedelta(days=1, hours=9)


@pytest.fixture
def settings(db_url: str, settings_for) -> Settings:  # type: ignore[no-untyped-def]
    return settings_for(db_url, **ENV)  # type: ignore[no-any-return]


async def test_any_number_of_parts_gives_the_report_of_one_pass(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed(services)
    week = IsoWeek.parse(WEEK)
    monkeypatch.setattr(report_parts, "default_parts", lambda: 1)
    whole = await report.compute(services, SLUG, week, now=NOW)
    assert whole["headline"]["posts"] == 28
    for count in (2, 3, 5):
        monkeypatch.setattr(report_parts, "default_parts", lambda count=count: count)
        assert await report.compute(services, SLUG, week, now=NOW) == whole, f"{count} parts"


async def _campaign_posts(session: object) -> int:
    result = await session.execute(text("SELECT count(*) FROM post_campaigns"))  # type: ignore[attr-defined]
    return int(result.scalar_one())


async def test_every_part_reads_the_same_snapshot(services: Services) -> None:
    await seed(services)
    async with report_parts.consistent_sessions(services.sessions, 3) as opened:
        assert len(opened) == 3
        before = [await _campaign_posts(session) for session in opened]
        # Another process commits while the report reads (here: posts leave the campaign).
        async with services.sessions.begin() as writer:
            await writer.execute(text("DELETE FROM post_campaigns"))
        after = [await _campaign_posts(session) for session in opened]
    assert before == after == [before[0]] * 3
    assert before[0] > 0
    async with services.sessions() as session:
        assert await _campaign_posts(session) == 0


def _post(post_id: int, engagements: int) -> PostRow:
    at = datetime(2026, 10, 20, tzinfo=UTC)
    return PostRow(
        post_id, "x", str(post_id), None, "t", at, "original", 1, "1", "h", 10, "fr", "positive", engagements,
        engagements, 0, 0, 0, None,
    )  # fmt: skip


def _rows(authors: int, platform_new: int) -> WeekRows:
    reach = ReachRow("x", authors, 10 * authors, authors)
    return WeekRows(groups=[], reach={"all": [reach], "platform": [reach]}, new_authors={"x": platform_new})


def test_merging_adds_counts_and_keeps_the_best_posts_in_order() -> None:
    seen = datetime(2026, 10, 20, tzinfo=UTC)
    one = WeekPart(
        3,
        _rows(2, 1),
        [MerchantRow(7, "Chez Marcel", "Paris", "IDF", 2, 1, 1, 2)],
        [DiscoveredRow(4, "Le Fournil", seen, "new", 1)],
        [_post(10, 9), _post(3, 5)],
    )
    two = WeekPart(
        4,
        _rows(3, 2),
        [
            MerchantRow(7, "Chez Marcel", "Paris", "IDF", 3, 0, 2, 1),
            MerchantRow(8, "مخبز النور", None, None, 1, 0, 0, 1),
        ],
        [DiscoveredRow(4, "Le Fournil", seen, "new", 2)],
        [_post(2, 9), _post(5, 1)],
    )
    merged = merge([one, two], top=3)
    assert merged.posts == 7
    assert merged.rows.reach["all"] == [ReachRow("x", 5, 50, 5)]
    assert merged.rows.new_authors == {"x": 3}
    assert sorted(merged.merchants, key=lambda m: m.merchant_id) == [
        MerchantRow(7, "Chez Marcel", "Paris", "IDF", 5, 1, 3, 3),
        MerchantRow(8, "مخبز النور", None, None, 1, 0, 0, 1),
    ]
    assert merged.discovered == [DiscoveredRow(4, "Le Fournil", seen, "new", 3)]
    # Most engagements first, ties by post id: as one pass's ORDER BY would give.
    assert [p.post_id for p in merged.top_posts] == [2, 10, 3]


async def test_two_reports_due_at_once_do_not_starve_a_small_pool(
    services: Services, settings_for: Callable[..., Settings], db_url: str
) -> None:
    """Four parts each, two campaigns' reports at the same minute: on SQLite's pool of five connections, two
    reports taking their parts' connections side by side would each wait for the rest until both time out."""
    await seed(services)
    four = dataclasses.replace(services, settings=settings_for(db_url, **ENV, LISTENER_REPORTS_PARALLEL="4"), extras={})
    week = IsoWeek.parse(WEEK)
    both = asyncio.gather(report.compute(four, SLUG, week, now=NOW), report.compute(four, "lovelocal", week, now=NOW))
    ours, other = await asyncio.wait_for(both, timeout=20)  # the pool would give up only after 30 s
    assert ours["headline"]["posts"] == 28
    assert other["headline"]["posts"] == 0
