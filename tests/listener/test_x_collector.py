"""XCollector end to end: tweepy's real requests over real TLS to a loopback X, rows in real databases.

The session is the production one (`make_session`): `[sources.x] base_url` sends api.twitter.com's
connections to the fake platform and `[sources.x] ca_file` trusts its test CA, both set through real
Settings. Pages are the recorded twarc search pages, headers the ones tweepy's cassette recorded. Each test
runs on SQLite and PostgreSQL and asserts on the stored rows: posts, authors, checkpoints, quarantine,
and the source's status.
"""

from __future__ import annotations

import copy
import html
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from jobs.collect import SourceResult, collect
from jobs.services import Services
from listener.collectors.x import XCollector
from listener.http import RetryPolicy
from listener.session import X_API_HOST, make_session
from service.settings import Settings
from storage.models import Author, Base, Post, PostCampaign, Quarantine, Source
from storage.repositories import sources as sources_repo
from storage.repositories._sql import utcnow
from storage.repositories.ingest import CheckpointUpdate, load_checkpoint, save_checkpoint
from tests.listener.cassettes import load_cassette
from tests.listener.upstream import Reply, Upstream

pytestmark = pytest.mark.corpora

SEARCH = "/2/tweets/search/recent"
TOKEN = "AAAAAAAAAAAAAAAAAAAAAFakeBearerTokenForTests0123456789abcdefXYZ"
QUERY = "#LoveLocal -giveaway -is:retweet"
CONFIG = """
[campaigns.lovelocal]
name = "#LoveLocal"
hashtags = ["LoveLocal"]
excluded = ["giveaway"]
languages = ["ar", "fr", "en"]
timezone = "Africa/Casablanca"
"""
# Tiny backoff; a one-second budget per attempt so failures end fast.
FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02, timeout=1.0)
TOO_MANY = {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429}
PROBLEM = "application/problem+json"


# --- recorded material ----------------------------------------------------------------------------------


