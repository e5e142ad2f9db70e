"""The public featured feed: `/feed/featured.json`, `/feed/featured.rss` and the embeddable `/widget.js`.

Campaign sites show the stories featured right now by pasting two lines (see web/WIDGET.md):

    <script src="https://listener.example.org/widget.js" data-campaign="lovelocal" data-lang="fr" async></script>
    <div id="listener-featured"></div>

The script fetches `/feed/featured.json` from the origin it was loaded from and builds the cards with DOM
APIs and `textContent` only. Everything here is public and anonymous: no login, no cookie, the same
answer for everyone, so the JSON is open to any origin (CORS `*`) and every response is cacheable for a
minute with an ETag (a conditional request costs one query and no body). Post text and names are
untrusted: the JSON escapes `<`, `>` and `&` as well (it stays safe even if someone inlines it in HTML),
the RSS is built with `xml.etree` (never by concatenating text), and characters XML cannot carry are
dropped from it. Links to original posts are handed out only when they are http(s).
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from storage.repositories._sql import utcnow
from storage.repositories.feed import FeaturedItem, featured_now
from web.json_safe import json_bytes
from web.keys import SERVICES

WIDGET_SOURCE = Path(__file__).resolve().parent / "static" / "widget.js"
WIDGET: web.AppKey[bytes] = web.AppKey("widget_js", bytes)

CACHE_CONTROL = "public, max-age=60"
_DC = "http://purl.org/dc/elements/1.1/"
_ATOM = "http://www.w3.org/2005/Atom"
# Characters XML 1.0 cannot carry at all (most C0 controls, lone surrogates, U+FFFE/U+FFFF).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_TITLE_CHARS = 80


@dataclass(frozen=True)
class FeedScope:
    """Which stories a request asks for: one campaign (slug and name) or all of them (None)."""

    slug: str | None
    name: str | None


# --- shared HTTP behaviour -------------------------------------------------------------------------------


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison of If-None-Match against our (strong) ETag."""
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == etag:
            return True
    return False


def _public_headers(*, cors: bool) -> dict[str, str]:
    headers = {
        "Cache-Control": CACHE_CONTROL,
        # Loaded from other sites by design (the widget, feed readers, the campaign's own page).
        "Cross-Origin-Resource-Policy": "cross-origin",
    }
    if cors:
        headers["Access-Control-Allow-Origin"] = "*"
    return headers


def cached(request: web.Request, body: bytes, content_type: str, *, cors: bool) -> web.Response:
    """`body` with caching headers, or an empty 304 when the client already holds this version."""
    etag = _etag(body)
    headers = {**_public_headers(cors=cors), "ETag": etag}
    if _matches(request.headers.get("If-None-Match"), etag):
        return web.Response(status=304, headers=headers)
    response = web.Response(body=body, headers=headers)
    response.content_type = content_type
    response.charset = "utf-8"
    return response


def _json_bytes(data: Any) -> bytes:
    return json_bytes(data, sort_keys=True)


def _json_error(status: int, message: str) -> web.Response:
    response = web.Response(status=status, body=_json_bytes({"error": message}))
    response.content_type = "application/json"
    response.charset = "utf-8"
    response.headers["Access-Control-Allow-Origin"] = "*"  # the widget can read why it got nothing
    response.headers["Cache-Control"] = "no-store"
    return response


def _scope(request: web.Request) -> FeedScope | web.Response:
    """The campaign asked for with `?campaign=slug` (none: every campaign), or a 404 JSON error."""
    slug = request.query.get("campaign")
    if slug is None:
        return FeedScope(None, None)
    campaigns = request.app[SERVICES].settings.campaigns
    conf = campaigns.get(slug)
    if conf is None:
        known = ", ".join(sorted(campaigns)) or "none configured"
        return _json_error(404, f"unknown campaign {slug[:100]!r}; known campaigns: {known}")
    return FeedScope(slug, conf.name)


async def _items(request: web.Request, scope: FeedScope) -> list[FeaturedItem]:
    services = request.app[SERVICES]
    async with services.sessions() as session:
        return await featured_now(
            session, campaign_slug=scope.slug, now=utcnow(), limit=services.settings.stories.feed_size
        )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- JSON ---------------------------------------------------------------------------------------------


