"""The X filtered stream end to end: tweepy's real AsyncStreamingClient over real TLS to a loopback X.

The fake X is `Upstream` (test CA, scripted replies, request log) plus what a filtered stream needs and a
scripted reply cannot give: rules kept in memory (GET/POST /2/tweets/search/stream/rules behave like X's)
and a stream that stays open while the test sends it lines. Real Settings point api.twitter.com at it
(LISTENER_X_BASE_URL, LISTENER_X_CA_FILE) and the sessions are the production `make_session`. Lines carry
recorded tweets from the twarc corpus; stored rows are checked on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy, MultiDict, MultiDictProxy
from sqlalchemy import select

from jobs.services import Services
from jobs.stream import Backoff, XStreamTask, start_stream
from listener.collector import CampaignQuery
from listener.collectors.x import EXPANSIONS, TWEET_FIELDS, USER_FIELDS
from listener.collectors.x_stream import StreamBatch, XStream
from listener.errors import AuthFailed, RateLimited, SourceUnavailable
from listener.session import X_API_HOST, make_session
from service.serve import serve
from service.settings import Settings
from service.wiring import open_services
from storage.models import Campaign, Post, PostCampaign, Quarantine, Source
from tests.listener.test_x_collector import TOKEN, stored_ids, twarc  # noqa: F401
from tests.listener.upstream import Received, Reply, Upstream

pytestmark = pytest.mark.corpora

RULES = "/2/tweets/search/stream/rules"
STREAM = "/2/tweets/search/stream"
CONFIG = """
[campaigns.lovelocal]
name = "#LoveLocal"
hashtags = ["LoveLocal"]
excluded = ["giveaway"]
languages = ["ar", "fr", "en"]

