"""`listener db upgrade|status`: migrate the configured database, or say where it stands."""

from __future__ import annotations

import click

from service.cli.main import cli_context, run_async
from storage.engine import create_engine, redact_url
from storage.migrate import SchemaState, schema_state, upgrade


@click.group("db")
def db_group() -> None:
    """Database schema: migrate it (`upgrade`) or show its revision (`status`)."""


async def _upgrade(url: str) -> tuple[SchemaState, SchemaState]:
    engine = create_engine(url)
    try:
        before = await schema_state(engine)
        if before.current is None and before.has_tables:
            raise click.ClickException(
                "the database has tables but no migration history; use an empty database for campaign-listener"
            )
        after = before if before.up_to_date else await upgrade(engine)
        return before, after
    finally:
        await engine.dispose()


@db_group.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply every pending migration to the configured database (LISTENER_DATABASE_URL)."""
    settings = cli_context(ctx).settings
    before, after = run_async(_upgrade(settings.database_url))
    where = redact_url(settings.database_url)
    if before.up_to_date:
        click.echo(f"{where}: already at revision {after.current} (up to date)")
    else:
        click.echo(f"{where}: migrated from {before.current or 'empty'} to revision {after.current} (up to date)")


async def _status(url: str) -> SchemaState:
    engine = create_engine(url)
    try:
        return await schema_state(engine)
    finally:
        await engine.dispose()


@db_group.command("status")
@click.pass_context
def db_status(ctx: click.Context) -> None:
    """Show the database's revision and whether it is up to date (exit 1 when it is not)."""
    settings = cli_context(ctx).settings
    state = run_async(_status(settings.database_url))
    where = redact_url(settings.database_url)
    if state.up_to_date:
        click.echo(f"{where}: revision {state.current} (up to date)")
        return
    click.echo(f"{where}: revision {state.current or 'none'}, code expects {state.head}: run `listener db upgrade`")
    ctx.exit(1)


COMMANDS = [db_group]
