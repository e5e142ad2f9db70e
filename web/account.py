"""Signing in and out, changing one's password, and choosing the interface language.

Pages: GET/POST /login, POST /logout, GET/POST /account/password, GET/POST /lang/{fr|en}.
API: POST /api/session ({"email", "password"} → the user, its CSRF token and the cookie), DELETE
/api/session, GET /api/me, POST /api/me/password.

Sign-in answers the same for an unknown e-mail and a wrong password, and hashes a password in both cases,
so neither the message nor the time tells whether an account exists. Failures are counted per e-mail and
per client address (web.login_attempts within web.login_window_minutes) and refused with 429 past that.
Argon2id runs in a worker thread, a few at a time, so the event loop keeps serving while it works.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from datetime import timedelta
from functools import cache
from typing import Any, TypeVar
from urllib.parse import urlsplit

from aiohttp import web

from jobs.services import Services
from storage import passwords
from storage.models import User
from storage.repositories import web_sessions
from storage.repositories.users import Role, find_by_email
from web.auth import (
    LOGIN_PATH,
    CurrentUser,
    add_nav,
    clear_session_cookie,
    client_address,
    current_user,
    forget_sessions,
    request_translator,
    require,
    safe_next,
    session_id,
    session_lifetime,
    set_lang_cookie,
    set_session_cookie,
)
from web.errors import json_body, text_fields
from web.i18n import LOCALES, Translator
from web.keys import HASH_SLOTS, SERVICES
from web.pages import render

T = TypeVar("T")
MAX_FIELD = 1000  # longer e-mails or passwords are refused before any hashing


class Refused(Exception):
    """A sign-in or password change turned down: the status, the (translated) message, and for 429 the wait."""

    def __init__(self, status: int, message: str, retry_after: timedelta | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        if self.retry_after is None:
            return {}
        return {"Retry-After": str(max(1, math.ceil(self.retry_after.total_seconds())))}


async def _hashing(request: web.Request, work: Callable[[], T]) -> T:
    async with request.app[HASH_SLOTS]:
        return await asyncio.to_thread(work)


@cache
def _decoy_hash() -> str:
    """A hash to verify against when the e-mail is unknown, so that takes as long as a real check."""
    return passwords.hash_password("decoy password that matches no account")


def _rate_limited(t: Translator, wait: timedelta) -> Refused:
    minutes = max(1, math.ceil(wait.total_seconds() / 60))
    return Refused(429, t("login.rate_limited", minutes=minutes), wait)


def _limits(services: Services) -> tuple[int, timedelta]:
    web_settings = services.settings.web
    return web_settings.login_attempts, timedelta(minutes=web_settings.login_window_minutes)


def _user_json(user: CurrentUser) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "role": user.role.value,
        "merchant_ids": list(user.merchant_ids),
        "locale": user.locale,
    }


# --- signing in ---------------------------------------------------------------------------------------


async def sign_in(request: web.Request, email: str, password: str) -> tuple[str, CurrentUser]:
    """Check the credentials and open a session: the cookie token and the user, or `Refused`."""
    services = request.app[SERVICES]
    t = request_translator(request)
    if len(email) > MAX_FIELD or len(password) > MAX_FIELD:
        raise Refused(400, t("login.too_long", max=MAX_FIELD))
    limit, window = _limits(services)
    keys = [web_sessions.email_key(email), web_sessions.address_key(client_address(request))]
    async with services.sessions() as session:
        wait = await web_sessions.blocked_for(session, keys, limit, window)
        user = await find_by_email(session, email) if email else None
    if wait is not None:
        raise _rate_limited(t, wait)
    stored = user.password_hash if user is not None else None
    valid = await _hashing(request, lambda: passwords.verify_password(stored or _decoy_hash(), password))
    if user is None or not valid:
        async with services.sessions.begin() as session:
            await web_sessions.record_failure(session, keys)
        raise Refused(401, t("login.failed"))
    if user.disabled:
        raise Refused(403, t("login.disabled"))
    try:
        role = Role(user.role)
    except ValueError:
        raise Refused(403, t("login.disabled")) from None
    rehashed = None
    if passwords.needs_rehash(user.password_hash):
        rehashed = await _hashing(request, lambda: passwords.hash_password(password))
    async with services.sessions.begin() as session:
        await web_sessions.clear_failures(session, keys[0])
        await web_sessions.record_sign_in(session, user.id, rehashed)
        previous = session_id(request)
        if previous is not None:  # signing in again replaces the old session rather than adding one
            await web_sessions.delete_session(session, previous)
            forget_sessions(request)
        token, row = await web_sessions.create_session(session, user.id, session_lifetime(services.settings))
        signed_in = await web_sessions.lookup_session(session, token)
    merchant_ids = signed_in.merchant_ids if signed_in else ()
    return token, CurrentUser(
        id=user.id,
        email=user.email,
        role=role,
        merchant_ids=merchant_ids,
        locale=user.locale,
        csrf_token=row.csrf_token,
    )


def _after_login(target: str | None) -> str:
    """Where a successful sign-in goes: a local page, but not the login page again."""
    target = safe_next(target)
    return "/" if urlsplit(target).path == LOGIN_PATH else target


def _form_text(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


async def login_page(request: web.Request) -> web.StreamResponse:
    target = _after_login(request.query.get("next"))
    if current_user(request) is not None:
        raise web.HTTPSeeOther(target)
    return render(request, "login.html", next=target, email="", error=None)


async def login_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    email, password = _form_text(form, "email").strip(), _form_text(form, "password")
    target = _after_login(_form_text(form, "next"))
    try:
        token, _ = await sign_in(request, email, password)
    except Refused as refused:
        response = render(request, "login.html", status=refused.status, next=target, email=email, error=refused.message)
        response.headers.update(refused.headers())
        return response
    response = web.Response(status=303, headers={"Location": target})
    settings = request.app[SERVICES].settings
    set_session_cookie(response, settings, token, session_lifetime(settings))
    return response


async def _end_session(request: web.Request) -> None:
    ending = session_id(request)
    if ending is not None:
        async with request.app[SERVICES].sessions.begin() as session:
            await web_sessions.delete_session(session, ending)
        forget_sessions(request)


async def logout(request: web.Request) -> web.StreamResponse:
    await _end_session(request)
    response = web.Response(status=303, headers={"Location": "/login"})
    clear_session_cookie(response, request.app[SERVICES].settings)
    return response


# --- the API ------------------------------------------------------------------------------------------


async def api_sign_in(request: web.Request) -> web.StreamResponse:
    email, password = text_fields(await json_body(request), "email", "password", max_length=MAX_FIELD)
    try:
        token, user = await sign_in(request, email.strip(), password)
    except Refused as refused:
        return web.json_response({"error": refused.message}, status=refused.status, headers=refused.headers())
    response = web.json_response({"user": _user_json(user), "csrf_token": user.csrf_token})
    settings = request.app[SERVICES].settings
    set_session_cookie(response, settings, token, session_lifetime(settings))
    return response


@require()
async def api_sign_out(request: web.Request) -> web.StreamResponse:
    await _end_session(request)
    response = web.Response(status=204)
    clear_session_cookie(response, request.app[SERVICES].settings)
    return response


@require()
async def api_me(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    assert user is not None  # guaranteed by @require
    return web.json_response({"user": _user_json(user), "csrf_token": user.csrf_token})


# --- changing the password ----------------------------------------------------------------------------


def _policy_message(t: Translator, error: passwords.WeakPassword) -> str:
    text = str(error)
    if "at least" in text:
        return t("password.too_short", min=passwords.MIN_LENGTH)
    if "e-mail" in text:
        return t("password.is_email")
    if "different characters" in text:
        return t("password.too_simple")
    return text


async def change_password(request: web.Request, user: CurrentUser, current: str, new: str) -> int:
    """Replace the password (the current one must be given) and end the user's other sessions.

    Returns how many other sessions ended; raises `Refused`. Wrong current passwords count as failed
    sign-ins: a borrowed session must not become a way to guess the password.
    """
    services = request.app[SERVICES]
    t = request_translator(request)
    if len(current) > MAX_FIELD or len(new) > MAX_FIELD:
        raise Refused(400, t("login.too_long", max=MAX_FIELD))
    limit, window = _limits(services)
    keys = [web_sessions.email_key(user.email), web_sessions.address_key(client_address(request))]
    async with services.sessions() as session:
        wait = await web_sessions.blocked_for(session, keys, limit, window)
        row = await session.get(User, user.id)
        stored = row.password_hash if row is not None else _decoy_hash()
    if wait is not None:
        raise _rate_limited(t, wait)
    if not await _hashing(request, lambda: passwords.verify_password(stored, current)):
        async with services.sessions.begin() as session:
            await web_sessions.record_failure(session, keys)
        raise Refused(400, t("password.current_wrong"))
    if new == current:
        raise Refused(400, t("password.unchanged"))
    try:
        passwords.check_policy(new, user.email)
    except passwords.WeakPassword as weak:
        raise Refused(400, _policy_message(t, weak)) from None
    new_hash = await _hashing(request, lambda: passwords.hash_password(new))
    async with services.sessions.begin() as session:
        ended = await web_sessions.change_password(session, user.id, new_hash, keep=session_id(request))
    forget_sessions(request)
    return ended


@require()
async def password_page(request: web.Request) -> web.StreamResponse:
    changed = request.query.get("changed") == "1"
    return render(request, "password.html", error=None, changed=changed, min_length=passwords.MIN_LENGTH)


@require()
async def password_submit(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    assert user is not None  # guaranteed by @require
    form = await request.post()
    current, new, again = (_form_text(form, name) for name in ("current_password", "new_password", "new_again"))
    try:
        if new != again:
            raise Refused(400, request_translator(request)("password.mismatch"))
        await change_password(request, user, current, new)
    except Refused as refused:
        response = render(
            request,
            "password.html",
            status=refused.status,
            error=refused.message,
            changed=False,
            min_length=passwords.MIN_LENGTH,
        )
        response.headers.update(refused.headers())
        return response
    return web.Response(status=303, headers={"Location": "/account/password?changed=1"})


@require()
async def api_change_password(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    assert user is not None  # guaranteed by @require
    current, new = text_fields(await json_body(request), "current_password", "new_password", max_length=MAX_FIELD)
    try:
        ended = await change_password(request, user, current, new)
    except Refused as refused:
        return web.json_response({"error": refused.message}, status=refused.status, headers=refused.headers())
    return web.json_response({"status": "changed", "other_sessions_ended": ended})


# --- language -----------------------------------------------------------------------------------------


async def switch_language(request: web.Request) -> web.StreamResponse:
    """GET sets the `lang` cookie; POST (a signed-in user's form, CSRF-checked) also stores the choice."""
    locale = request.match_info["locale"]
    if request.method == "POST":
        form = await request.post()
        target = safe_next(_form_text(form, "next"))
        user = current_user(request)
        if user is not None:
            async with request.app[SERVICES].sessions.begin() as session:
                await web_sessions.set_locale(session, user.id, locale)
            forget_sessions(request)
    else:
        target = safe_next(request.query.get("next"))
    response = web.Response(status=303, headers={"Location": target})
    set_lang_cookie(response, request.app[SERVICES].settings, locale)
    return response


def setup(app: web.Application) -> None:
    """The sign-in routes (the middlewares are installed by `web.app.create_app`)."""
    locales = "|".join(LOCALES)
    app.router.add_get("/login", login_page, name="login")
    app.router.add_post("/login", login_submit)
    app.router.add_post("/logout", logout, name="logout")
    app.router.add_get("/account/password", password_page, name="account-password")
    app.router.add_post("/account/password", password_submit)
    app.router.add_get(f"/lang/{{locale:{locales}}}", switch_language, name="lang")
    app.router.add_post(f"/lang/{{locale:{locales}}}", switch_language)
    app.router.add_post("/api/session", api_sign_in)
    app.router.add_delete("/api/session", api_sign_out)
    app.router.add_get("/api/me", api_me)
    app.router.add_post("/api/me/password", api_change_password)
    add_nav(app, "/", "nav.status", Role.ADMIN, Role.CURATOR)
