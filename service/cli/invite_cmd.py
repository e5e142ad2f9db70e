"""`listener merchants invite --merchant ID|KEY --email E [--email E2 ...]`: invitation links to a merchant's
portal, printed for the operator to send (the web page /merchants/{id} makes them too).

Each link works once, for [web] invite_days days, and starts with [web] public_url: set it to the address
merchants use. Only the token's hash is stored, so a link shown here cannot be shown again; inviting the
same address again makes a new link and cancels the older one.
"""

from __future__ import annotations

import json
from datetime import timedelta

import click
from sqlalchemy import select

from service.cli.main import UserFacingError, cli_context, run_async
from service.settings import Settings
from service.wiring import open_services
from storage.models import Merchant
from storage.repositories import invites


async def _invite(settings: Settings, merchant: str, emails: tuple[str, ...]) -> tuple[int, str, list[tuple[str, str]]]:
    lifetime = timedelta(days=settings.web.invite_days)
    base = settings.web.public_url.rstrip("/") + "/invite/"
    async with open_services(settings) as services, services.sessions.begin() as session:
        query = select(Merchant.id, Merchant.name)
        if merchant.isdigit() and int(merchant) < 2**31:
            query = query.where(Merchant.id == int(merchant))
        else:
            query = query.where(Merchant.key == merchant)
        found = (await session.execute(query)).first()
        if found is None:
            raise UserFacingError(
                f"no merchant {merchant!r}: give its id or its key (see `listener merchants list --json`)"
            )
        links = []
        for email in emails:
            try:
                token, row = await invites.create_invite(session, found.id, email, invited_by=None, lifetime=lifetime)
            except invites.InviteError as exc:
                raise UserFacingError(f"{email}: {exc}") from None
            links.append((row.email, base + token))
        return int(found.id), str(found.name), links


@click.command("invite")
@click.option("--merchant", required=True, help="The merchant's id or stable key (`listener merchants list --json`).")
@click.option("--email", "emails", required=True, multiple=True, help="An address to invite (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def invite_cmd(ctx: click.Context, merchant: str, emails: tuple[str, ...], as_json: bool) -> None:
    """Invite people of a shop to its portal: prints one single-use link per address.

    The link opens a page where they choose a password; it works once, for [web] invite_days days.
    """
    settings = cli_context(ctx).settings
    merchant_id, name, links = run_async(_invite(settings, merchant.strip(), emails))
    if as_json:
        items = [{"email": email, "link": link} for email, link in links]
        click.echo(json.dumps({"merchant_id": merchant_id, "merchant": name, "invites": items}, ensure_ascii=False))
        return
    days = settings.web.invite_days
    for email, link in links:
        click.echo(f"{email}  {link}")
    click.echo(
        f"invited {len(links)} address(es) to {name} (merchant {merchant_id}); each link works once, for {days} days",
        err=True,
    )
