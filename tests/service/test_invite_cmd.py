"""`listener merchants invite` through the real click CLI on SQLite and PostgreSQL: one working single-use link
per address (by merchant id or stable key), JSON output, and errors that name the fix (exit code 1)."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from service.cli.main import cli
from storage.engine import create_engine, make_sessionmaker
from storage.repositories.invites import find_invite

Run = Callable[..., Result]
REGISTRY = "name;city\nBoulangerie Amal;Casablanca\nÉpicerie Zitouna;Rabat\n"


@pytest.fixture
def run(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    for name in list(os.environ):
        if name.startswith("LISTENER_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    env = {
        "LISTENER_DATABASE_URL": db_url,
        "LISTENER_DATA_DIR": str(tmp_path / "data"),
        "LISTENER_WEB_PUBLIC_URL": "https://listener.example.org",
        "LISTENER_CONFIG": None,
    }

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)

    registry = tmp_path / "merchants.csv"
    registry.write_text(REGISTRY, encoding="utf-8")
    assert invoke("merchants", "import", str(registry)).exit_code == 0
    return invoke


def _merchant_ids(run: Run) -> dict[str, int]:
    listed = json.loads(run("merchants", "list", "--json").output)
    return {m["name"]: m["id"] for m in listed}


def _valid(db_url: str, token: str) -> tuple[int, str] | None:
    async def check() -> tuple[int, str] | None:
        engine = create_engine(db_url)
        try:
            async with make_sessionmaker(engine)() as session:
                found = await find_invite(session, token)
                return None if found is None else (found.merchant_id, found.email)
        finally:
            await engine.dispose()

    return asyncio.run(check())


def test_invite_prints_one_link_per_address(run: Run, db_url: str) -> None:
    ids = _merchant_ids(run)
    result = run("merchants", "invite", "--merchant", str(ids["Boulangerie Amal"]), "--email", "A@amal.example",
                 "--email", "b@amal.example")  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = [line.split() for line in result.stdout.splitlines()]
    assert [email for email, _ in lines] == ["a@amal.example", "b@amal.example"]
    for email, link in lines:
        assert link.startswith("https://listener.example.org/invite/")
        assert _valid(db_url, link.rsplit("/", 1)[1]) == (ids["Boulangerie Amal"], email)
    assert "each link works once, for 7 days" in result.stderr

    by_key = run(
        "merchants", "invite", "--merchant", "epicerie zitouna|rabat", "--email", "z@zitouna.example", "--json"
    )
    assert by_key.exit_code == 0, by_key.output
    data = json.loads(by_key.stdout)
    assert (data["merchant_id"], data["merchant"]) == (ids["Épicerie Zitouna"], "Épicerie Zitouna")
    [invite] = data["invites"]
    assert _valid(db_url, invite["link"].rsplit("/", 1)[1]) == (ids["Épicerie Zitouna"], "z@zitouna.example")


def test_invite_errors_name_the_fix(run: Run) -> None:
    unknown = run("merchants", "invite", "--merchant", "999", "--email", "x@example.org")
    assert unknown.exit_code == 1
    assert "listener merchants list" in unknown.stderr
    bad = run("merchants", "invite", "--merchant", "1", "--email", "not-an-address")
    assert bad.exit_code == 1
    assert "not an e-mail address" in bad.stderr
    missing = run("merchants", "invite", "--merchant", "1")
    assert missing.exit_code == 2
    assert "--email" in missing.stderr
