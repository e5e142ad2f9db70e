"""Workers on both databases: registration and reaping (a dead process's leases come back at once), analysis
saved only by the lease holder, work items claimed once and retried after a failure, the scheduler queueing
instead of running in worker mode, and exactly one scheduler lock holder."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update

from jobs import housekeeping
from jobs.leadership import SchedulerLock
from jobs.roles import role_of
from jobs.scheduler import Clock
from jobs.services import Services
from jobs.worker import WorkerRuntime
from nlp.pipeline import build_pipeline
from storage.models import JobRun, Post, Worker, WorkItem
from storage.repositories import analyses, job_runs, work_items, workers
from storage.repositories._sql import utcnow
from storage.repositories.ingest import ingest
from tests.factories import make_post

DEAD_PID = 2**22 + 12345  # above Linux's default pid_max: never a live process


async def _posts(services: Services, n: int) -> list[int]:
    async with services.sessions.begin() as session:
        await ingest(session, [make_post() for _ in range(n)])
    async with services.sessions() as session:
        return list((await session.execute(select(Post.id).order_by(Post.id))).scalars())


async def _register(services: Services, roles: tuple[str, ...] = ("analyse",)) -> str:
    async with services.sessions.begin() as session:
        return await workers.register(session, roles)


def _record(post_id: int) -> analyses.AnalysisRecord:
    return analyses.AnalysisRecord(post_id, "fr", 0.9, "positive", 0.8, {}, "test-1", (), ())


async def test_a_dead_process_has_its_leases_handed_back_at_once(services: Services) -> None:
    await _posts(services, 3)
    dead = await _register(services)
    async with services.sessions.begin() as session:
        await session.execute(update(Worker).where(Worker.id == dead).values(pid=DEAD_PID))
        claimed = await analyses.claim_unanalysed(session, 10, owner=dead)
        await work_items.enqueue(session, "stories", "stories@1")
        item = await work_items.claim(session, ["stories"], dead, timedelta(minutes=5))
        run = await job_runs.start_run(session, "stories", None, dead)
    assert len(claimed) == 3
    assert item is not None
    assert run is not None
    live = await _register(services)

    async with services.sessions.begin() as session:
        # Still leased for ten minutes: nobody else can take them...
        assert await analyses.claim_unanalysed(session, 10, owner=live) == []
        reaped = await workers.reap(session)
    # ...until the reaper sees the process is gone from this host.
    assert reaped.as_dict() == {"dead_workers": 1, "posts_released": 3, "items_requeued": 1, "runs_closed": 1}
    async with services.sessions.begin() as session:
        assert len(await analyses.claim_unanalysed(session, 10, owner=live)) == 3
        assert (await session.get(WorkItem, item.id)).status == "queued"  # type: ignore[union-attr]
        closed = await session.get(JobRun, run.id)
        assert closed is not None
        assert closed.status == "failed"
        assert "worker died" in (closed.error or "")
        stopped = await session.get(Worker, dead)
        assert stopped is not None
        assert stopped.stop_reason == "process gone"
        # The live one (this process) is untouched, and reaping again finds nothing.
        assert (await workers.reap(session)).workers == 0


async def test_a_worker_with_a_stale_heartbeat_is_dead_wherever_it_runs(services: Services) -> None:
    other_host = await _register(services)
    async with services.sessions.begin() as session:
        await session.execute(
            update(Worker)
            .where(Worker.id == other_host)
            .values(host="elsewhere", heartbeat_at=utcnow() - workers.STALE_AFTER - timedelta(seconds=1))
        )
        assert (await workers.reap(session)).workers == 1
        assert not await workers.heartbeat(session, other_host)  # it learns it was declared dead


async def test_only_the_lease_holder_saves_an_analysis(services: Services) -> None:
    ids = await _posts(services, 2)
    slow, fast = await _register(services), await _register(services)
    async with services.sessions.begin() as session:
        await analyses.claim_unanalysed(session, 10, owner=slow)
    # The slow worker stalls past its lease; another takes the posts over and saves first.
    async with services.sessions.begin() as session:
        later = utcnow() + timedelta(minutes=11)
        assert len(await analyses.claim_unanalysed(session, 10, owner=fast, now=later)) == 2
        assert await analyses.save_analyses(session, [_record(i) for i in ids], owner=fast) == 2
    async with services.sessions.begin() as session:
        assert await analyses.save_analyses(session, [_record(i) for i in ids], owner=slow) == 0
        post = await session.get(Post, ids[0])
        assert post is not None
        assert post.lease_owner is None
        assert post.analysed_at is not None


async def test_a_work_item_is_queued_once_claimed_once_and_retried_after_a_failure(services: Services) -> None:
    one, two = await _register(services), await _register(services)
    lease = timedelta(minutes=5)
    async with services.sessions.begin() as session:
        assert await work_items.enqueue(session, "collect:x", "collect:x@2026-11-22T10:00")
        assert not await work_items.enqueue(session, "collect:x", "collect:x@2026-11-22T10:00")  # double fire
        assert await work_items.pending_of(session, "collect:x") == 1
        assert await work_items.claim(session, ["stories"], one, lease) is None  # not its kind
        item = await work_items.claim(session, ["collect:"], one, lease)
        assert item is not None
        assert item.kind == "collect:x"
        assert item.attempts == 1
        assert await work_items.claim(session, ["collect:"], two, lease) is None  # held
        assert await work_items.finish(session, item.id, one, "SourceUnavailable: 503")
        # Back in the queue, due in a minute; then claimable again.
        assert await work_items.claim(session, ["collect:"], two, lease) is None
        again = await work_items.claim(session, ["collect:"], two, lease, now=utcnow() + timedelta(minutes=2))
        assert again is not None
        assert again.attempts == 2
        assert not await work_items.finish(session, again.id, one)  # not the holder any more
        assert await work_items.finish(session, again.id, two)
        assert await work_items.counts_by_status(session) == {"done": 1}


async def test_an_item_failing_every_time_stops_being_retried(services: Services) -> None:
    owner = await _register(services)
    async with services.sessions.begin() as session:
        await work_items.enqueue(session, "stories", "stories@x")
    for attempt in range(work_items.MAX_ATTEMPTS):
        async with services.sessions.begin() as session:
            later = utcnow() + timedelta(minutes=2 * (attempt + 1))
            item = await work_items.claim(session, ["stories"], owner, timedelta(minutes=1), now=later)
            assert item is not None, attempt
            await work_items.finish(session, item.id, owner, "ValueError: boom")
    async with services.sessions.begin() as session:
        assert await work_items.counts_by_status(session) == {"failed": 1}


async def test_in_worker_mode_the_clock_queues_served_jobs_and_runs_the_rest(services: Services) -> None:
    clock = Clock(services, enqueue=True)
    assert "analyse" not in clock.jobs  # analyse workers poll on their own
    assert role_of("stories") == "stories"
    assert role_of("collect:x") == "collect"
    assert role_of("housekeeping") is None
    await clock._tick("stories", clock.jobs["stories"])()
    await clock._tick("stories", clock.jobs["stories"])()  # coalesced: the first is still queued
    await clock._tick("housekeeping", clock.jobs["housekeeping"])()
    async with services.sessions() as session:
        items = list((await session.execute(select(WorkItem.kind, WorkItem.status))).all())
        ran = list((await session.execute(select(JobRun.job, JobRun.status))).all())
    assert items == [("stories", "queued")]
    assert ran == [("housekeeping", "ok")]


async def test_a_stories_worker_runs_the_queued_item_and_counts_it(services: Services) -> None:
    async with services.sessions.begin() as session:
        await work_items.enqueue(session, "stories", "stories@now")
    runtime = WorkerRuntime(services, ("stories",), poll_seconds=0.05)
    await runtime.start()
    try:
        for _ in range(200):
            async with services.sessions() as session:
                if await work_items.counts_by_status(session) == {"done": 1}:
                    break
            await asyncio.sleep(0.05)
    finally:
        await runtime.stop(10.0)
    async with services.sessions() as session:
        assert await work_items.counts_by_status(session) == {"done": 1}
        worker = await session.get(Worker, services.worker_id)
        run = (await session.execute(select(JobRun))).scalar_one()
    assert worker is not None
    assert worker.done == 1
    assert worker.stop_reason == "stopped"
    assert (run.job, run.status, run.worker_id) == ("stories", "ok", services.worker_id)


async def test_one_scheduler_lock_holder_at_a_time(services: Services) -> None:
    first, second = SchedulerLock(services.engine), SchedulerLock(services.engine)
    assert await first.try_acquire()
    assert not await second.try_acquire()
    assert await first.still_held()
    await first.release()
    assert await second.try_acquire()  # the standby takes over
    await second.release()


async def _until(predicate: Callable[[], Awaitable[bool]], within: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_the_analyse_role_waits_idle_without_models_then_analyses_what_arrives(
    services: Services, settings_for: Any, db_url: str
) -> None:
    services.settings = settings_for(db_url, LISTENER_SCHEDULER_ANALYSE_POLL_SECONDS="0.1")
    runtime = WorkerRuntime(services, ("analyse",))
    await runtime.start()
    try:
        await asyncio.sleep(0.5)  # a few idle polls
        assert "pipeline" not in services.extras  # nothing loaded while there is nothing to do
        async with services.sessions() as session:
            assert await job_runs.recent_runs(session) == []  # and no run recorded per idle poll
        services.extras["pipeline"] = build_pipeline(["fr"], [], ["LoveLocal"])  # as if loaded earlier
        ids = await _posts(services, 3)

        async def analysed() -> bool:
            async with services.sessions() as session:
                return bool(await session.scalar(select(func.count()).where(Post.analysed_at.is_not(None))) == 3)

        await _until(analysed)
    finally:
        await runtime.stop(10.0)
    async with services.sessions() as session:
        runs = await job_runs.recent_runs(session)
        worker = await session.get(Worker, services.worker_id)
        leased = await session.scalar(select(func.count()).where(Post.id.in_(ids), Post.lease_owner.is_not(None)))
    assert [(r.job, r.status, r.detail["analysed"]) for r in runs] == [("analyse", "ok", 3)]
    assert worker is not None
    assert worker.done == 3
    assert leased == 0


async def test_housekeeping_trims_finished_work_items_past_the_history_window(services: Services) -> None:
    owner = await _register(services)
    async with services.sessions.begin() as session:
        for key in ("old", "recent", "waiting"):
            await work_items.enqueue(session, "stories", key)
        for _ in range(2):
            item = await work_items.claim(session, ["stories"], owner, timedelta(minutes=1))
            assert item is not None
            await work_items.finish(session, item.id, owner)
        await session.execute(
            update(WorkItem).where(WorkItem.dedup_key == "old").values(finished_at=utcnow() - timedelta(days=91))
        )
    result = await housekeeping.run(services)
    assert result["work_items_trimmed"] == 1
    async with services.sessions() as session:
        assert await work_items.counts_by_status(session) == {"done": 1, "queued": 1}
