"""Who is asking: the session middleware, the role guard for handlers, and what every template is given.

The `listener_session` cookie holds a random token; the database keeps only its SHA-256
(storage/repositories/web_sessions.py). The middleware turns a live cookie into a `CurrentUser` on the
request; handlers declare who may call them with `@require(Role.CURATOR, ...)`, which answers anonymous
visitors with a redirect to /login (pages) or 401 (API), and the wrong role with 403.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from aiohttp import web

from service.settings import Settings
from storage.repositories import web_sessions
from storage.repositories._sql import utcnow
from storage.repositories.users import Role
from web.i18n import Translator, choose_locale, text_direction, translator
from web.keys import NAV, SERVICES, SESSION_CACHE, NavItem

log = logging.getLogger(__name__)

SESSION_COOKIE = "listener_session"
LANG_COOKIE = "lang"
LOGIN_PATH = "/login"
# Requests that never need to know the user: no database round trip for a stylesheet or a probe.
# Public, cacheable responses must never carry a session's Set-Cookie (a shared cache could store it).
_ANONYMOUS_PREFIXES = ("/static/", "/healthz", "/readyz", "/feed/", "/widget.js")
_MAX_TOKEN_LENGTH = 100  # ours are 43 characters; anything much longer is not one of ours

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class CurrentUser:
    id: int
    email: str
    role: Role
    merchant_ids: tuple[int, ...]  # the merchants a merchant user may see; empty for admins and curators
    locale: str | None  # the user's own choice (fr, en), None to follow the browser
    csrf_token: str


@dataclass(frozen=True)
class _RequestState:
    user: CurrentUser | None
    session_id: str | None


_STATE: web.RequestKey[_RequestState] = web.RequestKey("listener_auth", _RequestState)
_LOCALE: web.RequestKey[str] = web.RequestKey("listener_locale", str)


# --- reading the request ------------------------------------------------------------------------------


def current_user(request: web.Request) -> CurrentUser | None:
    state = request.get(_STATE)
    return state.user if state else None


def session_id(request: web.Request) -> str | None:
    """The signed-in session's id (the token hash), for logout and "end my other sessions"."""
    state = request.get(_STATE)
    return state.session_id if state else None


def is_api(request: web.Request) -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def request_locale(request: web.Request) -> str:
    locale = request.get(_LOCALE)
    if locale is None:
        user = current_user(request)
        locale = choose_locale(
            user.locale if user else None,
            request.cookies.get(LANG_COOKIE),
            request.headers.get("Accept-Language"),
        )
        request[_LOCALE] = locale
    return locale


def request_translator(request: web.Request) -> Translator:
    return translator(request_locale(request))


def client_address(request: web.Request) -> str | None:
    """The client's address, for the per-address sign-in limit.

    Behind a reverse proxy on the same machine (the default deployment: web.host is 127.0.0.1) every
    request comes from loopback, so the address the proxy appended to X-Forwarded-For (the last one; the
    ones before it are whatever the client claimed) is used instead. From any other peer the header is
    ignored: only a local proxy is trusted to set it.
    """
    remote = request.remote
    forwarded = request.headers.get("X-Forwarded-For")
    if forwarded and remote is not None:
        try:
            trusted = ipaddress.ip_address(remote).is_loopback
        except ValueError:
            trusted = False
        last = forwarded.rsplit(",", 1)[-1].strip()
        if trusted and last:
            return last
    return remote


def safe_next(target: str | None, default: str = "/") -> str:
    """`target` when it is a path on this site, else `default`: a login link must not send people elsewhere.

    Refused: absolute and scheme-relative URLs (`//evil`), backslashes (browsers read `/\\evil` as
    `//evil`) and control characters.
    """
    if not target or len(target) > 2000 or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def login_redirect(request: web.Request) -> web.HTTPSeeOther:
    """Where an anonymous visitor of a page goes: the login page, which brings them back after."""
    if request.method in ("GET", "HEAD"):
        return web.HTTPSeeOther(f"{LOGIN_PATH}?next={quote(safe_next(request.path_qs), safe='')}")
    return web.HTTPSeeOther(LOGIN_PATH)


# --- the guard ----------------------------------------------------------------------------------------


def require(*roles: Role) -> Callable[[Handler], Handler]:
    """Only signed-in users (of one of `roles`, when given) reach the handler.

    Anonymous: 303 to /login?next=<this page> for a page, 401 JSON under /api/. Wrong role: 403, as a
    page or as JSON. The error formats come from web/errors.py, which renders every HTTP error.
    """
    allowed = frozenset(Role(role) for role in roles)

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            user = current_user(request)
            t = request_translator(request)
            if user is None:
                if is_api(request):
                    raise web.HTTPUnauthorized(text=t("auth.signed_out_api"))
                raise login_redirect(request)
            if allowed and user.role not in allowed:
                raise web.HTTPForbidden(text=t("auth.wrong_role"))
            return await handler(request)

        return guarded

    return decorate


# --- templates ----------------------------------------------------------------------------------------


