"""The `listener` command: global options, settings loaded once, and our errors turned into one clear line.

Exit codes: 0 success; 1 the command could not do (all of) its work (database unreachable, rows rejected,
a file unreadable); 2 the configuration or the command line is wrong. A traceback is never the answer to a
user's mistake; `-v` logs details to stderr for the operator.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click

from service.logs import setup_logging
from service.settings import ConfigError, Settings, load_settings

T = TypeVar("T")


class UserFacingError(Exception):
    """Raised by commands for a failure whose message already names the fix."""

    exit_code = 1


@dataclass
class CliContext:
    config_path: Path | None
    verbose: bool
    _settings: Settings | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_path)
            setup_logging(
                "DEBUG" if self.verbose else self._settings.log_level,
                [s.reveal() for s in self._settings.secrets.values.values()],
                self._settings.log_format,
            )
        return self._settings


def _known_errors() -> tuple[type[BaseException], ...]:
    from storage.engine import DatabaseError
    from storage.passwords import WeakPassword
    from storage.registry_csv import RegistryFileError
    from storage.repositories.users import UserError

    return (DatabaseError, RegistryFileError, UserError, WeakPassword, UserFacingError, OSError)


class ListenerGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            click.echo(f"error: configuration: {exc}", err=True)
            ctx.exit(2)
        except _known_errors() as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(getattr(exc, "exit_code", 1))


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def cli_context(ctx: click.Context) -> CliContext:
    obj = ctx.find_object(CliContext)
    assert obj is not None
    return obj


@click.group(cls=ListenerGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="LISTENER_CONFIG",
    help="TOML configuration file (default ./listener.toml when present; LISTENER_CONFIG).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log debug details to stderr.")
@click.version_option(package_name="campaign-listener", prog_name="listener")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, verbose: bool) -> None:
    """campaign-listener: social listening for campaigns that support local small businesses.

    Settings come from a TOML file and LISTENER_* environment variables (which win); secrets only from
    the environment. Start with `listener check`.
    """
    ctx.obj = CliContext(config_path=config_path, verbose=verbose)


def _register() -> None:
    from service.cli import (
        analyse_cmd,
        bench,
        check,
        collect,
        db,
        demo_cmd,
        explain,
        import_cmd,
        invite_cmd,
        jobs_cmd,
        merchants,
        nlp_cmd,
        notify_cmd,
        privacy_cmd,
        report_cmd,
        run,
        stories_cmd,
        users,
    )

    nlp_cmd.nlp_group.add_command(explain.explain_cmd)
    merchants.merchants_group.add_command(invite_cmd.invite_cmd)
    for module in (
        analyse_cmd,
        bench,
        check,
        collect,
        db,
        demo_cmd,
        import_cmd,
        jobs_cmd,
        merchants,
        nlp_cmd,
        notify_cmd,
        privacy_cmd,
        report_cmd,
        run,
        stories_cmd,
        users,
    ):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main() -> None:
    try:
        cli.main(prog_name="listener")
    except KeyboardInterrupt:  # pragma: no cover - interactive only
        click.echo("interrupted", err=True)
        sys.exit(130)
