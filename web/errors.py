"""Errors as the visitor should see them: a page in the layout for people, `{"error": "..."}` under /api/.

Handlers and middlewares simply raise aiohttp's HTTP exceptions with a clear `text=` message (or none,
for the standard one); this middleware gives them the right form. Bad input must end here as a 4xx with
a message saying what to fix, never as a 500: `json_body` and `text_fields` help with request bodies.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from web.auth import Handler, is_api, request_translator
from web.pages import render

# Headers an error response must keep: what is allowed, when to come back, how to authenticate.
_KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


def _message(request: web.Request, exc: web.HTTPException) -> str:
    text = exc.text or ""
    if text and text != f"{exc.status}: {exc.reason}":
        return text  # the raiser's own message
    t = request_translator(request)
    key = f"error.{exc.status}"
    message = t(key)
    return t("error.generic", status=exc.status, reason=exc.reason) if message == key else message


def error_response(
    request: web.Request, status: int, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    """`{"error": message}` under /api/, otherwise the error page in the layout."""
    if is_api(request):
        response = web.json_response({"error": message}, status=status)
    else:
        t = request_translator(request)
        title = t(f"error.title.{status}")
        if title == f"error.title.{status}":
            title = t("error.title")
        response = render(request, "error.html", status=status, title=title, message=message)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


@web.middleware
async def error_pages(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            raise  # redirects, and errors already written as JSON
        kept = {name: exc.headers[name] for name in _KEPT_HEADERS if name in exc.headers}
        return error_response(request, exc.status, _message(request, exc), kept)


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object, or 400 saying what is wrong with it (413 when too large)."""
    raw = await request.read()
    if not raw.strip():
        raise web.HTTPBadRequest(text="the request body is empty: send a JSON object")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise web.HTTPBadRequest(text=f"the request body is not valid JSON ({exc})") from None
    except RecursionError:  # "[[[[..." nested deeper than the parser goes: bad input, not a server error
        raise web.HTTPBadRequest(text="the request body is not valid JSON (nested too deeply)") from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="the request body must be a JSON object")
    return data


def text_fields(data: dict[str, Any], *names: str, max_length: int = 1000) -> tuple[str, ...]:
    """The named fields as strings; 400 naming the fields missing, not strings, or too long."""
    missing = [name for name in names if not isinstance(data.get(name), str) or not data[name]]
    if missing:
        raise web.HTTPBadRequest(text=f"required: {', '.join(missing)} (non-empty strings)")
    long = [name for name in names if len(data[name]) > max_length]
    if long:
        raise web.HTTPBadRequest(text=f"too long: {', '.join(long)} (at most {max_length} characters)")
    return tuple(data[name] for name in names)
