"""Review of discovered businesses: names found in posts but absent from the registry, and what a curator
decides about each (add it to the registry, merge it into an existing merchant as an alias, or ignore it).

A decision is taken once: each function claims the row with a conditional UPDATE (`status = 'pending'`),
so two curators deciding at the same moment cannot both win (the second gets "already reviewed"), and all
checks run before anything is written. Adding or merging re-points the name's mentions to the merchant
(`merchant_id` set; `method`, `surface` and `discovered_id` kept, so where the link came from stays
visible) so that the merchant sees them at once; the alias makes later posts link by themselves. The
caller owns the transaction: on a `ReviewError` it rolls back and nothing has changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from nlp.normalise import normalise_name
from storage.models import DiscoveredBusiness, Mention, Merchant, MerchantAlias, Post
from storage.registry_csv import merchant_key

PENDING = "pending"
SAMPLES = 3
# The column widths of merchants (PostgreSQL enforces them; SQLite would not).
_LIMITS = {"name": 300, "city": 200, "category": 200}


class ReviewError(ValueError):
    """A review decision that cannot be applied; the message says why and what to do instead."""


@dataclass(frozen=True)
class PendingDiscovery:
    id: int
    name: str
    mention_count: int
    first_seen_at: datetime
    samples: tuple[str, ...]  # texts of up to three recent posts naming it (untrusted: escape them)


async def _samples(session: AsyncSession, discovered_ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
    """The texts of the latest few posts of each discovered name, in one query."""
    if not discovered_ids:
        return {}
    ranked = (
        select(
            Mention.discovered_id.label("discovered_id"),
            Post.text.label("text"),
            func.row_number()
            .over(partition_by=Mention.discovered_id, order_by=(Post.created_at.desc(), Post.id.desc()))
            .label("rank"),
        )
        .join(Post, Post.id == Mention.post_id)
        .where(Mention.discovered_id.in_(discovered_ids))
        .subquery()
    )
    rows = await session.execute(
        select(ranked.c.discovered_id, ranked.c.text)
        .where(ranked.c.rank <= SAMPLES)
        .order_by(ranked.c.discovered_id, ranked.c.rank)
    )
    samples: dict[int, list[str]] = {}
    for discovered_id, text in rows:
        samples.setdefault(int(discovered_id), []).append(str(text))
    return {key: tuple(texts) for key, texts in samples.items()}


async def pending_discoveries(
    session: AsyncSession, *, limit: int, offset: int, min_mentions: int = 1
) -> tuple[list[PendingDiscovery], int]:
    """One page of names awaiting review, most mentioned first, and how many there are in all."""
    if limit < 1 or offset < 0:
        raise ValueError(f"limit must be >= 1 and offset >= 0 (got limit={limit}, offset={offset})")
    where = (DiscoveredBusiness.status == PENDING, DiscoveredBusiness.mention_count >= min_mentions)
    total = int(await session.scalar(select(func.count()).select_from(DiscoveredBusiness).where(*where)) or 0)
    rows = (
        await session.execute(
            select(
                DiscoveredBusiness.id,
                DiscoveredBusiness.display_name,
                DiscoveredBusiness.mention_count,
                DiscoveredBusiness.first_seen_at,
            )
            .where(*where)
            .order_by(
                DiscoveredBusiness.mention_count.desc(),
                DiscoveredBusiness.first_seen_at,
                DiscoveredBusiness.id,
            )
            .limit(limit)
            .offset(offset)
        )
    ).all()
    samples = await _samples(session, [row.id for row in rows])
    page = [
        PendingDiscovery(
            id=row.id,
            name=row.display_name,
            mention_count=row.mention_count,
            first_seen_at=row.first_seen_at,
            samples=samples.get(row.id, ()),
        )
        for row in rows
    ]
    return page, total


async def _pending(session: AsyncSession, discovered_id: int) -> DiscoveredBusiness:
    row = await session.get(DiscoveredBusiness, discovered_id) if 0 < discovered_id < 2**31 else None
    if row is None:
        raise ReviewError(f"discovered business {discovered_id} does not exist")
    if row.status != PENDING:
        raise ReviewError(f"discovered business {discovered_id} ({row.display_name!r}) was already {row.status}")
    return row


async def _claim(session: AsyncSession, row: DiscoveredBusiness, status: str, merchant_id: int | None) -> None:
    """Move the row out of `pending`, unless someone else did since we read it."""
    result: Any = await session.execute(
        update(DiscoveredBusiness)
        .where(DiscoveredBusiness.id == row.id, DiscoveredBusiness.status == PENDING)
        .values(status=status, merchant_id=merchant_id)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise ReviewError(f"discovered business {row.id} ({row.display_name!r}) was reviewed by someone else just now")
    await session.refresh(row)


async def _repoint_mentions(session: AsyncSession, discovered_id: int, merchant_id: int) -> None:
    await session.execute(
        update(Mention)
        .where(Mention.discovered_id == discovered_id)
        .values(merchant_id=merchant_id)
        .execution_options(synchronize_session=False)
    )


def _field(name: str, value: str | None, *, required: bool = False) -> str | None:
    cleaned = " ".join((value or "").split())
    if not cleaned:
        if required:
            raise ReviewError(f"the merchant's {name} is required")
        return None
    if len(cleaned) > _LIMITS[name]:
        raise ReviewError(f"the merchant's {name} is too long ({len(cleaned)} characters, at most {_LIMITS[name]})")
    return cleaned


def _alias_for(merchant: Merchant, alias_text: str) -> MerchantAlias | None:
    """The alias row to add so that `alias_text` links to `merchant` (None: it already does)."""
    normalized = normalise_name(alias_text)
    if not normalized or normalized == normalise_name(merchant.name):
        return None
    for alias in merchant.aliases:
        if alias.normalized == normalized:
            if alias.blocked:
                raise ReviewError(
                    f"{alias_text!r} is a blocked alias of merchant {merchant.id} ({merchant.name!r}): a curator "
                    "said it is not this merchant; unblock the alias first, or choose another merchant"
                )
            return None
    return MerchantAlias(alias=alias_text[:300], normalized=normalized[:300], blocked=False)


async def add_to_registry(
    session: AsyncSession,
    discovered_id: int,
    *,
    name: str,
    city: str | None,
    category: str | None,
    now: datetime,
) -> Merchant:
    """Create a merchant for a discovered name; its mentions become the new merchant's.

    The key is the one the CSV import gives (normalised name + city), so importing the directory later
    updates this merchant instead of duplicating it. When the curator's name differs from the discovered
    spelling, the discovered spelling becomes an alias, so later posts spelled that way link too.
    """
    row = await _pending(session, discovered_id)
    clean_name = _field("name", name, required=True)
    assert clean_name is not None  # required=True
    clean_city = _field("city", city)
    key = merchant_key(clean_name, None, clean_city)
    existing = await session.scalar(select(Merchant.id).where(Merchant.key == key))
    if existing is not None:
        raise ReviewError(
            f"merchant {existing} already has the name {clean_name!r} in {clean_city or 'no city'}; "
            "merge the discovered name into it instead"
        )
    merchant = Merchant(
        key=key,
        name=clean_name,
        city=clean_city,
        category=_field("category", category),
        status="active",
        feature_opt_out=False,
        created_at=now,
        updated_at=now,
        aliases=[],
        handles=[],
    )
    alias = _alias_for(merchant, row.display_name)
    if alias is not None:
        merchant.aliases.append(alias)
    session.add(merchant)
    try:
        await session.flush()
    except IntegrityError:
        # Another transaction created the same key between our check and our insert.
        raise ReviewError(f"a merchant named {clean_name!r} in {clean_city or 'no city'} was just added") from None
    await _claim(session, row, "added", merchant.id)
    await _repoint_mentions(session, row.id, merchant.id)
    return merchant


async def merge_into(session: AsyncSession, discovered_id: int, merchant_id: int, now: datetime) -> Merchant:
    """Record a discovered name as another name (alias) of an existing merchant; its mentions become theirs."""
    row = await _pending(session, discovered_id)
    merchant = await session.get(Merchant, merchant_id) if 0 < merchant_id < 2**31 else None
    if merchant is None:
        raise ReviewError(f"merchant {merchant_id} does not exist (choose one from the registry)")
    alias = _alias_for(merchant, row.display_name)
    await _claim(session, row, "merged", merchant.id)
    if alias is not None:
        merchant.aliases.append(alias)
        # The linker's registry fingerprint follows the merchants; the change is also visible in the export.
        merchant.updated_at = now
        await session.flush()
    await _repoint_mentions(session, row.id, merchant.id)
    return merchant


async def ignore(session: AsyncSession, discovered_id: int, now: datetime) -> None:
    """Not a business worth linking: hidden from the pending list; its mentions stay unlinked."""
    row = await _pending(session, discovered_id)
    await _claim(session, row, "ignored", None)
