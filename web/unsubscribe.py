"""The unsubscribe link of the merchant e-mails: GET /unsubscribe/{token} asks, POST unsubscribes.

The token (jobs.digest.unsubscribe_token) is signed with the service's key and names the user and the kind
of e-mail (digest or alert), so the link works without signing in. A GET never changes anything: mail
clients and security scanners prefetch links, and an unsubscribe they trigger would be one nobody asked
for. The POST is the confirm page's button, or the one-click request a mail provider sends on the user's
behalf (RFC 8058: `List-Unsubscribe=One-Click` in the body, no cookie, no CSRF token to present) when the
message carries `List-Unsubscribe-Post`. Both are idempotent. Pages speak the user's own language when it
is set, else the visitor's.
"""

from __future__ import annotations

from aiohttp import web

from jobs.digest import read_unsubscribe_token
from jobs.notify import unsubscribe_key
from storage.repositories import notifications as repo
from storage.repositories._sql import utcnow
from web.auth import request_locale
from web.i18n import supported, text_direction, translator
from web.keys import SERVICES
from web.pages import render

PATH = "/unsubscribe/{token}"


async def _target(request: web.Request) -> tuple[int, str, str | None] | None:
    """(user id, kind, the user's locale) for a genuine token of an existing user, else None."""
    services = request.app[SERVICES]
    token = request.match_info["token"]
    read = read_unsubscribe_token(unsubscribe_key(services), token) if len(token) <= 100 else None
    if read is None:
        return None
    user_id, kind = read
    async with services.sessions() as session:
        found = await repo.user_email_locale(session, user_id)
    return (user_id, kind, found[1]) if found else None


def _page(request: web.Request, state: str, kind: str, user_locale: str | None, status: int = 200) -> web.Response:
    locale = supported(user_locale) or request_locale(request)
    response = render(
        request,
        "unsubscribe.html",
        status=status,
        state=state,
        kind=kind,
        action=request.path,
        t=translator(locale),
        locale=locale,
        dir=text_direction(locale),
    )
    # The link is a capability: no cache keeps the page, no search engine lists it.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


async def confirm(request: web.Request) -> web.Response:
    target = await _target(request)
    if target is None:
        return _page(request, "invalid", "digest", None, status=404)
    user_id, kind, locale = target
    async with request.app[SERVICES].sessions() as session:
        done = await repo.is_unsubscribed(session, user_id, kind)
    return _page(request, "already" if done else "confirm", kind, locale)


async def unsubscribe(request: web.Request) -> web.Response:
    target = await _target(request)
    if target is None:
        return _page(request, "invalid", "digest", None, status=404)
    user_id, kind, locale = target
    async with request.app[SERVICES].sessions.begin() as session:
        changed = await repo.unsubscribe(session, user_id, kind, utcnow())
    return _page(request, "done" if changed else "already", kind, locale)


def setup(app: web.Application) -> None:
    app.router.add_get(PATH, confirm, name="unsubscribe")
    app.router.add_post(PATH, unsubscribe)
