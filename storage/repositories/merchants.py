"""The merchant registry: import (create or update by stable key), list, and read back as records.

Each imported row is written in its own savepoint: a row the database refuses (a handle that already
belongs to another merchant, say) is reported with its line number and the other rows still import.
Aliases a curator blocked (corrections: "this alias is not us") survive re-imports untouched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nlp.normalise import normalise_name
from storage.models import Merchant, MerchantAlias, MerchantHandle
from storage.registry_csv import MerchantRecord, ParsedRow, merchant_key
from storage.repositories._sql import utcnow

_FIELDS = ("name", "website", "address", "postcode", "city", "region", "category", "phone")
_MAX_ID = 2**31 - 1  # merchants.id is a 32-bit INTEGER; a larger id cannot name one


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def to_record(merchant: Merchant) -> MerchantRecord:
    return MerchantRecord(
        id=merchant.id,
        name=merchant.name,
        aliases=tuple(a.alias for a in merchant.aliases if not a.blocked),
        handles=tuple((h.platform, h.handle) for h in merchant.handles),
        website=merchant.website,
        address=merchant.address,
        postcode=merchant.postcode,
        city=merchant.city,
        region=merchant.region,
        category=merchant.category,
        phone=merchant.phone,
    )


async def list_merchants(session: AsyncSession) -> list[Merchant]:
    result = await session.execute(select(Merchant).order_by(Merchant.name, Merchant.id))
    return list(result.scalars())


async def get_merchant(session: AsyncSession, merchant_id: int) -> Merchant | None:
    return await session.get(Merchant, merchant_id)


async def _handle_owners(session: AsyncSession, handles: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
    owners: dict[tuple[str, str], int] = {}
    for platform, handle in handles:
        owner = await session.scalar(
            select(MerchantHandle.merchant_id).where(
                MerchantHandle.platform == platform, MerchantHandle.handle == handle
            )
        )
        if owner is not None:
            owners[(platform, handle)] = owner
    return owners


def _apply(merchant: Merchant, record: MerchantRecord, now: datetime) -> bool:
    """Copy the record's present columns onto `merchant`; True when anything changed."""
    changed = False
    for name in _FIELDS:
        if name not in record.present and name != "name":
            continue
        value = getattr(record, name)
        if getattr(merchant, name) != value:
            setattr(merchant, name, value)
            changed = True
    # The key follows the stored values: a postcode or city column absent from the file keeps its value.
    new_key = merchant_key(merchant.name, merchant.postcode, merchant.city)
    if merchant.key != new_key:
        merchant.key = new_key
        changed = True
    if "aliases" in record.present:
        wanted = {normalise_name(a): a for a in record.aliases}
        for alias in list(merchant.aliases):
            if alias.blocked:
                wanted.pop(alias.normalized, None)
            elif alias.normalized not in wanted:
                merchant.aliases.remove(alias)
                changed = True
            else:
                if alias.alias != wanted[alias.normalized]:
                    alias.alias = wanted[alias.normalized]
                    changed = True
                del wanted[alias.normalized]
        for normalized, alias_text in wanted.items():
            merchant.aliases.append(MerchantAlias(alias=alias_text, normalized=normalized, blocked=False))
            changed = True
    if "handles" in record.present:
        current = {(h.platform, h.handle): h for h in merchant.handles}
        wanted_handles = set(record.handles)
        for pair, row in current.items():
            if pair not in wanted_handles:
                merchant.handles.remove(row)
                changed = True
        for platform, handle in record.handles:
            if (platform, handle) not in current:
                merchant.handles.append(MerchantHandle(platform=platform, handle=handle))
                changed = True
    if changed:
        merchant.updated_at = now
    return changed


def _merged_key(record: MerchantRecord, merchant: Merchant) -> str:
    """The key `merchant` will have once `record` is applied (absent columns keep the stored values)."""
    postcode = record.postcode if "postcode" in record.present else merchant.postcode
    city = record.city if "city" in record.present else merchant.city
    return merchant_key(record.name, postcode, city)


async def _find(session: AsyncSession, record: MerchantRecord) -> tuple[Merchant | None, str | None]:
    """The merchant `record` updates (None: a new one), or the reason the row cannot be matched."""
    if record.id is not None:
        merchant = await session.get(Merchant, record.id) if record.id <= _MAX_ID else None
        if merchant is None:
            return None, f"id {record.id} is not a merchant in this database (remove the id to create it)"
        return merchant, None
    if {"postcode", "city"} <= record.present:
        return await session.scalar(select(Merchant).where(Merchant.key == record.key)), None
    # The file lacks the postcode and/or city column: match the name, the stored values standing in for the
    # missing columns (otherwise "name|city" would never find the merchant stored as "name|postcode").
    prefix = merchant_key(record.name, None, None)
    candidates = await session.scalars(select(Merchant).where(Merchant.key.startswith(prefix, autoescape=True)))
    matches = [m for m in candidates if _merged_key(record, m) == m.key]
    if len(matches) > 1:
        ids = ", ".join(str(m.id) for m in sorted(matches, key=lambda m: m.id))
        return None, (
            f"{len(matches)} merchants (ids {ids}) match {record.name!r}; add the postcode and city columns, "
            "or the id column, to say which"
        )
    return (matches[0] if matches else None), None


async def _import_one(session: AsyncSession, row: ParsedRow, result: ImportResult, now: datetime) -> None:
    record = row.record
    merchant, problem = await _find(session, record)
    if problem is not None:
        result.errors.append((row.line, problem))
        return
    key = record.key if merchant is None else _merged_key(record, merchant)
    if merchant is not None and merchant.key != key:
        other = await session.scalar(select(Merchant.id).where(Merchant.key == key, Merchant.id != merchant.id))
        if other is not None:
            result.errors.append((row.line, f"merchant {other} already has this name and postcode/city"))
            return
    owners = await _handle_owners(session, record.handles)
    taken = [(pair, owner) for pair, owner in owners.items() if merchant is None or owner != merchant.id]
    if taken:
        (platform, handle), owner = taken[0]
        result.errors.append((row.line, f"handle {platform}:@{handle} already belongs to merchant {owner}"))
        return
    if merchant is None:
        merchant = Merchant(
            key=record.key,
            name=record.name,
            status="active",
            feature_opt_out=False,
            created_at=now,
            updated_at=now,
            aliases=[],
            handles=[],
        )
        _apply(merchant, record, now)
        session.add(merchant)
        await session.flush()
        result.created += 1
    elif _apply(merchant, record, now):
        await session.flush()
        result.updated += 1
    else:
        result.unchanged += 1


async def import_merchants(session: AsyncSession, rows: Sequence[ParsedRow]) -> ImportResult:
    """Create or update merchants from parsed rows, inside the caller's transaction."""
    result = ImportResult()
    now = utcnow()
    for row in rows:
        savepoint = await session.begin_nested()
        try:
            await _import_one(session, row, result, now)
        except Exception as exc:
            await savepoint.rollback()
            first_line = next(iter(str(exc).splitlines()), "")
            result.errors.append((row.line, f"could not be stored: {type(exc).__name__}: {first_line}"))
            continue
        await savepoint.commit()
    result.errors.sort()
    return result
