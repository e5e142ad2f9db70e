"""Delivery under failure: the SMTP server down (recorded as failed, sent by the next run once it is back, and
never twice), SMTP not configured (nothing sent, nothing recorded), a run that died mid-send."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from jobs import notify
from jobs.services import Services
from service.settings import Settings
from storage.models import NotificationDelivery
from storage.repositories import notifications as repo
from tests.jobs.notify_setup import DUE_NOW, WEEK, SmtpServer, build_week, free_port, smtp_server


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def settings(db_url: str, settings_for, port: int) -> Settings:  # type: ignore[no-untyped-def]
    """Overrides conftest's: the service sends to `port`, where nothing listens until a test starts a server."""
    return settings_for(db_url, **SmtpServer(port=port, ca_file=None).env())  # type: ignore[no-any-return]


async def test_smtp_down_then_back_sends_each_digest_once(services: Services, port: int) -> None:
    await build_week(services)
    down = await notify.run_digests(services, now=DUE_NOW)
    assert (down["sent"], down["failed"]) == (0, 2)
    async with services.sessions() as session:
        failed = await repo.deliveries(session)
    assert {d.status for d in failed} == {"failed"}
    assert all(f"127.0.0.1:{port}" in (d.error or "") and "LISTENER_SMTP_HOST" in (d.error or "") for d in failed)

    with smtp_server(port=port) as server:
        back = await notify.run_digests(services, now=DUE_NOW + timedelta(minutes=15))
        again = await notify.run_digests(services, now=DUE_NOW + timedelta(minutes=30))
    assert back["sent"] == 2
    assert again["sent"] == 0
    assert len(server.received) == 2
    async with services.sessions() as session:
        sent = await repo.deliveries(session)
    assert {(d.status, d.attempts, d.period) for d in sent} == {("sent", 2, WEEK)}


async def test_a_failed_week_is_retried_even_after_the_next_week_is_due(services: Services, port: int) -> None:
    await build_week(services)
    await notify.run_digests(services, now=DUE_NOW)  # down: W47 fails for both
    with smtp_server(port=port) as server:
        result = await notify.run_digests(services, now=DUE_NOW + timedelta(days=7))
    assert result["sent"] == 4  # W47 retried, W48 due
    weeks = sorted(str(r.message["Subject"]).rsplit("(", 1)[1] for r in server.received)
    assert weeks == ["2026-W47)", "2026-W47)", "2026-W48)", "2026-W48)"]


async def test_a_send_cut_short_is_taken_back_only_once_stale(services: Services, port: int) -> None:
    fixture = await build_week(services)
    async with services.sessions.begin() as session:  # a run claimed it, then its process died
        claimed = await repo.claim(
            session,
            key=f"digest:{fixture.user_fr}:{WEEK}",
            user_id=fixture.user_fr,
            kind="digest",
            period=WEEK,
            to_address="boulangerie@example.test",
            now=DUE_NOW,
            stale_after=notify.STALE_AFTER,
        )
    assert claimed is not None
    with smtp_server(port=port) as server:
        soon = await notify.run_digests(services, now=DUE_NOW + timedelta(minutes=5))
        assert (soon["sent"], soon["already_sent"]) == (1, 1)  # the other user only: it may be in flight
        later = await notify.run_digests(services, now=DUE_NOW + timedelta(minutes=20))
        assert later["sent"] == 1
    ids = [str(r.message["Message-ID"]) for r in server.received]
    assert len(set(ids)) == 2
    async with services.sessions.begin() as session:
        await session.execute(update(NotificationDelivery).values(status="failed"))
    with smtp_server(port=port) as server:
        await notify.run_digests(services, now=DUE_NOW + timedelta(minutes=40))
    # A re-send carries the same Message-ID, so the receiving side can tell it is the same message.
    assert sorted(str(r.message["Message-ID"]) for r in server.received) == sorted(ids)


async def test_nothing_is_sent_or_recorded_without_smtp(services: Services, settings_for, db_url: str) -> None:  # type: ignore[no-untyped-def]
    await build_week(services)
    bare = Services(settings_for(db_url), services.engine, services.sessions, services.campaign_ids)
    assert not bare.settings.smtp.configured
    assert (await notify.run_digests(bare, now=DUE_NOW))["skipped"].startswith("SMTP is not configured")
    assert (await notify.run_alerts(bare, now=DUE_NOW))["skipped"].startswith("SMTP is not configured")
    async with services.sessions() as session:
        assert await repo.deliveries(session) == []
        assert await repo.last_spike_ends(session, [1, 2]) == {}
