"""The merchant notification jobs: the weekly digest and the negative-mention spike alert, sent over SMTP.

**Weekly digest.** Each enabled merchant user gets one e-mail per ISO week covering all its merchants: their
mentions, sentiment split, net sentiment, reach, interactions, best posts and featured stories (counting
rules: storage/repositories/notifications.py). The week is the ISO week in the time zone of the user's
first merchant's campaign (the campaign holding most of its mentions); it is due on
`[notifications] digest_weekday` at `digest_hour`, local time, of the following week. Every run sends what
is due and not sent yet, so the scheduler can run it often and a missed hour is caught up.

**Spike alert.** For a merchant, negative mentions made in the last `spike_window_hours` (24) are counted,
but only those made after the end of the window of its previous alert, so the same negative posts never
raise a second alert. The alert fires when that count is at least
`max(spike_min_count, ceil(spike_factor x daily average x spike_window_hours / 24))`, the daily average being
taken over the `spike_baseline_days` (28) before the window: by default 24 h >= max(3, 3 x the 28-day
daily average). A spike is recorded with one pending delivery per user of the merchant in one transaction.

**Delivery.** Each e-mail has a dedup key (`digest:<user>:<week>`, `alert:<user>:<spike>`) and a row in
notification_deliveries, claimed before sending and marked sent or failed after: re-running a job never
sends the same e-mail twice; a failed one is retried by every run until `give_up_hours` after its first
attempt (then `abandoned`, logged as an error). A process that dies mid-send leaves a `sending` row that
is taken back after STALE_AFTER and sent again with the same Message-ID (at-least-once in that one case).
Nothing happens at all while SMTP is not configured. Handles of private individuals are pseudonymised.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from jobs.digest import (
    Alert,
    Composed,
    Digest,
    MerchantWeek,
    PostLine,
    StoryLine,
    compose_alert,
    compose_digest,
    due_week,
    locale_of,
    parse_week,
    unsubscribe_token,
    week_bounds,
    week_label,
)
from jobs.mailer import Mail, MailConnectFailed, MailError, MailSession, send_one, sender_domain
from jobs.services import Services
from service.settings import CampaignSettings, NotificationsSettings
from storage.models import NotificationSpike
from storage.pseudonyms import shown_handle
from storage.repositories import notifications as repo
from storage.repositories._sql import utcnow
from storage.repositories.notifications import PostRow, Recipient

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=15)
ALERT_POSTS = 5
NOT_CONFIGURED = "SMTP is not configured ([smtp] host and from_address): nothing sent"


def unsubscribe_key(services: Services) -> bytes:
    """The key of the unsubscribe links, derived from the pseudonym key (LISTENER_SECRET_KEY when set)."""
    return hmac.new(services.pseudonym_key(), b"campaign-listener unsubscribe links", hashlib.sha256).digest()


def _base_url(services: Services) -> str:
    return services.settings.web.public_url.rstrip("/")


def unsubscribe_url(services: Services, user_id: int, kind: str) -> str:
    return f"{_base_url(services)}/unsubscribe/{unsubscribe_token(unsubscribe_key(services), user_id, kind)}"


# --- the spike rule (pure) ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SpikeCheck:
    count: int
    window_start: datetime
    baseline_daily: float
    threshold: int

    @property
    def fires(self) -> bool:
        return self.count >= self.threshold


def spike_check(
    negative_times: Sequence[datetime],
    baseline_count: int,
    last_window_end: datetime | None,
    now: datetime,
    rules: NotificationsSettings,
) -> SpikeCheck:
    """The rule of the module docstring for one merchant: `negative_times` are its negative posts' dates."""
    window_start = now - timedelta(hours=rules.spike_window_hours)
    if last_window_end is not None and last_window_end > window_start:
        window_start = last_window_end
    count = sum(1 for t in negative_times if window_start <= t < now)
    daily = baseline_count / rules.spike_baseline_days
    expected = rules.spike_factor * daily * rules.spike_window_hours / 24
    threshold = max(rules.spike_min_count, math.ceil(expected - 1e-9))
    return SpikeCheck(count, window_start, daily, threshold)


# --- who, where, which language -----------------------------------------------------------------------


@dataclass(frozen=True)
class Audience:
    recipient: Recipient
    tz: ZoneInfo
    locale: str


async def _audiences(services: Services, people: Sequence[Recipient]) -> dict[int, Audience]:
    merchant_ids = sorted({m for p in people for m in p.merchant_ids})
    async with services.sessions() as session:
        campaign_of = await repo.main_campaigns(session, merchant_ids)
    by_id = {cid: services.settings.campaigns[slug] for slug, cid in services.campaign_ids.items()}
    first: CampaignSettings = next(iter(services.settings.campaigns.values()))
    out: dict[int, Audience] = {}
    for person in people:
        campaign = by_id.get(campaign_of.get(person.merchant_ids[0], -1), first)
        out[person.user_id] = Audience(
            person, ZoneInfo(campaign.timezone), locale_of(person.locale, list(campaign.languages))
        )
    return out