@cache
def _twarc_line(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        page: dict[str, Any] = json.loads(handle.readline())
    page.pop("__twarc", None)  # twarc's own key: the rest is the verbatim API payload
    return page


@pytest.fixture
def twarc(corpora: Path) -> Callable[..., dict[str, Any]]:
    """A recorded search page (a fresh copy), with or without its `meta.next_token`."""

    def load(name: str, *, last: bool = False) -> dict[str, Any]:
        page = copy.deepcopy(_twarc_line(corpora / "twarc-csv-test-data" / f"{name}.jsonl"))
        if last:
            page["meta"].pop("next_token", None)
        return page

    return load


@pytest.fixture
def x_headers(corpora: Path) -> dict[str, str]:
    """The response headers X sent for a recent search (x-rate-limit-*, content-type ...), as recorded."""
    [recorded] = load_cassette(corpora / "tweepy-cassettes" / "test_asyncclient_search_recent_tweets.yaml")
    assert recorded.header("x-rate-limit-limit") == "450"
    return recorded.headers


def stored_ids(page: dict[str, Any]) -> set[str]:
    """What a page stores: its tweets plus the originals of its retweets that the page includes."""
    ids = {t["id"] for t in page.get("data", [])}
    originals = {t["id"] for t in page.get("includes", {}).get("tweets", [])}
    for tweet in page.get("data", []):
        for ref in tweet.get("referenced_tweets", []):
            if ref["type"] == "retweeted" and ref["id"] in originals:
                ids.add(ref["id"])
    return ids


# --- the fake X and the services pointed at it ----------------------------------------------------------


@pytest.fixture
async def x_api(tmp_path: Path) -> AsyncIterator[Upstream]:
    async with Upstream(tls_hostnames=[X_API_HOST], workdir=tmp_path / "tls") as server:
        yield server


@pytest.fixture
def settings(db_url: str, settings_for, x_api: Upstream, tmp_path: Path) -> Settings:  # type: ignore[no-untyped-def]
    """Real Settings: one campaign from a config file, X pointed at the loopback server through env vars."""
    config = tmp_path / "listener.toml"
    config.write_text(CONFIG, encoding="utf-8")
    built: Settings = settings_for(
        db_url,
        LISTENER_CONFIG=str(config),
        LISTENER_X_BASE_URL=x_api.url,
        LISTENER_X_CA_FILE=str(x_api.ca_file),
        LISTENER_X_BEARER_TOKEN=TOKEN,
        # Only X here: no other collector may try its real platform.
        LISTENER_MASTODON_ENABLED="false",
        LISTENER_BLUESKY_ENABLED="false",
        LISTENER_INSTAGRAM_ENABLED="false",
        LISTENER_RSS_ENABLED="false",
    )
    return built


async def run_x(services: Services, policy: RetryPolicy = FAST) -> SourceResult:
    """One collect run of the X source, as the job does it, with a fast retry policy."""
    x = services.settings.sources.x
    async with make_session(services.settings.sources) as http:
        collector = XCollector(x, services.settings.secrets.get("x_bearer_token"), http, policy=policy)
        [result] = await collect(services, collectors=[collector])
    return result


async def source_row(services: Services) -> Source:
    async with services.sessions() as session:
        source = await session.scalar(select(Source).where(Source.name == "x"))
    assert source is not None
    return source


async def checkpoint(services: Services) -> dict[str, Any] | None:
    source = await source_row(services)
    async with services.sessions() as session:
        return await load_checkpoint(session, source.id, services.campaign_ids["lovelocal"], "search/recent")


async def set_checkpoint(services: Services, position: dict[str, Any]) -> None:
    async with services.sessions.begin() as session:
        source = await sources_repo.get_or_create(session, "x", "x")
        update_ = CheckpointUpdate(source.id, services.campaign_ids["lovelocal"], "search/recent", position)
        await save_checkpoint(session, update_)


async def stored_posts(services: Services) -> dict[str, Post]:
    async with services.sessions() as session:
        rows = list((await session.execute(select(Post).where(Post.platform == "x"))).scalars())
    by_id = {p.platform_id: p for p in rows}
    assert len(by_id) == len(rows)
    return by_id


async def quarantined(services: Services) -> list[Quarantine]:
    async with services.sessions() as session:
        return list((await session.execute(select(Quarantine).order_by(Quarantine.id))).scalars())


async def let_the_reset_pass(services: Services) -> None:
    """Time passes: the source's rate-limit window is over (what the next tick after the reset sees)."""
    async with services.sessions.begin() as session:
        await session.execute(
            update(Source).where(Source.name == "x").values(rate_limited_until=utcnow() - timedelta(seconds=1))
        )


def page_reply(page: dict[str, Any], headers: dict[str, str], **extra_headers: str) -> Reply:
    return Reply.json(page, headers={**headers, **extra_headers})


# --- the happy path -------------------------------------------------------------------------------------


async def test_two_pages_then_the_next_run_asks_only_for_newer_tweets(
    services: Services, x_api: Upstream, twarc: Callable[..., dict[str, Any]], x_headers: dict[str, str]
) -> None:
    first, second = twarc("brexit"), twarc("kpop", last=True)
    x_api.script(SEARCH, page_reply(first, x_headers), page_reply(second, x_headers))

    [result] = await collect(services, only="x")  # the production path: registry, make_session, default policy

    assert (result.status, result.pages, result.quarantined) == ("ok", 2, 0)
    expected = stored_ids(first) | stored_ids(second)
    assert result.new == len(expected)
    page1, page2 = x_api.requests_to(SEARCH)
    for request in (page1, page2):
        assert request.headers["Host"] == X_API_HOST
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        assert request.query["query"] == QUERY
        assert request.query["max_results"] == "100"
        expansions = set(request.query["expansions"].split(","))
        assert {"author_id", "referenced_tweets.id", "attachments.media_keys"} <= expansions
        tweet_fields = set(request.query["tweet.fields"].split(","))
        assert {"author_id", "created_at", "public_metrics", "entities", "lang", "referenced_tweets"} <= tweet_fields
        assert {"username", "name", "public_metrics"} <= set(request.query["user.fields"].split(","))
        assert "media.fields" in request.query
        assert "since_id" not in request.query
    assert "next_token" not in page1.query
    assert page2.query["next_token"] == first["meta"]["next_token"]

    posts = await stored_posts(services)
    assert set(posts) == expected
    async with services.sessions() as session:
        authors = {a.platform_id: a for a in (await session.execute(select(Author))).scalars()}
        links = list((await session.execute(select(PostCampaign))).scalars())
    assert len(links) == len(expected)
    assert {link.campaign_id for link in links} == {services.campaign_ids["lovelocal"]}
    for page in (first, second):
        users = {u["id"]: u for u in page["includes"]["users"]}
        for tweet in page["data"]:
            author = authors[tweet["author_id"]]
            assert author.followers == users[tweet["author_id"]]["public_metrics"]["followers_count"]
            assert author.handle == users[tweet["author_id"]]["username"]
            assert posts[tweet["id"]].author_id == author.id
    assert await checkpoint(services) == {"since_id": first["meta"]["newest_id"]}
    assert (await source_row(services)).status == "ok"

    x_api.script(SEARCH, page_reply({"meta": {"result_count": 0}}, x_headers))
    again = await run_x(services)

    assert (again.status, again.new) == ("ok", 0)
    newer = x_api.requests_to(SEARCH)[2]
    assert newer.query["since_id"] == first["meta"]["newest_id"]
    assert "next_token" not in newer.query
    assert newer.query["query"] == QUERY


# --- rate limits ----------------------------------------------------------------------------------------


async def test_429_with_a_reset_stops_the_source_until_that_reset(services: Services, x_api: Upstream) -> None:
    reset = int(time.time()) + 900
    limit_headers = {"x-rate-limit-limit": "450", "x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)}
    x_api.script(SEARCH, Reply.json(TOO_MANY, status=429, headers=limit_headers, content_type=PROBLEM))

    result = await run_x(services)

    assert result.status == "rate_limited"
    source = await source_row(services)
    assert source.status == "rate_limited"
    assert source.rate_limited_until == datetime.fromtimestamp(reset, UTC)
    assert len(x_api.requests) == 1
    assert await checkpoint(services) is None

    second = await run_x(services)

    assert second.status == "skipped"
    assert second.rate_limited_until == datetime.fromtimestamp(reset, UTC)
    assert len(x_api.requests) == 1  # not one more request before the reset


async def test_429_without_reset_headers_waits_a_full_window(services: Services, x_api: Upstream) -> None:
    x_api.script(SEARCH, Reply.json(TOO_MANY, status=429, content_type=PROBLEM))

    before = utcnow()
    result = await run_x(services)
    after = utcnow()

    assert result.status == "rate_limited"
    until = (await source_row(services)).rate_limited_until
    assert until is not None
    slack = timedelta(seconds=1)
    assert before + timedelta(minutes=15) - slack <= until <= after + timedelta(minutes=15) + slack
    assert len(x_api.requests) == 1  # a 429 is never retried within the run


async def test_a_spent_budget_stops_before_the_next_page_and_resumes_there_after_the_reset(
    services: Services, x_api: Upstream, twarc: Callable[..., dict[str, Any]], x_headers: dict[str, str]
) -> None:
    first, second = twarc("brexit"), twarc("kpop", last=True)
    reset = int(time.time()) + 600
    x_api.script(
        SEARCH, page_reply(first, x_headers, **{"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)})
    )

    result = await run_x(services)

    assert (result.status, result.pages) == ("rate_limited", 1)
    assert len(x_api.requests) == 1  # page 2 was not asked for
    source = await source_row(services)
    assert (source.status, source.rate_limited_until) == ("rate_limited", datetime.fromtimestamp(reset, UTC))
    assert await checkpoint(services) == {
        "since_id": None,
        "next_token": first["meta"]["next_token"],
        "run_newest_id": first["meta"]["newest_id"],
    }
    assert set(await stored_posts(services)) == stored_ids(first)

    await let_the_reset_pass(services)
    x_api.script(SEARCH, page_reply(second, x_headers))
    resumed = await run_x(services)

    assert (resumed.status, resumed.pages) == ("ok", 1)
    request = x_api.requests[1]
    assert request.query["next_token"] == first["meta"]["next_token"]
    assert "since_id" not in request.query
    assert set(await stored_posts(services)) == stored_ids(first) | stored_ids(second)
    assert await checkpoint(services) == {"since_id": first["meta"]["newest_id"]}


async def test_a_429_with_an_html_body_is_still_a_rate_limit(services: Services, x_api: Upstream) -> None:
    reset = int(time.time()) + 300
    limit_headers = {"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)}
    html_429 = Reply(status=429, body="<html><body>Too Many Requests</body></html>", headers=limit_headers)
    x_api.set_default(replace(html_429, content_type="text/html"), SEARCH)

    result = await run_x(services)

    assert result.status == "rate_limited"
    assert (await source_row(services)).rate_limited_until == datetime.fromtimestamp(reset, UTC)
    assert len(x_api.requests) == 1  # not retried into the limit


# --- server errors, timeouts and dropped connections -----------------------------------------------------


# tweepy 4.17 calls aiohttp's json() coroutine requests-style on such an answer and never awaits it.
@pytest.mark.filterwarnings("ignore:coroutine 'ClientResponse.json' was never awaited:RuntimeWarning")
async def test_an_error_answer_with_an_empty_body_is_retried_then_degraded(services: Services, x_api: Upstream) -> None:
    x_api.set_default(Reply(status=503, body=b""), SEARCH)  # JSON content type, no JSON at all

    result = await run_x(services)

    assert result.status == "degraded"
    assert len(x_api.requests) == FAST.attempts
    assert (await source_row(services)).status == "degraded"


async def test_500_then_503_then_200_succeeds_after_retries(
    services: Services, x_api: Upstream, twarc: Callable[..., dict[str, Any]], x_headers: dict[str, str]
) -> None:
    page = twarc("brexit", last=True)
    x_api.script(
        SEARCH,
        Reply.json({"title": "Internal Server Error", "status": 500}, status=500, content_type=PROBLEM),
        Reply(status=503, body="<html><body>Service Unavailable</body></html>", content_type="text/html"),
        page_reply(page, x_headers),
    )

    result = await run_x(services)

    assert (result.status, result.new) == ("ok", len(stored_ids(page)))
    requests = x_api.requests_to(SEARCH)
    assert len(requests) == 3
    assert all(r.params == requests[0].params for r in requests)
    assert set(await stored_posts(services)) == stored_ids(page)
    assert await checkpoint(services) == {"since_id": page["meta"]["newest_id"]}


async def test_a_source_that_always_answers_503_is_degraded_and_keeps_its_checkpoint(
    services: Services, x_api: Upstream, twarc: Callable[..., dict[str, Any]], x_headers: dict[str, str]
) -> None:
    page = twarc("brexit", last=True)
    x_api.script(SEARCH, page_reply(page, x_headers))
    assert (await run_x(services)).status == "ok"
    before = await checkpoint(services)
    x_api.set_default(Reply.json({"title": "Service Unavailable", "status": 503}, status=503), SEARCH)

    result = await run_x(services)

    assert result.status == "degraded"
    assert result.detail is not None
    assert "HTTP 503" in result.detail
    assert len(x_api.requests) == 1 + FAST.attempts
    assert x_api.requests[1].query["since_id"] == page["meta"]["newest_id"]
    source = await source_row(services)
    assert (source.status, source.rate_limited_until) == ("degraded", None)
    assert await checkpoint(services) == before == {"since_id": page["meta"]["newest_id"]}


async def test_a_reply_slower_than_the_timeout_is_retried_then_degraded(
    services: Services, x_api: Upstream, twarc: Callable[..., dict[str, Any]], x_headers: dict[str, str]
) -> None:
    x_api.set_default(replace(page_reply(twarc("brexit", last=True), x_headers), delay=3.0), SEARCH)
    policy = replace(FAST, timeout=0.3)

    result = await run_x(services, policy)

    assert result.status == "degraded"  # without a timeout of its own, the session would wait the 3 s out
    assert result.detail is not None
    assert "TimeoutError" in result.detail
    assert len(x_api.requests) == policy.attempts
    assert await stored_posts(services) == {}
    assert await checkpoint(services) is None


async def test_a_crash_between_pages_keeps_page_one_and_the_next_run_resumes_with_page_two(
    services: Services, x_api: Upstream, twarc: Callable[..., dict[str, Any]], x_headers: dict[str, str]
) -> None:
    first, second = twarc("brexit"), twarc("kpop", last=True)
    x_api.script(SEARCH, page_reply(first, x_headers))
    x_api.set_default(Reply.dropped(), SEARCH)  # page 2: the connection drops, every time

    result = await run_x(services)

    assert (result.status, result.pages) == ("degraded", 1)
    retries = x_api.requests[1:]
    assert len(retries) >= FAST.attempts
    assert all(r.query["next_token"] == first["meta"]["next_token"] for r in retries)
    assert set(await stored_posts(services)) == stored_ids(first)
    assert await checkpoint(services) == {
        "since_id": None,
        "next_token": first["meta"]["next_token"],
        "run_newest_id": first["meta"]["newest_id"],
    }

    seen = len(x_api.requests)
    x_api.script(SEARCH, page_reply(second, x_headers))
    resumed = await run_x(services)

    assert (resumed.status, resumed.pages, resumed.new) == ("ok", 1, len(stored_ids(second) - stored_ids(first)))
    assert x_api.requests[seen].query["next_token"] == first["meta"]["next_token"]
    assert len(x_api.requests) == seen + 1
    posts = await stored_posts(services)
    assert set(posts) == stored_ids(first) | stored_ids(second)
    async with services.sessions() as session:
        links = list((await session.execute(select(PostCampaign))).scalars())
    assert len(links) == len(posts)  # each tweet stored and linked exactly once
    assert await checkpoint(services) == {"since_id": first["meta"]["newest_id"]}


# --- unreadable payloads --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["truncated-json", "html-200"])
async def test_an_unreadable_page_is_quarantined_and_the_next_run_retries_it(
    services: Services,
    x_api: Upstream,
    twarc: Callable[..., dict[str, Any]],
    x_headers: dict[str, str],
    kind: str,
) -> None:
    first, second = twarc("brexit"), twarc("kpop", last=True)
    if kind == "truncated-json":
        whole = json.dumps(second, ensure_ascii=False).encode()
        bad = Reply(body=whole[: len(whole) // 2], headers=x_headers)
    else:
        bad = Reply(body="<!DOCTYPE html><html><body><h1>Over capacity</h1></body></html>", content_type="text/html")
    x_api.script(SEARCH, page_reply(first, x_headers), bad)

    result = await run_x(services)

    assert (result.status, result.pages, result.quarantined) == ("degraded", 2, 1)
    [row] = await quarantined(services)
    assert (row.source, row.platform) == ("x", "x")
    assert row.payload == bad.payload().decode("utf-8", "replace")  # cut inside a character, kept visible
    assert "not valid JSON" in row.error
    assert (await source_row(services)).status == "degraded"
    stuck = {
        "since_id": None,
        "next_token": first["meta"]["next_token"],
        "run_newest_id": first["meta"]["newest_id"],
    }
    assert await checkpoint(services) == stuck  # not advanced past the unreadable page
    assert set(await stored_posts(services)) == stored_ids(first)

    x_api.script(SEARCH, page_reply(second, x_headers))
    retried = await run_x(services)

    assert retried.status == "ok"
    failed_request, retry_request = x_api.requests[1], x_api.requests[2]
    assert retry_request.params == failed_request.params
    assert retry_request.query["next_token"] == first["meta"]["next_token"]
    assert set(await stored_posts(services)) == stored_ids(first) | stored_ids(second)
    assert len(await quarantined(services)) == 1


async def test_a_malformed_tweet_is_quarantined_and_the_rest_of_its_page_stored(
    services: Services, x_api: Upstream, twarc: Callable[..., dict[str, Any]], x_headers: dict[str, str]
) -> None:
    page = twarc("brexit", last=True)
    included = {t["id"] for t in page["includes"]["tweets"]}
    broken = next(t for t in page["data"] if "referenced_tweets" not in t and t["id"] not in included)
    del broken["author_id"]
    x_api.script(SEARCH, page_reply(page, x_headers))

    result = await run_x(services)

    assert (result.status, result.quarantined) == ("ok", 1)
    [row] = await quarantined(services)
    assert json.loads(row.payload) == broken
    assert "author_id" in row.error
    assert broken["id"] in row.error
    assert set(await stored_posts(services)) == stored_ids(page) - {broken["id"]}
    assert await checkpoint(services) == {"since_id": page["meta"]["newest_id"]}


async def test_an_empty_page_stores_nothing_and_keeps_since_id(
    services: Services, x_api: Upstream, twarc: Callable[..., dict[str, Any]], x_headers: dict[str, str]
) -> None:
    page = twarc("brexit", last=True)
    x_api.script(SEARCH, page_reply(page, x_headers), page_reply({"meta": {"result_count": 0}}, x_headers))
    await run_x(services)

    result = await run_x(services)

    assert (result.status, result.pages, result.new, result.quarantined) == ("ok", 1, 0, 0)
    assert x_api.requests[1].query["since_id"] == page["meta"]["newest_id"]
    assert await checkpoint(services) == {"since_id": page["meta"]["newest_id"]}
    assert len(await stored_posts(services)) == len(stored_ids(page))
    assert (await source_row(services)).status == "ok"


# --- credentials ----------------------------------------------------------------------------------------


async def test_401_fails_the_source_naming_the_variable_and_never_leaks_the_token(
    services: Services, x_api: Upstream, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    unauthorized = {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}
    x_api.script(SEARCH, Reply.json(unauthorized, status=401, content_type=PROBLEM))

    result = await run_x(services)

    assert result.status == "failed"
    assert result.detail is not None
    assert "LISTENER_X_BEARER_TOKEN" in result.detail
    source = await source_row(services)
    assert source.status == "failed"
    assert source.status_detail is not None
    assert "LISTENER_X_BEARER_TOKEN" in source.status_detail
    [request] = x_api.requests
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"  # it was sent, so it could have leaked
    assert caplog.records
    for record in caplog.records:
        assert TOKEN not in record.getMessage(), record.name
        assert TOKEN not in (record.exc_text or ""), record.name
    assert TOKEN not in caplog.text
    async with services.sessions() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(select(table))).all():
                assert TOKEN not in repr(tuple(row)), table.name


# --- text fidelity --------------------------------------------------------------------------------------


async def test_arabic_and_emoji_text_is_stored_byte_for_byte(
    services: Services, x_api: Upstream, twarc: Callable[..., dict[str, Any]], x_headers: dict[str, str]
) -> None:
    page = twarc("media_policy_violation_off", last=True)
    x_api.script(SEARCH, page_reply(page, x_headers))

    assert (await run_x(services)).status == "ok"

    posts = await stored_posts(services)
    arabic = [t for t in page["data"] if t["lang"] == "ar"]
    emoji = [t for t in page["data"] if any(ord(c) > 0xFFFF for c in t["text"])]
    assert len(arabic) == 10
    assert emoji
    for tweet in arabic + emoji:
        stored = posts[tweet["id"]]
        assert stored.text.encode("utf-8") == html.unescape(tweet["text"]).encode("utf-8"), tweet["id"]
    assert {posts[t["id"]].language_hint for t in arabic} == {"ar"}


# --- pagination tokens ----------------------------------------------------------------------------------


async def test_an_expired_next_token_restarts_the_run_from_since_id(
    services: Services, x_api: Upstream, twarc: Callable[..., dict[str, Any]], x_headers: dict[str, str]
) -> None:
    since = "1440700000000000000"
    await set_checkpoint(services, {"since_id": since, "next_token": "expired-token", "run_newest_id": "1440710000"})
    refused = {
        "errors": [
            {
                "parameters": {"next_token": ["expired-token"]},
                "message": "The `next_token` query parameter value [expired-token] is not one of [...]",
            }
        ],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request",
    }
    page = twarc("kpop", last=True)
    x_api.script(SEARCH, Reply.json(refused, status=400, content_type=PROBLEM), page_reply(page, x_headers))

    result = await run_x(services)

    assert (result.status, result.pages) == ("ok", 1)
    stale, fresh = x_api.requests_to(SEARCH)
    assert (stale.query["next_token"], stale.query["since_id"]) == ("expired-token", since)
    assert "next_token" not in fresh.query
    assert fresh.query["since_id"] == since
    assert set(await stored_posts(services)) == stored_ids(page)
    assert await checkpoint(services) == {"since_id": page["meta"]["newest_id"]}
