"""The report job on the hand-computed fixture week (tests/jobs/reporting/fixture_week.py), on SQLite and
PostgreSQL: every headline figure, the DST week's boundaries and days, coverage, merchants, privacy keys,
storage that does not move unless regenerated, week-over-week changes, and the e-mail to recipients."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from jobs import report
from jobs.reporting.weeks import IsoWeek
from jobs.services import Services
from service.settings import Settings
from storage.models import Report
from storage.pseudonyms import pseudonym
from tests.jobs.notify_setup import smtp_server
from tests.jobs.reporting.fixture_week import ARABIC_MERCHANT, END, ENV, EXPECTED, SLUG, START, WEEK, seed


@pytest.fixture
def settings(db_url: str, settings_for) -> Settings:  # type: ignore[no-untyped-def]
    return settings_for(db_url, **ENV)  # type: ignore[no-any-return]


NOW = END + timedelta(days=1, hours=9)  # Tuesday 27 October, after the week


async def test_every_headline_figure_of_the_fixture_week(services: Services) -> None:
    await seed(services)
    result = await report.generate(services, SLUG, IsoWeek.parse(WEEK), now=NOW)
    assert result.status == "generated"
    data = result.data
    for key, value in EXPECTED.items():
        assert data["headline"][key] == pytest.approx(value), key
    assert data["start"] == START.isoformat()
    assert data["end"] == END.isoformat()
    assert data["hours"] == 169
    # Days are local: Sunday 25 October (the DST day) holds P7 (23:30 CET) and P8.
    days = {d["date"]: d for d in data["days"]}
    assert [d["date"] for d in data["days"]] == [f"2026-10-{d}" for d in range(19, 26)]
    assert days["2026-10-25"]["posts"] == 2
    assert days["2026-10-22"]["posts"] == 21  # P4 and the twenty F posts
    assert days["2026-10-22"]["potential_reach"] == 200  # A3's followers are unknown: only the B authors
    assert days["2026-10-19"]["potential_reach"] == 1000


async def test_splits_merchants_stories_and_privacy(services: Services) -> None:
    await seed(services)
    data = (await report.generate(services, SLUG, IsoWeek.parse(WEEK), now=NOW)).data
    platforms = {p["platform"]: p for p in data["platforms"]}
    assert platforms["x"]["posts"] == 4
    assert platforms["x"]["potential_reach"] == 1500
    assert platforms["x"]["impressions"] == 2500
    assert platforms["mastodon"]["potential_reach"] == 200
    assert platforms["mastodon"]["authors_unknown_followers"] == 1
    assert platforms["instagram"]["unique_authors"] == 0
    assert platforms["instagram"]["impressions"] is None  # no view reported: unknown, never 0
    languages = {lang["language"]: lang for lang in data["languages"]}
    assert languages["ar"]["net_sentiment"] == -1.0
    assert languages[""]["posts"] == 1  # P8, not analysed
    merchants = data["merchants"]
    most = [(m["name"], m["posts"], m["previous_posts"]) for m in merchants["most_mentioned"]]
    assert most == [("Chez Marcel", 3, 1), (ARABIC_MERCHANT, 2, 0)]
    assert [m["name"] for m in merchants["risers"]] == ["Chez Marcel"]
    assert merchants["negative_spikes"] == []
    regions = {(r["region"], r["city"]): r["mentions"] for r in data["regions"]}
    assert regions == {("Auvergne-Rhône-Alpes", "Lyon"): 3, ("Provence", "Marseille"): 2}
    # The featured story: its author granted rights, so the public name and handle are shown.
    [story] = data["stories"]
    assert story["shown_name"] == "Amina <b>B.</b>"
    assert story["author_key"] == "x:id-a1"
    assert story["post_key"].startswith("x:")
    # Top posts: P1 first (13 engagements at the week's end; the refresh to 500 likes came after it).
    top = data["top_posts"]
    assert top[0]["engagements"] == 13
    assert top[0]["handle"] == "a1"  # rights granted: public
    key = services.pseudonym_key()
    by_author = {p["author_key"]: p for p in top}
    assert by_author["x:id-a2"]["handle"] == pseudonym("x", "id-a2", key)  # a private individual
    assert by_author["x:id-a2"]["url"] is None
    assert by_author["instagram:unknown:9006"]["handle"] is None
    for row in top:
        assert row["post_key"].startswith(f"{row['platform']}:")


async def test_coverage_of_the_fixture_week(services: Services) -> None:
    await seed(services)
    coverage = (await report.generate(services, SLUG, IsoWeek.parse(WEEK), now=NOW)).data["coverage"]
    x = {s["source"]: s for s in coverage["sources"]}["x"]
    assert x["rate_limited_hours"] == 3.0
    assert x["collected_hours"] == 166.0
    assert x["no_run_hours"] == 0.0
    assert x["failed_hours"] == 0.0
    assert x["runs"] == 169
    assert x["quarantined"] == 2
    assert coverage["week_hours"] == 169
    assert coverage["partial"] is True
    assert [u["platform"] for u in coverage["uncollectable"]] == ["facebook"]
    assert "bluesky" in {n["source"] for n in coverage["not_ready"]}


async def test_a_stored_week_does_not_change_unless_regenerated(services: Services) -> None:
    fixture = await seed(services)
    week = IsoWeek.parse(WEEK)
    first = await report.generate(services, SLUG, week, now=NOW)
    # A late post of the week arrives after the report was stored.
    late = dataclasses.replace(fixture.posts["F1"], platform_id="late-1", url=None)
    from storage.repositories.ingest import ingest

    async with services.sessions.begin() as session:
        await ingest(session, [late], campaign_ids=[services.campaign_ids[SLUG]], now=END - timedelta(minutes=5))
    kept = await report.generate(services, SLUG, week, now=NOW + timedelta(days=1))
    assert kept.status == "stored"
    assert kept.data == first.data
    again = await report.generate(services, SLUG, week, regenerate=True, now=NOW + timedelta(days=1))
    assert again.status == "regenerated"
    assert again.data["headline"]["posts"] == 29
    async with services.sessions() as session:
        rows = (await session.execute(select(Report))).scalars().all()
    assert len(rows) == 1
    assert rows[0].data["headline"]["posts"] == 29
    assert rows[0].definitions_version == "1"


async def test_week_over_week_uses_the_stored_previous_week(services: Services) -> None:
    await seed(services)
    week = IsoWeek.parse(WEEK)
    previous = await report.generate(services, SLUG, week.previous, now=NOW)
    assert previous.data["headline"]["posts"] == 2  # P0 and P9
    data = (await report.generate(services, SLUG, week, now=NOW)).data
    assert data["previous_available"] is True
    posts = data["changes"]["posts"]
    assert (posts["previous"], posts["difference"], posts["percent"]) == (2, 26, 13.0)
    assert data["changes"]["net_sentiment"]["percent"] is None  # ratios change in points only
    merchants = {m["name"]: m for m in data["merchants"]["most_mentioned"]}
    assert merchants["Chez Marcel"]["change"] == 2


async def test_the_weekly_job_builds_the_due_week_once_and_mails_it(
    services: Services,
    settings_for: Any,
    db_url: str,
) -> None:
    await seed(services)
    monday = datetime(2026, 10, 26, 7, 5, tzinfo=UTC)  # 08:05 in Paris: the report of W43 is due
    with smtp_server() as server:
        env = {**ENV, **server.env(), "LISTENER_REPORTS_ATTACHMENTS": "csv,json"}
        settings = settings_for(db_url, **env)
        campaigns = dict(settings.campaigns)
        campaigns[SLUG] = campaigns[SLUG].model_copy(update={"report_recipients": ["partner@example.test"]})
        services.settings = dataclasses.replace(settings, campaigns=campaigns)
        early = await report.weekly_job(SLUG, clock=lambda: monday - timedelta(hours=1))(services)
        assert early == {"campaign": SLUG, "status": "not due"}
        first = await report.weekly_job(SLUG, clock=lambda: monday)(services)
        second = await report.weekly_job(SLUG, clock=lambda: monday + timedelta(minutes=1))(services)
    assert first == {"campaign": SLUG, "week": WEEK, "status": "generated", "emailed": 1}
    assert second == {"campaign": SLUG, "week": WEEK, "status": "stored"}  # a double fire sends nothing
    [message] = server.to("partner@example.test")
    assert WEEK in message["Subject"]
    names = sorted(str(part.get_filename()) for part in message.iter_attachments())
    assert names == [f"report-{SLUG}-{WEEK}.csv", f"report-{SLUG}-{WEEK}.json"]
    body = message.get_body(("plain",))
    assert body is not None
    assert "1,950" in body.get_content()


async def test_an_unknown_campaign_is_refused_with_the_fix(services: Services) -> None:
    with pytest.raises(report.ReportError, match="use one of lovelocal, soutenons"):
        await report.generate(services, "nope", IsoWeek.parse(WEEK))


async def test_the_clock_fires_each_campaign_on_monday_at_eight_on_its_own_clock(services: Services) -> None:
    from jobs.scheduler import Clock

    clock = Clock(services)
    assert {f"report:{slug}" for slug in services.settings.campaigns} <= set(clock.job_names)
    # The trigger itself (APScheduler's own object): Monday 08:00 in Paris, on both sides of the DST change.
    trigger = clock._scheduler.get_job(f"report:{SLUG}").trigger  # private: Clock offers no accessor
    after_dst = trigger.get_next_fire_time(None, datetime(2026, 10, 22, tzinfo=UTC))
    before_dst = trigger.get_next_fire_time(None, datetime(2026, 10, 15, tzinfo=UTC))
    assert after_dst.astimezone(UTC) == datetime(2026, 10, 26, 7, 0, tzinfo=UTC)  # 08:00 CET
    assert before_dst.astimezone(UTC) == datetime(2026, 10, 19, 6, 0, tzinfo=UTC)  # 08:00 CEST
    casablanca = clock._scheduler.get_job("report:lovelocal").trigger
    assert casablanca.get_next_fire_time(None, datetime(2026, 11, 18, tzinfo=UTC)).astimezone(UTC) == datetime(
        2026, 11, 23, 7, 0, tzinfo=UTC
    )
