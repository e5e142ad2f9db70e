"""`listener check`: validate the configuration and say what each campaign and source still needs."""

from __future__ import annotations

import click

from listener.readiness import UNCOLLECTABLE, source_readiness
from service.cli.main import cli_context, run_async
from service.settings import Settings
from storage.engine import DatabaseError, create_engine, redact_url, sqlite_path
from storage.migrate import schema_state


async def _database_line(settings: Settings) -> tuple[str, bool]:
    path = sqlite_path(settings.database_url)
    where = redact_url(settings.database_url)
    if path is not None and not path.exists():
        return (
            f"{where}: not created yet (created and migrated on first use, or by `listener db upgrade`)",
            True,
        )
    engine = create_engine(settings.database_url)
    try:
        state = await schema_state(engine)
    except DatabaseError as exc:
        return f"{where}: {exc}", False
    finally:
        await engine.dispose()
    if state.up_to_date:
        return f"{where}: revision {state.current} (up to date)", True
    if state.fresh:
        return f"{where}: empty (migrated on first use, or by `listener db upgrade`)", True
    return f"{where}: revision {state.current}, code expects {state.head}: run `listener db upgrade`", False


def _smtp_line(settings: Settings) -> str:
    smtp = settings.smtp
    if not smtp.configured:
        return (
            "not configured: no digest or alert e-mail is sent (set [smtp] host and from_address, or "
            "LISTENER_SMTP_HOST and LISTENER_SMTP_FROM_ADDRESS)"
        )
    login = "no login"
    if smtp.username:
        has_password = settings.secrets.get("smtp_password") is not None
        login = f"login {smtp.username}" + ("" if has_password else " but LISTENER_SMTP_PASSWORD is not set")
    jobs = "digests and alerts scheduled" if settings.notifications.enabled else "[notifications] enabled = false"
    return f"{smtp.host}:{smtp.effective_port} (tls {smtp.tls}), from {smtp.from_address}, {login}; {jobs}"


@click.command("check")
@click.pass_context
def check(ctx: click.Context) -> None:
    """Validate the configuration; list campaigns and sources with what each still needs.

    Exits 2 when the configuration is invalid, 1 when the database is unusable, 0 otherwise (a source
    that still needs a credential is reported, not an error).
    """
    settings = cli_context(ctx).settings
    click.echo(f"config: {settings.config_path or 'built-in defaults (no listener.toml found)'}")
    click.echo(f"data directory: {settings.data_dir}")
    line, ok = run_async(_database_line(settings))
    click.echo(f"database: {line}")
    click.echo("campaigns:")
    for slug, c in settings.campaigns.items():
        dates = f", {c.start or '…'} → {c.end or '…'}" if c.start or c.end else ""
        tags = " ".join(f"#{t}" for t in c.hashtags)
        click.echo(
            f"  {slug}: {tags} · languages {', '.join(c.languages)} · region {c.region or '—'} · {c.timezone}{dates}"
        )
    click.echo("sources:")
    for source in source_readiness(settings):
        click.echo(f"  {source.name}: {source.describe()}")
    for name, why in UNCOLLECTABLE.items():
        click.echo(f"  {name}: not collectable. {why}")
    click.echo(f"smtp: {_smtp_line(settings)}")
    if not settings.secrets.get("secret_key"):
        click.echo("web: LISTENER_SECRET_KEY is not set; sessions will not survive a restart (set it in production)")
    if not ok:
        ctx.exit(1)


COMMANDS = [check]
