"""`/metrics` on both databases: the Prometheus text format with the figures an operator watches (posts
collected per source, rate-limit waits, analysis backlog, lag and throughput, queue sizes, job durations and
failures, workers), parsed back with prometheus_client's own parser; the bearer token when one is set; nothing
private in it."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families

from jobs.services import Services
from storage.models import Quarantine
from storage.repositories import job_runs, sources, workers
from storage.repositories._sql import utcnow
from storage.repositories.ingest import ingest
from tests.factories import make_author, make_post
from tests.web.test_app import client_for

SECRET_HANDLE = "private_person_handle"


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def _fill(services: Services) -> None:
    now = utcnow()
    async with services.sessions.begin() as session:
        x = await sources.get_or_create(session, "x", "x")
        await sources.record_run(
            session, x.id, status="ok", detail=None, new_posts=120, finished_at=now, rate_limited_until=None
        )
        await sources.record_run(
            session,
            x.id,
            status="rate_limited",
            detail="429",
            new_posts=30,
            finished_at=now,
            rate_limited_until=now + timedelta(minutes=10),
        )
        session.add(Quarantine(source="x", platform="x", payload="{", error="bad JSON", received_at=now))
        await ingest(session, [make_post(author=make_author(platform_id="p1")) for _ in range(3)])
        await ingest(session, [make_post(text=f"hello from @{SECRET_HANDLE}")])
        run = await job_runs.start_run(session, "analyse")
        assert run is not None
        await job_runs.finish_run(session, run.id, detail={"analysed": 500, "seconds": 2.0})
        failed = await job_runs.start_run(session, "collect:x")
        assert failed is not None
        await job_runs.finish_run(session, failed.id, detail={"seconds": 0.5}, error="SourceUnavailable: 503")
        await workers.register(session, ("web",))


async def test_metrics_show_what_an_operator_watches(services: Services) -> None:
    await _fill(services)
    async with client_for(services) as client:
        response = await client.get("/metrics")
        body = await response.text()
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = _samples(body)
    assert samples[("listener_posts_collected_total", (("source", "x"),))] == 150
    assert samples[("listener_rate_limited_runs_total", (("source", "x"),))] == 1
    assert 590 <= samples[("listener_rate_limit_wait_seconds", (("source", "x"),))] <= 600
    assert samples[("listener_source_status", (("source", "x"), ("status", "rate_limited")))] == 1
    assert samples[("listener_quarantined_payloads", (("source", "x"),))] == 1
    assert samples[("listener_posts_stored", (("platform", "x"),))] == 4
    assert samples[("listener_analysis_backlog", ())] == 4
    assert samples[("listener_analysis_lag_seconds", ())] >= 0
    assert samples[("listener_analysed_posts_last_hour", ())] == 500
    assert samples[("listener_analysis_posts_per_second", ())] == 250
    assert samples[("listener_job_runs_total", (("job", "collect:x"), ("status", "failed")))] == 1
    assert samples[("listener_job_runs_total", (("job", "analyse"), ("status", "ok")))] == 1
    assert samples[("listener_job_last_duration_seconds", (("job", "analyse"),))] == 2.0
    assert samples[("listener_job_last_success_timestamp_seconds", (("job", "collect:x"),))] == 0
    assert samples[("listener_workers_alive", ())] == 1
    assert SECRET_HANDLE not in body  # counts only: no text, no handle


async def test_metrics_require_the_token_when_one_is_set(services: Services, settings_for, db_url: str) -> None:  # type: ignore[no-untyped-def]
    services.settings = settings_for(db_url, LISTENER_METRICS_TOKEN="scrape-token-0123456789")
    async with client_for(services) as client:
        anonymous = await client.get("/metrics")
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        right = await client.get("/metrics", headers={"Authorization": "Bearer scrape-token-0123456789"})
        denied = await anonymous.text()
    assert (anonymous.status, wrong.status, right.status) == (401, 401, 200)
    assert "LISTENER_METRICS_TOKEN" in denied
    assert "scrape-token" not in denied
