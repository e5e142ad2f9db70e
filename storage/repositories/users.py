"""Users and their roles (admin, curator, merchant) and the merchants a merchant user is bound to."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Merchant, User, UserMerchant
from storage.repositories._sql import utcnow


class Role(StrEnum):
    ADMIN = "admin"
    CURATOR = "curator"
    MERCHANT = "merchant"


class UserError(ValueError):
    """The user cannot be created or changed as asked; the message says why."""


def normalise_email(email: str) -> str:
    email = email.strip()
    local, at, domain = email.rpartition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in email) or len(email) > 320:
        raise UserError(f"{email!r} is not an e-mail address")
    return f"{local}@{domain.casefold()}".casefold()


async def add_user(
    session: AsyncSession, email: str, role: Role, password_hash: str, merchant_ids: Sequence[int] = ()
) -> User:
    email = normalise_email(email)
    try:
        role = Role(role)  # a plain "merchant" string (a form field, say) must not slip past the checks below
    except ValueError:
        raise UserError(f"unknown role {role!r} (one of {', '.join(Role)})") from None
    if role is Role.MERCHANT and not merchant_ids:
        raise UserError(
            "a merchant user must be bound to a merchant: add --merchant ID (see `listener merchants list`)"
        )
    if role is not Role.MERCHANT and merchant_ids:
        raise UserError(f"--merchant only applies to merchant users, not {role.value}")
    if await session.scalar(select(User.id).where(User.email == email)) is not None:
        raise UserError(f"a user {email} already exists")
    for merchant_id in merchant_ids:
        # merchants.id is a 32-bit INTEGER: PostgreSQL would refuse a larger value outright.
        if not 0 < merchant_id < 2**31 or await session.get(Merchant, merchant_id) is None:
            raise UserError(f"merchant {merchant_id} does not exist (see `listener merchants list`)")
    user = User(email=email, password_hash=password_hash, role=role.value, disabled=False, created_at=utcnow())
    session.add(user)
    await session.flush()
    for merchant_id in dict.fromkeys(merchant_ids):
        session.add(UserMerchant(user_id=user.id, merchant_id=merchant_id))
    await session.flush()
    return user


async def find_by_email(session: AsyncSession, email: str) -> User | None:
    try:
        email = normalise_email(email)
    except UserError:
        return None
    return await session.scalar(select(User).where(User.email == email))


async def merchant_ids_of(session: AsyncSession, user_id: int) -> list[int]:
    result = await session.execute(select(UserMerchant.merchant_id).where(UserMerchant.user_id == user_id))
    return sorted(result.scalars())


async def list_users(session: AsyncSession) -> list[User]:
    return list((await session.execute(select(User).order_by(User.email))).scalars())
