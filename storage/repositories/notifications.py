"""The queries behind the merchant e-mails: who receives them, a merchant's numbers for a week, its best and
negative posts, its featured stories, negative counts for the spike rule, the spikes, the deliveries and the
unsubscribes.

Counting rules (stated once, here): a *mention* is a distinct post that links to the merchant, that belongs
to at least one campaign (post_campaigns) and that was created in the window; its sentiment is the post's
analysis. *Reach* sums, over those posts, the author's follower count as last collected (unknown counts as
0): the audience the posts could reach, not views. *Interactions* sum likes, reposts, replies and quotes.

Deliveries are claimed before sending (a compare-and-set on their status), so two runs, or two processes,
never send the same e-mail; see `claim`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Analysis,
    Author,
    Mention,
    Merchant,
    MerchantHandle,
    NotificationDelivery,
    NotificationSpike,
    NotificationUnsubscribe,
    Post,
    PostCampaign,
    RightsRequest,
    Story,
    User,
    UserMerchant,
)
from storage.repositories._sql import upsert_insert

SENDING, SENT, FAILED, PENDING, ABANDONED = "sending", "sent", "failed", "pending", "abandoned"


@dataclass(frozen=True)
class Recipient:
    user_id: int
    email: str
    locale: str | None
    merchant_ids: tuple[int, ...]
    unsubscribed: frozenset[str]


@dataclass(frozen=True)
class Numbers:
    mentions: int = 0
    positive: int = 0
    neutral: int = 0
    negative: int = 0
    reach: int = 0
    interactions: int = 0


@dataclass(frozen=True)
class PostRow:
    post_id: int
    text: str
    url: str | None
    platform: str
    handle: str
    author_platform_id: str
    public: bool  # rights granted on a story of the author, or a registered merchant handle
    sentiment: str
    created_at: datetime
    interactions: int


@dataclass(frozen=True)
class FeaturedRow:
    text: str
    url: str | None
    public_name: str | None
    featured_from: datetime
    featured_until: datetime | None


# --- recipients ---------------------------------------------------------------------------------------


async def recipients(session: AsyncSession, user_ids: Sequence[int] | None = None) -> list[Recipient]:
    """Enabled merchant users bound to at least one active merchant, with what they unsubscribed from."""
    query = (
        select(User.id, User.email, User.locale, UserMerchant.merchant_id)
        .join(UserMerchant, UserMerchant.user_id == User.id)
        .join(Merchant, Merchant.id == UserMerchant.merchant_id)
        .where(User.role == "merchant", User.disabled.is_(False), Merchant.status == "active")
        .order_by(User.id, UserMerchant.merchant_id)
    )
    if user_ids is not None:
        query = query.where(User.id.in_(user_ids))
    people: dict[int, tuple[str, str | None, list[int]]] = {}
    for user_id, email, locale, merchant_id in (await session.execute(query)).all():
        people.setdefault(user_id, (email, locale, []))[2].append(merchant_id)
    stops: dict[int, set[str]] = {}
    if people:
        rows = await session.execute(
            select(NotificationUnsubscribe.user_id, NotificationUnsubscribe.kind).where(
                NotificationUnsubscribe.user_id.in_(list(people))
            )
        )
        for user_id, kind in rows.all():
            stops.setdefault(user_id, set()).add(kind)
    return [
        Recipient(user_id, email, locale, tuple(ids), frozenset(stops.get(user_id, ())))
        for user_id, (email, locale, ids) in people.items()
    ]


async def merchant_names(session: AsyncSession, merchant_ids: Sequence[int]) -> dict[int, str]:
    rows = await session.execute(select(Merchant.id, Merchant.name).where(Merchant.id.in_(merchant_ids)))
    return {int(i): str(n) for i, n in rows.all()}


async def main_campaigns(session: AsyncSession, merchant_ids: Sequence[int]) -> dict[int, int]:
    """Each merchant's campaign: the one holding most of its mentions (ties: the lowest id). A merchant
    without mentions is absent; the caller falls back to the first configured campaign."""
    if not merchant_ids:
        return {}
    rows = await session.execute(
        select(Mention.merchant_id, PostCampaign.campaign_id, func.count(func.distinct(Mention.post_id)))
        .join(PostCampaign, PostCampaign.post_id == Mention.post_id)
        .where(Mention.merchant_id.in_(merchant_ids))
        .group_by(Mention.merchant_id, PostCampaign.campaign_id)
    )
    best: dict[int, tuple[int, int]] = {}
    for merchant, campaign_id, n in rows.all():
        merchant_id, key = int(merchant or 0), (-int(n), int(campaign_id))
        if merchant_id not in best or key < best[merchant_id]:
            best[merchant_id] = key
    return {merchant_id: key[1] for merchant_id, key in best.items()}


# --- a merchant's posts -------------------------------------------------------------------------------


def _mentioning(merchant_ids: Sequence[int], start: datetime, end: datetime) -> Any:
    """(merchant_id, post_id) once per post linking to one of the merchants, in a campaign, in [start, end)."""
    in_campaign = exists().where(PostCampaign.post_id == Mention.post_id)
    return (
        select(Mention.merchant_id.label("merchant_id"), Mention.post_id.label("post_id"))
        .join(Post, Post.id == Mention.post_id)
        .where(Mention.merchant_id.in_(merchant_ids), Post.created_at >= start, Post.created_at < end, in_campaign)
        .distinct()
        .subquery()
    )


def _interactions() -> Any:
    return (
        func.coalesce(Post.likes, 0)
        + func.coalesce(Post.reposts, 0)
        + func.coalesce(Post.replies, 0)
        + func.coalesce(Post.quotes, 0)
    )


async def week_numbers(
    session: AsyncSession, merchant_ids: Sequence[int], start: datetime, end: datetime
) -> dict[int, Numbers]:
    """Mentions, their sentiment split, reach and interactions per merchant in [start, end)."""
    if not merchant_ids:
        return {}
    linked = _mentioning(merchant_ids, start, end)

    def count(sentiment: str) -> Any:
        return func.sum(case((Analysis.sentiment == sentiment, 1), else_=0))

    rows = await session.execute(
        select(
            linked.c.merchant_id,
            func.count(),
            count("positive"),
            count("neutral"),
            count("negative"),
            func.sum(func.coalesce(Author.followers, 0)),
            func.sum(_interactions()),
        )
        .select_from(linked)
        .join(Post, Post.id == linked.c.post_id)
        .join(Author, Author.id == Post.author_id)
        .outerjoin(Analysis, Analysis.post_id == Post.id)
        .group_by(linked.c.merchant_id)
    )
    return {
        int(m): Numbers(int(n), int(pos or 0), int(neu or 0), int(neg or 0), int(reach or 0), int(inter or 0))
        for m, n, pos, neu, neg, reach, inter in rows.all()
    }


def _public_author() -> Any:
    granted = (
        select(RightsRequest.id)
        .join(Story, Story.id == RightsRequest.story_id)
        .where(Story.author_id == Post.author_id, RightsRequest.status == "granted")
        .exists()
    )
    merchant_handle = (
        select(MerchantHandle.id)
        .where(MerchantHandle.platform == Author.platform, MerchantHandle.handle == func.lower(Author.handle))
        .exists()
    )
    return or_(granted, merchant_handle)


async def merchant_posts(
    session: AsyncSession,
    merchant_id: int,
    start: datetime,
    end: datetime,
    *,
    negative: bool,
    limit: int,
) -> list[PostRow]:
    """The merchant's posts in [start, end): `negative=False` the most engaging non-negative ones (the best
    posts of a digest), `negative=True` the latest negative ones (an alert's evidence)."""
    if limit <= 0:
        return []
    linked = _mentioning([merchant_id], start, end)
    interactions = _interactions()
    query = (
        select(
            Post.id,
            Post.text,
            Post.url,
            Post.platform,
            Author.handle,
            Author.platform_id,
            _public_author(),
            Analysis.sentiment,
            Post.created_at,
            interactions,
        )
        .select_from(linked)
        .join(Post, Post.id == linked.c.post_id)
        .join(Author, Author.id == Post.author_id)
        .join(Analysis, Analysis.post_id == Post.id)
        .limit(limit)
    )
    if negative:
        query = query.where(Analysis.sentiment == "negative").order_by(Post.created_at.desc(), Post.id.desc())
    else:
        query = query.where(Analysis.sentiment != "negative").order_by(
            interactions.desc(), Post.created_at.desc(), Post.id.desc()
        )
    return [
        PostRow(int(i), str(t), u, str(p), str(h), str(a), bool(pub), str(s), c, int(n or 0))
        for i, t, u, p, h, a, pub, s, c, n in (await session.execute(query)).all()
    ]


async def featured_stories(
    session: AsyncSession, merchant_id: int, start: datetime, end: datetime
) -> list[FeaturedRow]:
    """The merchant's stories whose feature window overlaps [start, end) (featured, or archived since)."""
    rows = await session.execute(
        select(Post.text, Post.url, Story.public_name, Story.featured_from, Story.featured_until)
        .join(Post, Post.id == Story.post_id)
        .where(
            Story.merchant_id == merchant_id,
            Story.state.in_(("featured", "archived")),
            Story.featured_from.is_not(None),
            Story.featured_from < end,
            or_(Story.featured_until.is_(None), Story.featured_until > start),
        )
        .order_by(Story.featured_from, Story.id)
    )
    return [FeaturedRow(str(t), u, n, f, e) for t, u, n, f, e in rows.all() if f is not None]


# --- spikes -------------------------------------------------------------------------------------------


async def negative_times(
    session: AsyncSession, merchant_ids: Sequence[int], start: datetime, end: datetime
) -> dict[int, list[datetime]]:
    """When each merchant's negative posts of [start, end) were made (one entry per post)."""
    if not merchant_ids:
        return {}
    linked = _mentioning(merchant_ids, start, end)
    rows = await session.execute(
        select(linked.c.merchant_id, Post.created_at)
        .select_from(linked)
        .join(Post, Post.id == linked.c.post_id)
        .join(Analysis, Analysis.post_id == Post.id)
        .where(Analysis.sentiment == "negative")
    )
    out: dict[int, list[datetime]] = {}
    for merchant_id, created_at in rows.all():
        out.setdefault(int(merchant_id), []).append(created_at)
    return out


async def negative_counts(
    session: AsyncSession, merchant_ids: Sequence[int], start: datetime, end: datetime
) -> Counter[int]:
    if not merchant_ids:
        return Counter()
    linked = _mentioning(merchant_ids, start, end)
    rows = await session.execute(
        select(linked.c.merchant_id, func.count())
        .select_from(linked)
        .join(Analysis, Analysis.post_id == linked.c.post_id)
        .where(Analysis.sentiment == "negative")
        .group_by(linked.c.merchant_id)
    )
    return Counter({int(m): int(n) for m, n in rows.all()})


async def last_spike_ends(session: AsyncSession, merchant_ids: Sequence[int]) -> dict[int, datetime]:
    if not merchant_ids:
        return {}
    rows = await session.execute(
        select(NotificationSpike.merchant_id, func.max(NotificationSpike.window_end))
        .where(NotificationSpike.merchant_id.in_(merchant_ids))
        .group_by(NotificationSpike.merchant_id)
    )
    return {int(m): end for m, end in rows.all()}


async def add_spike(
    session: AsyncSession, spike: NotificationSpike, user_ids: Sequence[int], emails: Sequence[str]
) -> int:
    """Record a spike and one pending alert delivery per user, together: detected means it will be sent."""
    session.add(spike)
    await session.flush()
    for user_id, email in zip(user_ids, emails, strict=True):
        session.add(
            NotificationDelivery(
                dedup_key=f"alert:{user_id}:{spike.id}",
                user_id=user_id,
                kind="alert",
                period=str(spike.id),
                spike_id=spike.id,
                to_address=email,
                status=PENDING,
                attempts=0,
                created_at=spike.detected_at,
            )
        )
    await session.flush()
    return spike.id


async def get_spike(session: AsyncSession, spike_id: int) -> NotificationSpike | None:
    return await session.get(NotificationSpike, spike_id)


# --- deliveries ---------------------------------------------------------------------------------------


async def claim(
    session: AsyncSession,
    *,
    key: str,
    user_id: int,
    kind: str,
    period: str,
    to_address: str,
    now: datetime,
    stale_after: timedelta,
    spike_id: int | None = None,
) -> int | None:
    """Take the delivery `key` for sending: create it, or take it back when it is pending, failed, or
    `sending` for longer than `stale_after` (its process died mid-send). Returns its id, or None when it was
    sent, abandoned, or is being sent right now by someone else. Commit before sending."""
    insert = upsert_insert(session, NotificationDelivery.__table__)  # type: ignore[arg-type]
    created = await session.scalar(
        insert.values(
            dedup_key=key,
            user_id=user_id,
            kind=kind,
            period=period,
            spike_id=spike_id,
            to_address=to_address,
            status=SENDING,
            attempts=1,
            created_at=now,
            last_attempt_at=now,
        )
        .on_conflict_do_nothing(index_elements=["dedup_key"])
        .returning(NotificationDelivery.id)
    )
    if created is not None:
        return int(created)
    taken = await session.scalar(
        update(NotificationDelivery)
        .where(
            NotificationDelivery.dedup_key == key,
            or_(
                NotificationDelivery.status.in_((PENDING, FAILED)),
                and_(NotificationDelivery.status == SENDING, NotificationDelivery.last_attempt_at < now - stale_after),
            ),
        )
        .values(
            status=SENDING,
            attempts=NotificationDelivery.attempts + 1,
            last_attempt_at=now,
            to_address=to_address,
        )
        .returning(NotificationDelivery.id)
    )
    return int(taken) if taken is not None else None


async def settled(session: AsyncSession, keys: Sequence[str]) -> dict[str, str]:
    """key -> status for the keys among `keys` whose delivery is over (sent or abandoned): no claim needed."""
    done: dict[str, str] = {}
    for start in range(0, len(keys), 500):
        rows = await session.execute(
            select(NotificationDelivery.dedup_key, NotificationDelivery.status).where(
                NotificationDelivery.dedup_key.in_(keys[start : start + 500]),
                NotificationDelivery.status.in_((SENT, ABANDONED)),
            )
        )
        done.update((str(k), str(v)) for k, v in rows.all())
    return done


async def mark_sent(session: AsyncSession, delivery_id: int, now: datetime, message_id: str) -> None:
    await session.execute(
        update(NotificationDelivery)
        .where(NotificationDelivery.id == delivery_id)
        .values(status=SENT, sent_at=now, message_id=message_id[:300], error=None)
    )


async def mark_failed(session: AsyncSession, delivery_id: int, now: datetime, error: str, give_up: timedelta) -> str:
    """Record a failed attempt: `failed` (the next run retries it), or `abandoned` once the delivery has been
    failing for `give_up` since it was created. Returns the new status."""
    row = await session.get(NotificationDelivery, delivery_id)
    assert row is not None
    status = ABANDONED if now - row.created_at >= give_up else FAILED
    row.status, row.error, row.last_attempt_at = status, error[:2000], now
    await session.flush()
    return status


async def to_retry(
    session: AsyncSession, kind: str, now: datetime, stale_after: timedelta
) -> list[NotificationDelivery]:
    """Deliveries of `kind` that a run must (re)try: pending, failed, or stuck in `sending`."""
    rows = await session.execute(
        select(NotificationDelivery)
        .where(
            NotificationDelivery.kind == kind,
            or_(
                NotificationDelivery.status.in_((PENDING, FAILED)),
                and_(NotificationDelivery.status == SENDING, NotificationDelivery.last_attempt_at < now - stale_after),
            ),
        )
        .order_by(NotificationDelivery.id)
    )
    return list(rows.scalars())


async def deliveries(
    session: AsyncSession, *, statuses: Sequence[str] | None = None, limit: int = 50
) -> list[NotificationDelivery]:
    """The latest deliveries (of the given statuses), newest first, for `listener notify status`."""
    query = select(NotificationDelivery).order_by(NotificationDelivery.id.desc()).limit(limit)
    if statuses:
        query = query.where(NotificationDelivery.status.in_(statuses))
    return list((await session.execute(query)).scalars())


async def status_counts(session: AsyncSession) -> dict[tuple[str, str], int]:
    rows = await session.execute(
        select(NotificationDelivery.kind, NotificationDelivery.status, func.count()).group_by(
            NotificationDelivery.kind, NotificationDelivery.status
        )
    )
    return {(str(k), str(s)): int(n) for k, s, n in rows.all()}


# --- unsubscribes -------------------------------------------------------------------------------------


async def unsubscribe(session: AsyncSession, user_id: int, kind: str, now: datetime) -> bool:
    """Stop e-mails of `kind` for the user; True when this call did it (False: already done, or no user)."""
    if await session.get(User, user_id) is None:
        return False
    insert = upsert_insert(session, NotificationUnsubscribe.__table__)  # type: ignore[arg-type]
    done = await session.scalar(
        insert.values(user_id=user_id, kind=kind, at=now)
        .on_conflict_do_nothing(index_elements=["user_id", "kind"])
        .returning(NotificationUnsubscribe.user_id)
    )
    return done is not None


async def is_unsubscribed(session: AsyncSession, user_id: int, kind: str) -> bool:
    found = await session.get(NotificationUnsubscribe, (user_id, kind))
    return found is not None


async def user_email_locale(session: AsyncSession, user_id: int) -> tuple[str, str | None] | None:
    row = (await session.execute(select(User.email, User.locale).where(User.id == user_id))).first()
    return (str(row[0]), row[1]) if row else None
