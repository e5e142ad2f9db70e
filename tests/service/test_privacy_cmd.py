"""`listener privacy forget | purge | log` through the real click CLI on both databases: the dry run changes
nothing, the real run leaves no trace of the author, and nothing the command prints or records names them."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from jobs.services import Services
from listener.post import Author
from service.cli.main import cli
from storage.pseudonyms import pseudonym
from storage.repositories.ingest import ingest
from tests.storage.test_privacy_forget import MARIE, NEEDLES, OLD_HANDLE, _post, build_world, traces_of


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in [n for n in os.environ if n.startswith("LISTENER_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def _invoke(services: Services, *args: str) -> Result:
    env = {
        "LISTENER_DATABASE_URL": services.settings.database_url,
        "LISTENER_DATA_DIR": str(services.settings.data_dir),  # the same pseudonym key file
        "LISTENER_MASTODON_ENABLED": "false",
    }
    return CliRunner().invoke(cli, ["privacy", *args], env=env, catch_exceptions=False)


async def run(services: Services, *args: str) -> Result:
    return await asyncio.to_thread(_invoke, services, *args)  # the CLI runs its own event loop


async def test_forget_dry_run_then_for_real(services: Services) -> None:
    await build_world(services)
    before = await traces_of(services, NEEDLES)
    subject = pseudonym("x", MARIE.platform_id, services.pseudonym_key())

    dry = await run(services, "forget", "--platform", "x", "--author", "@marie_dupont", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert dry.stdout.startswith(f"dry run: forgetting x author {subject} would erase authors 1, posts 4,")
    assert "nothing was changed" in dry.stdout
    assert await traces_of(services, NEEDLES) == before

    done = await run(services, "forget", "--platform", "x", "--author", "marie_dupont", "--json")
    assert done.exit_code == 0, done.output
    result = json.loads(done.stdout)
    assert result["subject"] == subject
    assert result["counts"]["posts"] == 4
    assert isinstance(result["audit_id"], int)  # (PostgreSQL's sequence moved on in the rolled-back dry run)
    assert await traces_of(services, NEEDLES) == []

    log = await run(services, "log")
    assert log.exit_code == 0
    assert log.stdout.startswith(f"#{result['audit_id']} ")
    assert f"forget x {subject} by cli: authors 1, posts 4" in log.stdout
    for text in (dry.output, done.output, log.output):
        assert "marie" not in text.casefold()
        assert MARIE.platform_id not in text

    again = await run(services, "forget", "--platform", "x", "--author-id", MARIE.platform_id)
    assert again.exit_code == 1
    assert "nothing to forget" in again.stderr


async def test_forget_refuses_to_guess(services: Services) -> None:
    await build_world(services)
    missing = await run(services, "forget", "--platform", "x")
    assert missing.exit_code == 2
    assert "exactly one of --author HANDLE and --author-id ID" in missing.output
    unknown = await run(services, "forget", "--platform", "bluesky", "--author", "marie_dupont")
    assert unknown.exit_code == 1
    assert "error: no bluesky author has (or had) the handle @marie_dupont" in unknown.stderr
    # The former handle is held by someone else today: two accounts, the command says how to choose.
    async with services.sessions.begin() as session:
        await ingest(session, [_post("6600000077", Author("u-new", OLD_HANDLE), "Salut #LoveLocal", minutes=9)])
    ambiguous = await run(services, "forget", "--platform", "x", "--author", OLD_HANDLE)
    assert ambiguous.exit_code == 2
    assert "choose one with --author-id" in ambiguous.stderr
    assert await traces_of(services, NEEDLES) != []  # nothing was erased


async def test_purge_by_hand(services: Services) -> None:
    await build_world(services)
    dry = await run(services, "purge", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.stdout) == {"dry_run": True, "raw_payloads": 0, "quarantine": 0, "posts": 0}
    done = await run(services, "purge")
    assert done.exit_code == 0, done.output
    assert done.stdout.startswith("purged (raw payloads: after 90 days; posts of non-interacting people: after 365")
    assert done.stdout.rstrip().endswith(": nothing")
