"""Analysis bookkeeping: lease un-analysed posts to a worker, store analyses, mentions and discovered names,
and load the merchant registry in the shape the linker needs.

Leasing: a worker claims a batch by setting `lease_until`; another worker skips leased rows (on PostgreSQL
with `FOR UPDATE SKIP LOCKED`, so claims never block each other), and a crashed worker's rows come back
when the lease expires. Saving an analysis replaces the post's previous one (re-analysis) in the caller's
transaction and clears the lease.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from nlp.results import Discovery, Link, MerchantEntry
from storage.models import Analysis, DiscoveredBusiness, Mention, Merchant, Post
from storage.repositories._sql import upsert_insert, utcnow


@dataclass(frozen=True)
class PostToAnalyse:
    id: int
    text: str
    platform: str
    language_hint: str | None
    has_media: bool


@dataclass(frozen=True)
class AnalysisRecord:
    """What storage keeps of one post's analysis (built by the job from nlp's PostAnalysis)."""

    post_id: int
    language: str
    language_confidence: float
    sentiment: str
    sentiment_score: float
    signals: dict[str, Any]
    pipeline_version: str
    links: Sequence[Link]
    discoveries: Sequence[Discovery]


async def claim_unanalysed(
    session: AsyncSession,
    limit: int,
    lease: timedelta = timedelta(minutes=10),
    now: datetime | None = None,
    owner: str | None = None,
) -> list[PostToAnalyse]:
    """Lease up to `limit` posts that have no analysis (oldest first) to `owner` and return them."""
    now = now or utcnow()
    free = or_(Post.lease_until.is_(None), Post.lease_until < now)
    query = select(Post.id).where(Post.analysed_at.is_(None), free).order_by(Post.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list((await session.execute(query)).scalars())
    if not ids:
        return []
    await session.execute(update(Post).where(Post.id.in_(ids)).values(lease_until=now + lease, lease_owner=owner))
    rows = await session.execute(
        select(Post.id, Post.text, Post.platform, Post.language_hint, Post.media)
        .where(Post.id.in_(ids))
        .order_by(Post.id)
    )
    return [PostToAnalyse(i, text, platform, hint, bool(media)) for i, text, platform, hint, media in rows.all()]


async def release(session: AsyncSession, post_ids: Sequence[int]) -> None:
    """Give leased posts back (a batch that could not be analysed)."""
    if post_ids:
        await session.execute(update(Post).where(Post.id.in_(post_ids)).values(lease_until=None, lease_owner=None))


async def _discovered_ids(
    session: AsyncSession, discoveries: Sequence[Discovery], now: datetime
) -> dict[str, tuple[int, int | None]]:
    """normalised name -> (discovered id, the merchant a curator added or merged it into, if any)."""
    if not discoveries:
        return {}
    table: Any = DiscoveredBusiness.__table__
    names = {d.normalized: d.name for d in discoveries}
    stmt = upsert_insert(session, table).on_conflict_do_nothing(index_elements=[table.c.normalized])
    await session.execute(
        stmt,
        [
            {"normalized": n, "display_name": name[:300], "status": "pending", "first_seen_at": now, "mention_count": 0}
            for n, name in names.items()
        ],
    )
    rows = await session.execute(
        select(DiscoveredBusiness.normalized, DiscoveredBusiness.id, DiscoveredBusiness.merchant_id).where(
            DiscoveredBusiness.normalized.in_(list(names))
        )
    )
    return {str(k): (int(v), m) for k, v, m in rows.all()}


async def save_analyses(
    session: AsyncSession, records: Sequence[AnalysisRecord], now: datetime | None = None, owner: str | None = None
) -> int:
    """Store (or replace) the analyses, mentions and discovered names of these posts; clear their leases.

    With an `owner`, only the posts still leased to it are saved (and their rows locked until commit): a
    worker that lost its lease (it stalled past it, or was reaped) drops its results, so each post is
    analysed exactly once by whoever holds it. Returns the number of posts saved.
    """
    if not records:
        return 0
    now = now or utcnow()
    if owner is not None:
        held = select(Post.id).where(Post.id.in_([r.post_id for r in records]), Post.lease_owner == owner)
        if session.get_bind().dialect.name == "postgresql":
            held = held.with_for_update()
        kept = set((await session.execute(held)).scalars())
        records = [r for r in records if r.post_id in kept]
        if not records:
            return 0
    post_ids = [r.post_id for r in records]
    # Re-analysis replaces mentions: the discovered names they counted are counted down first.
    previous = await session.execute(
        select(Mention.discovered_id, func.count())
        .where(Mention.post_id.in_(post_ids), Mention.discovered_id.is_not(None))
        .group_by(Mention.discovered_id)
    )
    for discovered_id, n in previous.all():
        await session.execute(
            update(DiscoveredBusiness)
            .where(DiscoveredBusiness.id == discovered_id)
            .values(
                mention_count=case(
                    (DiscoveredBusiness.mention_count > n, DiscoveredBusiness.mention_count - n), else_=0
                )
            )
        )
    await session.execute(delete(Mention).where(Mention.post_id.in_(post_ids)))
    await session.execute(delete(Analysis).where(Analysis.post_id.in_(post_ids)))
    discovered = await _discovered_ids(session, [d for r in records for d in r.discoveries], now)
    session.add_all(
        Analysis(
            post_id=r.post_id,
            language=r.language,
            language_confidence=r.language_confidence,
            sentiment=r.sentiment,
            sentiment_score=r.sentiment_score,
            signals=r.signals,
            pipeline_version=r.pipeline_version,
            analysed_at=now,
        )
        for r in records
    )
    mentions: list[dict[str, Any]] = []
    counts: dict[int, int] = {}
    for r in records:
        for link in r.links:
            mentions.append(
                {
                    "post_id": r.post_id,
                    "merchant_id": link.merchant_id,
                    "discovered_id": None,
                    "surface": link.surface[:300],
                    "method": link.method,
                    "score": link.score,
                    "span_start": link.start,
                    "span_end": link.end,
                }
            )
        for d in r.discoveries:
            # A name a curator already added to the registry or merged links to that merchant.
            discovered_id, merchant_id = discovered[d.normalized]
            counts[discovered_id] = counts.get(discovered_id, 0) + 1
            mentions.append(
                {
                    "post_id": r.post_id,
                    "merchant_id": merchant_id,
                    "discovered_id": discovered_id,
                    "surface": d.name[:300],
                    "method": d.method,
                    "score": d.score,
                    "span_start": d.start,
                    "span_end": d.end,
                }
            )
    if mentions:
        await session.execute(insert(Mention), mentions)
    for discovered_id, n in counts.items():
        await session.execute(
            update(DiscoveredBusiness)
            .where(DiscoveredBusiness.id == discovered_id)
            .values(mention_count=DiscoveredBusiness.mention_count + n)
        )
    await session.execute(
        update(Post).where(Post.id.in_(post_ids)).values(analysed_at=now, lease_until=None, lease_owner=None)
    )
    await session.flush()
    return len(records)


async def mark_for_reanalysis(session: AsyncSession, keep_version: str | None = None) -> int:
    """Clear `analysed_at` so posts are analysed again: all, or those made by another pipeline version."""
    query = update(Post).where(Post.analysed_at.is_not(None))
    if keep_version is not None:
        other = select(Analysis.post_id).where(Analysis.pipeline_version != keep_version)
        query = query.where(Post.id.in_(other))
    result: Any = await session.execute(query.values(analysed_at=None, lease_until=None, lease_owner=None))
    return int(result.rowcount or 0)


async def has_claimable(session: AsyncSession, now: datetime | None = None) -> bool:
    """Whether some post waits for analysis and is not leased: one index probe, for idle polling."""
    now = now or utcnow()
    free = or_(Post.lease_until.is_(None), Post.lease_until < now)
    query = select(Post.id).where(Post.analysed_at.is_(None), free).limit(1)
    return (await session.scalar(query)) is not None


async def unanalysed_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Post).where(Post.analysed_at.is_(None))) or 0)


async def registry_entries(session: AsyncSession) -> list[MerchantEntry]:
    """Active merchants as the linker sees them (blocked aliases included, as corrections)."""
    merchants = (
        await session.execute(select(Merchant).where(Merchant.status == "active").order_by(Merchant.id))
    ).scalars()
    return [
        MerchantEntry(
            id=m.id,
            name=m.name,
            aliases=tuple(a.alias for a in m.aliases if not a.blocked),
            handles=tuple((h.platform, h.handle) for h in m.handles),
            website=m.website,
            city=m.city,
            blocked=tuple(a.alias for a in m.aliases if a.blocked),
        )
        for m in merchants
    ]
