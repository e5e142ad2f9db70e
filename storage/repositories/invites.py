"""Access to a merchant's portal: an admin or curator invites an e-mail address to one merchant's portal; the link
carries a random token, the database keeps only its SHA-256 (a copy of the table opens no account).

An invite works once and until it expires. Accepting consumes it with one conditional UPDATE (not used,
not revoked, not expired) whose row count says whether this request won: two browsers submitting the same
link at once cannot both succeed. Inviting the same address to the same merchant again revokes the older
pending invites (the newest link is the one that works); invites of that address to other merchants stay
valid, so one person can be bound to several shops.

Accepting creates the merchant user with the password chosen on the invite page, or, when a merchant user
with that address exists, binds the merchant to it and replaces its password (the link proves the address,
like a reset link) and ends its other sessions. An address that belongs to an admin or a curator is refused
when inviting: a portal invitation never touches a staff account.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Merchant, MerchantInvite, User, UserMerchant
from storage.repositories._sql import utcnow
from storage.repositories.users import Role, normalise_email
from storage.repositories.web_sessions import delete_user_sessions, hash_token


class InviteError(ValueError):
    """The invite cannot be made or used as asked; the message says why and what to do."""


@dataclass(frozen=True)
class PendingInvite:
    """An invite as its page (and the curators' list) shows it; never the token."""

    id: int
    merchant_id: int
    merchant_name: str
    email: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Accepted:
    user_id: int
    merchant_id: int
    created: bool  # a new account (False: an existing merchant user gained the merchant)


def _pending(now: datetime) -> Any:
    return (MerchantInvite.used_at.is_(None), MerchantInvite.revoked_at.is_(None), MerchantInvite.expires_at > now)


async def create_invite(
    session: AsyncSession,
    merchant_id: int,
    email: str,
    *,
    invited_by: int | None,
    lifetime: timedelta,
    now: datetime | None = None,
) -> tuple[str, MerchantInvite]:
    """A new invite; returns the link's token (never stored) and the row. Older pending invites of the same
    address to the same merchant are revoked."""
    now = now or utcnow()
    try:
        address = normalise_email(email)
    except ValueError as exc:
        raise InviteError(str(exc)) from None
    if not 0 < merchant_id < 2**31 or await session.get(Merchant, merchant_id) is None:
        raise InviteError(f"merchant {merchant_id} does not exist (see `listener merchants list`)")
    role = await session.scalar(select(User.role).where(User.email == address))
    if role is not None and role != Role.MERCHANT.value:
        raise InviteError(f"{address} is the address of a {role} account: invite another address for the shop")
    await session.execute(
        update(MerchantInvite)
        .where(MerchantInvite.merchant_id == merchant_id, MerchantInvite.email == address, *_pending(now))
        .values(revoked_at=now)
    )
    token = secrets.token_urlsafe(32)
    row = MerchantInvite(
        token_hash=hash_token(token),
        merchant_id=merchant_id,
        email=address,
        invited_by=invited_by,
        created_at=now,
        expires_at=now + lifetime,
    )
    session.add(row)
    await session.flush()
    return token, row


async def find_invite(session: AsyncSession, token: str, now: datetime | None = None) -> PendingInvite | None:
    """The pending invite behind a link's token, or None (unknown, used, revoked or expired: all alike)."""
    now = now or utcnow()
    if not token or len(token) > 100:
        return None
    row = (
        await session.execute(
            select(MerchantInvite, Merchant.name)
            .join(Merchant, Merchant.id == MerchantInvite.merchant_id)
            .where(MerchantInvite.token_hash == hash_token(token), *_pending(now))
        )
    ).first()
    if row is None:
        return None
    invite, name = row
    return PendingInvite(invite.id, invite.merchant_id, name, invite.email, invite.created_at, invite.expires_at)


async def accept_invite(session: AsyncSession, token: str, password_hash: str, now: datetime | None = None) -> Accepted:
    """Consume the invite (atomically: once, before it expires) and open the account; InviteError otherwise."""
    now = now or utcnow()
    if not token or len(token) > 100:
        raise InviteError("this invitation link is not valid")
    digest = hash_token(token)
    consumed: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
        update(MerchantInvite).where(MerchantInvite.token_hash == digest, *_pending(now)).values(used_at=now)
    )
    if consumed.rowcount != 1:
        raise InviteError("this invitation link has expired or was already used: ask for a new one")
    invite = (await session.execute(select(MerchantInvite).where(MerchantInvite.token_hash == digest))).scalar_one()
    user = await session.scalar(select(User).where(User.email == invite.email))
    created = user is None
    if user is None:
        user = User(email=invite.email, password_hash=password_hash, role=Role.MERCHANT.value, created_at=now)
        user.disabled = False
        session.add(user)
        await session.flush()
    elif user.role != Role.MERCHANT.value:
        # The address became a staff account after the invite was sent: never hand it over.
        raise InviteError(f"{invite.email} is now the address of a {user.role} account: this link cannot be used")
    else:
        user.password_hash = password_hash
        user.disabled = False  # invited again by the campaign team: the account is wanted
        await delete_user_sessions(session, user.id)
    bound = await session.get(UserMerchant, (user.id, invite.merchant_id))
    if bound is None:
        session.add(UserMerchant(user_id=user.id, merchant_id=invite.merchant_id))
    invite.user_id = user.id
    await session.flush()
    return Accepted(user.id, invite.merchant_id, created)


async def pending_invites(session: AsyncSession, merchant_id: int, now: datetime | None = None) -> list[PendingInvite]:
    """A merchant's invites that can still be used, newest first."""
    now = now or utcnow()
    rows = await session.execute(
        select(MerchantInvite, Merchant.name)
        .join(Merchant, Merchant.id == MerchantInvite.merchant_id)
        .where(MerchantInvite.merchant_id == merchant_id, *_pending(now))
        .order_by(MerchantInvite.created_at.desc(), MerchantInvite.id.desc())
    )
    return [PendingInvite(i.id, i.merchant_id, name, i.email, i.created_at, i.expires_at) for i, name in rows.all()]


async def revoke_invite(session: AsyncSession, merchant_id: int, invite_id: int, now: datetime | None = None) -> bool:
    """Revoke one pending invite of the merchant; False when there is none such (another merchant's too)."""
    now = now or utcnow()
    result: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
        update(MerchantInvite)
        .where(MerchantInvite.id == invite_id, MerchantInvite.merchant_id == merchant_id, *_pending(now))
        .values(revoked_at=now)
    )
    return result.rowcount == 1


# --- who has access -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MerchantUser:
    id: int
    email: str
    disabled: bool
    last_login_at: datetime | None


async def merchant_users(session: AsyncSession, merchant_id: int) -> list[MerchantUser]:
    """The accounts bound to a merchant, by e-mail."""
    rows = await session.execute(
        select(User.id, User.email, User.disabled, User.last_login_at)
        .join(UserMerchant, UserMerchant.user_id == User.id)
        .where(UserMerchant.merchant_id == merchant_id)
        .order_by(User.email)
    )
    return [MerchantUser(int(i), str(e), bool(d), at) for i, e, d, at in rows.all()]


async def unbind_user(session: AsyncSession, merchant_id: int, user_id: int) -> bool:
    """The account no longer sees the merchant; False when it was not bound to it."""
    row = await session.get(UserMerchant, (user_id, merchant_id))
    if row is None:
        return False
    await session.delete(row)
    await session.flush()
    return True