def _post_line(services: Services, row: PostRow) -> PostLine:
    handle = shown_handle(
        row.handle, row.platform, row.author_platform_id, public=row.public, key=services.pseudonym_key()
    )
    return PostLine(
        text=row.text,
        url=row.url,
        platform=row.platform,
        author=f"@{handle.lstrip('@')}" if row.public else handle,
        sentiment=row.sentiment,
        created_at=row.created_at,
        interactions=row.interactions,
    )


def _mail(services: Services, audience: Audience, kind: str, key: str, composed: Composed) -> Mail:
    link = unsubscribe_url(services, audience.recipient.user_id, kind)
    domain = sender_domain(services.settings.smtp.from_address or "")
    stable = hashlib.sha256(key.encode()).hexdigest()[:20]  # a re-send carries the same Message-ID
    return Mail(
        to=audience.recipient.email,
        subject=composed.subject,
        text=composed.text,
        html=composed.html,
        headers={"List-Unsubscribe": f"<{link}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
        message_id=f"<{kind}.{stable}@{domain}>",
    )


# --- composing from the database ----------------------------------------------------------------------


async def digest_for(services: Services, audience: Audience, week: str) -> Composed:
    person, tz = audience.recipient, audience.tz
    start, end = week_bounds(week, tz)
    previous_start, _ = week_bounds(week_label(parse_week(week) - timedelta(days=7)), tz)
    rules = services.settings.notifications
    async with services.sessions() as session:
        names = await repo.merchant_names(session, person.merchant_ids)
        numbers = await repo.week_numbers(session, person.merchant_ids, start, end)
        previous = await repo.week_numbers(session, person.merchant_ids, previous_start, start)
        merchants = []
        for merchant_id in person.merchant_ids:
            best = await repo.merchant_posts(session, merchant_id, start, end, negative=False, limit=rules.best_posts)
            featured = await repo.featured_stories(session, merchant_id, start, end)
            n = numbers.get(merchant_id, repo.Numbers())
            merchants.append(
                MerchantWeek(
                    name=names.get(merchant_id, f"#{merchant_id}"),
                    mentions=n.mentions,
                    positive=n.positive,
                    neutral=n.neutral,
                    negative=n.negative,
                    reach=n.reach,
                    interactions=n.interactions,
                    previous_mentions=previous.get(merchant_id, repo.Numbers()).mentions,
                    best_posts=[_post_line(services, row) for row in best],
                    featured=[
                        StoryLine(f.text, f.url, f.public_name, f.featured_from, f.featured_until) for f in featured
                    ],
                )
            )
    return compose_digest(
        Digest(
            locale=audience.locale,
            week=week,
            timezone=str(tz),
            merchants=merchants,
            portal_url=f"{_base_url(services)}/merchant",
            unsubscribe_url=unsubscribe_url(services, person.user_id, "digest"),
        )
    )


async def alert_for(services: Services, audience: Audience, spike: NotificationSpike) -> Composed:
    rules = services.settings.notifications
    async with services.sessions() as session:
        names = await repo.merchant_names(session, [spike.merchant_id])
        rows = await repo.merchant_posts(
            session, spike.merchant_id, spike.window_start, spike.window_end, negative=True, limit=ALERT_POSTS
        )
    return compose_alert(
        Alert(
            locale=audience.locale,
            merchant_name=names.get(spike.merchant_id, f"#{spike.merchant_id}"),
            negative_count=spike.negative_count,
            window_hours=rules.spike_window_hours,
            baseline_daily=spike.baseline_daily,
            baseline_days=rules.spike_baseline_days,
            threshold=spike.threshold,
            detected_at=spike.detected_at,
            timezone=str(audience.tz),
            posts=[_post_line(services, row) for row in rows],
            portal_url=f"{_base_url(services)}/merchant",
            unsubscribe_url=unsubscribe_url(services, audience.recipient.user_id, "alert"),
        )
    )


# --- sending ------------------------------------------------------------------------------------------


async def _record_failure(
    services: Services, delivery_id: int, now: datetime, error: str, counts: Counter[str]
) -> None:
    give_up = timedelta(hours=services.settings.notifications.give_up_hours)
    async with services.sessions.begin() as session:
        status = await repo.mark_failed(session, delivery_id, now, error, give_up)
    counts[status] += 1
    if status == repo.ABANDONED:
        log.error("delivery %s abandoned after failing for %s: %s", delivery_id, give_up, error)
    else:
        log.warning("delivery %s failed (retried next run): %s", delivery_id, error)


async def _deliver(services: Services, claimed: list[tuple[int, Mail]], now: datetime) -> Counter[str]:
    """Send the claimed e-mails over one connection; each result is committed as soon as it is known."""
    counts: Counter[str] = Counter()
    pending = list(claimed)
    if not pending:
        return counts
    try:
        async with MailSession(services.settings.smtp, services.settings.secrets.get("smtp_password")) as mailer:
            while pending:
                delivery_id, mail = pending[0]
                try:
                    message_id = await mailer.send(mail)
                except MailConnectFailed:
                    raise
                except MailError as exc:  # this message only: the others may still go
                    pending.pop(0)
                    await _record_failure(services, delivery_id, now, str(exc), counts)
                    continue
                pending.pop(0)
                async with services.sessions.begin() as session:
                    await repo.mark_sent(session, delivery_id, utcnow(), message_id)
                counts["sent"] += 1
    except Exception as exc:  # the connection (or this run) is gone: what was not sent is failed, retried later
        error = str(exc) if isinstance(exc, MailError) else f"{type(exc).__name__}: {exc}"
        for delivery_id, _ in pending:
            await _record_failure(services, delivery_id, now, error, counts)
        if not isinstance(exc, MailError):
            raise
    return counts


async def _claim(
    services: Services, audience: Audience, *, kind: str, period: str, now: datetime, spike_id: int | None = None
) -> int | None:
    async with services.sessions.begin() as session:
        return await repo.claim(
            session,
            key=f"{kind}:{audience.recipient.user_id}:{period}",
            user_id=audience.recipient.user_id,
            kind=kind,
            period=period,
            to_address=audience.recipient.email,
            now=now,
            stale_after=STALE_AFTER,
            spike_id=spike_id,
        )


# --- the jobs -----------------------------------------------------------------------------------------


async def run_digests(
    services: Services,
    *,
    now: datetime | None = None,
    week: str | None = None,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Send every due weekly digest not sent yet (or those of `week`), and retry failed ones. `dry_run`
    composes without sending or recording (and works without SMTP)."""
    now = now or utcnow()
    if week is not None:
        week = week_label(parse_week(week))  # ValueError names the expected form
    if not services.settings.smtp.configured and not dry_run:
        log.info("digests: %s", NOT_CONFIGURED)
        return {"skipped": NOT_CONFIGURED, "sent": 0}
    rules = services.settings.notifications
    async with services.sessions() as session:
        people = await repo.recipients(session)
        retry = [] if week or dry_run else await repo.to_retry(session, "digest", now, STALE_AFTER)
    audiences = await _audiences(services, people)
    counts: Counter[str] = Counter()
    plan: dict[tuple[int, str], Audience] = {}
    for audience in audiences.values():
        if "digest" in audience.recipient.unsubscribed:
            counts["unsubscribed"] += 1
            continue
        label = week or due_week(now, audience.tz, rules.digest_weekday, rules.digest_hour)
        if week_bounds(label, audience.tz)[1] > now:
            counts["week_not_over"] += 1
            continue
        plan[(audience.recipient.user_id, label)] = audience
    for delivery in retry:
        again = audiences.get(delivery.user_id)
        if again is not None and "digest" not in again.recipient.unsubscribed:
            plan[(delivery.user_id, delivery.period)] = again
    previews: list[dict[str, Any]] = []
    claimed: list[tuple[int, Mail]] = []
    async with services.sessions() as session:  # most runs find everything sent: skip those without a write
        done = await repo.settled(session, [f"digest:{user_id}:{label}" for user_id, label in plan])
    for (user_id, label), audience in sorted(plan.items(), key=lambda item: item[0]):
        over = done.get(f"digest:{user_id}:{label}")
        if over is not None and not dry_run:
            counts["already_sent" if over == repo.SENT else "abandoned_before"] += 1
            continue
        if dry_run:
            composed = await digest_for(services, audience, label)
            previews.append({"user": audience.recipient.email, "week": label, "subject": composed.subject})
            continue
        delivery_id = await _claim(services, audience, kind="digest", period=label, now=now)
        if delivery_id is None:
            counts["already_sent"] += 1
            continue
        try:
            composed = await digest_for(services, audience, label)
        except Exception as exc:  # recorded and retried, never lost silently
            log.exception("digest for user %s, %s could not be composed", user_id, label)
            await _record_failure(services, delivery_id, now, f"{type(exc).__name__}: {exc}", counts)
            continue
        claimed.append((delivery_id, _mail(services, audience, "digest", f"digest:{user_id}:{label}", composed)))
    counts.update(await _deliver(services, claimed, now))
    result: dict[str, Any] = {"sent": counts.pop("sent", 0), **dict(sorted(counts.items()))}
    if dry_run:
        result["would_send"] = previews
    return result


async def detect_spikes(services: Services, now: datetime, *, record: bool) -> list[dict[str, Any]]:
    """Apply the spike rule to every merchant someone receives alerts for; with `record`, store each spike
    with its pending deliveries (in one transaction)."""
    rules = services.settings.notifications
    window_start = now - timedelta(hours=rules.spike_window_hours)
    found: list[dict[str, Any]] = []
    async with services.sessions.begin() as session:
        watchers: dict[int, list[Recipient]] = {}
        for person in await repo.recipients(session):
            if "alert" not in person.unsubscribed:
                for merchant_id in person.merchant_ids:
                    watchers.setdefault(merchant_id, []).append(person)
        merchants = sorted(watchers)
        times = await repo.negative_times(session, merchants, window_start, now)
        baseline = await repo.negative_counts(
            session, merchants, window_start - timedelta(days=rules.spike_baseline_days), window_start
        )
        last_ends = await repo.last_spike_ends(session, merchants)
        for merchant_id in merchants:
            check = spike_check(
                times.get(merchant_id, []), baseline[merchant_id], last_ends.get(merchant_id), now, rules
            )
            if not check.fires:
                continue
            found.append({"merchant_id": merchant_id, "negative": check.count, "threshold": check.threshold})
            if record:
                spike = NotificationSpike(
                    merchant_id=merchant_id,
                    detected_at=now,
                    window_start=check.window_start,
                    window_end=now,
                    negative_count=check.count,
                    baseline_daily=check.baseline_daily,
                    threshold=check.threshold,
                )
                people = watchers[merchant_id]
                await repo.add_spike(session, spike, [p.user_id for p in people], [p.email for p in people])
                log.info(
                    "spike for merchant %s: %s negative mentions (threshold %s)",
                    merchant_id,
                    check.count,
                    check.threshold,
                )
    return found


async def run_alerts(services: Services, *, now: datetime | None = None, dry_run: bool = False) -> dict[str, Any]:
    """Detect negative-mention spikes and send their alerts (and retry failed ones)."""
    now = now or utcnow()
    if not services.settings.smtp.configured and not dry_run:
        log.info("alerts: %s", NOT_CONFIGURED)
        return {"skipped": NOT_CONFIGURED, "sent": 0}
    spikes = await detect_spikes(services, now, record=not dry_run)
    if dry_run:
        return {"spikes": spikes, "sent": 0}
    counts: Counter[str] = Counter()
    async with services.sessions() as session:
        due = await repo.to_retry(session, "alert", now, STALE_AFTER)
        people = await repo.recipients(session, sorted({d.user_id for d in due}))
    audiences = await _audiences(services, people)
    claimed: list[tuple[int, Mail]] = []
    for delivery in due:
        audience = audiences.get(delivery.user_id)
        if audience is None or "alert" in audience.recipient.unsubscribed or delivery.spike_id is None:
            counts["skipped"] += 1
            continue
        delivery_id = await _claim(
            services, audience, kind="alert", period=delivery.period, now=now, spike_id=delivery.spike_id
        )
        if delivery_id is None:
            continue
        try:
            async with services.sessions() as session:
                spike = await repo.get_spike(session, delivery.spike_id)
            assert spike is not None  # the delivery's foreign key
            composed = await alert_for(services, audience, spike)
        except Exception as exc:
            log.exception("alert %s could not be composed", delivery.dedup_key)
            await _record_failure(services, delivery_id, now, f"{type(exc).__name__}: {exc}", counts)
            continue
        claimed.append((delivery_id, _mail(services, audience, "alert", delivery.dedup_key, composed)))
    counts.update(await _deliver(services, claimed, now))
    return {"spikes": spikes, "sent": counts.pop("sent", 0), **dict(sorted(counts.items()))}


async def digests_job(services: Services) -> dict[str, Any]:
    return await run_digests(services)


async def alerts_job(services: Services) -> dict[str, Any]:
    return await run_alerts(services)


async def send_test_email(services: Services, to: str) -> str:
    """One plain message to `to` through the configured server; returns its Message-ID."""
    smtp = services.settings.smtp
    mail = Mail(
        to=to,
        subject="campaign-listener: test message",
        text=(
            "This is a test message from campaign-listener.\n"
            f"It went through {smtp.host}:{smtp.effective_port} (tls: {smtp.tls}), from {smtp.from_address}.\n"
            "Merchant digests and alerts will be sent the same way.\n"
        ),
    )
    return await send_one(smtp, services.settings.secrets.get("smtp_password"), mail)
