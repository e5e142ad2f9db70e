"""`listener merchants import|list|export`: the merchant registry from and to regional directory CSVs."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from service.cli.main import UserFacingError, cli_context, run_async
from service.settings import Settings
from service.wiring import open_services
from storage.registry_csv import ParsedFile, RegistryFileError, parse_registry, write_registry
from storage.repositories.merchants import ImportResult, import_merchants, list_merchants, to_record


@click.group("merchants")
def merchants_group() -> None:
    """The merchant registry: import a directory CSV, list it, export it."""


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except IsADirectoryError:
        raise UserFacingError(f"{path} is a folder; give the CSV file") from None
    except OSError as exc:
        raise UserFacingError(f"cannot read {path}: {exc.strerror}") from None


async def _import(settings: Settings, parsed: ParsedFile, dry_run: bool) -> ImportResult:
    async with open_services(settings) as services, services.sessions() as session:
        async with session.begin():
            result = await import_merchants(session, parsed.rows)
            if dry_run:
                await session.rollback()
        return result


@merchants_group.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every row and report, but store nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def merchants_import(ctx: click.Context, file: Path, dry_run: bool, as_json: bool) -> None:
    """Import merchants from a CSV (UTF-8, comma or semicolon; see README "Merchant CSV").

    Re-importing updates merchants by their stable key (name + postcode, or city) instead of duplicating
    them. Every rejected row is reported with its line number; the good rows are imported all the same,
    and the exit code is 1 when any row was rejected.
    """
    settings = cli_context(ctx).settings
    try:
        parsed = parse_registry(_read(file))
    except RegistryFileError as exc:
        raise UserFacingError(f"{file}: {exc}") from None
    result = run_async(_import(settings, parsed, dry_run))
    errors = sorted(parsed.errors + result.errors)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "file": str(file),
                    "dry_run": dry_run,
                    "created": result.created,
                    "updated": result.updated,
                    "unchanged": result.unchanged,
                    "rejected": [{"line": line, "reason": reason} for line, reason in errors],
                    "warnings": parsed.warnings,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        for warning in parsed.warnings:
            click.echo(f"{file}: warning: {warning}", err=True)
        for line, reason in errors:
            click.echo(f"{file}:{line}: {reason}", err=True)
        verb = "would import" if dry_run else "imported"
        good = result.created + result.updated + result.unchanged
        click.echo(
            f"{verb} {good} merchant(s): {result.created} created, {result.updated} updated, "
            f"{result.unchanged} unchanged; {len(errors)} row(s) rejected"
        )
    if errors:
        ctx.exit(1)


async def _list(settings: Settings) -> list[dict[str, Any]]:
    async with open_services(settings) as services, services.sessions() as session:
        out = []
        for m in await list_merchants(session):
            out.append(
                {
                    "id": m.id,
                    "name": m.name,
                    "aliases": [a.alias for a in m.aliases if not a.blocked],
                    # A list: a merchant may have several accounts on one platform.
                    "handles": [f"{h.platform}:@{h.handle}" for h in m.handles],
                    "website": m.website,
                    "address": m.address,
                    "postcode": m.postcode,
                    "city": m.city,
                    "region": m.region,
                    "category": m.category,
                    "phone": m.phone,
                    "status": m.status,
                }
            )
        return out


@merchants_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (every field) instead of a table.")
@click.pass_context
def merchants_list(ctx: click.Context, as_json: bool) -> None:
    """List merchants with their ids (the id is what `users add --merchant` takes)."""
    rows = run_async(_list(cli_context(ctx).settings))
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("no merchants yet: import a directory with `listener merchants import FILE.csv`")
        return
    width = max(len(str(r["id"])) for r in rows)
    for r in rows:
        place = " ".join(x for x in (r["postcode"], r["city"]) if x) or "—"
        handles = " ".join(r["handles"])
        click.echo(f"{r['id']:>{width}}  {r['name']}  ·  {place}  ·  {r['category'] or '—'}  {handles}".rstrip())


async def _export(settings: Settings) -> tuple[str, int]:
    async with open_services(settings) as services, services.sessions() as session:
        merchants = await list_merchants(session)
        return write_registry(to_record(m) for m in merchants), len(merchants)


@merchants_group.command("export")
@click.argument("file", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.pass_context
def merchants_export(ctx: click.Context, file: Path | None) -> None:
    """Write the registry as CSV (UTF-8 with BOM, opens in Excel) to FILE, or to stdout without FILE.

    The file can be edited and imported again: the `id` column makes the import update those merchants.
    """
    data, count = run_async(_export(cli_context(ctx).settings))
    if file is None:
        sys.stdout.buffer.write(data.encode("utf-8"))
        sys.stdout.flush()
        return
    try:
        file.write_bytes(data.encode("utf-8"))
    except OSError as exc:
        raise UserFacingError(f"cannot write {file}: {exc.strerror}") from None
    click.echo(f"wrote {count} merchant(s) to {file}", err=True)


COMMANDS = [merchants_group]