def add_nav(app: web.Application, href: str, label: str, *roles: Role) -> None:
    """A link in the layout's navigation, for the given roles (everyone signed in or not when none)."""
    app[NAV].append(NavItem(href=href, label=label, roles=frozenset(Role(role).value for role in roles)))


def template_context(request: web.Request) -> dict[str, Any]:
    """What the layout and every page need: the user, the CSRF token for forms, the translator `t`,
    the locale (for `<html lang>`), the text direction, the navigation for the user's role, and the
    current path (for the language switcher to come back to)."""
    user = current_user(request)
    locale = request_locale(request)
    nav = [item for item in request.app.get(NAV, []) if not item.roles or (user and user.role.value in item.roles)]
    return {
        "user": user,
        "csrf_token": user.csrf_token if user else "",
        "t": translator(locale),
        "locale": locale,
        "dir": text_direction(locale),
        "nav": nav,
        "current_path": request.path_qs,
    }


# --- cookies ------------------------------------------------------------------------------------------


def _secure(settings: Settings) -> bool:
    return settings.web.public_url.casefold().startswith("https://")


def set_session_cookie(response: web.StreamResponse, settings: Settings, token: str, lifetime: timedelta) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max(int(lifetime.total_seconds()), 1),
        path="/",
        httponly=True,
        samesite="Lax",
        secure=_secure(settings),
    )


def clear_session_cookie(response: web.StreamResponse, settings: Settings) -> None:
    response.del_cookie(SESSION_COOKIE, path="/", secure=_secure(settings), httponly=True, samesite="Lax")


def set_lang_cookie(response: web.StreamResponse, settings: Settings, locale: str) -> None:
    response.set_cookie(
        LANG_COOKIE,
        locale,
        max_age=365 * 24 * 3600,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=_secure(settings),
    )


def session_lifetime(settings: Settings) -> timedelta:
    return timedelta(hours=settings.web.session_hours)


# --- the middleware -----------------------------------------------------------------------------------


def forget_sessions(request: web.Request) -> None:
    """Call after ending or changing a session (logout, password, language): cached lookups are dropped."""
    request.app[SESSION_CACHE].clear()


def _current_user(signed_in: web_sessions.SignedIn) -> CurrentUser | None:
    try:
        role = Role(signed_in.role)
    except ValueError:
        log.warning("user %s has an unknown role %r: treated as signed out", signed_in.user_id, signed_in.role)
        return None
    return CurrentUser(
        id=signed_in.user_id,
        email=signed_in.email,
        role=role,
        merchant_ids=signed_in.merchant_ids,
        locale=signed_in.locale,
        csrf_token=signed_in.csrf_token,
    )


@web.middleware
async def session_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Attach the signed-in user (if any) to the request, and slide the session at most once a minute."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token or request.path.startswith(_ANONYMOUS_PREFIXES):
        request[_STATE] = _RequestState(user=None, session_id=None)
        return await handler(request)
    services = request.app[SERVICES]
    settings = services.settings
    lifetime = session_lifetime(settings)
    user: CurrentUser | None = None
    signed_in: web_sessions.SignedIn | None = None
    new_expiry = None
    if len(token) <= _MAX_TOKEN_LENGTH:
        now = utcnow()
        cache = request.app[SESSION_CACHE]
        signed_in = cache.get(web_sessions.hash_token(token))
        if signed_in is not None and signed_in.expires_at <= now:
            signed_in = None
        if signed_in is None or web_sessions.needs_touch(signed_in, now):
            async with services.sessions.begin() as session:
                signed_in = await web_sessions.lookup_session(session, token, now)
                if signed_in is not None and web_sessions.needs_touch(signed_in, now):
                    new_expiry = await web_sessions.touch_session(session, signed_in.session_id, lifetime, now)
                    if new_expiry is not None:
                        signed_in = replace(signed_in, last_seen_at=now, expires_at=new_expiry)
            if signed_in is not None:
                cache.put(signed_in)
        if signed_in is not None:
            user = _current_user(signed_in)
    request[_STATE] = _RequestState(user=user, session_id=signed_in.session_id if user and signed_in else None)
    try:
        response = await handler(request)
    except web.HTTPException as exc:  # redirects, and errors already in their final form
        _maintain_cookie(exc, settings, token, user, new_expiry)
        raise
    _maintain_cookie(response, settings, token, user, new_expiry)
    return response


def _maintain_cookie(
    response: web.StreamResponse,
    settings: Settings,
    token: str,
    user: CurrentUser | None,
    new_expiry: datetime | None,
) -> None:
    if response.prepared:
        return  # streamed already: its headers are gone
    if user is not None:
        # A signed-in page holds private data and a CSRF token: no shared or back-button cache keeps it.
        response.headers.setdefault("Cache-Control", "no-store")
    if SESSION_COOKIE in response.cookies:
        return  # the handler set or cleared the cookie itself (login, logout)
    if user is None:  # the cookie names no live session: drop it, and the lookups it costs
        clear_session_cookie(response, settings)
    elif new_expiry is not None:
        set_session_cookie(response, settings, token, new_expiry - utcnow())
