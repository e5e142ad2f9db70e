"""`listener report`: a campaign's weekly reach report as files (html, pdf, csv, json), the same code the
scheduler runs every Monday. A week already stored is written as stored; `--regenerate` recomputes it from
the database (and replaces the stored numbers); `--email` sends it to the campaign's report_recipients."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from jobs import report
from jobs.mailer import MailError
from jobs.reporting import FORMATS, file_name, render
from jobs.reporting.mail import send_report
from jobs.reporting.pdf import PdfUnavailable
from jobs.reporting.weeks import IsoWeek, WeekError, resolve_week
from service.cli.main import UserFacingError, cli_context, run_async
from service.settings import Settings
from service.wiring import open_services
from storage.repositories._sql import utcnow


@dataclass(frozen=True)
class Outcome:
    result: report.Generated
    emailed: int | None
    problems: list[str]


def parse_formats(value: str) -> list[str]:
    formats = [f.strip().lower() for f in value.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise click.BadParameter(
            f"unknown format {', '.join(unknown) or '(none)'}: use a comma-separated list of {', '.join(FORMATS)}",
            param_hint="--format",
        )
    return list(dict.fromkeys(formats))


async def _run(settings: Settings, slug: str, week: IsoWeek, regenerate: bool, email: bool) -> Outcome:
    async with open_services(settings) as services:
        try:
            result = await report.generate(services, slug, week, regenerate=regenerate)
        except report.ReportError as exc:
            raise UserFacingError(str(exc)) from None
        if not email:
            return Outcome(result, None, [])
        recipients = settings.campaigns[slug].report_recipients
        if not recipients:
            return Outcome(result, None, [f"campaign {slug} has no report_recipients: list them in [campaigns.{slug}]"])
        try:
            return Outcome(result, await send_report(services, slug, result.data, recipients), [])
        except MailError as exc:
            return Outcome(result, None, [f"e-mail not sent: {exc}"])


def write_files(data: dict[str, Any], formats: list[str], out: Path, locale: str) -> tuple[list[Path], list[str]]:
    """Write each format (a PDF that cannot be made here is a problem, the other files are still written)."""
    written: list[Path] = []
    problems: list[str] = []
    out.mkdir(parents=True, exist_ok=True)
    for fmt in formats:
        try:
            content = render(data, fmt, locale)
        except PdfUnavailable as exc:
            problems.append(str(exc))
            continue
        path = out / file_name(data["campaign"]["slug"], data["week"], fmt)
        path.write_bytes(content)
        written.append(path)
    return written, problems


@click.command("report")
@click.option("--campaign", "slug", required=True, help="The campaign key, e.g. lovelocal (see `listener check`).")
@click.option(
    "--week",
    "week_text",
    default=None,
    help="ISO week YYYY-Www in the campaign's time zone, or 'current' for the week in progress. "
    "Default: the last complete week.",
)
@click.option(
    "--format",
    "formats_text",
    default="html,pdf,csv,json",
    show_default=True,
    help="Comma-separated formats to write: html, pdf, csv, json.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("."),
    show_default=True,
    help="Folder for the files report-NAME-YYYY-Www.EXT.",
)
@click.option("--regenerate", is_flag=True, help="Recompute a week already stored (its stored numbers are replaced).")
@click.option("--email", is_flag=True, help="Also e-mail the report to the campaign's report_recipients ([smtp]).")
@click.option(
    "--lang", type=click.Choice(["en", "fr"]), default=None, help="Language of the files ([reports] language)."
)
@click.pass_context
def report_cmd(
    ctx: click.Context,
    slug: str,
    week_text: str | None,
    formats_text: str,
    out: Path,
    regenerate: bool,
    email: bool,
    lang: str | None,
) -> None:
    """Write a campaign's weekly reach report (the stored one, or generated and stored now).

    Exit code 1 when a format could not be written (the others are) or the e-mail failed.
    """
    settings = cli_context(ctx).settings
    campaign = settings.campaigns.get(slug)
    if campaign is None:
        known = ", ".join(sorted(settings.campaigns))
        raise click.BadParameter(f"unknown campaign {slug!r} (known: {known})", param_hint="--campaign")
    try:
        week = resolve_week(week_text, utcnow(), campaign.timezone)
    except WeekError as exc:
        raise click.BadParameter(str(exc), param_hint="--week") from None
    formats = parse_formats(formats_text)
    outcome = run_async(_run(settings, slug, week, regenerate, email))
    result = outcome.result
    written, problems = write_files(result.data, formats, out, lang or settings.reports.language)
    what = {"stored": "as stored", "generated": "generated and stored", "regenerated": "regenerated"}[result.status]
    partial = " (partial: see its coverage section)" if result.data["coverage"]["partial"] else ""
    click.echo(f"{slug} {result.week}: {result.data['headline']['posts']:,} posts, {what}{partial}")
    for path in written:
        click.echo(f"wrote {path}")
    if outcome.emailed is not None:
        click.echo(f"e-mailed to {outcome.emailed} recipient(s)")
    for problem in problems + outcome.problems:
        click.echo(f"error: {problem}", err=True)
    if problems or outcome.problems:
        ctx.exit(1)


COMMANDS = [report_cmd]
