"""The real `listener` console script as an operator runs it: one process, real sockets, real signals."""

from __future__ import annotations

import json
import signal
import socket
import time
from pathlib import Path

import pytest

from storage.migrate import head_revision
from tests.processes import LISTENER, START_TIMEOUT, STOP_TIMEOUT, get, listener, listener_env, run_cli


@pytest.fixture(autouse=True)
def _console_script() -> None:
    assert LISTENER.is_file(), f"{LISTENER} is missing: install the project (pip install -e .)"


# --- listener run -------------------------------------------------------------------------------------


def test_run_serves_runs_housekeeping_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    env = listener_env(tmp_path)
    with listener(["run", "--port", "0"], env, tmp_path) as service:
        url = service.wait_for_url()
        assert url.startswith("http://127.0.0.1:")
        assert int(url.rsplit(":", 1)[1]) > 0  # the port actually bound, not the 0 asked for

        status, headers, body = get(f"{url}/healthz")
        assert (status, json.loads(body)) == (200, {"status": "ok"})
        assert headers["X-Frame-Options"] == "DENY"
        status, _, body = get(f"{url}/readyz")
        assert (status, json.loads(body)) == (200, {"status": "ready", "database": "ok", "schema": head_revision()})
        status, _, body = get(f"{url}/")  # anonymous: the sign-in page (the status page is for curators)
        assert status == 200
        assert 'name="password"' in body.decode()

        # The scheduler runs housekeeping at start; `listener jobs` (another process) sees it.
        deadline = time.monotonic() + START_TIMEOUT
        runs: list[dict[str, object]] = []
        while time.monotonic() < deadline:
            done = run_cli(["jobs", "--json", "--job", "housekeeping"], env, tmp_path)
            assert done.returncode == 0, done.stderr
            runs = json.loads(done.stdout)
            if any(r["status"] == "ok" for r in runs):
                break
            time.sleep(0.2)
        assert [r["status"] for r in runs] == ["ok"], f"no housekeeping run recorded; stderr:\n{service.text}"
        assert runs[0]["detail"]["campaigns"] == 2  # type: ignore[index]
        assert runs[0]["finished_at"] is not None

        t0 = time.monotonic()
        code = service.stop(signal.SIGTERM)
        assert time.monotonic() - t0 < STOP_TIMEOUT
    assert code == 0, service.text
    lines = service.text.splitlines()
    assert lines[-1] == "stopped cleanly"
    assert "Traceback" not in service.text
    assert "campaigns: lovelocal, soutenons" in lines
    assert "source x: disabled, set LISTENER_X_BEARER_TOKEN" in lines
    assert "web app and scheduler listening on" in service.text


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_stops_cleanly_on_a_signal_and_runs_no_jobs(tmp_path: Path, sig: signal.Signals) -> None:
    env = listener_env(tmp_path)
    with listener(["serve", "--port", "0"], env, tmp_path) as service:
        url = service.wait_for_url()
        assert get(f"{url}/readyz")[0] == 200
        time.sleep(0.5)  # time enough for a scheduled job to start, had one been scheduled
        assert service.stop(sig) == 0, service.text
    assert service.text.splitlines()[-1] == "stopped cleanly"
    assert "campaign-listener web app listening on" in service.text
    assert "housekeeping" not in service.text
    done = run_cli(["jobs", "--json"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_a_fresh_database_is_created_and_the_operator_told(tmp_path: Path) -> None:
    env = listener_env(tmp_path)
    database = tmp_path / "data" / "listener.db"
    assert not database.exists()
    with listener(["serve", "--port", "0"], env, tmp_path) as service:
        service.wait_for_url()
        assert service.stop() == 0, service.text
    assert database.is_file()
    notes = [line for line in service.text.splitlines() if line.startswith("note: ")]
    assert notes == [
        f"note: the database sqlite+aiosqlite:///{database} was empty: created its tables (revision {head_revision()})"
    ]

    # Started again on the same database: nothing to create, nothing said.
    with listener(["serve", "--port", "0"], env, tmp_path) as again:
        again.wait_for_url()
        assert again.stop() == 0, again.text
    assert "was empty" not in again.text


@pytest.mark.parametrize("command", ["serve", "run"])
def test_a_port_already_in_use_is_one_clear_line(tmp_path: Path, command: str) -> None:
    env = listener_env(tmp_path)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_cli([command, "--port", str(port)], env, tmp_path)
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    assert f"127.0.0.1:{port}" in errors[0]
    assert "--port" in errors[0]
    assert "Traceback" not in done.stderr
    assert "stopped cleanly" not in done.stderr


def test_run_with_the_scheduler_disabled_says_so_and_runs_no_job(tmp_path: Path) -> None:
    env = listener_env(tmp_path, LISTENER_SCHEDULER_ENABLED="false")
    with listener(["run", "--port", "0"], env, tmp_path) as service:
        url = service.wait_for_url()
        assert get(f"{url}/healthz")[0] == 200
        time.sleep(0.5)  # time enough for the housekeeping that a scheduler would start at once
        assert service.stop() == 0, service.text
    assert "web app (scheduler disabled in the configuration) listening on" in service.text
    done = run_cli(["jobs", "--json"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


def test_an_ipv6_host_prints_a_usable_url(tmp_path: Path) -> None:
    if not _ipv6_loopback():
        pytest.skip("no IPv6 loopback (::1) on this machine")
    with listener(["serve", "--host", "::1", "--port", "0"], listener_env(tmp_path), tmp_path) as service:
        url = service.wait_for_url()
        assert url.startswith("http://[::1]:")
        assert get(f"{url}/healthz")[0] == 200
        assert service.stop() == 0, service.text
