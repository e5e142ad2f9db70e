"""`listener jobs`: the history of job runs (scheduled or by hand), newest first; `--workers`: the service's
processes, alive or stopped, with what they committed."""

from __future__ import annotations

import json

import click

from service.cli.main import cli_context, run_async
from service.settings import Settings
from service.wiring import open_services
from storage.repositories.job_runs import recent_runs
from storage.repositories.workers import recent_workers


async def _runs(settings: Settings, limit: int, job: str | None) -> list[dict[str, object]]:
    async with open_services(settings) as services, services.sessions() as session:
        runs = await recent_runs(session, limit=limit, job=job)
        return [
            {
                "id": r.id,
                "job": r.job,
                "status": r.status,
                "started_at": r.started_at.isoformat(),
                "finished_at": r.finished_at.isoformat() if r.finished_at else None,
                "detail": r.detail,
                "error": r.error,
            }
            for r in runs
        ]


async def _workers(settings: Settings) -> list[dict[str, object]]:
    async with open_services(settings) as services, services.sessions() as session:
        return [
            {
                "id": w.id,
                "host": w.host,
                "pid": w.pid,
                "roles": w.roles.split(","),
                "started_at": w.started_at.isoformat(),
                "heartbeat_at": w.heartbeat_at.isoformat(),
                "stopped_at": w.stopped_at.isoformat() if w.stopped_at else None,
                "stop_reason": w.stop_reason,
                "done": w.done,
            }
            for w in await recent_workers(session)
        ]


@click.command("jobs")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000), help="How many runs.")
@click.option("--job", default=None, help="Only this job (e.g. housekeeping).")
@click.option("--workers", "show_workers", is_flag=True, help="Show the service's processes instead of job runs.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def jobs(ctx: click.Context, limit: int, job: str | None, show_workers: bool, as_json: bool) -> None:
    """Show recent job runs with their status, duration and counts (or, with --workers, the processes)."""
    if show_workers:
        found = run_async(_workers(cli_context(ctx).settings))
        if as_json:
            click.echo(json.dumps(found, indent=2))
            return
        for w in found:
            state = f"stopped ({w['stop_reason']})" if w["stopped_at"] else "alive"
            roles = ",".join(w["roles"])  # type: ignore[arg-type]
            click.echo(f"{w['started_at']}  {w['host']}:{w['pid']:<8} {roles:<28} {state:<24} done {w['done']}")
        if not found:
            click.echo("no worker has run yet")
        return
    runs = run_async(_runs(cli_context(ctx).settings, limit, job))
    if as_json:
        click.echo(json.dumps(runs, ensure_ascii=False, indent=2))
        return
    if not runs:
        click.echo("no job has run yet")
        return
    for r in runs:
        extra = r["error"] or json.dumps(r["detail"], ensure_ascii=False)
        click.echo(f"{r['started_at']}  {r['job']:<14} {r['status']:<8} {extra}")


COMMANDS = [jobs]
