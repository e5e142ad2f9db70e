"""Merchant invites on SQLite and PostgreSQL: only the token's hash is stored; a link works once and until it
expires; re-inviting an address to the same merchant revokes the older link (not its links to other
merchants); accepting creates a merchant user bound to the merchant, or binds an existing merchant user
(new password, other sessions ended); staff addresses are refused; two acceptances at once: one wins."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from jobs.services import Services
from storage.models import MerchantInvite, User, UserMerchant, WebSession
from storage.repositories import invites
from storage.repositories.users import Role, add_user
from storage.repositories.web_sessions import create_session, hash_token
from tests.storage.stories_setup import NOW, add_merchant

WEEK = timedelta(days=7)


async def _merchants(services: Services) -> tuple[int, int]:
    async with services.sessions.begin() as session:
        return await add_merchant(session, "Boulangerie Amal"), await add_merchant(session, "Épicerie Zitouna")


async def _invite(services: Services, merchant_id: int, email: str, now=NOW) -> str:  # type: ignore[no-untyped-def]
    async with services.sessions.begin() as session:
        token, _ = await invites.create_invite(session, merchant_id, email, invited_by=None, lifetime=WEEK, now=now)
        return token


async def test_only_the_hash_is_stored_and_the_link_works_once(services: Services) -> None:
    amal, _ = await _merchants(services)
    token = await _invite(services, amal, "Owner@Amal.example")
    async with services.sessions() as session:
        row = (await session.execute(select(MerchantInvite))).scalar_one()
        assert row.token_hash == hash_token(token)
        assert token not in (row.token_hash, row.email)
        assert row.email == "owner@amal.example"
        found = await invites.find_invite(session, token, now=NOW + timedelta(days=1))
    assert found is not None
    assert (found.merchant_id, found.merchant_name, found.email) == (amal, "Boulangerie Amal", "owner@amal.example")

    async with services.sessions.begin() as session:
        accepted = await invites.accept_invite(session, token, "hash-1", now=NOW + timedelta(days=1))
    assert accepted.created
    async with services.sessions() as session:
        user = await session.get(User, accepted.user_id)
        assert user is not None
        assert (user.email, user.role, user.password_hash, user.disabled) == (
            "owner@amal.example",
            "merchant",
            "hash-1",
            False,
        )
        bound = (await session.execute(select(UserMerchant.merchant_id).where(UserMerchant.user_id == user.id))).all()
        assert [b[0] for b in bound] == [amal]
        assert await invites.find_invite(session, token, now=NOW + timedelta(days=1)) is None

    with pytest.raises(invites.InviteError, match="already used"):
        async with services.sessions.begin() as session:
            await invites.accept_invite(session, token, "hash-2", now=NOW + timedelta(days=1))
    async with services.sessions() as session:
        assert (await session.get(User, accepted.user_id)).password_hash == "hash-1"  # type: ignore[union-attr]


async def test_an_expired_link_does_nothing(services: Services) -> None:
    amal, _ = await _merchants(services)
    token = await _invite(services, amal, "late@amal.example")
    later = NOW + WEEK + timedelta(seconds=1)
    async with services.sessions() as session:
        assert await invites.find_invite(session, token, now=NOW + WEEK - timedelta(seconds=1)) is not None
        assert await invites.find_invite(session, token, now=later) is None
    with pytest.raises(invites.InviteError, match="expired"):
        async with services.sessions.begin() as session:
            await invites.accept_invite(session, token, "hash", now=later)
    async with services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 0
    for bad in ("", "x" * 101, "not-a-token"):
        with pytest.raises(invites.InviteError):
            async with services.sessions.begin() as session:
                await invites.accept_invite(session, bad, "hash", now=NOW)


async def test_reinviting_revokes_the_older_link_for_that_merchant_only(services: Services) -> None:
    amal, zitouna = await _merchants(services)
    first = await _invite(services, amal, "both@example.org")
    other_shop = await _invite(services, zitouna, "both@example.org")
    second = await _invite(services, amal, "both@example.org", now=NOW + timedelta(hours=1))
    async with services.sessions() as session:
        assert await invites.find_invite(session, first, now=NOW + timedelta(hours=2)) is None
        assert await invites.find_invite(session, second, now=NOW + timedelta(hours=2)) is not None
        assert await invites.find_invite(session, other_shop, now=NOW + timedelta(hours=2)) is not None
        pending = await invites.pending_invites(session, amal, now=NOW + timedelta(hours=2))
    assert [p.email for p in pending] == ["both@example.org"]

    # Accepting both links makes one account bound to both shops.
    async with services.sessions.begin() as session:
        one = await invites.accept_invite(session, second, "hash-a", now=NOW + timedelta(hours=2))
    async with services.sessions.begin() as session:
        session_token, _ = await create_session(session, one.user_id, timedelta(hours=1), now=NOW + timedelta(hours=2))
    async with services.sessions.begin() as session:
        two = await invites.accept_invite(session, other_shop, "hash-b", now=NOW + timedelta(hours=3))
    assert one.created
    assert not two.created
    assert one.user_id == two.user_id
    async with services.sessions() as session:
        bound = sorted(
            m
            for (m,) in (
                await session.execute(select(UserMerchant.merchant_id).where(UserMerchant.user_id == one.user_id))
            ).all()
        )
        assert bound == sorted([amal, zitouna])
        assert (await session.get(User, one.user_id)).password_hash == "hash-b"  # type: ignore[union-attr]
        # The password changed through the link: the sessions opened before are over.
        assert await session.scalar(select(func.count()).select_from(WebSession)) == 0
    assert session_token


async def test_revoking_and_staff_addresses(services: Services) -> None:
    amal, zitouna = await _merchants(services)
    async with services.sessions.begin() as session:
        await add_user(session, "curator@example.org", Role.CURATOR, "x")
    with pytest.raises(invites.InviteError, match="curator account"):
        await _invite(services, amal, "Curator@example.org")
    with pytest.raises(invites.InviteError, match="not an e-mail"):
        await _invite(services, amal, "nobody")
    with pytest.raises(invites.InviteError, match="does not exist"):
        await _invite(services, 999_999, "x@example.org")

    token = await _invite(services, amal, "x@example.org")
    async with services.sessions() as session:
        [pending] = await invites.pending_invites(session, amal, now=NOW)
    async with services.sessions.begin() as session:
        assert not await invites.revoke_invite(session, zitouna, pending.id, now=NOW)  # another merchant's invite
        assert await invites.revoke_invite(session, amal, pending.id, now=NOW)
        assert not await invites.revoke_invite(session, amal, pending.id, now=NOW)
    async with services.sessions() as session:
        assert await invites.find_invite(session, token, now=NOW) is None


async def test_two_acceptances_at_once_only_one_wins(services: Services) -> None:
    amal, _ = await _merchants(services)
    token = await _invite(services, amal, "race@amal.example")

    async def accept(password_hash: str) -> str:
        try:
            async with services.sessions.begin() as session:
                await invites.accept_invite(session, token, password_hash, now=NOW + timedelta(minutes=1))
        except invites.InviteError:
            return "refused"
        except Exception as exc:  # SQLite: the loser may also meet the winner's write lock
            return type(exc).__name__
        return "accepted"

    results = await asyncio.gather(accept("h1"), accept("h2"))
    assert results.count("accepted") == 1
    async with services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 1
