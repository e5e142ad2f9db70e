"""`listener users add|list`: accounts for admins, curators and merchants (passwords hashed with Argon2id)."""

from __future__ import annotations

import json
import sys

import click

from service.cli.main import UserFacingError, cli_context, run_async
from service.settings import Settings
from service.wiring import open_services
from storage.passwords import check_policy, hash_password
from storage.repositories.users import Role, add_user, list_users, merchant_ids_of, normalise_email


@click.group("users")
def users_group() -> None:
    """User accounts: add them, list them."""


async def _add(settings: Settings, email: str, role: Role, password_hash: str, merchants: tuple[int, ...]) -> int:
    async with open_services(settings) as services, services.sessions.begin() as session:
        user = await add_user(session, email, role, password_hash, merchants)
        return user.id


def _password(email: str, from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise UserFacingError("--password-stdin: nothing was given on standard input")
        password = line.rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    check_policy(password, email)
    return password


@users_group.command("add")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]), help="What the user may do.")
@click.option("--merchant", "merchants", multiple=True, type=int, help="Merchant id (repeatable) for merchant users.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@click.pass_context
def users_add(ctx: click.Context, email: str, role: str, merchants: tuple[int, ...], password_stdin: bool) -> None:
    """Add a user. The password is prompted for (twice) unless --password-stdin is given."""
    settings = cli_context(ctx).settings
    email = normalise_email(email)
    password = _password(email, password_stdin)
    user_id = run_async(_add(settings, email, Role(role), hash_password(password), merchants))
    bound = f" for merchant(s) {', '.join(map(str, merchants))}" if merchants else ""
    click.echo(f"added {role} {email} (user {user_id}){bound}")


async def _list(settings: Settings) -> list[dict[str, object]]:
    async with open_services(settings) as services, services.sessions() as session:
        return [
            {
                "id": u.id,
                "email": u.email,
                "role": u.role,
                "disabled": u.disabled,
                "merchants": await merchant_ids_of(session, u.id),
            }
            for u in await list_users(session)
        ]


@users_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def users_list(ctx: click.Context, as_json: bool) -> None:
    """List users with their roles (never their passwords)."""
    rows = run_async(_list(cli_context(ctx).settings))
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        extra = f" merchants {r['merchants']}" if r["merchants"] else ""
        click.echo(f"{r['id']}  {r['email']}  {r['role']}{' (disabled)' if r['disabled'] else ''}{extra}")


COMMANDS = [users_group]
