"""`listener notify`: the merchant e-mails by hand: weekly digests, spike alerts, a test message, and the
record of deliveries. The same job functions the scheduler runs (jobs/notify.py), so running one by hand
sends nothing twice."""

from __future__ import annotations

import json
from typing import Any

import click

from jobs import notify
from jobs.digest import parse_week
from jobs.mailer import MailError
from service.cli.main import UserFacingError, cli_context, run_async
from service.settings import Settings
from service.wiring import open_services
from storage.repositories import notifications as repo


class NotConfigured(UserFacingError):
    exit_code = 2


def _require_smtp(settings: Settings) -> None:
    if not settings.smtp.configured:
        raise NotConfigured(
            "SMTP is not configured, nothing can be sent: set [smtp] host and from_address in the config file "
            "(or LISTENER_SMTP_HOST and LISTENER_SMTP_FROM_ADDRESS); --dry-run shows what would be sent"
        )


def _print(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2, default=str))
        return
    for item in result.get("would_send", []):
        click.echo(f"would send to {item['user']} ({item['week']}): {item['subject']}")
    for spike in result.get("spikes", []):
        click.echo(
            f"spike: merchant {spike['merchant_id']}: {spike['negative']} negative mention(s), "
            f"threshold {spike['threshold']}"
        )
    counts = {k: v for k, v in result.items() if k not in ("would_send", "spikes")}
    click.echo(", ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts.items()))


@click.group("notify")
def notify_group() -> None:
    """Merchant e-mails: weekly digests, negative-mention spike alerts, a test message, deliveries."""


@notify_group.command("digests")
@click.option("--week", default=None, help="An ISO week such as 2026-W47 (default: the last week that is due).")
@click.option("--dry-run", is_flag=True, help="Compose and list the digests; send and record nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def digests(ctx: click.Context, week: str | None, dry_run: bool, as_json: bool) -> None:
    """Send the weekly digests that are due and not sent yet, and retry failed ones. Each user gets a
    week's digest once, however often this runs."""
    settings = cli_context(ctx).settings
    if week is not None:
        try:
            parse_week(week)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--week") from None
    if not dry_run:
        _require_smtp(settings)

    async def run() -> dict[str, Any]:
        async with open_services(settings) as services:
            return await notify.run_digests(services, week=week, dry_run=dry_run)

    _print(run_async(run()), as_json)


@notify_group.command("alerts")
@click.option("--dry-run", is_flag=True, help="Show the spikes the rule finds now; record and send nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def alerts(ctx: click.Context, dry_run: bool, as_json: bool) -> None:
    """Look for negative-mention spikes, send their alerts (once per spike), retry failed ones."""
    settings = cli_context(ctx).settings
    if not dry_run:
        _require_smtp(settings)

    async def run() -> dict[str, Any]:
        async with open_services(settings) as services:
            return await notify.run_alerts(services, dry_run=dry_run)

    _print(run_async(run()), as_json)


@notify_group.command("test-email")
@click.option("--to", "to", required=True, help="The address to send the test message to.")
@click.pass_context
def test_email(ctx: click.Context, to: str) -> None:
    """Send one test message through the configured SMTP server (checks host, port, TLS and login)."""
    settings = cli_context(ctx).settings
    _require_smtp(settings)

    async def run() -> str:
        async with open_services(settings) as services:
            return await notify.send_test_email(services, to)

    try:
        message_id = run_async(run())
    except MailError as exc:
        raise UserFacingError(str(exc)) from None
    click.echo(f"sent a test message to {to} (Message-ID {message_id})")


@notify_group.command("status")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000), help="How many deliveries.")
@click.option("--problems", is_flag=True, help="Only failed and abandoned deliveries.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of lines.")
@click.pass_context
def status(ctx: click.Context, limit: int, problems: bool, as_json: bool) -> None:
    """Recorded deliveries, newest first: who, what, which week or spike, when, and how it went."""
    settings = cli_context(ctx).settings

    async def run() -> tuple[dict[tuple[str, str], int], list[dict[str, Any]]]:
        async with open_services(settings) as services, services.sessions() as session:
            counts = await repo.status_counts(session)
            rows = await repo.deliveries(
                session, statuses=(repo.FAILED, repo.ABANDONED) if problems else None, limit=limit
            )
        return counts, [
            {
                "id": r.id,
                "to": r.to_address,
                "kind": r.kind,
                "period": r.period,
                "status": r.status,
                "attempts": r.attempts,
                "created_at": r.created_at.isoformat(),
                "sent_at": r.sent_at.isoformat() if r.sent_at else None,
                "error": r.error,
            }
            for r in rows
        ]

    counts, rows = run_async(run())
    if as_json:
        totals = {f"{kind}.{state}": n for (kind, state), n in sorted(counts.items())}
        click.echo(json.dumps({"totals": totals, "deliveries": rows}, ensure_ascii=False, indent=2))
        return
    smtp = "configured" if settings.smtp.configured else "NOT configured (nothing is sent)"
    click.echo(f"smtp: {smtp}")
    summary = ", ".join(f"{kind} {state} {n}" for (kind, state), n in sorted(counts.items()))
    click.echo(f"deliveries: {summary or 'none yet'}")
    for r in rows:
        error = f"  {r['error']}" if r["error"] else ""
        click.echo(f"{r['created_at']}  {r['kind']:<6} {r['period']:<9} {r['status']:<9} {r['to']}{error}")


COMMANDS = [notify_group]
