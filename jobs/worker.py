"""The life of a service process: registered as a worker, a heartbeat, reaping the dead, and its roles' loops.

`listener run` is one such process doing everything (the scheduler runs jobs in place); `listener worker
--role ...` processes split the work over PostgreSQL: the scheduler role (one active, jobs.leadership) queues
work items, collect/stories/report workers claim them, analyse workers poll for un-analysed posts. Everything a
worker holds is leased to its id, so when it dies (SIGKILL, power loss) the next process that reaps finds it
gone and hands its work back; nothing is lost and, since only a lease holder may commit (analyses), nothing is
done twice.

Stopping (SIGTERM): no new work is claimed; work in flight gets a bounded grace to finish and commit; then the
worker row is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Sequence
from datetime import timedelta
from typing import Any

from jobs import analyse
from jobs.leadership import SchedulerLock
from jobs.roles import QUEUED_KINDS
from jobs.runner import run_job
from jobs.scheduler import Clock
from jobs.services import Services
from storage.repositories import analyses, work_items, workers

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 15.0
REAP_SECONDS = 15.0
POLL_SECONDS = 2.0  # an idle worker looks for work this often
LEADER_RETRY_SECONDS = 10.0
ANALYSE_RETRY_SECONDS = 60.0
ITEM_LEASE = timedelta(minutes=5)  # renewed every minute while the job runs


class WorkerRuntime:
    def __init__(
        self,
        services: Services,
        roles: Sequence[str],
        *,
        run_in_place: bool = False,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        """`roles` as `listener worker --role`; `run_in_place` for `listener run` (the scheduler runs jobs
        itself, as one process on its own)."""
        self._services = services
        self._roles = tuple(dict.fromkeys(roles))
        self._run_in_place = run_in_place
        self._poll = poll_seconds
        self._analyse_poll = services.settings.scheduler.analyse_poll_seconds
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._clock: Clock | None = None
        self._lock = SchedulerLock(services.engine)
        # Set when this worker must not go on (reaped while alive after a long stall, or a loop failed): the
        # process exits non-zero so that its supervisor restarts it.
        self.halted = asyncio.Event()

    @property
    def roles(self) -> tuple[str, ...]:
        return self._roles

    async def start(self) -> None:
        async with self._services.sessions.begin() as session:
            reaped = await workers.reap(session)
            self._services.worker_id = await workers.register(session, self._roles)
        if reaped.workers:
            log.warning("found %d dead worker(s); handed back their work %s", reaped.workers, reaped.as_dict())
        self._spawn(self._heartbeat())
        self._spawn(self._reaper())
        if "scheduler" in self._roles:
            self._spawn(self._lead())
        if "analyse" in self._roles:
            self._spawn(self._analyse_loop())
        kinds = tuple(k for role in self._roles for k in QUEUED_KINDS.get(role, ()))
        if kinds:
            self._spawn(self._item_loop(kinds))

    async def stop(self, grace_seconds: float, reason: str = "stopped") -> None:
        self._stopping.set()
        if self._clock is not None:
            await self._clock.stop(grace_seconds)
            self._clock = None
        if self._tasks:
            _, late = await asyncio.wait(self._tasks, timeout=grace_seconds)
            for task in late:
                log.warning("work in flight did not finish within %.0fs of shutdown; cancelling it", grace_seconds)
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=5.0)
        await self._lock.release()
        if self._services.worker_id is not None:
            async with self._services.sessions.begin() as session:
                await workers.stop(session, self._services.worker_id, reason)

    def _halt(self) -> None:
        self.halted.set()
        self._stopping.set()

    def _spawn(self, coro: Awaitable[None]) -> None:
        async def guarded() -> None:
            try:
                await coro
            except asyncio.CancelledError:
                raise
            except Exception:  # a loop that dies must not take the process down silently
                log.exception("worker loop failed; stopping this worker")
                self._halt()

        self._tasks.append(asyncio.create_task(guarded()))

    async def _sleep(self, seconds: float) -> bool:
        """Sleep unless stopping; True when the worker should go on."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
        return not self._stopping.is_set()

    async def _heartbeat(self) -> None:
        while await self._sleep(HEARTBEAT_SECONDS):
            assert self._services.worker_id is not None
            async with self._services.sessions.begin() as session:
                alive = await workers.heartbeat(session, self._services.worker_id)
            if not alive:
                log.error("this worker was declared dead by another process (stalled too long); stopping")
                self._halt()

    async def _reaper(self) -> None:
        while await self._sleep(REAP_SECONDS):
            async with self._services.sessions.begin() as session:
                reaped = await workers.reap(session)
            if reaped.workers:
                log.warning("found %d dead worker(s); handed back their work %s", reaped.workers, reaped.as_dict())

    async def _lead(self) -> None:
        """Stand by until this process holds the scheduler lock, schedule while it does."""
        announced = False
        while not self._stopping.is_set():
            if not await self._lock.try_acquire():
                if not announced:
                    log.info("another scheduler is active; this one stands by")
                    announced = True
                await self._sleep(LEADER_RETRY_SECONDS)
                continue
            log.info("this process is the active scheduler")
            self._clock = Clock(self._services, enqueue=not self._run_in_place)
            self._clock.start()
            while await self._sleep(LEADER_RETRY_SECONDS):
                if not await self._lock.still_held():
                    break
            clock, self._clock = self._clock, None
            if clock is not None:
                await clock.stop(30.0)
            announced = False

    async def _analyse_loop(self) -> None:
        """Analyse new posts as they arrive. Each burst of work is one recorded `analyse` run; idle, one index
        probe per poll and nothing loaded (the nlp models cost seconds and hundreds of MB)."""
        while not self._stopping.is_set():
            async with self._services.sessions() as session:
                waiting = await analyses.has_claimable(session)
            if waiting:
                outcome = await run_job(self._services, "analyse", self._analyse_burst)
                if outcome.error is None:
                    continue
                # A failing analysis (a model missing, the database away) is recorded; try again later
                # rather than spin on it.
                if not await self._sleep(ANALYSE_RETRY_SECONDS):
                    return
            elif not await self._sleep(self._analyse_poll):
                return

    async def _analyse_burst(self, services: Services) -> dict[str, Any]:
        return await analyse.analyse(services, should_stop=self._stopping.is_set)

    async def _item_loop(self, kinds: tuple[str, ...]) -> None:
        table = Clock(self._services, enqueue=True).jobs  # the same jobs the scheduler queues, by name
        owner = self._services.worker_id
        assert owner is not None
        while not self._stopping.is_set():
            async with self._services.sessions.begin() as session:
                item = await work_items.claim(session, kinds, owner, ITEM_LEASE)
            if item is None:
                if not await self._sleep(self._poll):
                    return
                continue
            func = table.get(item.kind)
            error: str | None
            if func is None:
                error = f"no job named {item.kind!r} in this worker's configuration"
            else:
                renewing = asyncio.create_task(self._renew(item.id, owner))
                try:
                    outcome = await run_job(self._services, item.kind, func)
                finally:
                    renewing.cancel()
                error = outcome.error
            async with self._services.sessions.begin() as session:
                if await work_items.finish(session, item.id, owner, error):
                    await workers.count_done(session, owner, 1)

    async def _renew(self, item_id: int, owner: str) -> None:
        while True:
            await asyncio.sleep(60)
            async with self._services.sessions.begin() as session:
                await work_items.renew(session, item_id, owner, ITEM_LEASE)
