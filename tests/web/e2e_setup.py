"""Helpers for the end-to-end curation test (tests/web/test_curation_browser.py): the loopback servers that
stand in for the outside world, run on an event loop in a background thread so that the test itself stays a
plain synchronous function driving sync Playwright and the real `listener` processes.

- `BackgroundLoop`: an asyncio loop in a daemon thread; `run(coro)` waits for the result.
- `FakeX`: the scripted TLS server of tests/listener/upstream.py, as api.twitter.com, answering the recent
  search with whatever page the test sets; the real collector reaches it through `LISTENER_X_BASE_URL` and
  trusts its test CA through `LISTENER_X_CA_FILE`.
- `x_search_page`, `x_tweet`, `x_user`: X API v2 payloads in the shape the real API sends (text with `<`, `>`
  and `&` as entities, `entities.hashtags` with offsets, `includes.users`, `meta.newest_id`...).
- `campaign_site`: a page of another loopback origin that embeds the widget, as a campaign site would.
- `png_facts`: a screenshot's size and how varied its pixels are (a blank image has almost no variety).
"""

from __future__ import annotations

import asyncio
import html
import struct
import threading
import time
import zlib
from collections.abc import Coroutine, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from listener.session import X_API_HOST
from tests.listener.upstream import Received, Reply, Upstream

T = TypeVar("T")

SEARCH = "/2/tweets/search/recent"
TIMEOUT = 30.0


class BackgroundLoop:
    """An event loop running in a daemon thread (for servers a synchronous test needs)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="e2e-loop", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=TIMEOUT)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


@contextmanager
def background_loop() -> Iterator[BackgroundLoop]:
    loop = BackgroundLoop()
    try:
        yield loop
    finally:
        loop.close()


class FakeX:
    """api.twitter.com on loopback TLS: the recent search answers the page set last, every time it is asked."""

    def __init__(self, loop: BackgroundLoop, workdir: Path) -> None:
        self._loop = loop
        self.server = Upstream(tls_hostnames=[X_API_HOST], workdir=workdir)

    @property
    def base_url(self) -> str:
        return self.server.url

    @property
    def ca_file(self) -> str:
        assert self.server.ca_file is not None
        return str(self.server.ca_file)

    def env(self, token: str) -> dict[str, str]:
        """The environment that points the real X collector here and switches the other sources off (Mastodon is
        off in every `listener_env` already)."""
        return {
            "LISTENER_X_BASE_URL": self.base_url,
            "LISTENER_X_CA_FILE": self.ca_file,
            "LISTENER_X_BEARER_TOKEN": token,
            "LISTENER_BLUESKY_ENABLED": "false",
            "LISTENER_INSTAGRAM_ENABLED": "false",
            "LISTENER_RSS_ENABLED": "false",
        }

    def serve_search(self, page: dict[str, Any]) -> None:
        reset = str(int(time.time()) + 900)
        headers = {"x-rate-limit-limit": "450", "x-rate-limit-remaining": "449", "x-rate-limit-reset": reset}
        reply = Reply.json(page, headers=headers)
        self._loop.loop.call_soon_threadsafe(self.server.set_default, reply, SEARCH)

    def searches(self) -> list[Received]:
        async def snapshot() -> list[Received]:
            return self.server.requests_to(SEARCH)

        return self._loop.run(snapshot())

    def __enter__(self) -> FakeX:
        self._loop.run(self.server.start())
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.run(self.server.close())


# --- X API v2 payloads ----------------------------------------------------------------------------------


def x_time(moment: datetime) -> str:
    """X's timestamp format: UTC, milliseconds, Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _hashtags(text: str) -> list[dict[str, Any]]:
    """`entities.hashtags` as X computes them: offsets in code points of the unescaped text."""
    out = []
    start = text.find("#")
    while start != -1:
        end = start + 1
        while end < len(text) and (text[end].isalnum() or text[end] == "_"):
            end += 1
        if end > start + 1:
            out.append({"start": start, "end": end, "tag": text[start + 1 : end]})
        start = text.find("#", end)
    return out


