"""Users, roles and passwords on a real database (SQLite and PostgreSQL) and the real Argon2id hasher."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Merchant, User, UserMerchant
from storage.passwords import MIN_LENGTH, WeakPassword, check_policy, hash_password, needs_rehash, verify_password
from storage.registry_csv import parse_registry
from storage.repositories.merchants import import_merchants
from storage.repositories.users import (
    Role,
    UserError,
    add_user,
    find_by_email,
    list_users,
    merchant_ids_of,
    normalise_email,
)

PASSWORD = "correct horse battery staple"
# One hash for the whole module: Argon2id is deliberately slow.
HASH = hash_password(PASSWORD)


async def make_merchants(session: AsyncSession) -> list[int]:
    parsed = parse_registry("name,city\nBoulangerie Les Trois Épis,Paris\nمخبز الأمل,Casablanca\n".encode())
    await import_merchants(session, parsed.rows)
    await session.commit()
    return list((await session.scalars(select(Merchant.id).order_by(Merchant.id))).all())


async def user_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(User)) or 0)


@pytest.mark.parametrize("role", [Role.ADMIN, Role.CURATOR])
async def test_add_admin_or_curator(session: AsyncSession, role: Role) -> None:
    user = await add_user(session, "ana@example.org", role, HASH)
    await session.commit()

    stored = await find_by_email(session, "ana@example.org")
    assert stored is not None
    assert stored.id == user.id
    assert (stored.role, stored.disabled, stored.password_hash) == (role.value, False, HASH)
    assert stored.created_at is not None
    assert await merchant_ids_of(session, user.id) == []


async def test_add_merchant_user_bound_to_merchants(session: AsyncSession) -> None:
    epis, amal = await make_merchants(session)

    user = await add_user(session, "owner@troisepis.fr", Role.MERCHANT, HASH, [amal, epis, amal])
    await session.commit()

    assert user.role == "merchant"
    assert await merchant_ids_of(session, user.id) == sorted([epis, amal])
    assert await session.scalar(select(func.count()).select_from(UserMerchant)) == 2


async def test_role_given_as_plain_string_is_checked_like_the_enum(session: AsyncSession) -> None:
    with pytest.raises(UserError, match="--merchant"):
        await add_user(session, "owner@troisepis.fr", "merchant", HASH)  # type: ignore[arg-type]
    with pytest.raises(UserError, match="unknown role 'owner'"):
        await add_user(session, "owner@troisepis.fr", "owner", HASH)  # type: ignore[arg-type]

    user = await add_user(session, "cur@example.org", "curator", HASH)  # type: ignore[arg-type]
    assert user.role == "curator"


async def test_merchant_role_requires_merchant_ids(session: AsyncSession) -> None:
    with pytest.raises(UserError) as excinfo:
        await add_user(session, "owner@troisepis.fr", Role.MERCHANT, HASH)

    assert "--merchant" in str(excinfo.value)
    assert await user_count(session) == 0


@pytest.mark.parametrize("role", [Role.ADMIN, Role.CURATOR])
async def test_non_merchant_roles_refuse_merchant_ids(session: AsyncSession, role: Role) -> None:
    (epis, _) = await make_merchants(session)

    with pytest.raises(UserError, match=f"only applies to merchant users, not {role.value}"):
        await add_user(session, "ana@example.org", role, HASH, [epis])

    assert await user_count(session) == 0


@pytest.mark.parametrize("missing", [999, 2**40, 0, -1])
async def test_unknown_merchant_id_is_refused(session: AsyncSession, missing: int) -> None:
    (epis, _) = await make_merchants(session)

    with pytest.raises(UserError, match=f"merchant {missing} does not exist"):
        await add_user(session, "owner@troisepis.fr", Role.MERCHANT, HASH, [epis, missing])

    assert await user_count(session) == 0


async def test_duplicate_email_is_refused_whatever_its_case(session: AsyncSession) -> None:
    await add_user(session, "Ana@Example.org", Role.ADMIN, HASH)
    await session.commit()

    with pytest.raises(UserError, match="already exists"):
        await add_user(session, "  ana@EXAMPLE.ORG ", Role.CURATOR, HASH)

    assert await user_count(session) == 1


async def test_email_is_stored_normalised_and_found_in_any_case(session: AsyncSession) -> None:
    await add_user(session, "  Ana.Lopez@Example.ORG ", Role.CURATOR, HASH)
    await session.commit()

    (user,) = await list_users(session)
    assert user.email == "ana.lopez@example.org"
    found = await find_by_email(session, "ANA.LOPEZ@example.org")
    assert found is not None
    assert found.id == user.id
    assert await find_by_email(session, "not an address") is None
    assert await find_by_email(session, "bob@example.org") is None


async def test_list_users_is_ordered_by_email(session: AsyncSession) -> None:
    for email in ("zoe@example.org", "Ana@example.org", "malik@example.org"):
        await add_user(session, email, Role.CURATOR, HASH)
    await session.commit()

    assert [u.email for u in await list_users(session)] == ["ana@example.org", "malik@example.org", "zoe@example.org"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Ana@Example.ORG", "ana@example.org"),
        ("\tana@example.org \n", "ana@example.org"),
        ("نور@مثال.ma", "نور@مثال.ma"),
    ],
)
def test_normalise_email(raw: str, expected: str) -> None:
    assert normalise_email(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", "ana", "ana@", "@example.org", "ana@localhost", "ana lopez@example.org", "a" * 310 + "@example.org"]
)
def test_normalise_email_refuses_what_is_not_an_address(raw: str) -> None:
    with pytest.raises(UserError, match="is not an e-mail address"):
        normalise_email(raw)


async def test_invalid_email_is_refused_by_add_user(session: AsyncSession) -> None:
    with pytest.raises(UserError, match="is not an e-mail address"):
        await add_user(session, "ana at example.org", Role.ADMIN, HASH)
    assert await user_count(session) == 0


# --- passwords ---------------------------------------------------------------------------------------


def test_hash_is_argon2id_salted_and_never_the_password() -> None:
    other = hash_password(PASSWORD)

    assert HASH.startswith("$argon2id$")
    assert PASSWORD not in HASH
    assert other != HASH  # a fresh salt each time
    assert not needs_rehash(HASH)


def test_verify_accepts_the_password_and_refuses_anything_else() -> None:
    assert verify_password(HASH, PASSWORD) is True
    assert verify_password(HASH, PASSWORD.upper()) is False
    assert verify_password(HASH, PASSWORD + " ") is False
    assert verify_password(HASH, "") is False


def test_verify_of_a_damaged_hash_is_false_not_an_error() -> None:
    assert verify_password("not a hash", PASSWORD) is False
    assert verify_password(HASH[:-4] + "AAAA", PASSWORD) is False


@pytest.mark.parametrize(
    ("password", "email", "needed"),
    [
        ("a1b2c3d4e5f", "", f"at least {MIN_LENGTH} characters"),  # 11
        ("", "", f"at least {MIN_LENGTH} characters"),
        ("ana@example.org", "ana@example.org", "must not be the e-mail address"),
        ("ANA@Example.org", "ana@example.org", "must not be the e-mail address"),
        ("aaaaaaaaaaaaaaaa", "", "more than three different characters"),
        ("abcabcabcabcabc", "", "more than three different characters"),
    ],
)
def test_policy_refuses_weak_passwords(password: str, email: str, needed: str) -> None:
    with pytest.raises(WeakPassword, match=needed):
        check_policy(password, email)


@pytest.mark.parametrize("password", ["abcdabcdabcd", PASSWORD, "كلمة سر طويلة جدا", "ana@example.org!"])
def test_policy_accepts_good_enough_passwords(password: str) -> None:
    check_policy(password, "ana@example.org")


async def test_no_plaintext_password_is_stored_in_the_users_table(session: AsyncSession) -> None:
    (epis, _) = await make_merchants(session)
    secret = "Tr0is-Épis-secret-2026"
    await add_user(session, "owner@troisepis.fr", Role.MERCHANT, hash_password(secret), [epis])
    await session.commit()

    rows = (await session.execute(text("SELECT * FROM users"))).all()
    assert len(rows) == 1
    cells = [str(cell) for cell in rows[0]]
    assert not any(secret in cell for cell in cells)
    assert any(cell.startswith("$argon2id$") for cell in cells)
    stored = await find_by_email(session, "owner@troisepis.fr")
    assert stored is not None
    assert verify_password(stored.password_hash, secret)
