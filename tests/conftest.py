"""Shared fixtures: real databases (SQLite always, PostgreSQL when reachable), settings, services.

Nothing of ours is mocked. SQLite databases are copies of one freshly migrated template (fast); PostgreSQL
gets one throw-away database per test session, migrated once and truncated between tests. A test needing
something absent (PostgreSQL, Chromium, ../shared) is skipped with the reason, unless CI set the matching
LISTENER_REQUIRE_* flag, in which case the absence is a failure.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from jobs.services import Services
from service.settings import Settings, load_settings
from storage.engine import create_engine, make_sessionmaker
from storage.migrate import head_revision, schema_state, upgrade
from storage.models import Base
from storage.repositories.campaigns import sync_campaigns
from storage.sqlite_reader import reader_for

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CORPORA = SHARED / "corpora"
DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1/test"


def skip_or_fail(flag: str, reason: str) -> None:
    """Skip, or fail when LISTENER_REQUIRE_<flag>=1 (CI): a required part must not silently vanish."""
    if os.environ.get(f"LISTENER_REQUIRE_{flag}") == "1":
        pytest.fail(f"{reason} (LISTENER_REQUIRE_{flag}=1 makes this a failure)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def corpora() -> Path:
    if not CORPORA.is_dir():
        skip_or_fail("CORPORA", f"../shared/corpora is absent ({CORPORA}); it holds the recorded payloads")
    return CORPORA


# --- SQLite -------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"

    async def build() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        await upgrade(engine)
        async with engine.connect() as conn:
            await conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        await engine.dispose()

    asyncio.run(build())
    return path


# --- PostgreSQL ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PgServer:
    url: str  # the throw-away database of this test session


def _pg_admin_url() -> str:
    return os.environ.get("LISTENER_TEST_DATABASE_URL", DEFAULT_PG_URL)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    admin_url = _pg_admin_url()
    name = f"listener_test_{uuid.uuid4().hex[:10]}"
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)

    async def create() -> str | None:
        engine = create_engine(admin_url)
        try:
            async with engine.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
        except Exception as exc:
            return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        finally:
            await engine.dispose()
        target = create_engine(url)
        await upgrade(target)
        await target.dispose()
        return None

    async def drop() -> None:
        engine = create_engine(admin_url)
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await engine.dispose()

    error = asyncio.run(create())
    if error:
        skip_or_fail(
            "POSTGRES",
            f"PostgreSQL is not reachable at {admin_url} ({error}); set LISTENER_TEST_DATABASE_URL",
        )
    yield PgServer(url=url)
    asyncio.run(drop())


async def _truncate(engine: AsyncEngine) -> None:
    """Empty every table and put the schema back at head (a test may have moved the revision)."""
    state = await schema_state(engine)
    if not state.has_tables or state.current is None:
        await upgrade(engine)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        await conn.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head_revision()})


# --- one database per test, on each engine ------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database URL: a SQLite file, then PostgreSQL (each test runs on both)."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "listener.db"
        shutil.copyfile(template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    yield request.getfixturevalue("pg_url")


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """The session's PostgreSQL database, emptied for this test (for PostgreSQL-only behaviour)."""

    async def reset() -> None:
        engine = create_engine(pg_server.url)
        await _truncate(engine)
        await engine.dispose()

    asyncio.run(reset())
    return pg_server.url


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    path = tmp_path / "listener.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def settings_for(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Build real Settings (defaults + the given env) pointing at a database URL, in a tmp data dir."""

    def build(database_url: str, **env: str) -> Settings:
        environ = {
            "LISTENER_DATA_DIR": str(tmp_path / "data"),
            "LISTENER_DATABASE_URL": database_url,
            # Tests never reach the network: the public Mastodon timeline is on by default, switch it off.
            "LISTENER_MASTODON_ENABLED": "false",
            **env,
        }
        return load_settings(config_path=None, environ=environ)

    return build


@pytest.fixture
def settings(db_url: str, settings_for) -> Settings:  # type: ignore[no-untyped-def]
    return settings_for(db_url)  # type: ignore[no-any-return]


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with make_sessionmaker(engine)() as session:
        yield session


@pytest.fixture
async def services(settings: Settings, engine: AsyncEngine) -> AsyncIterator[Services]:
    """What `open_services` gives a process, on the test's database: a SQLite one comes with its reader."""
    sessions = make_sessionmaker(engine)
    async with sessions.begin() as session:
        ids = await sync_campaigns(session, settings.campaigns)
    reader = reader_for(settings.database_url)
    yield Services(settings=settings, engine=engine, sessions=sessions, campaign_ids=ids, reader=reader)
    if reader is not None:
        reader.close()
