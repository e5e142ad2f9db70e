"""`listener collect` (one run of every ready source, or one) and `listener sources` (their state)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import click

from jobs.collect import collect
from jobs.runner import run_job
from jobs.services import Services
from listener.readiness import UNCOLLECTABLE, source_readiness
from service.cli.main import cli_context, run_async
from service.settings import Settings
from service.wiring import open_services
from storage.repositories import sources as sources_repo
from storage.repositories.quarantine import counts_by_source


async def _collect(settings: Settings, only: str | None) -> list[dict[str, Any]]:
    """One run, recorded in the job history under the scheduler's names ("collect", "collect:<source>"): the
    weekly report's coverage counts the hours a source was collected from that history, by hand or not."""

    async def job(services: Services) -> dict[str, Any]:
        return {"sources": [r.as_dict() for r in await collect(services, only)]}

    async with open_services(settings) as services:
        outcome = await run_job(services, "collect" if only is None else f"collect:{only}", job)
    if outcome.error is not None:
        raise click.ClickException(f"the collection failed: {outcome.error} (recorded in `listener jobs`)")
    return list(outcome.detail["sources"])


@click.command("collect")
@click.option("--source", "only", default=None, help="Only this source (x, mastodon, bluesky, instagram, rss).")
@click.option("--json", "as_json", is_flag=True, help="Print the run's figures as JSON.")
@click.pass_context
def collect_cmd(ctx: click.Context, only: str | None, as_json: bool) -> None:
    """Collect new campaign posts once from every ready source (the scheduler runs the same job).

    Exit code 1 when a source failed or was degraded; a rate-limited source is not an error (it
    resumes after its reset from where it stopped).
    """
    settings = cli_context(ctx).settings
    ready = {r.name: r for r in source_readiness(settings)}
    if only is not None and only not in ready:
        raise click.BadParameter(f"unknown source {only!r} (known: {', '.join(ready)})", param_hint="--source")
    if only is not None and not ready[only].ready:
        raise click.ClickException(f"{only}: {ready[only].describe()}")
    results = run_async(_collect(settings, only))
    if as_json:
        click.echo(json.dumps(results, indent=2))
    elif not results:
        click.echo("no source is ready to collect: see `listener check`")
    for r in results if not as_json else []:
        line = (
            f"{r['source']}: {r['status']} · {r['pages']} page(s), {r['new']} new, {r['updated']} updated, "
            f"{r['unchanged']} unchanged, {r['quarantined']} quarantined"
        )
        click.echo(line + (f" · {r['detail']}" if r["detail"] else ""))
    if any(r["status"] in ("failed", "degraded") for r in results):
        ctx.exit(1)


async def _sources(settings: Settings) -> list[dict[str, Any]]:
    async with open_services(settings) as services, services.sessions() as session:
        slugs = {cid: slug for slug, cid in services.campaign_ids.items()}
        rows = {s.name: s for s in await sources_repo.all_sources(session)}
        quarantined = await counts_by_source(session)
        out = []
        states = {r.name: (r.describe(), r.ready) for r in source_readiness(settings)}
        # Rows without a readiness entry (the X filtered stream, `x-stream`) are shown too.
        for name in rows:
            states.setdefault(name, ("near-real-time stream" if name == "x-stream" else "known source", True))
        for name, (state, ready) in states.items():
            row = rows.get(name)
            checkpoints = await sources_repo.checkpoints_of(session, row.id) if row else []
            out.append(
                {
                    "source": name,
                    "state": state,
                    "ready": ready,
                    "status": row.status if row else "never run",
                    "detail": row.status_detail if row else None,
                    "last_run_at": row.last_run_at.isoformat() if row and row.last_run_at else None,
                    "last_new_posts": row.last_new_posts if row else 0,
                    "rate_limited_until": (
                        row.rate_limited_until.isoformat()
                        if row and row.rate_limited_until and row.rate_limited_until > datetime.now(UTC)
                        else None
                    ),
                    "quarantined": quarantined.get(name, 0),
                    "checkpoints": {
                        f"{slugs.get(c.campaign_id, c.campaign_id)} {c.query_key}": c.position for c in checkpoints
                    },
                }
            )
        return out


@click.command("sources")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def sources_cmd(ctx: click.Context, as_json: bool) -> None:
    """Each source: enabled or why not, last run, new posts, rate-limit state, checkpoint, quarantine."""
    rows = run_async(_sources(cli_context(ctx).settings))
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for r in rows:
        click.echo(f"{r['source']}: {r['state']}")
        if r["last_run_at"]:
            click.echo(f"  last run {r['last_run_at']}: {r['status']}, {r['last_new_posts']} new post(s)")
        if r["detail"] and not r["rate_limited_until"]:
            click.echo(f"  {r['detail']}")
        if r["rate_limited_until"]:
            click.echo(f"  rate limited until {r['rate_limited_until']}")
        if r["quarantined"]:
            click.echo(f"  {r['quarantined']} payload(s) in quarantine")
        for key, position in r["checkpoints"].items():
            click.echo(f"  checkpoint {key}: {json.dumps(position)}")
    for name, why in UNCOLLECTABLE.items():
        click.echo(f"{name}: not collectable. {why}")


COMMANDS = [collect_cmd, sources_cmd]
