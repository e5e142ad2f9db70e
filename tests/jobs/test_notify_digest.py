"""The weekly digest job end to end: real posts and analyses on both databases, the real job, a real SMTP server
on loopback. The numbers of the fixture week are worked out by hand (tests/jobs/notify_setup.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from jobs import notify
from jobs.digest import Digest, MerchantWeek, compose_digest, due_week, read_unsubscribe_token
from jobs.scheduler import Clock
from jobs.services import Services
from service.settings import Settings
from storage.models import User
from storage.repositories import notifications as repo
from tests.jobs.notify_setup import (
    DUE_NOW,
    EMAIL_EN,
    EMAIL_FR,
    EXPECTED,
    HOSTILE,
    WEEK,
    SmtpServer,
    build_week,
    parts,
    smtp_server,
)

NNBSP = "\u202f"  # French thousands separator


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def settings(db_url: str, settings_for, smtp: SmtpServer) -> Settings:  # type: ignore[no-untyped-def]
    """Overrides conftest's: the service sends through the test server."""
    return settings_for(db_url, **smtp.env())  # type: ignore[no-any-return]


async def test_each_user_gets_the_week_once_with_hand_computed_numbers(services: Services, smtp: SmtpServer) -> None:
    fixture = await build_week(services)
    result = await notify.run_digests(services, now=DUE_NOW)
    assert result["sent"] == 2
    [fr] = smtp.to(EMAIL_FR)
    [en] = smtp.to(EMAIL_EN)

    text, html = parts(fr)
    e = EXPECTED["fr"]
    assert fr["Subject"] == f"Boulangerie Les Trois Épis : {e['mentions']} mentions cette semaine ({WEEK})"
    assert "Du 16 novembre 2026 au 22 novembre 2026" in text
    assert f"Mentions : {e['mentions']} (semaine précédente : {e['previous']})" in text
    assert f"Positives / neutres / négatives : {e['positive']} / {e['neutral']} / {e['negative']}" in text
    assert f"Sentiment net (positives moins négatives, en % des mentions) : {e['net']}" in text
    assert f"Portée (abonnés des auteurs) : 3{NNBSP}105" in text
    assert f"Interactions (j'aime, partages, réponses, citations) : {e['interactions']}" in text
    # Best posts: the most engaging non-negative ones, best first (a2 35, a1 12, a5 1); a3 is negative.
    best = text.split("Les meilleures publications de la semaine :")[1].split("Vos histoires mises en avant")[0]
    assert [line.split(".", 1)[0] for line in best.strip().splitlines() if line[:1].isdigit()] == ["1", "2", "3"]
    assert best.index("Merci Les Trois Épis") < best.index("J'adore ma boulangerie")
    assert "@troisepis" in best  # the shop's own account is shown by its handle
    assert fixture.private_handle not in text + html  # a private individual is pseudonymised...
    assert "person-" in best  # ...as a stable pseudonym
    assert text.count("par Amal R., mise en avant depuis le 17 novembre 2026") == 1  # the archived one is older

    # The untrusted post text: escaped in the HTML part, read right to left where it is Arabic.
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert '<p dir="auto" style="margin:0">&lt;script&gt;' in html
    assert HOSTILE in text  # plain text is plain: shown as written, one line
    assert fr.get_content_type() == "multipart/alternative"

    text_en, html_en = parts(en)
    e = EXPECTED["en"]
    assert en["Subject"] == f"Al Amal Bakery: {e['mentions']} mentions this week ({WEEK})"
    assert f"Mentions: {e['mentions']} (previous week: {e['previous']})" in text_en
    assert f"Positive / neutral / negative: {e['positive']} / {e['neutral']} / {e['negative']}" in text_en
    assert f"Net sentiment (positive minus negative, % of mentions): {e['net']}" in text_en
    assert f"Reach (followers of the authors): {e['reach']}" in text_en
    assert f"Interactions (likes, reposts, replies, quotes): {e['interactions']}" in text_en
    assert '<html lang="en">' in html_en

    # RFC 8058 one-click unsubscribe, a link per user and kind.
    for message, user_id in ((fr, fixture.user_fr), (en, fixture.user_en)):
        link = str(message["List-Unsubscribe"]).strip()  # a long header is folded: unfolding leaves a space
        assert link.startswith("<http://127.0.0.1:8080/unsubscribe/")
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        token = link.strip("<>").rsplit("/", 1)[1]
        assert read_unsubscribe_token(notify.unsubscribe_key(services), token) == (user_id, "digest")

    # Recorded: who, what, which week, when, result.
    async with services.sessions() as session:
        rows = await repo.deliveries(session)
    assert {(r.user_id, r.kind, r.period, r.status, r.attempts) for r in rows} == {
        (fixture.user_fr, "digest", WEEK, "sent", 1),
        (fixture.user_en, "digest", WEEK, "sent", 1),
    }
    assert all(r.sent_at is not None and r.message_id for r in rows)

    # Running again, later the same week, sends nothing new.
    again = await notify.run_digests(services, now=DUE_NOW + timedelta(hours=5))
    assert again["sent"] == 0
    assert again["already_sent"] == 2
    assert len(smtp.received) == 2


