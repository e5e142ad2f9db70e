"""`listener run` (web app + scheduler, one process), `listener serve` (web app alone) and `listener worker`
(chosen roles, to split the service over processes and machines on PostgreSQL)."""

from __future__ import annotations

import socket
from collections.abc import Callable

import click

from jobs.roles import ROLES
from listener.readiness import source_readiness
from service import heap, prefork
from service.balance import Seat
from service.cli.main import cli_context, run_async
from service.serve import run_process, serve
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
            heap.settle()

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


async def _prepare(settings: Settings) -> None:
    async with open_services(settings):
        pass


async def _serve_child(settings: Settings, sock: socket.socket, ready: Callable[[], None], seat: Seat) -> bool:
    async with open_services(settings) as services:

        def settled(_url: str | None) -> None:
            heap.settle()
            ready()

        return await run_process(services, sock, roles=("web",), run_in_place=True, on_ready=settled, seat=seat)


@click.command("serve")
@_host
@_port
@click.option(
    "--processes",
    type=click.IntRange(0, prefork.MAX_PROCESSES),
    default=None,
    help="Web processes sharing the port (default [web] processes, 1; 0: one per core). More than one serves "
    "more requests at once on a machine with several cores.",
)
@click.pass_context
def serve_cmd(ctx: click.Context, host: str | None, port: int | None, processes: int | None) -> None:
    """Run the web app alone (no scheduled jobs), in one process or several sharing the port."""
    settings = cli_context(ctx).settings
    host, port = host or settings.web.host, settings.web.port if port is None else port
    count = settings.web.processes if processes is None else processes
    count = count or prefork.default_processes()
    if count == 1:
        run_async(_serve(settings, host, port, False))
        return
    sock = prefork.listening_socket(host, port)
    url = prefork.url_of(sock, host)
    # Once, before forking: a fresh database is created (and the campaigns synced) by one process, not raced
    # by all; the loop and the engine are closed again, so the children start with no thread to inherit.
    run_async(_prepare(settings))

    def child(shared: socket.socket, ready: Callable[[], None], seat: Seat) -> int:
        return 0 if run_async(_serve_child(settings, shared, ready, seat)) else 1

    def announce() -> None:
        click.echo(f"campaign-listener web app listening on {url} ({count} processes; Ctrl-C to stop)", err=True)

    code = prefork.Supervisor(sock, count, child).run(announce)
    sock.close()
    click.echo("stopped cleanly" if code == 0 else "stopped: a web process failed (see the log above)", err=True)
    ctx.exit(code)


async def _work(settings: Settings, roles: tuple[str, ...], host: str, port: int) -> bool:
    async with open_services(settings) as services:

        def ready(url: str | None) -> None:
            where = f", web app on {url}" if url else ""
            click.echo(f"campaign-listener worker ({', '.join(roles)}){where} (Ctrl-C to stop)", err=True)
            heap.settle()

        listen = (host, port) if "web" in roles else None
        ok = await run_process(services, listen, roles=roles, with_stream="collect" in roles, on_ready=ready)
    click.echo("stopped cleanly" if ok else "worker halted (see the log); restart it", err=True)
    return ok


@click.command("worker")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice(ROLES),
    help="What this process does; repeat for several. scheduler: the clock (one active per database, the "
    "others stand by); collect, stories, report: run the scheduled work of that kind; analyse: analyse new "
    "posts continuously; web: the web app.",
)
@_host
@_port
@click.pass_context
def worker_cmd(ctx: click.Context, roles: tuple[str, ...], host: str | None, port: int | None) -> None:
    """Run some roles of the service, to spread it over processes and machines (PostgreSQL).

    Work is claimed with row leases: a worker that dies (even kill -9) has its work picked up by the others.
    SIGTERM/Ctrl-C: no new work is taken, the batch in flight commits, exit 0.
    """
    settings = cli_context(ctx).settings
    if settings.is_sqlite:
        click.echo("note: workers are meant for PostgreSQL; on SQLite 'listener run' does it all", err=True)
    _summary(settings)
    ok = run_async(_work(settings, roles, host or settings.web.host, settings.web.port if port is None else port))
    if not ok:
        ctx.exit(1)


COMMANDS = [run_cmd, serve_cmd, worker_cmd]
