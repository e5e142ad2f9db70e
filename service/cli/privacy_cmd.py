"""`listener privacy`: forget an author everywhere, run the retention purge by hand, read the erasure log.

`forget` erases in one transaction (a `--dry-run` is the same transaction rolled back, so it shows exactly
what would go). Its confirmation line and the audit log name the author by pseudonym only: the handle the
operator typed is not repeated in logs or records.
"""

from __future__ import annotations

import json
from typing import Any

import click

from jobs import retention
from jobs.runner import run_job
from listener.post import Platform
from service.cli.main import UserFacingError, cli_context, run_async
from service.settings import Settings
from service.wiring import open_services
from storage.repositories._sql import utcnow
from storage.repositories.privacy import PrivacyError, erasures, forget_author, resolve_author

# The order of the confirmation line: the author's own rows first, then what was cleaned around them.
ORDER = (
    "authors", "posts", "post_campaigns", "engagement_snapshots", "analyses", "mentions", "stories",
    "story_transitions", "rights_requests", "discovered_businesses", "quotes_stripped", "posts_scrubbed",
    "quarantine", "report_rows", "raw_payloads",
)  # fmt: skip


def describe(counts: dict[str, Any]) -> str:
    known = [k for k in ORDER if counts.get(k)]
    rest = sorted(k for k, v in counts.items() if k not in ORDER and isinstance(v, int) and v)
    return ", ".join(f"{k} {counts[k]}" for k in known + rest) or "nothing"


async def _forget(
    settings: Settings, platform: str, handle: str | None, author_id: str | None, dry_run: bool
) -> dict[str, Any]:
    async with open_services(settings) as services, services.sessions() as session:
        transaction = await session.begin()
        try:
            author = await resolve_author(session, platform, handle=handle, platform_id=author_id)
            result = await forget_author(session, author, key=services.pseudonym_key(), now=utcnow())
        except PrivacyError as exc:
            await transaction.rollback()
            error = UserFacingError(str(exc))
            error.exit_code = exc.exit_code
            raise error from None
        if dry_run:
            await transaction.rollback()
        else:
            await transaction.commit()
        return {
            "dry_run": dry_run,
            "platform": platform,
            "subject": result.subject,
            "audit_id": None if dry_run else result.audit_id,
            "counts": result.counts,
        }


@click.group("privacy")
def privacy_group() -> None:
    """Erase an author on request, purge old personal data, read the erasure log (see README "Privacy")."""


@privacy_group.command("forget")
@click.option(
    "--platform", required=True, type=click.Choice([p.value for p in Platform]), help="The author's platform."
)
@click.option("--author", "handle", help="The handle, current or former (with or without '@').")
@click.option("--author-id", help="The account's id on the platform (when a handle names several accounts).")
@click.option("--dry-run", is_flag=True, help="Show what would be erased; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@click.pass_context
def forget_cmd(
    ctx: click.Context, platform: str, handle: str | None, author_id: str | None, dry_run: bool, as_json: bool
) -> None:
    """Erase an author's posts and everything derived from them (analyses, mentions, stories, rights
    requests, snapshots, quarantined payloads, rows of stored reports), their traces in other people's
    reposts, quotes and replies, and the author; the erasure is logged by pseudonym and counts."""
    if (handle is None) == (author_id is None):
        raise click.UsageError("give exactly one of --author HANDLE and --author-id ID")
    result = run_async(_forget(cli_context(ctx).settings, platform, handle, author_id, dry_run))
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    who = f"{platform} author {result['subject']}"
    if dry_run:
        click.echo(f"dry run: forgetting {who} would erase {describe(result['counts'])}; nothing was changed")
    else:
        click.echo(f"forgot {who}: {describe(result['counts'])} (privacy log #{result['audit_id']})")


def _rule(days: int) -> str:
    return f"after {days} days" if days else "kept (rule off)"


async def _purge(settings: Settings, dry_run: bool) -> dict[str, Any]:
    async with open_services(settings) as services:
        if dry_run:
            return await retention.run(services, dry_run=True)
        outcome = await run_job(services, "retention", retention.run)
        if outcome.error:
            raise UserFacingError(f"the purge failed: {outcome.error} (the batches before it are done)")
        return outcome.detail


@privacy_group.command("purge")
@click.option("--dry-run", is_flag=True, help="Count what the rules would remove; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@click.pass_context
def purge_cmd(ctx: click.Context, dry_run: bool, as_json: bool) -> None:
    """Apply the [retention] rules now (the scheduler does it daily): blank old raw payloads, delete old
    quarantined payloads and old posts of people who never took part in the rights flow."""
    settings = cli_context(ctx).settings
    result = run_async(_purge(settings, dry_run))
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    rules = settings.retention
    shown = describe({k: v for k, v in result.items() if k not in ("dry_run", "batches", "seconds")})
    raw, quiet = _rule(rules.raw_payload_days), _rule(rules.non_interacting_days)
    days = f"raw payloads: {raw}; posts of non-interacting people: {quiet}"
    if dry_run:
        click.echo(f"dry run ({days}): would remove {shown}; nothing was changed")
    else:
        click.echo(f"purged ({days}): {shown}")


@privacy_group.command("log")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000), help="How many entries.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def log_cmd(ctx: click.Context, limit: int, as_json: bool) -> None:
    """The erasure log, newest first: when, why, whose pseudonym, how many rows of each table."""

    async def rows(settings: Settings) -> list[dict[str, Any]]:
        async with open_services(settings) as services, services.sessions() as session:
            return [
                {
                    "id": e.id,
                    "at": e.at.isoformat(),
                    "kind": e.kind,
                    "platform": e.platform,
                    "subject": e.subject,
                    "actor": e.actor,
                    "counts": e.counts,
                }
                for e in await erasures(session, limit)
            ]

    entries = run_async(rows(cli_context(ctx).settings))
    if as_json:
        click.echo(json.dumps(entries, indent=2))
        return
    if not entries:
        click.echo("nothing has been erased yet")
    for e in entries:
        subject = f" {e['platform']} {e['subject']}" if e["subject"] else ""
        click.echo(f"#{e['id']} {e['at']} {e['kind']}{subject} by {e['actor']}: {describe(e['counts'])}")


COMMANDS = [privacy_group]
