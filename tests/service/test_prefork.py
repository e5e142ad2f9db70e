"""`listener serve --processes N`: several web processes share one port (service/prefork.py). The real console
script, real sockets and signals: the processes answer on one port and are registered as workers, SIGTERM
stops every one cleanly, a process that dies is replaced, and a database that cannot be used stops the start
with one clear line before anything is forked."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sqlite3
import time
from pathlib import Path

import pytest

from service.prefork import STARTUP_SECONDS
from tests.processes import START_TIMEOUT, get, listener, listener_env, run_cli


def _db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "listener.db"


def _live_web_pids(tmp_path: Path) -> set[int]:
    with sqlite3.connect(_db(tmp_path)) as conn:
        rows = conn.execute("SELECT pid FROM workers WHERE roles = 'web' AND stopped_at IS NULL").fetchall()
    return {int(pid) for (pid,) in rows}


def _two_web_workers(tmp_path: Path) -> set[int] | None:
    pids = _live_web_pids(tmp_path)
    return pids if len(pids) == 2 else None


def _parent_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1][:3]


def _wait_for(predicate, what: str, timeout: float = START_TIMEOUT):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def test_two_processes_share_the_port_and_stop_cleanly(tmp_path: Path) -> None:
    env = listener_env(tmp_path)
    with listener(["serve", "--port", "0", "--processes", "2"], env, tmp_path) as service:
        url = service.wait_for_url()
        assert "listening on http://127.0.0.1:" in service.text
        assert "(2 processes; Ctrl-C to stop)" in service.text
        children = _wait_for(lambda: _two_web_workers(tmp_path), "two web workers")
        assert {_parent_of(pid) for pid in children} == {service.proc.pid}
        for _ in range(20):  # a new connection each time: whichever process accepts it answers
            status, _, body = get(f"{url}/healthz")
            assert (status, body) == (200, b'{"status": "ok"}')
        code = service.stop(signal.SIGTERM)
    assert code == 0, service.text
    assert service.text.splitlines()[-1] == "stopped cleanly"
    assert "Traceback" not in service.text
    assert not any(_alive(pid) for pid in children)
    assert _live_web_pids(tmp_path) == set()  # each child recorded its own clean stop


def _connections_held(pid: int, port: int) -> int:
    """Established TCP connections to `port` whose socket is open in process `pid` (Linux /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    held = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port, state, inode = int(fields[1].rsplit(":", 1)[1], 16), fields[3], fields[9]
        held += local_port == port and state == "01" and inode in inodes
    return held


def test_kept_connections_are_shared_out_between_the_processes(tmp_path: Path) -> None:
    """Clients that keep their connection open stay with the process that accepted it: the processes take
    turns (service/balance.py), so 24 kept connections end up 12 and 12, give or take one or two, however
    the kernel wakes them (without turns, most often nearly all went to one)."""
    env = listener_env(tmp_path)
    with listener(["serve", "--port", "0", "--processes", "2"], env, tmp_path) as service:
        url = service.wait_for_url()
        port = int(url.rsplit(":", 1)[1])
        children = _wait_for(lambda: _two_web_workers(tmp_path), "two web workers")
        kept = []
        try:
            for _ in range(24):
                conn = socket.create_connection(("127.0.0.1", port), timeout=10)
                kept.append(conn)
                conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")  # answered: surely accepted
                assert conn.recv(4096).startswith(b"HTTP/1.1 200")
            held = sorted(_connections_held(pid, port) for pid in children)
        finally:
            for conn in kept:
                conn.close()
        assert sum(held) == 24
        assert held[0] >= 10, held
        assert service.stop(signal.SIGTERM) == 0, service.text


def test_a_web_process_that_dies_is_replaced(tmp_path: Path) -> None:
    env = listener_env(tmp_path)
    with listener(["serve", "--port", "0", "--processes", "2"], env, tmp_path) as service:
        url = service.wait_for_url()
        children = _wait_for(lambda: _two_web_workers(tmp_path), "two web workers")
        time.sleep(STARTUP_SECONDS + 0.5)  # past the start-up window: a death now is replaced, not fatal
        victim = min(children)
        os.kill(victim, signal.SIGKILL)
        _wait_for(lambda: "ended with -9: starting another" in service.text, "the replacement")
        replacement = _wait_for(
            lambda: [p for p in _live_web_pids(tmp_path) - children if _alive(p)], "the new process registered"
        )
        assert _parent_of(replacement[0]) == service.proc.pid
        assert get(f"{url}/healthz")[0] == 200
        assert service.stop(signal.SIGTERM) == 0, service.text
    assert service.text.splitlines()[-1] == "stopped cleanly"


def test_a_database_to_upgrade_stops_the_start_before_any_fork(tmp_path: Path) -> None:
    env = listener_env(tmp_path)
    assert run_cli(["db", "upgrade"], env, tmp_path).returncode == 0
    with sqlite3.connect(_db(tmp_path)) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0007'")
    done = run_cli(["serve", "--port", "0", "--processes", "2"], env, tmp_path)
    assert done.returncode == 1
    assert "the code expects" in done.stderr
    assert "listener db upgrade" in done.stderr
    assert "Traceback" not in done.stderr
    assert "listening on" not in done.stderr
