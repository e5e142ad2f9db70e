"""`listener import FILE --format x-v2|csv --campaign NAME`: load an export into a campaign."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from jobs.imports import ImportFailed, ImportSummary, import_file
from listener.imports import CSV_COLUMNS, FORMATS
from service.cli.main import UserFacingError, cli_context, run_async
from service.settings import Settings
from service.wiring import open_services


async def _import(settings: Settings, path: Path, fmt: str, campaign: str, size: int, show: bool) -> ImportSummary:
    async with open_services(settings) as services:
        if campaign not in services.campaign_ids:
            raise UserFacingError(f"unknown campaign {campaign!r} (configured: {', '.join(services.campaign_ids)})")
        # Progress goes to a terminal's stderr only: stdout carries the summary, stderr the errors, for scripts.
        hidden = not show or not sys.stderr.isatty()
        with click.progressbar(length=size, label=f"importing {path.name}", hidden=hidden, file=sys.stderr) as bar:
            try:
                return await import_file(services, path, fmt, campaign, progress=bar.update)
            except ImportFailed as exc:
                raise UserFacingError(str(exc)) from None


@click.command("import", epilog=f"CSV columns: {', '.join(CSV_COLUMNS)} (id, created_at, text required).")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--format", "fmt", required=True, type=click.Choice(FORMATS), help="x-v2: twarc2 JSONL pages; csv.")
@click.option("--campaign", required=True, help="The campaign the posts belong to (see `listener check`).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON (no progress bar).")
@click.pass_context
def import_cmd(ctx: click.Context, file: Path, fmt: str, campaign: str, as_json: bool) -> None:
    """Import posts from an export file: X API v2 pages as JSON Lines (twarc2) or CSV.

    Ends with a summary: read, new, updated, unchanged and quarantined (lines or rows that could not be
    read are kept in the quarantine with their line number, and listed). The good lines are imported all
    the same; the exit code is 1 when any line was quarantined. Importing the same file again adds nothing.
    """
    settings = cli_context(ctx).settings
    if not file.is_file():
        raise UserFacingError(f"{file}: {'is a folder, not a file' if file.is_dir() else 'no such file'}")
    summary = run_async(_import(settings, file, fmt, campaign, file.stat().st_size, show=not as_json))
    if as_json:
        click.echo(json.dumps(summary.as_dict(), indent=2, ensure_ascii=False))
    else:
        for reason in summary.errors:
            click.echo(f"{file.name}: {reason}", err=True)
        if summary.quarantined > len(summary.errors):
            click.echo(f"{file.name}: ... and {summary.quarantined - len(summary.errors)} more", err=True)
        click.echo(
            f"{file.name} → {campaign}: read {summary.read}, new {summary.new}, updated {summary.updated}, "
            f"unchanged {summary.unchanged}, quarantined {summary.quarantined}"
        )
    if summary.quarantined:
        ctx.exit(1)


COMMANDS = [import_cmd]
