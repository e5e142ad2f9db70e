"""Run the service in one asyncio process: the web app and (for `listener run`) the scheduler.

SIGTERM and SIGINT stop it cleanly: the X stream (`[sources.x] stream`) stops first, the scheduler takes no new
work, jobs in flight get a bounded time to finish and commit, then the web server closes its connections and the
database pool is released.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable

from aiohttp import web

from jobs.scheduler import Clock
from jobs.services import Services
from jobs.stream import XStreamTask, start_stream
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
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runner = web.AppRunner(create_app(services), access_log=None, shutdown_timeout=5.0)
    await runner.setup()
    scheduler = None
    streamer: XStreamTask | None = None
    try:
        site = web.TCPSite(runner, host, port)
        # An IPv6 literal goes in brackets in a URL (http://[::1]:8080), or the port reads as part of it.
        shown = f"[{host}]" if ":" in host else host
        try:
            await site.start()
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise OSError(f"cannot listen on {shown}:{port}: {reason} (choose another with --port)") from None
        bound = runner.addresses[0]
        url = f"http://{shown}:{bound[1]}"
        if with_scheduler and services.settings.scheduler.enabled:
            scheduler = Clock(services)
            scheduler.start()
            streamer = start_stream(services)  # [sources.x] stream = true and X ready
        on_ready(url)
        await stop.wait()
        log.info("stopping: no new work is taken; waiting for jobs in flight")
    finally:
        if streamer is not None:  # first: its line in flight commits, then it takes no more
            await streamer.stop(SHUTDOWN_GRACE_SECONDS)
        if scheduler is not None:
            await scheduler.stop(SHUTDOWN_GRACE_SECONDS)
        await runner.cleanup()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
