"""Accepting a merchant invitation: GET /invite/{token} shows the shop and the address invited and asks for a
password; POST /invite/{token} sets it (the password rules of storage/passwords.py), opens the merchant's
account (storage/repositories/invites.py: once, before the link expires) and signs the browser in, straight
to the portal. POST /api/invites/{token} does the same for API clients and GET /api/invites/{token} says what
the link is for.

An unknown, used, revoked or expired link gets one answer (410, "ask for a new one"): the page never says
which, nor whether an address has an account. The token is checked only by its hash. Argon2id runs in a
worker thread, a few at a time (web.keys.HASH_SLOTS), like the sign-in.
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from sqlalchemy.exc import IntegrityError

from storage import passwords
from storage.repositories import invites, web_sessions
from web.auth import forget_sessions, request_translator, session_id, session_lifetime, set_session_cookie
from web.errors import json_body, text_fields
from web.i18n import Translator
from web.keys import HASH_SLOTS, SERVICES
from web.page_tools import form_text
from web.pages import render
from web.story_json import iso, json_response

MAX_FIELD = 1000


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _policy(t: Translator, error: passwords.WeakPassword) -> str:
    text = str(error)
    if "at least" in text:
        return t("password.too_short", min=passwords.MIN_LENGTH)
    if "e-mail" in text:
        return t("password.is_email")
    return t("password.too_simple")


async def _find(request: web.Request, token: str) -> invites.PendingInvite | None:
    async with request.app[SERVICES].sessions() as session:
        return await invites.find_invite(session, token)


async def _accept(request: web.Request, token: str, password: str, again: str | None) -> str:
    """Set the password and open the account; returns the new session's cookie token, or _Refused."""
    t = request_translator(request)
    services = request.app[SERVICES]
    pending = await _find(request, token)
    if pending is None:
        raise _Refused(410, t("invite.gone"))
    if len(password) > MAX_FIELD:
        raise _Refused(400, t("login.too_long", max=MAX_FIELD))
    if again is not None and again != password:
        raise _Refused(400, t("password.mismatch"))
    try:
        passwords.check_policy(password, pending.email)
    except passwords.WeakPassword as weak:
        raise _Refused(400, _policy(t, weak)) from None
    async with request.app[HASH_SLOTS]:
        password_hash = await asyncio.to_thread(passwords.hash_password, password)
    try:
        async with services.sessions.begin() as session:
            accepted = await invites.accept_invite(session, token, password_hash)
            previous = session_id(request)
            if previous is not None:  # whoever was signed in on this browser is not any more
                await web_sessions.delete_session(session, previous)
            cookie, _ = await web_sessions.create_session(
                session, accepted.user_id, session_lifetime(services.settings)
            )
    except invites.InviteError:
        raise _Refused(410, t("invite.gone")) from None
    except IntegrityError:  # the same address accepted another invite at the same instant
        raise _Refused(409, t("invite.retry")) from None
    forget_sessions(request)
    return cookie


def _form(
    request: web.Request, pending: invites.PendingInvite, status: int = 200, error: str | None = None
) -> web.Response:
    return render(
        request, "portal_invite.html", status=status, invite=pending, error=error, min_length=passwords.MIN_LENGTH
    )


def _gone(request: web.Request) -> web.Response:
    t = request_translator(request)
    return render(request, "error.html", status=410, title=t("invite.gone_title"), message=t("invite.gone"))


async def invite_page(request: web.Request) -> web.StreamResponse:
    pending = await _find(request, request.match_info["token"])
    response = _gone(request) if pending is None else _form(request, pending)
    response.headers["Cache-Control"] = "no-store"
    return response


async def invite_submit(request: web.Request) -> web.StreamResponse:
    token = request.match_info["token"]
    form = await request.post()
    password, again = form_text(form, "password") or "", form_text(form, "password_again") or ""
    try:
        cookie = await _accept(request, token, password, again)
    except _Refused as refused:
        pending = await _find(request, token)
        if pending is None:
            return _gone(request)
        return _form(request, pending, refused.status, refused.message)
    response = web.Response(status=303, headers={"Location": "/merchant"})
    settings = request.app[SERVICES].settings
    set_session_cookie(response, settings, cookie, session_lifetime(settings))
    return response


async def api_invite(request: web.Request) -> web.StreamResponse:
    pending = await _find(request, request.match_info["token"])
    if pending is None:
        return json_response({"error": request_translator(request)("invite.gone")}, 410)
    return json_response(
        {
            "merchant": {"id": pending.merchant_id, "name": pending.merchant_name},
            "email": pending.email,
            "expires_at": iso(pending.expires_at),
        }
    )


async def api_accept(request: web.Request) -> web.StreamResponse:
    (password,) = text_fields(await json_body(request), "password", max_length=MAX_FIELD)
    try:
        cookie = await _accept(request, request.match_info["token"], password, None)
    except _Refused as refused:
        return json_response({"error": refused.message}, refused.status)
    async with request.app[SERVICES].sessions() as session:
        signed_in = await web_sessions.lookup_session(session, cookie)
    assert signed_in is not None  # just created
    response = json_response(
        {
            "user": {
                "id": signed_in.user_id,
                "email": signed_in.email,
                "role": signed_in.role,
                "merchant_ids": list(signed_in.merchant_ids),
                "locale": signed_in.locale,
            },
            "csrf_token": signed_in.csrf_token,
        },
        201,
    )
    settings = request.app[SERVICES].settings
    set_session_cookie(response, settings, cookie, session_lifetime(settings))
    return response


def setup(app: web.Application) -> None:
    app.router.add_get("/invite/{token}", invite_page)
    app.router.add_post("/invite/{token}", invite_submit)
    app.router.add_get("/api/invites/{token}", api_invite)
    app.router.add_post("/api/invites/{token}", api_accept)