async def test_a_week_is_not_sent_before_it_is_due_or_over(services: Services, smtp: SmtpServer) -> None:
    await build_week(services)
    result = await notify.run_digests(services, week="2026-W48", now=DUE_NOW)
    assert result == {"sent": 0, "week_not_over": 2}
    # Monday 07:59 in Paris: W47 is not due before 08:00, the latest due is W46 (the users' first digest).
    early = await notify.run_digests(services, now=datetime(2026, 11, 23, 6, 59, tzinfo=UTC))
    assert early["sent"] == 2
    assert {m["Subject"].rsplit("(", 1)[1] for m in (smtp.received[0].message, smtp.received[1].message)} == {
        "2026-W46)"
    }
    assert smtp.to(EMAIL_FR)[0]["Subject"] == "Boulangerie Les Trois Épis : 1 mention cette semaine (2026-W46)"
    assert smtp.to(EMAIL_EN)[0]["Subject"] == "Al Amal Bakery: 0 mentions this week (2026-W46)"


async def test_dry_run_composes_without_sending_or_recording(services: Services, smtp: SmtpServer) -> None:
    await build_week(services)
    result = await notify.run_digests(services, now=DUE_NOW, dry_run=True)
    assert [(w["user"], w["week"]) for w in result["would_send"]] == [(EMAIL_FR, WEEK), (EMAIL_EN, WEEK)]
    assert not smtp.received
    async with services.sessions() as session:
        assert await repo.deliveries(session) == []


async def test_a_refused_recipient_fails_alone_and_is_retried_until_given_up(
    services: Services, smtp: SmtpServer
) -> None:
    fixture = await build_week(services)
    async with services.sessions.begin() as session:
        user = await session.get(User, fixture.user_en)
        assert user is not None
        user.email = "refused@example.test"
    first = await notify.run_digests(services, now=DUE_NOW)
    assert (first["sent"], first["failed"]) == (1, 1)
    async with services.sessions() as session:
        [failed] = await repo.deliveries(session, statuses=["failed"])
    assert "refused@example.test" in (failed.error or "")
    second = await notify.run_digests(services, now=DUE_NOW + timedelta(hours=1))
    assert (second["sent"], second["failed"], second["already_sent"]) == (0, 1, 1)
    gave_up = await notify.run_digests(services, now=DUE_NOW + timedelta(hours=73))
    assert gave_up["abandoned"] == 1
    async with services.sessions() as session:
        [abandoned] = await repo.deliveries(session, statuses=["abandoned"])
    assert abandoned.attempts == 3
    assert (await notify.run_digests(services, now=DUE_NOW + timedelta(hours=74)))["sent"] == 0
    assert len(smtp.received) == 1


async def test_the_scheduler_runs_the_jobs_only_when_smtp_is_configured(
    services: Services, settings_for: Callable[..., Settings], db_url: str
) -> None:
    assert {"digests", "alerts"} <= set(Clock(services).job_names)
    bare = Services(settings_for(db_url), services.engine, services.sessions, services.campaign_ids)
    assert not {"digests", "alerts"} & set(Clock(bare).job_names)


def test_due_week_follows_the_local_weekday_and_hour() -> None:
    paris = ZoneInfo("Europe/Paris")
    assert due_week(datetime(2026, 11, 23, 7, 0, tzinfo=UTC), paris, 1, 8) == "2026-W47"  # 08:00 in Paris
    assert due_week(datetime(2026, 11, 23, 6, 59, tzinfo=UTC), paris, 1, 8) == "2026-W46"
    assert due_week(datetime(2026, 11, 29, 22, 0, tzinfo=UTC), paris, 1, 8) == "2026-W47"  # Sunday 23:00
    assert due_week(datetime(2026, 11, 25, 9, 0, tzinfo=UTC), paris, 3, 9) == "2026-W47"  # Wednesday 10:00
    assert due_week(datetime(2026, 11, 25, 7, 0, tzinfo=UTC), paris, 3, 9) == "2026-W46"


def test_a_week_without_mentions_still_reads_well() -> None:
    quiet = MerchantWeek("Chez Nous", 0, 0, 0, 0, 0, 0, 4)
    composed = compose_digest(Digest("fr", WEEK, "Europe/Paris", [quiet], "https://p/merchant", "https://p/u/1"))
    assert "Aucune publication n'a mentionné ce commerce cette semaine." in composed.text
    assert "Sentiment net (positives moins négatives, en % des mentions) : —" in composed.text
    assert "semaine précédente : 4" in composed.text
