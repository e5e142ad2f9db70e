"""Running the real `listener` console script in a subprocess, as an operator would (shared by tests).

Every wait is bounded; whoever starts a process with `listener(...)` has it killed on the way out.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

LISTENER = Path(sys.executable).with_name("listener")
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


def listener_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LISTENER_")}
    env.update(
        LISTENER_DATA_DIR=str(tmp_path / "data"),
        LISTENER_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'data' / 'listener.db'}",
        # Tests never reach the network: the public Mastodon timeline is on by default, switch it off.
        LISTENER_MASTODON_ENABLED="false",
    )
    env.update(extra)  # a test's own values win (another database, say)
    return env


class Running:
    """A `listener` process whose stderr is read line by line in a thread (so the pipe never fills)."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.stderr: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def wait_for_url(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pytest.fail(f"no 'listening on' line within {START_TIMEOUT:.0f}s; stderr:\n{self.text}")
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                pytest.fail(f"the process exited ({self.proc.wait()}) before listening; stderr:\n{self.text}")
            if " listening on " in line:
                return line.split(" listening on ", 1)[1].split()[0]

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"still running {STOP_TIMEOUT:.0f}s after {sig.name}; stderr:\n{self.text}")
        self._reader.join(timeout=5)
        return code

    @property
    def text(self) -> str:
        return "".join(self.stderr)


@contextmanager
def listener(args: list[str], env: dict[str, str], cwd: Path) -> Iterator[Running]:
    proc = subprocess.Popen(
        [str(LISTENER), *args],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    try:
        yield Running(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (a loopback URL we started)
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def run_cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LISTENER), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )
