"""One-shot messages across a Post/Redirect/Get: an action's result, shown once on the page it redirects to.

The message travels in a short-lived cookie (two minutes, HttpOnly, SameSite=Lax), signed with an HMAC keyed
by the session's CSRF token: only this session's own actions can put words on its pages, and a flash from
another session (or forged) is simply dropped. Lines are plain text, escaped when shown.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass

from aiohttp import web

from web.auth import current_user
from web.keys import SERVICES

COOKIE = "listener_flash"
MAX_LINES = 8
MAX_LINE = 400
_LIFETIME = 120


@dataclass(frozen=True)
class Flash:
    kind: str  # "notice" or "error"
    lines: tuple[str, ...]


def _key(request: web.Request) -> bytes | None:
    user = current_user(request)
    return user.csrf_token.encode() if user else None


def _sign(key: bytes, payload: bytes) -> str:
    return hmac.new(key, payload, hashlib.sha256).hexdigest()[:32]


def _secure(request: web.Request) -> bool:
    return request.app[SERVICES].settings.web.public_url.casefold().startswith("https://")


def set_flash(request: web.Request, response: web.StreamResponse, kind: str, lines: list[str]) -> None:
    key = _key(request)
    if key is None:
        return
    kept = [line if len(line) <= MAX_LINE else line[: MAX_LINE - 1] + "…" for line in lines[:MAX_LINES]]
    payload = base64.urlsafe_b64encode(json.dumps({"k": kind, "l": kept}, ensure_ascii=False).encode())
    value = payload.decode() + "." + _sign(key, payload)
    response.set_cookie(
        COOKIE, value, max_age=_LIFETIME, path="/", httponly=True, samesite="Lax", secure=_secure(request)
    )


def pop_flash(request: web.Request) -> Flash | None:
    """The flash this session set, if any (the caller clears it with `clear_flash` on its response)."""
    raw, key = request.cookies.get(COOKIE), _key(request)
    if not raw or key is None or len(raw) > 8000:
        return None
    payload, _, signature = raw.rpartition(".")
    if not hmac.compare_digest(signature.encode(), _sign(key, payload.encode()).encode()):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(payload.encode()))
    except (ValueError, binascii.Error):
        return None
    lines = data.get("l") if isinstance(data, dict) else None
    if not isinstance(lines, list) or not all(isinstance(line, str) for line in lines):
        return None
    return Flash("error" if data.get("k") == "error" else "notice", tuple(lines))


def clear_flash(request: web.Request, response: web.StreamResponse) -> None:
    if COOKIE in request.cookies:
        response.del_cookie(COOKIE, path="/", secure=_secure(request), httponly=True, samesite="Lax")


def redirect(request: web.Request, location: str, kind: str, lines: list[str]) -> web.Response:
    """303 to `location` carrying the flash (Post/Redirect/Get)."""
    response = web.Response(status=303, headers={"Location": location})
    set_flash(request, response, kind, lines)
    return response
