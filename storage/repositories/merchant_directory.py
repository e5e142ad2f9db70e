"""The curators' list of merchants: found by name, those with requests waiting first, with how many requests
wait and how many accounts see each; and one merchant's registry entry in full (aliases blocked or not,
handles, the links curators excluded) for its page.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import LinkExclusion, Merchant, MerchantCorrection, UserMerchant

MAX_LIMIT = 200


@dataclass(frozen=True)
class DirectoryRow:
    id: int
    name: str
    city: str | None
    status: str
    feature_opt_out: bool
    pending: int
    users: int


async def directory(
    session: AsyncSession, search: str | None = None, *, limit: int = 50, offset: int = 0
) -> tuple[list[DirectoryRow], int]:
    """Merchants whose name contains `search` (any case), those with pending requests first, then by name."""
    pending = (
        select(MerchantCorrection.merchant_id, func.count().label("n"))
        .where(MerchantCorrection.status == "pending")
        .group_by(MerchantCorrection.merchant_id)
        .subquery()
    )
    users = select(UserMerchant.merchant_id, func.count().label("n")).group_by(UserMerchant.merchant_id).subquery()
    where = []
    if search:
        escaped = search.casefold().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(func.lower(Merchant.name).like(f"%{escaped}%", escape="\\"))
    total = await session.scalar(select(func.count()).select_from(Merchant).where(*where))
    waiting = func.coalesce(pending.c.n, 0)
    rows = await session.execute(
        select(
            Merchant.id,
            Merchant.name,
            Merchant.city,
            Merchant.status,
            Merchant.feature_opt_out,
            waiting,
            func.coalesce(users.c.n, 0),
        )
        .outerjoin(pending, pending.c.merchant_id == Merchant.id)
        .outerjoin(users, users.c.merchant_id == Merchant.id)
        .where(*where)
        .order_by((waiting > 0).desc(), Merchant.name, Merchant.id)
        .limit(min(limit, MAX_LIMIT))
        .offset(offset)
    )
    return [DirectoryRow(int(r[0]), r[1], r[2], r[3], bool(r[4]), int(r[5]), int(r[6])) for r in rows.all()], int(
        total or 0
    )


async def exclusions_of(session: AsyncSession, merchant_id: int) -> list[str]:
    """The aliases that no longer link this merchant (accepted "not us" corrections)."""
    rows = await session.scalars(
        select(LinkExclusion.alias).where(LinkExclusion.merchant_id == merchant_id).order_by(LinkExclusion.alias)
    )
    return list(rows.all())


async def merchant_entry(session: AsyncSession, merchant_id: int) -> Merchant | None:
    """The merchant with its aliases and handles (loaded with it)."""
    return await session.scalar(select(Merchant).where(Merchant.id == merchant_id))
