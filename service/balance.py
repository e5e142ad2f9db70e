"""Taking turns at accepting connections between the web processes of `listener serve --processes N`.

Why: the processes accept on one shared socket, and the kernel gives a new connection to whichever process
wakes first. Clients that keep their connection open (browsers, a reverse proxy's keep-alive pool, API
scripts) then stay with that process for good: with 32 clients on 2 processes the split was anything from
16/16 to 2/30, and the process holding most of them set everyone's slowest answers while the other idled.

So each process publishes how many connections it holds, in its slot of a small array of shared memory the
supervisor maps before forking (`Slots`; -1: no live process there). When a connection waits, a process
holding more than the least loaded live process leaves it to that one, and takes it itself `DEFER_SECONDS`
later if it is still waiting (the other may be busy or stuck): no connection waits long for a turn.
"""

from __future__ import annotations

import asyncio
import mmap
import socket
from dataclasses import dataclass
from typing import Any

from aiohttp import web

DEFER_SECONDS = 0.02
_INT = 4  # bytes per slot


class Slots:
    """One int per process, in anonymous shared memory: fork children see and write the same pages."""

    def __init__(self, count: int) -> None:
        self._map = mmap.mmap(-1, _INT * count)  # anonymous and shared (MAP_SHARED) on every Unix
        self.count = count
        for index in range(count):
            self.set(index, -1)

    def set(self, index: int, value: int) -> None:
        self._map[index * _INT : (index + 1) * _INT] = value.to_bytes(_INT, "little", signed=True)

    def get(self, index: int) -> int:
        return int.from_bytes(self._map[index * _INT : (index + 1) * _INT], "little", signed=True)

    def least_other(self, index: int) -> int | None:
        """The fewest connections any other live process holds; None when there is none."""
        others = [value for i in range(self.count) if i != index and (value := self.get(i)) >= 0]
        return min(others) if others else None


@dataclass(frozen=True)
class Seat:
    """A web process's place in the shared slots."""

    slots: Slots
    index: int


def should_defer(mine: int, least_other: int | None) -> bool:
    """Leave a waiting connection to another process: it holds fewer than this one."""
    return least_other is not None and least_other < mine


class BalancedSite(web.BaseSite):
    """A site on a shared listening socket that accepts by itself, in turn with the other processes (see the
    module notes), and hands each connection to the app's server like any site."""

    def __init__(self, runner: web.AppRunner, sock: socket.socket, seat: Seat) -> None:
        super().__init__(runner)
        self._sock = sock
        self._slots = seat.slots
        self._index = seat.index
        self._waiting: asyncio.TimerHandle | None = None
        host, port = sock.getsockname()[:2]
        self._name = f"http://{host}:{port}"

    @property
    def name(self) -> str:
        return self._name

    def _held(self) -> int:
        server = self._runner.server
        return len(server.connections) if server is not None else 0

    async def start(self) -> None:
        await super().start()
        self._slots.set(self._index, self._held())
        asyncio.get_running_loop().add_reader(self._sock.fileno(), self._readable)

    async def stop(self) -> None:
        asyncio.get_running_loop().remove_reader(self._sock.fileno())
        if self._waiting is not None:
            self._waiting.cancel()
        self._slots.set(self._index, -1)  # the others stop leaving connections to this process
        await super().stop()

    def _readable(self) -> None:
        held = self._held()
        self._slots.set(self._index, held)
        if should_defer(held, self._slots.least_other(self._index)):
            # Not watched while deferring: the socket stays readable until someone accepts, and a level-
            # triggered reader would spin on it.
            loop = asyncio.get_running_loop()
            loop.remove_reader(self._sock.fileno())
            self._waiting = loop.call_later(DEFER_SECONDS, self._late)
            return
        self._accept()

    def _late(self) -> None:
        self._waiting = None
        self._accept()  # still waiting after its turn elsewhere: take it
        asyncio.get_running_loop().add_reader(self._sock.fileno(), self._readable)

    def _accept(self) -> None:
        try:
            conn, _ = self._sock.accept()
        except OSError:  # another process took it (EAGAIN); a reset or no descriptor left: the next turn
            return
        conn.setblocking(False)
        server = self._runner.server
        assert server is not None
        task = asyncio.ensure_future(asyncio.get_running_loop().connect_accepted_socket(server, conn))
        task.add_done_callback(self._counted)

    def _counted(self, task: asyncio.Future[Any]) -> None:
        if not task.cancelled():
            task.exception()  # a connection that failed to set up is simply gone; nothing to report
        self._slots.set(self._index, self._held())
