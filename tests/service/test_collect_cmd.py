"""`listener collect` run by hand is one job run in the history, under the scheduler's names, so that the weekly
report's coverage counts the hours it collected (real console script, X served on loopback TLS)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from storage.repositories._sql import utcnow
from tests.processes import listener_env, run_cli
from tests.web.e2e_setup import FakeX, background_loop, x_search_page, x_tweet, x_user

TOKEN = "collect-cmd-token-not-real"  # the fake X accepts any token
SHOP_FAN = x_user("7001", "shopfan", "Shop Fan", 120)


@pytest.fixture
def fake_x(tmp_path: Path) -> Iterator[tuple[FakeX, dict[str, str]]]:
    with background_loop() as loop, FakeX(loop, tmp_path / "tls") as x:
        yield x, listener_env(tmp_path, **x.env(TOKEN))


def _jobs(env: dict[str, str], cwd: Path, job: str) -> list[dict[str, object]]:
    done = run_cli(["jobs", "--json", "--job", job], env, cwd)
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


def test_a_collection_by_hand_is_recorded_as_the_scheduler_records_it(
    tmp_path: Path, fake_x: tuple[FakeX, dict[str, str]]
) -> None:
    x, env = fake_x
    now = utcnow()
    tweets = [x_tweet(f"90{i}", "7001", f"Merci à ma boulangerie #SoutenonsnosTPEPME {i}", now - timedelta(hours=i),
                      lang="fr")
              for i in range(1, 4)]  # fmt: skip
    x.serve_search(x_search_page(tweets, [SHOP_FAN]))

    done = run_cli(["collect", "--source", "x"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    # One search per campaign (two by default); the fake X answers both with the same page.
    assert "x: ok · 2 page(s), 3 new" in done.stdout

    [run] = _jobs(env, tmp_path, "collect:x")
    assert run["status"] == "ok"
    assert run["finished_at"] is not None
    [source] = run["detail"]["sources"]  # type: ignore[index]
    assert (source["source"], source["status"], source["new"]) == ("x", "ok", 3)

    # Every ready source at once is the "collect" job; nothing new the second time.
    done = run_cli(["collect", "--json"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert [(r["source"], r["new"]) for r in json.loads(done.stdout)] == [("x", 0)]
    assert [r["status"] for r in _jobs(env, tmp_path, "collect")] == ["ok"]
