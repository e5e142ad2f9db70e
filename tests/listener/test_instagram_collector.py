"""InstagramCollector end to end: a loopback Graph API replaying python-facebook's recorded hashtag answers
(ig_hashtag_search, recent_media p1/p2, top_media p1/p2), rows in real databases (SQLite and PostgreSQL).

The recorded `paging.next` links carry `access_token=access_token` (the recording's placeholder); here
they carry the test token, as Meta echoes the caller's token there: it must still never be stored, shown in
a source's status or logged. Graph API errors are written in Meta's `{"error": {message, type, code}}`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from jobs.collect import SourceResult, collect
from jobs.services import Services
from listener.collectors.instagram import HASHTAG_BUDGET, InstagramCollector
from listener.http import RetryPolicy
from listener.parsers.instagram import MEDIA_FIELDS
from listener.session import make_session
from service.settings import Settings
from storage.models import Base, Post, Quarantine, Source
from storage.repositories.ingest import load_checkpoint
from tests.listener.upstream import Reply, Upstream

pytestmark = pytest.mark.corpora

TOKEN = "EAAGm0PX4ZCpsBAFakeInstagramTokenForTests0123456789abcdefZZZ"
ACCOUNT = "17841406338772941"
HASHTAG_ID = "17841562426109234"
SEARCH = "/v21.0/ig_hashtag_search"
RECENT = f"/v21.0/{HASHTAG_ID}/recent_media"
TOP = f"/v21.0/{HASHTAG_ID}/top_media"
FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02, timeout=1.0)


def config(*hashtags: str) -> str:
    return f"""
