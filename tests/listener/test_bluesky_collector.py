"""BlueskyCollector end to end: an app-password session and searchPosts on a loopback PDS replaying bskyr's
recorded bsky.social answers (f_search: 25 posts and a cursor; f_getposts: one post), rows in real
databases (SQLite and PostgreSQL).

The session answers are written in the shape com.atproto.server.createSession / refreshSession return
(the recordings hold none: their authentication was not recorded); error bodies are XRPC's
`{"error", "message"}`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from jobs.collect import SourceResult, collect
from jobs.services import Services
from listener.collectors.bluesky import BlueskyCollector
from listener.http import RetryPolicy
from listener.session import make_session
from service.settings import Settings
from storage.models import Base, Post, Quarantine, Source
from storage.repositories._sql import utcnow
from storage.repositories.ingest import load_checkpoint
from tests.listener.cassettes import Recorded, load_cassette
from tests.listener.upstream import Reply, Upstream

pytestmark = pytest.mark.corpora

CREATE = "/xrpc/com.atproto.server.createSession"
REFRESH = "/xrpc/com.atproto.server.refreshSession"
SEARCH = "/xrpc/app.bsky.feed.searchPosts"
HANDLE = "lovelocal-listener.bsky.social"
PASSWORD = "abcd-efgh-ijkl-mnop"  # an app password's shape
DID = "did:plc:z72i7hdynmk6r22z27h6tvur"
CONFIG = """
[campaigns.redistricting]
name = "Redistricting"
hashtags = ["redistricting"]
languages = ["en"]
"""
TERM = "#redistricting"
KEY = f"search:{TERM}"
FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02, timeout=1.0)
EXPIRED = {"error": "ExpiredToken", "message": "Token has expired"}


def session_reply(n: int) -> Reply:
    """createSession / refreshSession: the account and a fresh token pair (the n-th one)."""
    return Reply.json(
        {
            "did": DID,
            "handle": HANDLE,
            "email": "listener@example.org",
            "emailConfirmed": True,
            "accessJwt": access(n),
            "refreshJwt": refresh(n),
            "active": True,
        }
    )


def access(n: int) -> str:
    return f"eyJ0eXAiOiJhdCtqd3QiLCJhbGciOiJFUzI1NksifQ.access-{n}.sig"


def refresh(n: int) -> str:
    return f"eyJ0eXAiOiJyZWZyZXNoK2p3dCIsImFsZyI6IkVTMjU2SyJ9.refresh-{n}.sig"


# --- recorded material ----------------------------------------------------------------------------------


@cache
def _recorded(path: Path) -> Recorded:
    [item] = load_cassette(path)
    return item


@pytest.fixture
def search_page(corpora: Path) -> Recorded:
    """searchPosts?q=redistricting as bsky.social answered: 25 posts, cursor "25", RateLimit-* headers."""
    return _recorded(corpora / "bskyr-vcr" / "f_search.yml")


@pytest.fixture
def last_page(corpora: Path) -> Recorded:
    """One more post (getPosts answers in the same shape), and no cursor: the last page."""
    return _recorded(corpora / "bskyr-vcr" / "f_getposts.yml")


def without_cursor(recorded: Recorded) -> Reply:
    data = recorded.json()
    data.pop("cursor", None)
    return Reply.json(data, headers=recorded.headers)


def uris(recorded: Recorded) -> set[str]:
    return {p["uri"] for p in recorded.json()["posts"]}


def newest_indexed(*pages: Recorded) -> str:
    return max(p["indexedAt"] for page in pages for p in page.json()["posts"])


# --- the fake PDS and the services pointed at it --------------------------------------------------------


@pytest.fixture
async def pds() -> AsyncIterator[Upstream]:
    async with Upstream() as server:
        yield server


@pytest.fixture
def settings(db_url: str, settings_for, pds: Upstream, tmp_path: Path) -> Settings:  # type: ignore[no-untyped-def]
    config = tmp_path / "listener.toml"
    config.write_text(CONFIG, encoding="utf-8")
    built: Settings = settings_for(
        db_url,
        LISTENER_CONFIG=str(config),
        LISTENER_BLUESKY_BASE_URL=pds.url,
        LISTENER_BLUESKY_HANDLE=HANDLE,
        LISTENER_BLUESKY_APP_PASSWORD=PASSWORD,
        LISTENER_BLUESKY_BACKFILL_PAGES="5",
        LISTENER_X_ENABLED="false",
        LISTENER_MASTODON_ENABLED="false",
        LISTENER_INSTAGRAM_ENABLED="false",
        LISTENER_RSS_ENABLED="false",
    )
    return built


async def run_bluesky(services: Services) -> SourceResult:
    settings = services.settings
    async with make_session(settings.sources) as http:
        collector = BlueskyCollector(
            settings.sources.bluesky, settings.secrets.get("bluesky_app_password"), http, policy=FAST
        )
        [result] = await collect(services, collectors=[collector])
    return result


async def source_row(services: Services) -> Source:
    async with services.sessions() as session:
        source = await session.scalar(select(Source).where(Source.name == "bluesky"))
    assert source is not None
    return source


async def checkpoint(services: Services) -> dict[str, Any] | None:
    source = await source_row(services)
    async with services.sessions() as session:
        return await load_checkpoint(session, source.id, services.campaign_ids["redistricting"], KEY)


async def stored(services: Services) -> dict[str, Post]:
    async with services.sessions() as session:
        rows = list((await session.execute(select(Post).where(Post.platform == "bluesky"))).scalars())
    return {p.platform_id: p for p in rows}


async def assert_no_secret_stored(services: Services, *secrets: str) -> None:
    async with services.sessions() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(select(table))).all():
                for secret in secrets:
                    assert secret not in repr(tuple(row)), table.name


# --- session and paging ---------------------------------------------------------------------------------


async def test_login_then_cursor_pages_then_the_next_run_asks_since(
    services: Services, pds: Upstream, search_page: Recorded, last_page: Recorded, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    pds.script(CREATE, Reply.json({"error": "InternalServerError"}, status=502), session_reply(1))
    pds.script(SEARCH, Reply.recorded(search_page), Reply.recorded(last_page))

    result = await run_bluesky(services)

    assert (result.status, result.pages, result.quarantined) == ("ok", 2, 0)
    expected = uris(search_page) | uris(last_page)
    assert result.new == len(expected) == 26
    failed, login = pds.requests_to(CREATE)
    assert failed.body == login.body  # the same login, retried after the 502
    assert login.method == "POST"
    assert json.loads(login.body) == {"identifier": HANDLE, "password": PASSWORD}
    assert "Authorization" not in login.headers
    first, second = pds.requests_to(SEARCH)
    for request in (first, second):
        assert request.headers["Authorization"] == f"Bearer {access(1)}"
        assert (request.query["q"], request.query["sort"], request.query["limit"]) == (TERM, "latest", "100")
        assert "since" not in request.query
    assert "cursor" not in first.query
    assert second.query["cursor"] == "25"

    posts = await stored(services)
    assert set(posts) == expected
    view = search_page.json()["posts"][0]
    post = posts[view["uri"]]
    assert post.text == view["record"]["text"]
    assert post.query == TERM
    assert await checkpoint(services) == {"since": newest_indexed(search_page, last_page)}
    assert (await source_row(services)).status == "ok"
    # The attempt that failed was logged; the password never is, nor stored anywhere.
    assert any("createSession" in r.getMessage() for r in caplog.records)
    assert PASSWORD not in caplog.text
    for record in caplog.records:
        assert PASSWORD not in record.getMessage()
        assert PASSWORD not in repr(record.args)
    await assert_no_secret_stored(services, PASSWORD, access(1), refresh(1))

    pds.script(CREATE, session_reply(2))
    pds.script(SEARCH, Reply.json({"posts": []}, headers=search_page.headers))
    again = await run_bluesky(services)

    assert (again.status, again.new) == ("ok", 0)
    newer = pds.requests_to(SEARCH)[2]
    assert newer.query["since"] == newest_indexed(search_page, last_page)
    assert "cursor" not in newer.query
    assert newer.headers["Authorization"] == f"Bearer {access(2)}"
    assert await checkpoint(services) == {"since": newest_indexed(search_page, last_page)}


async def test_backfill_stops_after_backfill_pages_even_with_a_cursor(
    services: Services, pds: Upstream, search_page: Recorded
) -> None:
    pds.script(CREATE, session_reply(1))
    pds.set_default(Reply.recorded(search_page), SEARCH)  # always another cursor

    result = await run_bluesky(services)

    assert (result.status, result.pages) == ("ok", services.settings.sources.bluesky.backfill_pages)
    assert len(pds.requests_to(SEARCH)) == 5
    assert result.new == 25  # the same page five times: stored once
    assert await checkpoint(services) == {"since": newest_indexed(search_page)}


async def test_an_expired_access_token_is_refreshed_and_the_search_retried(
    services: Services, pds: Upstream, search_page: Recorded
) -> None:
    pds.script(CREATE, session_reply(1))
    pds.script(SEARCH, Reply.json(EXPIRED, status=400), without_cursor(search_page))
    pds.script(REFRESH, session_reply(2))

    result = await run_bluesky(services)

    assert (result.status, result.new) == ("ok", 25)
    expired, retried = pds.requests_to(SEARCH)
    assert expired.headers["Authorization"] == f"Bearer {access(1)}"
    [renewal] = pds.requests_to(REFRESH)
    assert renewal.method == "POST"
    assert renewal.headers["Authorization"] == f"Bearer {refresh(1)}"  # the refresh token, not the access one
    assert retried.headers["Authorization"] == f"Bearer {access(2)}"
    assert retried.params == expired.params
    assert len(pds.requests_to(CREATE)) == 1  # no second login needed
    assert set(await stored(services)) == uris(search_page)


async def test_a_refused_refresh_creates_a_new_session(
    services: Services, pds: Upstream, search_page: Recorded
) -> None:
    pds.script(CREATE, session_reply(1), session_reply(3))
    pds.script(SEARCH, Reply.json(EXPIRED, status=400), without_cursor(search_page))
    pds.script(REFRESH, Reply.json({"error": "ExpiredToken", "message": "Refresh token has expired"}, status=400))

    result = await run_bluesky(services)

    assert (result.status, result.new) == ("ok", 25)
    assert len(pds.requests_to(REFRESH)) == 1
    first_login, second_login = pds.requests_to(CREATE)
    assert json.loads(second_login.body) == json.loads(first_login.body) == {"identifier": HANDLE, "password": PASSWORD}
    assert pds.requests_to(SEARCH)[-1].headers["Authorization"] == f"Bearer {access(3)}"


async def test_a_wrong_app_password_fails_the_source_naming_the_variable(
    services: Services, pds: Upstream, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    refused = {"error": "AuthenticationRequired", "message": "Invalid identifier or password"}
    pds.script(CREATE, Reply.json(refused, status=401))

    result = await run_bluesky(services)

    assert result.status == "failed"
    assert result.detail is not None
    assert "LISTENER_BLUESKY_APP_PASSWORD" in result.detail
    source = await source_row(services)
    assert source.status == "failed"
    assert source.status_detail is not None
    assert "LISTENER_BLUESKY_APP_PASSWORD" in source.status_detail
    assert pds.requests_to(SEARCH) == []
    assert len(pds.requests_to(CREATE)) == 1  # refused credentials are not retried
    assert caplog.records  # the failure was logged ...
    assert PASSWORD not in caplog.text  # ... without the password
    await assert_no_secret_stored(services, PASSWORD)


# --- rate limits ----------------------------------------------------------------------------------------


async def test_ratelimit_headers_stop_before_the_next_page_and_the_run_resumes_at_the_cursor(
    services: Services, pds: Upstream, search_page: Recorded, last_page: Recorded
) -> None:
    reset = int(time.time()) + 300
    spent = {**search_page.headers, "RateLimit-Remaining": "0", "RateLimit-Reset": str(reset)}
    pds.script(CREATE, session_reply(1))
    pds.script(SEARCH, Reply(body=search_page.body, headers=spent))

    result = await run_bluesky(services)

    assert (result.status, result.pages, result.new) == ("rate_limited", 1, 25)
    assert len(pds.requests_to(SEARCH)) == 1
    source = await source_row(services)
    assert (source.status, source.rate_limited_until) == ("rate_limited", datetime.fromtimestamp(reset, UTC))
    assert await checkpoint(services) == {
        "since": None,
        "cursor": "25",
        "run_newest": newest_indexed(search_page),
        "pages": 1,
    }

    async with services.sessions.begin() as session:
        await session.execute(
            update(Source).where(Source.name == "bluesky").values(rate_limited_until=utcnow() - timedelta(seconds=1))
        )
    pds.script(CREATE, session_reply(2))
    pds.script(SEARCH, Reply.recorded(last_page))
    resumed = await run_bluesky(services)

    assert (resumed.status, resumed.new) == ("ok", 1)
    request = pds.requests_to(SEARCH)[1]
    assert request.query["cursor"] == "25"
    assert "since" not in request.query
    assert await checkpoint(services) == {"since": newest_indexed(search_page, last_page)}


async def test_429_marks_the_source_rate_limited_until_ratelimit_reset(
    services: Services, pds: Upstream, search_page: Recorded
) -> None:
    reset = int(time.time()) + 120
    pds.script(CREATE, session_reply(1))
    pds.script(
        SEARCH,
        Reply.json(
            {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
            status=429,
            headers={"RateLimit-Limit": "3000", "RateLimit-Remaining": "0", "RateLimit-Reset": str(reset),
                     "RateLimit-Policy": "3000;w=300"},
        ),
    )  # fmt: skip

    result = await run_bluesky(services)

    assert result.status == "rate_limited"
    assert (await source_row(services)).rate_limited_until == datetime.fromtimestamp(reset, UTC)
    assert len(pds.requests_to(SEARCH)) == 1
    assert await stored(services) == {}


# --- unreadable answers ---------------------------------------------------------------------------------


async def test_an_unreadable_search_answer_is_quarantined(services: Services, pds: Upstream) -> None:
    page = "<html><body>502 Bad Gateway</body></html>"
    pds.script(CREATE, session_reply(1))
    pds.script(SEARCH, Reply(body=page, content_type="text/html"))

    result = await run_bluesky(services)

    assert (result.status, result.quarantined) == ("degraded", 1)
    async with services.sessions() as session:
        [row] = list((await session.execute(select(Quarantine))).scalars())
    assert (row.source, row.payload) == ("bluesky", page)
    assert "not valid JSON" in row.error
    assert await stored(services) == {}
