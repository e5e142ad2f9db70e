"""The curators' side of the merchant portal, once, for the merchant pages and the API: invite an address to a
merchant's portal (the link is returned to be sent; it is shown once and never stored), revoke an invite,
remove an account's access, and accept or reject a merchant's request (storage/repositories/corrections.py
applies it). Each runs in its own transaction; an unknown merchant, invite, account or request is 404, a
request already decided or a rule refusing it is 409, bad input 400.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from aiohttp import web

from jobs.services import Services
from storage.models import Merchant, MerchantCorrection, MerchantInvite
from storage.repositories import corrections, invites
from storage.repositories._sql import utcnow
from storage.repositories.merchant_directory import merchant_entry
from web.params import bad


@dataclass(frozen=True)
class Invited:
    invite: MerchantInvite
    link: str  # the only copy of the token: shown to the curator to send, never stored


def invite_link(services: Services, token: str) -> str:
    return services.settings.web.public_url.rstrip("/") + "/invite/" + token


async def merchant_or_404(services: Services, merchant_id: int) -> Merchant:
    async with services.sessions() as session:
        merchant = await merchant_entry(session, merchant_id)
    if merchant is None:
        raise web.HTTPNotFound(text=f"there is no merchant #{merchant_id}")
    return merchant


def email_param(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise bad("email is required: the address to invite")
    if len(value) > 320:
        raise bad("email is too long (at most 320 characters)")
    return value.strip()


async def invite(services: Services, merchant_id: int, email: str, actor: int) -> Invited:
    await merchant_or_404(services, merchant_id)
    lifetime = timedelta(days=services.settings.web.invite_days)
    try:
        async with services.sessions.begin() as session:
            token, row = await invites.create_invite(
                session, merchant_id, email, invited_by=actor, lifetime=lifetime, now=utcnow()
            )
    except invites.InviteError as exc:
        raise bad(str(exc)) from None
    return Invited(row, invite_link(services, token))


async def revoke(services: Services, merchant_id: int, invite_id: int) -> None:
    async with services.sessions.begin() as session:
        if not await invites.revoke_invite(session, merchant_id, invite_id):
            raise web.HTTPNotFound(text=f"merchant #{merchant_id} has no pending invite #{invite_id}")


async def remove_access(services: Services, merchant_id: int, user_id: int) -> None:
    async with services.sessions.begin() as session:
        if not await invites.unbind_user(session, merchant_id, user_id):
            raise web.HTTPNotFound(text=f"account #{user_id} has no access to merchant #{merchant_id}")


async def decide(
    services: Services, correction_id: int, *, accept: bool, actor: int, note: str | None, merchant_id: int | None
) -> MerchantCorrection:
    try:
        async with services.sessions.begin() as session:
            return await corrections.decide(
                session, correction_id, accept=accept, actor=actor, note=note, merchant_id=merchant_id
            )
    except corrections.NotFound as exc:
        raise web.HTTPNotFound(text=str(exc)) from None
    except corrections.CorrectionError as exc:
        raise web.HTTPConflict(text=str(exc)) from None
