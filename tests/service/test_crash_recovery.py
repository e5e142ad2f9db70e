"""Crashes for real: `listener run` killed with SIGKILL in the middle of collection and again in the middle of
analysis, then restarted; three `listener worker --role analyse` over 20,000 posts on PostgreSQL with one
killed mid-way. Afterwards every post is stored once and analysed exactly once: the workers' own counts of
what they committed add up to the number of posts, no lease is left behind, the dead are recorded as such.

The X platform is a loopback HTTPS server (the production TLS path: `[sources.x] base_url` and `ca_file`)
serving X API v2 search pages by their `next_token`, slowly enough to be interrupted.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import text

from bench.corpus import synthetic_posts, x_v2_pages
from listener.session import X_API_HOST
from storage.engine import create_engine
from tests.listener.upstream import Upstream
from tests.processes import Running, listener, listener_env, run_cli

SEARCH = "/2/tweets/search/recent"
TOKEN = "AAAAAAAAAAAAAAAAAAAAAFakeBearerTokenForCrashTests0123456789abc"
CONFIG = """
[campaigns.lovelocal]
name = "#LoveLocal"
hashtags = ["LoveLocal"]
languages = ["ar", "fr", "en"]
timezone = "Africa/Casablanca"
"""
PAGES = 40  # 4,000 posts
PAGE_DELAY = 0.15  # seconds per page: collection takes ~6 s, time to kill it half-way
WAIT = 420.0  # generous: the machine may be shared; a healthy run takes well under a minute


class PagedX(Upstream):
    """X recent search serving the page a `next_token` names (so a restarted collector gets what it asks)."""

    def __init__(self, pages: list[bytes], **kw: object) -> None:
        super().__init__(tls_hostnames=[X_API_HOST], **kw)  # type: ignore[arg-type]
        self.pages = pages
        self.index = {json.loads(p)["meta"].get("next_token"): i + 1 for i, p in enumerate(pages)}
        self.served: list[int] = []

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.path != SEARCH:
            return web.json_response({"title": "Not Found"}, status=404)
        token = request.query.get("next_token")
        if request.query.get("since_id"):  # a later tick: nothing newer
            return web.json_response({"meta": {"result_count": 0}})
        number = self.index[token] if token else 0
        await asyncio.sleep(PAGE_DELAY)
        self.served.append(number)
        headers = {"x-rate-limit-limit": "450", "x-rate-limit-remaining": "449", "x-rate-limit-reset": "9999999999"}
        return web.Response(body=self.pages[number], content_type="application/json", headers=headers)


@pytest.fixture
def fake_x(tmp_path: Path) -> Iterator[PagedX]:
    """The fake X on its own event loop in a thread (the test itself drives subprocesses synchronously)."""
    pages = x_v2_pages(list(synthetic_posts(PAGES * 100, seed=11)))
    server = PagedX(pages, workdir=tmp_path / "tls")
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(timeout=30)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)


def _count(db: Path, sql: str) -> int:
    """A read-only look at the SQLite database while the service writes it (WAL lets readers in)."""
    if not db.exists():
        return 0
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        try:
            return int(conn.execute(sql).fetchone()[0])
        except sqlite3.OperationalError:  # the schema is not there yet
            return 0


def _wait(condition: Callable[[], bool], what: str, service: Running | None = None) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if service is not None and service.proc.poll() is not None:
            pytest.fail(f"the service exited ({service.proc.returncode}) before {what}:\n{service.text}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}" + (f"; stderr:\n{service.text}" if service else ""))
        time.sleep(0.05)


def _kill(service: Running) -> None:
    service.proc.send_signal(signal.SIGKILL)
    assert service.proc.wait(timeout=10) == -signal.SIGKILL


def test_listener_run_killed_mid_collection_and_mid_analysis_loses_and_doubles_nothing(
    tmp_path: Path, fake_x: PagedX
) -> None:
    config = tmp_path / "listener.toml"
    config.write_text(CONFIG, encoding="utf-8")
    env = listener_env(
        tmp_path,
        LISTENER_CONFIG=str(config),
        LISTENER_X_BASE_URL=fake_x.url,
        LISTENER_X_CA_FILE=str(fake_x.ca_file),
        LISTENER_X_BEARER_TOKEN=TOKEN,
        LISTENER_BLUESKY_ENABLED="false",
        LISTENER_INSTAGRAM_ENABLED="false",
        LISTENER_RSS_ENABLED="false",
        LISTENER_SCHEDULER_ANALYSE_POLL_SECONDS="0.2",
    )
    db = tmp_path / "data" / "listener.db"
    total = PAGES * 100
    posts = "SELECT count(*) FROM posts"
    analysed = "SELECT count(*) FROM posts WHERE analysed_at IS NOT NULL"

    # 1. Killed while collecting: some pages stored, not all.
    with listener(["run", "--port", "0"], env, tmp_path) as service:
        service.wait_for_url()
        _wait(lambda: _count(db, posts) >= 800, "800 posts collected", service)
        _kill(service)
    stored = _count(db, posts)
    assert 800 <= stored < total, "the kill did not land in the middle of collection"

    # 2. Restarted: collection resumes at the checkpoint; killed again while analysing.
    with listener(["run", "--port", "0"], env, tmp_path) as service:
        service.wait_for_url()
        _wait(lambda: 0 < _count(db, analysed) < total, "analysis under way", service)
        _kill(service)
    assert _count(db, analysed) < total, "the kill did not land in the middle of analysis"

    # 3. Restarted again: everything finishes; then a clean stop.
    with listener(["run", "--port", "0"], env, tmp_path) as service:
        service.wait_for_url()
        _wait(lambda: _count(db, analysed) == total and _count(db, posts) == total, "everything analysed", service)
        assert service.stop(signal.SIGTERM) == 0, service.text

    expected = {json.loads(p)["data"][i]["id"] for p in fake_x.pages for i in range(100)}
    with sqlite3.connect(db) as conn:
        ids = [row[0] for row in conn.execute("SELECT platform_id FROM posts")]
        assert len(ids) == total
        assert set(ids) == expected
        assert conn.execute("SELECT count(*) FROM analyses").fetchone()[0] == total
        # Exactly once: what the three processes counted as committed adds up to the posts, no more.
        assert conn.execute("SELECT sum(done) FROM workers").fetchone()[0] == total
        reasons = sorted(r[0] for r in conn.execute("SELECT stop_reason FROM workers"))
        assert reasons == ["process gone", "process gone", "stopped"]
        assert conn.execute("SELECT count(*) FROM posts WHERE lease_owner IS NOT NULL").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM job_runs WHERE status = 'running'").fetchone()[0] == 0
        interrupted = conn.execute("SELECT count(*) FROM job_runs WHERE error LIKE 'interrupted%'").fetchone()[0]
        assert interrupted >= 2  # the collect run of the first kill, the analyse run of the second
    # An operator sees the same story from the command line.
    shown = run_cli(["jobs", "--workers", "--json"], env, tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert sorted(w["stop_reason"] for w in json.loads(shown.stdout)) == ["process gone", "process gone", "stopped"]
    # The restarted collector asked for the page after the last one committed, not the first page again.
    assert fake_x.served.count(0) == 1


@pytest.mark.postgres
def test_three_analyse_workers_on_postgresql_one_killed_analyse_every_post_exactly_once(
    tmp_path: Path, pg_url: str
) -> None:
    total = 20_000
    env = listener_env(tmp_path, LISTENER_DATABASE_URL=pg_url, LISTENER_SCHEDULER_ANALYSE_POLL_SECONDS="0.2")
    made = run_cli(["bench", "generate", "--posts", str(total), "--database-url", pg_url], env, tmp_path)
    assert made.returncode == 0, made.stderr
    _sql(pg_url, "DELETE FROM mentions", "DELETE FROM analyses", "UPDATE posts SET analysed_at = NULL")
    assert _pg_count(pg_url, "SELECT count(*) FROM posts") == total

    analysed = "SELECT count(*) FROM posts WHERE analysed_at IS NOT NULL"
    with (
        listener(["worker", "--role", "analyse"], env, tmp_path) as one,
        listener(["worker", "--role", "analyse"], env, tmp_path) as two,
        listener(["worker", "--role", "analyse"], env, tmp_path) as three,
    ):
        mine = f"SELECT coalesce(max(done), 0) FROM workers WHERE pid = {int(two.proc.pid)}"  # noqa: S608 (an int)
        _wait(lambda: _pg_count(pg_url, mine) > 0, "the second worker's first batch", two)
        _kill(two)
        assert _pg_count(pg_url, analysed) < total, "the kill did not land mid-way"
        _wait(lambda: _pg_count(pg_url, analysed) == total, "every post analysed", one)
        assert one.stop(signal.SIGTERM) == 0, one.text
        assert three.stop(signal.SIGTERM) == 0, three.text

    assert _pg_count(pg_url, "SELECT count(*) FROM analyses") == total
    assert _pg_count(pg_url, "SELECT sum(done) FROM workers") == total  # exactly once
    assert _pg_count(pg_url, "SELECT count(*) FROM posts WHERE lease_owner IS NOT NULL") == 0
    assert _pg_count(pg_url, "SELECT count(*) FROM workers WHERE stop_reason = 'process gone'") == 1
    assert _pg_count(pg_url, "SELECT count(*) FROM workers WHERE stop_reason = 'stopped'") == 2


def _sql(url: str, *statements: str) -> None:
    async def run() -> None:
        engine = create_engine(url)
        async with engine.begin() as conn:
            for statement in statements:
                await conn.execute(text(statement))
        await engine.dispose()

    asyncio.run(run())


def _pg_count(url: str, sql: str) -> int:
    async def run() -> int:
        engine = create_engine(url)
        async with engine.connect() as conn:
            value = await conn.scalar(text(sql))
        await engine.dispose()
        return int(value or 0)

    return asyncio.run(run())
