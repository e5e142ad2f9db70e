"""Run a service process on one asyncio loop: the web app, and the worker roles (jobs.worker): for `listener
run` the scheduler running every job in place, for `listener worker` the roles asked for.

SIGTERM and SIGINT stop it cleanly: the X stream (`[sources.x] stream`) stops first, the worker takes no new
work, work in flight gets a bounded time to finish and commit, then the web server closes its connections and
the database pool is released.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from collections.abc import Callable, Sequence

from aiohttp import web

from jobs.services import Services
from jobs.stream import XStreamTask, start_stream
from jobs.worker import WorkerRuntime
from service.balance import BalancedSite, Seat
from storage.sqlite_reader import INLINE_BUDGET_SECONDS
from web.app import create_app

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_SECONDS = 30.0


async def serve(
    services: Services,
    host: str,
    port: int,
    *,
    with_scheduler: bool,
    on_ready: Callable[[str], None] = lambda url: None,
    stop: asyncio.Event | None = None,
) -> None:
    """`listener run` (with the scheduler, running every job in this process) or `listener serve`."""
    scheduling = with_scheduler and services.settings.scheduler.enabled

    def ready(url: str | None) -> None:
        assert url is not None  # this process listens
        on_ready(url)

    await run_process(
        services,
        (host, port),
        roles=_run_roles(services) if scheduling else ("web",),
        run_in_place=True,
        with_stream=scheduling,
        on_ready=ready,
        stop=stop,
    )


def _run_roles(services: Services) -> tuple[str, ...]:
    analyse = ("analyse",) if services.settings.scheduler.analyse else ()
    return ("web", "scheduler", *analyse)


async def run_process(
    services: Services,
    listen: tuple[str, int] | socket.socket | None,
    *,
    roles: Sequence[str],
    run_in_place: bool = False,
    with_stream: bool = False,
    on_ready: Callable[[str | None], None] = lambda url: None,
    stop: asyncio.Event | None = None,
    seat: Seat | None = None,
) -> bool:
    """Run a service process until SIGTERM/SIGINT (or `stop`): the web app when `listen` is given (an address,
    or a socket already listening, shared with other processes: service/prefork.py), and the worker `roles`.
    Returns False when the worker had to halt (reaped while alive, a loop failed)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runner = web.AppRunner(create_app(services), access_log=None, shutdown_timeout=5.0) if listen else None
    runtime = WorkerRuntime(services, roles, run_in_place=run_in_place)
    streamer: XStreamTask | None = None
    started = False
    try:
        url = None
        if runner is not None:
            if isinstance(listen, socket.socket):
                await runner.setup()
                # One of several processes on one socket: they take turns (service/balance.py), and each has the
                # cores' share its loop keeps busy, so short reads run on the loop (storage/sqlite_reader.py).
                site = web.SockSite(runner, listen) if seat is None else BalancedSite(runner, listen, seat)
                if seat is not None and services.reader is not None:
                    services.reader.inline(INLINE_BUDGET_SECONDS)
                await site.start()
            elif listen is not None:
                url = await _listen(runner, *listen)
        await runtime.start()
        started = True
        if with_stream:
            streamer = start_stream(services)  # [sources.x] stream = true and X ready
        on_ready(url)
        halted = asyncio.create_task(runtime.halted.wait())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({halted, stopping}, return_when=asyncio.FIRST_COMPLETED)
        halted.cancel()
        stopping.cancel()
        log.info("stopping: no new work is taken; waiting for work in flight")
    finally:
        if streamer is not None:  # first: its line in flight commits, then it takes no more
            await streamer.stop(SHUTDOWN_GRACE_SECONDS)
        if started:
            await runtime.stop(SHUTDOWN_GRACE_SECONDS, "halted" if runtime.halted.is_set() else "stopped")
        if runner is not None:
            await runner.cleanup()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    return not runtime.halted.is_set()


def url_host(host: str) -> str:
    """`host` as it goes in a URL: an IPv6 literal in brackets (http://[::1]:8080), or the port reads as part
    of it."""
    return f"[{host}]" if ":" in host else host


def listen_error(host: str, port: int, exc: OSError) -> OSError:
    """The one line an operator gets when the port cannot be bound."""
    reason = exc.strerror or str(exc)
    return OSError(f"cannot listen on {url_host(host)}:{port}: {reason} (choose another with --port)")


async def _listen(runner: web.AppRunner, host: str, port: int) -> str:
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        raise listen_error(host, port, exc) from None
    bound = runner.addresses[0]
    return f"http://{url_host(host)}:{bound[1]}"
