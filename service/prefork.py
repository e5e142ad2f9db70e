"""Serving the web app from several processes that share one listening socket (`listener serve --processes N`).

One Python process runs its event loop on one core: the web app's own work per request (routing, sessions,
rows into JSON, the response) keeps that core busy long before the database is. The parent binds the port
once, forks N children that each accept on the same socket with their own event loop, database pool and
worker registration, and supervises them:

- it prints one "listening" line when every child is ready (the bench and scripts wait for it);
- SIGTERM or SIGINT: each child gets SIGTERM and stops cleanly (service/serve.py); a child still alive after
  the grace time is killed;
- a child that dies on its own is replaced, unless it died within `STARTUP_SECONDS` of starting (a broken
  configuration or database would otherwise fork forever): then every child is stopped and the parent exits 1.

The children take turns at accepting (service/balance.py): a client that keeps its connection open stays with
the process that accepted it, so the connections are shared out evenly instead of wherever the kernel woke.

The children hold no state of their own that others need: sessions, sign-in failures, CSRF and everything else
live in the database. What a process caches (web/session_cache.py: a session for up to 5 s) means a sign-out
handled by one process is seen by the others within those seconds.

Forking is safe here because the parent starts no thread and no event loop before it forks: it has only
parsed its settings and bound the socket.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import socket
import time
from collections.abc import Callable
from types import FrameType

from service import heap
from service.balance import Seat, Slots
from service.serve import SHUTDOWN_GRACE_SECONDS, listen_error, url_host

log = logging.getLogger(__name__)

STARTUP_SECONDS = 10.0  # a child dying sooner than this after its start stops the whole service
READY_TIMEOUT = 120.0  # opening the database and migrating checks take seconds; more means something is wrong
MAX_PROCESSES = 32

# child(socket, ready, seat): seat is the child's place in the supervisor's `Slots` (service/balance.py).
Child = Callable[[socket.socket, Callable[[], None], Seat], int]


def default_processes() -> int:
    try:
        return max(1, min(MAX_PROCESSES, len(os.sched_getaffinity(0))))
    except AttributeError:  # not on Linux
        return max(1, min(MAX_PROCESSES, os.cpu_count() or 1))


def listening_socket(host: str, port: int) -> socket.socket:
    """The bound, listening socket every child accepts on; OSError with the fix on failure."""
    try:
        family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        sock = socket.create_server(address, family=family, backlog=1024)
    except OSError as exc:
        raise listen_error(host, port, exc) from None
    sock.setblocking(False)
    return sock


def url_of(sock: socket.socket, host: str) -> str:
    return f"http://{url_host(host)}:{sock.getsockname()[1]}"


class Supervisor:
    """Forks `processes` children running `child(sock, ready, seat)` and keeps them running until told to stop;
    a replacement takes the seat of the child it replaces."""

    def __init__(self, sock: socket.socket, processes: int, child: Child) -> None:
        self.sock = sock
        self.processes = processes
        self.child = child
        self.children: dict[int, tuple[float, int]] = {}  # pid -> (started (monotonic), seat index)
        self.slots = Slots(processes)  # before any fork: every child maps the same pages
        self.stopping = False
        self.failed = False
        self._ready_read, self._ready_write = os.pipe()

    def _spawn(self, index: int) -> None:
        heap.settle()  # the child inherits a frozen heap: its full collections never walk (and copy) it
        pid = os.fork()
        if pid == 0:  # the child: never returns into the parent's code
            code = 1
            try:
                for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM):
                    signal.signal(sig, signal.SIG_DFL)
                os.close(self._ready_read)
                code = self.child(self.sock, self._say_ready, Seat(self.slots, index))
            except BaseException:  # a child must end here (os._exit) whatever happened; it is logged
                log.exception("web process %d failed", os.getpid())
            finally:
                os._exit(code)
        self.children[pid] = (time.monotonic(), index)

    def _say_ready(self) -> None:
        os.write(self._ready_write, b".")

    def _signal_all(self, sig: int) -> None:
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def _stop(self, signum: int, _frame: FrameType | None) -> None:
        if not self.stopping:
            self.stopping = True
            # Children still alive after their grace time are killed (SIGALRM below).
            signal.alarm(int(SHUTDOWN_GRACE_SECONDS) + 15)
        self._signal_all(signal.SIGTERM)

    def _kill(self, _signum: int, _frame: FrameType | None) -> None:
        log.warning("web processes still running after the grace time: killed")
        self._signal_all(signal.SIGKILL)

    def _wait_ready(self) -> bool:
        """True once every child has said it is ready; False when one died first or the time ran out."""
        ready = 0
        deadline = time.monotonic() + READY_TIMEOUT
        while ready < self.processes and not self.stopping:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            readable, _, _ = select.select([self._ready_read], [], [], min(left, 0.2))
            if readable:
                ready += len(os.read(self._ready_read, self.processes))
            for pid in list(self.children):
                done, _ = os.waitpid(pid, os.WNOHANG)
                if done:
                    del self.children[pid]
                    return False
        return not self.stopping

    def run(self, on_ready: Callable[[], None]) -> int:
        """Run until SIGTERM/SIGINT; the exit code: 0 when every child stopped cleanly."""
        previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        previous[signal.SIGALRM] = signal.signal(signal.SIGALRM, self._kill)
        try:
            for index in range(self.processes):
                self._spawn(index)
            if self._wait_ready():
                on_ready()
            elif not self.stopping:
                log.error("a web process failed to start: stopping the others")
                self.failed = True
                self._stop(signal.SIGTERM, None)
            self._supervise()
        finally:
            signal.alarm(0)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            os.close(self._ready_read)
            os.close(self._ready_write)
        return 1 if self.failed else 0

    def _supervise(self) -> None:
        while self.children:
            pid, status = os.wait()  # retried after our signal handlers run (PEP 475)
            child = self.children.pop(pid, None)
            if child is None:
                continue
            started, index = child
            self.slots.set(index, -1)  # gone: the others no longer leave connections to it
            code = os.waitstatus_to_exitcode(status)
            if self.stopping:
                self.failed = self.failed or code != 0
                continue
            if time.monotonic() - started < STARTUP_SECONDS:
                log.error("web process %d ended with %d right after starting: stopping the others", pid, code)
                self.failed = True
                self._stop(signal.SIGTERM, None)
                continue
            log.error("web process %d ended with %d: starting another", pid, code)
            self._spawn(index)
