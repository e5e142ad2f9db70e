"""MastodonCollector end to end: two loopback instances replaying rtoot's recorded #rstats timelines of
fosstodon.org and mastodon.social, rows in real databases (SQLite and PostgreSQL).

The two recordings hold the same five statuses, each with its own local id on each instance and one URI:
they are stored once. Pages beyond the recorded ones are the recorded statuses cut into pages, with the
`Link` headers Mastodon sends (rel="next" max_id going back, rel="prev" min_id going forward).
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from jobs.collect import SourceResult, collect
from jobs.services import Services
from listener.collectors.mastodon import MastodonCollector
from listener.http import RetryPolicy
from listener.session import make_session
from service.settings import Settings
from storage.models import Author, Base, Post, PostCampaign, Quarantine, Source
from storage.repositories._sql import utcnow
from storage.repositories.campaigns import sync_campaigns
from storage.repositories.ingest import load_checkpoint
from tests.listener.cassettes import Recorded, load_cassette
from tests.listener.upstream import Reply, Upstream

pytestmark = pytest.mark.corpora

TAG_PATH = "/api/v1/timelines/tag/rstats"
TOKEN = "mastodon-test-token-0123456789abcdefghijklmnopqrstuvwxyz"
CONFIG = """
[campaigns.rstats]
name = "#rstats"
hashtags = ["rstats"]
languages = ["en"]
"""
FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02, timeout=1.0)


# --- recorded material ----------------------------------------------------------------------------------


@cache
def _recorded(path: Path) -> Recorded:
    [item] = load_cassette(path)
    return item


@pytest.fixture
def fosstodon(corpora: Path) -> Recorded:
    return _recorded(corpora / "rtoot-fixtures" / "get_timeline_hashtag_default.yml")


@pytest.fixture
def social(corpora: Path) -> Recorded:
    return _recorded(corpora / "rtoot-fixtures" / "get_timeline_hashtag_instance.yml")


@pytest.fixture
def public(corpora: Path) -> list[dict[str, Any]]:
    """Twenty statuses recorded after the #rstats ones (fosstodon's public timeline): 'newer' statuses."""
    data: list[dict[str, Any]] = copy.deepcopy(
        _recorded(corpora / "rtoot-fixtures" / "get_timeline_public_default.yml").json()
    )
    return data


def mastodon_headers(recorded: Recorded, **extra: str) -> dict[str, str]:
    """The recorded response headers (content type, X-RateLimit-*) without the recorded Link, with `extra`
    replacing a recorded header of the same name (in any case)."""
    replaced = {"link", *(k.lower() for k in extra)}
    headers = {k: v for k, v in recorded.headers.items() if k.lower() not in replaced}
    return {**headers, **extra}


def link(server: Upstream, *, older: str | None = None, newer: str | None = None) -> str:
    """A Link header as Mastodon writes it: rel="next" goes back (max_id), rel="prev" forward (min_id)."""
    parts = []
    if older:
        parts.append(f'<{server.url}{TAG_PATH}?limit=40&max_id={older}>; rel="next"')
    if newer:
        parts.append(f'<{server.url}{TAG_PATH}?limit=40&min_id={newer}>; rel="prev"')
    return ", ".join(parts)


def page(server: Upstream, statuses: list[dict[str, Any]], recorded: Recorded, *, last: bool = False) -> Reply:
    """Statuses (newest first) as one timeline page with its Link header."""
    older = None if last else statuses[-1]["id"]
    return Reply.json(
        statuses, headers=mastodon_headers(recorded, Link=link(server, older=older, newer=statuses[0]["id"]))
    )


EMPTY = Reply.json([])


# --- two fake instances and the services pointed at them ------------------------------------------------


@pytest.fixture
async def instance_a() -> AsyncIterator[Upstream]:
    async with Upstream() as server:
        yield server


@pytest.fixture
async def instance_b() -> AsyncIterator[Upstream]:
    async with Upstream() as server:
        yield server


