"""The X filtered stream as a long-running task of `listener run` (when `[sources.x] stream = true`).

The task syncs the stream's rules with the campaigns, runs the stream and stores each streamed line in its
own transaction: its posts linked to the campaigns whose rules matched, its unreadable parts quarantined,
and the `x-stream` source row (what `listener sources` shows) updated in the same commit. When the stream
cannot go on it says why on that row and:
- rate limited (429): waits for the announced reset, then reconnects;
- refused credentials: stops (waiting does not fix a token), the row names the variable to fix;
- anything else (rules request failed, X refused the connection, a database error): waits with a
  bounded backoff and starts again.
Every wait ends at once on `stop()`. On shutdown the stream is stopped first and the line being stored
commits before the task ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from jobs.services import Services
from listener.collector import CampaignQuery
from listener.collectors.x_stream import NAME, StreamBatch, XStream
from listener.errors import AuthFailed, RateLimited, SourceUnavailable
from listener.post import Platform
from listener.readiness import source_readiness
from listener.session import make_session
from storage.repositories import sources as sources_repo
from storage.repositories._sql import utcnow
from storage.repositories.ingest import ingest
from storage.repositories.quarantine import quarantine

log = logging.getLogger(__name__)

T = TypeVar("T")
PLATFORM = Platform.X.value


@dataclass
class StreamCounts:
    lines: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0

    def describe(self) -> str:
        return f"{self.lines} line(s): {self.new} new, {self.updated} updated, {self.quarantined} quarantined"


@dataclass(frozen=True)
class Backoff:
    """Seconds between two attempts after a failure: doubling from `first`, never past `most`."""

    first: float = 5.0
    most: float = 300.0

    def delay(self, failures: int) -> float:
        return min(self.first * 2.0 ** max(failures - 1, 0), self.most)


def stream_wanted(services: Services) -> bool:
    """`[sources.x] stream = true` and X ready (enabled, with its bearer token)."""
    settings = services.settings
    x_ready = any(s.name == "x" and s.ready for s in source_readiness(settings))
    return settings.sources.x.stream and x_ready


def build_stream(services: Services) -> XStream:
    settings = services.settings
    return XStream(settings.sources.x, settings.secrets.get("x_bearer_token"), lambda: make_session(settings.sources))


class XStreamTask:
    """The stream job: `start()` it next to the clock, `stop()` it (bounded) before the clock on shutdown."""

    def __init__(
        self,
        services: Services,
        stream: XStream | None = None,
        *,
        backoff: Backoff = Backoff(),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._services = services
        self._stream = stream or build_stream(services)
        self._backoff = backoff
        self._clock = clock
        self._stopped = asyncio.Event()
        self._task: asyncio.Task[StreamCounts] | None = None
        self._source_id: int | None = None
        self._since: datetime | None = None
        self._limited_until: datetime | None = None
        self._problems: list[str] = []  # campaigns without a rule: the stream runs degraded
        self.counts = StreamCounts()

    # --- life cycle -------------------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=NAME)
        self._task.add_done_callback(_report_end)

    async def stop(self, grace_seconds: float) -> StreamCounts:
        """Stop the stream; the line being stored gets `grace_seconds` to commit, then the task is cancelled."""
        self._stopped.set()
        self._stream.stop()
        task = self._task
        if task is None:
            return self.counts
        done, _ = await asyncio.wait({task}, timeout=grace_seconds)
        if not done:
            log.warning("%s: did not stop within %.0fs of shutdown; cancelling it", NAME, grace_seconds)
            task.cancel()
            await asyncio.wait({task}, timeout=5.0)
        return self.counts

    @property
    def task(self) -> asyncio.Task[StreamCounts] | None:
        return self._task

    # --- the job ----------------------------------------------------------------------------------------

    async def run(self) -> StreamCounts:
        """Sync, stream, store; on failure wait (reset or backoff) and start again, until stopped."""
        async with self._services.sessions.begin() as session:
            source = await sources_repo.get_or_create(session, NAME, PLATFORM)
            self._source_id, self._limited_until = source.id, source.rate_limited_until
        failures = 0
        while not self._stopped.is_set():
            # A rate limit announced to an earlier run (or an earlier process) still holds: wait it out.
            if self._limited_until is not None and await self._sleep(self._seconds_to(self._limited_until)):
                break
            self._limited_until = None
            try:
                await self._once()
                if self._stopped.is_set():
                    break
                # tweepy retries without end: ending on its own means it gave up.
                raise SourceUnavailable(f"{NAME}: the stream ended; reconnecting")
            except RateLimited as exc:
                failures = 0
                log.warning("%s", exc)
                self._limited_until = exc.reset_at
                await self._note("rate_limited", str(exc), rate_limited_until=exc.reset_at)
                continue
            except AuthFailed as exc:
                log.error("%s", exc)
                await self._note("failed", str(exc))
                return self.counts
            except Exception as exc:  # a failed rules request, a refused connection, the database: try again
                # After a stream that had connected, the backoff starts over.
                failures = 1 if self._since is not None else failures + 1
                wait = self._backoff.delay(failures)
                detail = str(exc) if isinstance(exc, SourceUnavailable) else f"{type(exc).__name__}: {exc}"
                log.warning("%s: %s; starting again in %.0fs", NAME, detail, wait)
                await self._note("degraded", f"{detail}; starting again in {wait:.0f}s")
            if await self._sleep(wait):
                break
        if self._limited_until is None:  # else the row keeps saying until when X asked us to wait
            await self._note("idle", f"stopped; {self.counts.describe()} since the service started")
        return self.counts

    async def _once(self) -> None:
        campaigns = [CampaignQuery.of(slug, c) for slug, c in self._services.settings.campaigns.items()]
        self._since = None
        synced = await self._unless_stopped(self._stream.sync_rules(campaigns))
        if synced is None:
            return
        self._problems = synced.problems
        if synced.problems:
            await self._record("degraded", self._streaming())
        await self._stream.run(self._store, self._quarantine, self._status)

    def _seconds_to(self, moment: datetime) -> float:
        return max((moment - self._clock()).total_seconds(), 0.0)

    async def _unless_stopped(self, work: Awaitable[T]) -> T | None:
        """`work`'s result, or None when stopped first (the work is cancelled: nothing of it is in flight)."""
        job = asyncio.ensure_future(work)
        stopped = asyncio.ensure_future(self._stopped.wait())
        try:
            await asyncio.wait({job, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pending in (job, stopped):
                if not pending.done():
                    pending.cancel()
            await asyncio.wait({job, stopped})
        return None if job.cancelled() else job.result()

    async def _sleep(self, seconds: float) -> bool:
        """Wait `seconds` or until stopped; True when stopped."""
        try:
            await asyncio.wait_for(self._stopped.wait(), timeout=seconds)
        except TimeoutError:
            return False
        return True

    async def _store(self, batch: StreamBatch) -> None:
        ids = [self._services.campaign_ids[slug] for slug in batch.campaigns if slug in self._services.campaign_ids]
        async with self._services.sessions.begin() as session:
            counts = await ingest(session, batch.posts, campaign_ids=ids)
            bad: list[tuple[Any, str]] = [(r.item, r.error) for r in batch.rejected]
            quarantined = await quarantine(session, NAME, PLATFORM, bad)
            self.counts.lines += 1
            self.counts.new += counts.new
            self.counts.updated += counts.updated
            self.counts.unchanged += counts.unchanged
            self.counts.quarantined += quarantined
            await self._record_in(session, self._live(), self._streaming())
        # The counts above are this process's; a failed commit would overstate them (and the stream stops).

    async def _quarantine(self, line: str, error: str) -> None:
        log.warning("%s", error[:300])
        async with self._services.sessions.begin() as session:
            self.counts.quarantined += await quarantine(session, NAME, PLATFORM, [(line, error)])
            await self._record_in(session, self._live(), self._streaming())

    async def _status(self, status: str, detail: str) -> None:
        if status == "ok":
            self._since = self._clock()
            status, detail = self._live(), self._streaming()
        await self._record(status, detail)

    def _live(self) -> str:
        return "degraded" if self._problems else "ok"

    def _streaming(self) -> str:
        since = f" since {self._since:%Y-%m-%d %H:%M:%S} UTC" if self._since else ""
        problems = "".join(f"; {p}" for p in self._problems)
        return f"streaming{since}; {self.counts.describe()}{problems}"

    async def _note(self, status: str, detail: str, rate_limited_until: datetime | None = None) -> None:
        """Record the state, or log why not: the database may be what failed; the next attempt says so."""
        try:
            await self._record(status, detail, rate_limited_until)
        except Exception:
            log.exception("%s: cannot record the stream's state (%s: %s)", NAME, status, detail)

    async def _record(self, status: str, detail: str, rate_limited_until: datetime | None = None) -> None:
        async with self._services.sessions.begin() as session:
            await self._record_in(session, status, detail, rate_limited_until)

    async def _record_in(
        self, session: AsyncSession, status: str, detail: str, rate_limited_until: datetime | None = None
    ) -> None:
        assert self._source_id is not None
        await sources_repo.record_run(
            session,
            self._source_id,
            status=status,
            detail=detail[:2000],
            new_posts=self.counts.new,
            finished_at=self._clock(),
            rate_limited_until=rate_limited_until,
        )


def _report_end(task: asyncio.Task[StreamCounts]) -> None:
    # Said when it happens, not at shutdown: the service keeps running without its stream.
    if not task.cancelled() and task.exception() is not None:
        log.error("%s: the stream task ended with an error", NAME, exc_info=task.exception())


def start_stream(services: Services) -> XStreamTask | None:
    """The stream task, started, when it is wanted (see `stream_wanted`); else None."""
    if not stream_wanted(services):
        return None
    task = XStreamTask(services)
    task.start()
    log.info("%s: following the filtered stream for %d campaign(s)", NAME, len(services.settings.campaigns))
    return task