def x_tweet(
    tweet_id: str,
    author_id: str,
    text: str,
    created_at: datetime,
    *,
    lang: str,
    likes: int = 0,
    reply_to: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """One v2 tweet object; `reply_to` is (tweet id, author id) of the tweet it answers."""
    tweet: dict[str, Any] = {
        "id": tweet_id,
        "author_id": author_id,
        # The API sends <, > and & as entities in tweet text (the parser unescapes them).
        "text": html.escape(text, quote=False),
        "created_at": x_time(created_at),
        "lang": lang,
        "conversation_id": reply_to[0] if reply_to else tweet_id,
        "entities": {"hashtags": _hashtags(text)},
        "public_metrics": {
            "retweet_count": likes // 4,
            "reply_count": 1,
            "like_count": likes,
            "quote_count": 0,
            "impression_count": likes * 30,
        },
        "possibly_sensitive": False,
        "reply_settings": "everyone",
        "edit_history_tweet_ids": [tweet_id],
    }
    if reply_to is not None:
        tweet["referenced_tweets"] = [{"type": "replied_to", "id": reply_to[0]}]
        tweet["in_reply_to_user_id"] = reply_to[1]
    return tweet


def x_user(user_id: str, username: str, name: str, followers: int) -> dict[str, Any]:
    return {
        "id": user_id,
        "username": username,
        "name": name,
        "verified": False,
        "protected": False,
        "created_at": "2016-03-02T09:12:44.000Z",
        "public_metrics": {"followers_count": followers, "following_count": 180, "tweet_count": 2400,
                           "listed_count": 3},
    }  # fmt: skip


def x_search_page(tweets: Sequence[dict[str, Any]], users: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A last page of a recent search (no next_token), newest first as X sends it."""
    ordered = sorted(tweets, key=lambda t: int(t["id"]), reverse=True)
    return {
        "data": ordered,
        "includes": {"users": list(users)},
        "meta": {
            "newest_id": ordered[0]["id"],
            "oldest_id": ordered[-1]["id"],
            "result_count": len(ordered),
        },
    }


# --- the campaign site ----------------------------------------------------------------------------------


def _site_app(app_origin: str) -> web.Application:
    """A campaign site that pastes the widget snippet, under a CSP that allows the service and nothing inline."""
    page = (
        "<!doctype html><html lang='fr'><head><meta charset='utf-8'><title>#LoveLocal</title></head><body>"
        "<h1>Nos commerçants à la une</h1>"
        f'<script src="{app_origin}/widget.js" data-campaign="lovelocal" async></script>'
        '<div id="listener-featured"></div></body></html>'
    )
    csp = f"default-src 'none'; script-src {app_origin}; connect-src {app_origin}"

    async def index(request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html", headers={"Content-Security-Policy": csp})

    app = web.Application()
    app.router.add_get("/", index)
    return app


@contextmanager
def campaign_site(loop: BackgroundLoop, app_origin: str) -> Iterator[str]:
    """Serve the campaign site on another loopback port; yields its URL."""
    runner = web.AppRunner(_site_app(app_origin), access_log=None, shutdown_timeout=0.2)

    async def start() -> int:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return int(runner.addresses[0][1])

    port = loop.run(start())
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        loop.run(runner.cleanup())


# --- screenshots ----------------------------------------------------------------------------------------

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_facts(path: Path) -> tuple[int, int, int]:
    """(width, height, distinct byte values of the decompressed image data) of a PNG file.

    Enough to tell a rendered page from a blank one without an imaging library: a uniform image compresses
    to a handful of byte values whatever the row filters, drawn text and colours give dozens.
    """
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC), f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    chunks, position = [], len(PNG_MAGIC)
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        if kind == b"IDAT":
            chunks.append(data[position + 8 : position + 8 + length])
        position += 12 + length  # length, type, data, CRC
    pixels = zlib.decompress(b"".join(chunks))
    return int(width), int(height), len(set(pixels))
