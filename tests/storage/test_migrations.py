"""Migrations: `upgrade head` on an empty database gives exactly the models (no drift), on both engines;
first use migrates a fresh database; an outdated or foreign database is refused with the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.engine import DatabaseError, create_engine
from storage.migrate import downgrade, ensure_schema, head_revision, schema_state, upgrade
from storage.models import Base


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def _drift(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        return await conn.run_sync(_diff)


async def test_upgrade_head_matches_the_models(engine: AsyncEngine) -> None:
    # The db_url fixture is migrated with `upgrade head` from empty; the schema must equal the models.
    assert await _drift(engine) == []
    state = await schema_state(engine)
    assert state.current == head_revision()
    assert state.up_to_date


async def test_downgrade_to_base_and_up_again(engine: AsyncEngine) -> None:
    await downgrade(engine, "base")
    async with engine.connect() as conn:
        tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert tables <= {"alembic_version"}
    state = await upgrade(engine)
    assert state.up_to_date
    assert await _drift(engine) == []


async def test_fresh_database_is_migrated_on_first_use(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'sub' / 'fresh.db'}")
    try:
        state, migrated = await ensure_schema(engine)
        assert migrated
        assert state.up_to_date
        state, migrated = await ensure_schema(engine)
        assert not migrated
    finally:
        await engine.dispose()


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
    finally:
        await engine.dispose()


async def test_outdated_database_is_refused_with_the_fix(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    try:
        with pytest.raises(DatabaseError, match="unknown to this version"):
            await ensure_schema(engine)
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head_revision()})


async def test_database_with_foreign_tables_is_refused(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'other.db'}")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE somebody_elses (id INTEGER)"))
        with pytest.raises(DatabaseError, match="no migration history"):
            await ensure_schema(engine)
    finally:
        await engine.dispose()


async def test_unreachable_database_names_the_variable() -> None:
    engine = create_engine("postgresql+asyncpg://postgres@127.0.0.1:1/nothing")
    try:
        with pytest.raises(DatabaseError, match="LISTENER_DATABASE_URL"):
            await schema_state(engine)
    finally:
        await engine.dispose()


def test_unwritable_data_directory_names_the_variable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(DatabaseError, match="LISTENER_DATA_DIR"):
        create_engine(f"sqlite+aiosqlite:///{blocker / 'sub' / 'x.db'}")
