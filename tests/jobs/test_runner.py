"""`run_job` and housekeeping against real databases (SQLite and PostgreSQL through `services`)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from jobs import housekeeping
from jobs.runner import run_job
from jobs.services import Services
from service.settings import CampaignSettings, default_campaigns
from storage.models import Campaign, JobRun
from storage.repositories._sql import utcnow


async def _runs(services: Services) -> list[JobRun]:
    async with services.sessions() as session:
        return list((await session.execute(select(JobRun).order_by(JobRun.id))).scalars())


async def _campaigns(services: Services) -> dict[str, Campaign]:
    async with services.sessions() as session:
        return {c.slug: c for c in (await session.execute(select(Campaign))).scalars()}


async def test_run_job_records_a_successful_housekeeping_run(services: Services) -> None:
    before = utcnow()
    outcome = await run_job(services, "housekeeping", housekeeping.run)
    after = utcnow()

    assert outcome.status == "ok"
    assert outcome.error is None
    assert outcome.detail["campaigns"] == 2
    assert outcome.detail["job_runs_trimmed"] == 0
    assert 0 <= outcome.seconds < 30
    [run] = await _runs(services)
    assert run.job == "housekeeping"
    assert run.status == "ok"
    assert run.error is None
    assert run.dedup_key is None
    assert run.detail == {
        "campaigns": 2,
        "job_runs_trimmed": 0,
        "work_items_trimmed": 0,
        "web_sessions_purged": 0,
        "login_attempts_purged": 0,
        "seconds": round(outcome.seconds, 3),
    }
    assert run.finished_at is not None
    assert before <= run.started_at <= run.finished_at <= after


async def test_a_failing_job_is_recorded_as_failed_and_does_not_raise(services: Services) -> None:
    calls = 0

    async def broken(_: Services) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        raise ValueError("the feed answered 502")

    outcome = await run_job(services, "collect-rss", broken)

    assert calls == 1
    assert outcome.status == "failed"
    assert outcome.error == "ValueError: the feed answered 502"
    [run] = await _runs(services)
    assert run.job == "collect-rss"
    assert run.status == "failed"
    assert run.error == "ValueError: the feed answered 502"
    assert run.finished_at is not None
    assert set(run.detail) == {"seconds"}


async def test_a_failure_does_not_stop_the_next_run(services: Services) -> None:
    async def broken(_: Services) -> dict[str, Any]:
        raise RuntimeError("boom")

    await run_job(services, "housekeeping", broken)
    second = await run_job(services, "housekeeping", housekeeping.run)

    assert second.status == "ok"
    assert [r.status for r in await _runs(services)] == ["failed", "ok"]


async def test_a_dedup_key_already_used_is_skipped_without_a_second_row(services: Services) -> None:
    calls = 0

    async def counted(_: Services) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        return {"n": calls}

    first = await run_job(services, "report", counted, dedup_key="report:lovelocal:2026-11-16")
    again = await run_job(services, "report", counted, dedup_key="report:lovelocal:2026-11-16")
    other = await run_job(services, "report", counted, dedup_key="report:lovelocal:2026-11-17")

    assert (first.status, again.status, other.status) == ("ok", "skipped", "ok")
    assert calls == 2  # the skipped run never called the job
    assert again.detail == {}
    runs = await _runs(services)
    assert [(r.dedup_key, r.status, r.detail["n"]) for r in runs] == [
        ("report:lovelocal:2026-11-16", "ok", 1),
        ("report:lovelocal:2026-11-17", "ok", 2),
    ]


async def test_a_failed_run_still_holds_its_dedup_key(services: Services) -> None:
    async def broken(_: Services) -> dict[str, Any]:
        raise RuntimeError("boom")

    assert (await run_job(services, "report", broken, dedup_key="k1")).status == "failed"
    assert (await run_job(services, "report", broken, dedup_key="k1")).status == "skipped"
    assert len(await _runs(services)) == 1


async def test_housekeeping_syncs_added_campaigns_and_deactivates_removed_ones(services: Services) -> None:
    before = await _campaigns(services)
    assert {slug for slug, c in before.items() if c.active} == {"lovelocal", "soutenons"}

    # The configuration changes: soutenons is removed, a new campaign is added.
    campaigns = {
        "lovelocal": services.settings.campaigns["lovelocal"],
        "achetez-local": CampaignSettings(name="Achetez local", hashtags=["#AchetezLocal"], region="Lyon"),
    }
    services.settings = dataclasses.replace(services.settings, campaigns=campaigns)
    outcome = await run_job(services, "housekeeping", housekeeping.run)

    assert outcome.status == "ok"
    assert outcome.detail["campaigns"] == 2
    after = await _campaigns(services)
    assert set(after) == {"lovelocal", "soutenons", "achetez-local"}  # nothing deleted
    assert after["soutenons"].active is False
    assert after["soutenons"].id == before["soutenons"].id
    assert after["lovelocal"].active is True
    assert after["lovelocal"].id == before["lovelocal"].id
    added = after["achetez-local"]
    assert added.active is True
    assert added.name == "Achetez local"
    assert added.hashtags == ["AchetezLocal"]
    assert added.region == "Lyon"
    # The running service now knows the new campaign and forgets the removed one.
    assert services.campaign_ids == {"lovelocal": before["lovelocal"].id, "achetez-local": added.id}

    # Put back in the configuration, the campaign is active again with the same row.
    services.settings = dataclasses.replace(
        services.settings, campaigns={**campaigns, "soutenons": default_campaigns()["soutenons"]}
    )
    await run_job(services, "housekeeping", housekeeping.run)
    again = await _campaigns(services)
    assert again["soutenons"].active is True
    assert again["soutenons"].id == before["soutenons"].id
    assert services.campaign_ids["soutenons"] == before["soutenons"].id


async def test_housekeeping_trims_only_old_job_history(services: Services) -> None:
    now = utcnow()
    async with services.sessions.begin() as session:
        session.add_all(
            [
                JobRun(
                    job="old",
                    status="ok",
                    started_at=now - timedelta(days=120),
                    finished_at=now - timedelta(days=120),
                    detail={},
                ),
                JobRun(
                    job="recent",
                    status="ok",
                    started_at=now - timedelta(days=30),
                    finished_at=now - timedelta(days=30),
                    detail={},
                ),
                JobRun(job="unfinished", status="running", started_at=now - timedelta(days=200), detail={}),
            ]
        )

    outcome = await run_job(services, "housekeeping", housekeeping.run)

    assert outcome.detail["job_runs_trimmed"] == 1
    assert sorted(r.job for r in await _runs(services)) == ["housekeeping", "recent", "unfinished"]