[campaigns.soutenons]
name = "#SoutenonsnosTPEPME"
hashtags = ["SoutenonsnosTPEPME"]
languages = ["fr"]
"""
LOVELOCAL_RULE = "#LoveLocal -giveaway -is:retweet"
SOUTENONS_RULE = "#SoutenonsnosTPEPME -is:retweet"
FAST = Backoff(first=0.05, most=0.2)
PROMPT = 2.0  # seconds: "promptly"


# --- the fake X -----------------------------------------------------------------------------------------


class FakeX(Upstream):
    """Upstream, plus X's rules (kept in memory) and a long-lived stream fed by `send()`.

    A reply scripted for the rules or the stream path (`script(...)`) is served first, as Upstream does;
    when none is queued, the rules behave like X's and the stream answers 200 and stays open.
    """

    def __init__(self, workdir: Path) -> None:
        super().__init__(tls_hostnames=[X_API_HOST], workdir=workdir)
        self.rules: dict[str, dict[str, str]] = {}
        self._next_id = 1
        self.lines: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.connections = 0  # streams answered 200
        self.connected = asyncio.Event()

    def add_rule(self, value: str, tag: str | None = None) -> str:
        rule_id = str(self._next_id)
        self._next_id += 1
        self.rules[rule_id] = {"id": rule_id, "value": value, **({"tag": tag} if tag is not None else {})}
        return rule_id

    def send(self, line: dict[str, Any] | bytes) -> None:
        self.lines.put_nowait((line if isinstance(line, bytes) else json.dumps(line).encode()) + b"\r\n")

    def keep_alive(self) -> None:
        self.lines.put_nowait(b"\r\n")

    def rule_posts(self) -> list[dict[str, Any]]:
        return [json.loads(r.body) for r in self.requests_to(RULES) if r.method == "POST"]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.path not in (RULES, STREAM) or self.pending(request.path):
            return await super()._handle(request)
        body = await request.read()
        self.requests.append(
            Received(
                method=request.method,
                path=request.path,
                query=MultiDictProxy(MultiDict(request.query)),
                headers=CIMultiDictProxy(CIMultiDict(request.headers)),
                body=body,
            )
        )
        if request.path == RULES:
            return self._rules(request.method, body)
        return await self._stream(request)

    def _rules(self, method: str, body: bytes) -> web.Response:
        sent = datetime.now(UTC).isoformat()
        if method == "GET":
            listed: dict[str, Any] = {"meta": {"sent": sent, "result_count": len(self.rules)}}
            if self.rules:
                listed["data"] = list(self.rules.values())
            return web.json_response(listed)
        request = json.loads(body)
        if "delete" in request:
            ids = [i for i in request["delete"]["ids"] if i in self.rules]
            for rule_id in ids:
                del self.rules[rule_id]
            summary = {"deleted": len(ids), "not_deleted": len(request["delete"]["ids"]) - len(ids)}
            return web.json_response({"meta": {"sent": sent, "summary": summary}})
        created, errors = [], []
        for rule in request["add"]:
            same = [r for r in self.rules.values() if r["value"] == rule["value"]]
            if same:
                errors.append({"value": rule["value"], "id": same[0]["id"], "title": "DuplicateRule"})
                continue
            created.append(self.rules[self.add_rule(rule["value"], rule.get("tag"))])
        summary = {"created": len(created), "not_created": len(errors), "valid": len(created), "invalid": 0}
        answer: dict[str, Any] = {"data": created, "meta": {"sent": sent, "summary": summary}}
        if errors:
            answer["errors"] = errors
        return web.json_response(answer, status=201)

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        await response.prepare(request)
        self.connections += 1
        self.connected.set()
        while True:
            line = await self.lines.get()
            if line is None:  # X closes the stream
                break
            await response.write(line)
        return response


@pytest.fixture
async def x_api(tmp_path: Path) -> AsyncIterator[FakeX]:
    server = FakeX(tmp_path / "tls")
    async with server:
        yield server


def _env(x_api: FakeX, tmp_path: Path, **extra: str) -> dict[str, str]:
    config = tmp_path / "listener.toml"
    config.write_text(CONFIG, encoding="utf-8")
    return {
        "LISTENER_CONFIG": str(config),
        "LISTENER_X_BASE_URL": x_api.url,
        "LISTENER_X_CA_FILE": str(x_api.ca_file),
        "LISTENER_X_BEARER_TOKEN": TOKEN,
        "LISTENER_X_STREAM": "true",
        "LISTENER_MASTODON_ENABLED": "false",
        "LISTENER_BLUESKY_ENABLED": "false",
        "LISTENER_INSTAGRAM_ENABLED": "false",
        "LISTENER_RSS_ENABLED": "false",
        **extra,
    }


@pytest.fixture
def settings(db_url: str, settings_for: Callable[..., Settings], x_api: FakeX, tmp_path: Path) -> Settings:
    """Real Settings on a real database (the `services` fixture builds on it): both engines."""
    built: Settings = settings_for(db_url, **_env(x_api, tmp_path))
    return built


@pytest.fixture
def stream_settings(settings_for: Callable[..., Settings], x_api: FakeX, tmp_path: Path) -> Settings:
    """The same Settings for tests of the stream alone (no database is opened)."""
    built: Settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}", **_env(x_api, tmp_path))
    return built


def make_stream(settings: Settings, **kw: Any) -> XStream:
    """The stream as `listener run` builds it: its own production session from the factory, each time."""
    return XStream(
        settings.sources.x, settings.secrets.get("x_bearer_token"), lambda: make_session(settings.sources), **kw
    )


def campaigns(settings: Settings) -> list[CampaignQuery]:
    return [CampaignQuery.of(slug, c) for slug, c in settings.campaigns.items()]


# --- recorded tweets as stream lines --------------------------------------------------------------------


def stream_lines(page: dict[str, Any], tags: list[str], ids: list[str] | None = None) -> list[dict[str, Any]]:
    """Each tweet of a recorded page as X streams it: the tweet, the includes it needs, the matching rules."""
    users = {u["id"]: u for u in page["includes"]["users"]}
    tweets = {t["id"]: t for t in page["includes"].get("tweets", [])}
    lines = []
    for tweet in page["data"]:
        refs = [tweets[r["id"]] for r in tweet.get("referenced_tweets", []) if r["id"] in tweets]
        authors = {tweet["author_id"], *(t["author_id"] for t in refs)}
        includes: dict[str, Any] = {"users": [users[a] for a in sorted(authors) if a in users]}
        if refs:
            includes["tweets"] = refs
        rules = [{"id": (ids or [])[i] if ids else "1", "tag": tag} for i, tag in enumerate(tags)]
        lines.append({"data": tweet, "includes": includes, "matching_rules": rules})
    return lines


def line_ids(line: dict[str, Any]) -> set[str]:
    return stored_ids({"data": [line["data"]], "includes": line["includes"]})


async def eventually(check: Callable[[], Awaitable[bool]], what: str, within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.02)
    pytest.fail(f"timed out waiting for {what}")


class Collected:
    """What `XStream.run` hands its callbacks (the test's own callbacks; nothing of ours is replaced)."""

    def __init__(self) -> None:
        self.batches: list[StreamBatch] = []
        self.rejected: list[tuple[str, str]] = []
        self.statuses: list[tuple[str, str]] = []

    async def on_posts(self, batch: StreamBatch) -> None:
        self.batches.append(batch)

    async def on_rejected(self, line: str, error: str) -> None:
        self.rejected.append((line, error))

    async def on_status(self, status: str, detail: str) -> None:
        self.statuses.append((status, detail))

    def run(self, stream: XStream) -> asyncio.Task[None]:
        return asyncio.create_task(stream.run(self.on_posts, self.on_rejected, self.on_status))


async def stopped_within(stream: XStream, task: asyncio.Task[None], seconds: float = PROMPT) -> float:
    started = time.monotonic()
    stream.stop()
    await asyncio.wait_for(task, timeout=seconds)
    return time.monotonic() - started


# --- rules ----------------------------------------------------------------------------------------------


async def test_rules_are_synced_stale_ones_deleted_missing_ones_added_and_a_second_sync_changes_nothing(
    stream_settings: Settings, x_api: FakeX
) -> None:
    old = x_api.add_rule("#LoveLocal", "lovelocal")  # the campaign's query changed since
    gone = x_api.add_rule("#OldCampaign", "oldcampaign")  # a campaign no longer configured
    foreign = x_api.add_rule("from:someone has:images", "someone else's rule")  # not ours: kept
    stream = make_stream(stream_settings)

    first = await stream.sync_rules(campaigns(stream_settings))

    assert (first.added, first.kept, first.problems) == (["lovelocal", "soutenons"], [], [])
    assert sorted(first.deleted) == ["#LoveLocal", "#OldCampaign"]
    assert sorted((r["value"], r.get("tag")) for r in x_api.rules.values()) == [
        (LOVELOCAL_RULE, "lovelocal"),
        (SOUTENONS_RULE, "soutenons"),
        ("from:someone has:images", "someone else's rule"),
    ]
    assert foreign in x_api.rules
    delete, add = x_api.rule_posts()
    assert sorted(delete["delete"]["ids"]) == sorted([old, gone])
    assert add == {
        "add": [{"value": LOVELOCAL_RULE, "tag": "lovelocal"}, {"value": SOUTENONS_RULE, "tag": "soutenons"}]
    }
    [listing] = [r for r in x_api.requests_to(RULES) if r.method == "GET"]
    assert listing.headers["Authorization"] == f"Bearer {TOKEN}"

    before = dict(x_api.rules)
    second = await make_stream(stream_settings).sync_rules(campaigns(stream_settings))

    assert (second.added, second.deleted, second.kept, second.changed) == ([], [], ["lovelocal", "soutenons"], False)
    assert x_api.rules == before
    assert len(x_api.rule_posts()) == 2  # the second sync only read the rules
    assert [r.method for r in x_api.requests_to(RULES)] == ["GET", "POST", "POST", "GET"]


async def test_a_campaign_whose_rule_is_over_512_characters_is_reported_and_the_others_synced(
    stream_settings: Settings, x_api: FakeX
) -> None:
    long = CampaignQuery(slug="toolong", hashtags=("Long",), keywords=tuple(f"keyword{i:03d}" for i in range(60)))
    synced = await make_stream(stream_settings).sync_rules([*campaigns(stream_settings), long])

    assert synced.added == ["lovelocal", "soutenons"]
    [problem] = synced.problems
    assert "toolong" in problem
    assert "512" in problem
    assert {r["tag"] for r in x_api.rules.values()} == {"lovelocal", "soutenons"}


async def test_rules_refused_with_401_name_the_variable_and_429_gives_the_reset(
    stream_settings: Settings, x_api: FakeX
) -> None:
    x_api.script(RULES, Reply.json({"title": "Unauthorized", "status": 401, "detail": "Unauthorized"}, status=401))
    with pytest.raises(AuthFailed, match="LISTENER_X_BEARER_TOKEN"):
        await make_stream(stream_settings).sync_rules(campaigns(stream_settings))

    reset = int(time.time()) + 600
    x_api.script(
        RULES, Reply.json({"title": "Too Many Requests"}, status=429, headers={"x-rate-limit-reset": str(reset)})
    )
    with pytest.raises(RateLimited) as limited:
        await make_stream(stream_settings).sync_rules(campaigns(stream_settings))
    assert limited.value.reset_at == datetime.fromtimestamp(reset, UTC)

    x_api.script(RULES, Reply(503, body="upstream down", content_type="text/plain"))
    with pytest.raises(SourceUnavailable, match="rules"):
        await make_stream(stream_settings).sync_rules(campaigns(stream_settings))


# --- streaming ------------------------------------------------------------------------------------------


async def test_the_stream_asks_for_the_collectors_fields_and_hands_over_parsed_batches(
    stream_settings: Settings, x_api: FakeX, twarc: Callable[..., dict[str, Any]]
) -> None:
    stream = make_stream(stream_settings)
    await stream.sync_rules(campaigns(stream_settings))
    got = Collected()
    task = got.run(stream)
    await asyncio.wait_for(x_api.connected.wait(), PROMPT)
    lines = stream_lines(twarc("two_tweets"), ["lovelocal"])
    x_api.keep_alive()
    for line in lines:
        x_api.send(line)
        x_api.keep_alive()
    await eventually(lambda: _true(len(got.batches) == len(lines)), "the batches")

    [request] = x_api.requests_to(STREAM)
    assert request.query["tweet.fields"] == ",".join(TWEET_FIELDS)
    assert request.query["expansions"] == ",".join(EXPANSIONS)
    assert request.query["user.fields"] == ",".join(USER_FIELDS)
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert got.statuses[0][0] == "ok"
    for batch, line in zip(got.batches, lines, strict=True):
        assert batch.campaigns == ("lovelocal",)
        assert {p.platform_id for p in batch.posts} == line_ids(line)
        assert all(p.query == LOVELOCAL_RULE for p in batch.posts)
    assert got.rejected == []
    assert await stopped_within(stream, task) < PROMPT


async def test_streamed_tweets_are_stored_once_and_linked_to_their_campaigns(
    services: Services, x_api: FakeX, twarc: Callable[..., dict[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    job = XStreamTask(services, backoff=FAST)
    job.start()
    await asyncio.wait_for(x_api.connected.wait(), 10)
    assert {r["tag"]: r["id"] for r in x_api.rules.values()} == {"lovelocal": "1", "soutenons": "2"}

    lovelocal = stream_lines(twarc("brexit"), ["lovelocal"])[:8]
    soutenons = stream_lines(twarc("kpop"), ["soutenons"], ids=["2"])[:3]
    both = stream_lines(twarc("cashtags"), ["lovelocal", "soutenons"], ids=["1", "2"])[:1]
    sent = [*lovelocal, *soutenons, *both]
    for line in sent:
        x_api.send(line)
        x_api.keep_alive()
    for line in lovelocal[:3]:  # X delivers a tweet again (a reconnection's backfill): stored once
        x_api.send(line)

    async def all_lines() -> bool:
        return job.counts.lines == len(sent) + 3

    await eventually(all_lines, "every line stored")
    counts = await job.stop(5.0)
    assert job.task is not None
    assert job.task.done()

    expected: dict[str, set[str]] = {}
    for slug, lines in (("lovelocal", [*lovelocal, *both]), ("soutenons", [*soutenons, *both])):
        expected[slug] = set().union(*(line_ids(line) for line in lines))
    everything = expected["lovelocal"] | expected["soutenons"]
    async with services.sessions() as session:
        posts = list((await session.execute(select(Post.platform_id).where(Post.platform == "x"))).scalars())
        links = (
            await session.execute(
                select(Campaign.slug, Post.platform_id)
                .join(PostCampaign, PostCampaign.post_id == Post.id)
                .join(Campaign, Campaign.id == PostCampaign.campaign_id)
            )
        ).all()
        source = await session.scalar(select(Source).where(Source.name == "x-stream"))
    assert sorted(posts) == sorted(everything)  # each once
    assert counts.new == len(everything)
    by_campaign: dict[str, set[str]] = {}
    for slug, platform_id in links:
        by_campaign.setdefault(slug, set()).add(platform_id)
    assert by_campaign == expected
    assert source is not None
    assert (source.platform, source.status, source.last_new_posts) == ("x", "idle", len(everything))
    assert source.status_detail is not None
    assert f"{len(sent) + 3} line(s)" in source.status_detail
    assert TOKEN not in caplog.text


async def test_a_malformed_line_is_quarantined_and_the_stream_goes_on(
    services: Services, x_api: FakeX, twarc: Callable[..., dict[str, Any]]
) -> None:
    job = XStreamTask(services, backoff=FAST)
    job.start()
    await asyncio.wait_for(x_api.connected.wait(), 10)
    good = stream_lines(twarc("two_tweets"), ["lovelocal"])
    no_author = stream_lines(twarc("brexit"), ["lovelocal"])[0]
    no_author["data"].pop("author_id")
    x_api.send(b'{"data": {"id": "1", "text": "cut in the mid')
    x_api.send(no_author)
    x_api.send(stream_lines(twarc("kpop"), ["someone-elses-rule"], ids=["77"])[0])
    for line in good:
        x_api.send(line)

    async def good_stored() -> bool:
        async with services.sessions() as session:
            stored = set((await session.execute(select(Post.platform_id))).scalars())
        return set().union(*(line_ids(line) for line in good)) <= stored

    await eventually(good_stored, "the good lines stored after the bad ones")
    await job.stop(5.0)
    async with services.sessions() as session:
        bad = list((await session.execute(select(Quarantine).order_by(Quarantine.id))).scalars())
        source = await session.scalar(select(Source).where(Source.name == "x-stream"))
    assert [(q.source, q.platform) for q in bad] == [("x-stream", "x")] * 3
    assert bad[0].payload == '{"data": {"id": "1", "text": "cut in the mid'
    assert "not JSON" in bad[0].error
    assert json.loads(bad[1].payload)["id"] == no_author["data"]["id"]  # the tweet itself, kept whole
    assert "author_id" in bad[1].error
    assert "matched no campaign" in bad[2].error
    assert job.counts.quarantined == 3
    assert source is not None
    assert source.status == "idle"
    assert x_api.connections == 1  # one connection throughout: nothing bad ended the stream


async def test_when_x_closes_the_stream_or_it_stalls_it_reconnects_and_goes_on(
    stream_settings: Settings, x_api: FakeX, twarc: Callable[..., dict[str, Any]]
) -> None:
    # A read timeout well under X's 20-second keep-alive, so a silent connection counts as stalled here.
    stream = make_stream(stream_settings, read_timeout=0.5, max_closed_wait=0.1)
    await stream.sync_rules(campaigns(stream_settings))
    got = Collected()
    task = got.run(stream)
    first, second, third = stream_lines(twarc("brexit"), ["lovelocal"])[:3]
    await asyncio.wait_for(x_api.connected.wait(), PROMPT)
    x_api.send(first)
    x_api.lines.put_nowait(None)  # X closes the stream

    async def reconnected() -> bool:
        return x_api.connections == 2

    await eventually(reconnected, "a second connection after X closed the first")
    x_api.send(second)
    # Then silence, longer than the read timeout: a stalled connection is dropped and made again.

    async def stalled_and_back() -> bool:
        return x_api.connections == 3

    await eventually(stalled_and_back, "a third connection after the stall")
    x_api.send(third)

    async def three() -> bool:
        return len(got.batches) == 3

    await eventually(three, "the three lines")
    assert [b.posts[0].platform_id for b in got.batches] == [line["data"]["id"] for line in (first, second, third)]
    assert [s for s, _ in got.statuses] == ["ok", "ok", "ok"]
    assert await stopped_within(stream, task) < PROMPT


# --- refusals -------------------------------------------------------------------------------------------


async def test_429_on_connect_raises_rate_limited_with_the_announced_reset_and_does_not_retry(
    stream_settings: Settings, x_api: FakeX
) -> None:
    reset = int(time.time()) + 900
    x_api.script(
        STREAM, Reply.json({"title": "ConnectionException"}, status=429, headers={"x-rate-limit-reset": str(reset)})
    )
    stream = make_stream(stream_settings)
    await stream.sync_rules(campaigns(stream_settings))
    got = Collected()

    started = time.monotonic()
    with pytest.raises(RateLimited) as limited:
        await asyncio.wait_for(got.run(stream), PROMPT)

    assert time.monotonic() - started < PROMPT  # tweepy's own 60-second wait did not happen
    assert limited.value.reset_at == datetime.fromtimestamp(reset, UTC)
    assert limited.value.source == "x-stream"
    assert len(x_api.requests_to(STREAM)) == 1


async def test_429_on_connect_stops_the_stream_job_until_the_reset(services: Services, x_api: FakeX) -> None:
    reset = int(time.time()) + 3600
    x_api.script(
        STREAM, Reply.json({"title": "TooManyConnections"}, status=429, headers={"x-rate-limit-reset": str(reset)})
    )
    job = XStreamTask(services, backoff=FAST)
    job.start()

    async def limited() -> bool:
        async with services.sessions() as session:
            source = await session.scalar(select(Source).where(Source.name == "x-stream"))
        return source is not None and source.status == "rate_limited"

    await eventually(limited, "the source marked rate limited")
    await asyncio.sleep(0.3)  # would be several attempts, had it not waited for the reset
    assert len(x_api.requests_to(STREAM)) == 1
    started = time.monotonic()
    await job.stop(5.0)
    assert time.monotonic() - started < PROMPT  # the wait for the reset ends on stop
    async with services.sessions() as session:
        source = await session.scalar(select(Source).where(Source.name == "x-stream"))
    assert source is not None
    assert (source.status, source.rate_limited_until) == ("rate_limited", datetime.fromtimestamp(reset, UTC))
    assert source.status_detail is not None
    assert "HTTP 429 on connect" in source.status_detail

    # The service started again before the reset: it waits for the reset too.
    rules_requests = len(x_api.requests_to(RULES))
    again = XStreamTask(services, backoff=FAST)
    again.start()
    await asyncio.sleep(0.3)
    assert len(x_api.requests_to(STREAM)) == 1
    assert len(x_api.requests_to(RULES)) == rules_requests  # no new sync either
    await again.stop(5.0)


async def test_401_on_connect_is_auth_failed_naming_the_variable_and_the_token_never_logged(
    services: Services, x_api: FakeX, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    x_api.script(STREAM, Reply.json({"title": "Unauthorized", "status": 401}, status=401))
    stream = make_stream(services.settings)
    await stream.sync_rules(campaigns(services.settings))
    with pytest.raises(AuthFailed, match="LISTENER_X_BEARER_TOKEN") as failed:
        await asyncio.wait_for(Collected().run(stream), PROMPT)
    assert "401" in str(failed.value)

    # The job: the source says what to fix, and the task ends by itself (a token does not fix itself).
    x_api.script(STREAM, Reply.json({"title": "Unauthorized", "status": 401}, status=401))
    job = XStreamTask(services, backoff=FAST)
    job.start()
    assert job.task is not None
    await asyncio.wait_for(job.task, 10)
    async with services.sessions() as session:
        source = await session.scalar(select(Source).where(Source.name == "x-stream"))
    assert source is not None
    assert source.status == "failed"
    assert source.status_detail is not None
    assert "LISTENER_X_BEARER_TOKEN" in source.status_detail
    assert x_api.requests_to(STREAM)[0].headers["Authorization"] == f"Bearer {TOKEN}"  # sent, so could leak
    assert any(r.name.startswith("tweepy") for r in caplog.records)
    for record in caplog.records:
        assert TOKEN not in record.getMessage(), record.name
        assert TOKEN not in (record.exc_text or ""), record.name
    assert TOKEN not in caplog.text


# --- stopping -------------------------------------------------------------------------------------------


async def test_stop_ends_a_quiet_stream_promptly(stream_settings: Settings, x_api: FakeX) -> None:
    stream = make_stream(stream_settings)
    await stream.sync_rules(campaigns(stream_settings))
    task = Collected().run(stream)
    await asyncio.wait_for(x_api.connected.wait(), PROMPT)
    x_api.keep_alive()
    await asyncio.sleep(0.1)
    assert await stopped_within(stream, task) < PROMPT
    assert task.result() is None


async def test_stop_interrupts_tweepys_reconnection_backoff(stream_settings: Settings, x_api: FakeX) -> None:
    x_api.script(STREAM, Reply(503, body="over capacity", content_type="text/plain"))
    stream = make_stream(stream_settings)
    await stream.sync_rules(campaigns(stream_settings))
    got = Collected()
    task = got.run(stream)

    async def backing_off() -> bool:
        return bool(got.statuses)

    await eventually(backing_off, "the 503 reported")
    assert got.statuses == [("degraded", "HTTP 503 on connect; reconnecting with backoff")]
    assert await stopped_within(stream, task) < PROMPT  # tweepy was sleeping 5 s before its next attempt
    assert len(x_api.requests_to(STREAM)) == 1


async def test_stop_lets_the_batch_in_flight_finish(
    stream_settings: Settings, x_api: FakeX, twarc: Callable[..., dict[str, Any]]
) -> None:
    stream = make_stream(stream_settings)
    await stream.sync_rules(campaigns(stream_settings))
    entered, release = asyncio.Event(), asyncio.Event()
    finished: list[StreamBatch] = []

    async def slow_commit(batch: StreamBatch) -> None:
        entered.set()
        await release.wait()  # the transaction in flight
        await asyncio.sleep(0.05)
        finished.append(batch)

    async def reject(line: str, error: str) -> None:
        raise AssertionError(error)

    task = asyncio.create_task(stream.run(slow_commit, reject))
    await asyncio.wait_for(x_api.connected.wait(), PROMPT)
    first, second = stream_lines(twarc("two_tweets"), ["lovelocal"]) * 2
    x_api.send(first)
    await asyncio.wait_for(entered.wait(), PROMPT)
    x_api.send(second)  # arrives while stopping: not taken

    stream.stop()
    await asyncio.sleep(0.2)
    assert not task.done()  # waits for the batch
    release.set()
    await asyncio.wait_for(task, PROMPT)
    assert len(finished) == 1
    assert finished[0].posts[0].platform_id == first["data"]["id"]


# --- `listener run` -------------------------------------------------------------------------------------


async def test_the_service_starts_the_stream_with_the_scheduler_and_stops_it_first(
    settings_for: Callable[..., Settings],
    db_url: str,
    x_api: FakeX,
    tmp_path: Path,
    twarc: Callable[..., dict[str, Any]],
) -> None:
    settings: Settings = settings_for(db_url, **_env(x_api, tmp_path, LISTENER_SCHEDULER_COLLECT="false"))
    quiet: Settings = settings_for(db_url, **_env(x_api, tmp_path, LISTENER_X_STREAM="false"))
    async with open_services(quiet, notice=lambda *_: None) as services:
        assert start_stream(services) is None  # stream = false: nothing starts

    stop = asyncio.Event()
    line = stream_lines(twarc("two_tweets"), ["lovelocal"])[0]
    async with open_services(settings, notice=lambda *_: None) as services:
        running = asyncio.create_task(serve(services, "127.0.0.1", 0, with_scheduler=True, stop=stop))
        await asyncio.wait_for(x_api.connected.wait(), 15)
        x_api.send(line)

        async def stored() -> bool:
            async with services.sessions() as session:
                ids = set((await session.execute(select(Post.platform_id))).scalars())
            return line_ids(line) <= ids

        await eventually(stored, "the streamed tweet stored by the service")
        stop.set()
        await asyncio.wait_for(running, 15)
        async with services.sessions() as session:
            source = await session.scalar(select(Source).where(Source.name == "x-stream"))
    assert source is not None
    assert source.status == "idle"


async def _true(value: bool) -> bool:
    return value
