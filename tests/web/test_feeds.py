"""The public feed over real HTTP: JSON, RSS and the widget script, their caching, CORS and escaping.

`create_app(services)` (which installs the feed routes) on aiohttp's own loopback test server, on SQLite and
PostgreSQL, with stories stored as real rows. The last test loads the widget into headless Chromium from a
page of another origin, under a strict CSP, and checks that hostile post text shows literally and runs
nothing.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp.test_utils as aiotest
import pytest
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from jobs.services import Services
from storage.engine import make_sessionmaker
from storage.repositories._sql import utcnow
from storage.repositories.campaigns import sync_campaigns
from tests.storage.test_feed_repo import add_merchant, add_story
from tests.web.browsers import CHROMIUM, CHROMIUM_ARGS, require_chromium
from web import feeds
from web.app import create_app

PUBLIC_URL = "https://listen.example.org/"
HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)> ]]> \x01\x08\x0b\x1b\x7f end"
ARABIC = "أحب مخبز الأمل في حي المعاريف، الخبز طازج كل صباح! #LoveLocal"
ITEM_KEYS = {
    "story_id", "campaign", "campaign_name", "author", "merchant", "merchant_city", "text", "url", "platform",
    "language", "featured_at", "posted_at",
}  # fmt: skip
DC = "{http://purl.org/dc/elements/1.1/}"

Client = aiotest.TestClient[web.Request, web.Application]


@pytest.fixture
async def services(db_url: str, settings_for: Any, engine: AsyncEngine) -> Services:
    settings = settings_for(db_url, LISTENER_WEB_PUBLIC_URL=PUBLIC_URL)
    sessions = make_sessionmaker(engine)
    async with sessions.begin() as session:
        ids = await sync_campaigns(session, settings.campaigns)
    return Services(settings=settings, engine=engine, sessions=sessions, campaign_ids=ids)


def feed_app(services: Services) -> web.Application:
    return create_app(services)  # the feed routes are part of the app


@asynccontextmanager
async def client_for(services: Services) -> AsyncIterator[Client]:
    async with aiotest.TestClient(aiotest.TestServer(feed_app(services), host="127.0.0.1")) as client:
        yield client


async def seed(services: Services) -> dict[str, int]:
    """Featured stories (a hostile one, an Arabic one, one of the other campaign) and ones that are not."""
    love, soutenons = services.campaign_ids["lovelocal"], services.campaign_ids["soutenons"]
    # The window is relative to the real clock: the handlers ask the database about "now".
    start = utcnow() - timedelta(hours=2)
    async with services.sessions.begin() as session:
        shop = await add_merchant(session, "<b>Atlas</b> & Fils", city="الدار البيضاء")
        stories = {
            "hostile": await add_story(
                session, love, 1, text=HOSTILE, public_name="<i>Amina</i>", merchant=shop, featured_from=start
            ),
            "arabic": await add_story(
                session, love, 2, text=ARABIC, language="ar", featured_from=start + timedelta(minutes=1)
            ),
            "other_campaign": await add_story(session, soutenons, 3, featured_from=start),
            "expired": await add_story(
                session, love, 4, featured_from=start - timedelta(days=8), featured_until=start - timedelta(days=1)
            ),
            "future": await add_story(session, love, 5, featured_from=start + timedelta(days=1)),
            "shortlisted": await add_story(session, love, 6, state="shortlisted", featured_from=None),
            "archived": await add_story(session, love, 7, state="archived", featured_from=start),
        }
    return {name: story.id for name, story in stories.items()}


# --- JSON -----------------------------------------------------------------------------------------------


async def test_json_lists_featured_stories_with_public_fields_only(services: Services) -> None:
    ids = await seed(services)
    async with client_for(services) as client:
        response = await client.get("/feed/featured.json?campaign=lovelocal")
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/json; charset=utf-8"
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert response.headers["Cache-Control"] == "public, max-age=60"
        body = await response.read()
    data = json.loads(body)
    assert set(data) == {"campaign", "items"}
    assert data["campaign"] == "lovelocal"
    assert [i["story_id"] for i in data["items"]] == [ids["arabic"], ids["hostile"]]
    for item in data["items"]:
        assert set(item) == ITEM_KEYS
    arabic, hostile = data["items"]
    assert arabic["text"] == ARABIC
    assert arabic["language"] == "ar"
    assert arabic["author"] == "Amina B."
    assert arabic["merchant"] is None
    assert arabic["url"] == "https://example.test/status/2"
    assert arabic["featured_at"].endswith("Z")
    # Arabic travels as UTF-8, not as \u escapes.
    assert ARABIC.encode() in body
    assert hostile["text"] == HOSTILE
    assert hostile["author"] == "<i>Amina</i>"
    assert (hostile["merchant"], hostile["merchant_city"]) == ("<b>Atlas</b> & Fils", "الدار البيضاء")
    # Safe even if someone inlines the JSON in HTML: no raw markup, no raw control characters.
    for raw in (b"<", b">", b"&", b"\x01", b"\x1b", b"]]>"):
        assert raw not in body
    for private in (b"user1", b"User 1", b"5000", b"followers", b"email", b"author_id", b"raw"):
        assert private not in body

    async with client_for(services) as client:
        everything = await (await client.get("/feed/featured.json")).json()
    assert everything["campaign"] is None
    assert sorted(i["story_id"] for i in everything["items"]) == sorted(
        [ids["arabic"], ids["hostile"], ids["other_campaign"]]
    )


async def test_unknown_campaign_is_a_json_404(services: Services) -> None:
    async with client_for(services) as client:
        for path in (
            "/feed/featured.json?campaign=<nope>",
            "/feed/featured.rss?campaign=nope",
            "/feed/featured.json?campaign=",
        ):
            response = await client.get(path)
            assert response.status == 404, path
            assert response.headers["Access-Control-Allow-Origin"] == "*"
            error = (await response.json())["error"]
            assert error.startswith("unknown campaign")
            assert "lovelocal, soutenons" in error
            assert b"<" not in await response.read()


async def test_feed_size_limits_the_items(db_url: str, settings_for: Any, engine: AsyncEngine) -> None:
    settings = settings_for(db_url, LISTENER_STORIES_FEED_SIZE="2")
    sessions = make_sessionmaker(engine)
    async with sessions.begin() as session:
        ids = await sync_campaigns(session, settings.campaigns)
        start = utcnow() - timedelta(hours=1)
        for n in range(1, 5):
            await add_story(session, ids["lovelocal"], n, featured_from=start + timedelta(minutes=n))
    services = Services(settings=settings, engine=engine, sessions=sessions, campaign_ids=ids)
    async with client_for(services) as client:
        data = await (await client.get("/feed/featured.json")).json()
    assert len(data["items"]) == 2


async def test_etag_answers_304_until_the_feed_changes(services: Services) -> None:
    await seed(services)
    async with client_for(services) as client:
        first = await client.get("/feed/featured.json")
        etag = first.headers["ETag"]
        assert etag.startswith('"')
        again = await client.get("/feed/featured.json", headers={"If-None-Match": etag})
        assert again.status == 304
        assert await again.read() == b""
        assert again.headers["ETag"] == etag
        assert again.headers["Access-Control-Allow-Origin"] == "*"
        assert again.headers["Cache-Control"] == "public, max-age=60"
        listed = await client.get("/feed/featured.json", headers={"If-None-Match": f'"other", W/{etag}'})
        assert listed.status == 304
        stale = await client.get("/feed/featured.json", headers={"If-None-Match": '"other"'})
        assert stale.status == 200
        # Another campaign's feed is another document.
        other = await client.get("/feed/featured.json?campaign=soutenons", headers={"If-None-Match": etag})
        assert other.status == 200

        async with services.sessions.begin() as session:
            await add_story(
                session, services.campaign_ids["lovelocal"], 9, featured_from=utcnow() - timedelta(minutes=5)
            )
        changed = await client.get("/feed/featured.json", headers={"If-None-Match": etag})
        assert changed.status == 200
        assert changed.headers["ETag"] != etag


# --- RSS ------------------------------------------------------------------------------------------------


async def test_rss_is_valid_escaped_xml(services: Services) -> None:
    ids = await seed(services)
    async with client_for(services) as client:
        response = await client.get("/feed/featured.rss?campaign=lovelocal")
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/rss+xml; charset=utf-8"
        assert response.headers["Cache-Control"] == "public, max-age=60"
        body = await response.read()
        cached = await client.get(
            "/feed/featured.rss?campaign=lovelocal", headers={"If-None-Match": response.headers["ETag"]}
        )
        assert cached.status == 304
    assert body.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    assert b"<script" not in body
    assert b"<img" not in body
    assert b"<b>" not in body
    assert b"]]>" not in body
    assert b"\x01" not in body
    rss = ET.fromstring(body)  # noqa: S314 (our own output)
    assert rss.tag == "rss"
    assert rss.get("version") == "2.0"
    channel = rss.find("channel")
    assert channel is not None
    assert channel.findtext("link") == "https://listen.example.org/"
    self_link = channel.find("{http://www.w3.org/2005/Atom}link")
    assert self_link is not None
    assert self_link.get("href") == "https://listen.example.org/feed/featured.rss?campaign=lovelocal"
    assert services.settings.campaigns["lovelocal"].name in (channel.findtext("title") or "")
    items = channel.findall("item")
    assert [i.findtext("guid") for i in items] == [
        f"https://listen.example.org/feed/featured.rss#story-{ids['arabic']}",
        f"https://listen.example.org/feed/featured.rss#story-{ids['hostile']}",
    ]
    arabic, hostile = items
    assert arabic.findtext("description") == ARABIC
    assert arabic.findtext("link") == "https://example.test/status/2"
    assert arabic.findtext(f"{DC}creator") == "Amina B."
    # XML cannot carry most control characters: they are dropped, everything else comes back verbatim.
    assert hostile.findtext("description") == HOSTILE.replace("\x01", "").replace("\x08", "").replace(
        "\x0b", ""
    ).replace("\x1b", "")
    assert hostile.findtext(f"{DC}creator") == "<i>Amina</i>"
    assert hostile.findtext("category") == "<b>Atlas</b> & Fils"
    assert hostile.findtext("title") == "<b>Atlas</b> & Fils · <i>Amina</i>"
    assert hostile.findtext("pubDate", "").endswith("+0000")
    for private in (b"user1", b"5000"):
        assert private not in body


# --- the widget script ----------------------------------------------------------------------------------


async def test_widget_script_is_served_cacheable_and_uses_no_inner_html(services: Services) -> None:
    async with client_for(services) as client:
        response = await client.get("/widget.js")
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
        assert response.headers["Cache-Control"] == "public, max-age=60"
        assert response.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
        source = await response.text()
        cached = await client.get("/widget.js", headers={"If-None-Match": response.headers["ETag"]})
        assert cached.status == 304
    assert source == (Path(feeds.__file__).parent / "static" / "widget.js").read_text(encoding="utf-8")
    assert "/feed/featured.json" in source
    # The code (comments aside) never parses data as HTML.
    code = re.sub(r"/\*.*?\*/|//[^\n]*", "", source, flags=re.DOTALL)
    assert "textContent" in code
    for forbidden in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "Function("):
        assert forbidden not in code


# --- the widget in a real browser -----------------------------------------------------------------------

BROWSER_HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'


def host_page(feed_origin: str) -> web.Application:
    """A campaign site on another origin, with a CSP that allows the service and nothing inline."""
    page = (
        "<!doctype html><html lang='fr'><head><meta charset='utf-8'><title>Campaign site</title></head><body>"
        f"<script src='{feed_origin}/widget.js' data-campaign='lovelocal' data-lang='fr' async></script>"
        "<div id='listener-featured'></div></body></html>"
    )
    csp = f"default-src 'none'; script-src {feed_origin}; connect-src {feed_origin}"

    async def index(request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html", headers={"Content-Security-Policy": csp})

    app = web.Application()
    app.router.add_get("/", index)
    return app


@pytest.mark.browser
async def test_widget_renders_stories_on_another_site_and_runs_nothing(services: Services) -> None:
    require_chromium()
    from playwright.async_api import async_playwright

    love = services.campaign_ids["lovelocal"]
    start = utcnow() - timedelta(hours=1)
    async with services.sessions.begin() as session:
        shop = await add_merchant(session, "Atlas <b>&</b> Fils", city="Rabat")
        await add_story(session, love, 1, text=BROWSER_HOSTILE, public_name=BROWSER_HOSTILE, merchant=shop,
                        url="javascript:window.__pwned=3", featured_from=start)  # fmt: skip
        await add_story(session, love, 2, text=ARABIC, language="ar", featured_from=start + timedelta(minutes=1))

    feed_server = aiotest.TestServer(feed_app(services), host="127.0.0.1")
    site_server: aiotest.TestServer | None = None
    await feed_server.start_server()
    try:
        feed_origin = str(feed_server.make_url("")).rstrip("/")
        site_server = aiotest.TestServer(host_page(feed_origin), host="127.0.0.1")
        await site_server.start_server()
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            try:
                page = await browser.new_page()
                messages: list[str] = []
                page.on("console", lambda msg: messages.append(f"{msg.type}: {msg.text}"))
                page.on("pageerror", lambda exc: messages.append(f"pageerror: {exc}"))
                await page.goto(str(site_server.make_url("/")), wait_until="load")
                await page.wait_for_selector("#listener-featured[data-state='ready']", timeout=10_000)

                cards = page.locator("#listener-featured article.lf-card")
                assert await cards.count() == 2
                arabic, hostile = cards.nth(0), cards.nth(1)
                assert await arabic.locator("blockquote").inner_text() == ARABIC
                assert await arabic.locator("blockquote").get_attribute("dir") == "auto"
                assert await arabic.locator("blockquote").get_attribute("lang") == "ar"
                link = arabic.locator("a.lf-link")
                assert await link.get_attribute("href") == "https://example.test/status/2"
                assert await link.get_attribute("rel") == "noopener nofollow ugc"
                assert await link.get_attribute("target") == "_blank"
                assert await link.inner_text() == "Lire la publication d'origine"

                assert await hostile.locator("blockquote").inner_text() == BROWSER_HOSTILE
                assert await hostile.locator(".lf-author").inner_text() == BROWSER_HOSTILE
                assert await hostile.locator(".lf-merchant").inner_text() == "Atlas <b>&</b> Fils · Rabat"
                assert await hostile.locator("a").count() == 0  # the javascript: link is dropped
                assert await page.locator("#listener-featured img, #listener-featured script, b").count() == 0
                assert await page.evaluate("typeof window.__pwned") == "undefined"
                assert messages == []
            finally:
                await browser.close()
    finally:
        if site_server is not None:
            await site_server.close()
        await feed_server.close()
