"""`listener analyse [--limit N] [--reanalyse]`: analyse stored posts (languages, merchants, sentiment, signals)."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from jobs.analyse import analyse
from service.cli.main import cli_context, run_async
from service.settings import Settings
from service.wiring import open_services
from storage.repositories.analyses import unanalysed_count


async def _analyse(settings: Settings, limit: int | None, reanalyse: bool, show: bool) -> dict[str, Any]:
    async with open_services(settings) as services:
        async with services.sessions() as session:
            pending = await unanalysed_count(session)
        total = min(pending, limit) if limit is not None and not reanalyse else (limit or pending)
        if show:
            click.echo("loading the analysis pipeline (French model, language detector, sentiment model)…", err=True)
        with click.progressbar(length=max(total, 1), label="analysing", hidden=not show, file=sys.stderr) as bar:
            return await analyse(services, limit=limit, reanalyse=reanalyse, progress=bar.update)


@click.command("analyse")
@click.option("--limit", type=click.IntRange(1), default=None, help="Analyse at most N posts.")
@click.option("--reanalyse", is_flag=True, help="Analyse again posts that already have an analysis.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.pass_context
def analyse_cmd(ctx: click.Context, limit: int | None, reanalyse: bool, as_json: bool) -> None:
    """Analyse un-analysed posts in batches: language, merchant links, discovered businesses, sentiment and
    story signals. Each result records the pipeline version, so a model upgrade can re-analyse."""
    result = run_async(_analyse(cli_context(ctx).settings, limit, reanalyse, show=not as_json and sys.stderr.isatty()))
    if as_json:
        click.echo(json.dumps(result, indent=2))
    elif result["analysed"]:
        click.echo(f"analysed {result['analysed']} post(s) with {result['pipeline_version']}")
    else:
        click.echo("nothing to analyse: every stored post has an analysis (--reanalyse to redo them)")


COMMANDS = [analyse_cmd]
