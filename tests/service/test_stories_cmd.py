"""`listener stories` through the real click CLI: it runs the stories job on the configured database."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from jobs.services import Services
from service.cli.main import cli
from tests.factories import make_post
from tests.storage.stories_setup import Analysed, store


def _invoke(db_url: str, tmp_path: Path, *args: str) -> dict[str, int]:
    env = {"LISTENER_DATABASE_URL": db_url, "LISTENER_DATA_DIR": str(tmp_path / "data"), "LISTENER_CONFIG": None}
    result = CliRunner().invoke(cli, ["stories", *args], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout) if "--json" in args else {"text": result.stdout}  # type: ignore[no-any-return]


async def test_stories_scores_new_posts_once(
    services: Services, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [n for n in os.environ if n.startswith("LISTENER_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    async with services.sessions.begin() as session:
        await store(session, services.campaign_ids["lovelocal"], [(make_post(), Analysed()) for _ in range(3)])
    # The CLI runs its own event loop: give it a thread of its own.
    first = await asyncio.to_thread(_invoke, db_url, tmp_path, "--json")
    assert first["stories"] == 3
    again = await asyncio.to_thread(_invoke, db_url, tmp_path, "--json")
    assert again["stories"] == 0
    assert "0 new story candidate(s)" in str((await asyncio.to_thread(_invoke, db_url, tmp_path))["text"])
