"""The aiohttp app over a real loopback socket: health, readiness, the home page, headers and escaping.

Each test starts `create_app(services)` with aiohttp's own test server (no pytest plugin) on 127.0.0.1 and
talks to it over HTTP, on SQLite and on PostgreSQL through the `services` fixture. The home page is for
admins and curators: those tests sign a curator in first (`curator_client`).
"""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html.parser import HTMLParser
from pathlib import Path

import aiohttp.test_utils as aiotest
import pytest
from aiohttp import web
from sqlalchemy.ext.asyncio import create_async_engine

from jobs import housekeeping
from jobs.runner import run_job
from jobs.services import Services
from service.settings import load_settings
from storage.engine import create_engine, make_sessionmaker
from storage.migrate import head_revision
from storage.repositories.users import Role
from tests.web.curation_setup import make_user, sign_in
from web.app import create_app
from web.auth import SESSION_COOKIE

HOSTILE_NAME = "<script>alert(1)</script><img src=x onerror=alert(2)>"


@asynccontextmanager
async def client_for(services: Services) -> AsyncIterator[aiotest.TestClient[web.Request, web.Application]]:
    server = aiotest.TestServer(create_app(services), host="127.0.0.1")
    async with aiotest.TestClient(server) as client:
        yield client


@asynccontextmanager
async def curator_client(services: Services) -> AsyncIterator[aiotest.TestClient[web.Request, web.Application]]:
    """A client signed in as a curator (the home page is theirs and the admins')."""
    await make_user(services, "curator@example.org", Role.CURATOR)
    async with client_for(services) as client:
        await sign_in(client, "curator@example.org")
        yield client


_BLOCKS = {"td", "th", "tr", "li", "p", "h1", "h2", "caption", "footer", "header", "main", "table"}


