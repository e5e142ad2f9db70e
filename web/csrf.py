"""Cross-site request forgery protection for every state-changing request (POST, PUT, PATCH, DELETE).

Two checks, both in one middleware placed after the session middleware:

- A request whose Origin (or, lacking it, Referer) names another site is refused, signed in or not. This is
  what protects the sign-in itself (POST /login, POST /api/session), where no session, hence no token,
  exists yet. Clients that send neither header (curl, scripts) are let through to the next check.
- A request from a signed-in session must present that session's token, as the form field `csrf_token` or
  the header `X-CSRF-Token`. The token is random per session, stored server-side, and compared in constant
  time. The SameSite cookie already stops most forgeries; the token covers older browsers and same-site
  subdomains.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from aiohttp import web

from web.auth import Handler, current_user, request_translator
from web.keys import SERVICES

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
HEADER = "X-CSRF-Token"
FIELD = "csrf_token"
# Signing in creates the session, so there is no token to present yet; the origin check still applies.
EXEMPT = frozenset({("POST", "/login"), ("POST", "/api/session")})
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _origin(url: str) -> str | None:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    default = 443 if parts.scheme == "https" else 80
    host = parts.hostname.casefold()
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def trusted_origins(request: web.Request) -> set[str]:
    """This site as configured (web.public_url) and as this request reached it (its Host header)."""
    origins = {_origin(request.app[SERVICES].settings.web.public_url), _origin(f"{request.scheme}://{request.host}")}
    return {origin for origin in origins if origin}


def foreign_origin(request: web.Request) -> bool:
    """True when the browser says the request was sent by a page of another site."""
    claimed = request.headers.get("Origin")
    if claimed is None:
        referer = request.headers.get("Referer")
        if not referer:
            return False
        claimed = referer
    return _origin(claimed) not in trusted_origins(request)  # "null" (sandboxed, file://) is foreign too


async def presented_token(request: web.Request) -> str | None:
    header = request.headers.get(HEADER)
    if header:
        return header
    if request.content_type in _FORM_TYPES:
        # request.post() caches the parsed form, so the handler can read it again.
        value = (await request.post()).get(FIELD)
        return value if isinstance(value, str) else None
    return None


@web.middleware
async def csrf_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method in UNSAFE_METHODS:
        t = request_translator(request)
        if foreign_origin(request):
            raise web.HTTPForbidden(text=t("csrf.foreign_origin"))
        user = current_user(request)
        if user is not None and (request.method, request.path) not in EXEMPT:
            token = await presented_token(request)
            if not token or not hmac.compare_digest(token.encode(), user.csrf_token.encode()):
                raise web.HTTPForbidden(text=t("csrf.missing_token"))
    return await handler(request)