def mastodon_env(tmp_path: Path, *instances: Upstream, **env: str) -> dict[str, str]:
    config = tmp_path / "listener.toml"
    config.write_text(CONFIG, encoding="utf-8")
    return {
        "LISTENER_CONFIG": str(config),
        "LISTENER_MASTODON_INSTANCES": ",".join(i.url for i in instances),
        "LISTENER_MASTODON_BACKFILL_PAGES": "2",
        "LISTENER_X_ENABLED": "false",
        "LISTENER_BLUESKY_ENABLED": "false",
        "LISTENER_INSTAGRAM_ENABLED": "false",
        "LISTENER_RSS_ENABLED": "false",
        **env,
    }


@pytest.fixture
def settings(db_url: str, settings_for, instance_a: Upstream, instance_b: Upstream, tmp_path: Path) -> Settings:  # type: ignore[no-untyped-def]
    built: Settings = settings_for(db_url, **mastodon_env(tmp_path, instance_a, instance_b))
    return built


async def with_settings(services: Services, settings: Settings) -> Services:
    async with services.sessions.begin() as session:
        ids = await sync_campaigns(session, settings.campaigns)
    return Services(settings=settings, engine=services.engine, sessions=services.sessions, campaign_ids=ids)


async def run_mastodon(services: Services) -> SourceResult:
    settings = services.settings
    async with make_session(settings.sources) as http:
        collector = MastodonCollector(
            settings.sources.mastodon, settings.secrets.get("mastodon_token"), http, policy=FAST
        )
        [result] = await collect(services, collectors=[collector])
    return result


def key(server: Upstream) -> str:
    return f"127.0.0.1:{server.port}#rstats"


async def checkpoint(services: Services, server: Upstream) -> dict[str, Any] | None:
    source = await source_row(services)
    async with services.sessions() as session:
        return await load_checkpoint(session, source.id, services.campaign_ids["rstats"], key(server))


async def source_row(services: Services) -> Source:
    async with services.sessions() as session:
        source = await session.scalar(select(Source).where(Source.name == "mastodon"))
    assert source is not None
    return source


async def stored(services: Services) -> dict[str, Post]:
    async with services.sessions() as session:
        rows = list((await session.execute(select(Post).where(Post.platform == "mastodon"))).scalars())
    by_id = {p.platform_id: p for p in rows}
    assert len(by_id) == len(rows)
    return by_id


async def quarantined(services: Services) -> list[Quarantine]:
    async with services.sessions() as session:
        return list((await session.execute(select(Quarantine).order_by(Quarantine.id))).scalars())


async def let_the_reset_pass(services: Services) -> None:
    async with services.sessions.begin() as session:
        await session.execute(
            update(Source).where(Source.name == "mastodon").values(rate_limited_until=utcnow() - timedelta(seconds=1))
        )