class _Text(HTMLParser):
    """The text a person reads (tags dropped, entities decoded), with each element's text kept apart."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag in _BLOCKS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def page_text(page: str) -> tuple[str, list[str]]:
    parser = _Text()
    parser.feed(page)
    return " ".join("".join(parser.parts).split()), parser.tags


def assert_hardened(headers: object) -> None:
    assert hasattr(headers, "get")
    csp = headers.get("Content-Security-Policy")
    assert csp is not None
    assert "script-src 'self'" in csp
    assert "object-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert headers.get("X-Content-Type-Options") == "nosniff"
    assert headers.get("X-Frame-Options") == "DENY"


# --- health and readiness -----------------------------------------------------------------------------


async def test_healthz_answers_ok_json(services: Services) -> None:
    async with client_for(services) as client:
        response = await client.get("/healthz")
        assert response.status == 200
        assert response.content_type == "application/json"
        assert await response.json() == {"status": "ok"}


async def test_readyz_reports_the_schema_revision(services: Services) -> None:
    async with client_for(services) as client:
        response = await client.get("/readyz")
        assert response.status == 200
        body = await response.json()
    assert body == {"status": "ready", "database": "ok", "schema": head_revision()}


def _unreachable_url(kind: str, tmp_path: Path) -> str:
    if kind == "sqlite":
        # A folder that cannot exist (its parent is a file): even root cannot create the database there.
        blocker = tmp_path / "not-a-dir"
        blocker.write_text("a file, not a folder")
        return f"sqlite+aiosqlite:///{blocker / 'missing' / 'listener.db'}"
    return "postgresql+asyncpg://listener@127.0.0.1:1/listener"  # nothing listens on port 1


@pytest.mark.parametrize("kind", ["sqlite", "postgres-closed-port"])
async def test_readyz_is_503_not_500_when_the_database_is_unreachable(
    kind: str, tmp_path: Path, settings_for, caplog: pytest.LogCaptureFixture
) -> None:
    url = _unreachable_url(kind, tmp_path)
    # The engine is built directly: storage.engine.create_engine would refuse the SQLite path up front,
    # and the point here is a database that goes away while the app runs.
    engine = create_async_engine(url)
    services = Services(settings=settings_for(url), engine=engine, sessions=make_sessionmaker(engine))
    try:
        async with client_for(services) as client:
            response = await client.get("/readyz")
            assert response.status == 503
            assert await response.json() == {"status": "unavailable", "database": "unreachable"}
            # The process itself is still alive and says so.
            assert (await client.get("/healthz")).status == 200
            # A page that needs the database (a session cookie makes even the sign-in check read it) fails
            # without showing the operator's details to the visitor.
            client.session.cookie_jar.update_cookies({SESSION_COOKIE: "a-session-token"})
            page = await client.get("/")
            assert page.status == 500
            assert_hardened(page.headers)
            body = await page.text()
            assert body == "Internal error: the operator can find the details in the log.\n"
    finally:
        await engine.dispose()
    assert "readiness check failed" in caplog.text
    assert "unhandled error on GET /" in caplog.text


async def test_readyz_is_503_on_an_unmigrated_database(tmp_path: Path, settings_for) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    engine = create_engine(url)
    services = Services(settings=settings_for(url), engine=engine, sessions=make_sessionmaker(engine))
    try:
        async with client_for(services) as client:
            response = await client.get("/readyz")
            assert response.status == 503
            body = await response.json()
    finally:
        await engine.dispose()
    assert body == {"status": "unavailable", "database": "ok", "schema": None, "expected": head_revision()}


# --- the home page ------------------------------------------------------------------------------------


async def test_home_lists_the_default_campaigns_and_what_each_source_needs(services: Services) -> None:
    async with curator_client(services) as client:
        response = await client.get("/")
        assert response.status == 200
        assert response.content_type == "text/html"
        assert response.charset == "utf-8"
        page = await response.text()
    text, _ = page_text(page)
    assert "<title>campaign-listener · status</title>" in page
    assert page.count('<tr class="campaign">') == 2
    assert "lovelocal #LoveLocal #LoveLocal ar, fr, en MENA Africa/Casablanca" in text
    assert "soutenons #SoutenonsnosTPEPME #SoutenonsnosTPEPME fr France Europe/Paris" in text
    # The same readiness lines as `listener check`: the exact variable still missing.
    assert "x: disabled, set LISTENER_X_BEARER_TOKEN" in text
    assert "rss: disabled, list feeds in [sources.rss] feeds or LISTENER_RSS_FEEDS" in text
    assert "bluesky: disabled, set [sources.bluesky] handle or LISTENER_BLUESKY_HANDLE" in text
    assert "facebook: Facebook hashtags cannot be collected" in text
    assert "No job has run yet." in text


async def test_home_reflects_the_secrets_that_are_set(db_url: str, settings_for) -> None:
    settings = settings_for(db_url, LISTENER_X_BEARER_TOKEN="a-token-that-must-not-show-0123456789")
    engine = create_engine(db_url)
    services = Services(settings=settings, engine=engine, sessions=make_sessionmaker(engine))
    try:
        async with curator_client(services) as client:
            page = await (await client.get("/")).text()
    finally:
        await engine.dispose()
    text, _ = page_text(page)
    assert "set LISTENER_X_BEARER_TOKEN" not in text
    assert "x: enabled (recent search API v2)" in text
    assert "a-token-that-must-not-show" not in page


async def test_home_shows_recent_job_runs_with_errors_escaped(services: Services) -> None:
    async def broken(_: Services) -> dict[str, int]:
        raise RuntimeError("<b>feed</b> unreachable")

    await run_job(services, "housekeeping", housekeeping.run)
    await run_job(services, "collect-rss", broken)
    async with curator_client(services) as client:
        page = await (await client.get("/")).text()
    text, tags = page_text(page)
    assert "No job has run yet." not in text
    assert page.count('<tr class="job-run ok">') == 1
    assert page.count('<tr class="job-run failed">') == 1
    assert "RuntimeError: &lt;b&gt;feed&lt;/b&gt; unreachable" in page
    assert "<b>" not in page
    assert "b" not in tags
    assert '"campaigns": 2' in html.unescape(page)


# --- headers, errors, escaping ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/healthz", "/readyz", "/static/app.css", "/no/such/page", "/static/nope.css"])
async def test_every_response_carries_the_security_headers(services: Services, path: str) -> None:
    async with client_for(services) as client:
        response = await client.get(path)
        assert response.status in (200, 404)
        assert_hardened(response.headers)


async def test_unknown_route_is_a_plain_404_without_a_traceback(services: Services) -> None:
    async with client_for(services) as client:
        response = await client.get("/admin/../../etc/passwd?<script>")
        assert response.status == 404
        body = await response.text()
        assert_hardened(response.headers)
        wrong_method = await client.post("/", data=b"x")
        assert wrong_method.status == 405
        assert_hardened(wrong_method.headers)
    assert "Traceback" not in body
    assert "<script>" not in body
    assert 'File "' not in body


async def test_a_hostile_campaign_name_is_escaped(tmp_path: Path, db_url: str) -> None:
    config = tmp_path / "listener.toml"
    config.write_text(
        f'[campaigns.hostile]\nname = \'{HOSTILE_NAME}\'\nhashtags = ["LoveLocal"]\nregion = "<i>MENA</i>"\n',
        encoding="utf-8",
    )
    settings = load_settings(
        config_path=config,
        environ={"LISTENER_DATABASE_URL": db_url, "LISTENER_DATA_DIR": str(tmp_path / "data")},
    )
    assert settings.campaigns["hostile"].name == HOSTILE_NAME
    engine = create_engine(db_url)
    services = Services(settings=settings, engine=engine, sessions=make_sessionmaker(engine))
    try:
        async with curator_client(services) as client:
            response = await client.get("/")
            assert response.status == 200
            assert_hardened(response.headers)
            page = await response.text()
    finally:
        await engine.dispose()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in page
    assert "&lt;i&gt;MENA&lt;/i&gt;" in page
    assert "<script>alert" not in page
    assert "<img" not in page
    assert "<i>" not in page
    text, tags = page_text(page)
    assert HOSTILE_NAME in text  # shown literally, as text
    assert "script" not in tags
    assert "img" not in tags


async def test_home_shows_each_sources_last_run_and_quarantine(services: Services) -> None:
    from storage.repositories import sources as sources_repo
    from storage.repositories._sql import utcnow
    from storage.repositories.quarantine import quarantine

    async with services.sessions.begin() as session:
        row = await sources_repo.get_or_create(session, "mastodon", "mastodon")
        await sources_repo.record_run(
            session,
            row.id,
            status="degraded",
            detail="HTTP 503",
            new_posts=7,
            finished_at=utcnow(),
            rate_limited_until=None,
        )
        await quarantine(session, "mastodon", "mastodon", [("<not json>", "not valid JSON"), ({"x": 1}, "no uri")])
    async with curator_client(services) as client:
        text, _ = page_text(await (await client.get("/")).text())
    assert "degraded, 7 new" in text
    assert "2 in quarantine" in text
