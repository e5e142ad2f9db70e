"""The negative-mention spike alert: the rule as a pure function, then the job on both databases with a real SMTP
server: it fires once for a spike, never again for the same negative posts, and again for a new spike."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

import pytest

from jobs import notify
from jobs.digest import read_unsubscribe_token
from jobs.services import Services
from service.settings import NotificationsSettings, Settings
from storage.repositories import notifications as repo
from tests.factories import make_author, make_post
from tests.jobs.notify_setup import DUE_NOW, SmtpServer, add_merchant_user, parts, smtp_server
from tests.storage.stories_setup import Analysed, add_merchant, store

NOW = DUE_NOW
RULES = NotificationsSettings()


def test_the_threshold_is_three_times_the_daily_average_and_at_least_three() -> None:
    hours = [NOW - timedelta(hours=h) for h in (1, 2, 3, 4, 5, 6)]
    quiet = notify.spike_check(hours[:3], 0, None, NOW, RULES)
    assert (quiet.count, quiet.threshold, quiet.fires) == (3, 3, True)
    assert not notify.spike_check(hours[:2], 0, None, NOW, RULES).fires
    busy = notify.spike_check(hours[:5], 56, None, NOW, RULES)  # 2 a day over 28 days: 6 needed
    assert (busy.baseline_daily, busy.threshold, busy.fires) == (2.0, 6, False)
    assert notify.spike_check(hours, 56, None, NOW, RULES).fires
    odd = notify.spike_check(hours, 42, None, NOW, RULES)  # 1.5 a day: 3 x 1.5 = 4.5, so 5
    assert odd.threshold == 5
    custom = NotificationsSettings(spike_factor=2.0, spike_min_count=10, spike_window_hours=12)
    assert notify.spike_check(hours, 0, None, NOW, custom).threshold == 10


def test_negatives_already_alerted_do_not_count_again() -> None:
    hours = [NOW - timedelta(hours=h) for h in (1, 2, 3, 10, 11, 12)]
    after_last = notify.spike_check(hours, 0, NOW - timedelta(hours=5), NOW, RULES)
    assert (after_last.count, after_last.window_start, after_last.fires) == (3, NOW - timedelta(hours=5), True)
    assert not notify.spike_check(hours, 0, NOW - timedelta(hours=2, minutes=30), NOW, RULES).fires
    old = notify.spike_check([NOW - timedelta(hours=25)], 0, None, NOW, RULES)  # outside the 24 h window
    assert old.count == 0


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def settings(db_url: str, settings_for, smtp: SmtpServer) -> Settings:  # type: ignore[no-untyped-def]
    return settings_for(db_url, **smtp.env())  # type: ignore[no-any-return]


async def _negatives(services: Services, merchant_id: int, times: Sequence[datetime], text: str | None = None) -> None:
    items = [
        (
            make_post(author=make_author(), created_at=t, text=text),
            Analysed(merchant_id=merchant_id, sentiment="negative"),
        )
        for t in times
    ]
    async with services.sessions.begin() as session:
        await store(session, services.campaign_ids["lovelocal"], items)


async def test_an_alert_fires_once_per_spike(services: Services, smtp: SmtpServer) -> None:
    async with services.sessions.begin() as session:
        shop = await add_merchant(session, "Chez <Marcel>")
        quiet_shop = await add_merchant(session, "Nobody Watches")
    user_default = await add_merchant_user(services, "marcel@example.test", shop, None)  # lovelocal: ar, fr, en → fr
    user_en = await add_merchant_user(services, "marcel.en@example.test", shop, "en")
    window_start = NOW - timedelta(hours=24)
    # The usual level: one negative mention a day over the 28 days before the window (threshold 3).
    await _negatives(services, shop, [window_start - timedelta(days=d, hours=12) for d in range(28)])
    await _negatives(services, quiet_shop, [NOW - timedelta(hours=h) for h in (1, 2, 3, 4)])  # no user: no alert
    await _negatives(services, shop, [NOW - timedelta(hours=20), NOW - timedelta(hours=10)])

    calm = await notify.run_alerts(services, now=NOW)
    assert (calm["spikes"], calm["sent"]) == ([], 0)

    await _negatives(services, shop, [NOW - timedelta(hours=1)], text="<script>alert(1)</script> خدمة سيئة")
    spike = await notify.run_alerts(services, now=NOW)
    assert spike["spikes"] == [{"merchant_id": shop, "negative": 3, "threshold": 3}]
    assert spike["sent"] == 2
    [french] = smtp.to("marcel@example.test")
    [english] = smtp.to("marcel.en@example.test")
    assert french["Subject"] == "Alerte : 3 mentions négatives de Chez <Marcel> en 24 h"
    assert english["Subject"] == "Alert: 3 negative mentions of Chez <Marcel> in 24 h"
    text, html = parts(english)
    assert "3 negative mentions of Chez <Marcel> in the last 24 hours" in text
    assert "Usual level: 1.0 negative mentions a day over the previous 28 days (alert threshold: 3)." in text
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; خدمة سيئة" in html
    assert "Chez &lt;Marcel&gt;" in html
    token = str(english["List-Unsubscribe"]).strip().strip("<>").rsplit("/", 1)[1]
    assert read_unsubscribe_token(notify.unsubscribe_key(services), token) == (user_en, "alert")
    assert english["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # The same spike never alerts twice, however often the check runs.
    for minutes in (0, 30, 60):
        assert (await notify.run_alerts(services, now=NOW + timedelta(minutes=minutes)))["sent"] == 0
    # Two new negative posts are not a new spike; a third is.
    await _negatives(services, shop, [NOW + timedelta(minutes=10), NOW + timedelta(minutes=20)])
    assert (await notify.run_alerts(services, now=NOW + timedelta(hours=1)))["spikes"] == []
    await _negatives(services, shop, [NOW + timedelta(minutes=50)])
    second = await notify.run_alerts(services, now=NOW + timedelta(hours=1))
    assert second["spikes"] == [{"merchant_id": shop, "negative": 3, "threshold": 3}]
    assert len(smtp.to("marcel@example.test")) == 2

    async with services.sessions() as session:
        rows = await repo.deliveries(session)
    assert sorted((r.user_id, r.kind, r.status) for r in rows) == sorted(
        [(user_default, "alert", "sent"), (user_en, "alert", "sent")] * 2
    )
    assert len({r.spike_id for r in rows}) == 2


async def test_users_who_stopped_alerts_are_not_alerted(services: Services, smtp: SmtpServer) -> None:
    async with services.sessions.begin() as session:
        shop = await add_merchant(session, "Chez Marcel")
    user = await add_merchant_user(services, "marcel@example.test", shop, "fr")
    async with services.sessions.begin() as session:
        assert await repo.unsubscribe(session, user, "alert", NOW)
    await _negatives(services, shop, [NOW - timedelta(hours=h) for h in (1, 2, 3, 4)])
    result = await notify.run_alerts(services, now=NOW)
    assert (result["spikes"], result["sent"]) == ([], 0)
    assert not smtp.received


async def test_dry_run_finds_the_spike_without_recording_it(services: Services, smtp: SmtpServer) -> None:
    async with services.sessions.begin() as session:
        shop = await add_merchant(session, "Chez Marcel")
    await add_merchant_user(services, "marcel@example.test", shop, "fr")
    await _negatives(services, shop, [NOW - timedelta(hours=h) for h in (1, 2, 3)])
    assert (await notify.run_alerts(services, now=NOW, dry_run=True))["spikes"] == [
        {"merchant_id": shop, "negative": 3, "threshold": 3}
    ]
    async with services.sessions() as session:
        assert await repo.last_spike_ends(session, [shop]) == {}
    assert not smtp.received
    assert (await notify.run_alerts(services, now=NOW))["sent"] == 1
