"""`listener notify ...` and the SMTP line of `listener check`, through the real click CLI against a real database
and a real SMTP server on loopback."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from jobs.services import Services
from service.cli.main import cli
from tests.jobs.notify_setup import EMAIL_EN, EMAIL_FR, SmtpServer, build_week, smtp_server

# A week that is over whatever day the tests run (the fixture's own week, W47, ends on 2026-11-23).
WEEK = "2026-W46"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in [n for n in os.environ if n.startswith("LISTENER_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def _invoke(db_url: str, tmp_path: Path, args: list[str], **env: str) -> Result:
    environ = {
        "LISTENER_DATABASE_URL": db_url,
        "LISTENER_DATA_DIR": str(tmp_path / "data"),
        "LISTENER_MASTODON_ENABLED": "false",
        **env,
    }
    return CliRunner().invoke(cli, args, env=environ, catch_exceptions=False)


async def run(db_url: str, tmp_path: Path, *args: str, **env: str) -> Result:
    # The CLI runs its own event loop: give it a thread of its own.
    return await asyncio.to_thread(_invoke, db_url, tmp_path, list(args), **env)


async def test_check_says_whether_smtp_is_configured(db_url: str, tmp_path: Path) -> None:
    bare = await run(db_url, tmp_path, "check")
    assert bare.exit_code == 0, bare.output
    assert "smtp: not configured: no digest or alert e-mail is sent" in bare.output
    assert "LISTENER_SMTP_HOST" in bare.output
    env = SmtpServer(port=2525, ca_file=None).env(tls="starttls", LISTENER_SMTP_USERNAME="mailer")
    configured = await run(db_url, tmp_path, "check", **env)
    assert "smtp: 127.0.0.1:2525 (tls starttls), from Campagne <noreply@campaign.test>, login mailer but " in (
        configured.output
    )
    assert "LISTENER_SMTP_PASSWORD is not set" in configured.output
    with_password = await run(db_url, tmp_path, "check", **env, LISTENER_SMTP_PASSWORD="hunter2-smtp-pass")
    assert "login mailer; digests and alerts scheduled" in with_password.output
    assert "hunter2-smtp-pass" not in with_password.output


async def test_commands_refuse_to_send_without_smtp(db_url: str, tmp_path: Path) -> None:
    for args in (["notify", "digests"], ["notify", "alerts"], ["notify", "test-email", "--to", "a@example.test"]):
        result = await run(db_url, tmp_path, *args)
        assert result.exit_code == 2, result.output
        assert "SMTP is not configured" in result.output
        assert "[smtp] host and from_address" in result.output
    bad = await run(db_url, tmp_path, "notify", "digests", "--week", "2026-47", "--dry-run")
    assert bad.exit_code == 2
    assert "use the form 2026-W47" in bad.output


async def test_test_email_and_digests_through_the_cli(services: Services, db_url: str, tmp_path: Path) -> None:
    await build_week(services)
    with smtp_server() as server:
        env = server.env()
        sent = await run(db_url, tmp_path, "notify", "test-email", "--to", "ops@example.test", **env)
        assert sent.exit_code == 0, sent.output
        assert "sent a test message to ops@example.test" in sent.output
        [test] = server.to("ops@example.test")
        assert test["Subject"] == "campaign-listener: test message"

        dry = await run(db_url, tmp_path, "notify", "digests", "--week", WEEK, "--dry-run", "--json", **env)
        assert [w["user"] for w in json.loads(dry.stdout)["would_send"]] == [EMAIL_FR, EMAIL_EN]
        assert len(server.received) == 1

        first = await run(db_url, tmp_path, "notify", "digests", "--week", WEEK, "--json", **env)
        assert first.exit_code == 0, first.output
        assert json.loads(first.stdout)["sent"] == 2
        again = await run(db_url, tmp_path, "notify", "digests", "--week", WEEK, **env)
        assert "sent 0, already sent 2" in again.output
        assert len(server.to(EMAIL_FR)) == 1

    status = await run(db_url, tmp_path, "notify", "status", **env)
    assert status.exit_code == 0, status.output
    assert "deliveries: digest sent 2" in status.output
    assert f"{WEEK}  sent" in status.output
    # The server is gone now: a test message fails with the setting to check, exit 1.
    down = await run(db_url, tmp_path, "notify", "test-email", "--to", "ops@example.test", **env)
    assert down.exit_code == 1
    assert "cannot connect to the SMTP server 127.0.0.1:" in down.output
    assert "LISTENER_SMTP_PORT" in down.output
