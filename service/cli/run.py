"""`listener run` (web app + scheduler, one process) and `listener serve` (web app alone)."""

from __future__ import annotations

import click

from listener.readiness import source_readiness
from service.cli.main import cli_context, run_async
from service.serve import serve
from service.settings import Settings
from service.wiring import open_services


async def _serve(settings: Settings, host: str, port: int, with_scheduler: bool) -> None:
    async with open_services(settings) as services:

        def ready(url: str) -> None:
            if not with_scheduler:
                role = "web app"
            elif settings.scheduler.enabled:
                role = "web app and scheduler"
            else:
                role = "web app (scheduler disabled in the configuration)"
            click.echo(f"campaign-listener {role} listening on {url} (Ctrl-C to stop)", err=True)

        await serve(services, host, port, with_scheduler=with_scheduler, on_ready=ready)
    click.echo("stopped cleanly", err=True)


def _summary(settings: Settings) -> None:
    click.echo(f"campaigns: {', '.join(settings.campaigns)}", err=True)
    for source in source_readiness(settings):
        click.echo(f"source {source.name}: {source.describe()}", err=True)


_host = click.option("--host", default=None, help="Address to listen on (default [web] host, 127.0.0.1).")
_port = click.option("--port", default=None, type=click.IntRange(0, 65535), help="Port (default [web] port, 8080).")


@click.command("run")
@_host
@_port
@click.pass_context
def run_cmd(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Run the whole service in one process: scheduler and web app. SIGTERM/Ctrl-C stop it cleanly."""
    settings = cli_context(ctx).settings
    _summary(settings)
    run_async(_serve(settings, host or settings.web.host, settings.web.port if port is None else port, True))


@click.command("serve")
@_host
@_port
@click.pass_context
def serve_cmd(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Run the web app alone (no scheduled jobs)."""
    settings = cli_context(ctx).settings
    run_async(_serve(settings, host or settings.web.host, settings.web.port if port is None else port, False))


COMMANDS = [run_cmd, serve_cmd]
