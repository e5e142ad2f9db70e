"""`listener stories`: run the featured-stories job now (score new analysed posts, grant rights from collected
consent replies, expire unanswered requests, archive ended features), the same code the scheduler runs."""

from __future__ import annotations

import json
from typing import Any

import click

from jobs import stories
from service.cli.main import cli_context, run_async
from service.settings import Settings
from service.wiring import open_services


async def _run(settings: Settings) -> dict[str, Any]:
    async with open_services(settings) as services:
        return await stories.run(services)


@click.command("stories")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.pass_context
def stories_cmd(ctx: click.Context, as_json: bool) -> None:
    """Score analysed posts into story candidates and move the rights workflow on (run `listener analyse`
    first for new posts). Safe to run any time: a second run changes nothing."""
    result = run_async(_run(cli_context(ctx).settings))
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(
        f"{result['stories']} new story candidate(s); rights granted {result['rights_granted']}, "
        f"expired {result['rights_expired']}; {result['archived']} feature(s) archived"
    )


COMMANDS = [stories_cmd]
