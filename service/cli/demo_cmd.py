"""`listener demo`: load the bundled sample campaign into its own data directory, print the demo logins, and
serve the whole service (web app and scheduler, as `listener run` does) unless --no-serve.

The demo has its own configuration (service/samples/demo/listener.toml: the built-in campaigns, no
collectors) and keeps only LISTENER_LOG_LEVEL, LISTENER_SECRET_KEY and LISTENER_WEB_PUBLIC_URL from the
environment: a LISTENER_DATABASE_URL or ./listener.toml meant for a real deployment must never receive the
demo's fictitious posts. Everything lives in --data-dir (default data/demo); --database-url loads an empty
PostgreSQL database instead of the SQLite file there. Progress and logins go to stderr, like `listener run`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import click

from service.cli.main import UserFacingError, cli_context, run_async
from service.demo.load import DemoError, DemoResult, load_demo
from service.demo.logins import DEMO_LOGINS
from service.demo.samples import SAMPLES_DIR, SampleError
from service.logs import setup_logging
from service.serve import serve
from service.settings import Settings, load_settings
from service.wiring import open_services
from storage.migrate import SchemaState
from storage.repositories._sql import utcnow
from storage.repositories.stories import TransitionError

DEMO_CONFIG = SAMPLES_DIR / "listener.toml"
KEPT_ENV = ("LISTENER_LOG_LEVEL", "LISTENER_SECRET_KEY", "LISTENER_WEB_PUBLIC_URL")
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def demo_settings(
    data_dir: Path, database_url: str | None, host: str, port: int, environ: Mapping[str, str] = os.environ
) -> Settings:
    """The demo's settings: its own file, the data directory given, the web address given."""
    env = {name: environ[name] for name in KEPT_ENV if name in environ}
    env.update(LISTENER_DATA_DIR=str(data_dir), LISTENER_WEB_HOST=host, LISTENER_WEB_PORT=str(port))
    if database_url:
        env["LISTENER_DATABASE_URL"] = database_url
    if port and "LISTENER_WEB_PUBLIC_URL" not in env:
        env["LISTENER_WEB_PUBLIC_URL"] = f"http://{url_host(host)}:{port}"
    return load_settings(DEMO_CONFIG, env)


def say(line: str) -> None:
    click.echo(line, err=True)


def _migrated(state: SchemaState, url: str) -> None:
    say(f"database: created the tables of {url} (revision {state.current})")


def print_logins(result: DemoResult, url: str | None) -> None:
    say("demo logins (public passwords, for this demo only):")
    for login in DEMO_LOGINS:
        bound = f"  ({result.logins.merchant_name})" if login.role.value == "merchant" else ""
        say(f"  {login.role.value:<9} {login.email:<26} password {login.password}{bound}")
    if url is not None:
        say(f"sign in at {url}/login · queue {url}/queue · merchant portal {url}/merchant · reports {url}/reports")


def print_outcome(result: DemoResult) -> None:
    curation = result.curation
    if curation.featured:
        say(f"featured: story #{', #'.join(map(str, curation.featured))} (rights granted by the author's reply)")
    for warning in curation.warnings:
        say(f"note: {warning}")
    if not result.changed:
        say("the demo was already loaded: nothing changed")


async def _demo(settings: Settings, host: str, port: int, serve_after: bool) -> None:
    async with open_services(settings, _migrated) as services:
        try:
            result = await load_demo(services, utcnow(), say)
        except (DemoError, SampleError, LookupError, TransitionError) as exc:
            raise UserFacingError(f"demo: {exc}") from None
        print_outcome(result)
        if not serve_after:
            print_logins(result, None)
            say(f"loaded into {settings.data_dir}; serve it with: listener demo --data-dir {settings.data_dir}")
            return
        if host not in LOOPBACK:
            say(f"warning: listening on {host}: anyone who can reach it can sign in with the public demo passwords")

        def ready(url: str) -> None:
            print_logins(result, url)
            say(f"campaign-listener demo listening on {url} (Ctrl-C to stop)")

        await serve(services, host, port, with_scheduler=True, on_ready=ready)
    say("stopped cleanly")


@click.command("demo")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("data/demo"),
    show_default=True,
    help="Folder of the demo's database and files (created when missing).",
)
@click.option(
    "--database-url",
    default=None,
    metavar="URL",
    help="Load an empty database at URL (e.g. postgresql+asyncpg://...) instead of SQLite in --data-dir.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to serve on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="Port (0: any free).")
@click.option("--no-serve", is_flag=True, help="Load everything, print the logins and exit (for scripts).")
@click.pass_context
def demo_cmd(
    ctx: click.Context, data_dir: Path, database_url: str | None, host: str, port: int, no_serve: bool
) -> None:
    """Load a sample campaign of fictitious shops (French, Arabic and English posts from X, Mastodon, Bluesky
    and Instagram over the last three weeks) through the real pipeline, build the story queue and the
    weekly report, create demo logins, and serve the service. Running it again changes nothing."""
    context = cli_context(ctx)
    if context.config_path is not None:
        say(f"note: the demo uses its own configuration ({DEMO_CONFIG}); {context.config_path} is not read")
    settings = demo_settings(data_dir, database_url, host, port)
    setup_logging(
        "DEBUG" if context.verbose else settings.log_level, [s.reveal() for s in settings.secrets.values.values()]
    )
    say(f"demo: data directory {settings.data_dir}")
    run_async(_demo(settings, host, port, not no_serve))


COMMANDS = [demo_cmd]