def item_json(item: FeaturedItem) -> dict[str, Any]:
    """One story as the public sees it: exactly these keys, nothing private."""
    return {
        "story_id": item.story_id,
        "campaign": item.campaign_slug,
        "campaign_name": item.campaign_name,
        "author": item.public_name,
        "merchant": item.merchant_name,
        "merchant_city": item.merchant_city,
        "text": item.text,
        "url": item.url,
        "platform": item.platform,
        "language": item.language,
        "featured_at": _iso(item.featured_from),
        "posted_at": _iso(item.post_created_at),
    }


def feed_json(scope: FeedScope, items: Iterable[FeaturedItem]) -> bytes:
    return _json_bytes({"campaign": scope.slug, "items": [item_json(i) for i in items]})


async def featured_json(request: web.Request) -> web.Response:
    scope = _scope(request)
    if isinstance(scope, web.Response):
        return scope
    body = feed_json(scope, await _items(request, scope))
    return cached(request, body, "application/json", cors=True)


# --- RSS 2.0 ------------------------------------------------------------------------------------------


def xml_text(value: str) -> str:
    """`value` without the characters XML 1.0 cannot represent (the serializer escapes the rest)."""
    return _NOT_XML.sub("", value)


def _sub(parent: ET.Element, tag: str, text: str | None = None, attrib: Mapping[str, str] | None = None) -> ET.Element:
    element = ET.SubElement(parent, tag, dict(attrib or {}))
    if text is not None:
        element.text = xml_text(text)
    return element


def _item_title(item: FeaturedItem) -> str:
    who = " · ".join(part for part in (item.merchant_name, item.public_name) if part)
    if who:
        return who
    snippet = " ".join(item.text.split())
    return snippet if len(snippet) <= _TITLE_CHARS else snippet[: _TITLE_CHARS - 1] + "…"


def feed_rss(scope: FeedScope, items: list[FeaturedItem], public_url: str) -> bytes:
    base = public_url.rstrip("/")
    self_url = f"{base}/feed/featured.rss" + (f"?{urlencode({'campaign': scope.slug})}" if scope.slug else "")
    # Prefixes for our two namespaces (ElementTree would otherwise write ns0:, ns1:).
    ET.register_namespace("dc", _DC)
    ET.register_namespace("atom", _ATOM)
    rss = ET.Element("rss", {"version": "2.0"})
    channel = _sub(rss, "channel")
    title = "Featured stories" + (f" · {scope.name}" if scope.name else "")
    _sub(channel, "title", title)
    _sub(channel, "link", f"{base}/")
    _sub(channel, "description", "Stories about local shops, featured with their authors' permission.")
    _sub(channel, f"{{{_ATOM}}}link", attrib={"href": self_url, "rel": "self", "type": "application/rss+xml"})
    _sub(channel, "generator", "campaign-listener")
    if items:
        # The newest feature, not the clock: the body (and its ETag) changes only when the stories do.
        _sub(channel, "lastBuildDate", format_datetime(max(i.featured_from for i in items).astimezone(UTC)))
    for item in items:
        entry = _sub(channel, "item")
        _sub(entry, "title", _item_title(item))
        if item.url:
            _sub(entry, "link", item.url)
        _sub(entry, "description", item.text)
        if item.public_name:
            _sub(entry, f"{{{_DC}}}creator", item.public_name)
        if item.merchant_name:
            _sub(entry, "category", item.merchant_name)
        _sub(entry, "guid", f"{base}/feed/featured.rss#story-{item.story_id}", {"isPermaLink": "false"})
        _sub(entry, "pubDate", format_datetime(item.featured_from.astimezone(UTC)))
    body: bytes = ET.tostring(rss, encoding="utf-8", xml_declaration=True)
    return body


async def featured_rss(request: web.Request) -> web.Response:
    scope = _scope(request)
    if isinstance(scope, web.Response):
        return scope
    items = await _items(request, scope)
    body = feed_rss(scope, items, request.app[SERVICES].settings.web.public_url)
    return cached(request, body, "application/rss+xml", cors=True)


# --- the widget ---------------------------------------------------------------------------------------


async def widget_js(request: web.Request) -> web.Response:
    return cached(request, request.app[WIDGET], "text/javascript", cors=False)


def setup(app: web.Application) -> None:
    """Add the public feed routes to `app` (before it starts)."""
    app[WIDGET] = WIDGET_SOURCE.read_bytes()
    app.router.add_get("/feed/featured.json", featured_json, name="feed_json")
    app.router.add_get("/feed/featured.rss", featured_rss, name="feed_rss")
    app.router.add_get("/widget.js", widget_js, name="widget_js")
