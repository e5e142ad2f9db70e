"""Schema migrations: upgrade a database to the code's revision, tell where a database stands.

Alembic is driven programmatically (no alembic.ini to keep in sync): the migration scripts live in the
package, and the connection comes from our own async engine, so the same pragmas and drivers apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.engine import DatabaseError

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no migration scripts found"
    return head


@dataclass(frozen=True)
class SchemaState:
    current: str | None  # None: never migrated
    head: str
    has_tables: bool

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head

    @property
    def fresh(self) -> bool:
        return self.current is None and not self.has_tables


def _state(connection: Connection) -> SchemaState:
    current = MigrationContext.configure(connection).get_current_revision()
    tables = set(inspect(connection).get_table_names()) - {"alembic_version"}
    return SchemaState(current=current, head=head_revision(), has_tables=bool(tables))


def _upgrade(connection: Connection, target: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, target)


def _downgrade(connection: Connection, target: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.downgrade(cfg, target)


def _unreachable(exc: Exception) -> DatabaseError:
    reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc) else type(exc).__name__
    return DatabaseError(f"cannot open the database: {reason} (check LISTENER_DATABASE_URL)")


async def schema_state(engine: AsyncEngine) -> SchemaState:
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_state)
    except (OperationalError, DBAPIError, OSError) as exc:
        raise _unreachable(exc) from None


async def upgrade(engine: AsyncEngine, target: str = "head") -> SchemaState:
    """Apply migrations up to `target` in one transaction; returns the state afterwards."""
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade, target)
    except (OperationalError, OSError) as exc:
        raise _unreachable(exc) from None
    return await schema_state(engine)


async def downgrade(engine: AsyncEngine, target: str) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_downgrade, target)


async def ensure_schema(engine: AsyncEngine) -> tuple[SchemaState, bool]:
    """Make the database usable by the code: migrate a fresh (empty) one, refuse an outdated one.

    Returns the state and whether a migration was applied, so the caller can say so. A database that
    holds data at an older revision is not upgraded behind the user's back: that is `listener db upgrade`.
    """
    state = await schema_state(engine)
    if state.up_to_date:
        return state, False
    if state.fresh:
        return await upgrade(engine), True
    if state.current is None:
        raise DatabaseError(
            "the database has tables but no migration history; point LISTENER_DATABASE_URL at an empty "
            "database or at one created by `listener db upgrade`"
        )
    known = {rev.revision for rev in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    if state.current not in known:
        raise DatabaseError(
            f"the database is at revision {state.current}, unknown to this version of the code "
            "(it was migrated by a newer release): upgrade campaign-listener"
        )
    raise DatabaseError(
        f"the database is at revision {state.current}, the code expects {state.head}: run `listener db upgrade`"
    )