def iso(moment: datetime) -> str:
    """A reset time as Mastodon sends it: ISO 8601, microseconds, Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- two instances, one status ----------------------------------------------------------------------------


async def test_the_same_statuses_on_two_instances_are_stored_once(
    services: Services, instance_a: Upstream, instance_b: Upstream, fosstodon: Recorded, social: Recorded
) -> None:
    instance_a.script(TAG_PATH, Reply.recorded(fosstodon), EMPTY)
    instance_b.script(TAG_PATH, Reply.recorded(social), EMPTY)

    result = await run_mastodon(services)

    assert (result.status, result.quarantined) == ("ok", 0)
    uris = {s["uri"] for s in fosstodon.json()}
    assert uris == {s["uri"] for s in social.json()}
    assert result.new == len(uris) == 5
    assert result.updated + result.unchanged == 5  # the second instance's copies
    posts = await stored(services)
    assert set(posts) == uris
    async with services.sessions() as session:
        links = await session.scalar(select(func.count()).select_from(PostCampaign))
        authors = list((await session.execute(select(Author).where(Author.platform == "mastodon"))).scalars())
    assert links == 5
    assert len(authors) == 5
    assert {a.handle for a in authors} >= {"simonpcouch@rstats.me", "useR_conf@mastodon.social"}
    simon = next(a for a in authors if a.handle == "simonpcouch@rstats.me")
    assert simon.followers == 656
    for post in posts.values():
        assert post.raw is not None
        assert post.raw["_instance"] == instance_a.url  # first seen there
        assert post.query == "#rstats"
        assert "rstats" in [t.casefold() for t in post.hashtags]

    for server in (instance_a, instance_b):
        first, second = server.requests_to(TAG_PATH)
        assert first.params == {"limit": "40"}
        assert "Authorization" not in first.headers  # public timelines: no token configured, none sent
        assert second.query["max_id"] == (fosstodon if server is instance_a else social).json()[-1]["id"]
    # Each instance resumes from its own newest local id (the recorded rel="prev" min_id).
    assert await checkpoint(services, instance_a) == {"min_id": "114870142263126875"}
    assert await checkpoint(services, instance_b) == {"min_id": "114870142396314555"}
    assert (await source_row(services)).status == "ok"


# --- backfill, then forward -----------------------------------------------------------------------------


async def test_backfill_follows_next_up_to_backfill_pages_then_runs_forward_from_min_id(
    services: Services, instance_a: Upstream, instance_b: Upstream, fosstodon: Recorded, public: list[dict[str, Any]]
) -> None:
    statuses = fosstodon.json()
    instance_a.script(
        TAG_PATH,
        page(instance_a, statuses[0:2], fosstodon),
        page(instance_a, statuses[2:4], fosstodon),  # still has a rel="next": backfill_pages (2) ends the run
    )
    instance_b.set_default(EMPTY, TAG_PATH)

    first_run = await run_mastodon(services)

    assert (first_run.status, first_run.new) == ("ok", 4)
    one, two = instance_a.requests_to(TAG_PATH)
    assert one.params == {"limit": "40"}
    assert two.params == {"limit": "40", "max_id": statuses[1]["id"]}
    assert set(await stored(services)) == {s["uri"] for s in statuses[0:4]}
    assert await checkpoint(services, instance_a) == {"min_id": statuses[0]["id"]}

    newer = public[0:3]
    links = link(instance_a, older=newer[-1]["id"], newer=newer[0]["id"])
    instance_a.script(
        TAG_PATH,
        Reply.json(newer, headers=mastodon_headers(fosstodon, Link=links)),
        EMPTY,  # nothing newer than that: the run ends
    )

    second_run = await run_mastodon(services)

    # Pages: A's one forward page (the empty one is not a page), and B's empty timeline.
    assert (second_run.status, second_run.new, second_run.pages) == ("ok", 3, 2)
    forward, end = instance_a.requests_to(TAG_PATH)[2:]
    assert forward.params == {"limit": "40", "min_id": statuses[0]["id"]}
    assert end.params == {"limit": "40", "min_id": newer[0]["id"]}  # followed rel="prev"
    assert len(instance_a.requests_to(TAG_PATH)) == 4
    assert set(await stored(services)) == {s["uri"] for s in statuses[0:4] + newer}
    assert await checkpoint(services, instance_a) == {"min_id": newer[0]["id"]}

    instance_a.script(TAG_PATH, EMPTY)
    quiet = await run_mastodon(services)

    assert (quiet.status, quiet.new, quiet.pages) == ("ok", 0, 1)  # B's empty timeline only
    assert instance_a.requests_to(TAG_PATH)[-1].params == {"limit": "40", "min_id": newer[0]["id"]}
    assert await checkpoint(services, instance_a) == {"min_id": newer[0]["id"]}


async def test_forward_pages_without_a_link_header_advance_to_the_newest_status(
    services: Services, instance_a: Upstream, instance_b: Upstream, fosstodon: Recorded, public: list[dict[str, Any]]
) -> None:
    statuses = fosstodon.json()
    instance_a.script(TAG_PATH, page(instance_a, statuses, fosstodon, last=True))
    instance_b.set_default(EMPTY, TAG_PATH)
    await run_mastodon(services)
    assert await checkpoint(services, instance_a) == {"min_id": statuses[0]["id"]}

    instance_a.script(TAG_PATH, Reply.json(public[5:7]), EMPTY)
    result = await run_mastodon(services)

    assert (result.status, result.new) == ("ok", 2)
    assert instance_a.requests_to(TAG_PATH)[-1].query["min_id"] == public[5]["id"]
    assert await checkpoint(services, instance_a) == {"min_id": public[5]["id"]}


# --- rate limits ----------------------------------------------------------------------------------------


async def test_a_spent_budget_stops_before_the_next_call_until_the_iso_reset(
    services: Services, instance_a: Upstream, instance_b: Upstream, fosstodon: Recorded
) -> None:
    statuses = fosstodon.json()
    reset = (utcnow() + timedelta(minutes=10)).replace(microsecond=725062)
    headers = mastodon_headers(
        fosstodon,
        Link=link(instance_a, older=statuses[1]["id"], newer=statuses[0]["id"]),
        **{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": iso(reset)},
    )
    instance_a.script(TAG_PATH, Reply.json(statuses[0:2], headers=headers))

    result = await run_mastodon(services)

    assert (result.status, result.pages, result.new) == ("rate_limited", 1, 2)
    assert len(instance_a.requests) == 1  # the next page was not asked for
    assert instance_b.requests == []  # nor the other instance: the source waits as a whole
    source = await source_row(services)
    assert (source.status, source.rate_limited_until) == ("rate_limited", reset)
    assert await checkpoint(services, instance_a) == {
        "min_id": statuses[0]["id"],
        "max_id": statuses[1]["id"],
        "backfill_pages": 1,
    }

    skipped = await run_mastodon(services)
    assert (skipped.status, skipped.rate_limited_until) == ("skipped", reset)
    assert len(instance_a.requests) == 1

    await let_the_reset_pass(services)
    instance_a.script(TAG_PATH, page(instance_a, statuses[2:5], fosstodon, last=True))
    instance_b.set_default(EMPTY, TAG_PATH)
    resumed = await run_mastodon(services)

    assert (resumed.status, resumed.new) == ("ok", 3)
    assert instance_a.requests[1].params == {"limit": "40", "max_id": statuses[1]["id"]}
    assert set(await stored(services)) == {s["uri"] for s in statuses}
    assert await checkpoint(services, instance_a) == {"min_id": statuses[0]["id"]}


async def test_429_marks_the_source_rate_limited_until_the_reset(
    services: Services, instance_a: Upstream, instance_b: Upstream
) -> None:
    reset = (utcnow() + timedelta(minutes=5)).replace(microsecond=0)
    instance_a.script(
        TAG_PATH,
        Reply.json(
            {"error": "Too many requests"},
            status=429,
            headers={"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": iso(reset)},
        ),
    )

    result = await run_mastodon(services)

    assert result.status == "rate_limited"
    assert result.detail is not None
    assert "HTTP 429" in result.detail
    source = await source_row(services)
    assert (source.status, source.rate_limited_until) == ("rate_limited", reset)
    assert len(instance_a.requests) == 1  # a 429 is not retried
    assert instance_b.requests == []
    assert await stored(services) == {}


# --- credentials and outages ----------------------------------------------------------------------------


async def test_401_fails_the_source_naming_the_token_variable_and_never_leaks_it(
    services: Services,
    settings_for,  # type: ignore[no-untyped-def]
    db_url: str,
    tmp_path: Path,
    instance_a: Upstream,
    instance_b: Upstream,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with_token = settings_for(db_url, **mastodon_env(tmp_path, instance_a, instance_b, LISTENER_MASTODON_TOKEN=TOKEN))
    services = await with_settings(services, with_token)
    instance_a.script(TAG_PATH, Reply.json({"error": "The access token is invalid"}, status=401))

    result = await run_mastodon(services)

    assert result.status == "failed"
    assert result.detail is not None
    assert "LISTENER_MASTODON_TOKEN" in result.detail
    source = await source_row(services)
    assert source.status == "failed"
    assert source.status_detail is not None
    assert "LISTENER_MASTODON_TOKEN" in source.status_detail
    [request] = instance_a.requests
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in caplog.text
    async with services.sessions() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(select(table))).all():
                assert TOKEN not in repr(tuple(row)), table.name


async def test_one_instance_down_the_other_is_collected_and_the_source_degraded(
    services: Services, instance_a: Upstream, instance_b: Upstream, social: Recorded
) -> None:
    instance_a.set_default(Reply.json({"error": "Service Unavailable"}, status=503), TAG_PATH)
    instance_b.script(TAG_PATH, Reply.recorded(social), EMPTY)

    result = await run_mastodon(services)

    assert result.status == "degraded"
    assert result.detail is not None
    assert "HTTP 503" in result.detail
    assert f"127.0.0.1:{instance_a.port}" in result.detail
    assert len(instance_a.requests) == FAST.attempts
    assert result.new == 5
    assert set(await stored(services)) == {s["uri"] for s in social.json()}
    source = await source_row(services)
    assert (source.status, source.rate_limited_until) == ("degraded", None)
    assert await checkpoint(services, instance_a) is None
    assert await checkpoint(services, instance_b) == {"min_id": "114870142396314555"}


async def test_without_a_token_an_instance_that_requires_one_only_degrades_the_source(
    services: Services, instance_a: Upstream, instance_b: Upstream, social: Recorded
) -> None:
    instance_a.set_default(Reply.json({"error": "This method requires an authenticated user"}, status=401), TAG_PATH)
    instance_b.script(TAG_PATH, Reply.recorded(social), EMPTY)

    result = await run_mastodon(services)

    assert result.status == "degraded"
    assert result.detail is not None
    assert "requires a token: set LISTENER_MASTODON_TOKEN" in result.detail
    assert len(instance_a.requests) == 1  # refused credentials are not retried
    assert result.new == 5
    assert set(await stored(services)) == {s["uri"] for s in social.json()}


@pytest.mark.parametrize("kind", ["truncated-json", "html", "object"])
async def test_an_unreadable_timeline_is_quarantined_and_the_other_instance_collected(
    services: Services, instance_a: Upstream, instance_b: Upstream, fosstodon: Recorded, social: Recorded, kind: str
) -> None:
    if kind == "truncated-json":
        bad = Reply(body=fosstodon.body[: len(fosstodon.body) // 3], headers=mastodon_headers(fosstodon))
        reason = "not valid JSON"
    elif kind == "html":
        bad = Reply(body="<html><body><h1>We're sorry, but something went wrong.</h1></body></html>",
                    content_type="text/html")  # fmt: skip
        reason = "not valid JSON"
    else:
        bad = Reply.json({"error": "This method requires an authenticated user"})
        reason = "expected a JSON array"
    instance_a.script(TAG_PATH, bad)
    instance_b.script(TAG_PATH, Reply.recorded(social), EMPTY)

    result = await run_mastodon(services)

    assert (result.status, result.quarantined) == ("degraded", 1)
    [row] = await quarantined(services)
    assert (row.source, row.platform) == ("mastodon", "mastodon")
    assert row.payload == bad.payload().decode("utf-8", "replace")
    assert reason in row.error
    assert set(await stored(services)) == {s["uri"] for s in social.json()}
    assert (await source_row(services)).status == "degraded"
    assert not (await checkpoint(services, instance_a) or {}).get("min_id")  # nothing to resume from yet


async def test_a_broken_status_is_quarantined_and_odd_characters_are_stored(
    services: Services, instance_a: Upstream, instance_b: Upstream, fosstodon: Recorded
) -> None:
    statuses = copy.deepcopy(fosstodon.json())
    del statuses[2]["uri"]
    statuses[0]["content"] = "<p>Nul \x00 et demi-emoji \ud83d et <script>alert(1)</script>fin</p>"
    statuses[0]["account"]["display_name"] = "Simon\x00 \udc00"
    # ensure_ascii keeps the lone surrogate as the \ud83d escape a platform would send.
    body = json.dumps(statuses, ensure_ascii=True).encode("ascii")
    instance_a.script(TAG_PATH, Reply(body=body, headers=mastodon_headers(fosstodon)), EMPTY)
    instance_b.set_default(EMPTY, TAG_PATH)

    result = await run_mastodon(services)

    assert (result.status, result.new, result.quarantined) == ("ok", 4, 1)
    [row] = await quarantined(services)
    assert "uri" in row.error
    assert json.loads(row.payload)["id"] == statuses[2]["id"]
    posts = await stored(services)
    odd = posts[statuses[0]["uri"]]
    assert odd.text == "Nul  et demi-emoji \ufffd et fin"
    assert "alert" not in odd.text
    async with services.sessions() as session:
        author = await session.get(Author, odd.author_id)
    assert author is not None
    assert author.display_name == "Simon \ufffd"