[campaigns.devs]
name = "Developers"
hashtags = {json.dumps(list(hashtags))}
languages = ["en"]
"""


# --- recorded material ----------------------------------------------------------------------------------


@pytest.fixture
def graph(corpora: Path):  # type: ignore[no-untyped-def]
    """A recorded Graph API answer by file name, with Meta echoing our token in `paging.next`."""

    def load(name: str) -> dict[str, Any]:
        text = (corpora / "python-facebook-instagram" / f"{name}.json").read_text(encoding="utf-8")
        data: dict[str, Any] = json.loads(text.replace("access_token=access_token", f"access_token={TOKEN}"))
        return data

    return load


def ids(*pages: dict[str, Any]) -> set[str]:
    return {m["id"] for page in pages for m in page["data"]}


# --- the fake Graph API and the services pointed at it --------------------------------------------------


@pytest.fixture
async def meta() -> AsyncIterator[Upstream]:
    async with Upstream() as server:
        yield server


def instagram_env(tmp_path: Path, server: Upstream, *hashtags: str, **env: str) -> dict[str, str]:
    path = tmp_path / "listener.toml"
    path.write_text(config(*(hashtags or ("developers",))), encoding="utf-8")
    return {
        "LISTENER_CONFIG": str(path),
        "LISTENER_INSTAGRAM_BASE_URL": f"{server.url}/v21.0",
        "LISTENER_INSTAGRAM_BUSINESS_ACCOUNT_ID": ACCOUNT,
        "LISTENER_INSTAGRAM_ACCESS_TOKEN": TOKEN,
        "LISTENER_X_ENABLED": "false",
        "LISTENER_MASTODON_ENABLED": "false",
        "LISTENER_BLUESKY_ENABLED": "false",
        "LISTENER_RSS_ENABLED": "false",
        **env,
    }


@pytest.fixture
def settings(db_url: str, settings_for, meta: Upstream, tmp_path: Path) -> Settings:  # type: ignore[no-untyped-def]
    built: Settings = settings_for(db_url, **instagram_env(tmp_path, meta))
    return built


@pytest.fixture
def services_with(services: Services, settings_for, db_url: str, tmp_path: Path, meta: Upstream):  # type: ignore[no-untyped-def]
    """The same database, other settings (more hashtags, top media on)."""
    from storage.repositories.campaigns import sync_campaigns

    async def build(*hashtags: str, **env: str) -> Services:
        settings: Settings = settings_for(db_url, **instagram_env(tmp_path, meta, *hashtags, **env))
        async with services.sessions.begin() as session:
            campaign_ids = await sync_campaigns(session, settings.campaigns)
        return Services(
            settings=settings, engine=services.engine, sessions=services.sessions, campaign_ids=campaign_ids
        )

    return build


async def run_instagram(services: Services) -> SourceResult:
    settings = services.settings
    hashtags = [tag for campaign in settings.campaigns.values() for tag in campaign.hashtags]
    async with make_session(settings.sources) as http:
        collector = InstagramCollector(
            settings.sources.instagram, settings.secrets.get("instagram_access_token"), http, hashtags, policy=FAST
        )
        [result] = await collect(services, collectors=[collector])
    return result


async def source_row(services: Services) -> Source:
    async with services.sessions() as session:
        source = await session.scalar(select(Source).where(Source.name == "instagram"))
    assert source is not None
    return source


async def checkpoint(services: Services, key: str) -> dict[str, Any] | None:
    source = await source_row(services)
    async with services.sessions() as session:
        return await load_checkpoint(session, source.id, services.campaign_ids["devs"], key)


async def stored(services: Services) -> dict[str, Post]:
    async with services.sessions() as session:
        rows = list((await session.execute(select(Post).where(Post.platform == "instagram"))).scalars())
    return {p.platform_id: p for p in rows}


async def assert_token_nowhere(services: Services, caplog: pytest.LogCaptureFixture) -> None:
    async with services.sessions() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(select(table))).all():
                assert TOKEN not in repr(tuple(row)), table.name
    source = await source_row(services)
    assert TOKEN not in (source.status_detail or "")
    for record in caplog.records:
        assert TOKEN not in record.getMessage(), record.name
        assert TOKEN not in (record.exc_text or "")
    assert TOKEN not in caplog.text


# --- recent media ---------------------------------------------------------------------------------------


async def test_hashtag_search_then_recent_media_pages_and_the_token_is_never_kept(
    services: Services,
    meta: Upstream,
    graph,
    caplog: pytest.LogCaptureFixture,  # type: ignore[no-untyped-def]
) -> None:
    caplog.set_level(logging.DEBUG)
    p1, p2 = graph("hashtag_recent_medias_p1"), graph("hashtag_recent_medias_p2")
    assert TOKEN in json.dumps(p1)  # Meta echoes it; we must not keep it
    meta.script(SEARCH, Reply.json(graph("hashtag_search")))
    meta.script(RECENT, Reply.json({"error": {"message": "Service temporarily unavailable", "code": 2}}, status=503),
                Reply.json(p1), Reply.json(p2))  # fmt: skip

    result = await run_instagram(services)

    assert (result.status, result.pages, result.quarantined) == ("ok", 2, 0)
    assert result.new == len(ids(p1, p2)) == 10
    [search] = meta.requests_to(SEARCH)
    assert search.params == {"user_id": ACCOUNT, "access_token": TOKEN, "q": "developers"}
    failed, first, second = meta.requests_to(RECENT)
    for request in (failed, first, second):
        assert request.query["fields"] == MEDIA_FIELDS
        assert "timestamp" in request.query["fields"].split(",")
        assert (request.query["user_id"], request.query["access_token"]) == (ACCOUNT, TOKEN)
        assert request.query["limit"] == "50"
    assert "after" not in first.query
    assert second.query["after"] == p1["paging"]["cursors"]["after"]
    assert meta.requests_to(TOP) == []  # top media is off unless enabled

    posts = await stored(services)
    assert set(posts) == ids(p1, p2)
    for item in p1["data"] + p2["data"]:
        post = posts[item["id"]]
        assert (post.likes, post.replies) == (item["like_count"], item["comments_count"])
        assert post.query == "#developers"
        assert post.raw is not None
        assert post.raw["_created_at_is_seen_at"] is True
    async with services.sessions() as session:
        from storage.models import Author

        authors = list((await session.execute(select(Author).where(Author.platform == "instagram"))).scalars())
    assert len(authors) == 10
    assert all(a.platform_id.startswith("unknown:") and a.followers is None for a in authors)
    assert await checkpoint(services, "recent_media#developers") == {"hashtag_id": HASHTAG_ID}
    assert any("503" in r.getMessage() for r in caplog.records)  # the retried failure was logged
    await assert_token_nowhere(services, caplog)

    meta.script(RECENT, Reply.json(p2))
    again = await run_instagram(services)

    assert (again.status, again.new) == ("ok", 0)
    assert len(meta.requests_to(SEARCH)) == 1  # the hashtag id comes from the checkpoint
    assert "after" not in meta.requests_to(RECENT)[-1].query  # the last 24 hours, read again from the top


async def test_top_media_is_read_only_when_enabled(services_with, meta: Upstream, graph) -> None:  # type: ignore[no-untyped-def]
    services = await services_with("developers", LISTENER_INSTAGRAM_TOP_MEDIA="true")
    recent1, recent2 = graph("hashtag_recent_medias_p1"), graph("hashtag_recent_medias_p2")
    top1, top2 = graph("hashtag_top_medias_p1"), graph("hashtag_top_medias_p2")
    meta.set_default(Reply.json(graph("hashtag_search")), SEARCH)
    meta.script(RECENT, Reply.json(recent1), Reply.json(recent2))
    meta.script(TOP, Reply.json(top1), Reply.json(top2))

    result = await run_instagram(services)

    assert (result.status, result.pages) == ("ok", 4)
    first, second = meta.requests_to(TOP)
    assert "after" not in first.query
    assert second.query["after"] == "after"
    assert first.query["fields"] == MEDIA_FIELDS
    everything = ids(recent1, recent2, top1, top2)
    assert result.new == len(everything) == 50
    posts = await stored(services)
    assert set(posts) == everything
    item = top1["data"][0]
    assert posts[item["id"]].text == item["caption"]  # the top edition brought the caption
    only_top = next(m for m in top2["data"] if m["id"] not in ids(recent1, recent2))
    assert posts[only_top["id"]].url == only_top["permalink"]
    assert posts[only_top["id"]].media[0]["url"] == only_top["media_url"]
    assert await checkpoint(services, "top_media#developers") == {"hashtag_id": HASHTAG_ID}


async def test_hashtags_over_the_weekly_budget_are_reported_and_never_requested(
    services_with,
    meta: Upstream,
    graph,  # type: ignore[no-untyped-def]
) -> None:
    tags = [f"LoveLocal{n:02d}" for n in range(1, HASHTAG_BUDGET + 3)]
    services = await services_with(*tags)
    meta.set_default(Reply.json(graph("hashtag_search")), SEARCH)
    meta.set_default(Reply.json(graph("hashtag_recent_medias_p2")), RECENT)

    result = await run_instagram(services)

    assert result.status == "degraded"
    assert result.detail is not None
    for extra in tags[HASHTAG_BUDGET:]:
        assert f"#{extra.casefold()}" in result.detail
    assert "budget" in result.detail
    asked = [r.query["q"] for r in meta.requests_to(SEARCH)]
    assert asked == [t.casefold() for t in tags[:HASHTAG_BUDGET]]
    assert len(meta.requests_to(RECENT)) == HASHTAG_BUDGET
    assert result.new == 5
    source = await source_row(services)
    assert source.status == "degraded"
    assert source.status_detail is not None
    assert f"#{tags[-1].casefold()}" in source.status_detail


# --- Graph API errors -----------------------------------------------------------------------------------


async def test_an_expired_token_fails_the_source_naming_the_variable(
    services: Services, meta: Upstream, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    expired = {
        "error": {
            "message": "Error validating access token: Session has expired on Monday, 16-Nov-26 01:00:00 PST.",
            "type": "OAuthException",
            "code": 190,
            "error_subcode": 463,
            "fbtrace_id": "AbCdEfGhIjK",
        }
    }
    meta.script(SEARCH, Reply.json(expired, status=400))

    result = await run_instagram(services)

    assert result.status == "failed"
    assert result.detail is not None
    assert "LISTENER_INSTAGRAM_ACCESS_TOKEN" in result.detail
    assert "Session has expired" in result.detail
    assert len(meta.requests) == 1
    assert (await source_row(services)).status == "failed"
    await assert_token_nowhere(services, caplog)


async def test_a_spent_graph_api_limit_is_a_rate_limit(services: Services, meta: Upstream, graph) -> None:  # type: ignore[no-untyped-def]
    limited = {"error": {"message": "(#4) Application request limit reached", "type": "OAuthException", "code": 4}}
    usage = json.dumps({"call_count": 100, "total_cputime": 12, "total_time": 30})
    meta.script(SEARCH, Reply.json(graph("hashtag_search")))
    meta.script(RECENT, Reply.json(limited, status=400, headers={"X-App-Usage": usage}))

    result = await run_instagram(services)

    assert result.status == "rate_limited"
    assert result.rate_limited_until is not None
    source = await source_row(services)
    assert (source.status, source.rate_limited_until) == ("rate_limited", result.rate_limited_until)
    assert len(meta.requests_to(RECENT)) == 1


async def test_an_unreadable_page_is_quarantined_without_the_token(
    services: Services,
    meta: Upstream,
    graph,
    caplog: pytest.LogCaptureFixture,  # type: ignore[no-untyped-def]
) -> None:
    caplog.set_level(logging.DEBUG)
    p1 = graph("hashtag_recent_medias_p1")
    broken = {"data": {"unexpected": "shape"}, "paging": p1["paging"]}
    meta.script(SEARCH, Reply.json(graph("hashtag_search")))
    meta.script(RECENT, Reply.json(broken))

    result = await run_instagram(services)

    assert (result.status, result.quarantined) == ("degraded", 1)
    async with services.sessions() as session:
        [row] = list((await session.execute(select(Quarantine))).scalars())
    assert row.source == "instagram"
    assert "access_token=[redacted]" in row.payload
    assert json.loads(row.payload)["data"] == {"unexpected": "shape"}
    await assert_token_nowhere(services, caplog)


@pytest.mark.parametrize("answer", ["<html>Sorry, something went wrong.</html>", '{"data": {"id": "1"}}'])
async def test_an_unreadable_hashtag_search_is_quarantined_not_a_crash(
    services: Services, meta: Upstream, answer: str
) -> None:
    meta.script(SEARCH, Reply(body=answer, content_type="text/html"))

    result = await run_instagram(services)

    assert (result.status, result.quarantined) == ("degraded", 1)
    assert meta.requests_to(RECENT) == []
    async with services.sessions() as session:
        [row] = list((await session.execute(select(Quarantine))).scalars())
    assert row.payload == answer
    assert await stored(services) == {}
