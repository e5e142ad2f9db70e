"""The demo's accounts: an admin, a curator and a merchant user bound to one sample shop.

Their passwords are fixed and printed on the console: anyone who reads the README knows them. That is the
point of a demo on one's own machine, and the reason `listener demo` warns when it listens on anything but a
loopback address. They pass the same password policy as every account (`storage.passwords.check_policy`) and
are stored the same way (Argon2id hashes); an account that already exists is left as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Merchant
from storage.passwords import check_policy, hash_password
from storage.repositories.users import Role, add_user, find_by_email


@dataclass(frozen=True)
class DemoLogin:
    role: Role
    email: str
    password: str


DEMO_LOGINS = (
    DemoLogin(Role.ADMIN, "admin@demo.example", "LoveLocal-admin-demo"),
    DemoLogin(Role.CURATOR, "curateur@demo.example", "LoveLocal-curateur-demo"),
    DemoLogin(Role.MERCHANT, "commercant@demo.example", "LoveLocal-commercant-demo"),
)


@dataclass(frozen=True)
class LoginsResult:
    created: list[str]
    kept: list[str]
    curator_id: int
    merchant_name: str
    merchant_id: int


async def merchant_named(session: AsyncSession, name: str) -> Merchant:
    merchant = await session.scalar(select(Merchant).where(Merchant.name == name))
    if merchant is None:
        raise LookupError(f"the demo merchant {name!r} is not in the registry (service/samples/merchants.csv)")
    return merchant


async def ensure_logins(session: AsyncSession, merchant_name: str) -> LoginsResult:
    """Create the demo accounts that do not exist yet (in the caller's transaction)."""
    merchant = await merchant_named(session, merchant_name)
    created: list[str] = []
    kept: list[str] = []
    ids: dict[Role, int] = {}
    for login in DEMO_LOGINS:
        existing = await find_by_email(session, login.email)
        if existing is not None:
            kept.append(login.email)
            ids[login.role] = existing.id
            continue
        check_policy(login.password, login.email)
        merchants = [merchant.id] if login.role is Role.MERCHANT else []
        user = await add_user(session, login.email, login.role, hash_password(login.password), merchants)
        created.append(login.email)
        ids[login.role] = user.id
    return LoginsResult(created, kept, ids[Role.CURATOR], merchant.name, merchant.id)
