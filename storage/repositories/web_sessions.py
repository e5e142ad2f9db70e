"""Sign-in state: web sessions, failed sign-in attempts, and the account changes tied to them.

A session is known by the SHA-256 of its cookie token only, so a copy of the table cannot be replayed.
Failed sign-ins are rows (not process memory) so the rate limit survives restarts and holds across
several web processes over one database. Checking and recording are two statements, so a burst of
parallel attempts from several processes can overshoot the limit by a few: the limit slows guessing
down, it is not a lock.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import LoginAttempt, User, UserMerchant, WebSession
from storage.repositories._sql import utcnow

# A used session slides forward, but never lives longer than this (or session_hours when that is longer):
# a stolen cookie that is kept busy still dies.
MAX_SESSION_AGE = timedelta(days=30)
# last_seen_at/expires_at are written at most this often: one write per active user a minute, not per request.
TOUCH_EVERY = timedelta(minutes=1)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SignedIn:
    """A live session with its user, as a request sees it."""

    session_id: str  # the token hash
    csrf_token: str
    expires_at: datetime
    last_seen_at: datetime
    user_id: int
    email: str
    role: str
    locale: str | None
    merchant_ids: tuple[int, ...]


async def create_session(
    session: AsyncSession, user_id: int, lifetime: timedelta, now: datetime | None = None
) -> tuple[str, WebSession]:
    """A new session for the user; returns the cookie token (never stored) and the row."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    row = WebSession(
        id=hash_token(token),
        user_id=user_id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + lifetime,
        last_seen_at=now,
    )
    session.add(row)
    await session.flush()
    return token, row


async def lookup_session(session: AsyncSession, token: str, now: datetime | None = None) -> SignedIn | None:
    """The live session behind a cookie token, or None when unknown, expired or its user is disabled."""
    now = now or utcnow()
    row = (
        await session.execute(
            select(WebSession, User)
            .join(User, User.id == WebSession.user_id)
            .where(WebSession.id == hash_token(token), WebSession.expires_at > now, User.disabled.is_(False))
        )
    ).first()
    if row is None:
        return None
    web_session, user = row
    merchant_ids: tuple[int, ...] = ()
    if user.role == "merchant":
        result = await session.scalars(
            select(UserMerchant.merchant_id).where(UserMerchant.user_id == user.id).order_by(UserMerchant.merchant_id)
        )
        merchant_ids = tuple(result)
    return SignedIn(
        session_id=web_session.id,
        csrf_token=web_session.csrf_token,
        expires_at=web_session.expires_at,
        last_seen_at=web_session.last_seen_at,
        user_id=user.id,
        email=user.email,
        role=user.role,
        locale=user.locale,
        merchant_ids=merchant_ids,
    )


def needs_touch(signed_in: SignedIn, now: datetime) -> bool:
    return now - signed_in.last_seen_at >= TOUCH_EVERY


async def touch_session(
    session: AsyncSession, session_id: str, lifetime: timedelta, now: datetime | None = None
) -> datetime | None:
    """Slide the session: seen now, expiring `lifetime` from now but within its maximum age.

    Returns the new expiry, or None when the session is gone.
    """
    now = now or utcnow()
    row = await session.get(WebSession, session_id)
    if row is None:
        return None
    row.last_seen_at = now
    row.expires_at = min(now + lifetime, row.created_at + max(lifetime, MAX_SESSION_AGE))
    await session.flush()
    return row.expires_at


async def delete_session(session: AsyncSession, session_id: str) -> bool:
    result: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
        delete(WebSession).where(WebSession.id == session_id)
    )
    return result.rowcount > 0


async def delete_user_sessions(session: AsyncSession, user_id: int, keep: str | None = None) -> int:
    """End every session of the user (but `keep`, the one asking); returns how many ended."""
    statement = delete(WebSession).where(WebSession.user_id == user_id)
    if keep is not None:
        statement = statement.where(WebSession.id != keep)
    result: CursorResult[Any] = await session.execute(statement)  # type: ignore[assignment]
    return result.rowcount


async def change_password(session: AsyncSession, user_id: int, password_hash: str, keep: str | None) -> int:
    """Store the new password hash and end the user's other sessions (a thief's included)."""
    await session.execute(update(User).where(User.id == user_id).values(password_hash=password_hash))
    return await delete_user_sessions(session, user_id, keep=keep)


async def record_sign_in(
    session: AsyncSession, user_id: int, rehashed: str | None = None, now: datetime | None = None
) -> None:
    """Note the sign-in time, and store a fresher hash of the password when the parameters changed."""
    values: dict[str, Any] = {"last_login_at": now or utcnow()}
    if rehashed is not None:
        values["password_hash"] = rehashed
    await session.execute(update(User).where(User.id == user_id).values(**values))


async def set_locale(session: AsyncSession, user_id: int, locale: str | None) -> None:
    await session.execute(update(User).where(User.id == user_id).values(locale=locale))


# --- failed sign-ins ----------------------------------------------------------------------------------


def email_key(email: str) -> str:
    # Case-folded and trimmed, so "Ann@X.fr " and "ann@x.fr" share one budget; length-bounded for the column.
    return "email:" + email.strip().casefold()[:320]


def address_key(address: str | None) -> str:
    return "addr:" + (address or "unknown")[:200]


async def record_failure(session: AsyncSession, keys: list[str], now: datetime | None = None) -> None:
    now = now or utcnow()
    session.add_all(LoginAttempt(key=key, at=now) for key in keys)
    await session.flush()


async def blocked_for(
    session: AsyncSession, keys: list[str], limit: int, window: timedelta, now: datetime | None = None
) -> timedelta | None:
    """How long sign-in stays refused for any of the keys (None: not refused).

    A key is refused while it has `limit` or more failures within the window; that ends when the
    `limit`-th most recent of them leaves the window.
    """
    now = now or utcnow()
    longest: timedelta | None = None
    for key in keys:
        oldest_counted = await session.scalar(
            select(LoginAttempt.at)
            .where(LoginAttempt.key == key, LoginAttempt.at > now - window)
            .order_by(LoginAttempt.at.desc())
            .offset(limit - 1)
            .limit(1)
        )
        if oldest_counted is None:
            continue
        wait = oldest_counted + window - now
        if longest is None or wait > longest:
            longest = wait
    return longest


async def failures(session: AsyncSession, key: str, since: datetime) -> int:
    return int(
        await session.scalar(
            select(func.count()).select_from(LoginAttempt).where(LoginAttempt.key == key, LoginAttempt.at > since)
        )
        or 0
    )


async def clear_failures(session: AsyncSession, key: str) -> None:
    await session.execute(delete(LoginAttempt).where(LoginAttempt.key == key))


async def purge(session: AsyncSession, attempts_window: timedelta, now: datetime | None = None) -> dict[str, int]:
    """Housekeeping: drop expired sessions and failures too old to count any more."""
    now = now or utcnow()
    sessions: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
        delete(WebSession).where(WebSession.expires_at <= now)
    )
    attempts: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
        delete(LoginAttempt).where(LoginAttempt.at <= now - attempts_window)
    )
    return {"web_sessions_purged": sessions.rowcount, "login_attempts_purged": attempts.rowcount}
